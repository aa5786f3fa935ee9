//! Notifications: each saga and campaign event becomes a message for the right customer
//! only, listed newest first, and — with an email API configured — mailed to them.

use acceptance::{
    HttpStub, Shop, Store, for_both_stores, items, order_reaching, place_order, stocked_product,
    text,
};
use serde_json::{Value, json};

for_both_stores!(each_kind_reaches_its_customer_only_and_is_emailed);

fn kinds(messages: &[Value]) -> Vec<String> {
    messages
        .iter()
        .map(|message| text(message, "kind"))
        .collect()
}

/// The caller's notifications once there are at least `count` (the saga runs on).
fn notifications(client: &acceptance::Client, count: usize) -> Vec<Value> {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    loop {
        let messages = items(&client.get("/api/v1/notifications?limit=100"));
        if messages.len() >= count || std::time::Instant::now() > deadline {
            return messages;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
}

fn each_kind_reaches_its_customer_only_and_is_emailed(store: Store) {
    let sink = HttpStub::start(vec![(200, json!({ "ErrorCode": 0, "Message": "OK" }))]);
    let shop = Shop::start_with(
        store,
        &[
            ("email_api_url", &format!("{}/email", sink.url())),
            ("email_api_origin", sink.url()),
            ("email_api_token", "postmark-test-token"),
        ],
    );
    let admin = shop.admin();
    stocked_product(&admin, "NOTE-1", 1200, 10);
    let ada = shop.customer();
    let bob = shop.customer();

    // Ada: paid, shipped, delivered; then a second order cancelled and refunded.
    let paid = text(
        &place_order(&ada.client, &[("NOTE-1", 1)], "tok_visa"),
        "id",
    );
    order_reaching(&ada.client, &paid, "paid");
    let shipment = &items(&admin.get(&format!("/api/v1/shipments?order_id={paid}")))[0];
    let status = format!("/api/v1/shipments/{}/status", text(shipment, "id"));
    admin
        .patch(&status, &json!({ "status": "in_transit" }))
        .expect_ok();
    admin
        .patch(&status, &json!({ "status": "delivered" }))
        .expect_ok();
    let cancelled = text(
        &place_order(&ada.client, &[("NOTE-1", 1)], "tok_visa"),
        "id",
    );
    order_reaching(&ada.client, &cancelled, "paid");
    ada.client
        .post(&format!("/api/v1/orders/{cancelled}/cancel"), &json!({}))
        .expect_ok();
    order_reaching(&ada.client, &cancelled, "refunded");
    // Bob: a declined card.
    let declined = text(
        &place_order(&bob.client, &[("NOTE-1", 1)], "tok_chargeDeclined"),
        "id",
    );
    order_reaching(&bob.client, &declined, "payment_failed");

    let ada_messages = notifications(&ada.client, 6);
    let mut ada_kinds = kinds(&ada_messages);
    ada_kinds.sort();
    assert_eq!(
        ada_kinds,
        [
            "delivered",
            "order_cancelled",
            "order_confirmed",
            "order_confirmed",
            "payment_refunded",
            "shipped"
        ],
        "{ada_messages:?}"
    );
    let created: Vec<_> = ada_messages
        .iter()
        .map(|message| text(message, "created_at"))
        .collect();
    assert!(
        created.windows(2).all(|pair| pair[0] >= pair[1]),
        "newest first: {created:?}"
    );
    assert_eq!(kinds(&notifications(&bob.client, 1)), ["payment_failed"]);
    assert!(items(&shop.customer().client.get("/api/v1/notifications")).is_empty());

    // Every message went to its customer's address, as a Postmark-style body.
    let emails: Vec<Value> = sink
        .received()
        .iter()
        .map(|request| {
            assert_eq!(
                request.header("x-postmark-server-token"),
                Some("postmark-test-token")
            );
            serde_json::from_str(&request.body).expect("a JSON email")
        })
        .collect();
    let to = |email: &str| emails.iter().filter(|sent| sent["To"] == email).count();
    assert_eq!((to(&ada.email), to(&bob.email)), (6, 1), "{emails:?}");
    assert!(
        emails
            .iter()
            .all(|sent| sent["From"] == "shop@fusion.example" && sent["TextBody"].is_string())
    );
}
