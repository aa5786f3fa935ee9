//! Handles `inventory.reserved`: charges the order's total with its payment token
//! through the provider the `payment_provider` variable configures, once per order,
//! and emits `payment.succeeded` or `payment.failed` (see
//! `payments_domain::charge_order`). A provider that is down or misconfigured answers
//! 503, so the dispatcher retries the event.

#[cfg(target_arch = "wasm32")]
mod handler {
    use contracts::{Envelope, InventoryReserved};
    use kit::events::{EventHandler, serve_event};
    use kit::outbox::HandlerError;

    const HANDLER: EventHandler = EventHandler {
        subscriber: "payments-on-inventory-reserved",
        context: payments_domain::CONTEXT,
        migrations: payments_domain::MIGRATIONS,
    };

    #[spin_sdk::http_service]
    async fn handle(request: spin_sdk::http::Request) -> kit::http::Response {
        serve_event(
            request,
            &HANDLER,
            async |db, event: &Envelope<InventoryReserved>| {
                let provider = payments_domain::configured_provider()
                    .await
                    .map_err(HandlerError::Retry)?;
                payments_domain::charge_order(db, &provider, event).await
            },
        )
        .await
    }
}
