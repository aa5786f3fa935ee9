//! Inventory's handler of `payment.succeeded`: commits the order's held reservations
//! (the units are sold). Delivered by the outbox dispatcher to this component's private
//! route; the logic is `inventory_domain::commit_for_payment`. The handler is
//! wasm-only, so the workspace lints and tests natively.

kit::event_handler!(
    "inventory-on-payment-succeeded",
    inventory_domain,
    contracts::PaymentSucceeded,
    inventory_domain::commit_for_payment
);
