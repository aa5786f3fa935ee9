//! Shipping's handler of `payment.succeeded`: creates the paid order's shipment with a
//! tracking number from the carrier the `shipping_carrier` variable names, logs
//! `label_created` and emits `shipping.label.created`, once per event and once per order
//! (see `shipping_domain::create_label`).

#[cfg(target_arch = "wasm32")]
mod handler {
    use contracts::{Envelope, PaymentSucceeded};
    use kit::events::{EventHandler, serve_event};
    use kit::outbox::HandlerError;
    use shipping_domain::{CARRIER_VARIABLE, carrier_name, create_label};

    const HANDLER: EventHandler = EventHandler {
        subscriber: "shipping-on-payment-succeeded",
        context: shipping_domain::CONTEXT,
        migrations: shipping_domain::MIGRATIONS,
    };

    #[spin_sdk::http_service]
    async fn handle(request: spin_sdk::http::Request) -> kit::http::Response {
        serve_event(
            request,
            &HANDLER,
            async |db, event: &Envelope<PaymentSucceeded>| {
                let configured = kit::spin::variable(CARRIER_VARIABLE)
                    .await
                    .map_err(HandlerError::Retry)?;
                create_label(db, event, &carrier_name(configured)).await
            },
        )
        .await
    }
}
