//! Shipments: created once per paid order, moved along the status machine with a delivery
//! log entry per move, listed for admins, shown to anyone holding the tracking number
//! without the personal data, and printed as a plain-text label. The rows and their SQL
//! are in `store`, the events a shipment emits in `events`.

mod events;
mod store;

use crate::status::ShipmentStatus;
use crate::tracking_number::{new_tracking_number, normalize};
use crate::{Position, ShippingError, VOID_NOTE};
use contracts::{Address, Envelope, OrderCancelled, PaymentSucceeded, now_rfc3339};
use kit::FieldError;
use kit::db::{Db, DbError, lock_key, transaction};
use kit::json::{FieldErrors, Validate};
use kit::outbox::{HandlerError, enqueue};
use kit::pagination::{Page, PageParams};
use kit::status::Machine;
use serde::{Deserialize, Serialize};
use store::{append_log, attach_logs};

pub const MAX_LOCATION_CHARS: usize = 200;
pub const MAX_NOTE_CHARS: usize = 1_000;

/// A shipment as admins see it.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Shipment {
    pub id: String,
    pub order_id: String,
    pub customer_id: String,
    pub carrier: String,
    pub tracking_number: String,
    pub status: ShipmentStatus,
    pub shipping_address: Address,
    /// Where the printable label is served (`GET`, plain text).
    pub label_url: String,
    /// The delivery log, oldest first; the first entry is `label_created`.
    pub events: Vec<DeliveryEvent>,
    pub created_at: String,
    pub updated_at: String,
}

/// One entry of the delivery log: the status reached, where and when.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct DeliveryEvent {
    pub status: ShipmentStatus,
    pub location: Option<String>,
    pub note: Option<String>,
    pub at: String,
}

/// What the public tracking page shows: no address, no customer, no order.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Tracking {
    pub tracking_number: String,
    pub carrier: String,
    pub status: ShipmentStatus,
    pub events: Vec<DeliveryEvent>,
}

impl From<Shipment> for Tracking {
    fn from(shipment: Shipment) -> Self {
        Self {
            tracking_number: shipment.tracking_number,
            carrier: shipment.carrier,
            status: shipment.status,
            events: shipment.events,
        }
    }
}

/// `PATCH /api/v1/shipments/{id}/status`. An unknown `status` fails to decode: a 422
/// naming the field and the statuses there are.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StatusChange {
    /// The status to move to: `cancelled` is refused (422), a label is voided only by
    /// cancelling its order.
    pub status: ShipmentStatus,
    /// Where the shipment is; not blank when given.
    #[serde(default)]
    #[schema(max_length = 200)]
    pub location: Option<String>,
    /// Not blank when given.
    #[serde(default)]
    #[schema(max_length = 1000)]
    pub note: Option<String>,
}

impl Validate for StatusChange {
    fn validate(&self) -> Result<(), Vec<FieldError>> {
        let mut errors = FieldErrors::new();
        errors.check(
            self.status != ShipmentStatus::Cancelled,
            "status",
            "a label is voided when its order is cancelled (POST /api/v1/orders/{id}/cancel), not by hand",
        );
        for (field, value, max) in [
            ("location", &self.location, MAX_LOCATION_CHARS),
            ("note", &self.note, MAX_NOTE_CHARS),
        ] {
            if let Some(value) = value {
                errors.check(
                    !value.trim().is_empty(),
                    field,
                    "must not be blank; leave it out instead",
                );
                errors.check(
                    value.chars().count() <= max,
                    field,
                    &format!("must be at most {max} characters"),
                );
            }
        }
        errors.into_result()
    }
}

/// Where a shipment's label is served.
pub fn label_url(shipment_id: &str) -> String {
    format!("/api/v1/shipments/{shipment_id}/label")
}

/// The tenant's shipment `id`'s label as plain text; 409 once it was voided.
pub async fn printable_label<D: Db>(
    db: &D,
    tenant: &str,
    id: &str,
) -> Result<String, ShippingError> {
    let shipment = get_shipment(db, tenant, id).await?;
    if shipment.status == ShipmentStatus::Cancelled {
        return Err(ShippingError::Voided);
    }
    Ok(label_text(&shipment))
}

