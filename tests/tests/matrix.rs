//! The access matrix: every operation of the API document (`web/openapi.json`, generated
//! from the route tables, so no route escapes it) is called by each kind of caller —
//! nobody, an expired token, a customer, a vendor, an admin, a component's service token,
//! and an admin naming another tenant — and must answer as the document's access says:
//! its `security` (public, bearer, a key or a signature) and, for a bearer route that
//! names them, its `x-roles`.

use acceptance::{
    Claims, Client, JWT_SECRET, Reply, Shop, Store, for_both_stores, sign_hs256, text,
};
use serde_json::{Value, json};

for_both_stores!(every_operation_answers_each_caller_as_the_document_says);

/// Who may call an operation, as its document says.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Access {
    /// Anyone; a token sent along is ignored (register, login, the pages).
    Public,
    /// Anyone; a token sent along is verified (public reads: a user's token, of the
    /// tenant read).
    PublicOrBearer,
    /// A bearer token of one of these roles.
    Roles(Vec<String>),
    /// Proven by a key or signature no token replaces: every caller here gets `status`
    /// (401 for the operator key and the event signature, 400 for Stripe's).
    Proof { status: u16 },
}

/// The roles of any signed-in user: a bearer route without `x-roles`.
const USER_ROLES: [&str; 3] = ["customer", "vendor", "admin"];

impl Access {
    fn of(operation: &Value) -> Access {
        let schemes: Vec<&str> = operation["security"]
            .as_array()
            .expect("every operation states its security")
            .iter()
            .map(|requirement| {
                requirement
                    .as_object()
                    .unwrap()
                    .keys()
                    .next()
                    .map_or("", String::as_str)
            })
            .collect();
        let roles = || match operation.get("x-roles") {
            Some(roles) => roles
                .as_array()
                .unwrap()
                .iter()
                .map(|role| role.as_str().unwrap().to_owned())
                .collect(),
            None => USER_ROLES.map(str::to_owned).to_vec(),
        };
        match schemes.as_slice() {
            [""] => Access::Public,
            ["", "bearer"] => Access::PublicOrBearer,
            ["bearer"] | ["sweep_key", "bearer"] | ["metrics_key", "bearer"] => {
                Access::Roles(roles())
            }
            ["operator_key"] | ["event_signature"] => Access::Proof { status: 401 },
            ["webhook_signature"] => Access::Proof { status: 400 },
            other => panic!("a security the matrix does not know: {other:?}"),
        }
    }
}

/// A kind of caller.
struct Caller<'a> {
    name: &'static str,
    client: Client<'a>,
    /// The role its token proves in the tenant read (`None`: no valid token for it).
    role: Option<&'static str>,
    /// Whether it sends a token at all (a public read verifies one that is sent).
    sends_token: bool,
}

impl Caller<'_> {
    /// The refusal it gets where it may not call: 401 without a valid token, else 403.
    fn refusal(&self) -> u16 {
        if self.role.is_none() && !self.other_tenant() {
            401
        } else {
            403
        }
    }

    fn other_tenant(&self) -> bool {
        self.name == "an admin naming another tenant"
    }

    /// The status it must get (`None`: any answer that is not a refusal nor a 5xx).
    fn expected(&self, access: &Access) -> Option<u16> {
        let allowed = match access {
            Access::Public => true,
            // A service token reads users only, so it is refused here like another tenant's.
            Access::PublicOrBearer => {
                !self.sends_token || self.role.is_some_and(|role| USER_ROLES.contains(&role))
            }
            Access::Roles(roles) => self
                .role
                .is_some_and(|role| roles.iter().any(|r| r == role)),
            Access::Proof { status } => return Some(*status),
        };
        (!allowed).then(|| self.refusal())
    }
}

/// A value for each path parameter and required query parameter: nothing has these ids.
fn placeholder(name: &str) -> &'static str {
    match name {
        "id" => "0190d6a2-0000-7000-8000-000000000000",
        "sku" => "MATRIX-1",
        "tracking_number" => "FP0000000000AB",
        "file" => "matrix.js",
        "q" => "tea",
        other => panic!("no placeholder for the parameter {other}"),
    }
}

/// The path to call for `template` with `operation`'s required query parameters.
fn concrete(template: &str, operation: &Value) -> String {
    let mut path = template.to_owned();
    let mut query = Vec::new();
    for parameter in operation["parameters"].as_array().into_iter().flatten() {
        let name = parameter["name"].as_str().unwrap();
        match parameter["in"].as_str().unwrap() {
            "path" => path = path.replace(&format!("{{{name}}}"), placeholder(name)),
            "query" if parameter["required"] == true => {
                query.push(format!("{name}={}", placeholder(name)));
            }
            _ => {}
        }
    }
    if query.is_empty() {
        path
    } else {
        format!("{path}?{}", query.join("&"))
    }
}

fn call(client: &Client, method: &str, path: &str) -> Reply {
    let request = client.request(method, path);
    match method {
        "GET" | "DELETE" => request.send(),
        _ => request.json(&json!({})).send(),
    }
}

fn every_operation_answers_each_caller_as_the_document_says(store: Store) {
    // Every caller calls every operation: the edge's rate limit would answer 429.
    let shop = Shop::start_unthrottled(store);
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
            role: None,
            sends_token: false,
        },
        Caller {
            name: "an expired admin token",
            client: shop.with_token(&expired),
            role: None,
            sends_token: true,
        },
        Caller {
            name: "a customer",
            client: customer.client.clone(),
            role: Some("customer"),
            sends_token: true,
        },
        Caller {
            name: "a vendor",
            client: vendor,
            role: Some("vendor"),
            sends_token: true,
        },
        Caller {
            name: "an admin",
            client: admin.clone(),
            role: Some("admin"),
            sends_token: true,
        },
        Caller {
            name: "a component's service token",
            client: shop.with_token(&service),
            role: Some("service"),
            sends_token: true,
        },
        Caller {
            name: "an admin naming another tenant",
            client: admin.clone().in_tenant("someone-else"),
            role: None,
            sends_token: true,
        },
    ];

    let document: Value = serde_json::from_str(include_str!("../../web/openapi.json")).unwrap();
    let mut operations = 0;
    let mut wrong = Vec::new();
    for (template, methods) in document["paths"].as_object().unwrap() {
        for (method, operation) in methods.as_object().unwrap() {
            let method = method.to_uppercase();
            let access = Access::of(operation);
            let path = concrete(template, operation);
            operations += 1;
            for caller in &callers {
                let reply = call(&caller.client, &method, &path);
                let fits = match caller.expected(&access) {
                    Some(status) => reply.status == status,
                    None => !matches!(reply.status, 401 | 403) && reply.status < 500,
                };
                if !fits {
                    wrong.push(format!(
                        "{method} {path} ({access:?}) as {}: {} {}",
                        caller.name, reply.status, reply.body
                    ));
                }
            }
        }
    }
    // The document holds every route (crates/openapi/tests/document.rs): a matrix much
    // smaller than it read nothing.
    assert!(
        operations > 80,
        "only {operations} operations in the document"
    );
    assert!(
        wrong.is_empty(),
        "answers against the document:\n{}",
        wrong.join("\n")
    );
}
