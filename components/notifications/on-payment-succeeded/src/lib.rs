//! The `notifications-on-payment-succeeded` component: `payment.succeeded` tells the
//! customer their order is confirmed, with the amount paid. The message is rendered from
//! its template and stored once per customer; when `email_api_url` is set it is also
//! emailed (see `notifications_domain::email`; email is at-least-once).

#[cfg(target_arch = "wasm32")]
use kit::spin::Spin;

kit::event_handler!(
    "notifications-on-payment-succeeded",
    notifications_domain,
    contracts::PaymentSucceeded,
    call_out: async |db, event| notifications_domain::email(db, event, &Spin, &Spin).await,
    record: notifications_domain::record,
);
