//! Orders: creation with its order number, its fraud score and `order.created` (held
//! back while the order waits in review), reads and lists scoped to who asks,
//! cancellation with `order.cancelled`, the fraud review's approval and rejection, and
//! the conditional status write every transition goes through.

use crate::checkout::{CancelRequest, NewOrder};
use crate::fraud::{FraudRules, OrderFacts, RECENT_ORDERS_MINUTES};
use crate::pricing::Priced;
use crate::status::{IllegalTransition, Status};
use crate::{EVENT_SOURCE, OrderError};
use chrono::{DateTime, SecondsFormat, TimeDelta, Utc};
use contracts::{Address, Envelope, OrderCancelled, OrderCreated, OrderLine, StockLine};
use kit::db::{Db, DbError, Row, SqlValue, transaction};
use kit::pagination::{ListOrder, Page, PageParams, Position};
use kit::status::Machine;
use serde::Serialize;

/// An order as the API shows it (DESIGN §3). Money is minor units of `currency`.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Order {
    pub id: String,
    pub order_number: String,
    pub status: Status,
    /// Why the order is `rejected`, `payment_failed` or `cancelled`, when known.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = String)]
    pub status_reason: Option<String>,
    /// The fraud rules that sent the order to review at creation; empty when none did.
    /// Kept after the review as the record of why it was held.
    pub review_reasons: Vec<String>,
    pub customer_id: String,
    pub items: Vec<OrderLine>,
    pub subtotal: i64,
    pub tax: i64,
    pub shipping: i64,
    pub total: i64,
    pub currency: String,
    pub shipping_address: Address,
    /// The group-buying campaign the order was placed for.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = String)]
    pub campaign_id: Option<String>,
    pub created_at: String,
    pub updated_at: String,
}

/// Who reads or changes orders: admins see every order of their tenant, everyone else
/// their own only.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Viewer<'a> {
    pub tenant: &'a str,
    pub user_id: &'a str,
    pub all_orders: bool,
}

impl Viewer<'_> {
    /// The customer whose orders alone this viewer sees; `None`: the whole tenant's.
    fn only_customer(&self) -> Option<&str> {
        (!self.all_orders).then_some(self.user_id)
    }

    fn sees(&self, order: &Order) -> bool {
        self.only_customer()
            .is_none_or(|customer| customer == order.customer_id)
    }
}

/// The human-readable number of the tenant's `n`th order: `FC-000042`.
pub fn order_number(n: i64) -> String {
    format!("FC-{n:06}")
}

/// `time` as the fixed-width RFC 3339 text every timestamp is stored as (see
/// `contracts::now_rfc3339`).
fn rfc3339(time: DateTime<Utc>) -> String {
    time.to_rfc3339_opts(SecondsFormat::Micros, true)
}

/// An order about to be placed: who buys what, priced, where it goes and how it is paid.
pub(crate) struct Placement<'a> {
    pub customer_id: &'a str,
    pub shipping_address: Address,
    pub payment_token: &'a str,
    pub priced: Priced,
    /// The campaign participant the order is for, if any.
    pub seat: Option<CampaignSeat<'a>>,
}

/// A participant's place in a group-buying campaign: one order at most per seat.
#[derive(Debug, Clone, Copy)]
pub(crate) struct CampaignSeat<'a> {
    pub campaign_id: &'a str,
    pub participant_id: &'a str,
}

/// Creates the order priced as `priced` in one transaction that also takes the
/// tenant's next order number. The fraud rules score it there: a clean order is
/// `pending` with its `order.created` enqueued; a flagged one is `review` and its event
/// is held until [`approve_order`] (see [`crate::fraud`] for why).
pub async fn create_order<D: Db>(
    db: &D,
    tenant: &str,
    customer_id: &str,
    correlation_id: &str,
    new: &NewOrder,
    priced: Priced,
    fraud: &FraudRules,
) -> Result<Order, OrderError> {
    let placement = Placement {
        customer_id,
        shipping_address: new.shipping_address.to_contract(),
        payment_token: &new.payment.token,
        priced,
        seat: None,
    };
    let placed = transaction(db, async |db| {
        place_order(db, tenant, placement, fraud, |event| {
            Envelope::new(EVENT_SOURCE, tenant, correlation_id, event)
        })
        .await
    })
    .await?;
    placed.ok_or_else(|| {
        DbError::Other("an order without a campaign seat was not placed".into()).into()
    })
}

/// Places an order inside the caller's transaction: takes the tenant's next number,
/// counts the customer's recent orders, scores the order with `fraud`, and stores it
/// `pending` with its `order.created` (wrapped by `envelope`), or `review` with the
/// event held back and the payment token kept for the approval. `None`: the campaign
/// seat already has its order, and nothing was written (its savepoint undoes the
/// number, so numbers keep no gaps).
pub(crate) async fn place_order<D: Db>(
    db: &D,
    tenant: &str,
    placement: Placement<'_>,
    fraud: &FraudRules,
    envelope: impl FnOnce(OrderCreated) -> Envelope<OrderCreated>,
) -> Result<Option<Order>, DbError> {
    let now = Utc::now();
    let since = rfc3339(now - TimeDelta::minutes(RECENT_ORDERS_MINUTES));
    let now = rfc3339(now);
    let Placement {
        customer_id,
        shipping_address,
        payment_token,
        priced,
        seat,
    } = placement;
    if seat.is_some() {
        db.execute("SAVEPOINT campaign_seat", &[]).await?;
    }
    let number = next_order_number(db, tenant).await?;
    // Counted after taking the number: on PostgreSQL the counter's row lock queues the
    // tenant's concurrent orders, so this count sees every order committed before.
    let earlier = count_orders_since(db, tenant, customer_id, &since).await?;
    let reasons = fraud.review_reasons(&OrderFacts {
        total: priced.total,
        recent_orders: earlier + 1,
        country: &shipping_address.country,
    });
    let order = Order {
        id: uuid::Uuid::now_v7().to_string(),
        order_number: order_number(number),
        status: if reasons.is_empty() {
            Status::Pending
        } else {
            Status::Review
        },
        status_reason: None,
        review_reasons: reasons
            .iter()
            .map(|rule| rule.as_str().to_owned())
            .collect(),
        customer_id: customer_id.to_owned(),
        items: priced.lines,
        subtotal: priced.subtotal,
        tax: priced.tax,
        shipping: priced.shipping,
        total: priced.total,
        currency: priced.currency,
        shipping_address,
        campaign_id: seat.map(|seat| seat.campaign_id.to_owned()),
        created_at: now.clone(),
        updated_at: now,
    };
    let held_token = (order.status == Status::Review).then_some(payment_token);
    let participant_id = seat.map(|seat| seat.participant_id);
    if !insert_order(db, tenant, &order, participant_id, held_token).await? {
        // Only a seat collides, so its savepoint exists.
        db.execute("ROLLBACK TO SAVEPOINT campaign_seat", &[])
            .await?;
        db.execute("RELEASE SAVEPOINT campaign_seat", &[]).await?;
        return Ok(None);
    }
    if order.status == Status::Pending {
        let event = order_created(&order, payment_token.to_owned());
        kit::outbox::enqueue(db, &envelope(event)).await?;
    }
    if seat.is_some() {
        db.execute("RELEASE SAVEPOINT campaign_seat", &[]).await?;
    }
    Ok(Some(order))
}

