//! The app's side of the event bus: handler routes that take only signed deliveries,
//! and, on a bus transport (`event_transport` = `kafka`), the outbox relay
//! the bridge process claims events from. The test plays the bridge without a broker:
//! it claims through the relay and hands each event to its subscribers' routes, signed
//! as the bridge signs them. And the `http` transport delivering to those routes at the
//! app's origin, where service chaining is unavailable.

use acceptance::bridge::HandlerGate;
use acceptance::{
    EVENT_SIGNING_KEY, Reply, Request, Shop, Store, assert_problem, for_both_stores,
    order_reaching, place_order, signature_header, stock_of, stocked_product, text,
};
use kit::wiring::{EVENT_CONTEXTS, subscribers};
use serde_json::{Value, json};

for_both_stores!(
    handler_routes_take_only_signed_deliveries,
    on_a_bus_the_relay_hands_every_event_to_the_bridge_once,
    the_relay_takes_only_signed_calls_about_known_contexts,
    an_event_the_bus_did_not_take_is_claimed_again_after_its_backoff,
    the_bridges_signed_calls_are_not_rate_limited,
    without_service_chaining_http_delivers_to_the_apps_own_origin,
    without_service_chaining_http_delivers_to_the_apps_public_origin,
    a_signed_batch_is_applied_in_order_each_event_once,
    concurrent_claims_of_a_backlog_are_disjoint_and_within_their_limit,
);

const RELAY_CLAIM: &str = "/api/v1/admin/outbox/relay/claim";
const RELAY_SETTLE: &str = "/api/v1/admin/outbox/relay/settle";

fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

/// `body` POSTed to `path` with a `fusion-signature` made under `key` at `at`.
fn signed_post_at(shop: &Shop, path: &str, body: &[u8], key: &str, at: i64) -> Reply {
    Request::new("POST", &shop.url(path))
        .header(
            "fusion-signature",
            &signature_header(key, at, std::str::from_utf8(body).expect("UTF-8")),
        )
        .raw_json(body.to_vec())
        .send()
}

fn signed_post(shop: &Shop, path: &str, body: &Value) -> Reply {
    signed_post_at(
        shop,
        path,
        body.to_string().as_bytes(),
        EVENT_SIGNING_KEY,
        now(),
    )
}

/// The relay's claim of up to 100 due events of `context`.
fn claim(shop: &Shop, context: &str) -> Vec<Value> {
    let reply = signed_post(
        shop,
        RELAY_CLAIM,
        &json!({ "context": context, "limit": 100 }),
    );
    reply.expect_ok()["deliveries"]
        .as_array()
        .unwrap_or_else(|| panic!("no deliveries in {}", reply.body))
        .clone()
}

/// Plays the bridge until the outboxes are quiet: each claimed event goes to every
/// subscriber's signed route (each must take it), then the claim is settled as
/// published. Returns the events relayed, in order.
fn relay_until_quiet(shop: &Shop) -> Vec<Value> {
    let mut relayed = Vec::new();
    for _ in 0..50 {
        let mut moved = false;
        for context in EVENT_CONTEXTS {
            let deliveries = claim(shop, context);
            for delivery in &deliveries {
                let event = text(delivery, "payload");
                for subscriber in subscribers(&text(delivery, "topic")) {
                    let path = format!("/events/{subscriber}");
                    let reply =
                        signed_post_at(shop, &path, event.as_bytes(), EVENT_SIGNING_KEY, now());
                    assert_eq!(reply.status, 200, "{path} took {event}: {}", reply.body);
                }
                relayed.push(serde_json::from_str(&event).expect("an event"));
            }
            if !deliveries.is_empty() {
                let settled = signed_post(
                    shop,
                    RELAY_SETTLE,
                    &json!({ "context": context, "published": deliveries }),
                )
                .expect_ok();
                assert_eq!(
                    settled["settled"]["delivered"],
                    deliveries.len(),
                    "{settled}"
                );
                moved = true;
            }
        }
        if !moved {
            return relayed;
        }
    }
    panic!("the outboxes never went quiet");
}

