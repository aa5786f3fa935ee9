//! The order saga end to end: orders, inventory, payments (the `test` provider) and
//! shipping, joined by the outbox's `http` dispatcher.

use acceptance::{
    Shop, Store, assert_field_error, assert_problem, eventually, for_both_stores, items,
    order_body, order_reaching, place_order, stock_of, stocked_product, text,
};
use serde_json::{Value, json};

for_both_stores!(
    an_order_is_priced_paid_labelled_shipped_and_delivered,
    stock_short_rejects_the_order_and_holds_nothing,
    a_declined_card_fails_the_payment_and_releases_the_stock,
    cancelling_a_paid_order_refunds_it_and_restocks,
    a_cancelled_orders_label_is_voided_and_never_ships,
    a_free_order_takes_no_payment_and_ships,
    without_a_payment_provider_no_order_is_taken,
    the_same_events_delivered_twice_change_nothing,
    twenty_concurrent_orders_for_five_units_sell_exactly_five,
    refunds_never_exceed_the_capture,
    bad_orders_are_refused_naming_the_field,
    saga_routes_are_for_admins,
);

fn movements(shop: &Shop, sku: &str) -> Vec<Value> {
    items(
        &shop
            .admin()
            .get(&format!("/api/v1/inventory/{sku}/movements?limit=100")),
    )
}

fn payments_of(shop: &Shop, order_id: &str) -> Vec<Value> {
    items(
        &shop
            .admin()
            .get(&format!("/api/v1/payments?order_id={order_id}")),
    )
}

fn payment_of(shop: &Shop, order_id: &str) -> Value {
    let payments = payments_of(shop, order_id);
    assert_eq!(payments.len(), 1, "one payment per order: {payments:?}");
    payments[0].clone()
}

fn shipments_of(shop: &Shop, order_id: &str) -> Vec<Value> {
    items(
        &shop
            .admin()
            .get(&format!("/api/v1/shipments?order_id={order_id}")),
    )
}

