use super::*;
use crate::test_support::{TENANT, count, database, deliver, level, stock};
use contracts::{Address, topics};
use futures::executor::block_on;
use kit::db::NativeSqlite;

fn address() -> Address {
    Address {
        name: "Ada Lovelace".into(),
        line1: "12 St James's Square".into(),
        city: "London".into(),
        postal_code: "SW1Y 4JH".into(),
        country: "GB".into(),
    }
}

fn order_created(tenant: &str, order_id: &str, lines: &[(&str, u32)]) -> Envelope<OrderCreated> {
    let items: Vec<OrderLine> = lines
        .iter()
        .map(|(sku, quantity)| OrderLine {
            sku: (*sku).into(),
            name: format!("{sku} product"),
            quantity: *quantity,
            unit_price: 100,
            line_total: 100 * i64::from(*quantity),
        })
        .collect();
    let subtotal = items.iter().map(|line| line.line_total).sum();
    Envelope::new(
        "/components/orders-api",
        tenant,
        "req-1",
        OrderCreated {
            order_id: order_id.into(),
            order_number: "FC-1001".into(),
            customer_id: "customer-1".into(),
            items,
            subtotal,
            tax: 0,
            shipping: 500,
            total: subtotal + 500,
            currency: "EUR".into(),
            shipping_address: address(),
            discount: None,
            payment_token: "tok_visa".into(),
            campaign_id: None,
        },
    )
}

fn payment_succeeded(order_id: &str) -> Envelope<PaymentSucceeded> {
    Envelope::new(
        "/components/payments-on-inventory-reserved",
        TENANT,
        "req-1",
        PaymentSucceeded {
            payment_id: "pay-1".into(),
            order_id: order_id.into(),
            customer_id: "customer-1".into(),
            amount: 700,
            currency: "EUR".into(),
            provider: "test".into(),
            provider_reference: "ch_1".into(),
            shipping_address: address(),
        },
    )
}

fn payment_failed(order_id: &str) -> Envelope<PaymentFailed> {
    Envelope::new(
        "/components/payments-on-inventory-reserved",
        TENANT,
        "req-1",
        PaymentFailed {
            payment_id: "pay-1".into(),
            order_id: order_id.into(),
            customer_id: "customer-1".into(),
            amount: 700,
            currency: "EUR".into(),
            provider: "test".into(),
            reason: "Your card was declined.".into(),
            decline_code: Some("card_declined".into()),
        },
    )
}

fn order_cancelled(order_id: &str) -> Envelope<OrderCancelled> {
    Envelope::new(
        "/components/orders-api",
        TENANT,
        "req-2",
        OrderCancelled {
            order_id: order_id.into(),
            customer_id: "customer-1".into(),
            items: vec![],
            total: 700,
            currency: "EUR".into(),
            previous_status: "paid".into(),
            cancelled_by: "customer-1".into(),
            reason: None,
        },
    )
}

fn reserve(db: &NativeSqlite, event: &Envelope<OrderCreated>) -> Option<()> {
    deliver(db, "inventory-on-order-created", event, reserve_for_order).unwrap()
}

fn commit(db: &NativeSqlite, order_id: &str) {
    let event = payment_succeeded(order_id);
    deliver(
        db,
        "inventory-on-payment-succeeded",
        &event,
        commit_for_payment,
    )
    .unwrap();
}

fn fail_payment(db: &NativeSqlite, order_id: &str) {
    let event = payment_failed(order_id);
    deliver(
        db,
        "inventory-on-payment-failed",
        &event,
        release_for_failed_payment,
    )
    .unwrap();
}

fn cancel(db: &NativeSqlite, order_id: &str) {
    let event = order_cancelled(order_id);
    deliver(
        db,
        "inventory-on-order-cancelled",
        &event,
        release_for_cancelled_order,
    )
    .unwrap();
}

fn emitted<E: contracts::Event>(db: &NativeSqlite) -> Vec<Envelope<E>> {
    block_on(db.query(
        "SELECT payload FROM outbox WHERE topic = $1 ORDER BY id",
        &[E::TYPE.into()],
    ))
    .unwrap()
    .iter()
    .map(|row| Envelope::from_json(row.get_str(0).unwrap().as_bytes()).unwrap())
    .collect()
}

fn reservations(db: &NativeSqlite, order_id: &str) -> Vec<(String, i64, String)> {
    block_on(db.query(
        "SELECT sku, quantity, status FROM reservations WHERE order_id = $1 ORDER BY sku",
        &[order_id.into()],
    ))
    .unwrap()
    .iter()
    .map(|row| {
        (
            row.get_str(0).unwrap().to_owned(),
            row.get_i64(1).unwrap(),
            row.get_str(2).unwrap().to_owned(),
        )
    })
    .collect()
}

