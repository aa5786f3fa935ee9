//! Inventory's handler of `order.cancelled`: releases held reservations and restocks
//! committed ones. Delivered by the outbox dispatcher to this component's private
//! route; the logic is `inventory_domain::release_for_cancelled_order`. The handler is
//! wasm-only, so the workspace lints and tests natively.

kit::event_handler!(
    "inventory-on-order-cancelled",
    inventory_domain,
    contracts::OrderCancelled,
    inventory_domain::release_for_cancelled_order
);