fn an_order_is_priced_paid_labelled_shipped_and_delivered(store: Store) {
    let shop = Shop::start_with(store, &[("tax_rate_bps", "2000"), ("shipping_fee", "495")]);
    let admin = shop.admin();
    stocked_product(&admin, "SAGA-1", 1250, 10);
    let customer = shop.customer();

    // A client-sent price is ignored: the catalog's price counts.
    let mut body = order_body(&[("SAGA-1", 2)], "tok_visa");
    body["items"][0]["unit_price"] = json!(1);
    let created = customer
        .client
        .post("/api/v1/orders", &body)
        .expect_json(201);
    assert_eq!(created["status"], "pending", "{created}");
    assert!(
        text(&created, "order_number").starts_with("FC-"),
        "{created}"
    );
    assert_eq!(created["items"][0]["unit_price"], 1250);
    assert_eq!(created["items"][0]["line_total"], 2500);
    assert_eq!(created["items"][0]["name"], "Stocked SAGA-1");
    assert_eq!(created["subtotal"], 2500);
    assert_eq!(created["tax"], 500);
    assert_eq!(created["shipping"], 495);
    assert_eq!(created["total"], 3495);
    assert_eq!(created["currency"], "EUR");
    let id = text(&created, "id");

    order_reaching(&customer.client, &id, "paid");
    let payment = payment_of(&shop, &id);
    assert_eq!(payment["status"], "succeeded", "{payment}");
    assert_eq!(payment["amount"], 3495);
    let stock = stock_of(&admin, "SAGA-1");
    assert_eq!(
        (&stock["on_hand"], &stock["reserved"], &stock["available"]),
        (&json!(8), &json!(0), &json!(8)),
        "{stock}"
    );
    let reasons: Vec<_> = movements(&shop, "SAGA-1")
        .iter()
        .filter(|movement| movement["order_id"] == id.as_str())
        .map(|movement| text(movement, "reason"))
        .collect();
    assert!(
        reasons.contains(&"reserve".to_owned()) && reasons.contains(&"commit".to_owned()),
        "{reasons:?}"
    );

    let shipments = shipments_of(&shop, &id);
    assert_eq!(shipments.len(), 1, "{shipments:?}");
    let shipment = &shipments[0];
    assert_eq!(shipment["status"], "label_created", "{shipment}");
    let tracking_number = text(shipment, "tracking_number");
    let tracking = shop
        .anonymous()
        .get(&format!("/api/v1/tracking/{tracking_number}"))
        .expect_ok();
    assert_eq!(tracking["status"], "label_created", "{tracking}");
    assert!(
        tracking.get("shipping_address").is_none(),
        "tracking is public: {tracking}"
    );

    // Someone else never sees the order.
    let stranger = shop.customer();
    assert_problem(&stranger.client.get(&format!("/api/v1/orders/{id}")), 404);
    assert!(items(&stranger.client.get("/api/v1/orders")).is_empty());
    assert_eq!(items(&customer.client.get("/api/v1/orders")).len(), 1);

    let shipment_id = text(shipment, "id");
    let status_path = format!("/api/v1/shipments/{shipment_id}/status");
    admin
        .patch(
            &status_path,
            &json!({ "status": "in_transit", "location": "Lyon hub" }),
        )
        .expect_ok();
    order_reaching(&customer.client, &id, "shipped");
    assert_problem(
        &customer
            .client
            .post(&format!("/api/v1/orders/{id}/cancel"), &json!({})),
        409,
    );
    assert_problem(
        &admin.patch(&status_path, &json!({ "status": "label_created" })),
        409,
    );
    admin
        .patch(&status_path, &json!({ "status": "delivered" }))
        .expect_ok();
    order_reaching(&customer.client, &id, "delivered");
    let log = admin
        .get(&format!("/api/v1/shipments/{shipment_id}"))
        .expect_ok();
    let statuses: Vec<_> = log["events"]
        .as_array()
        .unwrap_or_else(|| panic!("no delivery log: {log}"))
        .iter()
        .map(|event| text(event, "status"))
        .collect();
    assert_eq!(statuses, ["label_created", "in_transit", "delivered"]);
}

fn stock_short_rejects_the_order_and_holds_nothing(store: Store) {
    let shop = Shop::start(store);
    let admin = shop.admin();
    stocked_product(&admin, "SHORT-1", 500, 1);
    stocked_product(&admin, "SHORT-2", 500, 5);
    let customer = shop.customer();
    let order = place_order(
        &customer.client,
        &[("SHORT-2", 2), ("SHORT-1", 2)],
        "tok_visa",
    );
    let id = text(&order, "id");
    order_reaching(&customer.client, &id, "rejected");
    for (sku, on_hand) in [("SHORT-1", 1), ("SHORT-2", 5)] {
        let stock = stock_of(&admin, sku);
        assert_eq!(
            (&stock["on_hand"], &stock["reserved"]),
            (&json!(on_hand), &json!(0)),
            "{stock}"
        );
    }
    assert!(items(&admin.get(&format!("/api/v1/payments?order_id={id}"))).is_empty());
    assert!(shipments_of(&shop, &id).is_empty());
}

fn a_declined_card_fails_the_payment_and_releases_the_stock(store: Store) {
    let shop = Shop::start(store);
    let admin = shop.admin();
    stocked_product(&admin, "DECLINE-1", 700, 3);
    let customer = shop.customer();
    for (token, decline_code) in [
        ("tok_chargeDeclined", "card_declined"),
        ("tok_chargeDeclinedInsufficientFunds", "insufficient_funds"),
    ] {
        let order = place_order(&customer.client, &[("DECLINE-1", 2)], token);
        let id = text(&order, "id");
        order_reaching(&customer.client, &id, "payment_failed");
        let payment = payment_of(&shop, &id);
        assert_eq!(payment["status"], "failed", "{payment}");
        assert_eq!(payment["decline_code"], decline_code, "{payment}");
        let stock = stock_of(&admin, "DECLINE-1");
        assert_eq!(
            (&stock["on_hand"], &stock["reserved"]),
            (&json!(3), &json!(0)),
            "{stock}"
        );
        assert!(shipments_of(&shop, &id).is_empty());
    }
}

