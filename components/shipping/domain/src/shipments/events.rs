//! The events a shipment emits: `shipping.label.created` when its label is created,
//! `shipment.in_transit` and `shipment.delivered` when its status moves there.

use super::{DeliveryEvent, Shipment};
use crate::status::ShipmentStatus;
use crate::{API_SOURCE, LABEL_SOURCE};
use contracts::{
    Envelope, PaymentSucceeded, ShipmentDelivered, ShipmentInTransit, ShipmentRef,
    ShippingLabelCreated,
};
use kit::db::{Db, DbError};
use kit::outbox::enqueue;

/// The reference every shipping event carries.
fn shipment_ref(shipment: &Shipment) -> ShipmentRef {
    ShipmentRef {
        shipment_id: shipment.id.clone(),
        order_id: shipment.order_id.clone(),
        customer_id: shipment.customer_id.clone(),
        carrier: shipment.carrier.clone(),
        tracking_number: shipment.tracking_number.clone(),
    }
}

/// `shipping.label.created` for `shipment`, caused by the `payment.succeeded` that
/// created it.
pub(super) fn label_created(
    cause: &Envelope<PaymentSucceeded>,
    shipment: &Shipment,
) -> Envelope<ShippingLabelCreated> {
    let created = ShippingLabelCreated {
        shipment: shipment_ref(shipment),
        label_url: Some(shipment.label_url.clone()),
    };
    Envelope::caused_by(cause, LABEL_SOURCE, created)
}

/// Enqueues the event of `updated`'s move to `entry`: `shipment.in_transit` or
/// `shipment.delivered` (the other statuses have none), under `correlation_id`.
pub(super) async fn enqueue_status_event<D: Db>(
    db: &D,
    tenant: &str,
    correlation_id: String,
    updated: &Shipment,
    entry: &DeliveryEvent,
) -> Result<(), DbError> {
    let reference = shipment_ref(updated);
    match entry.status {
        ShipmentStatus::InTransit => {
            let data = ShipmentInTransit {
                shipment: reference,
                location: entry.location.clone(),
            };
            enqueue(db, &Envelope::new(API_SOURCE, tenant, correlation_id, data)).await?;
        }
        ShipmentStatus::Delivered => {
            let data = ShipmentDelivered {
                shipment: reference,
                delivered_at: entry.at.clone(),
            };
            enqueue(db, &Envelope::new(API_SOURCE, tenant, correlation_id, data)).await?;
        }
        ShipmentStatus::LabelCreated | ShipmentStatus::Failed | ShipmentStatus::Cancelled => {}
    }
    Ok(())
}
