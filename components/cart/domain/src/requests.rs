//! The bodies of the cart's writes and their rules.

use crate::{MAX_LINE_QUANTITY, MAX_SKU_CHARS};
use kit::FieldError;
use kit::json::{FieldErrors, Validate};
use serde::Deserialize;
use serde_json::{Map, Value};

/// The catalog's sku rule: 1 to 64 of `[A-Za-z0-9._-]`. A sku outside it names no
/// product, and the rule keeps skus safe inside store keys and the catalog's
/// comma-separated filter.
pub fn check_sku(sku: &str) -> Result<(), String> {
    if sku.is_empty() {
        Err("must not be empty".into())
    } else if sku.len() > MAX_SKU_CHARS {
        Err(format!("must be at most {MAX_SKU_CHARS} characters"))
    } else if !sku
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
    {
        Err("may contain only letters, digits, '.', '_' and '-'".into())
    } else {
        Ok(())
    }
}

/// `POST /api/v1/cart/items`: add `quantity` of `sku` to its line.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AddItem {
    /// A product on sale.
    #[schema(pattern = "^[A-Za-z0-9._-]{1,64}$")]
    pub sku: String,
    /// Units to add; the line then holds at most 1000.
    #[schema(minimum = 1, maximum = 1000)]
    pub quantity: u32,
}

impl Validate for AddItem {
    fn validate(&self) -> Result<(), Vec<FieldError>> {
        let mut errors = FieldErrors::new();
        if let Err(message) = check_sku(&self.sku) {
            errors.push("sku", message);
        }
        errors.check(
            (1..=MAX_LINE_QUANTITY).contains(&self.quantity),
            "quantity",
            &format!("must be from 1 to {MAX_LINE_QUANTITY}"),
        );
        errors.into_result()
    }
}

/// `PUT /api/v1/cart/items/{sku}`: the line's new quantity; 0 removes it.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SetQuantity {
    #[schema(minimum = 0, maximum = 1000)]
    pub quantity: u32,
}

impl Validate for SetQuantity {
    fn validate(&self) -> Result<(), Vec<FieldError>> {
        let mut errors = FieldErrors::new();
        errors.check(
            self.quantity <= MAX_LINE_QUANTITY,
            "quantity",
            &format!("must be from 0 (remove) to {MAX_LINE_QUANTITY}"),
        );
        errors.into_result()
    }
}

/// `POST /api/v1/cart/checkout`: where to ship and how to pay. Their fields are the
/// orders context's to judge: they are passed on as given, and its 422 names them by
/// the same paths (`shipping_address.city`, `payment.token`).
///
/// The cart reads each as any JSON object; the schemas given are what the orders
/// context then takes.
#[derive(Debug, Clone, PartialEq, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CheckoutRequest {
    #[schema(value_type = kit::checkout::ShippingAddress)]
    pub shipping_address: Map<String, Value>,
    #[schema(value_type = kit::checkout::Payment)]
    pub payment: Map<String, Value>,
    /// A promotion's code, passed on to the order (which judges it).
    #[serde(default)]
    #[schema(min_length = 1, max_length = 32)]
    pub code: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use kit::json::{parse, parse_valid};

    fn field_of<T: serde::de::DeserializeOwned + Validate + std::fmt::Debug>(body: &str) -> String {
        let problem = parse_valid::<T>(body.as_bytes()).unwrap_err();
        assert_eq!(problem.status, 422, "{body}: {problem}");
        problem.errors[0].field.clone()
    }

    #[test]
    fn skus_follow_the_catalog_rule() {
        for sku in ["MUG-1", "a.b_c-9", &"S".repeat(64)] {
            assert!(check_sku(sku).is_ok(), "{sku}");
        }
        for sku in ["", &"S".repeat(65), "A,B", "a b", "x:y", "é", "a/b"] {
            assert!(check_sku(sku).is_err(), "{sku}");
        }
    }

    #[test]
    fn an_add_names_each_broken_field() {
        let item = parse_valid::<AddItem>(&br#"{"sku": "MUG-1", "quantity": 3}"#[..]).unwrap();
        assert_eq!(
            item,
            AddItem {
                sku: "MUG-1".into(),
                quantity: 3
            }
        );
        for (body, field) in [
            (r#"{"sku": "", "quantity": 1}"#, "sku"),
            (r#"{"sku": "A,B", "quantity": 1}"#, "sku"),
            (r#"{"sku": 5, "quantity": 1}"#, "sku"),
            (r#"{"quantity": 1}"#, "sku"),
            (r#"{"sku": "MUG-1", "quantity": 0}"#, "quantity"),
            (r#"{"sku": "MUG-1", "quantity": 1001}"#, "quantity"),
            (r#"{"sku": "MUG-1", "quantity": -1}"#, "quantity"),
            (r#"{"sku": "MUG-1", "quantity": 1.5}"#, "quantity"),
            (r#"{"sku": "MUG-1"}"#, "quantity"),
            (r#"{"sku": "MUG-1", "quantity": 1, "price": 1}"#, "price"),
        ] {
            assert_eq!(field_of::<AddItem>(body), field, "{body}");
        }
        let problem = parse_valid::<AddItem>(&br#"{"sku": "", "quantity": 0}"#[..]).unwrap_err();
        assert_eq!(problem.errors.len(), 2);
        assert_eq!(parse_valid::<AddItem>(&b"{"[..]).unwrap_err().status, 400);
    }

    #[test]
    fn a_set_takes_0_to_1000() {
        for quantity in [0, 1, 1000] {
            let body = format!(r#"{{"quantity": {quantity}}}"#);
            assert_eq!(
                parse_valid::<SetQuantity>(body.as_bytes())
                    .unwrap()
                    .quantity,
                quantity
            );
        }
        for body in [
            r#"{"quantity": 1001}"#,
            r#"{"quantity": -1}"#,
            r#"{}"#,
            r#"{"quantity": "2"}"#,
        ] {
            assert_eq!(field_of::<SetQuantity>(body), "quantity", "{body}");
        }
        assert_eq!(
            field_of::<SetQuantity>(r#"{"quantity": 1, "sku": "A"}"#),
            "sku"
        );
    }

    #[test]
    fn a_checkout_needs_both_objects_and_nothing_else() {
        let body = r#"{"shipping_address": {"city": "Lyon"}, "payment": {"token": "tok_visa"}}"#;
        let checkout = parse::<CheckoutRequest>(body.as_bytes()).unwrap();
        assert_eq!(checkout.payment["token"], "tok_visa");
        for (body, field) in [
            (r#"{"payment": {}}"#, "shipping_address"),
            (r#"{"shipping_address": {}}"#, "payment"),
            (
                r#"{"shipping_address": "Lyon", "payment": {}}"#,
                "shipping_address",
            ),
            (
                r#"{"shipping_address": {}, "payment": {}, "items": []}"#,
                "items",
            ),
        ] {
            let problem = parse::<CheckoutRequest>(body.as_bytes()).unwrap_err();
            assert_eq!(problem.status, 422, "{body}");
            assert_eq!(problem.errors[0].field, field, "{body}");
        }
    }
}
