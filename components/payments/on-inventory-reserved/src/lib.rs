//! Handles `inventory.reserved`: charges the order's total with its payment token
//! through the provider the `payment_provider` variable configures, once per order,
//! outside any transaction, then records the answer and emits `payment.succeeded` or
//! `payment.failed` (see `payments_domain::charge_order` and `record_charge`). A
//! provider that is down answers 503, so the dispatcher retries the event; one that
//! refuses our credentials answers 422, a dead letter to replay once the key is fixed.

#[cfg(target_arch = "wasm32")]
use kit::outbox::HandlerError;
#[cfg(target_arch = "wasm32")]
use kit::spin::Spin;

kit::event_handler!(
    "payments-on-inventory-reserved",
    payments_domain,
    contracts::InventoryReserved,
    call_out: async |db, event| {
        let provider = payments_domain::configured_provider(&Spin, Spin)
            .await
            .map_err(HandlerError::Retry)?;
        payments_domain::charge_order(db, &provider, event).await
    },
    record: payments_domain::record_charge,
);
