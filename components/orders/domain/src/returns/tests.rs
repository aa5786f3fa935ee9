use super::*;
use crate::handlers::on_payment_refunded;
use crate::promotions::{Discount, DiscountLine};
use crate::test_support::{CUSTOMER, REQUEST_ID, TENANT, admin, customer, database, outbox, place};
use contracts::OrderLine;
use futures::executor::block_on;
use kit::db::NativeSqlite;
use kit::outbox::apply_once;

/// Marks `order` delivered at `at`.
fn deliver(db: &NativeSqlite, order: &Order, at: &str) {
    block_on(db.execute(
        "UPDATE orders SET status = 'delivered', updated_at = $1 WHERE id = $2",
        &[at.into(), order.id.as_str().into()],
    ))
    .unwrap();
}

const DELIVERED_AT: &str = "2026-03-01T10:00:00.000000Z";

fn days_after_delivery(days: i64) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(DELIVERED_AT)
        .unwrap()
        .with_timezone(&Utc)
        + TimeDelta::days(days)
}

fn items(lines: &[(&str, u32)]) -> NewReturn {
    NewReturn {
        items: lines
            .iter()
            .map(|(sku, quantity)| ReturnItem {
                sku: (*sku).into(),
                quantity: *quantity,
            })
            .collect(),
        reason: Some("  too small ".into()),
    }
}

fn ask(db: &NativeSqlite, order: &Order, lines: &[(&str, u32)]) -> Result<Return, OrderError> {
    block_on(request_return(
        db,
        customer(CUSTOMER),
        REQUEST_ID,
        &order.id,
        &items(lines),
        ReturnWindow::DEFAULT,
        days_after_delivery(1),
    ))
}

fn step(db: &NativeSqlite, id: &str, step: ReturnStep) -> Result<Return, OrderError> {
    block_on(advance_return(db, admin(), REQUEST_ID, id, step))
}

fn topics(db: &NativeSqlite) -> Vec<String> {
    outbox(db).into_iter().map(|(topic, _)| topic).collect()
}

/// 2 mugs at 12.50 and a tea at 3.00, 10% off every line (2.50 and 0.30), 20% tax on
/// the 25.20 left (5.04), 4.90 shipping.
fn discounted_order() -> Order {
    let db = database();
    let mut order = place(&db);
    order.discount = 280;
    order.discounts = vec![Discount {
        promotion_id: "p1".into(),
        name: "Ten off".into(),
        code: None,
        amount: 280,
        lines: vec![
            DiscountLine {
                sku: "MUG-1".into(),
                amount: 250,
            },
            DiscountLine {
                sku: "TEA-1".into(),
                amount: 30,
            },
        ],
    }];
    order.tax = 504;
    order.shipping = 490;
    order.total = 2800 - 280 + 504 + 490;
    order
}

/// `order` with its lines, discounts and amounts replaced: `lines` are (sku, units, line
/// total), `discounts` (sku, amount) of one promotion.
fn reshaped(
    mut order: Order,
    lines: &[(&str, u32, i64)],
    discounts: &[(&str, i64)],
    tax: i64,
    shipping: i64,
) -> Order {
    order.items = lines
        .iter()
        .map(|&(sku, quantity, line_total)| OrderLine {
            sku: sku.into(),
            name: sku.into(),
            quantity,
            unit_price: line_total / i64::from(quantity),
            line_total,
        })
        .collect();
    order.subtotal = lines.iter().map(|line| line.2).sum();
    order.discount = discounts.iter().map(|line| line.1).sum();
    order.discounts = vec![Discount {
        promotion_id: "p1".into(),
        name: "Some off".into(),
        code: None,
        amount: order.discount,
        lines: discounts
            .iter()
            .map(|&(sku, amount)| DiscountLine {
                sku: sku.into(),
                amount,
            })
            .collect(),
    }];
    order.tax = tax;
    order.shipping = shipping;
    order.total = order.subtotal - order.discount + tax + shipping;
    order
}

