//! Who may do what: bearer tokens (missing, expired, forged, unsigned), roles, and tenants —
//! a token never reads or writes another tenant's rows.

use acceptance::{
    Claims, JWT_SECRET, Shop, assert_problem, items, on_both_stores, product, sign_hs256, text,
    unsigned_token, with_forged_role,
};
use serde_json::json;

on_both_stores!(
    a_customer_cannot_write_the_catalog,
    writes_without_a_token_are_401,
    expired_forged_and_unsigned_tokens_are_401,
    a_product_of_one_tenant_is_invisible_in_another,
    a_tenant_header_that_disagrees_with_the_token_is_403,
);

fn a_customer_cannot_write_the_catalog(shop: &Shop) {
    let customer = shop.customer();
    assert_problem(
        &customer
            .client
            .post("/api/v1/products", &product("NOPE-1", "Forbidden Fork")),
        403,
    );
    assert_problem(
        &customer
            .client
            .post("/api/v1/categories", &json!({ "name": "Forks" })),
        403,
    );
    let id = text(
        &shop
            .admin()
            .post("/api/v1/products", &product("OK-1", "Allowed Spoon"))
            .expect_json(201),
        "id",
    );
    let path = format!("/api/v1/products/{id}");
    assert_problem(&customer.client.patch(&path, &json!({ "price": 1 })), 403);
    assert_problem(&customer.client.delete(&path), 403);
    // Reads are public.
    customer.client.get(&path).expect_ok();
}

fn writes_without_a_token_are_401(shop: &Shop) {
    let visitor = shop.anonymous();
    assert_problem(
        &visitor.post("/api/v1/products", &product("ANON-1", "Anonymous Anvil")),
        401,
    );
    assert_problem(
        &visitor.post("/api/v1/categories", &json!({ "name": "Anvils" })),
        401,
    );
    assert_problem(&visitor.get("/api/v1/users/me"), 401);
    assert_problem(
        &visitor.patch("/api/v1/users/me", &json!({ "name": "x" })),
        401,
    );
    assert_problem(&shop.with_token("not-a-jwt").get("/api/v1/users/me"), 401);
}

fn expired_forged_and_unsigned_tokens_are_401(shop: &Shop) {
    let admin = shop.admin();
    let admin_id = text(&admin.get("/api/v1/users/me").expect_ok(), "id");
    let claims = |expires_in| Claims {
        sub: &admin_id,
        role: "admin",
        tenant: "default",
        expires_in,
    };
    // The test's own signature is accepted when valid, so the refusals below are about
    // expiry, forgery and the algorithm, not about how the test signs.
    let minted = sign_hs256(JWT_SECRET, &claims(600));
    shop.with_token(&minted)
        .post("/api/v1/products", &product("MINTED-1", "Minted Mint"))
        .expect_json(201);

    let customer = shop.customer();
    let bad_tokens = [
        ("expired", sign_hs256(JWT_SECRET, &claims(-120))),
        (
            "signed with another key",
            sign_hs256("another-secret", &claims(600)),
        ),
        (
            "forged role",
            with_forged_role(customer.client.token(), "admin"),
        ),
        ("alg none", unsigned_token(&claims(600))),
    ];
    for (what, token) in bad_tokens {
        let client = shop.with_token(&token);
        let reply = client.post("/api/v1/products", &product("BAD-1", "Bad Token Bag"));
        assert_eq!(
            reply.status, 401,
            "{what} token must be 401: {}",
            reply.body
        );
        assert_problem(&reply, 401);
        assert_problem(&client.get("/api/v1/users/me"), 401);
    }
}

fn a_product_of_one_tenant_is_invisible_in_another(shop: &Shop) {
    let admin_a = shop.admin_of("tenant-a");
    let admin_b = shop.admin_of("tenant-b");
    let id = text(
        &admin_a
            .post("/api/v1/products", &product("TENANT-1", "Tenant Teapot"))
            .expect_json(201),
        "id",
    );
    let path = format!("/api/v1/products/{id}");

    admin_a.get(&path).expect_ok();
    shop.anonymous()
        .in_tenant("tenant-a")
        .get(&path)
        .expect_ok();

    assert_problem(&admin_b.get(&path), 404);
    assert_problem(&shop.anonymous().in_tenant("tenant-b").get(&path), 404);
    assert_problem(&shop.anonymous().get(&path), 404);
    assert_problem(&admin_b.patch(&path, &json!({ "price": 1 })), 404);
    assert_problem(&admin_b.delete(&path), 404);
    assert!(items(&admin_b.get("/api/v1/products")).is_empty());
    assert!(items(&admin_b.get("/api/v1/search?q=teapot")).is_empty());

    // The same sku is free in the other tenant, and the first product is unchanged.
    admin_b
        .post("/api/v1/products", &product("TENANT-1", "Other Teapot"))
        .expect_json(201);
    assert_eq!(admin_a.get(&path).expect_ok()["name"], "Tenant Teapot");

    // Accounts too: an email registered in tenant A does not log in to tenant B.
    let customer = shop.anonymous().in_tenant("tenant-a").register_customer();
    assert_problem(
        &shop
            .anonymous()
            .in_tenant("tenant-b")
            .try_login(&customer.email, &customer.password),
        401,
    );
}

fn a_tenant_header_that_disagrees_with_the_token_is_403(shop: &Shop) {
    let admin_a = shop.admin_of("tenant-a");
    let id = text(
        &admin_a
            .post("/api/v1/products", &product("HDR-1", "Header Hat"))
            .expect_json(201),
        "id",
    );
    let spoofing = admin_a.clone().in_tenant("tenant-b");
    assert_problem(
        &spoofing.post("/api/v1/products", &product("HDR-2", "Spoofed Hat")),
        403,
    );
    assert_problem(&spoofing.get(&format!("/api/v1/products/{id}")), 403);
    assert_problem(&spoofing.get("/api/v1/users/me"), 403);
    // Agreeing is fine.
    admin_a
        .clone()
        .in_tenant("tenant-a")
        .get("/api/v1/users/me")
        .expect_ok();
}