/// The `order.created` of `order`: built the same way at creation and at approval, so a
/// reviewed order continues exactly as any other.
fn order_created(order: &Order, payment_token: String) -> OrderCreated {
    OrderCreated {
        order_id: order.id.clone(),
        order_number: order.order_number.clone(),
        customer_id: order.customer_id.clone(),
        items: order.items.clone(),
        subtotal: order.subtotal,
        tax: order.tax,
        shipping: order.shipping,
        total: order.total,
        currency: order.currency.clone(),
        shipping_address: order.shipping_address.clone(),
        payment_token,
        campaign_id: order.campaign_id.clone(),
    }
}

/// Bumps the tenant's order counter; concurrent orders queue on its row.
async fn next_order_number<D: Db>(db: &D, tenant: &str) -> Result<i64, DbError> {
    let rows = db
        .query(
            "INSERT INTO order_numbers (tenant, last_number) VALUES ($1, 1) \
             ON CONFLICT (tenant) DO UPDATE SET last_number = order_numbers.last_number + 1 \
             RETURNING last_number",
            &[tenant.into()],
        )
        .await?;
    rows.first()
        .ok_or_else(|| DbError::Other("the order counter returned no row".into()))?
        .get_i64(0)
}

/// The customer's orders created at or after `since`.
async fn count_orders_since<D: Db>(
    db: &D,
    tenant: &str,
    customer_id: &str,
    since: &str,
) -> Result<i64, DbError> {
    let rows = db
        .query(
            "SELECT COUNT(*) FROM orders WHERE tenant = $1 AND customer_id = $2 \
             AND created_at >= $3",
            &[tenant.into(), customer_id.into(), since.into()],
        )
        .await?;
    rows.first()
        .ok_or_else(|| DbError::Other("COUNT returned no row".into()))?
        .get_i64(0)
}

/// Stores `order` with its lines; `false` when its campaign seat (`campaign_id`,
/// `participant_id`) already has an order, and nothing was stored. `held_token` is
/// kept only for an order in review.
async fn insert_order<D: Db>(
    db: &D,
    tenant: &str,
    order: &Order,
    participant_id: Option<&str>,
    held_token: Option<&str>,
) -> Result<bool, DbError> {
    let address = &order.shipping_address;
    let inserted = db
        .execute(
            "INSERT INTO orders (id, tenant, order_number, customer_id, status, status_reason, \
             subtotal, tax, shipping, total, currency, ship_name, ship_line1, ship_city, \
             ship_postal_code, ship_country, created_at, updated_at, review_reasons, \
             held_payment_token, campaign_id, participant_id) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, \
             $17, $18, $19, $20, $21, $22) \
             ON CONFLICT (tenant, campaign_id, participant_id) DO NOTHING",
            &[
                order.id.as_str().into(),
                tenant.into(),
                order.order_number.as_str().into(),
                order.customer_id.as_str().into(),
                order.status.as_str().into(),
                order.status_reason.as_deref().into(),
                order.subtotal.into(),
                order.tax.into(),
                order.shipping.into(),
                order.total.into(),
                order.currency.as_str().into(),
                address.name.as_str().into(),
                address.line1.as_str().into(),
                address.city.as_str().into(),
                address.postal_code.as_str().into(),
                address.country.as_str().into(),
                order.created_at.as_str().into(),
                order.updated_at.as_str().into(),
                order.review_reasons.join(",").into(),
                held_token.into(),
                order.campaign_id.as_deref().into(),
                participant_id.into(),
            ],
        )
        .await?;
    if inserted == 0 {
        return Ok(false);
    }
    // One statement for every line: a checkout has up to 100.
    let mut values = Vec::with_capacity(order.items.len());
    let mut params: Vec<SqlValue> = Vec::with_capacity(order.items.len() * 8);
    for (position, line) in (0_i64..).zip(&order.items) {
        let n = params.len();
        values.push(format!(
            "(${}, ${}, ${}, ${}, ${}, ${}, ${}, ${})",
            n + 1,
            n + 2,
            n + 3,
            n + 4,
            n + 5,
            n + 6,
            n + 7,
            n + 8
        ));
        params.extend([
            order.id.as_str().into(),
            position.into(),
            tenant.into(),
            line.sku.as_str().into(),
            line.name.as_str().into(),
            i64::from(line.quantity).into(),
            line.unit_price.into(),
            line.line_total.into(),
        ]);
    }
    if !values.is_empty() {
        db.execute(
            &format!(
                "INSERT INTO order_lines (order_id, position, tenant, sku, name, quantity, \
                 unit_price, line_total) VALUES {}",
                values.join(", ")
            ),
            &params,
        )
        .await?;
    }
    Ok(true)
}