/// 3 mugs for 10.00, untaxed: a mug is worth 3.33⅓.
fn three_mug_order() -> Order {
    reshaped(place(&database()), &[("MUG-1", 3, 1000)], &[], 0, 0)
}

/// Amounts that round at every step: 3 mugs for 10.00 less 1.01 and 7 teas for 20.99
/// less 3.33, 20% tax on the 26.65 left (5.33), 4.90 shipping.
fn odd_order() -> Order {
    reshaped(
        place(&database()),
        &[("MUG-1", 3, 1000), ("TEA-1", 7, 2099)],
        &[("MUG-1", 101), ("TEA-1", 333)],
        533,
        490,
    )
}

/// An order's returns as the store holds them, priced one after another by [`worth`]:
/// each return's lines and whether it was rejected.
#[derive(Default)]
struct Ledger {
    returns: Vec<(Vec<PricedLine>, bool)>,
}

impl Ledger {
    fn held(&self) -> Held {
        let mut held = Held::default();
        for (lines, _) in self.returns.iter().filter(|(_, rejected)| !rejected) {
            for priced in lines {
                let line = held.lines.entry(priced.line.sku.clone()).or_default();
                line.units += priced.line.quantity;
                line.goods += priced.line.amount - priced.tax;
                held.tax += priced.tax;
            }
        }
        held
    }

    /// Prices and keeps a return of `wanted`; what it is worth.
    fn ask(&mut self, order: &Order, wanted: &[(&str, u32)]) -> i64 {
        let wanted: HashMap<&str, u32> = wanted.iter().copied().collect();
        let lines = worth(order, &self.held(), &wanted);
        assert!(
            lines
                .iter()
                .all(|priced| priced.line.amount >= 0 && priced.tax >= 0),
            "{lines:?}"
        );
        let amount = lines.iter().map(|priced| priced.line.amount).sum();
        self.returns.push((lines, false));
        amount
    }

    fn reject(&mut self, index: usize) {
        self.returns[index].1 = true;
    }

    /// What the returns not rejected refund.
    fn refunded(&self) -> i64 {
        self.returns
            .iter()
            .filter(|(_, rejected)| !rejected)
            .flat_map(|(lines, _)| lines)
            .map(|priced| priced.line.amount)
            .sum()
    }

    /// The units of each line no return not rejected holds.
    fn left<'a>(&self, order: &'a Order) -> Vec<(&'a str, u32)> {
        let held = self.held();
        order
            .items
            .iter()
            .map(|line| {
                let taken = held.lines.get(&line.sku).map_or(0, |held| held.units);
                (line.sku.as_str(), line.quantity - taken)
            })
            .filter(|(_, left)| *left > 0)
            .collect()
    }
}

#[test]
fn a_return_is_worth_its_lines_less_discounts_with_their_tax() {
    let order = discounted_order();
    let one_mug = worth(&order, &Held::default(), &HashMap::from([("MUG-1", 1)]));
    // 11.25 of goods and 2.25 of tax.
    assert_eq!(one_mug.len(), 1);
    let line = &one_mug[0].line;
    assert_eq!((line.quantity, line.amount), (1, 1125 + 225));
    assert_eq!(one_mug[0].tax, 225);
    assert_eq!(line.name, "Mug");
}

#[test]
fn returning_everything_in_any_steps_gives_back_the_total_less_shipping() {
    let order = discounted_order();
    let whole = order.total - order.shipping;
    let mut at_once = Ledger::default();
    assert_eq!(at_once.ask(&order, &[("MUG-1", 2), ("TEA-1", 1)]), whole);
    let mut in_steps = Ledger::default();
    for wanted in [[("MUG-1", 1)], [("TEA-1", 1)], [("MUG-1", 1)]] {
        in_steps.ask(&order, &wanted);
    }
    assert_eq!(in_steps.refunded(), whole);
}

