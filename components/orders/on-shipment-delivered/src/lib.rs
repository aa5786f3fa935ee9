//! The `orders-on-shipment-delivered` component: `shipment.delivered` moves the order to
//! `delivered`. A status that does not allow it (a duplicate or late event) is
//! acknowledged unchanged; see `orders_domain::on_shipment_delivered`.

kit::event_handler!(
    "orders-on-shipment-delivered",
    orders_domain,
    contracts::ShipmentDelivered,
    orders_domain::on_shipment_delivered
);
