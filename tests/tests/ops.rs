//! Operations: `GET /health` checks every store, and every answer carries `x-request-id`,
//! echoing the client's.

use acceptance::{Shop, Store, assert_problem, on_both_stores, product};
use serde_json::json;

on_both_stores!(health_checks_every_store, every_answer_carries_a_request_id);

fn health_checks_every_store(shop: &Shop) {
    let health = shop.anonymous().get("/health").expect_ok();
    assert_eq!(health["status"], "ok", "{health}");
    assert_eq!(
        health["checks"],
        json!({
            "accounts": "ok",
            "catalog": "ok",
            "orders": "ok",
            "inventory": "ok",
            "payments": "ok",
            "shipping": "ok",
            "campaigns": "ok",
            "notifications": "ok",
            "key_value": "ok",
            "payment_provider": "ok",
        })
    );
}

fn every_answer_carries_a_request_id(shop: &Shop) {
    let admin = shop.admin();
    let customer = shop.customer().client;
    let visitor = shop.anonymous();
    let requests = [
        visitor.request("GET", "/health"),
        visitor.request("GET", "/api/v1/products"),
        visitor.request(
            "GET",
            "/api/v1/products/0190d6a2-0000-7000-8000-000000000000",
        ),
        visitor.request("GET", "/api/v1/search?q=anything"),
        visitor
            .request("POST", "/api/v1/auth/login")
            .json(&json!({ "email": "nobody@shop.test", "password": "whatever-password" })),
        visitor
            .request("POST", "/api/v1/auth/register")
            .raw_json("{"),
        customer.request("GET", "/api/v1/users/me"),
        customer
            .request("POST", "/api/v1/products")
            .json(&product("RID-1", "Request Rake")),
        admin
            .request("POST", "/api/v1/products")
            .json(&product("RID-2", "Request Rake")),
    ];
    for (n, request) in requests.into_iter().enumerate() {
        let id = format!("acceptance-{n}");
        let reply = request.header("x-request-id", &id).send();
        assert_eq!(
            reply.header("x-request-id"),
            Some(id.as_str()),
            "request {n} ({}) must echo x-request-id",
            reply.status
        );
    }

    let generated = visitor.get("/api/v1/products");
    let id = generated.header("x-request-id").unwrap_or_default();
    assert!(
        !id.is_empty(),
        "an x-request-id is generated when none is sent"
    );
    assert_ne!(
        visitor.get("/api/v1/products").header("x-request-id"),
        Some(id),
        "each request gets its own id"
    );
}

#[test]
fn postgres_health_is_503_naming_the_stores_that_are_gone() {
    let mut shop = Shop::start(Store::Postgres);
    shop.anonymous().get("/health").expect_ok();
    shop.lose_database();
    let reply = shop.anonymous().get("/health");
    let health = reply.expect_json(503);
    assert_eq!(health["status"], "unavailable", "{health}");
    assert_eq!(
        health["checks"],
        json!({
            "accounts": "unavailable",
            "catalog": "unavailable",
            "orders": "unavailable",
            "inventory": "unavailable",
            "payments": "unavailable",
            "shipping": "unavailable",
            "campaigns": "unavailable",
            "notifications": "unavailable",
            "key_value": "ok",
            "payment_provider": "ok",
        })
    );
    // The app answers a request that needs the store with a problem, not a hang or a crash.
    let login = shop
        .anonymous()
        .try_login("nobody@shop.test", "whatever-password");
    assert_problem(&login, 503);
}
