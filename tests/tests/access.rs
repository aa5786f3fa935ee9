//! Who may do what: bearer tokens (missing, expired, forged, unsigned), roles, and tenants —
//! a token never reads or writes another tenant's rows.

use acceptance::{
    ADMIN_EMAIL, ADMIN_PASSWORD, Claims, JWT_SECRET, Shop, assert_field_error, assert_problem,
    items, on_both_stores, product, sign_hs256, text, unsigned_token, with_forged_role,
};
use serde_json::json;

on_both_stores!(
    a_customer_cannot_write_the_catalog,
    writes_without_a_token_are_401,
    expired_forged_and_unsigned_tokens_are_401,
    a_product_of_one_tenant_is_invisible_in_another,
    a_tenant_header_that_disagrees_with_the_token_is_403,
    only_a_platform_operator_creates_tenants,
    registering_the_admin_email_first_does_not_take_the_admins_place,
);

/// The review's defect: the bootstrap admin's password opened any tenant named in
/// `x-tenant-id`. Tenants other than `default` exist only once the operator made them.
fn only_a_platform_operator_creates_tenants(shop: &Shop) {
    let stranger = shop.anonymous().in_tenant("brand-new");
    assert_problem(&stranger.try_login(ADMIN_EMAIL, ADMIN_PASSWORD), 404);
    assert_problem(
        &stranger.register("someone@shop.test", "correct horse battery", "Some One"),
        404,
    );

    let owner = json!({ "email": "owner@acme.test", "password": "owner-password-42", "name": "Olive Owner" });
    let body = json!({ "id": "acme-2", "admin": owner });
    let create = |key: Option<&str>, body: &serde_json::Value| {
        let mut request = shop.anonymous().request("POST", "/api/v1/tenants");
        if let Some(key) = key {
            request = request.header("x-operator-key", key);
        }
        request.json(body).send()
    };
    assert_problem(&create(None, &body), 401);
    assert_problem(&create(Some("guess"), &body), 401);
    // The bootstrap admin's token is no operator key either.
    let admin = shop.admin();
    let as_admin = admin.post("/api/v1/tenants", &body);
    assert_problem(&as_admin, 401);
    let key = Some(acceptance::OPERATOR_KEY);
    assert_field_error(&create(key, &json!({ "id": "a b", "admin": owner })), "id");
    let bad_admin =
        json!({ "id": "acme-3", "admin": { "email": "nope", "password": "x", "name": "N" } });
    assert_field_error(&create(key, &bad_admin), "admin.email");

    let created = create(key, &body).expect_json(201);
    assert_eq!(created["id"], "acme-2", "{created}");
    assert_eq!(created["admin"]["role"], "admin", "{created}");
    let again = assert_problem(&create(key, &body), 409);
    assert_eq!(again["errors"][0]["field"], "id", "{again}");
    let default = json!({ "id": "default", "admin": owner });
    assert_eq!(create(key, &default).status, 409);

    let tenant = shop.anonymous().in_tenant("acme-2");
    let owner = tenant.login("owner@acme.test", "owner-password-42");
    assert_eq!(owner.get("/api/v1/users/me").expect_ok()["role"], "admin");
    assert_problem(&tenant.try_login(ADMIN_EMAIL, ADMIN_PASSWORD), 401);
    tenant.register_customer();
}

/// Registering the configured admin's email before the admin ever logged in must not
/// take their place: the default tenant's first admin exists before any registration.
fn registering_the_admin_email_first_does_not_take_the_admins_place(shop: &Shop) {
    let squatter = shop
        .anonymous()
        .register(ADMIN_EMAIL, "squatters-password-1", "Squatter");
    assert_eq!(squatter.status, 409, "{}", squatter.body);
    let admin = shop.admin();
    assert_eq!(admin.get("/api/v1/users/me").expect_ok()["role"], "admin");
}

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
