//! The `orders-on-shipment-in-transit` component: `shipment.in_transit` moves the order
//! to `shipped`. A status that does not allow it (a duplicate or late event) is
//! acknowledged unchanged; see `orders_domain::on_shipment_in_transit`.

#[cfg(target_arch = "wasm32")]
mod handler {
    use contracts::{Envelope, ShipmentInTransit};
    use kit::events::{EventHandler, serve_event};

    const HANDLER: EventHandler = EventHandler {
        subscriber: "orders-on-shipment-in-transit",
        context: orders_domain::CONTEXT,
        migrations: orders_domain::MIGRATIONS,
    };

    #[spin_sdk::http_service]
    async fn handle(request: spin_sdk::http::Request) -> kit::http::Response {
        serve_event(
            request,
            &HANDLER,
            async |db, event: &Envelope<ShipmentInTransit>| {
                orders_domain::on_shipment_in_transit(db, event).await
            },
        )
        .await
    }
}
