//! Handles `order.cancelled`: requests the refund of what remains of a captured
//! payment (`payment.refund_requested`, made through the provider by
//! `payments-on-payment-refund-requested`), or, when the order was not charged yet, records the
//! cancellation so a later `inventory.reserved` charges nothing (see
//! `payments_domain::refund_cancelled_order`).

kit::event_handler!(
    "payments-on-order-cancelled",
    payments_domain,
    contracts::OrderCancelled,
    payments_domain::refund_cancelled_order,
);
