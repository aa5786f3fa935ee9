//! The saga's side of stock. `order.created` reserves every line of the order or none;
//! `payment.succeeded` commits the held lines (they leave the shelf);
//! `payment.failed` and `order.cancelled` release them (a committed line comes back on
//! hand). Each handler runs inside the transaction that records its event as applied
//! (`kit::outbox::apply_once`), so a redelivery changes nothing; a business event that
//! no longer fits (a second `order.created`, a payment for a released order) is
//! acknowledged and changes nothing either. The rows and their SQL are in `store`.

mod store;

use crate::movements::{MovementReason, StockChange, record_movement};
use crate::stock::find_stock;
use contracts::{
    Envelope, InventoryInsufficient, InventoryReserved, OrderCancelled, OrderCreated, OrderLine,
    PaymentFailed, PaymentSucceeded, StockLine, StockShortage, now_rfc3339,
};
use kit::db::Db;
use kit::outbox::{HandlerError, enqueue};
use std::collections::BTreeMap;
use std::fmt;
use store::claim_outcome;

/// The component whose events [`reserve_for_order`] emits.
const RESERVER: &str = "/components/inventory-on-order-created";

/// Where an order's reservation of one SKU stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReservationStatus {
    /// Counted in `reserved`, not yet paid.
    Held,
    /// Paid: taken off `on_hand` and `reserved`.
    Committed,
    /// Let go; final.
    Released,
}

impl ReservationStatus {
    pub const ALL: [ReservationStatus; 3] = [
        ReservationStatus::Held,
        ReservationStatus::Committed,
        ReservationStatus::Released,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ReservationStatus::Held => "held",
            ReservationStatus::Committed => "committed",
            ReservationStatus::Released => "released",
        }
    }
}

/// What an event asks of an order's reservations.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Settlement {
    /// `payment.succeeded`: the reserved units are sold.
    Commit,
    /// `payment.failed`, `order.cancelled`: the units go back to being available.
    Release,
}

impl fmt::Display for Settlement {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Settlement::Commit => "commit",
            Settlement::Release => "release",
        })
    }
}

/// A legal settlement of a reservation: its next status, and what each of its units
/// does to the stock row.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SettlementEffect {
    pub to: ReservationStatus,
    pub reason: MovementReason,
    pub on_hand_per_unit: i64,
    pub reserved_per_unit: i64,
}

/// The reservation state machine: what `settlement` does to a reservation in `from`,
/// or `None` when it does not apply (a stale or repeated event, which changes nothing).
pub fn settle(from: ReservationStatus, settlement: Settlement) -> Option<SettlementEffect> {
    use ReservationStatus::{Committed, Held, Released};
    let (to, reason, on_hand_per_unit, reserved_per_unit) = match (from, settlement) {
        (Held, Settlement::Commit) => (Committed, MovementReason::Commit, -1, -1),
        (Held, Settlement::Release) => (Released, MovementReason::Release, 0, -1),
        // The sale is undone: the units come back on the shelf.
        (Committed, Settlement::Release) => (Released, MovementReason::Restock, 1, 0),
        (Committed, Settlement::Commit) | (Released, _) => return None,
    };
    Some(SettlementEffect {
        to,
        reason,
        on_hand_per_unit,
        reserved_per_unit,
    })
}

/// What inventory answered first about an order; see [`claim_outcome`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OrderOutcome {
    Reserved,
    Insufficient,
    /// `order.cancelled` came before anything was reserved.
    Cancelled,
}

impl OrderOutcome {
    pub fn as_str(self) -> &'static str {
        match self {
            OrderOutcome::Reserved => "reserved",
            OrderOutcome::Insufficient => "insufficient",
            OrderOutcome::Cancelled => "cancelled",
        }
    }
}

/// The order's quantity per SKU, in SKU order: rows are locked in that order, so two
/// orders never deadlock. An order without lines, or with a line of 0, is refused.
fn stock_lines(order_id: &str, items: &[OrderLine]) -> Result<Vec<StockLine>, HandlerError> {
    if items.is_empty() {
        return Err(HandlerError::Refuse(format!(
            "order {order_id} has no lines"
        )));
    }
    let mut per_sku: BTreeMap<&str, u32> = BTreeMap::new();
    for line in items {
        if line.quantity == 0 {
            return Err(HandlerError::Refuse(format!(
                "order {order_id} asks for 0 of {}",
                line.sku
            )));
        }
        let total = per_sku.entry(line.sku.as_str()).or_default();
        *total = total.checked_add(line.quantity).ok_or_else(|| {
            HandlerError::Refuse(format!(
                "order {order_id} asks for too many of {}",
                line.sku
            ))
        })?;
    }
    Ok(per_sku
        .into_iter()
        .map(|(sku, quantity)| StockLine {
            sku: sku.to_owned(),
            quantity,
        })
        .collect())
}

