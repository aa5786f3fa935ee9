//! The `orders-on-payment-succeeded` component: `payment.succeeded` moves the order to
//! `paid`. A status that does not allow it (a duplicate or late event) is acknowledged
//! unchanged; see `orders_domain::on_payment_succeeded`.

kit::event_handler!(
    "orders-on-payment-succeeded",
    orders_domain,
    contracts::PaymentSucceeded,
    orders_domain::on_payment_succeeded
);
