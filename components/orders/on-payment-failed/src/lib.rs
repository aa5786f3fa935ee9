//! The `orders-on-payment-failed` component: `payment.failed` moves the order to
//! `payment_failed` with the provider's reason. A status that does not allow it (a
//! duplicate or late event) is acknowledged unchanged; see
//! `orders_domain::on_payment_failed`.

kit::event_handler!(
    "orders-on-payment-failed",
    orders_domain,
    contracts::PaymentFailed,
    orders_domain::on_payment_failed
);
