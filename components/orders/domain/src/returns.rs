//! Returns: a customer asks to send back delivered items within the return window, an
//! admin approves or rejects, and receiving the goods hands them to inventory (restock)
//! and payments (the refund) through `return.received`; the refund's `payment.refunded`
//! closes the return (one worth 0 closes when received). Each step is one transaction
//! with its event, under the order's returns lock ([`lock_returns`]). What a return is
//! worth is fixed when it is asked for ([`worth`]): the returned units of each line less
//! their share of the line's discounts, with their share of the order's tax; shipping is
//! not refunded. The SQL is in `store`.

mod store;

use crate::checkout::{check_items, check_reason, reason_as_stored};
use crate::money::{half_up, share};
use crate::orders::{Order, Viewer, get_order, order_status};
use crate::status::Status;
use crate::{EVENT_SOURCE, OrderError};
use chrono::{DateTime, TimeDelta, Utc};
use contracts::{
    Envelope, Event, PaymentRefunded, ReturnApproved, ReturnLine, ReturnReceived, ReturnRefunded,
    ReturnRejected, ReturnRequested, ReturnSummary,
};
use kit::FieldError;
use kit::db::{Db, DbError, lock_key, transaction};
use kit::json::{FieldErrors, Validate};
use kit::outbox::{HandlerError, enqueue};
use kit::pagination::{Page, PageParams, Position};
use kit::status::{IllegalTransition, Machine};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use store::{held_by_returns, insert_return, list_query, load_lines, status_of, write_move};

kit::status_machine! {
    /// A return's status.
    #[schema(as = ReturnStatus)]
    pub enum ReturnStatus: "a return" {
        Requested = "requested",
        Approved = "approved",
        Rejected = "rejected",
        /// The goods are back; the refund is on its way.
        Received = "received",
        Refunded = "refunded",
    }
    moves {
        Requested => Approved | Rejected,
        Approved => Received,
        Received => Refunded,
    }
}

/// `POST /api/v1/orders/{id}/returns`.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewReturn {
    /// The delivered items to send back, each order line at most once.
    #[schema(min_items = 1, max_items = 100)]
    pub items: Vec<ReturnItem>,
    /// The customer's words on why.
    #[serde(default)]
    #[schema(max_length = 500)]
    pub reason: Option<String>,
}

/// An order line's SKU and how many of its units go back.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReturnItem {
    #[schema(min_length = 1, max_length = 64)]
    pub sku: String,
    #[schema(minimum = 1, maximum = 1000)]
    pub quantity: u32,
}

impl Validate for NewReturn {
    fn validate(&self) -> Result<(), Vec<FieldError>> {
        let mut errors = FieldErrors::new();
        check_items(
            self.items
                .iter()
                .map(|item| (item.sku.as_str(), item.quantity)),
            &mut errors,
        );
        check_reason(self.reason.as_deref(), &mut errors);
        errors.into_result()
    }
}

/// A return as the API shows it. Money is minor units of `currency`.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Return {
    pub id: String,
    pub order_id: String,
    pub order_number: String,
    pub customer_id: String,
    pub status: ReturnStatus,
    /// The customer's reason, when given.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = String)]
    pub reason: Option<String>,
    /// The admin's reason for a rejection, when given.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = String)]
    pub rejection_reason: Option<String>,
    /// Each returned line with the part of `amount` it is worth.
    pub items: Vec<ReturnLine>,
    /// What the customer gets back once the goods are received: the lines less their
    /// discounts, with their tax.
    pub amount: i64,
    pub currency: String,
    /// The payment's refund, once it is made; never for a return worth 0, which needs
    /// none.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = String)]
    pub refund_id: Option<String>,
    /// What the refund gave back, once the return is `refunded`: `amount`, or less when
    /// less of the payment remained (an admin had refunded part of it).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = i64)]
    pub refunded_amount: Option<i64>,
    pub created_at: String,
    pub updated_at: String,
}

impl Return {
    fn summary(&self) -> ReturnSummary {
        ReturnSummary {
            return_id: self.id.clone(),
            order_id: self.order_id.clone(),
            order_number: self.order_number.clone(),
            customer_id: self.customer_id.clone(),
            amount: self.amount,
            currency: self.currency.clone(),
        }
    }
}

/// How long after delivery a customer may ask for a return: the `return_window_days`
/// variable.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReturnWindow {
    pub days: u32,
}

/// The longest window a shop may set, ten years, so the deadline's arithmetic never
/// overflows.
const MAX_WINDOW_DAYS: u32 = 3_650;

