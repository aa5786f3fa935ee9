use super::*;
use crate::handlers::on_payment_refunded;
use crate::promotions::{Discount, DiscountLine};
use crate::test_support::{CUSTOMER, REQUEST_ID, TENANT, admin, customer, database, outbox, place};
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

fn step(db: &NativeSqlite, id: &str, step: ReturnStep<'_>) -> Result<Return, OrderError> {
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

#[test]
fn a_return_is_worth_its_lines_less_discounts_with_their_tax() {
    let order = discounted_order();
    let none = HashMap::new();
    let one_mug = worth(&order, &none, &HashMap::from([("MUG-1", 1)]));
    // 11.25 of goods and 2.25 of tax.
    assert_eq!(one_mug.len(), 1);
    assert_eq!((one_mug[0].quantity, one_mug[0].amount), (1, 1125 + 225));
    assert_eq!(one_mug[0].name, "Mug");
}

#[test]
fn returning_everything_in_any_steps_gives_back_the_total_less_shipping() {
    let order = discounted_order();
    let whole = order.total - order.shipping;
    let at_once = worth(
        &order,
        &HashMap::new(),
        &HashMap::from([("MUG-1", 2), ("TEA-1", 1)]),
    );
    assert_eq!(at_once.iter().map(|line| line.amount).sum::<i64>(), whole);
    let steps: [&[(&str, u32)]; 3] = [&[("MUG-1", 1)], &[("TEA-1", 1)], &[("MUG-1", 1)]];
    let mut before: HashMap<String, u32> = HashMap::new();
    let mut refunded = 0;
    for wanted in steps {
        let wanted: HashMap<&str, u32> = wanted.iter().copied().collect();
        refunded += worth(&order, &before, &wanted)
            .iter()
            .map(|line| line.amount)
            .sum::<i64>();
        for (sku, units) in wanted {
            *before.entry(sku.to_owned()).or_default() += units;
        }
    }
    assert_eq!(refunded, whole);
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
            reason: Some(" worn "),
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
fn the_refund_of_a_received_return_closes_it_once() {
    let db = database();
    let order = place(&db);
    deliver(&db, &order, DELIVERED_AT);
    let returned = ask(&db, &order, &[("TEA-1", 1)]).unwrap();
    step(&db, &returned.id, ReturnStep::Approve).unwrap();
    step(&db, &returned.id, ReturnStep::Receive).unwrap();
    let refund = |event_id: &str| {
        let mut event = Envelope::new(
            "/components/payments",
            TENANT,
            "corr-1",
            PaymentRefunded {
                payment_id: "pay-1".into(),
                refund_id: "re-1".into(),
                order_id: order.id.clone(),
                customer_id: CUSTOMER.into(),
                amount: 300,
                total_refunded: 300,
                currency: "EUR".into(),
                fully_refunded: false,
                return_id: Some(returned.id.clone()),
            },
        );
        event.id = event_id.into();
        block_on(apply_once(&db, "orders-test", &event.id, async |db| {
            on_payment_refunded(db, &event).await
        }))
    };
    refund("ev-1").unwrap();
    let refunded = block_on(get_return(&db, admin(), &returned.id)).unwrap();
    assert_eq!(refunded.status, ReturnStatus::Refunded);
    assert_eq!(refunded.refund_id.as_deref(), Some("re-1"));
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
