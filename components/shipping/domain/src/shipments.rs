//! Shipments: created once per paid order, moved along the status machine with a delivery
//! log entry per move, listed for admins, shown to anyone holding the tracking number
//! without the personal data, and printed as a plain-text label.

use crate::status::ShipmentStatus;
use crate::tracking_number::{new_tracking_number, normalize};
use crate::{API_SOURCE, LABEL_SOURCE, Position, ShippingError, VOID_NOTE};
use contracts::{
    Address, Envelope, OrderCancelled, PaymentSucceeded, ShipmentDelivered, ShipmentInTransit,
    ShipmentRef, ShippingLabelCreated, now_rfc3339,
};
use kit::FieldError;
use kit::db::{Db, DbError, Row, SqlValue, lock_key, transaction};
use kit::json::{FieldErrors, Validate};
use kit::outbox::{HandlerError, enqueue};
use kit::pagination::{ListOrder, Page, PageParams};
use kit::status::Machine;
use serde::{Deserialize, Serialize};

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

const COLUMNS: &str = "id, order_id, customer_id, carrier, tracking_number, status, \
     address_name, address_line1, address_city, address_postal_code, address_country, \
     created_at, updated_at";

/// A shipment from a row of [`COLUMNS`], its log still empty.
fn shipment(row: &Row) -> Result<Shipment, DbError> {
    let id = row.get_str(0)?.to_owned();
    Ok(Shipment {
        order_id: row.get_str(1)?.to_owned(),
        customer_id: row.get_str(2)?.to_owned(),
        carrier: row.get_str(3)?.to_owned(),
        tracking_number: row.get_str(4)?.to_owned(),
        status: stored_status(row.get_str(5)?)?,
        shipping_address: Address {
            name: row.get_str(6)?.to_owned(),
            line1: row.get_str(7)?.to_owned(),
            city: row.get_str(8)?.to_owned(),
            postal_code: row.get_str(9)?.to_owned(),
            country: row.get_str(10)?.to_owned(),
        },
        label_url: label_url(&id),
        events: Vec::new(),
        created_at: row.get_str(11)?.to_owned(),
        updated_at: row.get_str(12)?.to_owned(),
        id,
    })
}

fn stored_status(name: &str) -> Result<ShipmentStatus, DbError> {
    ShipmentStatus::parse(name)
        .ok_or_else(|| DbError::Other(format!("stored shipment status {name:?} is unknown")))
}

/// Fills in the delivery log of each of `shipments` (all of `tenant`) in one query.
async fn attach_logs<D: Db>(
    db: &D,
    tenant: &str,
    shipments: &mut [Shipment],
) -> Result<(), DbError> {
    if shipments.is_empty() {
        return Ok(());
    }
    let placeholders = (2..shipments.len() + 2)
        .map(|n| format!("${n}"))
        .collect::<Vec<_>>()
        .join(", ");
    let mut params: Vec<SqlValue> = vec![tenant.into()];
    params.extend(shipments.iter().map(|s| SqlValue::from(s.id.as_str())));
    let rows = db
        .query(
            &format!(
                "SELECT shipment_id, status, location, note, at FROM shipment_events \
                 WHERE tenant = $1 AND shipment_id IN ({placeholders}) ORDER BY at, id"
            ),
            &params,
        )
        .await?;
    for row in &rows {
        let shipment_id = row.get_str(0)?;
        let entry = DeliveryEvent {
            status: stored_status(row.get_str(1)?)?,
            location: row.get_opt_str(2)?.map(str::to_owned),
            note: row.get_opt_str(3)?.map(str::to_owned),
            at: row.get_str(4)?.to_owned(),
        };
        if let Some(shipment) = shipments.iter_mut().find(|s| s.id == shipment_id) {
            shipment.events.push(entry);
        }
    }
    Ok(())
}

