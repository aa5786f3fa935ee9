//! The `notifications-on-return-approved` component: `return.approved` tells the customer
//! a return approved: send the items back. Rendered, stored and (when `email_api_url` is set) emailed like every
//! notification (see `notifications_domain::email`).

#[cfg(target_arch = "wasm32")]
use kit::spin::Spin;

kit::event_handler!(
    "notifications-on-return-approved",
    notifications_domain,
    contracts::ReturnApproved,
    call_out: async |db, event| notifications_domain::email(db, event, &Spin, &Spin).await,
    record: notifications_domain::record,
);
