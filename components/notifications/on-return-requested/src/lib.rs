//! The `notifications-on-return-requested` component: `return.requested` tells the customer
//! a return asked for, awaiting a decision. Rendered, stored and (when `email_api_url` is set) emailed like every
//! notification (see `notifications_domain::email`).

#[cfg(target_arch = "wasm32")]
use kit::spin::Spin;

kit::event_handler!(
    "notifications-on-return-requested",
    notifications_domain,
    contracts::ReturnRequested,
    call_out: async |db, event| notifications_domain::email(db, event, &Spin, &Spin).await,
    record: notifications_domain::record,
);
