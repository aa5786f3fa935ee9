//! Black-box acceptance tests of FusionCommerce: each test starts the real application (the
//! repo's `spin.toml` and the components `scripts/setup` built) on `fusion-host` with its own
//! state, and drives it over HTTP. Every test body is written once and runs on both stores,
//! SQLite and PostgreSQL (see [`on_both_stores!`]).

pub mod bridge;
pub mod faults;
mod problem;
mod shop;
mod stub;
mod token;

pub use problem::{assert_field_error, assert_problem};
pub use shop::{
    ADMIN_EMAIL, ADMIN_PASSWORD, Account, CUSTOMER_PASSWORD, Client, EVENT_SIGNING_KEY, JWT_SECRET,
    OPERATOR_KEY, SERVICE_NAME, Shop, Store,
};
pub use stub::{HttpStub, Received, WEBHOOK_SECRET, signature_header};
pub use testing::{Reply, Request, unique_name};
pub use token::{Claims, sign_hs256, unix_now, unsigned_token, with_forged_role};

use serde_json::{Value, json};

/// Generates, for each named test body `fn name(shop: &Shop)` in scope, the tests
/// `sqlite::name` and `postgres::name`, each on a fresh [`Shop`] of that store (so
/// `cargo test sqlite::` runs one store only).
#[macro_export]
macro_rules! on_both_stores {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[test]
                fn $name() {
                    super::$name(&$crate::Shop::start($crate::Store::Sqlite));
                }
            )*
        }
        mod postgres {
            $(
                #[test]
                fn $name() {
                    super::$name(&$crate::Shop::start($crate::Store::Postgres));
                }
            )*
        }
    };
}

/// Like [`on_both_stores!`] for bodies `fn name(store: Store)` that start their own
/// [`Shop`] (with variables of their own, or beside a stub of a third party).
#[macro_export]
macro_rules! for_both_stores {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[test]
                fn $name() {
                    super::$name($crate::Store::Sqlite);
                }
            )*
        }
        mod postgres {
            $(
                #[test]
                fn $name() {
                    super::$name($crate::Store::Postgres);
                }
            )*
        }
    };
}

/// A valid product to create: `sku` and `name` as given, priced 19.99 EUR.
pub fn product(sku: &str, name: &str) -> Value {
    json!({
        "sku": sku,
        "name": name,
        "description": format!("{name}, as sold by the acceptance tests"),
        "price": 1999,
        "currency": "EUR",
        "brand": "Acme",
        "image_url": "https://images.example.com/p.png",
        "attributes": { "colour": "red" },
    })
}

/// The `items` of a list or search reply, after checking for 200.
pub fn items(reply: &Reply) -> Vec<Value> {
    reply.expect_ok()["items"]
        .as_array()
        .unwrap_or_else(|| panic!("no items array in {}", reply.body))
        .clone()
}

/// A JSON string field, or a panic naming it.
pub fn text(value: &Value, field: &str) -> String {
    value[field]
        .as_str()
        .unwrap_or_else(|| panic!("no string {field:?} in {value}"))
        .to_owned()
}

/// A product priced `price` EUR cents with `on_hand` units in stock, made by `admin`.
pub fn stocked_product(admin: &Client, sku: &str, price: i64, on_hand: i64) -> Value {
    let mut body = product(sku, &format!("Stocked {sku}"));
    body["price"] = json!(price);
    let product = admin.post("/api/v1/products", &body).expect_json(201);
    // A new SKU's stock level is created: 201.
    let stock = admin
        .request("PUT", &format!("/api/v1/inventory/{sku}"))
        .json(&json!({ "on_hand": on_hand }))
        .send()
        .expect_json(201);
    assert_eq!(stock["available"], on_hand, "{stock}");
    product
}

/// A checkout body for `items` (sku, quantity), paid with the payment `token`.
pub fn order_body(items: &[(&str, u32)], token: &str) -> Value {
    json!({
        "items": items
            .iter()
            .map(|(sku, quantity)| json!({ "sku": sku, "quantity": quantity }))
            .collect::<Vec<_>>(),
        "shipping_address": {
            "name": "Casey Customer",
            "line1": "1 Market Street",
            "city": "Lyon",
            "postal_code": "69001",
            "country": "FR",
        },
        "payment": { "token": token },
    })
}

/// Places an order (which must be accepted, 201) and returns it.
pub fn place_order(client: &Client, items: &[(&str, u32)], token: &str) -> Value {
    client
        .post("/api/v1/orders", &order_body(items, token))
        .expect_json(201)
}

/// Polls the order until the saga has moved it to `status`, then waits for the order's
/// events already on their way to be taken (see [`Shop::settle_order`]), so what the
/// other contexts did about the order is there to check; panics with the last state seen
/// after 20 s.
pub fn order_reaching(client: &Client, order_id: &str, status: &str) -> Value {
    let last = std::cell::RefCell::new(Value::Null);
    let reached = eventually(
        || {
            format!(
                "order {order_id} never reached {status}; last seen: {}",
                last.borrow()
            )
        },
        || {
            let order = client
                .get(&format!("/api/v1/orders/{order_id}"))
                .expect_ok();
            let reached = (order["status"] == status).then(|| order.clone());
            *last.borrow_mut() = order;
            reached
        },
    );
    client.shop().settle_order(order_id);
    reached
}

/// The first `Some` that `check` gives, polled every 100 ms for up to 20 s (the saga
/// runs on after an answer); fails with `failure()`'s message when it never comes.
pub fn eventually<T, M: std::fmt::Display>(
    failure: impl FnOnce() -> M,
    mut check: impl FnMut() -> Option<T>,
) -> T {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    loop {
        if let Some(found) = check() {
            return found;
        }
        if std::time::Instant::now() >= deadline {
            panic!("{}", failure());
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
}

/// The stock record of `sku`, read by `admin`.
pub fn stock_of(admin: &Client, sku: &str) -> Value {
    admin.get(&format!("/api/v1/inventory/{sku}")).expect_ok()
}
