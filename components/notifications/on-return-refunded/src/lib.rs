//! The `notifications-on-return-refunded` component: `return.refunded` tells the customer
//! the refund of a return was made. Rendered, stored and (when `email_api_url` is set) emailed like every
//! notification (see `notifications_domain::email`).

#[cfg(target_arch = "wasm32")]
use kit::spin::Spin;

kit::event_handler!(
    "notifications-on-return-refunded",
    notifications_domain,
    contracts::ReturnRefunded,
    call_out: async |db, event| notifications_domain::email(db, event, &Spin, &Spin).await,
    record: notifications_domain::record,
);
