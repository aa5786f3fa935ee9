//! Checkout: the order the cart asks the orders component for (through the orders
//! client), and how a refusal is passed on. Pure.

use crate::cart::Line;
use crate::requests::CheckoutRequest;
use contracts::clients::orders::{NewOrder, OrderItem};
use http::StatusCode;
use kit::Problem;

/// The order of the cart's lines, in the cart's order (so the orders' `items[i]` is the
/// cart's i-th line), with the checkout's address and payment.
pub fn new_order<'a>(lines: &'a [Line], checkout: &'a CheckoutRequest) -> NewOrder<'a> {
    NewOrder {
        items: lines
            .iter()
            .map(|line| OrderItem {
                sku: &line.sku,
                quantity: line.quantity,
            })
            .collect(),
        shipping_address: &checkout.shipping_address,
        payment: &checkout.payment,
        code: checkout.code.as_deref(),
    }
}

/// The problem a refusal (a 4xx of `status`) is passed on as: the orders' own problem
/// when the body is one of that status, else a generic one.
pub fn refusal(status: StatusCode, body: &[u8]) -> Problem {
    serde_json::from_slice::<Problem>(body)
        .ok()
        .filter(|problem| problem.status == status.as_u16())
        .unwrap_or_else(|| {
            Problem::new(
                status,
                "order-refused",
                "the orders service refused the order",
            )
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use kit::FieldError;
    use serde_json::json;

    #[test]
    fn the_order_carries_the_lines_address_and_payment() {
        let checkout: CheckoutRequest = serde_json::from_value(json!({
            "shipping_address": {"name": "Ada", "city": "London", "extra": 1},
            "payment": {"token": "tok_visa"}
        }))
        .unwrap();
        let lines = [
            Line {
                sku: "MUG-1".into(),
                quantity: 2,
            },
            Line {
                sku: "TEA-1".into(),
                quantity: 1,
            },
        ];
        assert_eq!(
            serde_json::to_value(new_order(&lines, &checkout)).unwrap(),
            json!({
                "items": [{"sku": "MUG-1", "quantity": 2}, {"sku": "TEA-1", "quantity": 1}],
                "shipping_address": {"name": "Ada", "city": "London", "extra": 1},
                "payment": {"token": "tok_visa"}
            })
        );
    }

    #[test]
    fn refusals_pass_on_their_problem() {
        let problem = Problem::validation(vec![FieldError::new("shipping_address.city", "empty")]);
        let body = serde_json::to_vec(&problem).unwrap();
        assert_eq!(refusal(StatusCode::UNPROCESSABLE_ENTITY, &body), problem);
        assert_eq!(refusal(StatusCode::CONFLICT, b"<html>").status, 409);
        // A problem whose status disagrees with the answer's is not trusted.
        let generic = refusal(StatusCode::BAD_REQUEST, &body);
        assert_eq!((generic.status, generic.errors.len()), (400, 0));
    }
}
