//! Inventory's handler of `payment.failed`: releases the order's held reservations.
//! Delivered by the outbox dispatcher to this component's private route; the logic is
//! `inventory_domain::release_for_failed_payment`. The handler is wasm-only, so the
//! workspace lints and tests natively.

#[cfg(target_arch = "wasm32")]
mod handler {
    use contracts::{Envelope, PaymentFailed};
    use kit::events::{EventHandler, serve_event};

    const HANDLER: EventHandler = EventHandler {
        subscriber: "inventory-on-payment-failed",
        context: inventory_domain::CONTEXT,
        migrations: inventory_domain::MIGRATIONS,
    };

    #[spin_sdk::http_service]
    async fn handle(request: spin_sdk::http::Request) -> kit::http::Response {
        serve_event(
            request,
            &HANDLER,
            async |db, event: &Envelope<PaymentFailed>| {
                inventory_domain::release_for_failed_payment(db, event).await
            },
        )
        .await
    }
}
