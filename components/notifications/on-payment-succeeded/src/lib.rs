//! The `notifications-on-payment-succeeded` component: `payment.succeeded` tells the
//! customer their order is confirmed, with the amount paid. The message is rendered from
//! its template and stored once per customer; when `email_api_url` is set it is also
//! emailed (see `notifications_domain::deliver`; email is at-least-once).

kit::event_handler!(
    "notifications-on-payment-succeeded",
    notifications_domain,
    contracts::PaymentSucceeded,
    notifications_domain::deliver
);
