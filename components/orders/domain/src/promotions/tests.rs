use super::*;
use crate::orders::{cancel_order, create_order, get_order};
use crate::pricing::{Rates, price};
use crate::status::Status;
use crate::test_support::{REQUEST_ID, TENANT, admin, catalog, checkout, database};
use crate::{CancelRequest, FraudRules};
use futures::executor::block_on;
use kit::db::NativeSqlite;
use kit::json::parse_valid;
use serde_json::{Value, json};

const ADA: &str = "0190a1b2-0000-7000-8000-0000000000aa";
const BOB: &str = "0190a1b2-0000-7000-8000-0000000000bb";

fn promotion(db: &NativeSqlite, body: Value) -> Promotion {
    let new: NewPromotion = parse_valid(body.to_string().as_bytes()).unwrap();
    block_on(create_promotion(db, TENANT, &new)).unwrap()
}

fn field_of_refusal(body: Value) -> String {
    let problem = parse_valid::<NewPromotion>(body.to_string().as_bytes()).unwrap_err();
    assert_eq!(problem.status, 422, "{body}: {problem}");
    problem.errors[0].field.clone()
}

/// 2 mugs (25.00, category `cups`) and 1 tea (3.00) with `code`, priced and placed for
/// `customer`, 20% tax and 4.95 shipping.
fn order(
    db: &NativeSqlite,
    customer: &str,
    code: Option<&str>,
) -> Result<crate::Order, OrderError> {
    let mut new = checkout(&[("MUG-1", 2), ("TEA-1", 1)]);
    new.code = code.map(str::to_owned);
    let mut products = catalog();
    products[0].category_id = Some("cups".into());
    let rates = Rates {
        tax_rate_bps: 2000,
        shipping_fee: 495,
    };
    let priced = price(&new.items, &products, rates).unwrap();
    let discounts = block_on(offered_discounts(
        db, TENANT, customer, code, &priced, &products,
    ))?;
    let priced = priced.with_discounts(discounts, rates).unwrap();
    block_on(create_order(
        db,
        TENANT,
        customer,
        REQUEST_ID,
        &new,
        priced,
        &FraudRules::default(),
    ))
}

fn refused_code(result: Result<crate::Order, OrderError>) -> String {
    match result {
        Err(OrderError::Invalid(errors)) => {
            assert_eq!(errors[0].field, "code");
            errors[0].message.clone()
        }
        other => panic!("expected a 422 naming code, got {other:?}"),
    }
}

fn uses(db: &NativeSqlite, id: &str) -> i64 {
    block_on(get_promotion(db, TENANT, id)).unwrap().uses
}

#[test]
fn a_promotion_names_each_broken_rule() {
    let base = json!({"name": "Spring", "percentage": 10});
    let with = |changes: Value| {
        let mut body = base.clone();
        body.as_object_mut()
            .unwrap()
            .extend(changes.as_object().unwrap().clone());
        body
    };
    for (changes, field) in [
        (json!({"percentage": 101}), "percentage"),
        (json!({"percentage": 0}), "percentage"),
        (json!({"percentage": -5}), "percentage"),
        (json!({"percentage": null}), "percentage"),
        (json!({"amount_off": 500}), "percentage"),
        (json!({"percentage": null, "amount_off": 500}), "currency"),
        (
            json!({"percentage": null, "amount_off": 0, "currency": "EUR"}),
            "amount_off",
        ),
        (json!({"currency": "EUR"}), "currency"),
        (json!({"name": " "}), "name"),
        (json!({"code": "a b"}), "code"),
        (json!({"code": "AB"}), "code"),
        (json!({"ends_at": "soon"}), "ends_at"),
        // Past year 9999 in UTC: its text would sort before every other time.
        (
            json!({"starts_at": "9999-12-31T23:00:00-05:00"}),
            "starts_at",
        ),
        (json!({"ends_at": "2001-01-01T00:00:00Z"}), "ends_at"),
        (
            json!({"starts_at": "2099-02-01T00:00:00Z", "ends_at": "2099-01-01T00:00:00Z"}),
            "ends_at",
        ),
        (json!({"min_subtotal": -1}), "min_subtotal"),
        (json!({"usage_limit": 0}), "usage_limit"),
        (json!({"per_customer_limit": 0}), "per_customer_limit"),
        (json!({"skus": [""]}), "skus[0]"),
    ] {
        assert_eq!(field_of_refusal(with(changes.clone())), field, "{changes}");
    }
}

