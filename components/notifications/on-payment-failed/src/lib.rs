//! The `notifications-on-payment-failed` component: `payment.failed` tells the customer
//! the payment failed, with the provider's reason. The message is rendered from its
//! template and stored once per customer; when `email_api_url` is set it is also emailed
//! (see `notifications_domain::deliver`; email is at-least-once).

kit::event_handler!(
    "notifications-on-payment-failed",
    notifications_domain,
    contracts::PaymentFailed,
    notifications_domain::deliver
);
