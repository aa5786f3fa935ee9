//! The `orders-on-inventory-insufficient` component: `inventory.insufficient` moves the
//! order to `rejected`, naming the short skus. A status that does not allow it (a
//! duplicate or late event) is acknowledged unchanged; see
//! `orders_domain::on_inventory_insufficient`.

#[cfg(target_arch = "wasm32")]
mod handler {
    use contracts::{Envelope, InventoryInsufficient};
    use kit::events::{EventHandler, serve_event};

    const HANDLER: EventHandler = EventHandler {
        subscriber: "orders-on-inventory-insufficient",
        context: orders_domain::CONTEXT,
        migrations: orders_domain::MIGRATIONS,
    };

    #[spin_sdk::http_service]
    async fn handle(request: spin_sdk::http::Request) -> kit::http::Response {
        serve_event(
            request,
            &HANDLER,
            async |db, event: &Envelope<InventoryInsufficient>| {
                orders_domain::on_inventory_insufficient(db, event).await
            },
        )
        .await
    }
}
