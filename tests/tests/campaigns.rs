//! Group buying: a campaign that reaches its minimum buys for every participant at the
//! campaign price through the normal saga; one that ends below it fails; joins are
//! refused with their reason; concurrent joins never overfill it; a campaign too large
//! for one event announces its success in parts, and every participant still gets one
//! order.

use acceptance::{
    Claims, Client, JWT_SECRET, Shop, Store, assert_field_error, assert_problem, for_both_stores,
    items, order_reaching, sign_hs256, stocked_product, text,
};
use serde_json::{Value, json};

for_both_stores!(
    a_campaign_at_its_minimum_orders_for_everyone_at_its_price,
    a_campaign_below_its_minimum_fails_when_it_ends,
    joins_are_refused_with_their_reason,
    fifty_concurrent_joins_fill_thirty_places_and_succeed_once,
    a_campaign_too_large_for_one_event_orders_for_everyone_once,
);

fn campaign(sku: &str, min: u32, max: u32, ends_in_secs: i64) -> Value {
    let ends_at = chrono::Utc::now() + chrono::Duration::seconds(ends_in_secs);
    json!({
        "name": format!("Group buy of {sku}"),
        "sku": sku,
        "price": 1000,
        "original_price": 1500,
        "currency": "EUR",
        "min_participants": min,
        "max_participants": max,
        "ends_at": ends_at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
    })
}

fn join_body() -> Value {
    json!({
        "shipping_address": {
            "name": "Casey Customer",
            "line1": "1 Market Street",
            "city": "Lyon",
            "postal_code": "69001",
            "country": "FR",
        },
        "payment": { "token": "tok_visa" },
    })
}

fn join(client: &Client, id: &str) -> acceptance::Reply {
    client.post(&format!("/api/v1/campaigns/{id}/join"), &join_body())
}