impl ReturnWindow {
    pub const DEFAULT: ReturnWindow = ReturnWindow { days: 30 };

    /// The window from the variable's text; empty is the default. The error names the
    /// variable: a deployment error.
    pub fn parse(text: Option<&str>) -> Result<Self, String> {
        match text.map(str::trim).filter(|text| !text.is_empty()) {
            None => Ok(Self::DEFAULT),
            Some(text) => text
                .parse::<u32>()
                .ok()
                .filter(|days| *days <= MAX_WINDOW_DAYS)
                .map(|days| ReturnWindow { days })
                .ok_or_else(|| {
                    format!("return_window_days must be a whole number of days from 0 to {MAX_WINDOW_DAYS}, not {text:?}")
                }),
        }
    }

    /// When returns of an order delivered at `delivered_at` end.
    fn closes(self, delivered_at: DateTime<Utc>) -> DateTime<Utc> {
        delivered_at + TimeDelta::days(i64::from(self.days))
    }
}

/// Serialises, until the end of the transaction, the requests and the moves of order
/// `order_id`'s returns: so together they never return more than was delivered, never
/// price a return against one being rejected, and two admins never move one return at
/// once (the second reads what the first wrote).
async fn lock_returns<D: Db>(db: &D, tenant: &str, order_id: &str) -> Result<(), DbError> {
    lock_key(db, &format!("returns\n{tenant}\n{order_id}")).await
}

/// Asks to return `new`'s items of order `order_id`, delivered and seen by `viewer` (its
/// customer or an admin), within `window` of its delivery: 409 for an order that is not
/// delivered or whose window closed, 422 naming the item for a SKU not in the order or
/// more units than are left to return (units in returns not rejected count as taken).
/// The return is `requested`, worth [`worth`], with `return.requested`.
pub async fn request_return<D: Db>(
    db: &D,
    viewer: Viewer<'_>,
    correlation_id: &str,
    order_id: &str,
    new: &NewReturn,
    window: ReturnWindow,
    now: DateTime<Utc>,
) -> Result<Return, OrderError> {
    transaction(db, async |db| {
        lock_returns(db, viewer.tenant, order_id).await?;
        let order = get_order(db, viewer, order_id).await?;
        if order.status != Status::Delivered {
            return Err(OrderError::NotReturnable(format!(
                "only a delivered order can be returned; this one is {}",
                order.status
            )));
        }
        let delivered_at = DateTime::parse_from_rfc3339(&order.updated_at)
            .map_err(|error| DbError::Other(format!("stored time {}: {error}", order.updated_at)))?
            .with_timezone(&Utc);
        let closes = window.closes(delivered_at);
        if now > closes {
            return Err(OrderError::NotReturnable(format!(
                "returns of this order closed {} days after its delivery, at {}",
                window.days,
                crate::orders::rfc3339(closes)
            )));
        }
        let held = held_by_returns(db, viewer.tenant, order_id).await?;
        let wanted = checked_items(&order, &held, &new.items).map_err(OrderError::Invalid)?;
        let priced = worth(&order, &held, &wanted);
        let at = contracts::now_rfc3339();
        let returned = Return {
            id: uuid::Uuid::now_v7().to_string(),
            order_id: order.id.clone(),
            order_number: order.order_number.clone(),
            customer_id: order.customer_id.clone(),
            status: ReturnStatus::Requested,
            reason: reason_as_stored(new.reason.as_deref()),
            rejection_reason: None,
            amount: priced.iter().map(|priced| priced.line.amount).sum(),
            currency: order.currency.clone(),
            refund_id: None,
            refunded_amount: None,
            created_at: at.clone(),
            updated_at: at,
            items: priced.iter().map(|priced| priced.line.clone()).collect(),
        };
        let taxes: Vec<i64> = priced.iter().map(|priced| priced.tax).collect();
        insert_return(db, viewer.tenant, &returned, &taxes).await?;
        let event = ReturnRequested {
            summary: returned.summary(),
            items: returned.items.clone(),
            reason: returned.reason.clone(),
        };
        let announce = Announce {
            tenant: viewer.tenant,
            correlation_id,
        };
        announce.send(db, event).await?;
        Ok(returned)
    })
    .await
}

/// What an order's returns that are not rejected hold already, as stored: by SKU, the
/// units and the goods (their worth before tax) they refund, and the tax they refund.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Held {
    pub lines: HashMap<String, HeldLine>,
    pub tax: i64,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct HeldLine {
    pub units: u32,
    pub goods: i64,
}

