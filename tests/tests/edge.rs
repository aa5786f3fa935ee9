//! The edge every API component shares: idempotency keys, rate limits, CORS and security
//! headers.

use acceptance::{
    Shop, Store, assert_problem, for_both_stores, items, order_body, stocked_product,
};

for_both_stores!(
    an_idempotency_key_replays_refuses_another_body_and_runs_once,
    the_rate_limit_is_reached_then_recovers,
    cors_answers_allowed_origins_only,
    every_answer_carries_the_security_headers,
);

fn an_idempotency_key_replays_refuses_another_body_and_runs_once(store: Store) {
    let shop = Shop::start(store);
    stocked_product(&shop.admin(), "IDEM-1", 800, 50);
    let customer = shop.customer();
    let client = &customer.client;
    let body = order_body(&[("IDEM-1", 1)], "tok_visa");
    let post = |key: &str, body: &serde_json::Value| {
        client
            .request("POST", "/api/v1/orders")
            .header("idempotency-key", key)
            .json(body)
            .send()
    };

    let first = post("order-attempt-1", &body);
    let created = first.expect_json(201);
    let replay = post("order-attempt-1", &body);
    assert_eq!(replay.status, 201);
    assert_eq!(replay.json(), created, "the replay is the first answer");
    assert_eq!(replay.header("idempotency-replayed"), Some("true"));
    assert_eq!(
        items(&client.get("/api/v1/orders")).len(),
        1,
        "one order for one key"
    );

    let other_body = order_body(&[("IDEM-1", 2)], "tok_visa");
    assert_problem(&post("order-attempt-1", &other_body), 422);

    // Keys are scoped per caller: another customer's same key is a new request.
    let other = shop.customer();
    other
        .client
        .request("POST", "/api/v1/orders")
        .header("idempotency-key", "order-attempt-1")
        .json(&body)
        .send()
        .expect_json(201);

    // Two concurrent requests with one key: one effect; the other waits its turn (409)
    // or, arriving after the first finished, gets its answer replayed.
    let statuses: Vec<(u16, bool)> = std::thread::scope(|scope| {
        let racers: Vec<_> = (0..2)
            .map(|_| {
                scope.spawn(|| {
                    let reply = post("order-attempt-2", &body);
                    (reply.status, reply.header("idempotency-replayed").is_some())
                })
            })
            .collect();
        racers
            .into_iter()
            .map(|racer| racer.join().expect("a racer"))
            .collect()
    });
    let fresh = statuses
        .iter()
        .filter(|(status, replayed)| *status == 201 && !replayed)
        .count();
    assert_eq!(fresh, 1, "{statuses:?}");
    assert!(
        statuses
            .iter()
            .all(|(status, _)| matches!(status, 201 | 409)),
        "{statuses:?}"
    );
    assert_eq!(items(&client.get("/api/v1/orders")).len(), 2);

    assert_problem(
        &client
            .request("POST", "/api/v1/orders")
            .header("idempotency-key", "")
            .json(&body)
            .send(),
        400,
    );
}

fn the_rate_limit_is_reached_then_recovers(store: Store) {
    let shop = Shop::start_with(
        store,
        &[("rate_limit_per_second", "1"), ("rate_limit_burst", "3")],
    );
    // Registered before the visitor uses up this address's allowance, then waited out:
    // the limit counts a sliding window of 3 s (burst / rate), so after two windows the
    // registration no longer counts.
    let customer = shop.customer();
    std::thread::sleep(std::time::Duration::from_secs(7));
    let visitor = shop.anonymous();
    for _ in 0..3 {
        visitor.get("/api/v1/products").expect_ok();
    }
    let limited = visitor.get("/api/v1/products");
    assert_problem(&limited, 429);
    let retry_after: u64 = limited
        .header("retry-after")
        .and_then(|value| value.parse().ok())
        .unwrap_or_else(|| panic!("429 without Retry-After: {:?}", limited));
    assert!(retry_after >= 1, "{retry_after}");
    // A signed-in caller has a bucket of their own.
    customer.client.get("/api/v1/users/me").expect_ok();
    std::thread::sleep(std::time::Duration::from_secs(retry_after + 1));
    visitor.get("/api/v1/products").expect_ok();
}

fn cors_answers_allowed_origins_only(store: Store) {
    let shop = Shop::start_with(store, &[("cors_allowed_origins", "https://shop.example")]);
    let preflight = |origin: &str| {
        shop.anonymous()
            .request("OPTIONS", "/api/v1/orders")
            .header("origin", origin)
            .header("access-control-request-method", "POST")
            .header(
                "access-control-request-headers",
                "authorization, content-type",
            )
            .send()
    };
    let allowed = preflight("https://shop.example");
    assert_eq!(allowed.status, 204, "{}", allowed.body);
    assert_eq!(
        allowed.header("access-control-allow-origin"),
        Some("https://shop.example")
    );
    let methods = allowed
        .header("access-control-allow-methods")
        .unwrap_or_default();
    assert!(methods.contains("POST"), "{methods}");
    let headers = allowed
        .header("access-control-allow-headers")
        .unwrap_or_default()
        .to_lowercase();
    assert!(
        headers.contains("authorization") && headers.contains("idempotency-key"),
        "{headers}"
    );

    let refused = preflight("https://evil.example");
    assert_eq!(refused.header("access-control-allow-origin"), None);

    let read = shop
        .anonymous()
        .request("GET", "/api/v1/products")
        .header("origin", "https://shop.example")
        .send();
    read.expect_ok();
    assert_eq!(
        read.header("access-control-allow-origin"),
        Some("https://shop.example")
    );
    let exposed = read
        .header("access-control-expose-headers")
        .unwrap_or_default();
    assert!(exposed.contains("x-request-id"), "{exposed}");
}

fn every_answer_carries_the_security_headers(store: Store) {
    let shop = Shop::start(store);
    let customer = shop.customer();
    let replies = [
        shop.anonymous().get("/health"),
        shop.anonymous().get("/api/v1/products"),
        shop.anonymous().get("/api/v1/orders"),
        customer.client.get("/api/v1/orders"),
        customer.client.get("/api/v1/cart"),
        shop.anonymous().get("/api/v1/tracking/FP0000000000AB"),
    ];
    for reply in replies {
        assert_eq!(
            reply.header("x-content-type-options"),
            Some("nosniff"),
            "{}",
            reply.status
        );
        assert_eq!(
            reply.header("referrer-policy"),
            Some("no-referrer"),
            "{}",
            reply.status
        );
        assert_eq!(reply.header("server"), None, "no server banner");
    }
}
