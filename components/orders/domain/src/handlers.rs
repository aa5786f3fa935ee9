//! The saga moving orders on: each handler is one conditional transition. An event that
//! does not fit the order's status (a duplicate, a late event, an order cancelled
//! meanwhile) is acknowledged and changes nothing; an event about an order this tenant
//! does not have can never apply and is refused.

use crate::orders::{Moved, transition};
use crate::returns::record_return_refund;
use crate::status::Status;
use contracts::{
    Envelope, InventoryInsufficient, InventoryReserved, PaymentFailed, PaymentRefunded,
    PaymentSucceeded, ShipmentDelivered, ShipmentInTransit,
};
use kit::db::Db;
use kit::outbox::HandlerError;

/// Moves the event's order to `next` when the machine allows it from where it is.
async fn advance<D: Db, E>(
    db: &D,
    event: &Envelope<E>,
    order_id: &str,
    next: Status,
    reason: Option<&str>,
) -> Result<(), HandlerError> {
    match transition(db, &event.tenant, order_id, next, reason).await? {
        Moved::Done { .. } => Ok(()),
        Moved::Illegal(illegal) => {
            eprintln!(
                "{} {} for order {order_id} ignored: {illegal}",
                event.event_type, event.id
            );
            Ok(())
        }
        Moved::NoOrder => Err(no_order(event, order_id)),
    }
}

fn no_order<E>(event: &Envelope<E>, order_id: &str) -> HandlerError {
    HandlerError::Refuse(format!("tenant {} has no order {order_id}", event.tenant))
}

/// `inventory.reserved`: the order's stock is held → `reserved`.
pub async fn on_inventory_reserved<D: Db>(
    db: &D,
    event: &Envelope<InventoryReserved>,
) -> Result<(), HandlerError> {
    advance(db, event, &event.data.order_id, Status::Reserved, None).await
}

/// `inventory.insufficient`: stock is short → `rejected`, naming the short skus.
pub async fn on_inventory_insufficient<D: Db>(
    db: &D,
    event: &Envelope<InventoryInsufficient>,
) -> Result<(), HandlerError> {
    let shortages: Vec<String> = event
        .data
        .shortages
        .iter()
        .map(|short| {
            format!(
                "{} (requested {}, available {})",
                short.sku, short.requested, short.available
            )
        })
        .collect();
    let reason = format!("insufficient stock: {}", shortages.join(", "));
    advance(
        db,
        event,
        &event.data.order_id,
        Status::Rejected,
        Some(&reason),
    )
    .await
}

/// `payment.succeeded` → `paid` (also straight from `pending`: the payment may overtake
/// the reservation's delivery).
pub async fn on_payment_succeeded<D: Db>(
    db: &D,
    event: &Envelope<PaymentSucceeded>,
) -> Result<(), HandlerError> {
    advance(db, event, &event.data.order_id, Status::Paid, None).await
}

/// `payment.failed` → `payment_failed`, with the provider's reason.
pub async fn on_payment_failed<D: Db>(
    db: &D,
    event: &Envelope<PaymentFailed>,
) -> Result<(), HandlerError> {
    let data = &event.data;
    let reason = match &data.decline_code {
        Some(code) => format!("{} ({code})", data.reason),
        None => data.reason.clone(),
    };
    advance(
        db,
        event,
        &data.order_id,
        Status::PaymentFailed,
        Some(&reason),
    )
    .await
}

/// `payment.refunded`: the return it pays back, if any, is `refunded`; a full refund →
/// `refunded` (from `paid`, `delivered` or `cancelled`); a partial one changes no status.
pub async fn on_payment_refunded<D: Db>(
    db: &D,
    event: &Envelope<PaymentRefunded>,
) -> Result<(), HandlerError> {
    let order_id = &event.data.order_id;
    if let Some(return_id) = &event.data.return_id {
        record_return_refund(db, event, return_id).await?;
    }
    if event.data.fully_refunded {
        return advance(db, event, order_id, Status::Refunded, None).await;
    }
    let rows = db
        .query(
            "SELECT 1 FROM orders WHERE tenant = $1 AND id = $2",
            &[event.tenant.as_str().into(), order_id.as_str().into()],
        )
        .await?;
    if rows.is_empty() {
        Err(no_order(event, order_id))
    } else {
        Ok(())
    }
}

