//! Promotions and coupon codes: a code's discount is priced on the server and the saga
//! charges what is left; a code limited to ten uses gives exactly ten discounts to fifty
//! concurrent checkouts; a cancelled order gives its use back; bad promotions and codes
//! are refused naming the field; only admins manage promotions.

use acceptance::{
    Shop, Store, assert_field_error, assert_problem, for_both_stores, items, order_body,
    order_reaching, stocked_product, text,
};
use serde_json::{Value, json};

for_both_stores!(
    a_code_takes_its_discount_and_the_saga_charges_the_rest,
    fifty_concurrent_checkouts_get_exactly_ten_uses_and_a_cancellation_gives_one_back,
    bad_promotions_and_codes_are_refused_naming_the_field,
);

/// `order_body` for `items` with `code`.
fn with_code(items: &[(&str, u32)], code: &str) -> Value {
    let mut body = order_body(items, "tok_visa");
    body["code"] = json!(code);
    body
}

fn a_code_takes_its_discount_and_the_saga_charges_the_rest(store: Store) {
    let shop = Shop::start(store);
    let admin = shop.admin();
    stocked_product(&admin, "PROMO-1", 2000, 10);
    stocked_product(&admin, "PROMO-2", 333, 10);
    let reply = admin.post(
        "/api/v1/promotions",
        &json!({"name": "Spring", "code": "spring15", "percentage": 15}),
    );
    let promotion = reply.expect_json(201);
    assert_eq!(promotion["code"], "SPRING15", "{promotion}");
    let id = text(&promotion, "id");
    assert_eq!(
        reply.header("location"),
        Some(format!("/api/v1/promotions/{id}").as_str())
    );

    let customer = shop.customer();
    let order = customer
        .client
        .post(
            "/api/v1/orders",
            &with_code(&[("PROMO-1", 1), ("PROMO-2", 1)], "Spring15"),
        )
        .expect_json(201);
    // 15% of 2000 = 300; of 333 = 49.95 → 50, rounded half up per line.
    assert_eq!(order["subtotal"], 2333, "{order}");
    assert_eq!(order["discount"], 350, "{order}");
    assert_eq!(order["total"], 1983, "{order}");
    let lines: Vec<(String, i64)> = order["discounts"][0]["lines"]
        .as_array()
        .unwrap()
        .iter()
        .map(|line| (text(line, "sku"), line["amount"].as_i64().unwrap()))
        .collect();
    assert_eq!(
        lines,
        [("PROMO-1".to_owned(), 300), ("PROMO-2".to_owned(), 50)]
    );
    assert_eq!(order["discounts"][0]["code"], "SPRING15");
    let order_id = text(&order, "id");
    order_reaching(&customer.client, &order_id, "paid");
    let payments = items(&admin.get(&format!("/api/v1/payments?order_id={order_id}")));
    assert_eq!(
        payments[0]["amount"], 1983,
        "the charge is the discounted total"
    );

    // The cart passes its checkout's code on.
    customer
        .client
        .post(
            "/api/v1/cart/items",
            &json!({"sku": "PROMO-1", "quantity": 2}),
        )
        .expect_json(201);
    let mut checkout = with_code(&[], "SPRING15");
    checkout.as_object_mut().unwrap().remove("items");
    let from_cart = customer
        .client
        .post("/api/v1/cart/checkout", &checkout)
        .expect_json(201);
    assert_eq!(from_cart["discount"], 600, "{from_cart}");

    let read = admin.get(&format!("/api/v1/promotions/{id}")).expect_ok();
    assert_eq!(read["uses"], 2, "{read}");
    assert_eq!(
        items(&admin.get("/api/v1/promotions"))[0]["id"],
        id.as_str()
    );
}

