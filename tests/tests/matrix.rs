//! The access matrix: every route of DESIGN §3, generated from one table of who may call
//! it, checked for each kind of caller — nobody, a bad token, a customer, a vendor, an
//! admin, and a token presented to another tenant.

use acceptance::{Claims, Client, JWT_SECRET, Reply, Shop, on_both_stores, sign_hs256, text};
use serde_json::json;

on_both_stores!(every_route_answers_each_caller_as_the_table_says);

/// Who may call a route.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Access {
    /// Anyone, with no token.
    Public,
    /// Any signed-in user (customer, vendor or admin), for their own things.
    Signed,
    /// Admins and vendors (the catalog's writers).
    Writers,
    Admin,
    /// Admins, and components presenting a service token (notifications reading a
    /// customer's email).
    UserReaders,
    /// Proven by a Stripe signature instead of a token: refused with 400 without one.
    Signature,
    /// Proven by the platform operator's `x-operator-key`, which no token replaces: 401.
    Operator,
}

use Access::*;

const NO_ID: &str = "0190d6a2-0000-7000-8000-000000000000";

/// (method, path, who may call it). `{id}` is an id nothing has.
const ROUTES: &[(&str, &str, Access)] = &[
    ("POST", "/api/v1/auth/register", Public),
    ("POST", "/api/v1/auth/login", Public),
    ("GET", "/api/v1/users/me", Signed),
    ("PATCH", "/api/v1/users/me", Signed),
    ("POST", "/api/v1/users/me/password", Signed),
    ("GET", "/api/v1/users/{id}", UserReaders),
    ("PATCH", "/api/v1/users/{id}", Admin),
    ("POST", "/api/v1/tenants", Operator),
    ("GET", "/api/v1/products", Public),
    ("POST", "/api/v1/products", Writers),
    ("GET", "/api/v1/products/{id}", Public),
    ("PATCH", "/api/v1/products/{id}", Writers),
    ("DELETE", "/api/v1/products/{id}", Writers),
    ("GET", "/api/v1/categories", Public),
    ("POST", "/api/v1/categories", Writers),
    ("GET", "/api/v1/search?q=tea", Public),
    ("PUT", "/api/v1/inventory/MATRIX-1", Admin),
    ("GET", "/api/v1/inventory/MATRIX-1", Admin),
    ("POST", "/api/v1/inventory/MATRIX-1/adjust", Admin),
    ("GET", "/api/v1/inventory/MATRIX-1/movements", Admin),
    ("POST", "/api/v1/inventory/check-availability", Public),
    ("GET", "/api/v1/cart", Signed),
    ("POST", "/api/v1/cart/items", Signed),
    ("PUT", "/api/v1/cart/items/MATRIX-1", Signed),
    ("DELETE", "/api/v1/cart/items/MATRIX-1", Signed),
    ("DELETE", "/api/v1/cart", Signed),
    ("POST", "/api/v1/cart/checkout", Signed),
    ("POST", "/api/v1/orders", Signed),
    ("GET", "/api/v1/orders", Signed),
    ("GET", "/api/v1/orders/{id}", Signed),
    ("POST", "/api/v1/orders/{id}/cancel", Signed),
    ("GET", "/api/v1/payments", Admin),
    ("GET", "/api/v1/payments/{id}", Admin),
    ("POST", "/api/v1/payments/{id}/refund", Admin),
    ("POST", "/api/v1/payments/webhook", Signature),
    ("GET", "/api/v1/shipments", Admin),
    ("GET", "/api/v1/shipments/{id}", Admin),
    ("PATCH", "/api/v1/shipments/{id}/status", Admin),
    ("GET", "/api/v1/tracking/FP0000000000AB", Public),
    ("GET", "/health", Public),
    ("GET", "/api/v1/admin/dead-letters", Admin),
    ("POST", "/api/v1/admin/dead-letters/{id}/replay", Admin),
    ("POST", "/api/v1/admin/outbox/sweep", Admin),
];

/// The caller kinds of the matrix, each with the statuses the table allows them.
struct Caller<'a> {
    name: &'static str,
    client: Client<'a>,
    /// Whether the caller may call a route of this kind (else 401 or 403).
    allowed: fn(Access) -> bool,
    /// The refusal this caller gets where not allowed.
    refusal: u16,
}

fn call(client: &Client, method: &str, path: &str) -> Reply {
    let path = path.replace("{id}", NO_ID);
    let request = client.request(method, &path);
    match method {
        "GET" | "DELETE" => request.send(),
        _ => request.json(&json!({})).send(),
    }
}

fn every_route_answers_each_caller_as_the_table_says(shop: &Shop) {
    let admin = shop.admin();
    let customer = shop.customer();
    let vendor = shop.customer();
    admin
        .patch(
            &format!("/api/v1/users/{}", vendor.id),
            &json!({ "role": "vendor" }),
        )
        .expect_ok();
    let vendor = shop.anonymous().login(&vendor.email, &vendor.password);
    let expired = sign_hs256(
        JWT_SECRET,
        &Claims {
            sub: &text(&admin.get("/api/v1/users/me").expect_ok(), "id"),
            role: "admin",
            tenant: "default",
            expires_in: -60,
        },
    );
    // What notifications presents to accounts: a short-lived service token.
    let service = sign_hs256(
        JWT_SECRET,
        &Claims {
            sub: "notifications",
            role: "service",
            tenant: "default",
            expires_in: 60,
        },
    );
    let callers = [
        Caller {
            name: "nobody",
            client: shop.anonymous(),
            allowed: |access| access == Public,
            refusal: 401,
        },
        Caller {
            name: "an expired admin token",
            client: shop.with_token(&expired),
            allowed: |access| access == Public,
            refusal: 401,
        },
        Caller {
            name: "a customer",
            client: customer.client.clone(),
            allowed: |access| matches!(access, Public | Signed),
            refusal: 403,
        },
        Caller {
            name: "a vendor",
            client: vendor,
            allowed: |access| matches!(access, Public | Signed | Writers),
            refusal: 403,
        },
        Caller {
            name: "an admin",
            client: admin.clone(),
            allowed: |access| !matches!(access, Signature | Operator),
            refusal: 403,
        },
        Caller {
            name: "a component's service token",
            client: shop.with_token(&service),
            allowed: |access| access == UserReaders,
            refusal: 403,
        },
        Caller {
            name: "an admin naming another tenant",
            client: admin.clone().in_tenant("someone-else"),
            allowed: |access| access == Signature,
            refusal: 403,
        },
    ];

    let mut wrong = Vec::new();
    for (method, path, access) in ROUTES {
        for caller in &callers {
            // Public reads verify a token when one is sent; register and login ignore it.
            if *access == Public && caller.name != "nobody" {
                continue;
            }
            let reply = call(&caller.client, method, path);
            let refused = matches!(reply.status, 401 | 403);
            let expected = if *access == Signature {
                Some(400)
            } else if *access == Operator {
                Some(401)
            } else if (caller.allowed)(*access) {
                None
            } else {
                Some(caller.refusal)
            };
            let fits = match expected {
                Some(status) => reply.status == status,
                None => !refused && reply.status < 500,
            };
            if !fits {
                wrong.push(format!(
                    "{method} {path} as {}: {} {}",
                    caller.name, reply.status, reply.body
                ));
            }
        }
    }
    assert!(
        wrong.is_empty(),
        "answers against the table:\n{}",
        wrong.join("\n")
    );
}