fn cancelling_a_paid_order_refunds_it_and_restocks(store: Store) {
    let shop = Shop::start(store);
    let admin = shop.admin();
    stocked_product(&admin, "CANCEL-1", 900, 4);
    let customer = shop.customer();
    let order = place_order(&customer.client, &[("CANCEL-1", 3)], "tok_visa");
    let id = text(&order, "id");
    order_reaching(&customer.client, &id, "paid");
    assert_eq!(stock_of(&admin, "CANCEL-1")["on_hand"], 1);

    let stranger = shop.customer();
    assert_problem(
        &stranger
            .client
            .post(&format!("/api/v1/orders/{id}/cancel"), &json!({})),
        404,
    );
    let cancelled = customer
        .client
        .post(
            &format!("/api/v1/orders/{id}/cancel"),
            &json!({ "reason": "changed my mind" }),
        )
        .expect_ok();
    assert_eq!(cancelled["status"], "cancelled", "{cancelled}");
    order_reaching(&customer.client, &id, "refunded");
    let payment = payment_of(&shop, &id);
    assert_eq!(payment["status"], "refunded", "{payment}");
    assert_eq!(payment["refunded_amount"], payment["amount"]);
    let stock = stock_of(&admin, "CANCEL-1");
    assert_eq!(
        (&stock["on_hand"], &stock["reserved"]),
        (&json!(4), &json!(0)),
        "{stock}"
    );
    assert_problem(
        &customer
            .client
            .post(&format!("/api/v1/orders/{id}/cancel"), &json!({})),
        409,
    );
}

