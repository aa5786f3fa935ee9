//! Inventory's handler of `order.cancelled`: releases held reservations and restocks
//! committed ones. Delivered by the outbox dispatcher to this component's private
//! route; the logic is `inventory_domain::release_for_cancelled_order`. The handler is
//! wasm-only, so the workspace lints and tests natively.

#[cfg(target_arch = "wasm32")]
mod handler {
    use contracts::{Envelope, OrderCancelled};
    use kit::events::{EventHandler, serve_event};

    const HANDLER: EventHandler = EventHandler {
        subscriber: "inventory-on-order-cancelled",
        context: inventory_domain::CONTEXT,
        migrations: inventory_domain::MIGRATIONS,
    };

    #[spin_sdk::http_service]
    async fn handle(request: spin_sdk::http::Request) -> kit::http::Response {
        serve_event(
            request,
            &HANDLER,
            async |db, event: &Envelope<OrderCancelled>| {
                inventory_domain::release_for_cancelled_order(db, event).await
            },
        )
        .await
    }
}
