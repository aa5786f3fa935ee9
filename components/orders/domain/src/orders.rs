//! Orders: creation with its order number, its fraud score and `order.created` (held
//! back while the order waits in review), reads and lists scoped to who asks,
//! cancellation with `order.cancelled`, the fraud review's approval and rejection, and
//! the conditional status write every transition goes through. The rows and their SQL
//! are in `store`, the event payloads in `events`.

mod events;
mod store;

use crate::checkout::{CancelRequest, NewOrder};
use crate::fraud::{FraudRules, OrderFacts, RECENT_ORDERS_MINUTES};
use crate::pricing::Priced;
use crate::promotions::{Discount, claim_uses, release_uses};
use crate::status::{IllegalTransition, Status};
use crate::{EVENT_SOURCE, OrderError};
use chrono::{DateTime, SecondsFormat, TimeDelta, Utc};
use contracts::{Address, Envelope, OrderCreated, OrderLine};
use events::{order_cancelled, order_created};
use kit::db::{Db, DbError, SqlValue, transaction};
use kit::pagination::{ListOrder, Page, PageParams, Position};
use kit::status::Machine;
use serde::Serialize;
use store::{
    ORDER_COLUMNS, attach_lines, count_orders_since, held_payment_token, insert_order,
    next_order_number, order_from_row,
};
pub(crate) use store::{insert_rows, rows_of, stored_quantity};

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
    /// What the promotions in `discounts` take off the subtotal, before tax.
    pub discount: i64,
    pub discounts: Vec<Discount>,
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
    pub(crate) fn only_customer(&self) -> Option<&str> {
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
pub(crate) fn rfc3339(time: DateTime<Utc>) -> String {
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
    transaction(db, async |db| {
        let placed = place_order(db, tenant, placement, fraud, |event| {
            Envelope::new(EVENT_SOURCE, tenant, correlation_id, event)
        })
        .await?;
        let order = placed.ok_or_else(|| {
            DbError::Other("an order without a campaign seat was not placed".into())
        })?;
        claim_uses(db, tenant, customer_id, &order.id, &order.discounts).await?;
        Ok(order)
    })
    .await
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
        discount: priced.discount,
        discounts: priced.discounts,
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

/// The status of the tenant's order `id`; `None` when there is no such order.
pub(crate) async fn order_status<D: Db>(
    db: &D,
    tenant: &str,
    id: &str,
) -> Result<Option<Status>, DbError> {
    let rows = db
        .query(
            "SELECT status FROM orders WHERE tenant = $1 AND id = $2",
            &[tenant.into(), id.into()],
        )
        .await?;
    rows.first()
        .map(|row| Status::stored(row.get_str(0)?))
        .transpose()
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
        let Some(current) = order_status(db, tenant, id).await? else {
            return Ok(Moved::NoOrder);
        };
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
            if matches!(
                next,
                Status::Cancelled | Status::Rejected | Status::PaymentFailed
            ) {
                release_uses(db, tenant, id).await?;
            }
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
        let event = order_cancelled(&order, previous, viewer.user_id, reason.clone());
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

#[cfg(test)]
mod tests;
