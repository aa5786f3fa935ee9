//! Handles `order.cancelled`: refunds what remains of a captured payment through the
//! provider that took it (`payment.refunded`), or, when the order was not charged yet,
//! records the cancellation so a later `inventory.reserved` charges nothing (see
//! `payments_domain::refund_cancelled_order`).

#[cfg(target_arch = "wasm32")]
use kit::outbox::HandlerError;
#[cfg(target_arch = "wasm32")]
use kit::spin::Spin;

kit::event_handler!(
    "payments-on-order-cancelled",
    payments_domain,
    contracts::OrderCancelled,
    async |db, event| {
        let provider = payments_domain::configured_provider(&Spin, Spin)
            .await
            .map_err(HandlerError::Retry)?;
        payments_domain::refund_cancelled_order(db, &provider, event).await
    }
);
