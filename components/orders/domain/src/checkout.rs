//! The checkout body of `POST /api/v1/orders` and the cancel, reject and approve bodies,
//! with their rules.

use kit::FieldError;
use kit::checkout::check_shipping_and_payment;
pub use kit::checkout::{MAX_ADDRESS_CHARS, MAX_TOKEN_CHARS, Payment, ShippingAddress};
use kit::json::{FieldErrors, Validate};
use serde::Deserialize;
use serde::de::IgnoredAny;

pub const MAX_ITEMS: usize = 100;
pub const MAX_QUANTITY: u32 = 1_000;
/// The catalog's own limit: a longer sku names no product.
pub const MAX_SKU_CHARS: usize = 64;
pub const MAX_REASON_CHARS: usize = 500;
pub use crate::promotions::MAX_CODE_CHARS;

/// `POST /api/v1/orders`: what to buy, where to send it and how to pay. Prices are
/// never taken from the client.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewOrder {
    /// 1 to 100 lines, each sku once.
    #[schema(min_items = 1, max_items = 100)]
    pub items: Vec<NewOrderItem>,
    pub shipping_address: ShippingAddress,
    pub payment: Payment,
    /// A promotion's code (case does not matter): its discount, priced on the server.
    #[serde(default)]
    #[schema(min_length = 1, max_length = 32)]
    pub code: Option<String>,
}

/// One line of the checkout. A client may echo an order line's price fields; DESIGN
/// §3 says they are ignored, so they are accepted and dropped rather than refused.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewOrderItem {
    #[schema(min_length = 1, max_length = 64)]
    pub sku: String,
    #[schema(minimum = 1, maximum = 1000)]
    pub quantity: u32,
    /// Accepted and ignored: prices are never taken from the client.
    #[serde(default, rename = "price")]
    #[schema(value_type = serde_json::Value)]
    _price: IgnoredAny,
    /// Accepted and ignored.
    #[serde(default, rename = "unit_price")]
    #[schema(value_type = serde_json::Value)]
    _unit_price: IgnoredAny,
    /// Accepted and ignored.
    #[serde(default, rename = "line_total")]
    #[schema(value_type = serde_json::Value)]
    _line_total: IgnoredAny,
}

impl NewOrderItem {
    pub fn new(sku: impl Into<String>, quantity: u32) -> Self {
        Self {
            sku: sku.into(),
            quantity,
            _price: IgnoredAny,
            _unit_price: IgnoredAny,
            _line_total: IgnoredAny,
        }
    }
}

impl Validate for NewOrder {
    fn validate(&self) -> Result<(), Vec<FieldError>> {
        let mut errors = FieldErrors::new();
        check_items(
            self.items
                .iter()
                .map(|item| (item.sku.as_str(), item.quantity)),
            &mut errors,
        );
        check_shipping_and_payment(&self.shipping_address, &self.payment, &mut errors);
        errors.check(
            self.code
                .as_deref()
                .is_none_or(|code| (1..=MAX_CODE_CHARS).contains(&code.trim().chars().count())),
            "code",
            &format!("must be 1 to {MAX_CODE_CHARS} characters"),
        );
        errors.into_result()
    }
}

/// `POST /api/v1/orders/{id}/cancel` and `/reject`; the body is optional.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CancelRequest {
    /// Recorded as the order's `status_reason` (trimmed; blank is none).
    #[serde(default)]
    #[schema(max_length = 500)]
    pub reason: Option<String>,
}

impl CancelRequest {
    /// The reason as stored (see [`reason_as_stored`]).
    pub fn reason(&self) -> Option<String> {
        reason_as_stored(self.reason.as_deref())
    }
}

/// A reason someone typed as it is stored: trimmed, `None` when blank.
pub(crate) fn reason_as_stored(reason: Option<&str>) -> Option<String> {
    reason
        .map(str::trim)
        .filter(|reason| !reason.is_empty())
        .map(str::to_owned)
}

impl Validate for CancelRequest {
    fn validate(&self) -> Result<(), Vec<FieldError>> {
        let mut errors = FieldErrors::new();
        check_reason(self.reason.as_deref(), &mut errors);
        errors.into_result()
    }
}

/// The rules of a `reason` someone types: at most [`MAX_REASON_CHARS`].
pub(crate) fn check_reason(reason: Option<&str>, errors: &mut FieldErrors) {
    errors.check(
        reason.is_none_or(|reason| reason.chars().count() <= MAX_REASON_CHARS),
        "reason",
        &format!("must be at most {MAX_REASON_CHARS} characters"),
    );
}

