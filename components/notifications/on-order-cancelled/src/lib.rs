//! The `notifications-on-order-cancelled` component: `order.cancelled` tells the customer
//! the order was cancelled, with the reason. The message is rendered from its template
//! and stored once per customer; when `email_api_url` is set it is also emailed (see
//! `notifications_domain::email`; email is at-least-once).

#[cfg(target_arch = "wasm32")]
use kit::spin::Spin;

kit::event_handler!(
    "notifications-on-order-cancelled",
    notifications_domain,
    contracts::OrderCancelled,
    call_out: async |db, event| notifications_domain::email(db, event, &Spin, &Spin).await,
    record: notifications_domain::record,
);
