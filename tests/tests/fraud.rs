//! Fraud rules: a risky order waits in `review` with nothing reserved or charged, until an
//! admin approves it (the saga continues) or rejects it (cancelled).

use acceptance::{
    Shop, Store, assert_problem, for_both_stores, items, order_body, order_reaching, place_order,
    stock_of, stocked_product, text,
};
use serde_json::json;

for_both_stores!(
    a_risky_order_waits_in_review_until_approved,
    a_rejected_order_is_cancelled_with_nothing_held,
    each_rule_can_send_an_order_to_review,
);

fn a_risky_order_waits_in_review_until_approved(store: Store) {
    let shop = Shop::start_with(store, &[("fraud_max_total", "5000")]);
    let admin = shop.admin();
    stocked_product(&admin, "RISKY-1", 3000, 5);
    let customer = shop.customer();
    let order = place_order(&customer.client, &[("RISKY-1", 2)], "tok_visa");
    assert_eq!(order["status"], "review", "{order}");
    assert!(
        !order["review_reasons"].as_array().is_none_or(Vec::is_empty),
        "{order}"
    );
    let id = text(&order, "id");
    // Nothing reserved, nothing charged while it waits.
    std::thread::sleep(std::time::Duration::from_millis(500));
    assert_eq!(stock_of(&admin, "RISKY-1")["reserved"], 0);
    assert!(items(&admin.get(&format!("/api/v1/payments?order_id={id}"))).is_empty());
    assert_eq!(
        order_reaching(&customer.client, &id, "review")["status"],
        "review"
    );

    assert_problem(
        &customer
            .client
            .post(&format!("/api/v1/orders/{id}/approve"), &json!({})),
        403,
    );
    let approved = admin
        .post(&format!("/api/v1/orders/{id}/approve"), &json!({}))
        .expect_ok();
    assert_ne!(approved["status"], "review", "{approved}");
    order_reaching(&customer.client, &id, "paid");
    assert_eq!(stock_of(&admin, "RISKY-1")["on_hand"], 3);
    assert_problem(
        &admin.post(&format!("/api/v1/orders/{id}/approve"), &json!({})),
        409,
    );
    assert_problem(
        &admin.post(&format!("/api/v1/orders/{id}/reject"), &json!({})),
        409,
    );
}

fn a_rejected_order_is_cancelled_with_nothing_held(store: Store) {
    let shop = Shop::start_with(store, &[("fraud_max_total", "5000")]);
    let admin = shop.admin();
    stocked_product(&admin, "RISKY-2", 3000, 5);
    let customer = shop.customer();
    let id = text(
        &place_order(&customer.client, &[("RISKY-2", 2)], "tok_visa"),
        "id",
    );
    let rejected = admin
        .post(
            &format!("/api/v1/orders/{id}/reject"),
            &json!({ "reason": "card testing" }),
        )
        .expect_ok();
    assert_eq!(rejected["status"], "cancelled", "{rejected}");
    std::thread::sleep(std::time::Duration::from_millis(500));
    let stock = stock_of(&admin, "RISKY-2");
    assert_eq!(
        (&stock["on_hand"], &stock["reserved"]),
        (&json!(5), &json!(0)),
        "{stock}"
    );
    assert!(items(&admin.get(&format!("/api/v1/payments?order_id={id}"))).is_empty());
}

fn each_rule_can_send_an_order_to_review(store: Store) {
    let shop = Shop::start_with(
        store,
        &[
            ("fraud_max_orders", "2"),
            ("fraud_allowed_countries", "FR,DE"),
        ],
    );
    let admin = shop.admin();
    stocked_product(&admin, "RULES-1", 500, 50);
    let customer = shop.customer();
    for _ in 0..2 {
        let order = place_order(&customer.client, &[("RULES-1", 1)], "tok_visa");
        assert_eq!(order["status"], "pending", "{order}");
    }
    let third = place_order(&customer.client, &[("RULES-1", 1)], "tok_visa");
    assert_eq!(
        third["status"], "review",
        "more than 2 orders in 10 minutes: {third}"
    );

    let other = shop.customer();
    let mut abroad = order_body(&[("RULES-1", 1)], "tok_visa");
    abroad["shipping_address"]["country"] = json!("GB");
    let order = other
        .client
        .post("/api/v1/orders", &abroad)
        .expect_json(201);
    assert_eq!(
        order["status"], "review",
        "GB is outside the allow list: {order}"
    );
}
