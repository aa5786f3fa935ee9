//! The `stripe` payment provider against a local stand-in for Stripe's API: retries
//! with one idempotency key, signed webhooks, dead letters and their replay, and a
//! provider stalled on one charge holding up nothing else.

use acceptance::{
    HttpStub, Shop, Store, WEBHOOK_SECRET, assert_problem, for_both_stores, items, order_reaching,
    place_order, signature_header, stocked_product, text, unix_now,
};
use serde_json::{Value, json};

for_both_stores!(
    a_charge_failing_twice_then_succeeding_ends_paid,
    webhooks_are_verified_and_applied_once,
    a_refused_delivery_is_dead_lettered_and_replays,
    a_stalled_provider_holds_up_no_other_payment,
);

const SECRET_KEY: &str = "sk_test_acceptance";

fn shop_with_stripe(store: Store, stub: &HttpStub) -> Shop {
    Shop::start_with(
        store,
        &[
            ("payment_provider", "stripe"),
            ("stripe_api_url", stub.url()),
            ("stripe_secret_key", SECRET_KEY),
            ("stripe_webhook_secret", WEBHOOK_SECRET),
        ],
    )
}

fn intent(id: &str, status: &str) -> (u16, Value) {
    (
        200,
        json!({ "id": id, "object": "payment_intent", "status": status }),
    )
}

fn stripe_error(status: u16, message: &str) -> (u16, Value) {
    (
        status,
        json!({ "error": { "type": "api_error", "message": message } }),
    )
}

fn payment_of(shop: &Shop, order_id: &str) -> Value {
    let payments = items(
        &shop
            .admin()
            .get(&format!("/api/v1/payments?order_id={order_id}")),
    );
    assert_eq!(payments.len(), 1, "one payment per order: {payments:?}");
    payments[0].clone()
}

fn a_charge_failing_twice_then_succeeding_ends_paid(store: Store) {
    let stub = HttpStub::start(vec![
        stripe_error(500, "try again"),
        stripe_error(503, "try again"),
        intent("pi_flaky", "succeeded"),
    ]);
    let shop = shop_with_stripe(store, &stub);
    stocked_product(&shop.admin(), "FLAKY-1", 2500, 3);
    let customer = shop.customer();
    let order = place_order(&customer.client, &[("FLAKY-1", 1)], "tok_visa");
    let id = text(&order, "id");
    order_reaching(&customer.client, &id, "paid");

    let payment = payment_of(&shop, &id);
    assert_eq!(payment["provider_reference"], "pi_flaky", "{payment}");
    let charges = stub.received();
    assert_eq!(charges.len(), 3, "{charges:?}");
    for charge in &charges {
        assert_eq!(
            (charge.method.as_str(), charge.path.as_str()),
            ("POST", "/v1/payment_intents")
        );
        assert_eq!(
            charge.header("idempotency-key"),
            payment["id"].as_str(),
            "one key for every try"
        );
        assert_eq!(
            charge.header("authorization"),
            Some(format!("Bearer {SECRET_KEY}").as_str())
        );
        assert!(charge.body.contains("amount=2500"), "{}", charge.body);
    }
    let delivery = shop.sql(
        "inventory",
        "SELECT attempts, status FROM outbox_deliveries WHERE subscriber = 'payments-on-inventory-reserved'",
    );
    assert_eq!(delivery.trim(), "2|delivered");
}

fn webhooks_are_verified_and_applied_once(store: Store) {
    let stub = HttpStub::start(vec![intent("pi_async", "processing")]);
    let shop = shop_with_stripe(store, &stub);
    let admin = shop.admin();
    stocked_product(&admin, "HOOK-1", 4000, 3);
    let customer = shop.customer();
    let order = place_order(&customer.client, &[("HOOK-1", 1)], "tok_visa");
    let id = text(&order, "id");
    order_reaching(&customer.client, &id, "reserved");
    assert_eq!(payment_of(&shop, &id)["status"], "pending");

    let event = json!({
        "id": "evt_acceptance_1",
        "object": "event",
        "type": "payment_intent.succeeded",
        "data": { "object": { "id": "pi_async", "object": "payment_intent", "status": "succeeded" } },
    })
    .to_string();
    let webhook = |signature: Option<String>| {
        let mut request = shop.anonymous().request("POST", "/api/v1/payments/webhook");
        if let Some(signature) = signature {
            request = request.header("stripe-signature", &signature);
        }
        request.raw_json(event.clone()).send()
    };
    let now = unix_now();
    for refused in [
        None,
        Some(signature_header("whsec_someone_else", now, &event)),
        Some(signature_header(WEBHOOK_SECRET, now - 600, &event)),
        Some(format!("t={now},v1=00")),
    ] {
        assert_problem(&webhook(refused), 400);
        assert_eq!(payment_of(&shop, &id)["status"], "pending");
        assert_eq!(
            customer
                .client
                .get(&format!("/api/v1/orders/{id}"))
                .expect_ok()["status"],
            "reserved"
        );
    }

    assert_eq!(
        webhook(Some(signature_header(WEBHOOK_SECRET, now, &event))).status,
        200
    );
    order_reaching(&customer.client, &id, "paid");
    assert_eq!(payment_of(&shop, &id)["status"], "succeeded");
    let shipments = || items(&admin.get(&format!("/api/v1/shipments?order_id={id}")));
    assert_eq!(shipments().len(), 1);

    // Stripe delivers at least once: the same event again changes nothing.
    assert_eq!(
        webhook(Some(signature_header(WEBHOOK_SECRET, unix_now(), &event))).status,
        200
    );
    assert_eq!(payment_of(&shop, &id)["status"], "succeeded");
    assert_eq!(shipments().len(), 1);
}