fn fifty_concurrent_checkouts_get_exactly_ten_uses_and_a_cancellation_gives_one_back(store: Store) {
    let shop = Shop::start(store);
    let admin = shop.admin();
    stocked_product(&admin, "RUSH-1", 1000, 500);
    let promotion = admin
        .post(
            "/api/v1/promotions",
            &json!({"name": "Ten only", "code": "TEN", "amount_off": 250, "currency": "EUR",
                    "usage_limit": 10}),
        )
        .expect_json(201);
    let customers: Vec<_> = (0..50).map(|_| shop.customer()).collect();
    let replies: Vec<acceptance::Reply> = std::thread::scope(|scope| {
        let checkouts: Vec<_> = customers
            .iter()
            .map(|customer| {
                scope.spawn(|| {
                    customer
                        .client
                        .post("/api/v1/orders", &with_code(&[("RUSH-1", 1)], "TEN"))
                })
            })
            .collect();
        checkouts
            .into_iter()
            .map(|checkout| checkout.join().expect("a checkout"))
            .collect()
    });
    let placed: Vec<Value> = replies
        .iter()
        .filter(|reply| reply.status == 201)
        .map(|reply| reply.expect_json(201))
        .collect();
    assert_eq!(placed.len(), 10, "exactly the limit carry the discount");
    assert!(placed.iter().all(|order| order["discount"] == 250));
    for refused in replies.iter().filter(|reply| reply.status != 201) {
        let problem = assert_field_error(refused, "code");
        assert!(problem.to_string().contains("used up"), "{problem}");
    }
    let id = text(&promotion, "id");
    let uses = || admin.get(&format!("/api/v1/promotions/{id}")).expect_ok()["uses"].clone();
    assert_eq!(uses(), 10);

    let cancelled = text(&placed[0], "id");
    admin
        .post(&format!("/api/v1/orders/{cancelled}/cancel"), &json!({}))
        .expect_ok();
    assert_eq!(uses(), 9, "the cancelled order gave its use back");
    let late = shop.customer();
    let order = late
        .client
        .post("/api/v1/orders", &with_code(&[("RUSH-1", 1)], "TEN"))
        .expect_json(201);
    assert_eq!(order["discount"], 250);
    assert_eq!(uses(), 10);
}

fn bad_promotions_and_codes_are_refused_naming_the_field(store: Store) {
    let shop = Shop::start(store);
    let admin = shop.admin();
    stocked_product(&admin, "CODE-1", 1000, 10);
    let create = |body: Value| admin.post("/api/v1/promotions", &body);
    for (body, field) in [
        (json!({"name": "Too much", "percentage": 101}), "percentage"),
        (json!({"name": "Negative", "percentage": -1}), "percentage"),
        (json!({"name": "Neither"}), "percentage"),
        (
            json!({"name": "No currency", "amount_off": 100}),
            "currency",
        ),
        (
            json!({"name": "Past", "percentage": 5, "ends_at": "2001-01-01T00:00:00Z"}),
            "ends_at",
        ),
        (
            json!({"name": "Bad code", "code": "a b", "percentage": 5}),
            "code",
        ),
    ] {
        assert_field_error(&create(body.clone()), field);
    }
    create(json!({"name": "Once", "code": "ONCE", "percentage": 5, "per_customer_limit": 1}))
        .expect_json(201);
    assert_problem(
        &create(json!({"name": "Again", "code": "once", "percentage": 5})),
        409,
    );
    create(json!({"name": "Big", "code": "BIG", "percentage": 5, "min_subtotal": 100000}))
        .expect_json(201);
    let soon = chrono::Utc::now() + chrono::Duration::seconds(2);
    create(json!({"name": "Brief", "code": "BRIEF", "percentage": 5,
                  "ends_at": soon.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)}))
    .expect_json(201);

    let customer = shop.customer();
    let order = |code: &str| {
        customer
            .client
            .post("/api/v1/orders", &with_code(&[("CODE-1", 1)], code))
    };
    for code in ["UNKNOWN", "BIG", ""] {
        assert_field_error(&order(code), "code");
    }
    order("ONCE").expect_json(201);
    assert_field_error(&order("ONCE"), "code");
    std::thread::sleep(std::time::Duration::from_secs(3));
    let expired = assert_field_error(&order("BRIEF"), "code");
    assert!(expired.to_string().contains("expired"), "{expired}");
    let orders = items(&customer.client.get("/api/v1/orders"));
    assert_eq!(orders.len(), 1, "no refused code placed an order");

    assert_problem(&customer.client.get("/api/v1/promotions"), 403);
    assert_problem(
        &customer.client.post(
            "/api/v1/promotions",
            &json!({"name": "Mine", "percentage": 90}),
        ),
        403,
    );
    assert_problem(&admin.get("/api/v1/promotions/no-such-promotion"), 404);
    assert_problem(
        &admin.patch(
            "/api/v1/promotions/no-such-promotion",
            &json!({"active": false}),
        ),
        404,
    );
    let big = items(&admin.get("/api/v1/promotions"))
        .into_iter()
        .find(|promotion| promotion["code"] == "BIG")
        .unwrap();
    let off = admin
        .patch(
            &format!("/api/v1/promotions/{}", text(&big, "id")),
            &json!({"active": false}),
        )
        .expect_ok();
    assert_eq!(off["active"], false);
}