fn handler_routes_take_only_signed_deliveries(store: Store) {
    let shop = Shop::start(store);
    let admin = shop.admin();
    stocked_product(&admin, "SIGNED-1", 300, 5);
    let customer = shop.customer();
    let order = place_order(&customer.client, &[("SIGNED-1", 2)], "tok_visa");
    order_reaching(&customer.client, &text(&order, "id"), "paid");
    let before = stock_of(&admin, "SIGNED-1");
    let event = shop.sql(
        "orders",
        "SELECT payload FROM outbox WHERE topic = 'order.created'",
    );
    let event = event.trim().as_bytes();
    let route = "/events/inventory-on-order-created";

    let unsigned = Request::new("POST", &shop.url(route))
        .raw_json(event.to_vec())
        .send();
    let problem = assert_problem(&unsigned, 401);
    assert!(
        text(&problem, "detail").contains("fusion-signature"),
        "{problem}"
    );
    for (key, at) in [
        ("another-key", now()),
        // Well past the 5 minutes either way: a request that takes a second (under load)
        // must not bring a time of 301 s ahead back within them.
        (EVENT_SIGNING_KEY, now() - 400),
        (EVENT_SIGNING_KEY, now() + 400),
    ] {
        let reply = signed_post_at(&shop, route, event, key, at);
        assert_problem(&reply, 401);
    }
    // Signed over other bytes than those sent.
    let forged = Request::new("POST", &shop.url(route))
        .header(
            "fusion-signature",
            &signature_header(EVENT_SIGNING_KEY, now(), "{}"),
        )
        .raw_json(event.to_vec())
        .send();
    assert_problem(&forged, 401);

    // Signed as the bridge signs: taken, and a redelivery changes nothing.
    let reply = signed_post_at(&shop, route, event, EVENT_SIGNING_KEY, now());
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(stock_of(&admin, "SIGNED-1"), before);
}

fn on_a_bus_the_relay_hands_every_event_to_the_bridge_once(store: Store) {
    let shop = Shop::start_with(store, &[("event_transport", "kafka")]);
    let admin = shop.admin();
    let product = stocked_product(&admin, "BUS-1", 300, 5);
    let customer = shop.customer();
    let order = place_order(&customer.client, &[("BUS-1", 2)], "tok_visa");
    let order_id = text(&order, "id");

    // Nothing goes to a handler but through the bus: one delivery per event, to it.
    let to_handlers = shop.deliveries_where("subscriber <> 'bus'");
    assert!(
        to_handlers.iter().all(|(_, count)| *count == 0),
        "{to_handlers:?}"
    );
    let relayed = relay_until_quiet(&shop);
    let types: Vec<&str> = relayed
        .iter()
        .map(|event| event["type"].as_str().expect("a type"))
        .collect();
    let position = |event_type: &str| {
        types
            .iter()
            .position(|t| *t == event_type)
            .unwrap_or_else(|| panic!("{event_type} was not relayed: {types:?}"))
    };
    // Every event reaches the bus, subscribed to or not, each once.
    assert!(position("product.created") < position("order.created"));
    assert!(position("order.created") < position("inventory.reserved"));
    assert!(position("inventory.reserved") < position("payment.succeeded"));
    let mut unique = types.clone();
    unique.sort_unstable();
    unique.dedup();
    assert_eq!(
        unique.len(),
        types.len(),
        "an event relayed twice: {types:?}"
    );
    // Each names what it is about, the key that keeps one order's events in order.
    let created = &relayed[position("order.created")];
    assert_eq!(created["subject"], order_id, "{created}");
    assert_eq!(
        relayed[position("product.created")]["subject"],
        product["id"]
    );

    let order = order_reaching(&customer.client, &order_id, "paid");
    assert_eq!(order["status"], "paid");
    let stock = stock_of(&admin, "BUS-1");
    assert_eq!(
        (&stock["on_hand"], &stock["reserved"]),
        (&json!(3), &json!(0))
    );
}

fn the_relay_takes_only_signed_calls_about_known_contexts(store: Store) {
    let shop = Shop::start_with(store, &[("event_transport", "kafka")]);
    let body = json!({ "context": "orders", "limit": 10 }).to_string();
    let unsigned = Request::new("POST", &shop.url(RELAY_CLAIM))
        .raw_json(body.clone())
        .send();
    assert_problem(&unsigned, 401);
    let wrong_key = signed_post_at(&shop, RELAY_CLAIM, body.as_bytes(), "another-key", now());
    assert_problem(&wrong_key, 401);
    // An admin's token is not the bridge's key.
    let admin = shop.admin();
    assert_problem(
        &admin.post(RELAY_CLAIM, &json!({ "context": "orders", "limit": 10 })),
        401,
    );

    let unknown = signed_post(
        &shop,
        RELAY_CLAIM,
        &json!({ "context": "accounts", "limit": 1 }),
    );
    assert_problem(&unknown, 422);
    for limit in [0, 1_001] {
        let reply = signed_post(
            &shop,
            RELAY_CLAIM,
            &json!({ "context": "orders", "limit": limit }),
        );
        assert_problem(&reply, 422);
    }
    let malformed = signed_post_at(
        &shop,
        RELAY_SETTLE,
        b"{\"context\":",
        EVENT_SIGNING_KEY,
        now(),
    );
    assert_problem(&malformed, 400);
    let wrong_shape = signed_post(
        &shop,
        RELAY_SETTLE,
        &json!({ "context": "orders", "published": [{}] }),
    );
    let problem = assert_problem(&wrong_shape, 422);
    assert_eq!(
        problem["errors"][0]["field"], "published[0].id",
        "{problem}"
    );
}