/// A return line as priced: `line.amount` is its goods and its `tax` together.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct PricedLine {
    pub line: ReturnLine,
    pub tax: i64,
}

/// The units of each SKU asked for, checked against the order's lines and the units
/// already in returns (`held`); every wrong item named.
fn checked_items<'a>(
    order: &Order,
    held: &Held,
    items: &'a [ReturnItem],
) -> Result<HashMap<&'a str, u32>, Vec<FieldError>> {
    let mut errors = FieldErrors::new();
    let mut wanted = HashMap::new();
    for (i, item) in items.iter().enumerate() {
        let Some(line) = order.items.iter().find(|line| line.sku == item.sku) else {
            errors.push(format!("items[{i}].sku"), "is not in this order");
            continue;
        };
        let taken = held.lines.get(&item.sku).map_or(0, |held| held.units);
        // More units stored than the line has (nothing lets that in) leaves none.
        let left = line.quantity.saturating_sub(taken);
        if item.quantity > left {
            errors.push(
                format!("items[{i}].quantity"),
                format!(
                    "{left} of the {} delivered can still be returned",
                    line.quantity
                ),
            );
        }
        wanted.insert(item.sku.as_str(), item.quantity);
    }
    errors.into_result().map(|()| wanted)
}

/// What returning `wanted` units of `order`'s lines is worth, line by line in the
/// order's line order, given what its returns not rejected already `held`. A line's
/// goods are what all its units in those returns and this one are worth (their part of
/// the line less its discounts) less the goods those returns already refund; the tax is
/// the tax on all their goods and this return's, less the tax they already refund;
/// neither below 0. Priced against what is stored rather than against units, so
/// however returns are rejected in between, the returns not rejected never refund more
/// than the order's total less shipping, and returning everything refunds exactly that.
pub(crate) fn worth(order: &Order, held: &Held, wanted: &HashMap<&str, u32>) -> Vec<PricedLine> {
    let mut lines = Vec::new();
    let mut goods = Vec::new();
    for line in &order.items {
        let Some(&units) = wanted.get(line.sku.as_str()) else {
            continue;
        };
        let discounted: i64 = order
            .discounts
            .iter()
            .flat_map(|discount| &discount.lines)
            .filter(|discounted| discounted.sku == line.sku)
            .map(|discounted| discounted.amount)
            .sum();
        let before = held.lines.get(&line.sku).copied().unwrap_or_default();
        let all_units = i128::from(before.units) + i128::from(units);
        let value = half_up(
            i128::from(line.line_total - discounted) * all_units,
            i128::from(line.quantity),
        );
        goods.push((value - before.goods).max(0));
        lines.push(ReturnLine {
            sku: line.sku.clone(),
            name: line.name.clone(),
            quantity: units,
            amount: 0,
        });
    }
    let taxed = order.subtotal - order.discount;
    let tax_on = |goods: i64| {
        if taxed <= 0 {
            0
        } else {
            half_up(i128::from(order.tax) * i128::from(goods), i128::from(taxed))
        }
    };
    let held_goods: i64 = held.lines.values().map(|line| line.goods).sum();
    let this_goods: i64 = goods.iter().sum();
    let tax = (tax_on(held_goods + this_goods) - held.tax).max(0);
    let mut taxes = share(tax, &goods);
    // A tax above the goods (a rate over 100%, or goods all 0) is more than `share`
    // hands out: the rest goes to the first line, so the lines add up to the worth.
    if let Some(first) = taxes.first_mut() {
        *first += tax - this_goods.min(tax);
    }
    lines
        .into_iter()
        .zip(goods.into_iter().zip(taxes))
        .map(|(line, (goods, tax))| PricedLine {
            line: ReturnLine {
                amount: goods + tax,
                ..line
            },
            tax,
        })
        .collect()
}

/// Return `id` if `viewer` may see it (its customer or an admin).
pub async fn get_return<D: Db>(db: &D, viewer: Viewer<'_>, id: &str) -> Result<Return, OrderError> {
    let page = PageParams {
        limit: 1,
        after: None,
    };
    let filter = ReturnFilter {
        id: Some(id),
        ..ReturnFilter::default()
    };
    list_returns(db, viewer, filter, &page)
        .await?
        .items
        .pop()
        .ok_or(OrderError::NoReturn)
}

/// Which returns a list shows.
#[derive(Debug, Clone, Copy, Default)]
pub struct ReturnFilter<'a> {
    pub order_id: Option<&'a str>,
    pub status: Option<ReturnStatus>,
    id: Option<&'a str>,
}

