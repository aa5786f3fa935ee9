//! The `orders-on-shipment-delivered` component: `shipment.delivered` moves the order to
//! `delivered`. A status that does not allow it (a duplicate or late event) is
//! acknowledged unchanged; see `orders_domain::on_shipment_delivered`.

#[cfg(target_arch = "wasm32")]
mod handler {
    use contracts::{Envelope, ShipmentDelivered};
    use kit::events::{EventHandler, serve_event};

    const HANDLER: EventHandler = EventHandler {
        subscriber: "orders-on-shipment-delivered",
        context: orders_domain::CONTEXT,
        migrations: orders_domain::MIGRATIONS,
    };

    #[spin_sdk::http_service]
    async fn handle(request: spin_sdk::http::Request) -> kit::http::Response {
        serve_event(
            request,
            &HANDLER,
            async |db, event: &Envelope<ShipmentDelivered>| {
                orders_domain::on_shipment_delivered(db, event).await
            },
        )
        .await
    }
}