fn an_event_the_bus_did_not_take_is_claimed_again_after_its_backoff(store: Store) {
    let shop = Shop::start_with(store, &[("event_transport", "kafka")]);
    let admin = shop.admin();
    stocked_product(&admin, "BUS-2", 300, 5);
    let claimed = claim(&shop, "catalog");
    assert_eq!(claimed.len(), 1, "product.created: {claimed:?}");
    // Claimed: leased to this bridge, not claimed again meanwhile.
    assert!(claim(&shop, "catalog").is_empty());

    let failed = json!({
        "context": "catalog",
        "failed": [{ "delivery": claimed[0], "error": "the broker is down" }],
    });
    let settled = signed_post(&shop, RELAY_SETTLE, &failed).expect_ok();
    assert_eq!(settled["settled"]["retrying"], 1, "{settled}");
    // The first retry waits 250 ms.
    let again = acceptance::eventually(
        || "the failed event was never due again",
        || {
            let again = claim(&shop, "catalog");
            (!again.is_empty()).then_some(again)
        },
    );
    assert_eq!(again.len(), 1);
    assert_eq!(again[0]["id"], claimed[0]["id"]);
    assert_eq!(again[0]["attempts"], 1);
    // The first claim's outcome comes too late now: the later claim's stands.
    let late = signed_post(
        &shop,
        RELAY_SETTLE,
        &json!({ "context": "catalog", "published": [claimed[0]] }),
    )
    .expect_ok();
    assert_eq!(late["claims_lost"], 1, "{late}");
    let published = signed_post(
        &shop,
        RELAY_SETTLE,
        &json!({ "context": "catalog", "published": again }),
    )
    .expect_ok();
    assert_eq!(published["settled"]["delivered"], 1, "{published}");
    assert!(
        shop.deliveries_where("status = 'pending'")
            .iter()
            .all(|(_, count)| *count == 0)
    );
}

fn the_bridges_signed_calls_are_not_rate_limited(store: Store) {
    let shop = Shop::start_with(
        store,
        &[
            ("event_transport", "kafka"),
            ("rate_limit_per_second", "1"),
            ("rate_limit_burst", "1"),
        ],
    );
    let anonymous: Vec<u16> = (0..10)
        .map(|_| shop.anonymous().get("/api/v1/products").status)
        .collect();
    assert!(anonymous.contains(&429), "the limit holds: {anonymous:?}");
    for _ in 0..10 {
        claim(&shop, "orders");
    }
    // A signature that does not verify buys nothing: charged, then refused.
    let body = json!({ "context": "orders", "limit": 1 }).to_string();
    let forged: Vec<u16> = (0..10)
        .map(|_| signed_post_at(&shop, RELAY_CLAIM, body.as_bytes(), "another-key", now()).status)
        .collect();
    assert!(forged.contains(&429), "{forged:?}");
    assert!(
        forged.iter().all(|status| [401, 429].contains(status)),
        "{forged:?}"
    );
}

/// An order paid, its stock taken, on a shop whose handlers are reached as
/// `event_handlers_origin` says.
fn an_order_is_paid_through(shop: &Shop, sku: &str) {
    let admin = shop.admin();
    stocked_product(&admin, sku, 300, 5);
    let customer = shop.customer();
    let order = place_order(&customer.client, &[(sku, 2)], "tok_visa");
    order_reaching(&customer.client, &text(&order, "id"), "paid");
    let stock = stock_of(&admin, sku);
    assert_eq!(
        (&stock["on_hand"], &stock["reserved"]),
        (&json!(3), &json!(0))
    );
}

fn without_service_chaining_http_delivers_to_the_apps_own_origin(store: Store) {
    let shop = Shop::start_with(store, &[("event_handlers_origin", "http://self")]);
    an_order_is_paid_through(&shop, "SELF-1");
}

