//! Bad input on every write route: malformed JSON 400, wrong types and missing fields 422
//! naming the field, bodies over 1 MiB 413, negative prices, unknown currencies, duplicates
//! 409 and unknown ids 404 — always problem+json, never a 500.

use acceptance::{Client, Shop, assert_field_error, assert_problem, on_both_stores, product, text};
use serde_json::json;

on_both_stores!(
    malformed_json_is_400,
    wrong_types_and_missing_fields_are_422_naming_the_field,
    bodies_over_1_mib_are_413,
    prices_and_currencies_are_validated,
    duplicates_are_409,
    unknown_ids_are_404,
    text_holding_nul_is_refused,
);

/// The write routes that take a JSON body, with the caller allowed to use them.
fn write_routes<'a>(shop: &'a Shop, product_path: &str) -> Vec<(&'static str, String, Client<'a>)> {
    let admin = shop.admin();
    let customer = shop.customer().client;
    vec![
        ("POST", "/api/v1/auth/register".into(), shop.anonymous()),
        ("POST", "/api/v1/auth/login".into(), shop.anonymous()),
        ("PATCH", "/api/v1/users/me".into(), customer.clone()),
        ("POST", "/api/v1/users/me/password".into(), customer.clone()),
        ("POST", "/api/v1/products".into(), admin.clone()),
        ("PATCH", product_path.to_owned(), admin.clone()),
        ("POST", "/api/v1/categories".into(), admin),
    ]
}

fn existing_product(shop: &Shop) -> String {
    let created = shop
        .admin()
        .post("/api/v1/products", &product("EXISTING-1", "Existing Easel"))
        .expect_json(201);
    format!("/api/v1/products/{}", text(&created, "id"))
}

fn malformed_json_is_400(shop: &Shop) {
    let product_path = existing_product(shop);
    for (method, path, client) in write_routes(shop, &product_path) {
        for body in [r#"{"name": "#, "not json at all", r#"{"name": "x",}"#] {
            let reply = client.request(method, &path).raw_json(body).send();
            assert_eq!(
                reply.status, 400,
                "{method} {path} with {body:?}: {}",
                reply.body
            );
            assert_problem(&reply, 400);
        }
    }
}

fn wrong_types_and_missing_fields_are_422_naming_the_field(shop: &Shop) {
    let admin = shop.admin();
    let visitor = shop.anonymous();
    let customer = shop.customer().client;
    let product_path = existing_product(shop);

    let mut wrong_price = product("TYPE-1", "Typed Tray");
    wrong_price["price"] = json!("cheap");
    assert_field_error(&admin.post("/api/v1/products", &wrong_price), "price");
    let mut wrong_active = product("TYPE-2", "Typed Tray");
    wrong_active["active"] = json!("yes");
    assert_field_error(&admin.post("/api/v1/products", &wrong_active), "active");
    assert_field_error(
        &admin.patch(&product_path, &json!({ "price": [1] })),
        "price",
    );
    assert_field_error(&admin.patch(&product_path, &json!({ "name": 7 })), "name");
    assert_field_error(
        &admin.post("/api/v1/categories", &json!({ "name": false })),
        "name",
    );
    assert_field_error(
        &visitor.post(
            "/api/v1/auth/register",
            &json!({ "email": 42, "password": "long enough password", "name": "x" }),
        ),
        "email",
    );
    assert_field_error(
        &customer.patch("/api/v1/users/me", &json!({ "name": 3 })),
        "name",
    );

    let mut missing = product("MISSING-1", "Missing Mop");
    missing.as_object_mut().unwrap().remove("price");
    assert_field_error(&admin.post("/api/v1/products", &missing), "price");
    let mut missing = product("MISSING-2", "Missing Mop");
    missing.as_object_mut().unwrap().remove("sku");
    assert_field_error(&admin.post("/api/v1/products", &missing), "sku");
    let mut missing = product("MISSING-3", "Missing Mop");
    missing.as_object_mut().unwrap().remove("currency");
    assert_field_error(&admin.post("/api/v1/products", &missing), "currency");
    assert_field_error(&admin.post("/api/v1/categories", &json!({})), "name");
    assert_field_error(
        &visitor.post(
            "/api/v1/auth/register",
            &json!({ "password": "long enough password", "name": "x" }),
        ),
        "email",
    );
    assert_field_error(
        &visitor.post("/api/v1/auth/login", &json!({ "email": "a@shop.test" })),
        "password",
    );
    assert_field_error(
        &visitor.post(
            "/api/v1/auth/login",
            &json!({ "email": " ", "password": "whatever-password" }),
        ),
        "email",
    );
    assert_field_error(
        &visitor.post(
            "/api/v1/auth/login",
            &json!({ "email": "a@shop.test", "password": "" }),
        ),
        "password",
    );
    assert_field_error(
        &customer.post(
            "/api/v1/users/me/password",
            &json!({ "current_password": "correct horse battery" }),
        ),
        "new_password",
    );
    assert_field_error(
        &visitor.register("short@shop.test", "short", "Shorty"),
        "password",
    );
    assert_field_error(
        &admin.patch(
            &format!("/api/v1/users/{}", shop.customer().id),
            &json!({ "role": "emperor" }),
        ),
        "role",
    );
}

