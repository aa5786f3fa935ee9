//! Shipping's handler of `payment.succeeded`: creates the paid order's shipment with a
//! tracking number from the carrier the `shipping_carrier` variable names, logs
//! `label_created` and emits `shipping.label.created`, once per event and once per order
//! (see `shipping_domain::create_label`).

#[cfg(target_arch = "wasm32")]
use kit::outbox::HandlerError;
#[cfg(target_arch = "wasm32")]
use kit::{spin::Spin, variables::Variables};
#[cfg(target_arch = "wasm32")]
use shipping_domain::{CARRIER_VARIABLE, carrier_name, create_label};

kit::event_handler!(
    "shipping-on-payment-succeeded",
    shipping_domain,
    contracts::PaymentSucceeded,
    async |db, event| {
        let configured = Spin
            .variable(CARRIER_VARIABLE)
            .await
            .map_err(HandlerError::Retry)?;
        create_label(db, event, &carrier_name(configured)).await
    }
);