/// A provider that refuses our credentials will refuse every retry: the delivery is
/// dead-lettered at once, and replays once the provider takes it.
fn a_refused_delivery_is_dead_lettered_and_replays(store: Store) {
    let stub = HttpStub::start(vec![(
        401,
        json!({ "error": { "type": "invalid_request_error", "message": "Invalid API Key provided" } }),
    )]);
    let shop = shop_with_stripe(store, &stub);
    let admin = shop.admin();
    stocked_product(&admin, "DEAD-1", 1000, 3);
    let customer = shop.customer();
    let order = place_order(&customer.client, &[("DEAD-1", 1)], "tok_visa");
    let id = text(&order, "id");
    order_reaching(&customer.client, &id, "reserved");

    let letters = items(&admin.get("/api/v1/admin/dead-letters"));
    assert_eq!(letters.len(), 1, "{letters:?}");
    let letter = &letters[0];
    assert_eq!(
        letter["subscriber"], "payments-on-inventory-reserved",
        "{letter}"
    );
    assert_eq!(letter["topic"], "inventory.reserved");
    assert_eq!(letter["context"], "inventory");
    assert_eq!(letter["event"]["data"]["order_id"], id.as_str());
    assert!(
        items(
            &shop
                .admin_of("other-tenant")
                .get("/api/v1/admin/dead-letters")
        )
        .is_empty()
    );

    stub.reply_next(vec![intent("pi_replayed", "succeeded")]);
    let replayed = admin
        .post(
            &format!("/api/v1/admin/dead-letters/{}/replay", text(letter, "id")),
            &json!({}),
        )
        .expect_ok();
    assert_eq!(replayed["dispatch"]["delivered"], 1, "{replayed}");
    order_reaching(&customer.client, &id, "paid");
    assert!(items(&admin.get("/api/v1/admin/dead-letters")).is_empty());
    assert_problem(
        &admin.post(
            &format!("/api/v1/admin/dead-letters/{}/replay", text(letter, "id")),
            &json!({}),
        ),
        404,
    );
}

/// The provider is never called inside a transaction: while Stripe sits on one order's
/// charge (on SQLite that transaction would lock the whole payments store), another
/// order is charged and paid, an admin's refund of a third is made and its order
/// refunded, and a webhook is answered; then the stalled charge completes.
fn a_stalled_provider_holds_up_no_other_payment(store: Store) {
    let stub = HttpStub::start(vec![intent("pi_any", "succeeded")]);
    let shop = shop_with_stripe(store, &stub);
    let admin = shop.admin();
    stocked_product(&admin, "STALL-1", 7777, 3);
    stocked_product(&admin, "FLOW-1", 2500, 3);
    let customer = shop.customer();
    let to_refund = text(
        &place_order(&customer.client, &[("FLOW-1", 1)], "tok_visa"),
        "id",
    );
    order_reaching(&customer.client, &to_refund, "paid");

    stub.hold_requests_containing("amount=7777");
    std::thread::scope(|scope| {
        // Its answer waits for the whole saga, so for the stalled charge too.
        let stalled = scope.spawn(|| place_order(&customer.client, &[("STALL-1", 1)], "tok_visa"));
        acceptance::eventually(
            || "the charge of 7777 never reached the provider",
            || (stub.held() == 1).then_some(()),
        );

        let other = text(
            &place_order(&customer.client, &[("FLOW-1", 1)], "tok_visa"),
            "id",
        );
        order_reaching(&customer.client, &other, "paid");
        let payment = payment_of(&shop, &to_refund);
        let refund = format!("/api/v1/payments/{}/refund", text(&payment, "id"));
        assert_eq!(
            admin.post(&refund, &json!({})).expect_ok()["status"],
            "refunded"
        );
        order_reaching(&customer.client, &to_refund, "refunded");
        let event = json!({
            "id": "evt_while_stalled",
            "type": "payment_intent.succeeded",
            "data": { "object": { "id": "pi_nobody_knows", "object": "payment_intent" } },
        })
        .to_string();
        let answered = shop
            .anonymous()
            .request("POST", "/api/v1/payments/webhook")
            .header(
                "stripe-signature",
                &signature_header(WEBHOOK_SECRET, unix_now(), &event),
            )
            .raw_json(event)
            .send();
        assert_eq!(answered.status, 200, "{}", answered.body);
        assert_eq!(stub.held(), 1, "all of that while the charge was stalled");

        stub.release();
        let stalled = stalled.join().expect("the stalled order's request");
        order_reaching(&customer.client, &text(&stalled, "id"), "paid");
    });
}
