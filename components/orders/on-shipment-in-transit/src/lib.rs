//! The `orders-on-shipment-in-transit` component: `shipment.in_transit` moves the order
//! to `shipped`. A status that does not allow it (a duplicate or late event) is
//! acknowledged unchanged; see `orders_domain::on_shipment_in_transit`.

kit::event_handler!(
    "orders-on-shipment-in-transit",
    orders_domain,
    contracts::ShipmentInTransit,
    orders_domain::on_shipment_in_transit
);
