//! The `notifications-on-payment-refunded` component: `payment.refunded` tells the
//! customer of a refund and the total refunded so far (a return's refund is told by
//! `return.refunded` instead). The message is rendered from its
//! template and stored once per customer; when `email_api_url` is set it is also emailed
//! (see `notifications_domain::email`; email is at-least-once).

#[cfg(target_arch = "wasm32")]
use kit::spin::Spin;

kit::event_handler!(
    "notifications-on-payment-refunded",
    notifications_domain,
    contracts::PaymentRefunded,
    call_out: async |db, event| notifications_domain::email(db, event, &Spin, &Spin).await,
    record: notifications_domain::record,
);
