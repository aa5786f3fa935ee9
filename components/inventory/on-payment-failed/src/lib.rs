//! Inventory's handler of `payment.failed`: releases the order's held reservations.
//! Delivered, signed, by the outbox dispatcher or the event bridge to this component's
//! `/events/` route; the logic is
//! `inventory_domain::release_for_failed_payment`. The handler is wasm-only, so the
//! workspace lints and tests natively.

kit::event_handler!(
    "inventory-on-payment-failed",
    inventory_domain,
    contracts::PaymentFailed,
    inventory_domain::release_for_failed_payment
);