#[test]
fn a_rejection_in_the_middle_never_lets_the_returns_pass_what_was_paid() {
    // A asks 1 mug (3.33), B 1 (3.34), A is rejected, C asks 2: B and C are all 3 mugs.
    let order = three_mug_order();
    let mut ledger = Ledger::default();
    assert_eq!(ledger.ask(&order, &[("MUG-1", 1)]), 333);
    assert_eq!(ledger.ask(&order, &[("MUG-1", 1)]), 334);
    ledger.reject(0);
    assert_eq!(ledger.ask(&order, &[("MUG-1", 2)]), 666);
    assert_eq!(ledger.refunded(), 1000);

    // With discounts and tax: the same, a tea in between.
    let order = odd_order();
    let whole = order.total - order.shipping;
    let mut ledger = Ledger::default();
    ledger.ask(&order, &[("MUG-1", 1), ("TEA-1", 3)]);
    ledger.ask(&order, &[("MUG-1", 1), ("TEA-1", 1)]);
    ledger.reject(0);
    ledger.ask(&order, &[("TEA-1", 2)]);
    assert!(ledger.refunded() <= whole);
    ledger.ask(&order, &[("MUG-1", 2), ("TEA-1", 4)]);
    assert_eq!(ledger.refunded(), whole);
}

#[test]
fn however_returns_are_asked_and_rejected_they_never_pass_what_was_paid() {
    // A small generator of sequences, the same each run.
    let mut seed: u64 = 0x5eed;
    let mut next = move |below: u64| {
        seed = seed
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (seed >> 33) % below
    };
    for order in [three_mug_order(), discounted_order(), odd_order()] {
        let whole = order.total - order.shipping;
        for _ in 0..200 {
            let mut ledger = Ledger::default();
            for _ in 0..next(8) {
                let kept: Vec<usize> = (0..ledger.returns.len())
                    .filter(|&i| !ledger.returns[i].1)
                    .collect();
                let left = ledger.left(&order);
                if !kept.is_empty() && (left.is_empty() || next(3) == 0) {
                    ledger.reject(kept[next(kept.len() as u64) as usize]);
                } else if !left.is_empty() {
                    let mut wanted: Vec<(&str, u32)> = Vec::new();
                    for &(sku, units) in &left {
                        if next(2) == 0 {
                            wanted.push((sku, 1 + next(u64::from(units)) as u32));
                        }
                    }
                    if !wanted.is_empty() {
                        ledger.ask(&order, &wanted);
                    }
                }
                assert!(ledger.refunded() <= whole, "{}", ledger.refunded());
            }
            let rest = ledger.left(&order);
            if !rest.is_empty() {
                ledger.ask(&order, &rest);
            }
            assert_eq!(ledger.refunded(), whole, "everything returned");
        }
    }
}

#[test]
fn a_delivered_order_returns_within_its_window() {
    let db = database();
    let order = place(&db);
    deliver(&db, &order, DELIVERED_AT);
    let returned = ask(&db, &order, &[("MUG-1", 1)]).unwrap();
    assert_eq!(returned.status, ReturnStatus::Requested);
    assert_eq!(returned.amount, 1250);
    assert_eq!(returned.reason.as_deref(), Some("too small"));
    assert_eq!(returned.order_number, order.order_number);
    assert_eq!(topics(&db).last().unwrap(), "return.requested");
    assert_eq!(
        block_on(get_return(&db, customer(CUSTOMER), &returned.id)).unwrap(),
        returned
    );
    let last_day = block_on(request_return(
        &db,
        customer(CUSTOMER),
        REQUEST_ID,
        &order.id,
        &items(&[("TEA-1", 1)]),
        ReturnWindow { days: 30 },
        days_after_delivery(30),
    ));
    assert!(last_day.is_ok(), "{last_day:?}");
}

