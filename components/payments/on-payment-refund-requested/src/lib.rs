//! Handles `payment.refund_requested` (which payments writes when it takes a refund
//! from a payment): makes the refund through the provider that took the payment,
//! outside any transaction, then records it completed and emits `payment.refunded`
//! (see `payments_domain::refund_through_provider` and `record_refund`). A provider
//! that is down answers 503, so the dispatcher retries; one that refuses answers 422,
//! a dead letter to replay once the cause is fixed.

#[cfg(target_arch = "wasm32")]
use kit::outbox::HandlerError;
#[cfg(target_arch = "wasm32")]
use kit::spin::Spin;

kit::event_handler!(
    "payments-on-payment-refund-requested",
    payments_domain,
    contracts::PaymentRefundRequested,
    call_out: async |db, event| {
        let provider = payments_domain::configured_provider(&Spin, Spin)
            .await
            .map_err(HandlerError::Retry)?;
        payments_domain::refund_through_provider(db, &provider, event).await
    },
    record: async |db, event, ()| payments_domain::record_refund(db, event).await,
);
