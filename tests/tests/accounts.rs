//! Accounts over HTTP: register, login, me, profile and password changes, the first admin and
//! role changes, and the answers that must not tell an attacker which emails exist.

use acceptance::{ADMIN_EMAIL, Shop, assert_field_error, assert_problem, on_both_stores, text};
use serde_json::json;

on_both_stores!(
    register_login_and_me,
    patch_me_changes_the_name,
    a_changed_password_replaces_the_old_one,
    login_answers_the_same_for_unknown_email_and_wrong_password,
    the_first_admin_comes_from_the_variables,
    an_admin_changes_roles_and_a_customer_cannot,
    five_failed_logins_throttle_the_account,
    two_admins_demoting_each_other_at_once_leave_one_admin,
);

/// The last-admin rule under concurrency: two admins demote each other at the same
/// moment; at least one admin stays, whatever the interleaving (one demotion is 409).
fn two_admins_demoting_each_other_at_once_leave_one_admin(shop: &Shop) {
    let mut first = shop.admin();
    let first_id = text(&first.get("/api/v1/users/me").expect_ok(), "id");
    for round in 0..5 {
        let second = shop.customer();
        first
            .patch(
                &format!("/api/v1/users/{}", second.id),
                &json!({ "role": "admin" }),
            )
            .expect_ok();
        let second_admin = shop.anonymous().login(&second.email, &second.password);
        let demote = |by: &acceptance::Client, id: &str| {
            by.patch(
                &format!("/api/v1/users/{id}"),
                &json!({ "role": "customer" }),
            )
        };
        let (a, b) = std::thread::scope(|scope| {
            let a = scope.spawn(|| demote(&first, &second.id));
            let b = scope.spawn(|| demote(&second_admin, &first_id));
            (a.join().expect("a demotion"), b.join().expect("a demotion"))
        });
        let mut statuses = [a.status, b.status];
        statuses.sort();
        // The second demotion either finds its caller demoted already (its token revoked,
        // 401) or the target the last admin (409); never do both succeed.
        assert!(
            statuses[0] == 200 && [401, 409].contains(&statuses[1]),
            "round {round}: {} {} / {} {}",
            a.status,
            a.body,
            b.status,
            b.body
        );
        let me = first.get("/api/v1/users/me");
        if me.status == 200 && me.json()["role"] == "admin" {
            continue;
        }
        // The first admin was demoted: the second is the admin now. Start the next round
        // from one admin again: the first restored (and signed in anew: the demotion
        // revoked their token), the second demoted.
        second_admin
            .patch(
                &format!("/api/v1/users/{first_id}"),
                &json!({ "role": "admin" }),
            )
            .expect_ok();
        first = shop.admin();
        demote(&first, &second.id).expect_ok();
    }
}

fn register_login_and_me(shop: &Shop) {
    let visitor = shop.anonymous();
    let registered = visitor.register("ada@shop.test", "analytical-engine", "Ada");
    assert_eq!(registered.status, 201, "register: {}", registered.body);
    let created = registered.json();
    assert_eq!(created["email"], "ada@shop.test");
    assert!(
        created.get("password").is_none() && created.get("password_hash").is_none(),
        "the password must never be echoed: {created}"
    );

    let ada = visitor.login("ada@shop.test", "analytical-engine");
    let me = ada.get("/api/v1/users/me").expect_ok();
    assert_eq!(me["email"], "ada@shop.test");
    assert_eq!(me["name"], "Ada");
    assert_eq!(me["role"], "customer");
    assert_eq!(me["id"], created["id"]);

    assert_problem(&shop.anonymous().get("/api/v1/users/me"), 401);

    // Registration never grants a role: one in the body is refused or ignored.
    let escalating = visitor.post(
        "/api/v1/auth/register",
        &json!({ "email": "eve@shop.test", "password": "let me be admin", "name": "Eve", "role": "admin" }),
    );
    if escalating.status == 201 {
        let eve = visitor.login("eve@shop.test", "let me be admin");
        assert_eq!(eve.get("/api/v1/users/me").expect_ok()["role"], "customer");
    } else {
        assert_field_error(&escalating, "role");
    }
}

fn patch_me_changes_the_name(shop: &Shop) {
    let customer = shop.customer();
    let patched = customer
        .client
        .patch("/api/v1/users/me", &json!({ "name": "Grace" }))
        .expect_ok();
    assert_eq!(patched["name"], "Grace");
    let me = customer.client.get("/api/v1/users/me").expect_ok();
    assert_eq!(me["name"], "Grace");
    assert_eq!(me["email"], customer.email.as_str());
}

