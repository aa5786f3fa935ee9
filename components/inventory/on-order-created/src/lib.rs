//! Inventory's handler of `order.created`: reserves every line of the order or none,
//! and emits `inventory.reserved` or `inventory.insufficient`. Delivered, signed, by the
//! outbox dispatcher or the event bridge to this component's `/events/` route; the logic is
//! `inventory_domain::reserve_for_order`. The handler is wasm-only, so the workspace
//! lints and tests natively.

kit::event_handler!(
    "inventory-on-order-created",
    inventory_domain,
    contracts::OrderCreated,
    inventory_domain::reserve_for_order
);