#[test]
fn no_return_after_the_window_or_before_delivery() {
    let db = database();
    let order = place(&db);
    let error = ask(&db, &order, &[("MUG-1", 1)]).unwrap_err();
    assert!(
        matches!(&error, OrderError::NotReturnable(why) if why.contains("pending")),
        "{error:?}"
    );
    deliver(&db, &order, DELIVERED_AT);
    let late = block_on(request_return(
        &db,
        customer(CUSTOMER),
        REQUEST_ID,
        &order.id,
        &items(&[("MUG-1", 1)]),
        ReturnWindow { days: 14 },
        days_after_delivery(15),
    ))
    .unwrap_err();
    assert!(
        matches!(&late, OrderError::NotReturnable(why) if why.contains("14 days")),
        "{late:?}"
    );
    assert_eq!(kit::Problem::from(late).status, 409);
    assert!(topics(&db).iter().all(|topic| topic == "order.created"));
}

#[test]
fn no_more_than_was_delivered_and_not_returned() {
    let db = database();
    let order = place(&db);
    deliver(&db, &order, DELIVERED_AT);
    let first = ask(&db, &order, &[("MUG-1", 1)]).unwrap();
    let error = ask(&db, &order, &[("TEA-1", 1), ("MUG-1", 2), ("CUP-9", 1)]).unwrap_err();
    let OrderError::Invalid(errors) = error else {
        panic!("{error:?}")
    };
    let fields: Vec<&str> = errors.iter().map(|error| error.field.as_str()).collect();
    assert_eq!(fields, ["items[1].quantity", "items[2].sku"]);
    assert_eq!(
        errors[0].message,
        "1 of the 2 delivered can still be returned"
    );
    // A rejected return gives its units back.
    step(
        &db,
        &first.id,
        ReturnStep::Reject {
            reason: Some("worn".into()),
        },
    )
    .unwrap();
    assert_eq!(ask(&db, &order, &[("MUG-1", 2)]).unwrap().amount, 2500);
}

#[test]
fn only_the_customer_and_admins_see_a_return() {
    let db = database();
    let order = place(&db);
    deliver(&db, &order, DELIVERED_AT);
    let stranger = block_on(request_return(
        &db,
        customer("someone-else"),
        REQUEST_ID,
        &order.id,
        &items(&[("MUG-1", 1)]),
        ReturnWindow::DEFAULT,
        days_after_delivery(1),
    ));
    assert!(matches!(stranger, Err(OrderError::NotFound)));
    let returned = ask(&db, &order, &[("MUG-1", 1)]).unwrap();
    let hidden = block_on(get_return(&db, customer("someone-else"), &returned.id));
    assert!(matches!(hidden, Err(OrderError::NoReturn)));
    let page = PageParams {
        limit: 20,
        after: None,
    };
    let mine = block_on(list_returns(
        &db,
        customer(CUSTOMER),
        ReturnFilter::new(Some(&order.id), Some(ReturnStatus::Requested)),
        &page,
    ))
    .unwrap();
    assert_eq!(mine.items, [returned]);
    let approved = block_on(list_returns(
        &db,
        admin(),
        ReturnFilter::new(None, Some(ReturnStatus::Approved)),
        &page,
    ))
    .unwrap();
    assert!(approved.items.is_empty());
}