const ORDER_COLUMNS: &str = "id, order_number, status, status_reason, customer_id, subtotal, \
     tax, shipping, total, currency, ship_name, ship_line1, ship_city, ship_postal_code, \
     ship_country, created_at, updated_at, review_reasons, campaign_id";

/// An order row without its lines.
fn order_from_row(row: &Row) -> Result<Order, DbError> {
    let status = row.get_str(2)?;
    Ok(Order {
        id: row.get_str(0)?.to_owned(),
        order_number: row.get_str(1)?.to_owned(),
        status: status
            .parse()
            .map_err(|_| DbError::Other(format!("stored order status {status:?} is unknown")))?,
        status_reason: row.get_opt_str(3)?.map(str::to_owned),
        review_reasons: row
            .get_str(17)?
            .split(',')
            .filter(|name| !name.is_empty())
            .map(str::to_owned)
            .collect(),
        customer_id: row.get_str(4)?.to_owned(),
        items: Vec::new(),
        subtotal: row.get_i64(5)?,
        tax: row.get_i64(6)?,
        shipping: row.get_i64(7)?,
        total: row.get_i64(8)?,
        currency: row.get_str(9)?.to_owned(),
        shipping_address: Address {
            name: row.get_str(10)?.to_owned(),
            line1: row.get_str(11)?.to_owned(),
            city: row.get_str(12)?.to_owned(),
            postal_code: row.get_str(13)?.to_owned(),
            country: row.get_str(14)?.to_owned(),
        },
        campaign_id: row.get_opt_str(18)?.map(str::to_owned),
        created_at: row.get_str(15)?.to_owned(),
        updated_at: row.get_str(16)?.to_owned(),
    })
}

/// Fills in the lines of `orders` (of one tenant) with one query.
async fn attach_lines<D: Db>(db: &D, tenant: &str, orders: &mut [Order]) -> Result<(), DbError> {
    if orders.is_empty() {
        return Ok(());
    }
    let mut params: Vec<SqlValue> = vec![tenant.into()];
    params.extend(orders.iter().map(|order| order.id.as_str().into()));
    let placeholders: Vec<String> = (2..=params.len()).map(|n| format!("${n}")).collect();
    let rows = db
        .query(
            &format!(
                "SELECT order_id, sku, name, quantity, unit_price, line_total FROM order_lines \
                 WHERE tenant = $1 AND order_id IN ({}) ORDER BY order_id, position",
                placeholders.join(", ")
            ),
            &params,
        )
        .await?;
    for row in &rows {
        let order_id = row.get_str(0)?;
        let quantity = row.get_i64(3)?;
        let line = OrderLine {
            sku: row.get_str(1)?.to_owned(),
            name: row.get_str(2)?.to_owned(),
            quantity: u32::try_from(quantity)
                .map_err(|_| DbError::Other(format!("stored quantity {quantity} is invalid")))?,
            unit_price: row.get_i64(4)?,
            line_total: row.get_i64(5)?,
        };
        if let Some(order) = orders.iter_mut().find(|order| order.id == order_id) {
            order.items.push(line);
        }
    }
    Ok(())
}

/// The order `id` if `viewer` may see it; someone else's order is as unknown as a
/// missing one.
pub async fn get_order<D: Db>(db: &D, viewer: Viewer<'_>, id: &str) -> Result<Order, OrderError> {
    let rows = db
        .query(
            &format!("SELECT {ORDER_COLUMNS} FROM orders WHERE tenant = $1 AND id = $2"),
            &[viewer.tenant.into(), id.into()],
        )
        .await?;
    let mut order = match rows.first() {
        Some(row) => order_from_row(row)?,
        None => return Err(OrderError::NotFound),
    };
    if !viewer.sees(&order) {
        return Err(OrderError::NotFound);
    }
    attach_lines(db, viewer.tenant, std::slice::from_mut(&mut order)).await?;
    Ok(order)
}

/// One page of the orders `viewer` sees, newest first, with `status` when given.
pub async fn list_orders<D: Db>(
    db: &D,
    viewer: Viewer<'_>,
    status: Option<Status>,
    page: &PageParams<Position>,
) -> Result<Page<Order>, OrderError> {
    let mut sql = format!("SELECT {ORDER_COLUMNS} FROM orders WHERE tenant = $1");
    let mut params: Vec<SqlValue> = vec![viewer.tenant.into()];
    if let Some(customer) = viewer.only_customer() {
        params.push(customer.into());
        sql.push_str(&format!(" AND customer_id = ${}", params.len()));
    }
    if let Some(status) = status {
        params.push(status.as_str().into());
        sql.push_str(&format!(" AND status = ${}", params.len()));
    }
    page.finish_query(&mut sql, &mut params, ListOrder::NewestFirst, None);
    let rows = db.query(&sql, &params).await?;
    let orders = rows
        .iter()
        .map(order_from_row)
        .collect::<Result<Vec<_>, _>>()?;
    let mut page = Page::from_rows(orders, page.limit, |order| {
        Position::of(&order.created_at, &order.id)
    });
    attach_lines(db, viewer.tenant, &mut page.items).await?;
    Ok(page)
}

/// What a conditional status write did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Moved {
    /// The order left `from` for the requested status at `at` (its new `updated_at`).
    Done { from: Status, at: String },
    /// The order's current status may not become the requested one.
    Illegal(IllegalTransition),
    /// The tenant has no such order.
    NoOrder,
}

/// Concurrent writers a transition re-reads after before giving up (PostgreSQL only:
/// SQLite's write transactions do not interleave).
const TRANSITION_ATTEMPTS: usize = 4;

/// Moves order `id` to `next` if the machine allows it from the status it has.
pub(crate) async fn transition<D: Db>(
    db: &D,
    tenant: &str,
    id: &str,
    next: Status,
    reason: Option<&str>,
) -> Result<Moved, DbError> {
    transition_from(db, tenant, id, &Status::sources_of(next), next, reason).await
}