fn outcome(db: &NativeSqlite, order_id: &str) -> Option<String> {
    block_on(db.query(
        "SELECT outcome FROM order_outcomes WHERE order_id = $1",
        &[order_id.into()],
    ))
    .unwrap()
    .first()
    .map(|row| row.get_str(0).unwrap().to_owned())
}

/// `(reason, on_hand_delta, reserved_delta)` of the SKU's movements about orders.
fn order_movements(db: &NativeSqlite, sku: &str) -> Vec<(String, i64, i64)> {
    block_on(db.query(
        "SELECT reason, on_hand_delta, reserved_delta FROM movements \
             WHERE sku = $1 AND order_id IS NOT NULL ORDER BY created_at, id",
        &[sku.into()],
    ))
    .unwrap()
    .iter()
    .map(|row| {
        (
            row.get_str(0).unwrap().to_owned(),
            row.get_i64(1).unwrap(),
            row.get_i64(2).unwrap(),
        )
    })
    .collect()
}

fn line(reason: &str, on_hand: i64, reserved: i64) -> (String, i64, i64) {
    (reason.to_owned(), on_hand, reserved)
}

#[test]
fn the_state_machine_covers_every_transition() {
    use ReservationStatus::{Committed, Held, Released};
    let effect = |to, reason, on_hand_per_unit, reserved_per_unit| {
        Some(SettlementEffect {
            to,
            reason,
            on_hand_per_unit,
            reserved_per_unit,
        })
    };
    let cases = [
        (
            Held,
            Settlement::Commit,
            effect(Committed, MovementReason::Commit, -1, -1),
        ),
        (
            Held,
            Settlement::Release,
            effect(Released, MovementReason::Release, 0, -1),
        ),
        (Committed, Settlement::Commit, None),
        (
            Committed,
            Settlement::Release,
            effect(Released, MovementReason::Restock, 1, 0),
        ),
        (Released, Settlement::Commit, None),
        (Released, Settlement::Release, None),
    ];
    for (from, settlement, expected) in cases {
        assert_eq!(settle(from, settlement), expected, "{from:?} {settlement}");
    }
}

#[test]
fn an_order_that_fits_is_reserved_whole_and_announced() {
    let db = database();
    stock(&db, "MUG", 5);
    stock(&db, "CUP", 3);
    let order = order_created(TENANT, "o1", &[("MUG", 2), ("CUP", 1), ("MUG", 1)]);
    assert_eq!(reserve(&db, &order), Some(()));

    let mug = level(&db, "MUG");
    assert_eq!(
        (mug.on_hand, mug.reserved, mug.available, mug.version),
        (5, 3, 2, 2)
    );
    assert_eq!(level(&db, "CUP").reserved, 1);
    assert_eq!(
        reservations(&db, "o1"),
        [
            ("CUP".into(), 1, "held".into()),
            ("MUG".into(), 3, "held".into())
        ]
    );
    assert_eq!(order_movements(&db, "MUG"), [line("reserve", 0, 3)]);
    assert_eq!(outcome(&db, "o1").as_deref(), Some("reserved"));

    let [reserved] = emitted::<InventoryReserved>(&db).try_into().unwrap();
    assert!(emitted::<InventoryInsufficient>(&db).is_empty());
    assert_eq!(reserved.causationid.as_deref(), Some(order.id.as_str()));
    assert_eq!(reserved.correlationid, "req-1");
    assert_eq!(reserved.tenant, TENANT);
    assert_eq!(reserved.source, RESERVER);
    let data = &reserved.data;
    assert_eq!(data.order_id, "o1");
    assert_eq!(data.customer_id, "customer-1");
    assert_eq!(
        data.items,
        [
            StockLine {
                sku: "CUP".into(),
                quantity: 1
            },
            StockLine {
                sku: "MUG".into(),
                quantity: 3
            }
        ]
    );
    assert_eq!(
        (data.total, data.currency.as_str()),
        (order.data.total, "EUR")
    );
    assert_eq!(data.payment_token, "tok_visa");
    assert_eq!(data.shipping_address, address());
    let deliveries = count(
        &db,
        &format!(
            "SELECT COUNT(*) FROM outbox_deliveries WHERE topic = '{}'",
            topics::INVENTORY_RESERVED
        ),
    );
    assert_eq!(deliveries, 2, "orders and payments each get it");
}