fn a_changed_password_replaces_the_old_one(shop: &Shop) {
    let customer = shop.customer();
    let wrong_current = customer.client.post(
        "/api/v1/users/me/password",
        &json!({ "current_password": "not my password", "new_password": "a brand new secret" }),
    );
    assert!(
        (400..500).contains(&wrong_current.status),
        "a wrong current password must be refused: {} {}",
        wrong_current.status,
        wrong_current.body
    );
    assert_problem(&wrong_current, wrong_current.status);

    let changed = customer.client.post(
        "/api/v1/users/me/password",
        &json!({ "current_password": customer.password, "new_password": "a brand new secret" }),
    );
    assert!(
        matches!(changed.status, 200 | 204),
        "password change: {} {}",
        changed.status,
        changed.body
    );

    // Every token from before the change is revoked at once, this session's included.
    let revoked = assert_problem(&customer.client.get("/api/v1/users/me"), 401);
    assert!(text(&revoked, "detail").contains("revoked"), "{revoked}");
    let visitor = shop.anonymous();
    assert_problem(&visitor.try_login(&customer.email, &customer.password), 401);
    let again = visitor.login(&customer.email, "a brand new secret");
    again.get("/api/v1/users/me").expect_ok();
}

fn login_answers_the_same_for_unknown_email_and_wrong_password(shop: &Shop) {
    let customer = shop.customer();
    let visitor = shop.anonymous();
    let unknown = assert_problem(
        &visitor.try_login("nobody@shop.test", "whatever-password"),
        401,
    );
    let wrong = assert_problem(
        &visitor.try_login(&customer.email, "whatever-password"),
        401,
    );
    for member in ["type", "title", "detail"] {
        assert_eq!(
            unknown[member], wrong[member],
            "login must not tell which emails exist ({member})"
        );
    }
}

fn the_first_admin_comes_from_the_variables(shop: &Shop) {
    let me = shop.admin().get("/api/v1/users/me").expect_ok();
    assert_eq!(me["email"], ADMIN_EMAIL);
    assert_eq!(me["role"], "admin");
    assert_problem(
        &shop
            .anonymous()
            .try_login(ADMIN_EMAIL, "not-the-admin-password"),
        401,
    );
}

fn an_admin_changes_roles_and_a_customer_cannot(shop: &Shop) {
    let customer = shop.customer();
    let other = shop.customer();
    let path = format!("/api/v1/users/{}", customer.id);

    assert_problem(&other.client.patch(&path, &json!({ "role": "admin" })), 403);
    assert_problem(
        &customer.client.patch(&path, &json!({ "role": "admin" })),
        403,
    );

    let changed = shop
        .admin()
        .patch(&path, &json!({ "role": "vendor" }))
        .expect_ok();
    assert_eq!(changed["role"], "vendor");
    assert_eq!(text(&changed, "id"), customer.id);
    // The customer-role token is revoked, on every component, not only accounts.
    assert_problem(&customer.client.get("/api/v1/users/me"), 401);
    assert_problem(&customer.client.get("/api/v1/orders"), 401);

    let vendor = shop.anonymous().login(&customer.email, &customer.password);
    assert_eq!(vendor.get("/api/v1/users/me").expect_ok()["role"], "vendor");
    let created = vendor.post(
        "/api/v1/products",
        &acceptance::product("VENDOR-1", "Vendor Vase"),
    );
    assert_eq!(
        created.status, 201,
        "a vendor writes the catalog: {}",
        created.body
    );
}

fn five_failed_logins_throttle_the_account(shop: &Shop) {
    let customer = shop.customer();
    let visitor = shop.anonymous();
    for _ in 0..5 {
        assert_problem(&visitor.try_login(&customer.email, "not the password"), 401);
    }
    // The sixth attempt is refused before any password check, even with the right one.
    let throttled = visitor.try_login(&customer.email, &customer.password);
    assert_problem(&throttled, 429);
    let retry_after: u64 = throttled
        .header("retry-after")
        .and_then(|value| value.parse().ok())
        .unwrap_or_else(|| panic!("429 without a Retry-After in seconds: {:?}", throttled));
    assert!((1..=900).contains(&retry_after), "{retry_after}");
    // Unknown emails are throttled alike, and other accounts are unaffected.
    for _ in 0..5 {
        assert_problem(
            &visitor.try_login("ghost@shop.test", "whatever-password"),
            401,
        );
    }
    assert_problem(
        &visitor.try_login("ghost@shop.test", "whatever-password"),
        429,
    );
    let other = shop.customer();
    visitor.login(&other.email, &other.password);
    // The review's defect: the guesses locked the owner out everywhere. The owner, at
    // another address, still logs in.
    let elsewhere = std::net::Ipv4Addr::new(127, 0, 0, 2);
    let owner = shop.login_from(elsewhere, &customer.email, &customer.password);
    assert_eq!(owner.status, 200, "{}", owner.body);
    assert_problem(&visitor.try_login(&customer.email, &customer.password), 429);
}
