//! The `orders-on-inventory-insufficient` component: `inventory.insufficient` moves the
//! order to `rejected`, naming the short skus. A status that does not allow it (a
//! duplicate or late event) is acknowledged unchanged; see
//! `orders_domain::on_inventory_insufficient`.

kit::event_handler!(
    "orders-on-inventory-insufficient",
    orders_domain,
    contracts::InventoryInsufficient,
    orders_domain::on_inventory_insufficient
);