#[test]
fn approve_then_receive_emits_each_step_and_refuses_skips() {
    let db = database();
    let order = place(&db);
    deliver(&db, &order, DELIVERED_AT);
    let returned = ask(&db, &order, &[("MUG-1", 2)]).unwrap();
    let early = step(&db, &returned.id, ReturnStep::Receive).unwrap_err();
    assert_eq!(
        early.to_string(),
        "a return cannot move from requested to received"
    );
    assert_eq!(
        step(&db, &returned.id, ReturnStep::Approve).unwrap().status,
        ReturnStatus::Approved
    );
    let received = step(&db, &returned.id, ReturnStep::Receive).unwrap();
    assert_eq!(received.status, ReturnStatus::Received);
    let rejected = step(&db, &returned.id, ReturnStep::Reject { reason: None });
    assert!(matches!(rejected, Err(OrderError::ReturnConflict(_))));
    let events = outbox(&db);
    let (topic, event) = events.last().unwrap();
    assert_eq!(topic, "return.received");
    assert_eq!(event["data"]["summary"]["amount"], 2500);
    assert_eq!(event["data"]["items"][0]["quantity"], 2);
    assert_eq!(event["subject"], order.id.as_str());
    assert_eq!(
        topics(&db)[1..],
        ["return.requested", "return.approved", "return.received"]
    );
}

#[test]
fn the_refund_of_a_received_return_closes_it_once_with_what_it_gave_back() {
    let db = database();
    let order = place(&db);
    deliver(&db, &order, DELIVERED_AT);
    let returned = ask(&db, &order, &[("TEA-1", 1)]).unwrap();
    step(&db, &returned.id, ReturnStep::Approve).unwrap();
    step(&db, &returned.id, ReturnStep::Receive).unwrap();
    // Only 2.50 of the payment remained for the 3.00 return.
    let refund = |event_id: &str| {
        let mut event = refund_event(&order.id, &returned.id, 250, "EUR");
        event.id = event_id.into();
        deliver_refund(&db, &event)
    };
    refund("ev-1").unwrap();
    let refunded = block_on(get_return(&db, admin(), &returned.id)).unwrap();
    assert_eq!(refunded.status, ReturnStatus::Refunded);
    assert_eq!(refunded.refund_id.as_deref(), Some("re-1"));
    assert_eq!(
        (refunded.amount, refunded.refunded_amount),
        (300, Some(250))
    );
    let shown = serde_json::to_value(&refunded).unwrap();
    assert_eq!(shown["refunded_amount"], 250);
    let (topic, event) = outbox(&db).pop().unwrap();
    assert_eq!(topic, "return.refunded");
    assert_eq!(event["data"]["refund_id"], "re-1");
    assert_eq!(event["data"]["refunded_amount"], 250);
    assert_eq!(event["data"]["summary"]["amount"], 300);
    // Another delivery of the same refund, under a new event id, changes nothing more.
    refund("ev-2").unwrap();
    let refunded_topics: Vec<String> = topics(&db)
        .into_iter()
        .filter(|topic| topic == "return.refunded")
        .collect();
    assert_eq!(refunded_topics.len(), 1);
    let order_now = block_on(get_order(&db, admin(), &order.id)).unwrap();
    assert_eq!(order_now.status, Status::Delivered, "a partial refund");
}

#[test]
fn a_return_worth_nothing_ends_when_received() {
    let db = database();
    let order = place(&db);
    // The tea was free: a promotion took its whole 3.00.
    block_on(db.execute(
        "INSERT INTO order_discounts (tenant, order_id, position, promotion_id, name, code, \
         sku, amount) VALUES ($1, $2, 0, 'p1', 'Free tea', NULL, 'TEA-1', 300)",
        &[TENANT.into(), order.id.as_str().into()],
    ))
    .unwrap();
    block_on(db.execute(
        "UPDATE orders SET discount = 300, total = total - 300 WHERE id = $1",
        &[order.id.as_str().into()],
    ))
    .unwrap();
    deliver(&db, &order, DELIVERED_AT);
    let returned = ask(&db, &order, &[("TEA-1", 1)]).unwrap();
    assert_eq!(returned.amount, 0);
    let shown = serde_json::to_value(&returned).unwrap();
    assert!(shown.get("refunded_amount").is_none(), "{shown}");
    step(&db, &returned.id, ReturnStep::Approve).unwrap();
    let received = step(&db, &returned.id, ReturnStep::Receive).unwrap();
    assert_eq!(received.status, ReturnStatus::Refunded);
    assert_eq!(
        (received.refund_id, received.refunded_amount),
        (None, Some(0))
    );
    assert_eq!(
        block_on(get_return(&db, admin(), &returned.id))
            .unwrap()
            .status,
        ReturnStatus::Refunded
    );
    let events = outbox(&db);
    let topics: Vec<&str> = events.iter().map(|(topic, _)| topic.as_str()).collect();
    assert_eq!(
        topics[1..],
        [
            "return.requested",
            "return.approved",
            "return.received",
            "return.refunded"
        ]
    );
    let refunded = &events.last().unwrap().1["data"];
    assert_eq!(refunded["refund_id"], serde_json::Value::Null);
    assert_eq!(refunded["refunded_amount"], 0);
}

