//! Black-box acceptance tests of FusionCommerce: each test starts the real application (the
//! repo's `spin.toml` and the components `scripts/setup` built) on `fusion-host` with its own
//! state, and drives it over HTTP. Every test body is written once and runs on both stores,
//! SQLite and PostgreSQL (see [`on_both_stores!`]).

mod problem;
mod shop;
mod token;

pub use problem::{assert_field_error, assert_problem};
pub use shop::{ADMIN_EMAIL, ADMIN_PASSWORD, Account, Client, JWT_SECRET, Shop, Store};
pub use testing::{Reply, unique_name};
pub use token::{Claims, sign_hs256, unsigned_token, with_forged_role};

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
