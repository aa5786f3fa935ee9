//! Shipments as stored: the `shipments` rows and their delivery log in
//! `shipment_events`, the recorded order cancellations, and the SQL that reads and
//! writes them.

use super::{DeliveryEvent, Shipment, label_url};
use crate::Position;
use crate::status::ShipmentStatus;
use contracts::{Address, Envelope, PaymentSucceeded};
use kit::db::{Db, DbError, Row, SqlValue};
use kit::pagination::{ListOrder, Page, PageParams};

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
        status: ShipmentStatus::stored(row.get_str(5)?)?,
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

/// Fills in the delivery log of each of `shipments` (all of `tenant`) in one query.
pub(super) async fn attach_logs<D: Db>(
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
            status: ShipmentStatus::stored(row.get_str(1)?)?,
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

/// Appends `entry` to the delivery log of the tenant's shipment `shipment_id`.
pub(super) async fn append_log<D: Db>(
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

/// Inserts the paid order's shipment, `label_created` with `tracking_number` from
/// `carrier` and the event's correlation id; `None` when the order already has one.
pub(super) async fn insert_shipment<D: Db>(
    db: &D,
    event: &Envelope<PaymentSucceeded>,
    carrier: &str,
    tracking_number: String,
    now: &str,
) -> Result<Option<Shipment>, DbError> {
    let paid = &event.data;
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
                tracking_number.into(),
                ShipmentStatus::LabelCreated.as_str().into(),
                address.name.as_str().into(),
                address.line1.as_str().into(),
                address.city.as_str().into(),
                address.postal_code.as_str().into(),
                address.country.as_str().into(),
                event.correlationid.as_str().into(),
                now.into(),
            ],
        )
        .await?;
    rows.first().map(shipment).transpose()
}

/// Records that the tenant's order `order_id` was cancelled (once).
pub(super) async fn record_cancellation<D: Db>(
    db: &D,
    tenant: &str,
    order_id: &str,
    now: &str,
) -> Result<(), DbError> {
    db.execute(
        "INSERT INTO cancelled_orders (tenant, order_id, cancelled_at) VALUES ($1, $2, $3) \
         ON CONFLICT (tenant, order_id) DO NOTHING",
        &[tenant.into(), order_id.into(), now.into()],
    )
    .await
    .map(drop)
}

/// Whether the tenant's order `order_id` was recorded as cancelled.
pub(super) async fn order_cancelled<D: Db>(
    db: &D,
    tenant: &str,
    order_id: &str,
) -> Result<bool, DbError> {
    let cancelled = db
        .query(
            "SELECT 1 FROM cancelled_orders WHERE tenant = $1 AND order_id = $2",
            &[tenant.into(), order_id.into()],
        )
        .await?;
    Ok(!cancelled.is_empty())
}

/// The status of the order's shipment as stored (not parsed), if it has one.
pub(super) async fn order_shipment_status<D: Db>(
    db: &D,
    tenant: &str,
    order_id: &str,
) -> Result<Option<String>, DbError> {
    let left = db
        .query(
            "SELECT status FROM shipments WHERE tenant = $1 AND order_id = $2",
            &[tenant.into(), order_id.into()],
        )
        .await?;
    left.first()
        .map(|row| row.get_str(0).map(str::to_owned))
        .transpose()
}

/// Moves the order's shipment from `label_created` to `cancelled` at `now`; its id,
/// `None` when there was no such shipment.
pub(super) async fn mark_voided<D: Db>(
    db: &D,
    tenant: &str,
    order_id: &str,
    now: &str,
) -> Result<Option<String>, DbError> {
    let voided = db
        .query(
            "UPDATE shipments SET status = $3, updated_at = $4 \
             WHERE tenant = $1 AND order_id = $2 AND status = $5 RETURNING id",
            &[
                tenant.into(),
                order_id.into(),
                ShipmentStatus::Cancelled.as_str().into(),
                now.into(),
                ShipmentStatus::LabelCreated.as_str().into(),
            ],
        )
        .await?;
    voided
        .first()
        .map(|row| row.get_str(0).map(str::to_owned))
        .transpose()
}

/// The tenant's shipment whose unique `column` (`id` or `tracking_number`) is `value`,
/// its log still empty.
pub(super) async fn select_one<D: Db>(
    db: &D,
    tenant: &str,
    column: &'static str,
    value: &str,
) -> Result<Option<Shipment>, DbError> {
    let rows = db
        .query(
            &format!("SELECT {COLUMNS} FROM shipments WHERE tenant = $1 AND {column} = $2"),
            &[tenant.into(), value.into()],
        )
        .await?;
    rows.first().map(shipment).transpose()
}

/// A page of the tenant's shipments, oldest first, only `order_id`'s when given; their
/// logs still empty.
pub(super) async fn select_page<D: Db>(
    db: &D,
    tenant: &str,
    order_id: Option<&str>,
    page: &PageParams<Position>,
) -> Result<Page<Shipment>, DbError> {
    let mut sql = format!("SELECT {COLUMNS} FROM shipments WHERE tenant = $1");
    let mut params: Vec<SqlValue> = vec![tenant.into()];
    if let Some(order_id) = order_id {
        params.push(order_id.into());
        sql.push_str(&format!(" AND order_id = ${}", params.len()));
    }
    page.finish_query(&mut sql, &mut params, ListOrder::OldestFirst, None);
    let rows = db.query(&sql, &params).await?;
    Ok(Page::from_rows(
        rows.iter().map(shipment).collect::<Result<Vec<_>, _>>()?,
        page.limit,
        |shipment| Position::of(&shipment.created_at, &shipment.id),
    ))
}

/// Moves the tenant's shipment `id` from `expected` to `to` at `now`, only if it still
/// is `expected`: the shipment (log still empty) and the correlation id recorded when
/// its label was created, `None` when it was not `expected` (or does not exist).
pub(super) async fn update_status_from<D: Db>(
    db: &D,
    tenant: &str,
    id: &str,
    expected: ShipmentStatus,
    to: ShipmentStatus,
    now: &str,
) -> Result<Option<(Shipment, String)>, DbError> {
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
                to.as_str().into(),
                now.into(),
            ],
        )
        .await?;
    let Some(row) = rows.first() else {
        return Ok(None);
    };
    let updated = shipment(row)?;
    let correlation_id = row.get_str(13)?.to_owned();
    Ok(Some((updated, correlation_id)))
}

/// The status of the tenant's shipment `id`, if there is one.
pub(super) async fn status_of<D: Db>(
    db: &D,
    tenant: &str,
    id: &str,
) -> Result<Option<ShipmentStatus>, DbError> {
    let rows = db
        .query(
            "SELECT status FROM shipments WHERE tenant = $1 AND id = $2",
            &[tenant.into(), id.into()],
        )
        .await?;
    rows.first()
        .map(|row| ShipmentStatus::stored(row.get_str(0)?))
        .transpose()
}