/// `shipment.in_transit` → `shipped`.
pub async fn on_shipment_in_transit<D: Db>(
    db: &D,
    event: &Envelope<ShipmentInTransit>,
) -> Result<(), HandlerError> {
    advance(
        db,
        event,
        &event.data.shipment.order_id,
        Status::Shipped,
        None,
    )
    .await
}

/// `shipment.delivered` → `delivered`.
pub async fn on_shipment_delivered<D: Db>(
    db: &D,
    event: &Envelope<ShipmentDelivered>,
) -> Result<(), HandlerError> {
    advance(
        db,
        event,
        &event.data.shipment.order_id,
        Status::Delivered,
        None,
    )
    .await
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::orders::{Order, get_order};
    use crate::test_support::{CUSTOMER, admin, database, place, place_in};
    use contracts::{Address, Event, ShipmentRef, StockLine, StockShortage};
    use futures::executor::block_on;
    use kit::db::NativeSqlite;
    use kit::outbox::apply_once;

    fn address() -> Address {
        Address {
            name: "Ada".into(),
            line1: "1 Road".into(),
            city: "London".into(),
            postal_code: "N1".into(),
            country: "GB".into(),
        }
    }

    fn envelope<E: Event>(tenant: &str, data: E) -> Envelope<E> {
        Envelope::new("/components/test", tenant, "req-1", data)
    }

    fn reserved(order: &Order) -> InventoryReserved {
        InventoryReserved {
            order_id: order.id.clone(),
            customer_id: order.customer_id.clone(),
            items: vec![StockLine {
                sku: "MUG-1".into(),
                quantity: 2,
            }],
            total: order.total,
            currency: order.currency.clone(),
            payment_token: "tok_visa".into(),
            shipping_address: address(),
        }
    }

    fn insufficient(order: &Order) -> InventoryInsufficient {
        InventoryInsufficient {
            order_id: order.id.clone(),
            customer_id: order.customer_id.clone(),
            shortages: vec![
                StockShortage {
                    sku: "MUG-1".into(),
                    requested: 2,
                    available: 1,
                },
                StockShortage {
                    sku: "TEA-1".into(),
                    requested: 1,
                    available: 0,
                },
            ],
        }
    }

    fn succeeded(order: &Order) -> PaymentSucceeded {
        PaymentSucceeded {
            payment_id: "pay-1".into(),
            order_id: order.id.clone(),
            customer_id: order.customer_id.clone(),
            amount: order.total,
            currency: order.currency.clone(),
            provider: "test".into(),
            provider_reference: "ch_1".into(),
            shipping_address: address(),
        }
    }

    fn failed(order: &Order) -> PaymentFailed {
        PaymentFailed {
            payment_id: "pay-1".into(),
            order_id: order.id.clone(),
            customer_id: order.customer_id.clone(),
            amount: order.total,
            currency: order.currency.clone(),
            provider: "test".into(),
            reason: "Your card was declined.".into(),
            decline_code: Some("card_declined".into()),
        }
    }

    fn refunded(order: &Order, fully_refunded: bool) -> PaymentRefunded {
        PaymentRefunded {
            payment_id: "pay-1".into(),
            refund_id: "re-1".into(),
            order_id: order.id.clone(),
            customer_id: order.customer_id.clone(),
            amount: 100,
            total_refunded: if fully_refunded { order.total } else { 100 },
            currency: order.currency.clone(),
            fully_refunded,
            return_id: None,
        }
    }

    fn shipment(order: &Order) -> ShipmentRef {
        ShipmentRef {
            shipment_id: "ship-1".into(),
            order_id: order.id.clone(),
            customer_id: order.customer_id.clone(),
            carrier: "FusionPost".into(),
            tracking_number: "FP123".into(),
        }
    }

    fn in_transit(order: &Order) -> ShipmentInTransit {
        ShipmentInTransit {
            shipment: shipment(order),
            location: None,
        }
    }

    fn delivered(order: &Order) -> ShipmentDelivered {
        ShipmentDelivered {
            shipment: shipment(order),
            delivered_at: "2025-01-02T00:00:00.000000Z".into(),
        }
    }

    /// Applies `event` the way `serve_event` does: once per subscriber, inside a
    /// transaction that records its id. `None`: already applied.
    fn apply<E>(
        db: &NativeSqlite,
        event: &Envelope<E>,
        handler: impl AsyncFnOnce(&NativeSqlite, &Envelope<E>) -> Result<(), HandlerError>,
    ) -> Result<Option<()>, HandlerError> {
        block_on(apply_once(db, "orders-test", &event.id, async |db| {
            handler(db, event).await
        }))
    }

    fn status_of(db: &NativeSqlite, order: &Order) -> (Status, Option<String>) {
        let order = block_on(get_order(db, admin(), &order.id)).unwrap();
        (order.status, order.status_reason)
    }

    fn set_status(db: &NativeSqlite, order: &Order, status: Status) {
        block_on(db.execute(
            "UPDATE orders SET status = $1 WHERE id = $2",
            &[status.as_str().into(), order.id.as_str().into()],
        ))
        .unwrap();
    }

    #[test]
    fn the_happy_path_runs_to_delivered() {
        let db = database();
        let order = place(&db);
        let tenant = crate::test_support::TENANT;
        apply(
            &db,
            &envelope(tenant, reserved(&order)),
            on_inventory_reserved,
        )
        .unwrap();
        assert_eq!(status_of(&db, &order).0, Status::Reserved);
        apply(
            &db,
            &envelope(tenant, succeeded(&order)),
            on_payment_succeeded,
        )
        .unwrap();
        assert_eq!(status_of(&db, &order).0, Status::Paid);
        apply(
            &db,
            &envelope(tenant, in_transit(&order)),
            on_shipment_in_transit,
        )
        .unwrap();
        assert_eq!(status_of(&db, &order).0, Status::Shipped);
        apply(
            &db,
            &envelope(tenant, delivered(&order)),
            on_shipment_delivered,
        )
        .unwrap();
        assert_eq!(status_of(&db, &order), (Status::Delivered, None));
        assert_eq!(
            crate::test_support::outbox(&db).len(),
            1,
            "handlers emit nothing"
        );
    }

    #[test]
    fn a_redelivered_event_changes_nothing() {
        let db = database();
        let order = place(&db);
        let event = envelope(crate::test_support::TENANT, reserved(&order));
        assert_eq!(apply(&db, &event, on_inventory_reserved), Ok(Some(())));
        let after_first = block_on(get_order(&db, admin(), &order.id)).unwrap();
        assert_eq!(apply(&db, &event, on_inventory_reserved), Ok(None));
        assert_eq!(
            block_on(get_order(&db, admin(), &order.id)).unwrap(),
            after_first
        );
        // The same business event again under a new id: acknowledged, no change.
        let duplicate = envelope(crate::test_support::TENANT, reserved(&order));
        assert_eq!(apply(&db, &duplicate, on_inventory_reserved), Ok(Some(())));
        assert_eq!(
            block_on(get_order(&db, admin(), &order.id)).unwrap(),
            after_first
        );
    }

    #[test]
    fn stock_short_rejects_with_the_short_skus() {
        let db = database();
        let order = place(&db);
        let event = envelope(crate::test_support::TENANT, insufficient(&order));
        apply(&db, &event, on_inventory_insufficient).unwrap();
        let (status, reason) = status_of(&db, &order);
        assert_eq!(status, Status::Rejected);
        let reason = reason.unwrap();
        assert!(
            reason.contains("MUG-1") && reason.contains("TEA-1"),
            "{reason}"
        );
        // A late reservation cannot revive a rejected order.
        let late = envelope(crate::test_support::TENANT, reserved(&order));
        apply(&db, &late, on_inventory_reserved).unwrap();
        assert_eq!(status_of(&db, &order).0, Status::Rejected);
    }

    #[test]
    fn a_declined_payment_fails_the_order_with_the_reason() {
        let db = database();
        let order = place(&db);
        set_status(&db, &order, Status::Reserved);
        apply(
            &db,
            &envelope(crate::test_support::TENANT, failed(&order)),
            on_payment_failed,
        )
        .unwrap();
        assert_eq!(
            status_of(&db, &order),
            (
                Status::PaymentFailed,
                Some("Your card was declined. (card_declined)".into())
            )
        );
    }

    #[test]
    fn payment_may_overtake_the_reservation() {
        let db = database();
        let order = place(&db);
        let tenant = crate::test_support::TENANT;
        apply(
            &db,
            &envelope(tenant, succeeded(&order)),
            on_payment_succeeded,
        )
        .unwrap();
        assert_eq!(status_of(&db, &order).0, Status::Paid);
        apply(
            &db,
            &envelope(tenant, reserved(&order)),
            on_inventory_reserved,
        )
        .unwrap();
        assert_eq!(
            status_of(&db, &order).0,
            Status::Paid,
            "late reservation ignored"
        );
    }

    #[test]
    fn events_for_a_cancelled_order_are_acknowledged_without_change() {
        let tenant = crate::test_support::TENANT;
        let db = database();
        let order = place(&db);
        set_status(&db, &order, Status::Cancelled);
        apply(
            &db,
            &envelope(tenant, reserved(&order)),
            on_inventory_reserved,
        )
        .unwrap();
        apply(
            &db,
            &envelope(tenant, succeeded(&order)),
            on_payment_succeeded,
        )
        .unwrap();
        apply(&db, &envelope(tenant, failed(&order)), on_payment_failed).unwrap();
        apply(
            &db,
            &envelope(tenant, in_transit(&order)),
            on_shipment_in_transit,
        )
        .unwrap();
        apply(
            &db,
            &envelope(tenant, delivered(&order)),
            on_shipment_delivered,
        )
        .unwrap();
        assert_eq!(status_of(&db, &order).0, Status::Cancelled);
    }

    #[test]
    fn only_a_full_refund_refunds_from_paid_or_cancelled() {
        let tenant = crate::test_support::TENANT;
        for (from, partial_then, full_then) in [
            (Status::Paid, Status::Paid, Status::Refunded),
            (Status::Cancelled, Status::Cancelled, Status::Refunded),
            (Status::Shipped, Status::Shipped, Status::Shipped),
            (Status::Pending, Status::Pending, Status::Pending),
        ] {
            let db = database();
            let order = place(&db);
            set_status(&db, &order, from);
            let partial = envelope(tenant, refunded(&order, false));
            apply(&db, &partial, on_payment_refunded).unwrap();
            assert_eq!(status_of(&db, &order).0, partial_then, "{from}");
            let full = envelope(tenant, refunded(&order, true));
            apply(&db, &full, on_payment_refunded).unwrap();
            assert_eq!(status_of(&db, &order).0, full_then, "{from}");
        }
    }

    #[test]
    fn shipment_events_need_the_right_status() {
        let tenant = crate::test_support::TENANT;
        let db = database();
        let order = place(&db);
        set_status(&db, &order, Status::Reserved);
        apply(
            &db,
            &envelope(tenant, delivered(&order)),
            on_shipment_delivered,
        )
        .unwrap();
        apply(
            &db,
            &envelope(tenant, in_transit(&order)),
            on_shipment_in_transit,
        )
        .unwrap();
        assert_eq!(status_of(&db, &order).0, Status::Reserved);
    }

    #[test]
    fn an_unknown_order_is_refused_and_nothing_is_recorded() {
        let db = database();
        let order = place_in(&db, "other", CUSTOMER);
        let tenant = crate::test_support::TENANT;
        let refused = |outcome: Result<Option<()>, HandlerError>| {
            assert!(
                matches!(outcome, Err(HandlerError::Refuse(_))),
                "{outcome:?}"
            );
        };
        // Another tenant's order is unknown to this one.
        refused(apply(
            &db,
            &envelope(tenant, reserved(&order)),
            on_inventory_reserved,
        ));
        refused(apply(
            &db,
            &envelope(tenant, insufficient(&order)),
            on_inventory_insufficient,
        ));
        refused(apply(
            &db,
            &envelope(tenant, succeeded(&order)),
            on_payment_succeeded,
        ));
        refused(apply(
            &db,
            &envelope(tenant, failed(&order)),
            on_payment_failed,
        ));
        refused(apply(
            &db,
            &envelope(tenant, refunded(&order, false)),
            on_payment_refunded,
        ));
        refused(apply(
            &db,
            &envelope(tenant, refunded(&order, true)),
            on_payment_refunded,
        ));
        refused(apply(
            &db,
            &envelope(tenant, in_transit(&order)),
            on_shipment_in_transit,
        ));
        refused(apply(
            &db,
            &envelope(tenant, delivered(&order)),
            on_shipment_delivered,
        ));
        let applied = block_on(db.query("SELECT COUNT(*) FROM applied_events", &[])).unwrap();
        assert_eq!(applied[0].get_i64(0).unwrap(), 0);
        let other_admin = crate::orders::Viewer {
            tenant: "other",
            ..admin()
        };
        assert_eq!(
            block_on(get_order(&db, other_admin, &order.id))
                .unwrap()
                .status,
            Status::Pending
        );
    }
}
