//! Placing an order, as the cart's checkout does on the caller's behalf.

use super::{Answer, JSON, REQUEST_ID_HEADER, built};
use http::{HeaderMap, StatusCode};
use serde::Serialize;
use serde_json::{Map, Value};

/// The orders component's order collection.
pub const ORDERS_URL: &str = "http://orders.spin.internal/api/v1/orders";

/// The caller's headers the order request carries: the token, so the order is the
/// caller's own, and any `Idempotency-Key`, so a retried checkout is one order (the
/// orders component keeps the first answer per caller and key, and refuses the key
/// with another body).
pub const FORWARDED_HEADERS: [&str; 2] = ["authorization", "idempotency-key"];

/// The body of `POST /api/v1/orders`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct NewOrder<'a> {
    pub items: Vec<OrderItem<'a>>,
    pub shipping_address: &'a Map<String, Value>,
    pub payment: &'a Map<String, Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub code: Option<&'a str>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OrderItem<'a> {
    pub sku: &'a str,
    pub quantity: u32,
}

/// `POST` of `order`, carrying the [`FORWARDED_HEADERS`] found in `caller_headers`.
pub fn place_request(
    order: &NewOrder,
    caller_headers: &HeaderMap,
    request_id: &str,
) -> Result<http::Request<Vec<u8>>, String> {
    let body = serde_json::to_vec(order).map_err(|error| format!("the order body: {error}"))?;
    let mut request = http::Request::post(ORDERS_URL)
        .header(http::header::CONTENT_TYPE, JSON)
        .header(REQUEST_ID_HEADER, request_id);
    for name in FORWARDED_HEADERS {
        if let Some(value) = caller_headers.get(name) {
            request = request.header(name, value);
        }
    }
    built(request.body(body))
}

/// What the orders component answered.
#[derive(Debug, Clone, PartialEq)]
pub enum Placement {
    /// 201: the order, as orders answered it.
    Placed(Value),
    /// 4xx: the order was refused; the answer's status and body (a problem, usually).
    Refused(StatusCode, Vec<u8>),
    /// Anything else, described; the caller may retry.
    Unavailable(String),
}

/// Reads the orders component's answer.
pub fn read_placement(answer: &Answer) -> Placement {
    let status = answer.status();
    match status {
        StatusCode::CREATED => match serde_json::from_slice::<Value>(answer.body()) {
            Ok(order) if order["id"].is_string() => Placement::Placed(order),
            _ => Placement::Unavailable("201 without an order".into()),
        },
        status if status.is_client_error() => Placement::Refused(status, answer.body().clone()),
        _ => Placement::Unavailable(format!("answered HTTP {}", status.as_u16())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clients::answer;
    use serde_json::json;

    #[test]
    fn the_request_carries_the_order_and_the_callers_headers() {
        let address = json!({"name": "Ada", "city": "London", "extra": 1});
        let payment = json!({"token": "tok_visa"});
        let order = NewOrder {
            items: vec![
                OrderItem {
                    sku: "MUG-1",
                    quantity: 2,
                },
                OrderItem {
                    sku: "TEA-1",
                    quantity: 1,
                },
            ],
            shipping_address: address.as_object().unwrap(),
            payment: payment.as_object().unwrap(),
            code: None,
        };
        let mut caller = HeaderMap::new();
        caller.insert("authorization", "Bearer t".parse().unwrap());
        caller.insert("x-other", "kept home".parse().unwrap());
        let request = place_request(&order, &caller, "r1").unwrap();
        assert_eq!(request.uri(), ORDERS_URL);
        assert_eq!(request.headers()["authorization"], "Bearer t");
        assert_eq!(request.headers()[REQUEST_ID_HEADER], "r1");
        assert!(!request.headers().contains_key("x-other"));
        assert!(!request.headers().contains_key("idempotency-key"));
        assert_eq!(
            serde_json::from_slice::<Value>(request.body()).unwrap(),
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
            read_placement(&answer(201, &order.to_string())),
            Placement::Placed(order)
        );
        for body in ["{}", "not json"] {
            assert!(matches!(
                read_placement(&answer(201, body)),
                Placement::Unavailable(_)
            ));
        }
    }

    #[test]
    fn client_errors_are_refusals_and_anything_else_unavailable() {
        assert_eq!(
            read_placement(&answer(409, "<html>")),
            Placement::Refused(StatusCode::CONFLICT, b"<html>".to_vec())
        );
        for status in [200, 204, 302, 500, 503, 599] {
            assert_eq!(
                read_placement(&answer(status, r#"{"id": "o1"}"#)),
                Placement::Unavailable(format!("answered HTTP {status}")),
                "{status}"
            );
        }
    }
}
