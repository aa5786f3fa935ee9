//! The `notifications-on-payment-refunded` component: `payment.refunded` tells the
//! customer of a refund and the total refunded so far. The message is rendered from its
//! template and stored once per customer; when `email_api_url` is set it is also emailed
//! (see `notifications_domain::deliver`; email is at-least-once).

kit::event_handler!(
    "notifications-on-payment-refunded",
    notifications_domain,
    contracts::PaymentRefunded,
    notifications_domain::deliver
);