#[test]
fn a_short_order_reserves_nothing_and_names_each_short_line() {
    let db = database();
    stock(&db, "CUP", 5);
    stock(&db, "MUG", 2);
    let order = order_created(TENANT, "o1", &[("MUG", 3), ("CUP", 2), ("NEW", 1)]);
    assert_eq!(reserve(&db, &order), Some(()));

    for sku in ["CUP", "MUG"] {
        let level = level(&db, sku);
        assert_eq!((level.reserved, level.version), (0, 1), "{sku}");
    }
    assert!(reservations(&db, "o1").is_empty());
    assert_eq!(
        count(
            &db,
            "SELECT COUNT(*) FROM movements WHERE order_id IS NOT NULL"
        ),
        0
    );
    assert_eq!(outcome(&db, "o1").as_deref(), Some("insufficient"));
    assert!(emitted::<InventoryReserved>(&db).is_empty());
    let [insufficient] = emitted::<InventoryInsufficient>(&db).try_into().unwrap();
    assert_eq!(insufficient.causationid.as_deref(), Some(order.id.as_str()));
    assert_eq!(insufficient.data.order_id, "o1");
    assert_eq!(insufficient.data.customer_id, "customer-1");
    assert_eq!(
        insufficient.data.shortages,
        [
            StockShortage {
                sku: "MUG".into(),
                requested: 3,
                available: 2
            },
            StockShortage {
                sku: "NEW".into(),
                requested: 1,
                available: 0
            }
        ]
    );
}

#[test]
fn lines_of_one_sku_are_reserved_together() {
    let db = database();
    stock(&db, "MUG", 5);
    reserve(&db, &order_created(TENANT, "o1", &[("MUG", 2), ("MUG", 4)]));
    let [insufficient] = emitted::<InventoryInsufficient>(&db).try_into().unwrap();
    assert_eq!(
        insufficient.data.shortages,
        [StockShortage {
            sku: "MUG".into(),
            requested: 6,
            available: 5
        }]
    );
    reserve(&db, &order_created(TENANT, "o2", &[("MUG", 2), ("MUG", 3)]));
    assert_eq!(level(&db, "MUG").available, 0);
}

#[test]
fn twenty_orders_for_five_units_reserve_exactly_the_first_five() {
    let db = database();
    stock(&db, "MUG", 5);
    for n in 0..20 {
        reserve(
            &db,
            &order_created(TENANT, &format!("o{n:02}"), &[("MUG", 1)]),
        );
    }
    let mug = level(&db, "MUG");
    assert_eq!((mug.on_hand, mug.reserved, mug.available), (5, 5, 0));
    let reserved: Vec<String> = emitted::<InventoryReserved>(&db)
        .into_iter()
        .map(|event| event.data.order_id)
        .collect();
    assert_eq!(reserved, ["o00", "o01", "o02", "o03", "o04"]);
    assert_eq!(emitted::<InventoryInsufficient>(&db).len(), 15);
}

#[test]
fn redelivery_and_a_repeated_order_change_nothing() {
    let db = database();
    stock(&db, "MUG", 5);
    let order = order_created(TENANT, "o1", &[("MUG", 2)]);
    assert_eq!(reserve(&db, &order), Some(()));
    assert_eq!(reserve(&db, &order), None, "the same event applies once");
    let again = order_created(TENANT, "o1", &[("MUG", 2)]);
    assert_eq!(reserve(&db, &again), Some(()), "a new event id applies");
    assert_eq!(
        level(&db, "MUG").reserved,
        2,
        "but the order holds its stock once"
    );
    assert_eq!(emitted::<InventoryReserved>(&db).len(), 1);
}

#[test]
fn payment_commits_the_held_stock_once() {
    let db = database();
    stock(&db, "MUG", 5);
    reserve(&db, &order_created(TENANT, "o1", &[("MUG", 2)]));
    commit(&db, "o1");
    let mug = level(&db, "MUG");
    assert_eq!(
        (mug.on_hand, mug.reserved, mug.available, mug.version),
        (3, 0, 3, 3)
    );
    assert_eq!(
        reservations(&db, "o1"),
        [("MUG".into(), 2, "committed".into())]
    );
    assert_eq!(
        order_movements(&db, "MUG"),
        [line("reserve", 0, 2), line("commit", -2, -2)]
    );
    commit(&db, "o1");
    assert_eq!(
        level(&db, "MUG"),
        mug,
        "a second payment.succeeded changes nothing"
    );
}

