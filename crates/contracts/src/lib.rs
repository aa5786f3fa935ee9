//! The platform's event contracts.
//!
//! Payload records are generated from `wit/events.wit` (the single source of truth for
//! their shape) with serde derives, so producers and consumers — native or wasm —
//! share one definition. [`Envelope`] is the CloudEvents 1.0 structured-JSON wrapper
//! every event travels in. [`clients`] are the typed clients of the synchronous calls
//! between contexts.

pub mod clients;
mod envelope;

pub use envelope::{
    Envelope, EnvelopeError, Event, normalized_rfc3339, now_rfc3339, rfc3339_at_ms,
};

mod generated {
    wit_bindgen::generate!({
        path: "../../wit",
        world: "fusion:commerce/contracts",
        additional_derives: [serde::Serialize, serde::Deserialize, PartialEq, Eq, utoipa::ToSchema],
        // The world imports no functions, so no type is "used": generate them all.
        generate_unused_types: true,
    });
}

pub use generated::fusion::commerce::events::*;

/// Whether `code` has the form of an ISO 4217 currency code (three capital letters), as
/// every amount in an event and every price carries one.
pub fn is_currency_code(code: &str) -> bool {
    code.len() == 3 && code.bytes().all(|b| b.is_ascii_uppercase())
}

/// Binds each payload record to its event type (also its topic), when it is not the
/// first its `dataversion`, and the field naming the aggregate it is about (its
/// CloudEvents `subject`: the key that keeps one order's events in order on a bus).
/// Code generic over every event payload type (see [`visit_event_types`]), such as the
/// API document describing each event handler's body.
pub trait EventTypeVisitor {
    fn visit<E: Event + utoipa::ToSchema>(&mut self);
}

macro_rules! event_types {
    ($($payload:ident => $const_name:ident = $event_type:literal $(, version $version:literal)?,
        about $($subject:ident).+;)*) => {
        /// Event types, which are also the topic names.
        pub mod topics {
            $(#[doc = concat!("`", $event_type, "`")]
            pub const $const_name: &str = $event_type;)*
            /// Every event type, in DESIGN §4's order.
            pub const ALL: &[&str] = &[$($const_name),*];
        }
        /// Calls `visitor` with each event's payload type, in DESIGN §4's order.
        pub fn visit_event_types(visitor: &mut impl EventTypeVisitor) {
            $(visitor.visit::<$payload>();)*
        }
        $(impl Event for $payload {
            const TYPE: &'static str = topics::$const_name;
            $(const DATA_VERSION: &'static str = $version;)?
            fn subject(&self) -> &str {
                &self.$($subject).+
            }
        })*
    };
}

event_types! {
    // 2: the product's options and variants.
    ProductCreated => PRODUCT_CREATED = "product.created", version "2", about product.id;
    ProductUpdated => PRODUCT_UPDATED = "product.updated", version "2", about product.id;
    OrderCreated => ORDER_CREATED = "order.created", about order_id;
    InventoryReserved => INVENTORY_RESERVED = "inventory.reserved", about order_id;
    InventoryInsufficient => INVENTORY_INSUFFICIENT = "inventory.insufficient", about order_id;
    PaymentSucceeded => PAYMENT_SUCCEEDED = "payment.succeeded", about order_id;
    PaymentFailed => PAYMENT_FAILED = "payment.failed", about order_id;
    PaymentRefunded => PAYMENT_REFUNDED = "payment.refunded", about order_id;
    PaymentRefundRequested => PAYMENT_REFUND_REQUESTED = "payment.refund_requested",
        about order_id;
    ShippingLabelCreated => SHIPPING_LABEL_CREATED = "shipping.label.created",
        about shipment.order_id;
    ShipmentInTransit => SHIPMENT_IN_TRANSIT = "shipment.in_transit", about shipment.order_id;
    ShipmentDelivered => SHIPMENT_DELIVERED = "shipment.delivered", about shipment.order_id;
    OrderCancelled => ORDER_CANCELLED = "order.cancelled", about order_id;
    ReturnRequested => RETURN_REQUESTED = "return.requested", about summary.order_id;
    ReturnApproved => RETURN_APPROVED = "return.approved", about summary.order_id;
    ReturnRejected => RETURN_REJECTED = "return.rejected", about summary.order_id;
    ReturnReceived => RETURN_RECEIVED = "return.received", about summary.order_id;
    ReturnRefunded => RETURN_REFUNDED = "return.refunded", about summary.order_id;
    CampaignCreated => CAMPAIGN_CREATED = "campaign.created", about campaign_id;
    CampaignJoined => CAMPAIGN_JOINED = "campaign.joined", about campaign_id;
    // 2: the participants come in parts (`part`, `parts`).
    CampaignSuccessful => CAMPAIGN_SUCCESSFUL = "campaign.successful", version "2",
        about campaign_id;
    CampaignFailed => CAMPAIGN_FAILED = "campaign.failed", version "2", about campaign_id;
}
