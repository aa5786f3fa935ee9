//! Returns: a customer asks to send back delivered items within the return window, an
//! admin approves or rejects, and receiving the goods hands them to inventory (restock)
//! and payments (the refund) through `return.received`; the refund's `payment.refunded`
//! closes the return. Each step is one transaction with its event. What a return is
//! worth is fixed when it is asked for ([`worth`]): the returned units of each line less
//! their share of the line's discounts, with their share of the order's tax; shipping is
//! not refunded. The SQL is in `store`.

mod store;

use crate::money::{half_up, share};
use crate::orders::{Order, Viewer, get_order};
use crate::status::Status;
use crate::{EVENT_SOURCE, MAX_ITEMS, MAX_QUANTITY, MAX_REASON_CHARS, MAX_SKU_CHARS, OrderError};
use chrono::{DateTime, TimeDelta, Utc};
use contracts::{
    Envelope, PaymentRefunded, ReturnApproved, ReturnLine, ReturnReceived, ReturnRefunded,
    ReturnRejected, ReturnRequested, ReturnSummary,
};
use kit::FieldError;
use kit::db::{Db, DbError, lock_key, transaction};
use kit::json::{FieldErrors, Validate};
use kit::outbox::{HandlerError, enqueue};
use kit::pagination::{Page, PageParams, Position};
use kit::status::Machine;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use store::{insert_return, list_query, load_lines, returned_so_far, set_status};

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
        errors.check(
            (1..=MAX_ITEMS).contains(&self.items.len()),
            "items",
            &format!("must list 1 to {MAX_ITEMS} items"),
        );
        for (i, item) in self.items.iter().enumerate() {
            let sku_field = format!("items[{i}].sku");
            if item.sku.trim().is_empty() || item.sku.chars().count() > MAX_SKU_CHARS {
                errors.push(
                    &sku_field,
                    format!("must be 1 to {MAX_SKU_CHARS} characters"),
                );
            } else if self.items[..i]
                .iter()
                .any(|earlier| earlier.sku == item.sku)
            {
                errors.push(&sku_field, "appears in another item");
            }
            errors.check(
                (1..=MAX_QUANTITY).contains(&item.quantity),
                &format!("items[{i}].quantity"),
                &format!("must be from 1 to {MAX_QUANTITY}"),
            );
        }
        errors.check(
            self.reason
                .as_deref()
                .is_none_or(|reason| reason.chars().count() <= MAX_REASON_CHARS),
            "reason",
            &format!("must be at most {MAX_REASON_CHARS} characters"),
        );
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
    /// The payment's refund, once it is made.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = String)]
    pub refund_id: Option<String>,
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
        // Concurrent requests for one order queue here, so together they never return
        // more than was delivered.
        lock_key(db, &format!("returns\n{}\n{order_id}", viewer.tenant)).await?;
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
        let before = returned_so_far(db, viewer.tenant, order_id).await?;
        let wanted = checked_items(&order, &before, &new.items).map_err(OrderError::Invalid)?;
        let at = contracts::now_rfc3339();
        let returned = Return {
            id: uuid::Uuid::now_v7().to_string(),
            order_id: order.id.clone(),
            order_number: order.order_number.clone(),
            customer_id: order.customer_id.clone(),
            status: ReturnStatus::Requested,
            reason: trimmed(new.reason.as_deref()),
            rejection_reason: None,
            amount: 0,
            currency: order.currency.clone(),
            refund_id: None,
            created_at: at.clone(),
            updated_at: at,
            items: worth(&order, &before, &wanted),
        };
        let returned = Return {
            amount: returned.items.iter().map(|line| line.amount).sum(),
            ..returned
        };
        insert_return(db, viewer.tenant, &returned).await?;
        let event = ReturnRequested {
            summary: returned.summary(),
            items: returned.items.clone(),
            reason: returned.reason.clone(),
        };
        enqueue(
            db,
            &Envelope::new(EVENT_SOURCE, viewer.tenant, correlation_id, event),
        )
        .await?;
        Ok(returned)
    })
    .await
}

/// The text as stored: trimmed, `None` when blank.
fn trimmed(text: Option<&str>) -> Option<String> {
    text.map(str::trim)
        .filter(|text| !text.is_empty())
        .map(str::to_owned)
}