/// The rules of a list of (sku, quantity) `items`, an order's or a return's: 1 to
/// [`MAX_ITEMS`] of them, each sku given once and 1 to [`MAX_SKU_CHARS`] long, each
/// quantity 1 to [`MAX_QUANTITY`].
pub(crate) fn check_items<'a>(
    items: impl IntoIterator<Item = (&'a str, u32)>,
    errors: &mut FieldErrors,
) {
    let items: Vec<(&str, u32)> = items.into_iter().collect();
    errors.check(
        (1..=MAX_ITEMS).contains(&items.len()),
        "items",
        &format!("must list 1 to {MAX_ITEMS} items"),
    );
    for (i, (sku, quantity)) in items.iter().enumerate() {
        let sku_field = format!("items[{i}].sku");
        if sku.trim().is_empty() {
            errors.push(&sku_field, "must not be empty");
        } else if sku.chars().count() > MAX_SKU_CHARS {
            errors.push(
                &sku_field,
                format!("must be at most {MAX_SKU_CHARS} characters"),
            );
        } else if items[..i].iter().any(|(earlier, _)| earlier == sku) {
            errors.push(
                &sku_field,
                "appears in another item; give each sku once with its total quantity",
            );
        }
        errors.check(
            (1..=MAX_QUANTITY).contains(quantity),
            &format!("items[{i}].quantity"),
            &format!("must be from 1 to {MAX_QUANTITY}"),
        );
    }
}

/// `POST /api/v1/orders/{id}/approve`: the body is optional and, when sent, an empty
/// object (no field means anything there yet).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ApproveRequest {}

impl Validate for ApproveRequest {
    fn validate(&self) -> Result<(), Vec<FieldError>> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use kit::json::parse_valid;
    use serde_json::{Value, json};

    fn body() -> Value {
        json!({
            "items": [{"sku": "MUG-1", "quantity": 2}, {"sku": "TEA-1", "quantity": 1}],
            "shipping_address": {
                "name": "Ada Lovelace", "line1": "12 St James's Square", "city": "London",
                "postal_code": "SW1Y 4JH", "country": "GB"
            },
            "payment": {"token": "tok_visa"}
        })
    }

    fn parse(value: &Value) -> Result<NewOrder, kit::Problem> {
        parse_valid::<NewOrder>(value.to_string().as_bytes())
    }

    fn fields(value: &Value) -> Vec<String> {
        let problem = parse(value).unwrap_err();
        assert_eq!(problem.status, 422, "{problem}");
        problem.errors.into_iter().map(|e| e.field).collect()
    }

    fn with(change: impl Fn(&mut Value)) -> Value {
        let mut value = body();
        change(&mut value);
        value
    }

    #[test]
    fn a_valid_checkout_parses() {
        let order = parse(&body()).unwrap();
        assert_eq!(order.items.len(), 2);
        assert_eq!(order.items[0].sku, "MUG-1");
        assert_eq!(order.items[0].quantity, 2);
        assert_eq!(order.payment.token, "tok_visa");
        assert_eq!(order.shipping_address.to_contract().postal_code, "SW1Y 4JH");
    }

    #[test]
    fn client_prices_are_accepted_and_ignored() {
        let value = with(|v| {
            v["items"][0]["unit_price"] = json!(1);
            v["items"][0]["price"] = json!("free");
            v["items"][1]["line_total"] = json!(0);
        });
        let order = parse(&value).unwrap();
        assert_eq!(order.items[0].sku, "MUG-1");
        // Any other unknown field is still refused, named.
        assert_eq!(
            fields(&with(|v| v["items"][0]["discount"] = json!(5))),
            ["items[0].discount"]
        );
        assert_eq!(fields(&with(|v| v["coupon"] = json!("X"))), ["coupon"]);
        assert_eq!(
            fields(&with(|v| v["payment"]["card_number"] = json!("4242"))),
            ["payment.card_number"]
        );
    }

    #[test]
    fn items_are_1_to_100_with_quantities_1_to_1000() {
        assert_eq!(fields(&with(|v| v["items"] = json!([]))), ["items"]);
        let many: Vec<Value> = (0..101)
            .map(|n| json!({"sku": format!("S{n}"), "quantity": 1}))
            .collect();
        assert_eq!(fields(&with(|v| v["items"] = json!(many))), ["items"]);
        let hundred: Vec<Value> = (0..100)
            .map(|n| json!({"sku": format!("S{n}"), "quantity": 1000}))
            .collect();
        assert!(parse(&with(|v| v["items"] = json!(hundred))).is_ok());
        assert_eq!(
            fields(&with(|v| v["items"][1]["quantity"] = json!(0))),
            ["items[1].quantity"]
        );
        assert_eq!(
            fields(&with(|v| v["items"][0]["quantity"] = json!(1001))),
            ["items[0].quantity"]
        );
        assert_eq!(
            fields(&with(|v| v["items"][0]["quantity"] = json!(-1))),
            ["items[0].quantity"]
        );
        assert_eq!(
            fields(&with(|v| v["items"][0]["quantity"] = json!(1.5))),
            ["items[0].quantity"]
        );
    }