/// `order.created`: reserves every line or none, and emits `inventory.reserved` or
/// `inventory.insufficient` (a shortage per short line) in the same transaction. An
/// order inventory has answered before, or seen cancelled, changes nothing.
pub async fn reserve_for_order<D: Db>(
    db: &D,
    event: &Envelope<OrderCreated>,
) -> Result<(), HandlerError> {
    let order = &event.data;
    let tenant = event.tenant.as_str();
    let lines = stock_lines(&order.order_id, &order.items)?;
    let now = now_rfc3339();
    if !claim_outcome(db, tenant, &order.order_id, OrderOutcome::Reserved, &now).await? {
        eprintln!(
            "inventory: order {} already has an outcome; order.created {} changes nothing",
            order.order_id, event.id
        );
        return Ok(());
    }
    // Every line is tried, so the shortages name each short line; a savepoint undoes
    // the lines that fitted when one did not.
    store::begin_reservation(db).await?;
    let mut short = Vec::new();
    for line in &lines {
        if !store::reserve_line(db, tenant, line, &now).await? {
            short.push(line);
        }
    }
    if !short.is_empty() {
        store::undo_reservation(db).await?;
        let mut shortages = Vec::with_capacity(short.len());
        for line in short {
            let available = find_stock(db, tenant, &line.sku)
                .await?
                .map_or(0, |stock| stock.available);
            shortages.push(StockShortage {
                sku: line.sku.clone(),
                requested: line.quantity,
                available,
            });
        }
        store::set_outcome(db, tenant, &order.order_id, OrderOutcome::Insufficient).await?;
        let insufficient = InventoryInsufficient {
            order_id: order.order_id.clone(),
            customer_id: order.customer_id.clone(),
            shortages,
        };
        enqueue(db, &Envelope::caused_by(event, RESERVER, insufficient)).await?;
        return Ok(());
    }
    store::keep_reservation(db).await?;
    for line in &lines {
        let quantity = i64::from(line.quantity);
        store::insert_reservation(db, tenant, &order.order_id, &line.sku, quantity, &now).await?;
        let change = StockChange::new(&line.sku, MovementReason::Reserve)
            .reserved(quantity)
            .order(&order.order_id);
        record_movement(db, tenant, &change, &now).await?;
    }
    let reserved = InventoryReserved {
        order_id: order.order_id.clone(),
        customer_id: order.customer_id.clone(),
        items: lines,
        total: order.total,
        currency: order.currency.clone(),
        payment_token: order.payment_token.clone(),
        shipping_address: order.shipping_address.clone(),
    };
    enqueue(db, &Envelope::caused_by(event, RESERVER, reserved)).await?;
    Ok(())
}

/// `payment.succeeded`: the order's held lines are sold. Nothing held: no change.
pub async fn commit_for_payment<D: Db>(
    db: &D,
    event: &Envelope<PaymentSucceeded>,
) -> Result<(), HandlerError> {
    settle_order(db, &event.tenant, &event.data.order_id, Settlement::Commit).await
}

/// `payment.failed`: the order's held lines become available again.
pub async fn release_for_failed_payment<D: Db>(
    db: &D,
    event: &Envelope<PaymentFailed>,
) -> Result<(), HandlerError> {
    settle_order(db, &event.tenant, &event.data.order_id, Settlement::Release).await
}

/// `order.cancelled`: held lines are released, committed ones restocked. An order
/// inventory has not seen yet is recorded as cancelled, so its `order.created`, should
/// it come later, reserves nothing.
pub async fn release_for_cancelled_order<D: Db>(
    db: &D,
    event: &Envelope<OrderCancelled>,
) -> Result<(), HandlerError> {
    let order_id = event.data.order_id.as_str();
    claim_outcome(
        db,
        &event.tenant,
        order_id,
        OrderOutcome::Cancelled,
        &now_rfc3339(),
    )
    .await?;
    settle_order(db, &event.tenant, order_id, Settlement::Release).await
}

/// Moves each of the order's reservations that `settlement` applies to (see [`settle`])
/// and changes its stock row accordingly, with a movement per SKU.
async fn settle_order<D: Db>(
    db: &D,
    tenant: &str,
    order_id: &str,
    settlement: Settlement,
) -> Result<(), HandlerError> {
    let now = now_rfc3339();
    let mut settled = 0;
    for from in ReservationStatus::ALL {
        let Some(effect) = settle(from, settlement) else {
            continue;
        };
        // The status change is the condition: of two racing events only one moves a
        // reservation, and only from the status this arm is for.
        let mut lines =
            store::move_reservations(db, tenant, order_id, from, effect.to, &now).await?;
        lines.sort();
        for (sku, quantity) in &lines {
            let change = StockChange::new(sku, effect.reason)
                .on_hand(effect.on_hand_per_unit * quantity)
                .reserved(effect.reserved_per_unit * quantity)
                .order(order_id);
            apply_stock_change(db, tenant, &change, &now).await?;
        }
        settled += lines.len();
    }
    if settled == 0 {
        eprintln!("inventory: order {order_id} has nothing to {settlement}; no change");
    }
    Ok(())
}

/// Applies `change` to its stock row and records it. The stock table's CHECK refuses a
/// result below zero or with more reserved than on hand.
pub(crate) async fn apply_stock_change<D: Db>(
    db: &D,
    tenant: &str,
    change: &StockChange<'_>,
    now: &str,
) -> Result<(), HandlerError> {
    if !store::change_stock(db, tenant, change, now).await? {
        return Err(HandlerError::Refuse(format!(
            "a reservation of {} has no stock row",
            change.sku
        )));
    }
    record_movement(db, tenant, change, now).await?;
    Ok(())
}

#[cfg(test)]
mod tests;