async fn append_log<D: Db>(
    db: &D,
    tenant: &str,
    shipment_id: &str,
    entry: &DeliveryEvent,
) -> Result<(), DbError> {
    db.execute(
        "INSERT INTO shipment_events (id, tenant, shipment_id, status, location, note, at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
        &[
            uuid::Uuid::now_v7().to_string().into(),
            tenant.into(),
            shipment_id.into(),
            entry.status.as_str().into(),
            entry.location.as_deref().into(),
            entry.note.as_deref().into(),
            entry.at.as_str().into(),
        ],
    )
    .await
    .map(drop)
}

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
    let address = &paid.shipping_address;
    let rows = db
        .query(
            &format!(
                "INSERT INTO shipments (id, tenant, order_id, customer_id, carrier, \
                 tracking_number, status, address_name, address_line1, address_city, \
                 address_postal_code, address_country, correlation_id, created_at, updated_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $14) \
                 ON CONFLICT (tenant, order_id) DO NOTHING RETURNING {COLUMNS}"
            ),
            &[
                uuid::Uuid::now_v7().to_string().into(),
                event.tenant.as_str().into(),
                paid.order_id.as_str().into(),
                paid.customer_id.as_str().into(),
                carrier.into(),
                new_tracking_number().into(),
                ShipmentStatus::LabelCreated.as_str().into(),
                address.name.as_str().into(),
                address.line1.as_str().into(),
                address.city.as_str().into(),
                address.postal_code.as_str().into(),
                address.country.as_str().into(),
                event.correlationid.as_str().into(),
                now.as_str().into(),
            ],
        )
        .await?;
    let Some(row) = rows.first() else {
        eprintln!(
            "shipping: order {} of tenant {} already has a shipment; payment.succeeded {} \
             changes nothing",
            paid.order_id, event.tenant, event.id
        );
        return Ok(());
    };
    let shipment = shipment(row)?;
    let entry = DeliveryEvent {
        status: ShipmentStatus::LabelCreated,
        location: None,
        note: None,
        at: now,
    };
    append_log(db, &event.tenant, &shipment.id, &entry).await?;
    let created = ShippingLabelCreated {
        shipment: shipment_ref(&shipment),
        label_url: Some(shipment.label_url.clone()),
    };
    enqueue(db, &Envelope::caused_by(event, LABEL_SOURCE, created)).await?;
    let cancelled = db
        .query(
            "SELECT 1 FROM cancelled_orders WHERE tenant = $1 AND order_id = $2",
            &[event.tenant.as_str().into(), paid.order_id.as_str().into()],
        )
        .await?;
    if !cancelled.is_empty() {
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
    db.execute(
        "INSERT INTO cancelled_orders (tenant, order_id, cancelled_at) VALUES ($1, $2, $3) \
         ON CONFLICT (tenant, order_id) DO NOTHING",
        &[
            tenant.as_str().into(),
            order_id.as_str().into(),
            now_rfc3339().into(),
        ],
    )
    .await?;
    if !void_label(db, tenant, order_id).await? {
        let left = db
            .query(
                "SELECT status FROM shipments WHERE tenant = $1 AND order_id = $2",
                &[tenant.as_str().into(), order_id.as_str().into()],
            )
            .await?;
        if let Some(row) = left.first() {
            eprintln!(
                "shipping: order {order_id} of tenant {tenant} was cancelled; its shipment is {}, \
                 not voided",
                row.get_str(0)?
            );
        }
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
    let voided = db
        .query(
            "UPDATE shipments SET status = $3, updated_at = $4 \
             WHERE tenant = $1 AND order_id = $2 AND status = $5 RETURNING id",
            &[
                tenant.into(),
                order_id.into(),
                ShipmentStatus::Cancelled.as_str().into(),
                now.as_str().into(),
                ShipmentStatus::LabelCreated.as_str().into(),
            ],
        )
        .await?;
    let Some(row) = voided.first() else {
        return Ok(false);
    };
    let entry = DeliveryEvent {
        status: ShipmentStatus::Cancelled,
        location: None,
        note: Some(VOID_NOTE.to_owned()),
        at: now,
    };
    append_log(db, tenant, row.get_str(0)?, &entry).await?;
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
    let rows = db
        .query(
            &format!("SELECT {COLUMNS} FROM shipments WHERE tenant = $1 AND {column} = $2"),
            &[tenant.into(), value.into()],
        )
        .await?;
    let mut found = rows
        .first()
        .map(shipment)
        .transpose()?
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
    let mut sql = format!("SELECT {COLUMNS} FROM shipments WHERE tenant = $1");
    let mut params: Vec<SqlValue> = vec![tenant.into()];
    if let Some(order_id) = order_id {
        params.push(order_id.into());
        sql.push_str(&format!(" AND order_id = ${}", params.len()));
    }
    page.finish_query(&mut sql, &mut params, ListOrder::OldestFirst, None);
    let rows = db.query(&sql, &params).await?;
    let mut page = Page::from_rows(
        rows.iter().map(shipment).collect::<Result<Vec<_>, _>>()?,
        page.limit,
        |shipment| Position::of(&shipment.created_at, &shipment.id),
    );
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
    let rows = db
        .query(
            &format!(
                "UPDATE shipments SET status = $4, updated_at = $5 \
                 WHERE tenant = $1 AND id = $2 AND status = $3 RETURNING {COLUMNS}, correlation_id"
            ),
            &[
                tenant.into(),
                id.into(),
                expected.as_str().into(),
                change.status.as_str().into(),
                now.as_str().into(),
            ],
        )
        .await?;
    let Some(row) = rows.first() else {
        return Err(ShippingError::Stale {
            expected,
            current: status_of(db, tenant, id).await?,
        });
    };
    let mut updated = shipment(row)?;
    let correlation_id = row.get_str(13)?.to_owned();
    let entry = DeliveryEvent {
        status: change.status,
        location: trimmed(&change.location),
        note: trimmed(&change.note),
        at: now,
    };
    append_log(db, tenant, id, &entry).await?;
    // A status update continues the order's flow: its events share the flow's
    // correlation id, recorded when the label was created.
    let reference = shipment_ref(&updated);
    match change.status {
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
    attach_logs(db, tenant, std::slice::from_mut(&mut updated)).await?;
    Ok(updated)
}

/// The status of the tenant's shipment `id`.
async fn status_of<D: Db>(db: &D, tenant: &str, id: &str) -> Result<ShipmentStatus, ShippingError> {
    let rows = db
        .query(
            "SELECT status FROM shipments WHERE tenant = $1 AND id = $2",
            &[tenant.into(), id.into()],
        )
        .await?;
    let row = rows.first().ok_or(ShippingError::NotFound)?;
    Ok(stored_status(row.get_str(0)?)?)
}

fn trimmed(value: &Option<String>) -> Option<String> {
    value.as_deref().map(|value| value.trim().to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::IllegalTransition;
    use crate::tracking_number::{CODE_CHARS, PREFIX};
    use crate::{CONTEXT, MIGRATIONS};
    use futures::executor::block_on;
    use kit::db::{NativeSqlite, migrate};
    use kit::outbox::apply_once;
    use serde_json::Value;

    const TENANT: &str = "acme";
    const SUBSCRIBER: &str = "shipping-on-payment-succeeded";

    fn database() -> NativeSqlite {
        let db = NativeSqlite::open_in_memory().unwrap();
        block_on(migrate(&db, CONTEXT, MIGRATIONS)).unwrap();
        db
    }

    fn paid(tenant: &str, order_id: &str) -> Envelope<PaymentSucceeded> {
        Envelope::new(
            "/components/payments-on-inventory-reserved",
            tenant,
            "flow-1",
            PaymentSucceeded {
                payment_id: "pay-1".into(),
                order_id: order_id.into(),
                customer_id: "cust-1".into(),
                amount: 3_000,
                currency: "EUR".into(),
                provider: "test".into(),
                provider_reference: "ch_1".into(),
                shipping_address: Address {
                    name: "Ada Lovelace".into(),
                    line1: "12 St James's Square".into(),
                    city: "London".into(),
                    postal_code: "SW1Y 4JH".into(),
                    country: "GB".into(),
                },
            },
        )
    }

    /// Delivers `event` to the handler as the event transport does.
    fn deliver(db: &NativeSqlite, event: &Envelope<PaymentSucceeded>) -> Option<()> {
        block_on(apply_once(db, SUBSCRIBER, &event.id, async |db| {
            create_label(db, event, "FusionPost").await
        }))
        .unwrap()
    }

    /// The single shipment of `order_id`, after its label was created.
    fn shipped(db: &NativeSqlite, tenant: &str, order_id: &str) -> Shipment {
        let page = block_on(list_shipments(db, tenant, Some(order_id), &first_page(20))).unwrap();
        assert_eq!(page.items.len(), 1);
        page.items.into_iter().next().unwrap()
    }

    fn first_page(limit: u32) -> PageParams<Position> {
        PageParams { limit, after: None }
    }

    /// The outbox's events as JSON envelopes, oldest first.
    fn outbox(db: &NativeSqlite) -> Vec<Value> {
        block_on(db.query("SELECT payload FROM outbox ORDER BY id", &[]))
            .unwrap()
            .iter()
            .map(|row| serde_json::from_str(row.get_str(0).unwrap()).unwrap())
            .collect()
    }

    fn change(status: ShipmentStatus, location: Option<&str>) -> StatusChange {
        StatusChange {
            status,
            location: location.map(str::to_owned),
            note: None,
        }
    }

    fn update(
        db: &NativeSqlite,
        id: &str,
        change: &StatusChange,
    ) -> Result<Shipment, ShippingError> {
        block_on(update_status(db, TENANT, id, change))
    }

    #[test]
    fn a_paid_order_gets_a_shipment_a_label_and_an_event() {
        let db = database();
        let event = paid(TENANT, "order-1");
        assert_eq!(deliver(&db, &event), Some(()));

        let shipment = shipped(&db, TENANT, "order-1");
        assert_eq!(shipment.customer_id, "cust-1");
        assert_eq!(shipment.carrier, "FusionPost");
        assert_eq!(shipment.status, ShipmentStatus::LabelCreated);
        assert_eq!(shipment.shipping_address, event.data.shipping_address);
        assert_eq!(
            shipment.label_url,
            format!("/api/v1/shipments/{}/label", shipment.id)
        );
        assert!(shipment.tracking_number.starts_with(PREFIX));
        assert_eq!(shipment.tracking_number.len(), PREFIX.len() + CODE_CHARS);
        assert_eq!(shipment.events.len(), 1);
        assert_eq!(shipment.events[0].status, ShipmentStatus::LabelCreated);
        assert_eq!(shipment.events[0].at, shipment.created_at);

        let events = outbox(&db);
        assert_eq!(events.len(), 1);
        let created = &events[0];
        assert_eq!(created["type"], "shipping.label.created");
        assert_eq!(created["source"], LABEL_SOURCE);
        assert_eq!(created["tenant"], TENANT);
        assert_eq!(created["correlationid"], "flow-1");
        assert_eq!(created["causationid"], event.id.as_str());
        assert_eq!(
            created["data"]["shipment"]["shipment_id"],
            shipment.id.as_str()
        );
        assert_eq!(created["data"]["shipment"]["order_id"], "order-1");
        assert_eq!(
            created["data"]["shipment"]["tracking_number"],
            shipment.tracking_number.as_str()
        );
        assert_eq!(created["data"]["label_url"], shipment.label_url.as_str());
    }

    fn cancelled(order_id: &str) -> Envelope<OrderCancelled> {
        Envelope::new(
            "/components/orders",
            TENANT,
            "flow-1",
            OrderCancelled {
                order_id: order_id.into(),
                customer_id: "cust-1".into(),
                items: vec![],
                total: 3_000,
                currency: "EUR".into(),
                previous_status: "paid".into(),
                cancelled_by: "cust-1".into(),
                reason: None,
            },
        )
    }

    /// Delivers `event` to the cancellation handler as the event transport does.
    fn deliver_cancellation(db: &NativeSqlite, event: &Envelope<OrderCancelled>) -> Option<()> {
        block_on(apply_once(
            db,
            "shipping-on-order-cancelled",
            &event.id,
            async |db| void_cancelled_order(db, event).await,
        ))
        .unwrap()
    }

    /// The shipment's statuses and log, what must not depend on which event came first.
    fn outcome(shipment: &Shipment) -> (ShipmentStatus, Vec<(ShipmentStatus, Option<String>)>) {
        let log = shipment.events.iter();
        (
            shipment.status,
            log.map(|entry| (entry.status, entry.note.clone()))
                .collect(),
        )
    }

    #[test]
    fn a_cancelled_orders_label_is_voided_whichever_event_comes_first() {
        let paid_first = database();
        deliver(&paid_first, &paid(TENANT, "order-1"));
        assert_eq!(
            deliver_cancellation(&paid_first, &cancelled("order-1")),
            Some(())
        );

        let cancelled_first = database();
        deliver_cancellation(&cancelled_first, &cancelled("order-1"));
        deliver(&cancelled_first, &paid(TENANT, "order-1"));

        let expected = (
            ShipmentStatus::Cancelled,
            vec![
                (ShipmentStatus::LabelCreated, None),
                (ShipmentStatus::Cancelled, Some(VOID_NOTE.to_owned())),
            ],
        );
        for db in [&paid_first, &cancelled_first] {
            let shipment = shipped(db, TENANT, "order-1");
            assert_eq!(outcome(&shipment), expected);
            // It ships no more, and its label is not printed.
            let moved = update(db, &shipment.id, &change(ShipmentStatus::InTransit, None));
            assert!(matches!(moved, Err(ShippingError::Illegal(_))), "{moved:?}");
            let label = block_on(printable_label(db, TENANT, &shipment.id));
            assert!(matches!(label, Err(ShippingError::Voided)), "{label:?}");
            let types: Vec<Value> = outbox(db).iter().map(|e| e["type"].clone()).collect();
            assert_eq!(types, ["shipping.label.created"]);
        }
    }

    #[test]
    fn a_cancellation_leaves_a_shipment_that_left_alone_and_is_applied_once() {
        let db = database();
        deliver(&db, &paid(TENANT, "order-1"));
        let shipment = shipped(&db, TENANT, "order-1");
        update(&db, &shipment.id, &change(ShipmentStatus::InTransit, None)).unwrap();
        let cancellation = cancelled("order-1");
        assert_eq!(deliver_cancellation(&db, &cancellation), Some(()));
        assert_eq!(deliver_cancellation(&db, &cancellation), None);
        assert_eq!(
            shipped(&db, TENANT, "order-1").status,
            ShipmentStatus::InTransit
        );
        // Another order's cancellation, without a shipment, is recorded and nothing else.
        assert_eq!(deliver_cancellation(&db, &cancelled("order-2")), Some(()));
        assert_eq!(
            shipped(&db, TENANT, "order-1").status,
            ShipmentStatus::InTransit
        );
    }

    #[test]
    fn an_admin_cannot_void_a_label_by_hand() {
        let errors = change(ShipmentStatus::Cancelled, None)
            .validate()
            .unwrap_err();
        assert_eq!(errors[0].field, "status");
    }

    #[test]
    fn a_redelivered_or_duplicate_payment_changes_nothing() {
        let db = database();
        let event = paid(TENANT, "order-1");
        assert_eq!(deliver(&db, &event), Some(()));
        let first = shipped(&db, TENANT, "order-1");

        assert_eq!(deliver(&db, &event), None, "the same event again");
        let duplicate = paid(TENANT, "order-1");
        assert_eq!(
            deliver(&db, &duplicate),
            Some(()),
            "another event, same order"
        );

        assert_eq!(shipped(&db, TENANT, "order-1"), first);
        assert_eq!(outbox(&db).len(), 1);
    }

    #[test]
    fn every_order_gets_its_own_tracking_number() {
        let db = database();
        for order in ["order-1", "order-2", "order-3"] {
            deliver(&db, &paid(TENANT, order));
        }
        let page = block_on(list_shipments(&db, TENANT, None, &first_page(20))).unwrap();
        let numbers: std::collections::HashSet<_> =
            page.items.iter().map(|s| &s.tracking_number).collect();
        assert_eq!(numbers.len(), 3);
    }

    #[test]
    fn a_payment_without_an_order_is_refused() {
        let db = database();
        let event = paid(TENANT, "");
        let outcome = block_on(apply_once(&db, SUBSCRIBER, &event.id, async |db| {
            create_label(db, &event, "FusionPost").await
        }));
        assert!(matches!(outcome, Err(HandlerError::Refuse(_))));
    }

    #[test]
    fn status_changes_log_each_move_and_emit_their_events() {
        let db = database();
        deliver(&db, &paid(TENANT, "order-1"));
        let id = shipped(&db, TENANT, "order-1").id;

        let moving = StatusChange {
            status: ShipmentStatus::InTransit,
            location: Some("  Leipzig hub ".into()),
            note: Some("picked up".into()),
        };
        let in_transit = update(&db, &id, &moving).unwrap();
        assert_eq!(in_transit.status, ShipmentStatus::InTransit);
        assert_eq!(in_transit.events.len(), 2);
        assert_eq!(
            in_transit.events[1].location.as_deref(),
            Some("Leipzig hub")
        );
        assert_eq!(in_transit.events[1].note.as_deref(), Some("picked up"));
        assert_eq!(in_transit.updated_at, in_transit.events[1].at);

        let delivered = update(&db, &id, &change(ShipmentStatus::Delivered, None)).unwrap();
        assert_eq!(delivered.status, ShipmentStatus::Delivered);
        let logged: Vec<_> = delivered.events.iter().map(|e| e.status).collect();
        assert_eq!(
            logged,
            [
                ShipmentStatus::LabelCreated,
                ShipmentStatus::InTransit,
                ShipmentStatus::Delivered
            ]
        );
        assert_eq!(block_on(get_shipment(&db, TENANT, &id)).unwrap(), delivered);

        let events = outbox(&db);
        assert_eq!(events.len(), 3);
        assert_eq!(events[1]["type"], "shipment.in_transit");
        assert_eq!(events[1]["source"], API_SOURCE);
        assert_eq!(events[1]["correlationid"], "flow-1");
        assert_eq!(events[1]["data"]["location"], "Leipzig hub");
        assert_eq!(events[1]["data"]["shipment"]["shipment_id"], id.as_str());
        assert_eq!(events[2]["type"], "shipment.delivered");
        assert_eq!(
            events[2]["data"]["delivered_at"],
            delivered.events[2].at.as_str()
        );

        for &status in ShipmentStatus::ALL {
            let refused = update(&db, &id, &change(status, None)).unwrap_err();
            assert!(
                matches!(refused, ShippingError::Illegal(IllegalTransition { from, to })
                    if from == ShipmentStatus::Delivered && to == status),
                "{refused}"
            );
        }
        assert_eq!(block_on(get_shipment(&db, TENANT, &id)).unwrap(), delivered);
        assert_eq!(outbox(&db).len(), 3);
    }

    #[test]
    fn a_failed_shipment_is_logged_without_an_event() {
        let db = database();
        deliver(&db, &paid(TENANT, "order-1"));
        let id = shipped(&db, TENANT, "order-1").id;
        let failed = StatusChange {
            status: ShipmentStatus::Failed,
            location: None,
            note: Some("address not found".into()),
        };
        let shipment = update(&db, &id, &failed).unwrap();
        assert_eq!(shipment.status, ShipmentStatus::Failed);
        assert_eq!(
            shipment.events[1].note.as_deref(),
            Some("address not found")
        );
        assert_eq!(outbox(&db).len(), 1, "only the label's event");
        assert!(matches!(
            update(&db, &id, &change(ShipmentStatus::InTransit, None)),
            Err(ShippingError::Illegal(_))
        ));
    }

    #[test]
    fn a_change_from_a_stale_status_changes_nothing() {
        let db = database();
        deliver(&db, &paid(TENANT, "order-1"));
        let id = shipped(&db, TENANT, "order-1").id;
        let from_label = |status| {
            block_on(transaction(&db, async |db| {
                change_status_from(
                    db,
                    TENANT,
                    &id,
                    ShipmentStatus::LabelCreated,
                    &change(status, None),
                )
                .await
            }))
        };
        // Two admins both saw `label_created`; the first change wins.
        let first = from_label(ShipmentStatus::InTransit).unwrap();
        let second = from_label(ShipmentStatus::Failed).unwrap_err();
        assert!(
            matches!(
                second,
                ShippingError::Stale {
                    expected: ShipmentStatus::LabelCreated,
                    current: ShipmentStatus::InTransit
                }
            ),
            "{second}"
        );
        assert_eq!(block_on(get_shipment(&db, TENANT, &id)).unwrap(), first);
        assert_eq!(outbox(&db).len(), 2, "the label's and the first change's");
    }

    #[test]
    fn unknown_shipments_are_not_found() {
        let db = database();
        assert!(matches!(
            block_on(get_shipment(&db, TENANT, "nope")),
            Err(ShippingError::NotFound)
        ));
        assert!(matches!(
            update(&db, "nope", &change(ShipmentStatus::InTransit, None)),
            Err(ShippingError::NotFound)
        ));
        assert!(matches!(
            block_on(track(&db, TENANT, "FP000000000000")),
            Err(ShippingError::NotFound)
        ));
    }

    #[test]
    fn tracking_shows_progress_but_no_personal_data() {
        let db = database();
        deliver(&db, &paid(TENANT, "order-1"));
        let shipment = shipped(&db, TENANT, "order-1");
        update(
            &db,
            &shipment.id,
            &change(ShipmentStatus::InTransit, Some("Leipzig")),
        )
        .unwrap();

        let typed = format!(" {} ", shipment.tracking_number.to_ascii_lowercase());
        let tracking = block_on(track(&db, TENANT, &typed)).unwrap();
        assert_eq!(tracking.status, ShipmentStatus::InTransit);
        assert_eq!(tracking.events.len(), 2);

        let json = serde_json::to_value(&tracking).unwrap();
        let mut keys: Vec<_> = json.as_object().unwrap().keys().cloned().collect();
        keys.sort();
        assert_eq!(keys, ["carrier", "events", "status", "tracking_number"]);
        let text = json.to_string();
        for personal in [
            "Ada",
            "James",
            "London",
            "SW1Y",
            "cust-1",
            "order-1",
            &shipment.id,
        ] {
            assert!(!text.contains(personal), "{personal} leaks into {text}");
        }
    }

    #[test]
    fn tenants_see_only_their_own_shipments() {
        let db = database();
        deliver(&db, &paid(TENANT, "order-1"));
        // The same order id in another tenant is another order.
        deliver(&db, &paid("globex", "order-1"));
        let ours = shipped(&db, TENANT, "order-1");
        let theirs = shipped(&db, "globex", "order-1");
        assert_ne!(ours.id, theirs.id);

        assert!(matches!(
            block_on(get_shipment(&db, "globex", &ours.id)),
            Err(ShippingError::NotFound)
        ));
        assert!(matches!(
            block_on(track(&db, "globex", &ours.tracking_number)),
            Err(ShippingError::NotFound)
        ));
        assert!(matches!(
            block_on(update_status(
                &db,
                "globex",
                &ours.id,
                &change(ShipmentStatus::InTransit, None)
            )),
            Err(ShippingError::NotFound)
        ));
        let listed = block_on(list_shipments(&db, "globex", None, &first_page(20))).unwrap();
        assert_eq!(listed.items, [theirs]);
        assert_eq!(block_on(get_shipment(&db, TENANT, &ours.id)).unwrap(), ours);
    }

    #[test]
    fn lists_page_by_keyset_and_filter_by_order() {
        let db = database();
        for order in ["order-1", "order-2", "order-3"] {
            deliver(&db, &paid(TENANT, order));
        }
        let first = block_on(list_shipments(&db, TENANT, None, &first_page(2))).unwrap();
        assert_eq!(first.items.len(), 2);
        assert!(first.items.iter().all(|s| s.events.len() == 1));
        let cursor = first.next_cursor.as_deref().unwrap();
        let after = PageParams {
            limit: 2,
            after: Some(kit::pagination::decode_cursor(cursor).unwrap()),
        };
        let second = block_on(list_shipments(&db, TENANT, None, &after)).unwrap();
        assert_eq!(second.items.len(), 1);
        assert_eq!(second.next_cursor, None);
        let orders: Vec<_> = first
            .items
            .iter()
            .chain(&second.items)
            .map(|s| s.order_id.as_str())
            .collect();
        assert_eq!(orders, ["order-1", "order-2", "order-3"]);

        let none = block_on(list_shipments(
            &db,
            TENANT,
            Some("order-9"),
            &first_page(20),
        ))
        .unwrap();
        assert!(none.items.is_empty());
    }

    #[test]
    fn the_label_names_carrier_tracking_number_and_address() {
        let db = database();
        deliver(&db, &paid(TENANT, "order-1"));
        let shipment = shipped(&db, TENANT, "order-1");
        let label = label_text(&shipment);
        for expected in [
            "FusionPost",
            shipment.tracking_number.as_str(),
            "Ada Lovelace",
            "12 St James's Square",
            "SW1Y 4JH London",
            "GB",
        ] {
            assert!(label.contains(expected), "{expected} missing from\n{label}");
        }
    }

    #[test]
    fn status_change_bodies_are_checked() {
        let parse = |body: &str| kit::json::parse_valid::<StatusChange>(body.as_bytes());
        let ok = parse(r#"{"status": "in_transit", "location": "Leipzig"}"#).unwrap();
        assert_eq!(ok, change(ShipmentStatus::InTransit, Some("Leipzig")));
        for (body, field) in [
            (r#"{"status": "lost"}"#, "status"),
            (r#"{"location": "Leipzig"}"#, "status"),
            (r#"{"status": "failed", "carrier": "x"}"#, "carrier"),
            (r#"{"status": "failed", "location": " "}"#, "location"),
            (r#"{"status": "failed", "note": 5}"#, "note"),
        ] {
            let problem = parse(body).unwrap_err();
            assert_eq!(problem.status, 422, "{body}");
            assert_eq!(problem.errors[0].field, field, "{body}");
        }
        let long = format!(
            r#"{{"status": "failed", "note": "{}"}}"#,
            "x".repeat(MAX_NOTE_CHARS + 1)
        );
        assert_eq!(parse(&long).unwrap_err().errors[0].field, "note");
        assert_eq!(parse("{").unwrap_err().status, 400);
    }

    #[test]
    fn the_documented_limits_are_the_checked_ones() {
        let schema = serde_json::to_value(<StatusChange as utoipa::PartialSchema>::schema());
        let properties = &schema.unwrap()["properties"];
        assert_eq!(properties["location"]["maxLength"], MAX_LOCATION_CHARS);
        assert_eq!(properties["note"]["maxLength"], MAX_NOTE_CHARS);
    }
}
