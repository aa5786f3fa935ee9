//! The `orders-on-payment-succeeded` component: `payment.succeeded` moves the order to
//! `paid`. A status that does not allow it (a duplicate or late event) is acknowledged
//! unchanged; see `orders_domain::on_payment_succeeded`.

#[cfg(target_arch = "wasm32")]
mod handler {
    use contracts::{Envelope, PaymentSucceeded};
    use kit::events::{EventHandler, serve_event};

    const HANDLER: EventHandler = EventHandler {
        subscriber: "orders-on-payment-succeeded",
        context: orders_domain::CONTEXT,
        migrations: orders_domain::MIGRATIONS,
    };

    #[spin_sdk::http_service]
    async fn handle(request: spin_sdk::http::Request) -> kit::http::Response {
        serve_event(
            request,
            &HANDLER,
            async |db, event: &Envelope<PaymentSucceeded>| {
                orders_domain::on_payment_succeeded(db, event).await
            },
        )
        .await
    }
}
