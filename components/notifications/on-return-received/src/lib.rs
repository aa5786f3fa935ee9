//! The `notifications-on-return-received` component: `return.received` tells the customer
//! the returned items arrived; the refund follows. Rendered, stored and (when `email_api_url` is set) emailed like every
//! notification (see `notifications_domain::email`).

#[cfg(target_arch = "wasm32")]
use kit::spin::Spin;

kit::event_handler!(
    "notifications-on-return-received",
    notifications_domain,
    contracts::ReturnReceived,
    call_out: async |db, event| notifications_domain::email(db, event, &Spin, &Spin).await,
    record: notifications_domain::record,
);