#[test]
fn the_window_variable_is_days() {
    assert_eq!(ReturnWindow::parse(None), Ok(ReturnWindow::DEFAULT));
    assert_eq!(ReturnWindow::parse(Some(" ")), Ok(ReturnWindow::DEFAULT));
    assert_eq!(ReturnWindow::parse(Some("0")), Ok(ReturnWindow { days: 0 }));
    for bad in ["-1", "3651", "two weeks"] {
        let error = ReturnWindow::parse(Some(bad)).unwrap_err();
        assert!(error.contains("return_window_days"), "{error}");
    }
}

#[test]
fn a_return_body_names_each_bad_field() {
    let mut new = items(&[("", 1), ("MUG-1", 0), ("MUG-1", 1)]);
    new.reason = Some("x".repeat(501));
    let errors = new.validate().unwrap_err();
    let fields: Vec<&str> = errors.iter().map(|error| error.field.as_str()).collect();
    assert_eq!(
        fields,
        [
            "items[0].sku",
            "items[1].quantity",
            "items[2].sku",
            "reason"
        ]
    );
    assert_eq!(items(&[]).validate().unwrap_err()[0].field, "items");
}

/// An order of 3 mugs whose line is worth 10.00 in all, untaxed, shipped free: a unit
/// is worth 3.33⅓, so the units' worths round differently.
fn three_mugs(db: &NativeSqlite) -> Order {
    let order = place(db);
    for sql in [
        "DELETE FROM order_lines WHERE order_id = $1 AND sku = 'TEA-1'",
        "UPDATE order_lines SET quantity = 3, unit_price = 333, line_total = 1000 \
         WHERE order_id = $1",
        "UPDATE orders SET subtotal = 1000, tax = 0, shipping = 0, total = 1000 WHERE id = $1",
    ] {
        block_on(db.execute(sql, &[order.id.as_str().into()])).unwrap();
    }
    deliver(db, &order, DELIVERED_AT);
    block_on(get_order(db, admin(), &order.id)).unwrap()
}

#[test]
fn a_rejection_between_returns_never_lets_them_pass_what_was_paid() {
    let db = database();
    let order = three_mugs(&db);
    let a = ask(&db, &order, &[("MUG-1", 1)]).unwrap();
    let b = ask(&db, &order, &[("MUG-1", 1)]).unwrap();
    assert_eq!((a.amount, b.amount), (333, 334));
    step(&db, &a.id, ReturnStep::Reject { reason: None }).unwrap();
    let c = ask(&db, &order, &[("MUG-1", 2)]).unwrap();
    assert_eq!(
        b.amount + c.amount,
        1000,
        "everything returned: what was paid"
    );
}

/// The database as PostgreSQL looks to the code, over SQLite: it records the
/// statements run, a key for each advisory lock taken (which SQLite cannot take), and
/// runs `meddle` (another writer's statement) once, just before the first status
/// UPDATE of a return.
struct Spy<'a> {
    db: &'a NativeSqlite,
    log: std::cell::RefCell<Vec<String>>,
    meddle: std::cell::RefCell<Option<String>>,
}