/// The label as plain text: carrier, tracking number and the address to ship to.
fn label_text(shipment: &Shipment) -> String {
    let address = &shipment.shipping_address;
    format!(
        "{carrier}\n\
         Tracking number: {tracking}\n\
         Shipment: {id}\n\
         Order: {order}\n\
         \n\
         Ship to:\n\
         {name}\n\
         {line1}\n\
         {postal_code} {city}\n\
         {country}\n",
        carrier = shipment.carrier,
        tracking = shipment.tracking_number,
        id = shipment.id,
        order = shipment.order_id,
        name = address.name,
        line1 = address.line1,
        postal_code = address.postal_code,
        city = address.city,
        country = address.country,
    )
}

/// On `payment.succeeded`: the order's shipment with a fresh tracking number from
/// `carrier`, its first log entry (`label_created`) and `shipping.label.created`, in the
/// handler's transaction. An order that already has a shipment (a second
/// `payment.succeeded` for it) is acknowledged and left as it is. An order whose
/// cancellation came first has its new label voided at once, so the shipment ends as
/// it would had the cancellation come second.
pub async fn create_label<D: Db>(
    db: &D,
    event: &Envelope<PaymentSucceeded>,
    carrier: &str,
) -> Result<(), HandlerError> {
    let paid = &event.data;
    if paid.order_id.is_empty() {
        return Err(HandlerError::Refuse(
            "payment.succeeded names no order_id".into(),
        ));
    }
    lock_order(db, &event.tenant, &paid.order_id).await?;
    let now = now_rfc3339();
    let inserted = store::insert_shipment(db, event, carrier, new_tracking_number(), &now).await?;
    let Some(shipment) = inserted else {
        eprintln!(
            "shipping: order {} of tenant {} already has a shipment; payment.succeeded {} \
             changes nothing",
            paid.order_id, event.tenant, event.id
        );
        return Ok(());
    };
    let entry = DeliveryEvent {
        status: ShipmentStatus::LabelCreated,
        location: None,
        note: None,
        at: now,
    };
    append_log(db, &event.tenant, &shipment.id, &entry).await?;
    enqueue(db, &events::label_created(event, &shipment)).await?;
    if store::order_cancelled(db, &event.tenant, &paid.order_id).await? {
        void_label(db, &event.tenant, &paid.order_id).await?;
    }
    Ok(())
}

/// On `order.cancelled`: records the cancellation and voids the order's label if it
/// was created and has not left yet (`label_created → cancelled`, logged). A shipment
/// already in transit or further is left as it is (orders refuses to cancel a shipped
/// order; an admin who moved it meanwhile sees the cancellation in the order).
pub async fn void_cancelled_order<D: Db>(
    db: &D,
    event: &Envelope<OrderCancelled>,
) -> Result<(), HandlerError> {
    let (tenant, order_id) = (&event.tenant, &event.data.order_id);
    lock_order(db, tenant, order_id).await?;
    store::record_cancellation(db, tenant, order_id, &now_rfc3339()).await?;
    if !void_label(db, tenant, order_id).await?
        && let Some(status) = store::order_shipment_status(db, tenant, order_id).await?
    {
        eprintln!(
            "shipping: order {order_id} of tenant {tenant} was cancelled; its shipment is {status}, \
             not voided"
        );
    }
    Ok(())
}

/// Serialises the handlers of one order's shipment (its label and its cancellation),
/// so neither decides on the other's uncommitted rows.
async fn lock_order<D: Db>(db: &D, tenant: &str, order_id: &str) -> Result<(), DbError> {
    lock_key(db, &format!("shipping\n{tenant}\n{order_id}")).await
}

/// Moves the order's shipment from `label_created` to `cancelled` with its log entry;
/// whether there was such a shipment.
async fn void_label<D: Db>(db: &D, tenant: &str, order_id: &str) -> Result<bool, DbError> {
    let now = now_rfc3339();
    let Some(shipment_id) = store::mark_voided(db, tenant, order_id, &now).await? else {
        return Ok(false);
    };
    let entry = DeliveryEvent {
        status: ShipmentStatus::Cancelled,
        location: None,
        note: Some(VOID_NOTE.to_owned()),
        at: now,
    };
    append_log(db, tenant, &shipment_id, &entry).await?;
    Ok(true)
}