/// The units of each SKU asked for, checked against the order's lines and the units
/// already in returns (`before`); every wrong item named.
fn checked_items<'a>(
    order: &Order,
    before: &HashMap<String, u32>,
    items: &'a [ReturnItem],
) -> Result<HashMap<&'a str, u32>, Vec<FieldError>> {
    let mut errors = FieldErrors::new();
    let mut wanted = HashMap::new();
    for (i, item) in items.iter().enumerate() {
        let Some(line) = order.items.iter().find(|line| line.sku == item.sku) else {
            errors.push(format!("items[{i}].sku"), "is not in this order");
            continue;
        };
        let left = line.quantity - before.get(&item.sku).copied().unwrap_or(0);
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

/// What returning `wanted` units (after `before` units already returned) of `order`'s
/// lines is worth, line by line in the order's line order. A line's units are worth
/// their part of the line less its discounts, and the return takes the tax on what the
/// order's returns are worth now less the tax on what they were worth before; so
/// however an order is returned, in one return or many, returning all of it gives back
/// exactly its total less shipping.
pub(crate) fn worth(
    order: &Order,
    before: &HashMap<String, u32>,
    wanted: &HashMap<&str, u32>,
) -> Vec<ReturnLine> {
    let net = |sku: &str, line_total: i64| {
        let discounted: i64 = order
            .discounts
            .iter()
            .flat_map(|discount| &discount.lines)
            .filter(|line| line.sku == sku)
            .map(|line| line.amount)
            .sum();
        line_total - discounted
    };
    // The worth, before tax, of `units` of a line.
    let units_worth = |sku: &str, line_total: i64, quantity: u32, units: u32| {
        half_up(
            i128::from(net(sku, line_total)) * i128::from(units),
            i128::from(quantity),
        )
    };
    let mut worth_before = 0;
    let mut lines = Vec::new();
    for line in &order.items {
        let earlier = before.get(&line.sku).copied().unwrap_or(0);
        worth_before += units_worth(&line.sku, line.line_total, line.quantity, earlier);
        if let Some(&units) = wanted.get(line.sku.as_str()) {
            let amount = units_worth(&line.sku, line.line_total, line.quantity, earlier + units)
                - units_worth(&line.sku, line.line_total, line.quantity, earlier);
            lines.push(ReturnLine {
                sku: line.sku.clone(),
                name: line.name.clone(),
                quantity: units,
                amount,
            });
        }
    }
    let taxed = order.subtotal - order.discount;
    let tax_on = |goods: i64| {
        if taxed <= 0 {
            0
        } else {
            half_up(i128::from(order.tax) * i128::from(goods), i128::from(taxed))
        }
    };
    let goods: Vec<i64> = lines.iter().map(|line| line.amount).collect();
    let worth_after = worth_before + goods.iter().sum::<i64>();
    let tax = tax_on(worth_after) - tax_on(worth_before);
    let mut tax_shares = share(tax, &goods);
    // A tax above the goods (a rate over 100%) is more than `share` hands out: the rest
    // goes to the first line, so the lines still add up to the return's worth.
    if let Some(first) = tax_shares.first_mut() {
        *first += tax - goods.iter().sum::<i64>().min(tax);
    }
    for (line, tax_share) in lines.iter_mut().zip(tax_shares) {
        line.amount += tax_share;
    }
    lines
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
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReturnStep<'a> {
    Approve,
    Reject { reason: Option<&'a str> },
    Receive,
}

/// Moves return `id` on by `step` (409 naming both statuses when its status does not
/// allow it), with the step's event in the same transaction: `return.approved`,
/// `return.rejected`, or `return.received` for inventory and payments.
pub async fn advance_return<D: Db>(
    db: &D,
    viewer: Viewer<'_>,
    correlation_id: &str,
    id: &str,
    step: ReturnStep<'_>,
) -> Result<Return, OrderError> {
    let next = match step {
        ReturnStep::Approve => ReturnStatus::Approved,
        ReturnStep::Reject { .. } => ReturnStatus::Rejected,
        ReturnStep::Receive => ReturnStatus::Received,
    };
    transaction(db, async |db| {
        let mut returned = get_return(db, viewer, id).await?;
        returned
            .status
            .check(next)
            .map_err(OrderError::ReturnConflict)?;
        let reason = match step {
            ReturnStep::Reject { reason } => trimmed(reason),
            _ => None,
        };
        returned.updated_at = contracts::now_rfc3339();
        set_status(db, viewer.tenant, &returned, next, reason.as_deref(), None).await?;
        returned.status = next;
        let summary = returned.summary();
        let source = EVENT_SOURCE;
        let tenant = viewer.tenant;
        match step {
            ReturnStep::Approve => {
                let event = ReturnApproved { summary };
                enqueue(db, &Envelope::new(source, tenant, correlation_id, event)).await?
            }
            ReturnStep::Reject { .. } => {
                returned.rejection_reason.clone_from(&reason);
                let event = ReturnRejected { summary, reason };
                enqueue(db, &Envelope::new(source, tenant, correlation_id, event)).await?
            }
            ReturnStep::Receive => {
                let items = returned.items.clone();
                let event = ReturnReceived { summary, items };
                enqueue(db, &Envelope::new(source, tenant, correlation_id, event)).await?
            }
        }
        Ok(returned)
    })
    .await
}

/// The `source` of `return.refunded`.
const ON_PAYMENT_REFUNDED_SOURCE: &str = "/components/orders-on-payment-refunded";

/// A refund a return caused was made: the received return becomes `refunded`, with
/// `return.refunded`. A return already refunded (a redelivery) is acknowledged; one
/// this tenant does not have can never apply and is refused.
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
    let mut returned = match get_return(db, viewer, return_id).await {
        Ok(returned) => returned,
        Err(OrderError::NoReturn) => {
            return Err(HandlerError::Refuse(format!(
                "tenant {} has no return {return_id}",
                event.tenant
            )));
        }
        Err(error) => return Err(HandlerError::from(other_error(error))),
    };
    if let Err(illegal) = returned.status.check(ReturnStatus::Refunded) {
        eprintln!(
            "{} {} for return {return_id} ignored: {illegal}",
            event.event_type, event.id
        );
        return Ok(());
    }
    returned.updated_at = contracts::now_rfc3339();
    let refund_id = event.data.refund_id.as_str();
    set_status(
        db,
        &event.tenant,
        &returned,
        ReturnStatus::Refunded,
        None,
        Some(refund_id),
    )
    .await?;
    let refunded = ReturnRefunded {
        summary: returned.summary(),
        refund_id: refund_id.to_owned(),
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
