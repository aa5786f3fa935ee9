//! The `orders-on-inventory-reserved` component: `inventory.reserved` moves the order to
//! `reserved`. A status that does not allow it (a duplicate or late event) is
//! acknowledged unchanged; see `orders_domain::on_inventory_reserved`.

kit::event_handler!(
    "orders-on-inventory-reserved",
    orders_domain,
    contracts::InventoryReserved,
    orders_domain::on_inventory_reserved
);
