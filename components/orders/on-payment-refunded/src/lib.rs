//! The `orders-on-payment-refunded` component: `payment.refunded` moves a paid or
//! cancelled order to `refunded` once the payment is fully refunded. A status that does
//! not allow it (a duplicate or late event) is acknowledged unchanged; see
//! `orders_domain::on_payment_refunded`.

kit::event_handler!(
    "orders-on-payment-refunded",
    orders_domain,
    contracts::PaymentRefunded,
    orders_domain::on_payment_refunded
);
