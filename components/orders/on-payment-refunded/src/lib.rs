//! The `orders-on-payment-refunded` component: `payment.refunded` moves a paid or
//! cancelled order to `refunded` once the payment is fully refunded. A status that does
//! not allow it (a duplicate or late event) is acknowledged unchanged; see
//! `orders_domain::on_payment_refunded`.

#[cfg(target_arch = "wasm32")]
mod handler {
    use contracts::{Envelope, PaymentRefunded};
    use kit::events::{EventHandler, serve_event};

    const HANDLER: EventHandler = EventHandler {
        subscriber: "orders-on-payment-refunded",
        context: orders_domain::CONTEXT,
        migrations: orders_domain::MIGRATIONS,
    };

    #[spin_sdk::http_service]
    async fn handle(request: spin_sdk::http::Request) -> kit::http::Response {
        serve_event(
            request,
            &HANDLER,
            async |db, event: &Envelope<PaymentRefunded>| {
                orders_domain::on_payment_refunded(db, event).await
            },
        )
        .await
    }
}
