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
    let cancelled = block_on(cancel_order(&db, admin(), REQUEST_ID, &order.id, &request)).unwrap();
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
fn place_scored(db: &NativeSqlite, customer_id: &str, country: &str, fraud: &FraudRules) -> Order {
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
    let rejected = block_on(reject_order(&db, admin(), REQUEST_ID, &order.id, &request)).unwrap();
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
