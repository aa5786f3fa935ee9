//! Checkout: the order the cart asks the orders component for, and what its answer
//! means for the cart. The HTTP call is the api component's; this is pure.

use crate::cart::Line;
use crate::requests::CheckoutRequest;
use http::StatusCode;
use kit::Problem;
use serde_json::{Value, json};

/// The orders component, reached by Spin's service chaining.
pub const ORDERS_URL: &str = "http://orders.spin.internal/api/v1/orders";

/// The caller's headers the order request carries: the token, so the order is the
/// caller's own, and any `Idempotency-Key`, so a retried checkout is one order (the
/// orders component keeps the first answer per caller and key, and refuses the key
/// with another cart).
pub const FORWARDED_HEADERS: [&str; 2] = ["authorization", "idempotency-key"];

/// The body of `POST /api/v1/orders`: the cart's lines, in the cart's order (so the
/// orders' `items[i]` is the cart's i-th line), with the checkout's address and payment.
pub fn order_body(lines: &[Line], checkout: &CheckoutRequest) -> Value {
    json!({
        "items": lines
            .iter()
            .map(|line| json!({"sku": line.sku, "quantity": line.quantity}))
            .collect::<Vec<_>>(),
        "shipping_address": checkout.shipping_address,
        "payment": checkout.payment,
    })
}

/// What the orders component answered.
#[derive(Debug, Clone, PartialEq)]
pub enum OrdersAnswer {
    /// 201: the order (passed on as is); the cart is emptied.
    Placed(Value),
    /// 4xx: the order was refused for this reason (passed on); the cart is kept.
    Refused(Problem),
    /// Anything else; the cart is kept and the client may retry (503).
    Unavailable(String),
}

/// Reads the orders component's answer.
pub fn read_orders_answer(status: u16, body: &[u8]) -> OrdersAnswer {
    match StatusCode::from_u16(status) {
        Ok(StatusCode::CREATED) => match serde_json::from_slice::<Value>(body) {
            Ok(order) if order["id"].is_string() => OrdersAnswer::Placed(order),
            _ => OrdersAnswer::Unavailable("201 without an order".into()),
        },
        Ok(status) if status.is_client_error() => OrdersAnswer::Refused(
            serde_json::from_slice::<Problem>(body)
                .ok()
                .filter(|problem| problem.status == status.as_u16())
                .unwrap_or_else(|| {
                    Problem::new(
                        status,
                        "order-refused",
                        "the orders service refused the order",
                    )
                }),
        ),
        _ => OrdersAnswer::Unavailable(format!("answered HTTP {status}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use kit::FieldError;

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
            order_body(&lines, &checkout),
            json!({
                "items": [{"sku": "MUG-1", "quantity": 2}, {"sku": "TEA-1", "quantity": 1}],
                "shipping_address": {"name": "Ada", "city": "London", "extra": 1},
                "payment": {"token": "tok_visa"}
            })
        );
    }

    #[test]
    fn a_created_order_is_placed() {
        let order = json!({"id": "o1", "status": "pending"});
        assert_eq!(
            read_orders_answer(201, order.to_string().as_bytes()),
            OrdersAnswer::Placed(order)
        );
        for body in [&b"{}"[..], b"not json"] {
            assert!(matches!(
                read_orders_answer(201, body),
                OrdersAnswer::Unavailable(_)
            ));
        }
    }

    #[test]
    fn refusals_pass_on_their_problem() {
        let problem = Problem::validation(vec![FieldError::new("shipping_address.city", "empty")]);
        let body = serde_json::to_vec(&problem).unwrap();
        assert_eq!(
            read_orders_answer(422, &body),
            OrdersAnswer::Refused(problem)
        );
        let OrdersAnswer::Refused(generic) = read_orders_answer(409, b"<html>") else {
            panic!("a 409 is a refusal");
        };
        assert_eq!(generic.status, 409);
        // A problem whose status disagrees with the answer's is not trusted.
        let OrdersAnswer::Refused(generic) = read_orders_answer(400, &body) else {
            panic!("a 400 is a refusal");
        };
        assert_eq!((generic.status, generic.errors.len()), (400, 0));
    }

    #[test]
    fn anything_else_is_unavailable() {
        for status in [200, 204, 302, 500, 503, 599] {
            assert!(
                matches!(
                    read_orders_answer(status, b"{\"id\": \"o1\"}"),
                    OrdersAnswer::Unavailable(_)
                ),
                "{status}"
            );
        }
    }
}