impl<'a> Spy<'a> {
    fn new(db: &'a NativeSqlite, meddle: Option<String>) -> Self {
        Spy {
            db,
            log: Default::default(),
            meddle: std::cell::RefCell::new(meddle),
        }
    }
}

impl Db for Spy<'_> {
    fn dialect(&self) -> kit::db::Dialect {
        kit::db::Dialect::Postgres
    }

    async fn execute(&self, sql: &str, params: &[kit::db::SqlValue]) -> Result<u64, DbError> {
        if sql.starts_with("UPDATE returns SET status") {
            let meddle = self.meddle.borrow_mut().take();
            if let Some(meddle) = meddle {
                self.db.execute(&meddle, &[]).await?;
            }
        }
        self.log.borrow_mut().push(sql.to_owned());
        self.db.execute(sql, params).await
    }

    async fn query(
        &self,
        sql: &str,
        params: &[kit::db::SqlValue],
    ) -> Result<Vec<kit::db::Row>, DbError> {
        if sql.contains("pg_advisory_xact_lock") {
            let kit::db::SqlValue::Text(key) = &params[0] else {
                panic!("{params:?}")
            };
            self.log.borrow_mut().push(format!("lock {key}"));
            return Ok(Vec::new());
        }
        self.log.borrow_mut().push(sql.to_owned());
        self.db.query(sql, params).await
    }
}

#[test]
fn a_move_reads_the_return_under_its_orders_lock() {
    let db = database();
    let order = place(&db);
    deliver(&db, &order, DELIVERED_AT);
    let returned = ask(&db, &order, &[("MUG-1", 1)]).unwrap();
    let spy = Spy::new(&db, None);
    block_on(advance_return(
        &spy,
        admin(),
        REQUEST_ID,
        &returned.id,
        ReturnStep::Approve,
    ))
    .unwrap();
    let log = spy.log.into_inner();
    let lock = format!("lock returns\n{TENANT}\n{}", order.id);
    let locked = log.iter().position(|sql| *sql == lock).expect("no lock");
    let update = log
        .iter()
        .position(|sql| sql.starts_with("UPDATE returns"))
        .unwrap();
    assert!(
        log[locked..update]
            .iter()
            .any(|sql| sql.contains("FROM returns")),
        "the status the move decides on is read after the lock: {log:#?}"
    );
}

#[test]
fn a_return_another_admin_moved_meanwhile_is_a_conflict_naming_its_status() {
    let db = database();
    let order = place(&db);
    deliver(&db, &order, DELIVERED_AT);
    let returned = ask(&db, &order, &[("MUG-1", 1)]).unwrap();
    let other_admin = format!(
        "UPDATE returns SET status = 'rejected' WHERE id = '{}'",
        returned.id
    );
    let spy = Spy::new(&db, Some(other_admin));
    let error = block_on(advance_return(
        &spy,
        admin(),
        REQUEST_ID,
        &returned.id,
        ReturnStep::Approve,
    ))
    .unwrap_err();
    assert!(
        matches!(&error, OrderError::ReturnConflict(illegal) if illegal.from == ReturnStatus::Rejected),
        "{error:?}"
    );
    assert_eq!(kit::Problem::from(error).status, 409);
}

/// `payment.refunded` of `amount` for return `return_id` of order `order_id`.
fn refund_event(
    order_id: &str,
    return_id: &str,
    amount: i64,
    currency: &str,
) -> Envelope<PaymentRefunded> {
    Envelope::new(
        "/components/payments",
        TENANT,
        "corr-1",
        PaymentRefunded {
            payment_id: "pay-1".into(),
            refund_id: "re-1".into(),
            order_id: order_id.into(),
            customer_id: CUSTOMER.into(),
            amount,
            total_refunded: amount,
            currency: currency.into(),
            fully_refunded: false,
            return_id: Some(return_id.into()),
        },
    )
}