fn bodies_over_1_mib_are_413(shop: &Shop) {
    let product_path = existing_product(shop);
    let mut oversized = product("BIG-1", "Big Bag");
    oversized["description"] = json!("x".repeat(1024 * 1024 + 1));
    let body = oversized.to_string();
    for (method, path, client) in write_routes(shop, &product_path) {
        let reply = client.request(method, &path).raw_json(body.clone()).send();
        assert_eq!(reply.status, 413, "{method} {path}: {}", reply.body);
        assert_problem(&reply, 413);
    }
}

fn prices_and_currencies_are_validated(shop: &Shop) {
    let admin = shop.admin();
    let mut negative = product("PRICE-1", "Negative Knife");
    negative["price"] = json!(-1);
    assert_field_error(&admin.post("/api/v1/products", &negative), "price");
    let mut fractional = product("PRICE-2", "Fractional Fork");
    fractional["price"] = json!(19.99);
    assert_field_error(&admin.post("/api/v1/products", &fractional), "price");
    for currency in ["XYZ", "EURO", "E1R", ""] {
        let mut unknown = product("CUR-1", "Currency Cup");
        unknown["currency"] = json!(currency);
        assert_field_error(&admin.post("/api/v1/products", &unknown), "currency");
    }
    let product_path = existing_product(shop);
    assert_field_error(
        &admin.patch(&product_path, &json!({ "price": -5 })),
        "price",
    );
    assert_field_error(
        &admin.patch(&product_path, &json!({ "currency": "XYZ" })),
        "currency",
    );
    // Nothing invalid was stored.
    let stored = shop.anonymous().get(&product_path).expect_ok();
    assert_eq!(
        (stored["price"].clone(), stored["currency"].clone()),
        (json!(1999), json!("EUR"))
    );
}

fn duplicates_are_409(shop: &Shop) {
    let admin = shop.admin();
    admin
        .post("/api/v1/products", &product("DUP-1", "Duplicate Duck"))
        .expect_json(201);
    assert_problem(
        &admin.post("/api/v1/products", &product("DUP-1", "Another Duck")),
        409,
    );
    let other = admin
        .post("/api/v1/products", &product("DUP-2", "Other Duck"))
        .expect_json(201);
    assert_problem(
        &admin.patch(
            &format!("/api/v1/products/{}", text(&other, "id")),
            &json!({ "sku": "DUP-1" }),
        ),
        409,
    );

    let customer = shop.customer();
    assert_problem(
        &shop
            .anonymous()
            .register(&customer.email, "another long password", "Twin"),
        409,
    );
}

fn unknown_ids_are_404(shop: &Shop) {
    let admin = shop.admin();
    let unknown = "0190d6a2-0000-7000-8000-000000000000";
    let path = format!("/api/v1/products/{unknown}");
    assert_problem(&shop.anonymous().get(&path), 404);
    assert_problem(&admin.get(&path), 404);
    assert_problem(&admin.patch(&path, &json!({ "price": 100 })), 404);
    assert_problem(&admin.delete(&path), 404);
    assert_problem(&admin.get("/api/v1/products/not-even-a-uuid"), 404);
    assert_problem(
        &admin.patch(
            &format!("/api/v1/users/{unknown}"),
            &json!({ "role": "vendor" }),
        ),
        404,
    );
}

/// U+0000, which PostgreSQL's text refuses, is refused the same way on both stores: a 422
/// naming the field in a body, a 400 in a query string.
fn text_holding_nul_is_refused(shop: &Shop) {
    let admin = shop.admin();
    let reply = admin.post(
        "/api/v1/products",
        &json!({"sku": "NUL-1", "name": "Nul\u{0}", "price": 100, "currency": "EUR"}),
    );
    assert_field_error(&reply, "name");
    let reply = shop.customer().client.post(
        "/api/v1/orders",
        &json!({"items": [{"sku": "NUL-1", "quantity": 1}], "code": "A\u{0}"}),
    );
    assert_field_error(&reply, "code");
    for path in ["/api/v1/search?q=%00", "/api/v1/products?cursor=%00"] {
        assert_problem(&shop.anonymous().get(path), 400);
    }
}
