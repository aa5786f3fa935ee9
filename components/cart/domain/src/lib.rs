//! The cart context: each customer's cart in Spin key-value (a SQLite file locally,
//! Redis in production), priced live from the catalog, checked out through orders.
//!
//! The store is reached through the small [`KeyValue`] trait (the Spin store in the api
//! component, an in-memory one in the tests). [`cart`] lays the cart out so that
//! concurrent updates of different lines never write the same key and no added line is
//! ever lost, with only get/set/delete (no compare-and-swap); [`index`] holds the
//! argument. Request rules ([`requests`]), pricing ([`pricing`]) and the checkout's
//! order and refusals ([`checkout`]) are pure; the catalog and orders calls go through
//! their clients in `contracts::clients`.

pub mod cart;
pub mod checkout;
pub mod index;
pub mod key_value;
#[cfg(test)]
mod memory;
pub mod pricing;
pub mod requests;

pub use cart::{Line, Owner};
pub use checkout::{new_order, refusal};
pub use key_value::{KeyValue, StoreError};
pub use pricing::{CartItem, CartView, CatalogProduct, price_cart};
pub use requests::{AddItem, CheckoutRequest, SetQuantity, check_sku};

use kit::{FieldError, Problem};
use std::fmt;

/// Most lines a cart holds: the most one order takes.
pub const MAX_LINES: usize = 100;
/// Most units one line holds: the most one order line takes.
pub const MAX_LINE_QUANTITY: u32 = 1_000;
/// The catalog's longest sku.
pub const MAX_SKU_CHARS: usize = 64;

#[derive(Debug)]
pub enum CartError {
    /// The input breaks a rule; every broken field named (422).
    Invalid(Vec<FieldError>),
    /// The cart has no line of this sku (404).
    NoSuchLine,
    /// A new line would pass [`MAX_LINES`] (409).
    TooManyLines,
    /// The cart's index is full of skus once added; clearing the cart resets it (409).
    TooManyChanges,
    /// The key-value store failed (503).
    Store(StoreError),
}

impl From<StoreError> for CartError {
    fn from(error: StoreError) -> Self {
        CartError::Store(error)
    }
}

impl fmt::Display for CartError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CartError::Invalid(errors) => {
                let fields: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
                write!(f, "invalid fields: {}", fields.join(", "))
            }
            CartError::NoSuchLine => f.write_str("the cart has no line of this sku"),
            CartError::TooManyLines => {
                write!(
                    f,
                    "the cart already holds {MAX_LINES} lines, the most one order takes"
                )
            }
            CartError::TooManyChanges => f.write_str(
                "the cart has held too many different skus since it was last emptied; clear it",
            ),
            CartError::Store(error) => error.fmt(f),
        }
    }
}

impl std::error::Error for CartError {}

/// The HTTP answer. A store error becomes a bare 503: the caller logs it first.
impl From<CartError> for Problem {
    fn from(error: CartError) -> Self {
        match error {
            CartError::Invalid(errors) => Problem::validation(errors),
            CartError::NoSuchLine => Problem::not_found(error.to_string()),
            CartError::TooManyLines | CartError::TooManyChanges => {
                Problem::conflict(error.to_string())
            }
            CartError::Store(_) => Problem::unavailable("the cart store is unavailable"),
        }
    }
}

/// The API logs the store failure before its bare answer.
impl kit::DomainError for CartError {
    fn db_cause(&self) -> Option<&dyn std::fmt::Display> {
        match self {
            CartError::Store(cause) => Some(cause),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_map_to_their_status() {
        let cases = [
            (
                CartError::Invalid(vec![FieldError::new("sku", "unknown")]),
                422,
            ),
            (CartError::NoSuchLine, 404),
            (CartError::TooManyLines, 409),
            (CartError::TooManyChanges, 409),
            (CartError::Store(StoreError("down".into())), 503),
        ];
        for (error, status) in cases {
            let problem = Problem::from(error);
            assert_eq!(problem.status, status, "{problem}");
        }
    }
}
