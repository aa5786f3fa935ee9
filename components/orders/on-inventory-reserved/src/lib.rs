//! The `orders-on-inventory-reserved` component: `inventory.reserved` moves the order to
//! `reserved`. A status that does not allow it (a duplicate or late event) is
//! acknowledged unchanged; see `orders_domain::on_inventory_reserved`.

#[cfg(target_arch = "wasm32")]
mod handler {
    use contracts::{Envelope, InventoryReserved};
    use kit::events::{EventHandler, serve_event};

    const HANDLER: EventHandler = EventHandler {
        subscriber: "orders-on-inventory-reserved",
        context: orders_domain::CONTEXT,
        migrations: orders_domain::MIGRATIONS,
    };

    #[spin_sdk::http_service]
    async fn handle(request: spin_sdk::http::Request) -> kit::http::Response {
        serve_event(
            request,
            &HANDLER,
            async |db, event: &Envelope<InventoryReserved>| {
                orders_domain::on_inventory_reserved(db, event).await
            },
        )
        .await
    }
}