impl<'a> ReturnFilter<'a> {
    pub fn new(order_id: Option<&'a str>, status: Option<ReturnStatus>) -> Self {
        Self {
            order_id,
            status,
            id: None,
        }
    }
}

/// One page of the returns `viewer` sees, newest first.
pub async fn list_returns<D: Db>(
    db: &D,
    viewer: Viewer<'_>,
    filter: ReturnFilter<'_>,
    page: &PageParams<Position>,
) -> Result<Page<Return>, OrderError> {
    let mut returns = list_query(db, viewer, filter, page).await?;
    load_lines(db, viewer.tenant, &mut returns).await?;
    Ok(Page::from_rows(returns, page.limit, |returned| {
        Position::of(&returned.created_at, &returned.id)
    }))
}

/// An admin's decision on a requested return, or the goods' arrival.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReturnStep {
    Approve,
    /// With the reason as stored (`CancelRequest::reason`).
    Reject {
        reason: Option<String>,
    },
    Receive,
}

/// Moves return `id` on by `step` (409 naming both statuses when its status does not
/// allow it), with the step's event in the same transaction: `return.approved`,
/// `return.rejected`, or `return.received` for inventory and payments. A return worth
/// something is approved and received only while its order is `delivered` (409 naming
/// the order's status): once the order is refunded whole, payments refunds nothing
/// more and the return would wait forever. A received return worth 0 needs no refund
/// and is `refunded` at once, with `return.refunded` (no refund id) after
/// `return.received`.
pub async fn advance_return<D: Db>(
    db: &D,
    viewer: Viewer<'_>,
    correlation_id: &str,
    id: &str,
    step: ReturnStep,
) -> Result<Return, OrderError> {
    let next = match step {
        ReturnStep::Approve => ReturnStatus::Approved,
        ReturnStep::Reject { .. } => ReturnStatus::Rejected,
        ReturnStep::Receive => ReturnStatus::Received,
    };
    let tenant = viewer.tenant;
    transaction(db, async |db| {
        let mut returned = locked_return(db, viewer, id).await?;
        returned
            .status
            .check(next)
            .map_err(OrderError::ReturnConflict)?;
        if next != ReturnStatus::Rejected && returned.amount > 0 {
            check_order_delivered(db, tenant, &returned, next).await?;
        }
        if let ReturnStep::Reject { reason } = &step {
            returned.rejection_reason.clone_from(reason);
        }
        move_return(db, tenant, &mut returned, next).await?;
        let summary = returned.summary();
        let announce = Announce {
            tenant,
            correlation_id,
        };
        match step {
            ReturnStep::Approve => announce.send(db, ReturnApproved { summary }).await?,
            ReturnStep::Reject { reason } => {
                announce
                    .send(db, ReturnRejected { summary, reason })
                    .await?
            }
            ReturnStep::Receive => {
                let items = returned.items.clone();
                announce.send(db, ReturnReceived { summary, items }).await?;
                if returned.amount == 0 {
                    // Payments refunds nothing, so no `payment.refunded` would end it.
                    let refunded = mark_refunded(db, tenant, &mut returned, None, 0).await?;
                    announce.send(db, refunded).await?;
                }
            }
        }
        Ok(returned)
    })
    .await
}

/// Who an API request's return events are from: the tenant and the request.
struct Announce<'a> {
    tenant: &'a str,
    correlation_id: &'a str,
}

impl Announce<'_> {
    async fn send<D: Db, E: Event>(&self, db: &D, event: E) -> Result<(), DbError> {
        let envelope = Envelope::new(EVENT_SOURCE, self.tenant, self.correlation_id, event);
        enqueue(db, &envelope).await
    }
}

/// 409 naming the order's status unless return `returned`'s order is still
/// `delivered`: a whole refund moves it on, after which payments refunds nothing more.
async fn check_order_delivered<D: Db>(
    db: &D,
    tenant: &str,
    returned: &Return,
    next: ReturnStatus,
) -> Result<(), OrderError> {
    match order_status(db, tenant, &returned.order_id).await? {
        Some(Status::Delivered) => Ok(()),
        Some(status) => Err(OrderError::NotReturnable(format!(
            "the order is {status}, so its payment refunds nothing more; this return cannot \
             be {next}"
        ))),
        None => Err(OrderError::Db(DbError::Other(format!(
            "return {} is of order {}, which is missing",
            returned.id, returned.order_id
        )))),
    }
}

