//! The `orders-on-payment-failed` component: `payment.failed` moves the order to
//! `payment_failed` with the provider's reason. A status that does not allow it (a
//! duplicate or late event) is acknowledged unchanged; see
//! `orders_domain::on_payment_failed`.

#[cfg(target_arch = "wasm32")]
mod handler {
    use contracts::{Envelope, PaymentFailed};
    use kit::events::{EventHandler, serve_event};

    const HANDLER: EventHandler = EventHandler {
        subscriber: "orders-on-payment-failed",
        context: orders_domain::CONTEXT,
        migrations: orders_domain::MIGRATIONS,
    };

    #[spin_sdk::http_service]
    async fn handle(request: spin_sdk::http::Request) -> kit::http::Response {
        serve_event(
            request,
            &HANDLER,
            async |db, event: &Envelope<PaymentFailed>| {
                orders_domain::on_payment_failed(db, event).await
            },
        )
        .await
    }
}