/// Moves order `id` to `next` if it is in one of `sources` and the machine allows the
/// move: reads the status, then `UPDATE ... WHERE status = <what was read>`, re-reading
/// when another writer changed it in between. `reason` becomes the `status_reason`
/// (cleared when `None`). Every move also clears the held payment token: only creation
/// puts an order in review, so any status change ends the hold.
pub(crate) async fn transition_from<D: Db>(
    db: &D,
    tenant: &str,
    id: &str,
    sources: &[Status],
    next: Status,
    reason: Option<&str>,
) -> Result<Moved, DbError> {
    for _ in 0..TRANSITION_ATTEMPTS {
        let rows = db
            .query(
                "SELECT status FROM orders WHERE tenant = $1 AND id = $2",
                &[tenant.into(), id.into()],
            )
            .await?;
        let Some(row) = rows.first() else {
            return Ok(Moved::NoOrder);
        };
        let stored = row.get_str(0)?;
        let current: Status = stored
            .parse()
            .map_err(|_| DbError::Other(format!("stored order status {stored:?} is unknown")))?;
        let illegal = IllegalTransition {
            from: current,
            to: next,
        };
        if !sources.contains(&current) || current.check(next).is_err() {
            return Ok(Moved::Illegal(illegal));
        }
        let at = contracts::now_rfc3339();
        let changed = db
            .execute(
                "UPDATE orders SET status = $3, status_reason = $4, updated_at = $5, \
                 held_payment_token = NULL \
                 WHERE tenant = $1 AND id = $2 AND status = $6",
                &[
                    tenant.into(),
                    id.into(),
                    next.as_str().into(),
                    reason.into(),
                    at.as_str().into(),
                    current.as_str().into(),
                ],
            )
            .await?;
        if changed == 1 {
            return Ok(Moved::Done { from: current, at });
        }
    }
    Err(DbError::Other(format!(
        "order {id} kept changing while moving it to {next}"
    )))
}

/// Cancels order `id` for `viewer` (its owner or an admin) if it is not shipped yet,
/// with `order.cancelled` naming the status it left, in one transaction. An order that
/// may no longer be cancelled is a 409 naming its status.
pub async fn cancel_order<D: Db>(
    db: &D,
    viewer: Viewer<'_>,
    correlation_id: &str,
    id: &str,
    request: &CancelRequest,
) -> Result<Order, OrderError> {
    let sources = Status::sources_of(Status::Cancelled);
    cancel_from(db, viewer, correlation_id, id, &sources, request.reason()).await
}

/// The reason a rejection records when the admin gives none.
pub const DEFAULT_REJECTION_REASON: &str = "rejected in fraud review";

/// The fraud review's "no" (an admin's): an order in `review` becomes `cancelled`, with
/// `order.cancelled` (previous status `review`; its consumers find nothing reserved or
/// charged and only record it). Any other status is a 409 naming it.
pub async fn reject_order<D: Db>(
    db: &D,
    viewer: Viewer<'_>,
    correlation_id: &str,
    id: &str,
    request: &CancelRequest,
) -> Result<Order, OrderError> {
    let reason = request
        .reason()
        .unwrap_or_else(|| DEFAULT_REJECTION_REASON.to_owned());
    cancel_from(
        db,
        viewer,
        correlation_id,
        id,
        &[Status::Review],
        Some(reason),
    )
    .await
    .map_err(|error| match error {
        OrderError::Illegal(illegal) => OrderError::NotInReview(illegal.from),
        other => other,
    })
}

async fn cancel_from<D: Db>(
    db: &D,
    viewer: Viewer<'_>,
    correlation_id: &str,
    id: &str,
    sources: &[Status],
    reason: Option<String>,
) -> Result<Order, OrderError> {
    transaction(db, async |db| {
        let mut order = get_order(db, viewer, id).await?;
        let moved = transition_from(
            db,
            viewer.tenant,
            id,
            sources,
            Status::Cancelled,
            reason.as_deref(),
        )
        .await?;
        let previous = match moved {
            Moved::Done { from, at } => {
                order.updated_at = at;
                from
            }
            Moved::Illegal(illegal) => return Err(OrderError::Illegal(illegal)),
            Moved::NoOrder => return Err(OrderError::NotFound),
        };
        let event = OrderCancelled {
            order_id: order.id.clone(),
            customer_id: order.customer_id.clone(),
            items: order
                .items
                .iter()
                .map(|line| StockLine {
                    sku: line.sku.clone(),
                    quantity: line.quantity,
                })
                .collect(),
            total: order.total,
            currency: order.currency.clone(),
            previous_status: previous.as_str().to_owned(),
            cancelled_by: viewer.user_id.to_owned(),
            reason: reason.clone(),
        };
        kit::outbox::enqueue(
            db,
            &Envelope::new(EVENT_SOURCE, viewer.tenant, correlation_id, event),
        )
        .await?;
        order.status = Status::Cancelled;
        order.status_reason.clone_from(&reason);
        Ok(order)
    })
    .await
}

/// The fraud review's "yes" (an admin's): an order in `review` becomes `pending` and the
/// `order.created` held at its creation is enqueued now, the same payload, so the saga
/// runs on exactly as for any order. Any other status is a 409 naming it.
pub async fn approve_order<D: Db>(
    db: &D,
    viewer: Viewer<'_>,
    correlation_id: &str,
    id: &str,
) -> Result<Order, OrderError> {
    transaction(db, async |db| {
        let mut order = get_order(db, viewer, id).await?;
        // Read before the move, which clears it.
        let held_token = held_payment_token(db, viewer.tenant, id).await?;
        let moved = transition_from(
            db,
            viewer.tenant,
            id,
            &[Status::Review],
            Status::Pending,
            None,
        )
        .await?;
        match moved {
            Moved::Done { at, .. } => order.updated_at = at,
            Moved::Illegal(illegal) => return Err(OrderError::NotInReview(illegal.from)),
            Moved::NoOrder => return Err(OrderError::NotFound),
        }
        // The order was in review when it moved, and nothing leads back into review, so
        // the token read above is the one held at creation.
        let token = held_token.ok_or_else(|| {
            DbError::Other(format!(
                "order {id} was in review without a held payment token"
            ))
        })?;
        order.status = Status::Pending;
        order.status_reason = None;
        let event = order_created(&order, token);
        kit::outbox::enqueue(
            db,
            &Envelope::new(EVENT_SOURCE, viewer.tenant, correlation_id, event),
        )
        .await?;
        Ok(order)
    })
    .await
}

