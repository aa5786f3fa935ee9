//! Shipping's handler of `order.cancelled`: voids the order's label if it was created and
//! has not left, and remembers the cancellation so a label created later is voided at
//! once (see `shipping_domain::void_cancelled_order`).

kit::event_handler!(
    "shipping-on-order-cancelled",
    shipping_domain,
    contracts::OrderCancelled,
    async |db, event| shipping_domain::void_cancelled_order(db, event).await
);