#[test]
fn a_code_is_one_per_tenant_whatever_its_case() {
    let db = database();
    let first = promotion(
        &db,
        json!({"name": "A", "code": "spring", "percentage": 10}),
    );
    assert_eq!(first.code.as_deref(), Some("SPRING"));
    let again: NewPromotion =
        parse_valid(&br#"{"name": "B", "code": "Spring", "percentage": 5}"#[..]).unwrap();
    assert!(matches!(
        block_on(create_promotion(&db, TENANT, &again)),
        Err(OrderError::CodeTaken)
    ));
}

#[test]
fn a_percentage_is_rounded_half_up_per_line_and_taxed_after() {
    let db = database();
    promotion(
        &db,
        json!({"name": "Spring", "code": "SPRING", "percentage": 15}),
    );
    let placed = order(&db, ADA, Some("spring")).unwrap();
    // 15% of 2500 is 375; of 300 it is 45.
    assert_eq!(placed.discount, 420);
    assert_eq!(placed.discounts.len(), 1);
    let lines: Vec<(&str, i64)> = placed.discounts[0]
        .lines
        .iter()
        .map(|line| (line.sku.as_str(), line.amount))
        .collect();
    assert_eq!(lines, [("MUG-1", 375), ("TEA-1", 45)]);
    assert_eq!(placed.discounts[0].code.as_deref(), Some("SPRING"));
    // (2800 - 420) × 20% = 476 tax, plus 495 shipping.
    assert_eq!(placed.tax, 476);
    assert_eq!(placed.total, 2800 - 420 + 476 + 495);
    let read = block_on(get_order(&db, admin(), &placed.id)).unwrap();
    assert_eq!(read.discounts, placed.discounts);
    assert_eq!(read.discount, 420);
    let odd = promotion(&db, json!({"name": "Odd", "code": "ODD", "percentage": 33}));
    let placed = order(&db, BOB, Some("ODD")).unwrap();
    // 33% of 2500 = 825; of 300 = 99.
    assert_eq!(placed.discounts[0].lines[0].amount, 825);
    assert_eq!(placed.discounts[0].lines[1].amount, 99);
    assert_eq!(placed.discounts[0].promotion_id, odd.id);
}

#[test]
fn an_amount_off_is_shared_and_never_takes_the_total_below_zero() {
    let db = database();
    promotion(
        &db,
        json!({"name": "Big", "code": "BIG", "amount_off": 100_000, "currency": "EUR"}),
    );
    let placed = order(&db, ADA, Some("BIG")).unwrap();
    assert_eq!(placed.discount, 2800, "no more than the subtotal");
    assert_eq!(placed.tax, 0);
    assert_eq!(placed.total, 495, "only the shipping is left");
    promotion(
        &db,
        json!({"name": "Ten", "code": "TEN", "amount_off": 1000, "currency": "EUR"}),
    );
    let placed = order(&db, BOB, Some("TEN")).unwrap();
    let shares: Vec<i64> = placed.discounts[0].lines.iter().map(|l| l.amount).collect();
    // 1000 × 2500/2800 = 892.86 → 893; × 300/2800 = 107.14 → 107.
    assert_eq!(shares, [893, 107]);
    assert_eq!(shares.iter().sum::<i64>(), placed.discount);
    promotion(
        &db,
        json!({"name": "Dollars", "code": "USD", "amount_off": 100, "currency": "USD"}),
    );
    assert_eq!(
        refused_code(order(&db, ADA, Some("USD"))),
        "applies to orders in USD only"
    );
}

#[test]
fn a_code_that_does_not_fit_is_a_422_naming_code() {
    let db = database();
    assert_eq!(
        refused_code(order(&db, ADA, Some("NOPE"))),
        "no promotion has this code"
    );
    promotion(
        &db,
        json!({"name": "Min", "code": "MIN", "percentage": 5, "min_subtotal": 5000}),
    );
    assert!(
        refused_code(order(&db, ADA, Some("MIN")))
            .starts_with("applies to orders of at least 5000")
    );
    promotion(
        &db,
        json!({"name": "Later", "code": "LATER", "percentage": 5, "starts_at": "2099-01-01T00:00:00Z"}),
    );
    assert_eq!(
        refused_code(order(&db, ADA, Some("LATER"))),
        "this code is not valid yet"
    );
    let off = promotion(&db, json!({"name": "Off", "code": "OFF", "percentage": 5}));
    block_on(change_promotion(
        &db,
        TENANT,
        &off.id,
        &PromotionChange { active: false },
    ))
    .unwrap();
    assert_eq!(
        refused_code(order(&db, ADA, Some("OFF"))),
        "this code is no longer valid"
    );
    block_on(db.execute(
        "UPDATE promotions SET starts_at = '2001-01-01T00:00:00.000000Z', \
         ends_at = '2001-02-01T00:00:00.000000Z' WHERE code = 'MIN'",
        &[],
    ))
    .unwrap();
    assert_eq!(
        refused_code(order(&db, ADA, Some("MIN"))),
        "this code has expired"
    );
    promotion(
        &db,
        json!({"name": "Socks", "code": "SOCKS", "percentage": 5, "skus": ["SOCK-1"]}),
    );
    assert_eq!(
        refused_code(order(&db, ADA, Some("SOCKS"))),
        "applies to none of these items"
    );
    assert_eq!(
        block_on(db.query("SELECT COUNT(*) FROM orders", &[])).unwrap()[0]
            .get_i64(0)
            .unwrap(),
        0,
        "no order was placed"
    );
}

#[test]
fn products_and_categories_narrow_what_a_promotion_takes_off() {
    let db = database();
    promotion(
        &db,
        json!({"name": "Cups", "code": "CUPS", "percentage": 10, "category_ids": ["cups"]}),
    );
    let placed = order(&db, ADA, Some("CUPS")).unwrap();
    assert_eq!(placed.discount, 250, "10% of the mugs only");
    assert_eq!(placed.discounts[0].lines.len(), 1);
    promotion(
        &db,
        json!({"name": "Tea", "code": "TEA", "percentage": 50, "skus": ["TEA-1"]}),
    );
    assert_eq!(order(&db, ADA, Some("TEA")).unwrap().discount, 150);
}

#[test]
fn the_usage_limit_holds_and_an_order_ending_unpaid_gives_its_use_back() {
    let db = database();
    let limited = promotion(
        &db,
        json!({"name": "Two", "code": "TWO", "percentage": 10, "usage_limit": 2}),
    );
    let first = order(&db, ADA, Some("TWO")).unwrap();
    order(&db, BOB, Some("TWO")).unwrap();
    assert_eq!(uses(&db, &limited.id), 2);
    assert_eq!(
        refused_code(order(&db, ADA, Some("TWO"))),
        "this code has been used up"
    );
    block_on(cancel_order(
        &db,
        admin(),
        REQUEST_ID,
        &first.id,
        &CancelRequest::default(),
    ))
    .unwrap();
    assert_eq!(
        uses(&db, &limited.id),
        1,
        "the cancelled order gave its use back"
    );
    let third = order(&db, ADA, Some("TWO")).unwrap();
    assert_eq!(third.discount, 280);
    // Its order.created says what the promotion took off, so its amounts add up.
    let (_, created) = crate::test_support::outbox(&db).pop().unwrap();
    let data = &created["data"];
    assert_eq!(data["discount"], 280);
    assert_eq!(
        data["total"],
        json!(third.subtotal - 280 + third.tax + third.shipping)
    );
    // A second end of the same order gives nothing back twice.
    block_on(crate::orders::transition(
        &db,
        TENANT,
        &first.id,
        Status::Refunded,
        None,
    ))
    .unwrap();
    assert_eq!(uses(&db, &limited.id), 2);
}

#[test]
fn the_per_customer_limit_counts_each_customer_apart() {
    let db = database();
    promotion(
        &db,
        json!({"name": "Once", "code": "ONCE", "percentage": 10, "per_customer_limit": 1}),
    );
    order(&db, ADA, Some("ONCE")).unwrap();
    assert!(
        refused_code(order(&db, ADA, Some("ONCE"))).starts_with("you have used this code 1 time")
    );
    order(&db, BOB, Some("ONCE")).unwrap();
}

#[test]
fn without_a_code_the_best_of_the_automatic_promotions_applies() {
    let db = database();
    promotion(
        &db,
        json!({"name": "Five", "percentage": 5, "combinable": true}),
    );
    promotion(
        &db,
        json!({"name": "Three", "percentage": 3, "combinable": true}),
    );
    let placed = order(&db, ADA, None).unwrap();
    let names: Vec<&str> = placed.discounts.iter().map(|d| d.name.as_str()).collect();
    assert_eq!(names, ["Five", "Three"], "combinable ones add up");
    // 5% of 2500 = 125, of 300 = 15; then 3% of 2375 = 71.25 → 71, of 285 = 8.55 → 9.
    assert_eq!(placed.discount, 125 + 15 + 71 + 9);
    promotion(&db, json!({"name": "Twelve", "percentage": 12}));
    let placed = order(&db, ADA, None).unwrap();
    let names: Vec<&str> = placed.discounts.iter().map(|d| d.name.as_str()).collect();
    assert_eq!(
        names,
        ["Twelve"],
        "a larger one that does not combine applies alone"
    );
    // A code that combines joins the combinable automatic ones; one that does not, alone.
    promotion(
        &db,
        json!({"name": "Code", "code": "WITH", "percentage": 1, "combinable": true}),
    );
    let placed = order(&db, BOB, Some("WITH")).unwrap();
    let names: Vec<&str> = placed.discounts.iter().map(|d| d.name.as_str()).collect();
    assert_eq!(names, ["Code", "Five", "Three"]);
    promotion(
        &db,
        json!({"name": "Solo", "code": "SOLO", "percentage": 1}),
    );
    let placed = order(&db, BOB, Some("SOLO")).unwrap();
    let names: Vec<&str> = placed.discounts.iter().map(|d| d.name.as_str()).collect();
    assert_eq!(names, ["Solo"]);
}

#[test]
fn an_order_without_promotions_is_priced_as_before() {
    let db = database();
    let placed = order(&db, ADA, None).unwrap();
    assert_eq!(placed.discount, 0);
    assert!(placed.discounts.is_empty());
    assert_eq!(placed.total, 2800 + 560 + 495);
    assert_eq!(placed.status, Status::Pending);
}

#[test]
fn promotions_list_newest_first() {
    let db = database();
    let older = promotion(&db, json!({"name": "A", "percentage": 10}));
    let newer = promotion(&db, json!({"name": "B", "percentage": 20}));
    let page = block_on(list_promotions(
        &db,
        TENANT,
        &PageParams::from_query("limit=1").unwrap(),
    ))
    .unwrap();
    assert_eq!(page.items[0].id, newer.id);
    assert!(page.next_cursor.is_some());
    assert!(matches!(
        block_on(get_promotion(&db, "other", &older.id)),
        Err(OrderError::NoPromotion)
    ));
}