/// Return `id` as `viewer` sees it, read again under its order's returns lock: what a
/// move decides on is then what no one else is changing.
async fn locked_return<D: Db>(db: &D, viewer: Viewer<'_>, id: &str) -> Result<Return, OrderError> {
    let unlocked = get_return(db, viewer, id).await?;
    lock_returns(db, viewer.tenant, &unlocked.order_id).await?;
    get_return(db, viewer, id).await
}

/// Moves `returned` (read under its order's returns lock) to `next` and writes it as it
/// now is: its status, `updated_at`, and what the caller set (a rejection's reason, a
/// refund). A status that does not allow the move, or one a writer without the lock
/// changed since the read, is a 409 naming the status found.
async fn move_return<D: Db>(
    db: &D,
    tenant: &str,
    returned: &mut Return,
    next: ReturnStatus,
) -> Result<(), OrderError> {
    let from = returned.status;
    from.check(next).map_err(OrderError::ReturnConflict)?;
    returned.status = next;
    returned.updated_at = contracts::now_rfc3339();
    if write_move(db, tenant, returned, from).await? {
        return Ok(());
    }
    let found = status_of(db, tenant, &returned.id)
        .await?
        .ok_or(OrderError::NoReturn)?;
    Err(OrderError::ReturnConflict(IllegalTransition {
        from: found,
        to: next,
    }))
}

/// Moves a received return to `refunded` by `refund_id` (none for a return worth 0),
/// which gave back `refunded_amount`; its `return.refunded` for the caller to send.
async fn mark_refunded<D: Db>(
    db: &D,
    tenant: &str,
    returned: &mut Return,
    refund_id: Option<&str>,
    refunded_amount: i64,
) -> Result<ReturnRefunded, OrderError> {
    returned.refund_id = refund_id.map(str::to_owned);
    returned.refunded_amount = Some(refunded_amount);
    move_return(db, tenant, returned, ReturnStatus::Refunded).await?;
    Ok(ReturnRefunded {
        summary: returned.summary(),
        refund_id: returned.refund_id.clone(),
        refunded_amount,
    })
}

/// The `source` of `return.refunded`.
const ON_PAYMENT_REFUNDED_SOURCE: &str = "/components/orders-on-payment-refunded";

/// A refund a return caused was made: the received return becomes `refunded` with what
/// the refund gave back, and `return.refunded`. A return already refunded (a
/// redelivery) is acknowledged; one this tenant does not have, or a refund of another
/// order or currency than the return's, can never apply and is refused.
pub(crate) async fn record_return_refund<D: Db>(
    db: &D,
    event: &Envelope<PaymentRefunded>,
    return_id: &str,
) -> Result<(), HandlerError> {
    let viewer = Viewer {
        tenant: &event.tenant,
        user_id: "",
        all_orders: true,
    };
    let refund = &event.data;
    let mut returned = match locked_return(db, viewer, return_id).await {
        Ok(returned) => returned,
        Err(OrderError::NoReturn) => {
            return Err(HandlerError::Refuse(format!(
                "tenant {} has no return {return_id}",
                event.tenant
            )));
        }
        Err(error) => return Err(HandlerError::from(other_error(error))),
    };
    if refund.order_id != returned.order_id || refund.currency != returned.currency {
        return Err(HandlerError::Refuse(format!(
            "refund {} of order {} in {} cannot pay back return {return_id} of order {} in {}",
            refund.refund_id,
            refund.order_id,
            refund.currency,
            returned.order_id,
            returned.currency
        )));
    }
    let marked = mark_refunded(
        db,
        &event.tenant,
        &mut returned,
        Some(&refund.refund_id),
        refund.amount,
    )
    .await;
    let refunded = match marked {
        Ok(refunded) => refunded,
        Err(OrderError::ReturnConflict(illegal)) => {
            eprintln!(
                "{} {} for return {return_id} ignored: {illegal}",
                event.event_type, event.id
            );
            return Ok(());
        }
        Err(error) => return Err(HandlerError::from(other_error(error))),
    };
    enqueue(
        db,
        &Envelope::caused_by(event, ON_PAYMENT_REFUNDED_SOURCE, refunded),
    )
    .await?;
    Ok(())
}

/// A read that failed for a reason other than a missing return: the database's.
fn other_error(error: OrderError) -> DbError {
    match error {
        OrderError::Db(error) => error,
        other => DbError::Other(other.to_string()),
    }
}

#[cfg(test)]
mod tests;