async fn held_payment_token<D: Db>(
    db: &D,
    tenant: &str,
    id: &str,
) -> Result<Option<String>, DbError> {
    let rows = db
        .query(
            "SELECT held_payment_token FROM orders WHERE tenant = $1 AND id = $2",
            &[tenant.into(), id.into()],
        )
        .await?;
    match rows.first() {
        Some(row) => Ok(row.get_opt_str(0)?.map(str::to_owned)),
        None => Ok(None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::{
        CUSTOMER, REQUEST_ID, TENANT, admin, catalog, checkout, customer, database, outbox, place,
        place_in,
    };
    use futures::executor::block_on;
    use kit::db::NativeSqlite;
    use kit::pagination::decode_cursor;

    fn set_status(db: &NativeSqlite, id: &str, status: Status) {
        block_on(db.execute(
            "UPDATE orders SET status = $1 WHERE id = $2",
            &[status.as_str().into(), id.into()],
        ))
        .unwrap();
    }

    fn cancel(db: &NativeSqlite, viewer: Viewer<'_>, id: &str) -> Result<Order, OrderError> {
        let request = CancelRequest {
            reason: Some("changed my mind".into()),
        };
        block_on(cancel_order(db, viewer, REQUEST_ID, id, &request))
    }

    #[test]
    fn order_numbers_are_padded() {
        assert_eq!(order_number(1), "FC-000001");
        assert_eq!(order_number(123_456), "FC-123456");
        assert_eq!(order_number(1_234_567), "FC-1234567");
    }

    #[test]
    fn create_stores_the_priced_order_and_enqueues_order_created() {
        let db = database();
        let order = place(&db);
        assert_eq!(order.status, Status::Pending);
        assert_eq!(order.order_number, "FC-000001");
        assert_eq!(order.customer_id, CUSTOMER);
        assert_eq!(order.items.len(), 2);
        assert_eq!(order.items[0].line_total, 2500);
        assert_eq!((order.subtotal, order.total), (2800, 2800));
        assert_eq!(order.shipping_address.name, "Ada Lovelace", "trimmed");
        assert_eq!(
            block_on(get_order(&db, customer(CUSTOMER), &order.id)).unwrap(),
            order
        );

        let json = serde_json::to_value(&order).unwrap();
        assert_eq!(json["status"], "pending");
        assert!(json.get("status_reason").is_none());
        assert_eq!(json["review_reasons"], serde_json::json!([]));
        assert!(json.get("campaign_id").is_none());
        assert_eq!(json["items"][0]["unit_price"], 1250);
        assert_eq!(json["shipping_address"]["postal_code"], "SW1Y 4JH");

        let events = outbox(&db);
        assert_eq!(events.len(), 1);
        let (topic, envelope) = &events[0];
        assert_eq!(topic, "order.created");
        assert_eq!(envelope["source"], EVENT_SOURCE);
        assert_eq!(envelope["tenant"], TENANT);
        assert_eq!(envelope["correlationid"], REQUEST_ID);
        let data = &envelope["data"];
        assert_eq!(data["order_id"], order.id.as_str());
        assert_eq!(data["order_number"], "FC-000001");
        assert_eq!(data["payment_token"], "tok_visa");
        assert_eq!(data["campaign_id"], serde_json::Value::Null);
        assert_eq!(data["total"], 2800);
        assert_eq!(data["items"][1]["sku"], "TEA-1");
        let deliveries = block_on(db.query(
            "SELECT subscriber FROM outbox_deliveries WHERE event_id = $1",
            &[envelope["id"].as_str().unwrap().into()],
        ))
        .unwrap();
        assert_eq!(
            deliveries[0].get_str(0).unwrap(),
            "inventory-on-order-created"
        );
    }

    #[test]
    fn order_numbers_are_sequential_per_tenant() {
        let db = database();
        let numbers: Vec<String> = (0..3).map(|_| place(&db).order_number).collect();
        assert_eq!(numbers, ["FC-000001", "FC-000002", "FC-000003"]);
        assert_eq!(place_in(&db, "other", CUSTOMER).order_number, "FC-000001");
        assert_eq!(place(&db).order_number, "FC-000004");
    }

    #[test]
    fn a_failed_create_leaves_no_order_no_event_and_no_number() {
        let db = database();
        block_on(db.execute("DROP TABLE outbox", &[])).unwrap();
        let new = crate::test_support::checkout(&[("MUG-1", 1)]);
        let priced = crate::price(
            &new.items,
            &crate::test_support::catalog(),
            Default::default(),
        )
        .unwrap();
        let error = block_on(create_order(
            &db,
            TENANT,
            CUSTOMER,
            REQUEST_ID,
            &new,
            priced,
            &FraudRules::default(),
        ))
        .unwrap_err();
        assert!(matches!(error, OrderError::Db(_)), "{error:?}");
        for table in ["orders", "order_lines", "order_numbers"] {
            let rows = block_on(db.query(&format!("SELECT COUNT(*) FROM {table}"), &[])).unwrap();
            assert_eq!(rows[0].get_i64(0).unwrap(), 0, "{table}");
        }
    }

    #[test]
    fn customers_see_their_own_orders_and_admins_all() {
        let db = database();
        let mine = place(&db);
        let theirs = place_in(&db, TENANT, "someone-else");
        assert!(block_on(get_order(&db, customer(CUSTOMER), &mine.id)).is_ok());
        let hidden = block_on(get_order(&db, customer(CUSTOMER), &theirs.id)).unwrap_err();
        assert!(matches!(hidden, OrderError::NotFound), "{hidden:?}");
        assert_eq!(kit::Problem::from(hidden).status, 404);
        assert!(block_on(get_order(&db, admin(), &theirs.id)).is_ok());

        let page = |viewer| {
            let all = PageParams {
                limit: 100,
                after: None,
            };
            block_on(list_orders(&db, viewer, None, &all))
                .unwrap()
                .items
        };
        let ids = |orders: Vec<Order>| orders.into_iter().map(|o| o.id).collect::<Vec<_>>();
        assert_eq!(ids(page(admin())), [theirs.id, mine.id.clone()]);
        assert_eq!(ids(page(customer(CUSTOMER))), [mine.id]);
        assert!(page(customer("nobody")).is_empty());
    }

    #[test]
    fn tenants_never_see_each_others_orders() {
        let db = database();
        let elsewhere = place_in(&db, "other", CUSTOMER);
        let missing = block_on(get_order(&db, admin(), &elsewhere.id)).unwrap_err();
        assert!(matches!(missing, OrderError::NotFound));
        let all = PageParams {
            limit: 100,
            after: None,
        };
        assert!(
            block_on(list_orders(&db, admin(), None, &all))
                .unwrap()
                .items
                .is_empty()
        );
        assert!(matches!(
            cancel(&db, admin(), &elsewhere.id).unwrap_err(),
            OrderError::NotFound
        ));
        let other_admin = Viewer {
            tenant: "other",
            ..admin()
        };
        assert_eq!(
            block_on(get_order(&db, other_admin, &elsewhere.id))
                .unwrap()
                .status,
            Status::Pending
        );
    }

    #[test]
    fn pages_run_newest_first_without_gaps_or_repeats() {
        let db = database();
        for _ in 0..25 {
            place(&db);
        }
        // Identical timestamps for some: the id breaks the tie.
        block_on(db.execute(
            "UPDATE orders SET created_at = '2025-01-01T00:00:00.000000Z' \
             WHERE order_number <= 'FC-000010'",
            &[],
        ))
        .unwrap();
        let rows = block_on(db.query("SELECT created_at, id FROM orders", &[])).unwrap();
        let mut keys: Vec<(String, String)> = rows
            .iter()
            .map(|row| {
                let text = |i| row.get_str(i).unwrap().to_owned();
                (text(0), text(1))
            })
            .collect();
        keys.sort_unstable_by(|a, b| b.cmp(a));
        let expected: Vec<String> = keys.into_iter().map(|(_, id)| id).collect();

        let mut seen = Vec::new();
        let mut after = None;
        loop {
            let page = block_on(list_orders(
                &db,
                admin(),
                None,
                &PageParams { limit: 7, after },
            ))
            .unwrap();
            assert!(page.items.len() <= 7);
            assert!(page.items.iter().all(|order| order.items.len() == 2));
            seen.extend(page.items.into_iter().map(|order| order.id));
            match page.next_cursor {
                Some(cursor) => after = Some(decode_cursor(&cursor).unwrap()),
                None => break,
            }
        }
        assert_eq!(seen, expected);
    }

    #[test]
    fn lists_filter_by_status() {
        let db = database();
        let a = place(&db);
        let b = place(&db);
        set_status(&db, &a.id, Status::Paid);
        let all = PageParams {
            limit: 20,
            after: None,
        };
        let listed = |status| {
            block_on(list_orders(&db, customer(CUSTOMER), Some(status), &all))
                .unwrap()
                .items
                .into_iter()
                .map(|order| order.id)
                .collect::<Vec<_>>()
        };
        assert_eq!(listed(Status::Paid), [a.id]);
        assert_eq!(listed(Status::Pending), [b.id]);
        assert!(listed(Status::Shipped).is_empty());
    }

    #[test]
    fn cancel_moves_to_cancelled_and_enqueues_order_cancelled() {
        let db = database();
        let order = place(&db);
        set_status(&db, &order.id, Status::Paid);
        let cancelled = cancel(&db, customer(CUSTOMER), &order.id).unwrap();
        assert_eq!(cancelled.status, Status::Cancelled);
        assert_eq!(cancelled.status_reason.as_deref(), Some("changed my mind"));
        assert_eq!(
            block_on(get_order(&db, customer(CUSTOMER), &order.id)).unwrap(),
            cancelled
        );
        let events = outbox(&db);
        assert_eq!(events.len(), 2);
        let (topic, envelope) = &events[1];
        assert_eq!(topic, "order.cancelled");
        let data = &envelope["data"];
        assert_eq!(data["previous_status"], "paid");
        assert_eq!(data["cancelled_by"], CUSTOMER);
        assert_eq!(data["reason"], "changed my mind");
        assert_eq!(data["total"], 2800);
        assert_eq!(
            data["items"],
            serde_json::json!([{"sku": "MUG-1", "quantity": 2}, {"sku": "TEA-1", "quantity": 1}])
        );
    }

    #[test]
    fn cancel_is_allowed_until_shipped() {
        for &status in Status::ALL {
            let db = database();
            let order = place(&db);
            set_status(&db, &order.id, status);
            let outcome = cancel(&db, admin(), &order.id);
            let allowed = matches!(
                status,
                Status::Pending | Status::Review | Status::Reserved | Status::Paid
            );
            match outcome {
                Ok(cancelled) => {
                    assert!(allowed, "{status}");
                    assert_eq!(cancelled.status, Status::Cancelled);
                    let events = outbox(&db);
                    assert_eq!(events[1].1["data"]["cancelled_by"], "admin-1");
                    assert_eq!(events[1].1["data"]["previous_status"], status.as_str());
                }
                Err(error) => {
                    assert!(!allowed, "{status}");
                    let problem = kit::Problem::from(error);
                    assert_eq!(problem.status, 409);
                    assert!(problem.detail.contains(status.as_str()), "{problem}");
                    assert!(problem.detail.contains("cancelled"), "{problem}");
                    assert_eq!(outbox(&db).len(), 1, "no event for a refused cancel");
                    let unchanged = block_on(get_order(&db, admin(), &order.id)).unwrap();
                    assert_eq!(unchanged.status, status);
                }
            }
        }
    }

    #[test]
    fn only_the_owner_or_an_admin_cancels() {
        let db = database();
        let order = place(&db);
        let error = cancel(&db, customer("someone-else"), &order.id).unwrap_err();
        assert!(matches!(error, OrderError::NotFound), "{error:?}");
        assert!(matches!(
            cancel(&db, admin(), "no-such-order").unwrap_err(),
            OrderError::NotFound
        ));
        assert_eq!(outbox(&db).len(), 1);
        let request = CancelRequest::default();
        let cancelled =
            block_on(cancel_order(&db, admin(), REQUEST_ID, &order.id, &request)).unwrap();
        assert_eq!(cancelled.status_reason, None);
        let again = cancel(&db, customer(CUSTOMER), &order.id).unwrap_err();
        assert!(matches!(again, OrderError::Illegal(_)), "{again:?}");
    }

    #[test]
    fn a_transition_writes_only_from_the_status_it_read() {
        let db = database();
        let order = place(&db);
        let moved = block_on(transition(&db, TENANT, &order.id, Status::Reserved, None)).unwrap();
        assert!(
            matches!(
                moved,
                Moved::Done {
                    from: Status::Pending,
                    ..
                }
            ),
            "{moved:?}"
        );
        let again = block_on(transition(&db, TENANT, &order.id, Status::Reserved, None)).unwrap();
        assert!(matches!(again, Moved::Illegal(_)), "{again:?}");
        let missing = block_on(transition(&db, TENANT, "nope", Status::Paid, None)).unwrap();
        assert_eq!(missing, Moved::NoOrder);
        let elsewhere = block_on(transition(&db, "other", &order.id, Status::Paid, None)).unwrap();
        assert_eq!(elsewhere, Moved::NoOrder);
    }

    /// Places 2 mugs and 1 tea (total 28.00 EUR) for `customer_id` shipped to
    /// `country`, scored by `fraud`.
    fn place_scored(
        db: &NativeSqlite,
        customer_id: &str,
        country: &str,
        fraud: &FraudRules,
    ) -> Order {
        let mut new = checkout(&[("MUG-1", 2), ("TEA-1", 1)]);
        new.shipping_address.country = country.into();
        let priced = crate::price(&new.items, &catalog(), Default::default()).unwrap();
        block_on(create_order(
            db,
            TENANT,
            customer_id,
            REQUEST_ID,
            &new,
            priced,
            fraud,
        ))
        .unwrap()
    }

    fn held_token(db: &NativeSqlite, id: &str) -> Option<String> {
        block_on(held_payment_token(db, TENANT, id)).unwrap()
    }

    fn strict_total() -> FraudRules {
        FraudRules {
            max_total: 2_000,
            ..FraudRules::default()
        }
    }

    fn topics(db: &NativeSqlite) -> Vec<String> {
        outbox(db).into_iter().map(|(topic, _)| topic).collect()
    }

    #[test]
    fn a_flagged_order_waits_in_review_with_its_event_held() {
        let db = database();
        let order = place_scored(&db, CUSTOMER, "GB", &strict_total());
        assert_eq!(order.status, Status::Review);
        assert_eq!(order.review_reasons, ["total_above_limit"]);
        assert_eq!(
            block_on(get_order(&db, customer(CUSTOMER), &order.id)).unwrap(),
            order
        );
        let json = serde_json::to_value(&order).unwrap();
        assert_eq!(json["status"], "review");
        assert_eq!(
            json["review_reasons"],
            serde_json::json!(["total_above_limit"])
        );
        assert!(outbox(&db).is_empty(), "order.created is held");
        assert_eq!(held_token(&db, &order.id).as_deref(), Some("tok_visa"));

        let clean = place_scored(&db, CUSTOMER, "GB", &FraudRules::default());
        assert_eq!(clean.status, Status::Pending);
        assert_eq!(held_token(&db, &clean.id), None, "kept only for review");
        assert_eq!(topics(&db), ["order.created"]);
    }

    #[test]
    fn every_rule_that_fires_is_recorded() {
        let db = database();
        let rules = FraudRules {
            max_total: 2_000,
            max_orders: 0,
            allowed_countries: vec!["FR".into()],
        };
        let order = place_scored(&db, CUSTOMER, "GB", &rules);
        let again = block_on(get_order(&db, admin(), &order.id)).unwrap();
        assert_eq!(
            again.review_reasons,
            [
                "total_above_limit",
                "too_many_recent_orders",
                "country_not_allowed"
            ]
        );
        let allowed = FraudRules {
            allowed_countries: vec!["FR".into()],
            ..FraudRules::default()
        };
        assert_eq!(
            place_scored(&db, "someone-else", "FR", &allowed).status,
            Status::Pending
        );
    }

    #[test]
    fn recent_orders_count_this_one_per_customer_within_ten_minutes() {
        let db = database();
        let rules = FraudRules {
            max_orders: 3,
            ..FraudRules::default()
        };
        let statuses: Vec<Status> = (0..4)
            .map(|_| place_scored(&db, CUSTOMER, "GB", &rules).status)
            .collect();
        assert_eq!(
            statuses,
            [
                Status::Pending,
                Status::Pending,
                Status::Pending,
                Status::Review
            ]
        );
        let fourth = block_on(list_orders(
            &db,
            admin(),
            Some(Status::Review),
            &PageParams {
                limit: 20,
                after: None,
            },
        ))
        .unwrap();
        assert_eq!(fourth.items[0].review_reasons, ["too_many_recent_orders"]);
        // Another customer, and another tenant, count on their own.
        assert_eq!(
            place_scored(&db, "someone-else", "GB", &rules).status,
            Status::Pending
        );
        assert_eq!(place_in(&db, "other", CUSTOMER).status, Status::Pending);
        // Orders older than ten minutes no longer count.
        block_on(db.execute(
            "UPDATE orders SET created_at = '2025-01-01T00:00:00.000000Z' WHERE customer_id = $1",
            &[CUSTOMER.into()],
        ))
        .unwrap();
        assert_eq!(
            place_scored(&db, CUSTOMER, "GB", &rules).status,
            Status::Pending
        );
    }

    #[test]
    fn approval_moves_to_pending_and_sends_the_held_order_created() {
        let db = database();
        let order = place_scored(&db, CUSTOMER, "GB", &strict_total());
        let approved = block_on(approve_order(&db, admin(), "req-approve", &order.id)).unwrap();
        assert_eq!(approved.status, Status::Pending);
        assert_eq!(
            approved.review_reasons,
            ["total_above_limit"],
            "kept as history"
        );
        assert_eq!(
            block_on(get_order(&db, admin(), &order.id)).unwrap(),
            approved
        );
        assert_eq!(held_token(&db, &order.id), None, "cleared once approved");

        let events = outbox(&db);
        assert_eq!(events.len(), 1);
        let (topic, envelope) = &events[0];
        assert_eq!(topic, "order.created");
        assert_eq!(envelope["correlationid"], "req-approve");
        assert_eq!(envelope["source"], EVENT_SOURCE);
        let data = &envelope["data"];
        assert_eq!(data["order_id"], order.id.as_str());
        assert_eq!(data["order_number"], order.order_number.as_str());
        assert_eq!(data["customer_id"], CUSTOMER);
        assert_eq!(data["payment_token"], "tok_visa");
        assert_eq!(data["total"], 2800);
        assert_eq!(data["items"][0]["sku"], "MUG-1");
        assert_eq!(data["shipping_address"]["name"], "Ada Lovelace");
        assert_eq!(data["campaign_id"], serde_json::Value::Null);

        // The same payload as a clean order of the same contents would have sent.
        let clean = place_scored(&db, CUSTOMER, "GB", &FraudRules::default());
        let events = outbox(&db);
        let fields = |value: &serde_json::Value| {
            let mut data = value["data"].as_object().unwrap().clone();
            for varying in ["order_id", "order_number"] {
                data.remove(varying);
            }
            data
        };
        assert_eq!(fields(&events[0].1), fields(&events[1].1));
        assert_eq!(events[1].1["data"]["order_id"], clean.id.as_str());
    }

    #[test]
    fn rejection_cancels_with_order_cancelled_from_review() {
        let db = database();
        let order = place_scored(&db, CUSTOMER, "GB", &strict_total());
        let request = CancelRequest {
            reason: Some(" card testing ".into()),
        };
        let rejected =
            block_on(reject_order(&db, admin(), REQUEST_ID, &order.id, &request)).unwrap();
        assert_eq!(rejected.status, Status::Cancelled);
        assert_eq!(rejected.status_reason.as_deref(), Some("card testing"));
        assert_eq!(held_token(&db, &order.id), None, "cleared once rejected");
        let events = outbox(&db);
        assert_eq!(topics(&db), ["order.cancelled"], "order.created never sent");
        let data = &events[0].1["data"];
        assert_eq!(data["previous_status"], "review");
        assert_eq!(data["cancelled_by"], "admin-1");
        assert_eq!(data["reason"], "card testing");
        assert_eq!(data["total"], 2800);

        let other = place_scored(&db, CUSTOMER, "GB", &strict_total());
        let rejected = block_on(reject_order(
            &db,
            admin(),
            REQUEST_ID,
            &other.id,
            &CancelRequest::default(),
        ))
        .unwrap();
        assert_eq!(
            rejected.status_reason.as_deref(),
            Some(DEFAULT_REJECTION_REASON)
        );
    }

    #[test]
    fn only_an_order_in_review_is_approved_or_rejected() {
        for &status in Status::ALL {
            if status == Status::Review {
                continue;
            }
            let db = database();
            let order = place_scored(&db, CUSTOMER, "GB", &strict_total());
            set_status(&db, &order.id, status);
            let approve = block_on(approve_order(&db, admin(), REQUEST_ID, &order.id));
            let reject = block_on(reject_order(
                &db,
                admin(),
                REQUEST_ID,
                &order.id,
                &CancelRequest::default(),
            ));
            for outcome in [approve, reject] {
                let error = outcome.unwrap_err();
                assert!(
                    matches!(error, OrderError::NotInReview(s) if s == status),
                    "{error:?}"
                );
                let problem = kit::Problem::from(error);
                assert_eq!(problem.status, 409);
                assert!(problem.detail.contains(status.as_str()), "{problem}");
                assert!(problem.detail.contains("review"), "{problem}");
            }
            assert!(outbox(&db).is_empty(), "{status}: no event");
            assert_eq!(
                block_on(get_order(&db, admin(), &order.id)).unwrap().status,
                status
            );
        }
    }

    #[test]
    fn a_decided_review_cannot_be_decided_again() {
        let db = database();
        let order = place_scored(&db, CUSTOMER, "GB", &strict_total());
        block_on(approve_order(&db, admin(), REQUEST_ID, &order.id)).unwrap();
        let again = block_on(approve_order(&db, admin(), REQUEST_ID, &order.id)).unwrap_err();
        assert!(
            matches!(again, OrderError::NotInReview(Status::Pending)),
            "{again:?}"
        );
        let reject = block_on(reject_order(
            &db,
            admin(),
            REQUEST_ID,
            &order.id,
            &CancelRequest::default(),
        ))
        .unwrap_err();
        assert!(
            matches!(reject, OrderError::NotInReview(Status::Pending)),
            "{reject:?}"
        );
        assert_eq!(topics(&db), ["order.created"], "sent once");

        let missing = block_on(approve_order(&db, admin(), REQUEST_ID, "no-such-order"));
        assert!(matches!(missing, Err(OrderError::NotFound)));
        let elsewhere = Viewer {
            tenant: "other",
            ..admin()
        };
        let hidden = block_on(approve_order(&db, elsewhere, REQUEST_ID, &order.id));
        assert!(matches!(hidden, Err(OrderError::NotFound)));
    }

    #[test]
    fn a_customer_cancelling_in_review_ends_the_hold() {
        let db = database();
        let order = place_scored(&db, CUSTOMER, "GB", &strict_total());
        let cancelled = cancel(&db, customer(CUSTOMER), &order.id).unwrap();
        assert_eq!(cancelled.status, Status::Cancelled);
        assert_eq!(held_token(&db, &order.id), None);
        assert_eq!(outbox(&db)[0].1["data"]["previous_status"], "review");
    }
}
