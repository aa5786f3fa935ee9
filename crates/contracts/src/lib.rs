//! The platform's event contracts.
//!
//! Payload records are generated from `wit/events.wit` (the single source of truth for
//! their shape) with serde derives, so producers and consumers — native or wasm —
//! share one definition. [`Envelope`] is the CloudEvents 1.0 structured-JSON wrapper
//! every event travels in. [`clients`] are the typed clients of the synchronous calls
//! between contexts.

pub mod clients;
mod envelope;

pub use envelope::{Envelope, EnvelopeError, Event, now_rfc3339, rfc3339_at_ms};

mod generated {
    wit_bindgen::generate!({
        path: "../../wit",
        world: "fusion:commerce/contracts",
        additional_derives: [serde::Serialize, serde::Deserialize, PartialEq, Eq],
        // The world imports no functions, so no type is "used": generate them all.
        generate_unused_types: true,
    });
}

pub use generated::fusion::commerce::events::*;

/// Binds each payload record to its event type (also its topic) and, when it is not the
/// first, its `dataversion`.
macro_rules! event_types {
    ($($payload:ident => $const_name:ident = $event_type:literal $(, version $version:literal)?;)*) => {
        /// Event types, which are also the topic names.
        pub mod topics {
            $(#[doc = concat!("`", $event_type, "`")]
            pub const $const_name: &str = $event_type;)*
            /// Every event type, in DESIGN §4's order.
            pub const ALL: &[&str] = &[$($const_name),*];
        }
        $(impl Event for $payload {
            const TYPE: &'static str = topics::$const_name;
            $(const DATA_VERSION: &'static str = $version;)?
        })*
    };
}

event_types! {
    ProductCreated => PRODUCT_CREATED = "product.created";
    ProductUpdated => PRODUCT_UPDATED = "product.updated";
    OrderCreated => ORDER_CREATED = "order.created";
    InventoryReserved => INVENTORY_RESERVED = "inventory.reserved";
    InventoryInsufficient => INVENTORY_INSUFFICIENT = "inventory.insufficient";
    PaymentSucceeded => PAYMENT_SUCCEEDED = "payment.succeeded";
    PaymentFailed => PAYMENT_FAILED = "payment.failed";
    PaymentRefunded => PAYMENT_REFUNDED = "payment.refunded";
    PaymentRefundRequested => PAYMENT_REFUND_REQUESTED = "payment.refund_requested";
    ShippingLabelCreated => SHIPPING_LABEL_CREATED = "shipping.label.created";
    ShipmentInTransit => SHIPMENT_IN_TRANSIT = "shipment.in_transit";
    ShipmentDelivered => SHIPMENT_DELIVERED = "shipment.delivered";
    OrderCancelled => ORDER_CANCELLED = "order.cancelled";
    CampaignCreated => CAMPAIGN_CREATED = "campaign.created";
    CampaignJoined => CAMPAIGN_JOINED = "campaign.joined";
    // 2: the participants come in parts (`part`, `parts`).
    CampaignSuccessful => CAMPAIGN_SUCCESSFUL = "campaign.successful", version "2";
    CampaignFailed => CAMPAIGN_FAILED = "campaign.failed", version "2";
}