fn without_service_chaining_http_delivers_to_the_apps_public_origin(store: Store) {
    // The gate stands for the app's public address: deliveries pass through it.
    let gate = HandlerGate::unconnected();
    let shop = Shop::start_with(store, &[("event_handlers_origin", gate.url())]);
    gate.pass_to(&shop);
    an_order_is_paid_through(&shop, "ORIGIN-1");
    let passed = gate.passed();
    for handler in subscribers("order.created")
        .iter()
        .chain(subscribers("inventory.reserved"))
        .chain(subscribers("payment.succeeded"))
    {
        assert!(
            passed.contains(&format!("/events/{handler}")),
            "{handler} was not reached at the origin: {passed:?}"
        );
    }
}

/// `events` POSTed to `route` as one signed batch.
fn post_batch(shop: &Shop, route: &str, events: &[String]) -> Reply {
    let body = format!("[{}]", events.join(","));
    Request::new("POST", &shop.url(route))
        .header(
            "fusion-signature",
            &signature_header(EVENT_SIGNING_KEY, now(), &body),
        )
        .header("content-type", kit::outbox::BATCH_CONTENT_TYPE)
        .body(body.into_bytes())
        .send()
}

fn a_signed_batch_is_applied_in_order_each_event_once(store: Store) {
    let shop = Shop::start_with(store, &[("event_transport", "kafka")]);
    let admin = shop.admin();
    stocked_product(&admin, "BATCH-1", 300, 10);
    let customer = shop.customer();
    for _ in 0..3 {
        place_order(&customer.client, &[("BATCH-1", 1)], "tok_visa");
    }
    // On a bus nothing reaches a handler until a bridge brings it: the test does.
    let created: Vec<String> = claim(&shop, "orders")
        .iter()
        .filter(|delivery| delivery["topic"] == "order.created")
        .map(|delivery| text(delivery, "payload"))
        .collect();
    assert_eq!(created.len(), 3);
    let route = "/events/inventory-on-order-created";
    let reserved = || stock_of(&admin, "BATCH-1")["reserved"].clone();

    // An event of another type in the batch: refused whole, before any is applied.
    let mixed = [
        created[0].clone(),
        json!({ "specversion": "1.0" }).to_string(),
    ];
    let problem = assert_problem(&post_batch(&shop, route, &mixed), 400);
    assert!(text(&problem, "detail").contains("event 1"), "{problem}");
    assert_eq!(reserved(), json!(0));

    let reply = post_batch(&shop, route, &created);
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(reserved(), json!(3));
    // Delivered again, as a sender does after a batch it did not see answered: no event
    // is applied twice.
    let reply = post_batch(&shop, route, &created);
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(reserved(), json!(3));
}

fn concurrent_claims_of_a_backlog_are_disjoint_and_within_their_limit(store: Store) {
    const BACKLOG: usize = 2000;
    let shop = Shop::start_with(store, &[("event_transport", "kafka")]);
    stocked_product(&shop.admin(), "BACKLOG-1", 300, 5);
    relay_until_quiet(&shop);
    if matches!(store, Store::Postgres) {
        // Statistics of a small table, as autovacuum leaves them until a spike of events
        // is analyzed: a plan made for a few rows must still claim each row once.
        shop.sql("catalog", "ANALYZE outbox_deliveries");
    }
    shop.sql(
        "catalog",
        &format!(
            "INSERT INTO outbox_deliveries (id, event_id, position, subscriber, topic, tenant, \
             payload, status, attempts, next_attempt_at, updated_at) \
             WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < {BACKLOG}) \
             SELECT 'backlog-' || i, 'backlog-event-' || i, 0, 'bus', 'product.created', \
             'default', '{{}}', 'pending', 0, 0, 0 FROM n"
        ),
    );
    let claimed = std::sync::Mutex::new(Vec::new());
    std::thread::scope(|scope| {
        for _ in 0..4 {
            scope.spawn(|| {
                loop {
                    let deliveries = claim(&shop, "catalog");
                    assert!(deliveries.len() <= 100, "{} claimed", deliveries.len());
                    if deliveries.is_empty() {
                        return;
                    }
                    let ids = deliveries.iter().map(|delivery| text(delivery, "id"));
                    claimed.lock().expect("claimed").extend(ids);
                }
            });
        }
    });
    let mut claimed = claimed.into_inner().expect("claimed");
    claimed.sort_unstable();
    let claims = claimed.len();
    claimed.dedup();
    assert_eq!(claimed.len(), claims, "a delivery claimed twice");
    assert_eq!(claims, BACKLOG, "every delivery claimed");
}