/// The review's defect: a paid order, cancelled (and refunded), still shipped. Its label
/// is voided instead, and orders cancelled as soon as they are placed (racing their
/// charge) end the same way: no shipment of theirs can move or be printed.
fn a_cancelled_orders_label_is_voided_and_never_ships(store: Store) {
    let shop = Shop::start(store);
    let admin = shop.admin();
    stocked_product(&admin, "VOID-1", 900, 20);
    let customer = shop.customer();
    let paid = text(
        &place_order(&customer.client, &[("VOID-1", 1)], "tok_visa"),
        "id",
    );
    order_reaching(&customer.client, &paid, "paid");
    let racing: Vec<String> = (0..4)
        .map(|_| {
            text(
                &place_order(&customer.client, &[("VOID-1", 1)], "tok_visa"),
                "id",
            )
        })
        .collect();
    for id in racing.iter().chain([&paid]) {
        customer
            .client
            .post(&format!("/api/v1/orders/{id}/cancel"), &json!({}))
            .expect_ok();
    }
    order_reaching(&customer.client, &paid, "refunded");
    let voided = eventually(
        || {
            format!(
                "the paid order's shipment was never voided: {:?}",
                shipments_of(&shop, &paid)
            )
        },
        || {
            let shipments = shipments_of(&shop, &paid);
            (shipments.len() == 1 && shipments[0]["status"] == "cancelled")
                .then(|| shipments[0].clone())
        },
    );
    let log: Vec<&Value> = voided["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| &e["status"])
        .collect();
    assert_eq!(log, ["label_created", "cancelled"], "{voided}");
    let shipment_id = text(&voided, "id");
    let status_path = format!("/api/v1/shipments/{shipment_id}/status");
    assert_problem(
        &admin.patch(&status_path, &json!({ "status": "in_transit" })),
        409,
    );
    assert_problem(
        &admin.get(&format!("/api/v1/shipments/{shipment_id}/label")),
        409,
    );
    let by_hand = admin.patch(&status_path, &json!({ "status": "cancelled" }));
    assert_field_error(&by_hand, "status");

    // Whichever came first, the charge or the cancellation: nothing stays charged and
    // no label stays valid.
    for id in &racing {
        eventually(
            || {
                format!(
                    "order {id} never settled after its cancellation: payments {:?}, shipments {:?}",
                    payments_of(&shop, id),
                    shipments_of(&shop, id)
                )
            },
            || {
                let order = customer
                    .client
                    .get(&format!("/api/v1/orders/{id}"))
                    .expect_ok();
                let settled = ["cancelled", "refunded"].contains(&order["status"].as_str()?)
                    && payments_of(&shop, id).iter().all(|p| {
                        !["pending", "succeeded", "partially_refunded"]
                            .contains(&p["status"].as_str().unwrap_or(""))
                    })
                    && shipments_of(&shop, id)
                        .iter()
                        .all(|s| s["status"] == "cancelled");
                settled.then_some(())
            },
        );
    }
    let stock = stock_of(&admin, "VOID-1");
    assert_eq!(
        (&stock["on_hand"], &stock["reserved"]),
        (&json!(20), &json!(0)),
        "{stock}"
    );
}

/// The review's defect: an order whose total is 0 stayed `reserved`, its stock held and
/// its charge dead-lettered. It takes no payment and goes on to ship.
fn a_free_order_takes_no_payment_and_ships(store: Store) {
    let shop = Shop::start(store);
    let admin = shop.admin();
    stocked_product(&admin, "FREE-1", 0, 5);
    let customer = shop.customer();
    let order = place_order(&customer.client, &[("FREE-1", 2)], "tok_visa");
    assert_eq!(order["total"], 0, "{order}");
    let id = text(&order, "id");
    order_reaching(&customer.client, &id, "paid");
    assert!(
        payments_of(&shop, &id).is_empty(),
        "a payment of nothing was stored"
    );
    let stock = stock_of(&admin, "FREE-1");
    assert_eq!(
        (&stock["on_hand"], &stock["reserved"]),
        (&json!(3), &json!(0)),
        "{stock}"
    );
    let shipments = shipments_of(&shop, &id);
    assert_eq!(shipments.len(), 1, "{shipments:?}");
    assert_eq!(shipments[0]["status"], "label_created");
}

/// The review's defect: `payment_provider` defaulted to `test`, so a deployment that
/// forgot it took test tokens for real goods. Unset, orders are refused and /health
/// says why.
fn without_a_payment_provider_no_order_is_taken(store: Store) {
    let shop = Shop::start_with(store, &[("payment_provider", "")]);
    let admin = shop.admin();
    stocked_product(&admin, "UNSET-1", 900, 5);
    let customer = shop.customer();
    let refused = customer
        .client
        .post("/api/v1/orders", &order_body(&[("UNSET-1", 1)], "tok_visa"));
    let problem = assert_problem(&refused, 503);
    assert!(
        problem["detail"]
            .as_str()
            .unwrap()
            .contains("payment_provider"),
        "{problem}"
    );
    assert!(items(&admin.get("/api/v1/orders")).is_empty());
    let health = shop.anonymous().get("/health");
    assert_eq!(health.status, 503, "{}", health.body);
    let health = health.json();
    assert_eq!(
        health["checks"]["payment_provider"], "unavailable",
        "{health}"
    );
    assert_eq!(health["checks"]["orders"], "ok", "{health}");
}

/// Stages what a dispatcher crash leaves behind — deliveries that reached their handler
/// but were never marked delivered — and sweeps: every handler sees its event again and
/// nothing changes.
fn the_same_events_delivered_twice_change_nothing(store: Store) {
    let shop = Shop::start(store);
    let admin = shop.admin();
    stocked_product(&admin, "TWICE-1", 300, 5);
    let customer = shop.customer();
    let order = place_order(&customer.client, &[("TWICE-1", 2)], "tok_visa");
    let id = text(&order, "id");
    order_reaching(&customer.client, &id, "paid");
    let before = (
        stock_of(&admin, "TWICE-1"),
        payment_of(&shop, &id),
        shipments_of(&shop, &id),
        movements(&shop, "TWICE-1").len(),
    );

    let mut redelivered = 0;
    for context in ["orders", "inventory", "payments", "shipping"] {
        shop.sql(
            context,
            "UPDATE outbox_deliveries SET status = 'pending', next_attempt_at = 0",
        );
        redelivered += shop
            .sql(context, "SELECT COUNT(*) FROM outbox_deliveries")
            .trim()
            .parse::<i64>()
            .expect("a count");
    }
    assert!(
        redelivered >= 6,
        "the saga made its deliveries: {redelivered}"
    );
    let swept = admin
        .post("/api/v1/admin/outbox/sweep", &json!({}))
        .expect_ok();
    let delivered: i64 = swept["contexts"]
        .as_object()
        .unwrap_or_else(|| panic!("{swept}"))
        .values()
        .map(|summary| summary["delivered"].as_i64().unwrap_or_default())
        .sum();
    assert_eq!(delivered, redelivered, "{swept}");
    // Each sweep also trims every store (nothing is old enough here).
    assert_eq!(
        swept["retention"]["orders"]["outbox"]["deliveries"], 0,
        "{swept}"
    );
    assert_eq!(
        swept["retention"]["accounts"]["idempotency_keys"], 0,
        "{swept}"
    );

    let after = (
        stock_of(&admin, "TWICE-1"),
        payment_of(&shop, &id),
        shipments_of(&shop, &id),
        movements(&shop, "TWICE-1").len(),
    );
    assert_eq!(before, after);
    assert_eq!(
        order_reaching(&customer.client, &id, "paid")["status"],
        "paid"
    );
}

fn twenty_concurrent_orders_for_five_units_sell_exactly_five(store: Store) {
    let shop = Shop::start(store);
    let admin = shop.admin();
    stocked_product(&admin, "HOT-1", 1500, 5);
    let customers: Vec<_> = (0..10).map(|_| shop.customer()).collect();

    let watching = std::sync::atomic::AtomicBool::new(true);
    let orders: Vec<String> = std::thread::scope(|scope| {
        // Available stock is never negative, not even for a moment.
        let watcher = scope.spawn(|| {
            while watching.load(std::sync::atomic::Ordering::Relaxed) {
                let stock = stock_of(&admin, "HOT-1");
                assert!(stock["available"].as_i64() >= Some(0), "{stock}");
                assert!(stock["reserved"].as_i64() >= Some(0), "{stock}");
            }
        });
        let placed: Vec<_> = (0..20)
            .map(|n| {
                let client = &customers[n % 10].client;
                scope.spawn(move || text(&place_order(client, &[("HOT-1", 1)], "tok_visa"), "id"))
            })
            .collect();
        let ids = placed
            .into_iter()
            .map(|order| order.join().expect("an order thread"))
            .collect();
        watching.store(false, std::sync::atomic::Ordering::Relaxed);
        watcher.join().expect("the stock watcher");
        ids
    });

    shop.settle();
    let mut statuses = std::collections::BTreeMap::<String, usize>::new();
    for (n, id) in orders.iter().enumerate() {
        let client = &customers[n % 10].client;
        let order = client.get(&format!("/api/v1/orders/{id}")).expect_ok();
        *statuses.entry(text(&order, "status")).or_default() += 1;
    }
    assert_eq!(
        statuses,
        [("paid".to_owned(), 5), ("rejected".to_owned(), 15)]
            .into_iter()
            .collect(),
    );
    let stock = stock_of(&admin, "HOT-1");
    assert_eq!(
        (&stock["on_hand"], &stock["reserved"], &stock["available"]),
        (&json!(0), &json!(0), &json!(0)),
        "{stock}"
    );
}

fn refunds_never_exceed_the_capture(store: Store) {
    let shop = Shop::start(store);
    let admin = shop.admin();
    stocked_product(&admin, "REFUND-1", 1000, 2);
    let customer = shop.customer();
    let order = place_order(&customer.client, &[("REFUND-1", 1)], "tok_visa");
    let id = text(&order, "id");
    order_reaching(&customer.client, &id, "paid");
    let payment_id = text(&payment_of(&shop, &id), "id");
    let refund = format!("/api/v1/payments/{payment_id}/refund");

    assert_problem(
        &customer.client.post(&refund, &json!({ "amount": 100 })),
        403,
    );
    let partial = admin.post(&refund, &json!({ "amount": 400 })).expect_ok();
    assert_eq!(partial["status"], "partially_refunded", "{partial}");
    assert_eq!(partial["refunded_amount"], 400);
    assert_eq!(
        order_reaching(&customer.client, &id, "paid")["status"],
        "paid"
    );
    assert_field_error(&admin.post(&refund, &json!({ "amount": 601 })), "amount");
    assert_field_error(&admin.post(&refund, &json!({ "amount": 0 })), "amount");
    let rest = admin.post(&refund, &json!({})).expect_ok();
    assert_eq!(rest["status"], "refunded", "{rest}");
    assert_eq!(rest["refunded_amount"], 1000);
    order_reaching(&customer.client, &id, "refunded");
    assert_problem(&admin.post(&refund, &json!({ "amount": 1 })), 409);
}

fn bad_orders_are_refused_naming_the_field(store: Store) {
    let shop = Shop::start(store);
    let admin = shop.admin();
    stocked_product(&admin, "VALID-1", 100, 10);
    let customer = shop.customer();
    let client = &customer.client;

    assert_problem(
        &shop
            .anonymous()
            .post("/api/v1/orders", &order_body(&[("VALID-1", 1)], "tok_visa")),
        401,
    );
    assert_problem(
        &client
            .request("POST", "/api/v1/orders")
            .raw_json("{\"items\": [")
            .send(),
        400,
    );
    assert_field_error(
        &client.post("/api/v1/orders", &order_body(&[], "tok_visa")),
        "items",
    );
    assert_field_error(
        &client.post("/api/v1/orders", &order_body(&[("VALID-1", 0)], "tok_visa")),
        "items[0].quantity",
    );
    assert_field_error(
        &client.post(
            "/api/v1/orders",
            &order_body(&[("NO-SUCH-SKU", 1)], "tok_visa"),
        ),
        "items[0].sku",
    );
    assert_field_error(
        &client.post("/api/v1/orders", &order_body(&[("VALID-1", 1)], "")),
        "payment.token",
    );
    let mut no_country = order_body(&[("VALID-1", 1)], "tok_visa");
    no_country["shipping_address"]["country"] = json!("France");
    assert_field_error(
        &client.post("/api/v1/orders", &no_country),
        "shipping_address.country",
    );
    assert_problem(&client.get("/api/v1/orders?status=lost"), 422);
    assert_problem(
        &client.get("/api/v1/orders/0190d6a2-0000-7000-8000-000000000000"),
        404,
    );
    // Nothing was held by the refused orders.
    assert_eq!(stock_of(&admin, "VALID-1")["reserved"], 0);
}

fn saga_routes_are_for_admins(store: Store) {
    let shop = Shop::start(store);
    let customer = shop.customer();
    let client = &customer.client;
    for (method, path) in [
        ("GET", "/api/v1/inventory/ANY-1"),
        ("GET", "/api/v1/inventory/ANY-1/movements"),
        ("GET", "/api/v1/payments"),
        ("GET", "/api/v1/shipments"),
        ("GET", "/api/v1/admin/dead-letters"),
        ("POST", "/api/v1/admin/outbox/sweep"),
    ] {
        assert_problem(&client.request(method, path).json(&json!({})).send(), 403);
        assert_problem(
            &shop
                .anonymous()
                .request(method, path)
                .json(&json!({}))
                .send(),
            401,
        );
    }
    assert_problem(
        &client
            .request("PUT", "/api/v1/inventory/ANY-1")
            .json(&json!({ "on_hand": 5 }))
            .send(),
        403,
    );
    let availability = shop
        .anonymous()
        .post(
            "/api/v1/inventory/check-availability",
            &json!({ "items": [{ "sku": "ANY-1", "quantity": 1 }] }),
        )
        .expect_ok();
    assert_eq!(
        availability["items"][0]["available"], false,
        "{availability}"
    );
}
