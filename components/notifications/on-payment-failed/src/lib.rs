//! The `notifications-on-payment-failed` component: `payment.failed` tells the customer
//! the payment failed, with the provider's reason. The message is rendered from its
//! template and stored once per customer; when `email_api_url` is set it is also emailed
//! (see `notifications_domain::deliver`; email is at-least-once).

#[cfg(target_arch = "wasm32")]
use kit::spin::Spin;

kit::event_handler!(
    "notifications-on-payment-failed",
    notifications_domain,
    contracts::PaymentFailed,
    async |db, event| notifications_domain::deliver(db, event, &Spin, &Spin).await
);