    #[test]
    fn skus_are_non_empty_short_and_each_given_once() {
        assert_eq!(
            fields(&with(|v| v["items"][1]["sku"] = json!(" "))),
            ["items[1].sku"]
        );
        assert_eq!(
            fields(&with(|v| v["items"][1]["sku"] = json!("S".repeat(65)))),
            ["items[1].sku"]
        );
        assert!(parse(&with(|v| v["items"][1]["sku"] = json!("S".repeat(64)))).is_ok());
        assert_eq!(
            fields(&with(|v| v["items"][1]["sku"] = json!("MUG-1"))),
            ["items[1].sku"]
        );
        assert_eq!(
            fields(&with(|v| v["items"][0]
                .as_object_mut()
                .unwrap()
                .remove("sku")
                .map(drop)
                .unwrap())),
            ["items[0].sku"]
        );
    }

    #[test]
    fn the_address_is_complete_and_the_country_iso() {
        for field in ["name", "line1", "city", "postal_code"] {
            assert_eq!(
                fields(&with(|v| v["shipping_address"][field] = json!("  "))),
                [format!("shipping_address.{field}")]
            );
            assert_eq!(
                fields(&with(
                    |v| v["shipping_address"][field] = json!("x".repeat(201))
                )),
                [format!("shipping_address.{field}")]
            );
        }
        assert!(
            parse(&with(
                |v| v["shipping_address"]["city"] = json!("é".repeat(200))
            ))
            .is_ok()
        );
        for country in ["gb", "GBR", "G", "", "G1", "ÜB"] {
            assert_eq!(
                fields(&with(|v| v["shipping_address"]["country"] = json!(country))),
                ["shipping_address.country"],
                "{country}"
            );
        }
        assert_eq!(
            fields(&with(|v| v["shipping_address"]
                .as_object_mut()
                .unwrap()
                .remove("city")
                .map(drop)
                .unwrap())),
            ["shipping_address.city"]
        );
    }

    #[test]
    fn the_payment_token_is_1_to_255_characters() {
        assert_eq!(
            fields(&with(|v| v["payment"]["token"] = json!(""))),
            ["payment.token"]
        );
        assert_eq!(
            fields(&with(|v| v["payment"]["token"] = json!("t".repeat(256)))),
            ["payment.token"]
        );
        assert_eq!(
            fields(&with(|v| v["payment"] = json!({}))),
            ["payment.token"]
        );
    }

    #[test]
    fn every_broken_rule_is_listed() {
        let value = with(|v| {
            v["items"][0]["quantity"] = json!(0);
            v["shipping_address"]["country"] = json!("uk");
            v["payment"]["token"] = json!("");
        });
        assert_eq!(
            fields(&value),
            [
                "items[0].quantity",
                "shipping_address.country",
                "payment.token"
            ]
        );
    }

    #[test]
    fn cancel_reasons_are_optional_and_bounded() {
        let parse = |text: &str| parse_valid::<CancelRequest>(text.as_bytes());
        assert_eq!(parse("{}").unwrap().reason(), None);
        assert_eq!(parse(r#"{"reason": "  "}"#).unwrap().reason(), None);
        assert_eq!(
            parse(r#"{"reason": " changed my mind "}"#)
                .unwrap()
                .reason(),
            Some("changed my mind".into())
        );
        let long = json!({"reason": "r".repeat(501)}).to_string();
        assert_eq!(parse(&long).unwrap_err().errors[0].field, "reason");
        assert_eq!(parse(r#"{"why": "x"}"#).unwrap_err().errors[0].field, "why");
    }

    #[test]
    fn approvals_take_an_empty_object() {
        assert_eq!(
            parse_valid::<ApproveRequest>(&b"{}"[..]).unwrap(),
            ApproveRequest {}
        );
        let problem = parse_valid::<ApproveRequest>(&br#"{"reason": "ok"}"#[..]).unwrap_err();
        assert_eq!(problem.errors[0].field, "reason");
    }
}