fn deliver_refund(
    db: &NativeSqlite,
    event: &Envelope<PaymentRefunded>,
) -> Result<(), HandlerError> {
    block_on(apply_once(db, "orders-test", &event.id, async |db| {
        on_payment_refunded(db, event).await
    }))
    .map(drop)
}

#[test]
fn a_refund_of_another_order_or_currency_is_refused() {
    let db = database();
    let order = place(&db);
    deliver(&db, &order, DELIVERED_AT);
    let other = place(&db);
    let returned = ask(&db, &order, &[("TEA-1", 1)]).unwrap();
    step(&db, &returned.id, ReturnStep::Approve).unwrap();
    step(&db, &returned.id, ReturnStep::Receive).unwrap();
    for event in [
        refund_event(&other.id, &returned.id, 300, "EUR"),
        refund_event(&order.id, &returned.id, 300, "USD"),
    ] {
        let outcome = deliver_refund(&db, &event);
        assert!(
            matches!(outcome, Err(HandlerError::Refuse(_))),
            "{outcome:?}"
        );
    }
    let still = block_on(get_return(&db, admin(), &returned.id)).unwrap();
    assert_eq!(still.status, ReturnStatus::Received);
}

#[test]
fn a_return_of_an_order_refunded_meanwhile_is_not_received() {
    let db = database();
    let order = place(&db);
    deliver(&db, &order, DELIVERED_AT);
    let returned = ask(&db, &order, &[("MUG-1", 1)]).unwrap();
    step(&db, &returned.id, ReturnStep::Approve).unwrap();
    // An admin refunded the whole payment: the order is refunded.
    block_on(db.execute(
        "UPDATE orders SET status = 'refunded' WHERE id = $1",
        &[order.id.as_str().into()],
    ))
    .unwrap();
    let error = step(&db, &returned.id, ReturnStep::Receive).unwrap_err();
    assert_eq!(
        error.to_string(),
        "the order is refunded, so its payment refunds nothing more; this return cannot \
         be received"
    );
    assert_eq!(kit::Problem::from(error).status, 409);
    let still = block_on(get_return(&db, admin(), &returned.id)).unwrap();
    assert_eq!(still.status, ReturnStatus::Approved);
    // A return still requested is not approved either, but may be rejected.
    let another = ask_refunded_order_return(&db, &order);
    let error = step(&db, &another.id, ReturnStep::Approve).unwrap_err();
    assert!(matches!(error, OrderError::NotReturnable(_)), "{error:?}");
    let rejected = step(&db, &another.id, ReturnStep::Reject { reason: None }).unwrap();
    assert_eq!(rejected.status, ReturnStatus::Rejected);
}

/// A return of the tea, stored as requested although `order` is no longer delivered.
fn ask_refunded_order_return(db: &NativeSqlite, order: &Order) -> Return {
    let set = |status: &str| {
        block_on(db.execute(
            "UPDATE orders SET status = $1 WHERE id = $2",
            &[status.into(), order.id.as_str().into()],
        ))
        .unwrap();
    };
    set("delivered");
    let returned = ask(db, order, &[("TEA-1", 1)]).unwrap();
    set("refunded");
    returned
}

#[test]
fn more_units_in_returns_than_the_line_has_leave_none_to_return() {
    let db = database();
    let order = place(&db);
    deliver(&db, &order, DELIVERED_AT);
    let returned = ask(&db, &order, &[("TEA-1", 1)]).unwrap();
    // Stored data no check lets in (say, a line edited by hand): 5 of its 1 tea.
    block_on(db.execute(
        "UPDATE return_lines SET quantity = 5 WHERE return_id = $1",
        &[returned.id.as_str().into()],
    ))
    .unwrap();
    let error = ask(&db, &order, &[("TEA-1", 1)]).unwrap_err();
    let OrderError::Invalid(errors) = error else {
        panic!("{error:?}")
    };
    assert_eq!(
        errors[0].message,
        "0 of the 1 delivered can still be returned"
    );
}