/// The customer's orders, once the saga has placed `count` of them.
fn orders_of(client: &Client, count: usize) -> Vec<Value> {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    loop {
        let orders = items(&client.get("/api/v1/orders"));
        if orders.len() >= count || std::time::Instant::now() > deadline {
            return orders;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
}

fn a_campaign_at_its_minimum_orders_for_everyone_at_its_price(store: Store) {
    let shop = Shop::start(store);
    let admin = shop.admin();
    stocked_product(&admin, "GROUP-1", 1999, 10);
    let reply = admin.post("/api/v1/campaigns", &campaign("GROUP-1", 3, 5, 3600));
    let created = reply.expect_json(201);
    assert_eq!(created["status"], "active", "{created}");
    let id = text(&created, "id");
    assert_eq!(
        reply.header("location"),
        Some(format!("/api/v1/campaigns/{id}").as_str())
    );

    let customers: Vec<_> = (0..4).map(|_| shop.customer()).collect();
    for customer in &customers[..2] {
        join(&customer.client, &id).expect_json(201);
    }
    assert_eq!(
        shop.anonymous()
            .get(&format!("/api/v1/campaigns/{id}"))
            .expect_ok()["status"],
        "active"
    );
    assert!(
        orders_of(&customers[0].client, 0).is_empty(),
        "nobody buys below the minimum"
    );
    join(&customers[2].client, &id).expect_json(201);
    let reached = shop
        .anonymous()
        .get(&format!("/api/v1/campaigns/{id}"))
        .expect_ok();
    assert_eq!(
        (&reached["status"], &reached["participants"]),
        (&json!("successful"), &json!(3)),
        "{reached}"
    );
    // Joins stay open after success until the maximum; a late joiner buys at once.
    join(&customers[3].client, &id).expect_json(201);

    for customer in &customers {
        let orders = orders_of(&customer.client, 1);
        assert_eq!(orders.len(), 1, "one order per participant: {orders:?}");
        let order = &orders[0];
        assert_eq!(
            order["items"][0]["unit_price"], 1000,
            "the campaign's price: {order}"
        );
        order_reaching(&customer.client, &text(order, "id"), "paid");
    }
    let successes = shop.sql(
        "campaigns",
        "SELECT COUNT(*) FROM outbox WHERE topic = 'campaign.successful'",
    );
    assert_eq!(successes.trim(), "1");
}

fn a_campaign_below_its_minimum_fails_when_it_ends(store: Store) {
    let shop = Shop::start(store);
    let admin = shop.admin();
    stocked_product(&admin, "GROUP-2", 1999, 10);
    let id = text(
        &admin
            .post("/api/v1/campaigns", &campaign("GROUP-2", 2, 5, 3))
            .expect_json(201),
        "id",
    );
    let customer = shop.customer();
    join(&customer.client, &id).expect_json(201);
    std::thread::sleep(std::time::Duration::from_secs(4));
    assert_problem(&join(&shop.customer().client, &id), 409);

    let swept = admin
        .post("/api/v1/campaigns/sweep", &json!({}))
        .expect_ok();
    assert_eq!(swept["failed"], 1, "{swept}");
    let failed = shop
        .anonymous()
        .get(&format!("/api/v1/campaigns/{id}"))
        .expect_ok();
    assert_eq!(failed["status"], "failed", "{failed}");
    assert_eq!(
        admin
            .post("/api/v1/campaigns/sweep", &json!({}))
            .expect_ok()["failed"],
        0
    );
    std::thread::sleep(std::time::Duration::from_millis(500));
    assert!(
        items(&customer.client.get("/api/v1/orders")).is_empty(),
        "nobody is charged"
    );
}

fn joins_are_refused_with_their_reason(store: Store) {
    let shop = Shop::start(store);
    let admin = shop.admin();
    stocked_product(&admin, "GROUP-3", 1999, 10);
    let customer = shop.customer();
    assert_problem(
        &customer
            .client
            .post("/api/v1/campaigns", &campaign("GROUP-3", 1, 1, 3600)),
        403,
    );
    let mut bad = campaign("GROUP-3", 3, 2, 3600);
    bad["price"] = json!(2000);
    assert_field_error(&admin.post("/api/v1/campaigns", &bad), "original_price");
    assert_field_error(&admin.post("/api/v1/campaigns", &bad), "max_participants");

    let id = text(
        &admin
            .post("/api/v1/campaigns", &campaign("GROUP-3", 1, 1, 3600))
            .expect_json(201),
        "id",
    );
    assert_problem(
        &join(&customer.client, "0190d6a2-0000-7000-8000-000000000000"),
        404,
    );
    assert_problem(
        &shop
            .anonymous()
            .post(&format!("/api/v1/campaigns/{id}/join"), &join_body()),
        401,
    );
    join(&customer.client, &id).expect_json(201);
    let again = assert_problem(&join(&customer.client, &id), 409);
    assert!(text(&again, "detail").contains("already"), "{again}");
    let full = assert_problem(&join(&shop.customer().client, &id), 409);
    assert!(text(&full, "detail").contains("full"), "{full}");
}

fn fifty_concurrent_joins_fill_thirty_places_and_succeed_once(store: Store) {
    let shop = Shop::start(store);
    let admin = shop.admin();
    stocked_product(&admin, "GROUP-4", 1999, 100);
    let id = text(
        &admin
            .post("/api/v1/campaigns", &campaign("GROUP-4", 10, 30, 3600))
            .expect_json(201),
        "id",
    );
    let customers: Vec<_> = (0..50).map(|_| shop.customer()).collect();
    let statuses: Vec<u16> = std::thread::scope(|scope| {
        let joins: Vec<_> = customers
            .iter()
            .map(|customer| scope.spawn(|| join(&customer.client, &id).status))
            .collect();
        joins
            .into_iter()
            .map(|joined| joined.join().expect("a join"))
            .collect()
    });
    assert_eq!(
        statuses.iter().filter(|status| **status == 201).count(),
        30,
        "{statuses:?}"
    );
    assert_eq!(
        statuses.iter().filter(|status| **status == 409).count(),
        20,
        "{statuses:?}"
    );
    let full = shop
        .anonymous()
        .get(&format!("/api/v1/campaigns/{id}"))
        .expect_ok();
    assert_eq!(
        (&full["participants"], &full["status"]),
        (&json!(30), &json!("successful")),
        "{full}"
    );
    let successes = shop.sql(
        "campaigns",
        "SELECT COUNT(*) FROM outbox WHERE topic = 'campaign.successful'",
    );
    assert_eq!(successes.trim(), "1", "campaign.successful exactly once");
}

/// Participants of the large campaign: with [`largest_address_join`] they take about
/// 1.3 MiB, more than a delivery may carry, so one event naming them all could never be
/// delivered. The domain's unit tests take 2,000; here every participant's order runs
/// the whole saga, so the fewest that overflow a delivery.
const LARGE_CAMPAIGN: usize = 250;
/// The most participants one `campaign.successful` names (`campaigns_domain`'s
/// `PARTICIPANTS_PER_EVENT`).
const PER_EVENT: usize = 50;

/// A join with the longest address lines a join takes, each character one that JSON
/// spells in six bytes (`\u0001`): about 5 KB of event per participant.
fn largest_address_join() -> Value {
    let longest = "\u{1}".repeat(200);
    let mut body = join_body();
    for field in ["name", "line1", "city", "postal_code"] {
        body["shipping_address"][field] = json!(longest);
    }
    body
}

fn a_campaign_too_large_for_one_event_orders_for_everyone_once(store: Store) {
    let shop = Shop::start(store);
    let admin = shop.admin();
    stocked_product(&admin, "GROUP-5", 1999, LARGE_CAMPAIGN as i64);
    let id = text(
        &admin
            .post(
                "/api/v1/campaigns",
                &campaign(
                    "GROUP-5",
                    LARGE_CAMPAIGN as u32,
                    LARGE_CAMPAIGN as u32,
                    3600,
                ),
            )
            .expect_json(201),
        "id",
    );
    // Customers by tokens signed with the app's key: registering each would hash a
    // password with Argon2id, and a join needs only who the customer is.
    let customers: Vec<Client> = (0..LARGE_CAMPAIGN)
        .map(|n| {
            shop.with_token(&sign_hs256(
                JWT_SECRET,
                &Claims {
                    sub: &format!("large-campaign-customer-{n}"),
                    role: "customer",
                    tenant: "default",
                    expires_in: 3600,
                },
            ))
        })
        .collect();
    // The last join reaches the minimum, with everyone else already in.
    let (last, first) = customers.split_last().expect("customers");
    let (campaign_id, body) = (id.as_str(), &largest_address_join());
    std::thread::scope(|scope| {
        for batch in first.chunks(first.len().div_ceil(8)) {
            scope.spawn(move || {
                for customer in batch {
                    customer
                        .post(&format!("/api/v1/campaigns/{campaign_id}/join"), body)
                        .expect_json(201);
                }
            });
        }
    });
    last.post(&format!("/api/v1/campaigns/{id}/join"), body)
        .expect_json(201);
    // The bodies are ASCII (JSON escapes the rest), so their length is their size.
    let successes = shop.sql(
        "campaigns",
        "SELECT COUNT(*), MAX(LENGTH(payload)), SUM(LENGTH(payload)) FROM outbox \
         WHERE topic = 'campaign.successful'",
    );
    let sizes: Vec<usize> = successes
        .trim()
        .split('|')
        .map(|n| n.parse().expect("a count"))
        .collect();
    assert_eq!(
        sizes[0],
        LARGE_CAMPAIGN.div_ceil(PER_EVENT),
        "the success in parts"
    );
    assert!(
        sizes[1] < 1 << 20 && sizes[2] > 1 << 20,
        "each part fits a delivery, all of them would not: {sizes:?}"
    );

    for customer in &customers {
        let orders = orders_of(customer, 1);
        assert_eq!(orders.len(), 1, "one order per participant: {orders:?}");
        assert_eq!(orders[0]["items"][0]["unit_price"], 1000, "{}", orders[0]);
        order_reaching(customer, &text(&orders[0], "id"), "paid");
    }
    let placed = shop.sql(
        "orders",
        &format!(
            "SELECT COUNT(*), COUNT(DISTINCT customer_id) FROM orders WHERE campaign_id = '{id}'"
        ),
    );
    assert_eq!(
        placed.trim(),
        format!("{LARGE_CAMPAIGN}|{LARGE_CAMPAIGN}"),
        "one order each, nobody left out"
    );
}
