//! The `notifications-on-return-rejected` component: `return.rejected` tells the customer
//! a return refused, with the reason. Rendered, stored and (when `email_api_url` is set) emailed like every
//! notification (see `notifications_domain::email`).

#[cfg(target_arch = "wasm32")]
use kit::spin::Spin;

kit::event_handler!(
    "notifications-on-return-rejected",
    notifications_domain,
    contracts::ReturnRejected,
    call_out: async |db, event| notifications_domain::email(db, event, &Spin, &Spin).await,
    record: notifications_domain::record,
);