#[test]
fn payment_of_an_order_holding_nothing_changes_nothing() {
    let db = database();
    stock(&db, "MUG", 5);
    commit(&db, "unknown");
    fail_payment(&db, "unknown");
    reserve(&db, &order_created(TENANT, "short", &[("MUG", 9)]));
    commit(&db, "short");
    assert_eq!(level(&db, "MUG").version, 1);
    assert_eq!(count(&db, "SELECT COUNT(*) FROM movements"), 1);
}

#[test]
fn a_failed_payment_releases_the_held_stock() {
    let db = database();
    stock(&db, "MUG", 5);
    reserve(&db, &order_created(TENANT, "o1", &[("MUG", 2)]));
    fail_payment(&db, "o1");
    let mug = level(&db, "MUG");
    assert_eq!((mug.on_hand, mug.reserved, mug.available), (5, 0, 5));
    assert_eq!(
        reservations(&db, "o1"),
        [("MUG".into(), 2, "released".into())]
    );
    assert_eq!(
        order_movements(&db, "MUG"),
        [line("reserve", 0, 2), line("release", 0, -2)]
    );
    commit(&db, "o1");
    cancel(&db, "o1");
    assert_eq!(level(&db, "MUG"), mug, "a released order settles no more");
}

#[test]
fn cancelling_a_paid_order_restocks_it() {
    let db = database();
    stock(&db, "MUG", 5);
    reserve(&db, &order_created(TENANT, "o1", &[("MUG", 2)]));
    commit(&db, "o1");
    cancel(&db, "o1");
    let mug = level(&db, "MUG");
    assert_eq!((mug.on_hand, mug.reserved, mug.available), (5, 0, 5));
    assert_eq!(
        reservations(&db, "o1"),
        [("MUG".into(), 2, "released".into())]
    );
    assert_eq!(
        order_movements(&db, "MUG"),
        [
            line("reserve", 0, 2),
            line("commit", -2, -2),
            line("restock", 2, 0)
        ]
    );
    cancel(&db, "o1");
    assert_eq!(level(&db, "MUG"), mug);
}

#[test]
fn cancelling_a_held_order_releases_it() {
    let db = database();
    stock(&db, "MUG", 5);
    reserve(&db, &order_created(TENANT, "o1", &[("MUG", 2)]));
    cancel(&db, "o1");
    assert_eq!(level(&db, "MUG").reserved, 0);
    assert_eq!(order_movements(&db, "MUG")[1], line("release", 0, -2));
    assert_eq!(outcome(&db, "o1").as_deref(), Some("reserved"));
}

#[test]
fn a_cancellation_that_overtakes_the_order_prevents_its_reservation() {
    let db = database();
    stock(&db, "MUG", 5);
    cancel(&db, "o1");
    assert_eq!(outcome(&db, "o1").as_deref(), Some("cancelled"));
    assert_eq!(
        reserve(&db, &order_created(TENANT, "o1", &[("MUG", 2)])),
        Some(())
    );
    assert_eq!(level(&db, "MUG").reserved, 0);
    assert!(emitted::<InventoryReserved>(&db).is_empty());
    assert!(emitted::<InventoryInsufficient>(&db).is_empty());
}

#[test]
fn orders_reserve_only_their_tenants_stock() {
    let db = database();
    stock(&db, "MUG", 5);
    reserve(&db, &order_created("globex", "o1", &[("MUG", 1)]));
    assert_eq!(level(&db, "MUG").reserved, 0);
    let [insufficient] = emitted::<InventoryInsufficient>(&db).try_into().unwrap();
    assert_eq!(insufficient.tenant, "globex");
    assert_eq!(insufficient.data.shortages[0].available, 0);

    reserve(&db, &order_created(TENANT, "o2", &[("MUG", 1)]));
    let mut foreign = payment_succeeded("o2");
    foreign.tenant = "globex".into();
    deliver(
        &db,
        "inventory-on-payment-succeeded",
        &foreign,
        commit_for_payment,
    )
    .unwrap();
    assert_eq!(reservations(&db, "o2")[0].2, "held");
}

#[test]
fn an_order_without_lines_or_with_an_empty_line_is_refused() {
    let db = database();
    stock(&db, "MUG", 5);
    for lines in [&[][..], &[("MUG", 1), ("CUP", 0)][..]] {
        let order = order_created(TENANT, "o1", lines);
        let refused = deliver(&db, "inventory-on-order-created", &order, reserve_for_order);
        assert!(matches!(refused, Err(HandlerError::Refuse(_))), "{lines:?}");
    }
    assert_eq!(outcome(&db, "o1"), None);
    assert_eq!(level(&db, "MUG").reserved, 0);
}
