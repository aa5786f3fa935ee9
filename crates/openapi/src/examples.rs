//! An example of every request body the API takes, shown by the reference page and sent
//! by Schemathesis' examples phase. `Op::body` takes only a type with one, and checks at
//! generation time that the example parses as that type, so an example that drifts from
//! its type fails `cargo test -p openapi`.

use serde::de::DeserializeOwned;
use serde_json::{Value, json};
use utoipa::ToSchema;

/// A request body type and an example of it.
pub(crate) trait Example: ToSchema + DeserializeOwned {
    fn example() -> Value;
}

/// Implements [`Example`] for each type with its JSON.
macro_rules! examples {
    ($($type:ty => $json:tt),* $(,)?) => {
        $(impl Example for $type {
            fn example() -> Value {
                json!($json)
            }
        })*
    };
}

fn address() -> Value {
    json!({
        "name": "Ada Lovelace",
        "line1": "12 St James's Square",
        "city": "London",
        "postal_code": "SW1Y 4LB",
        "country": "GB"
    })
}

fn payment() -> Value {
    json!({ "token": "tok_visa" })
}

examples! {
    accounts_domain::Registration =>
        { "email": "ada@example.com", "password": "correct horse battery", "name": "Ada" },
    accounts_domain::Credentials =>
        { "email": "ada@example.com", "password": "correct horse battery" },
    accounts_domain::ProfileUpdate => { "name": "Ada Lovelace" },
    accounts_domain::PasswordChange =>
        { "current_password": "correct horse battery", "new_password": "a longer passphrase" },
    accounts_domain::RoleChange => { "role": "vendor" },
    accounts_domain::NewTenant => {
        "id": "acme",
        "admin": { "email": "owner@acme.test", "password": "a long password", "name": "Olive" }
    },
    catalog_domain::NewProduct => {
        "sku": "TEA-1",
        "name": "Green tea",
        "description": "Sencha, 100 g",
        "price": 1250,
        "currency": "EUR",
        "brand": "Kettle & Leaf",
        "attributes": { "origin": "Shizuoka" }
    },
    catalog_domain::ProductPatch => { "price": 1150, "brand": null },
    catalog_domain::NewCategory => { "name": "Tea", "slug": "tea" },
    cart_domain::AddItem => { "sku": "TEA-1", "quantity": 2 },
    cart_domain::SetQuantity => { "quantity": 3 },
    cart_domain::CheckoutRequest => { "shipping_address": (address()), "payment": (payment()) },
    orders_domain::NewOrder => {
        "items": [{ "sku": "TEA-1", "quantity": 2 }],
        "shipping_address": (address()),
        "payment": (payment())
    },
    orders_domain::CancelRequest => { "reason": "Ordered twice by mistake" },
    orders_domain::ApproveRequest => {},
    orders_domain::NewPromotion => {
        "name": "Spring sale",
        "code": "SPRING10",
        "percentage": 10,
        "category_ids": ["0190a1b2-0000-7000-8000-0000000000c1"],
        "ends_at": "2099-06-01T00:00:00Z",
        "min_subtotal": 2000,
        "usage_limit": 500,
        "per_customer_limit": 1
    },
    orders_domain::PromotionChange => { "active": false },
    orders_domain::NewReturn =>
        { "items": [{ "sku": "TEA-1", "quantity": 1 }], "reason": "The tin arrived dented" },
    inventory_domain::SetOnHand => { "on_hand": 120 },
    inventory_domain::Adjustment => { "delta": -2, "reason": "Damaged in the warehouse" },
    inventory_domain::AvailabilityQuery =>
        { "items": [{ "sku": "TEA-1", "quantity": 2 }, { "sku": "MUG-7", "quantity": 1 }] },
    payments_domain::RefundBody => { "amount": 500 },
    shipping_domain::StatusChange =>
        { "status": "in_transit", "location": "London hub", "note": "Left the depot" },
    campaigns_domain::NewCampaign => {
        "name": "Tea club: 20 tins at 30% off",
        "sku": "TEA-1",
        "price": 875,
        "original_price": 1250,
        "currency": "EUR",
        "min_participants": 20,
        "max_participants": 100,
        "ends_at": "2099-01-31T23:00:00Z"
    },
    campaigns_domain::JoinRequest => { "shipping_address": (address()), "payment": (payment()) },
    ops_api::routes::RelayClaim => { "context": "orders", "limit": 500 },
    ops_api::routes::RelaySettle => {
        "context": "orders",
        "published": [{ "id": "0193a6f4-7c1e-7d2a-9b41-3f0e5a6c7d80", "attempts": 0, "lease_until": 1765100000000_i64 }],
        "failed": []
    },
    ops_api::routes::RelayDeadLetter => {
        "handler": "inventory-on-order-created",
        "event": { "specversion": "1.0", "type": "order.created", "id": "0193a6f4-7c1e-7d2a-9b41-3f0e5a6c7d81" },
        "error": "the handler answered 422 five times",
        "attempts": 5
    },
}
