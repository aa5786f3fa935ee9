//! Handles `order.cancelled`: refunds what remains of a captured payment through the
//! provider that took it (`payment.refunded`), or, when the order was not charged yet,
//! records the cancellation so a later `inventory.reserved` charges nothing (see
//! `payments_domain::refund_cancelled_order`).

#[cfg(target_arch = "wasm32")]
mod handler {
    use contracts::{Envelope, OrderCancelled};
    use kit::events::{EventHandler, serve_event};
    use kit::outbox::HandlerError;

    const HANDLER: EventHandler = EventHandler {
        subscriber: "payments-on-order-cancelled",
        context: payments_domain::CONTEXT,
        migrations: payments_domain::MIGRATIONS,
    };

    #[spin_sdk::http_service]
    async fn handle(request: spin_sdk::http::Request) -> kit::http::Response {
        serve_event(
            request,
            &HANDLER,
            async |db, event: &Envelope<OrderCancelled>| {
                let provider = payments_domain::configured_provider()
                    .await
                    .map_err(HandlerError::Retry)?;
                payments_domain::refund_cancelled_order(db, &provider, event).await
            },
        )
        .await
    }
}
