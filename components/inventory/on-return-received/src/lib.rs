//! Inventory's handler of `return.received`: puts the returned items back on hand, one
//! stock movement per line (`inventory_domain::restock_returned_items`).

kit::event_handler!(
    "inventory-on-return-received",
    inventory_domain,
    contracts::ReturnReceived,
    inventory_domain::restock_returned_items
);
