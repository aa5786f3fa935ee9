//! The `notifications-on-payment-failed` component: `payment.failed` tells the customer
//! the payment failed, with the provider's reason. The message is rendered from its
//! template and stored once per customer; when `email_api_url` is set it is also emailed
//! (see `notifications_domain::email`; email is at-least-once).

#[cfg(target_arch = "wasm32")]
use kit::spin::Spin;

kit::event_handler!(
    "notifications-on-payment-failed",
    notifications_domain,
    contracts::PaymentFailed,
    call_out: async |db, event| notifications_domain::email(db, event, &Spin, &Spin).await,
    record: notifications_domain::record,
);
