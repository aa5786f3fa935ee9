//! The shipping address and payment token a customer gives at checkout (DESIGN §3), and
//! their rules. Orders' checkout and a campaign join take them alike: a campaign
//! participant's order is placed with what they gave when joining.

use crate::json::FieldErrors;
use serde::Deserialize;

pub const MAX_ADDRESS_CHARS: usize = 200;
pub const MAX_TOKEN_CHARS: usize = 255;

#[derive(Debug, Clone, PartialEq, Eq, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ShippingAddress {
    pub name: String,
    pub line1: String,
    pub city: String,
    pub postal_code: String,
    /// ISO 3166-1 alpha-2, upper case (`GB`, `DE`).
    pub country: String,
}

impl ShippingAddress {
    /// The address as stored and sent on: each field trimmed.
    pub fn to_contract(&self) -> contracts::Address {
        contracts::Address {
            name: self.name.trim().to_owned(),
            line1: self.line1.trim().to_owned(),
            city: self.city.trim().to_owned(),
            postal_code: self.postal_code.trim().to_owned(),
            country: self.country.clone(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = CheckoutPayment)]
pub struct Payment {
    /// The payment provider's token id, e.g. Stripe's `tok_visa`.
    pub token: String,
}

/// Checks the address (each line 1 to [`MAX_ADDRESS_CHARS`] characters once trimmed, an
/// ISO country code) and the token (1 to [`MAX_TOKEN_CHARS`]), naming the fields as the
/// body spells them (`shipping_address.country`, `payment.token`).
pub fn check_shipping_and_payment(
    address: &ShippingAddress,
    payment: &Payment,
    errors: &mut FieldErrors,
) {
    for (field, value) in [
        ("name", &address.name),
        ("line1", &address.line1),
        ("city", &address.city),
        ("postal_code", &address.postal_code),
    ] {
        errors.check(
            (1..=MAX_ADDRESS_CHARS).contains(&value.trim().chars().count()),
            &format!("shipping_address.{field}"),
            &format!("must be 1 to {MAX_ADDRESS_CHARS} characters"),
        );
    }
    errors.check(
        address.country.len() == 2 && address.country.bytes().all(|b| b.is_ascii_uppercase()),
        "shipping_address.country",
        "must be an ISO 3166-1 alpha-2 code such as GB or DE",
    );
    errors.check(
        (1..=MAX_TOKEN_CHARS).contains(&payment.token.chars().count()),
        "payment.token",
        &format!("must be 1 to {MAX_TOKEN_CHARS} characters"),
    );
}
