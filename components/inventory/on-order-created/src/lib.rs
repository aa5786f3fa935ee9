//! Inventory's handler of `order.created`: reserves every line of the order or none,
//! and emits `inventory.reserved` or `inventory.insufficient`. Delivered by the outbox
//! dispatcher to this component's private route; the logic is
//! `inventory_domain::reserve_for_order`. The handler is wasm-only, so the workspace
//! lints and tests natively.

#[cfg(target_arch = "wasm32")]
mod handler {
    use contracts::{Envelope, OrderCreated};
    use kit::events::{EventHandler, serve_event};

    const HANDLER: EventHandler = EventHandler {
        subscriber: "inventory-on-order-created",
        context: inventory_domain::CONTEXT,
        migrations: inventory_domain::MIGRATIONS,
    };

    #[spin_sdk::http_service]
    async fn handle(request: spin_sdk::http::Request) -> kit::http::Response {
        serve_event(
            request,
            &HANDLER,
            async |db, event: &Envelope<OrderCreated>| {
                inventory_domain::reserve_for_order(db, event).await
            },
        )
        .await
    }
}