/// The tenant's shipment `id`, with its log.
pub async fn get_shipment<D: Db>(
    db: &D,
    tenant: &str,
    id: &str,
) -> Result<Shipment, ShippingError> {
    find_one(db, tenant, "id", id).await
}

/// The tenant's shipment that carries `tracking_number` (as typed), without personal data.
pub async fn track<D: Db>(
    db: &D,
    tenant: &str,
    tracking_number: &str,
) -> Result<Tracking, ShippingError> {
    let tracking_number = normalize(tracking_number);
    find_one(db, tenant, "tracking_number", &tracking_number)
        .await
        .map(Tracking::from)
}

/// The shipment whose unique `column` (`id` or `tracking_number`) is `value`.
async fn find_one<D: Db>(
    db: &D,
    tenant: &str,
    column: &'static str,
    value: &str,
) -> Result<Shipment, ShippingError> {
    let mut found = store::select_one(db, tenant, column, value)
        .await?
        .ok_or(ShippingError::NotFound)?;
    attach_logs(db, tenant, std::slice::from_mut(&mut found)).await?;
    Ok(found)
}

/// A page of the tenant's shipments, oldest first, only `order_id`'s when given.
pub async fn list_shipments<D: Db>(
    db: &D,
    tenant: &str,
    order_id: Option<&str>,
    page: &PageParams<Position>,
) -> Result<Page<Shipment>, ShippingError> {
    let mut page = store::select_page(db, tenant, order_id, page).await?;
    attach_logs(db, tenant, &mut page.items).await?;
    Ok(page)
}

/// `PATCH /api/v1/shipments/{id}/status`: moves the shipment from its current status,
/// in one transaction with its log entry and event (see [`change_status_from`]).
pub async fn update_status<D: Db>(
    db: &D,
    tenant: &str,
    id: &str,
    change: &StatusChange,
) -> Result<Shipment, ShippingError> {
    transaction(db, async |db| {
        let current = status_of(db, tenant, id).await?;
        change_status_from(db, tenant, id, current, change).await
    })
    .await
}

/// Moves the shipment from `expected` to `change.status` if the machine allows it, and
/// only if it still is `expected` (a conditional UPDATE, so of two concurrent changes
/// from one status only the first applies; the other is [`ShippingError::Stale`]).
/// Appends the log entry and enqueues `shipment.in_transit` or `shipment.delivered`
/// (`failed` has no event). Call it inside a transaction.
pub async fn change_status_from<D: Db>(
    db: &D,
    tenant: &str,
    id: &str,
    expected: ShipmentStatus,
    change: &StatusChange,
) -> Result<Shipment, ShippingError> {
    expected.check(change.status)?;
    let now = now_rfc3339();
    let updated = store::update_status_from(db, tenant, id, expected, change.status, &now).await?;
    let Some((mut updated, correlation_id)) = updated else {
        return Err(ShippingError::Stale {
            expected,
            current: status_of(db, tenant, id).await?,
        });
    };
    let entry = DeliveryEvent {
        status: change.status,
        location: trimmed(&change.location),
        note: trimmed(&change.note),
        at: now,
    };
    append_log(db, tenant, id, &entry).await?;
    // A status update continues the order's flow: its events share the flow's
    // correlation id, recorded when the label was created.
    events::enqueue_status_event(db, tenant, correlation_id, &updated, &entry).await?;
    attach_logs(db, tenant, std::slice::from_mut(&mut updated)).await?;
    Ok(updated)
}

/// The status of the tenant's shipment `id`.
async fn status_of<D: Db>(db: &D, tenant: &str, id: &str) -> Result<ShipmentStatus, ShippingError> {
    store::status_of(db, tenant, id)
        .await?
        .ok_or(ShippingError::NotFound)
}

fn trimmed(value: &Option<String>) -> Option<String> {
    value.as_deref().map(|value| value.trim().to_owned())
}

#[cfg(test)]
mod tests;
