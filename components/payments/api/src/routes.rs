//! The payments route table, the list query and the refund body.

use http::Method;
use kit::Problem;
use kit::auth::Role;
use kit::json::FieldErrors;
use kit::pagination::PageParams;
use kit::route::Route;
use payments_domain::{PaymentFilter, Position, RefundBody};

/// What a request asks the payments component to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Endpoint {
    ListPayments,
    GetPayment,
    RefundPayment,
    StripeWebhook,
}

/// DESIGN §3's payments routes; `{id}` is a payment id. The webhook's literal path
/// comes before `{id}` so it is never read as a payment id.
pub const ROUTES: &[Route<Endpoint>] = &[
    Route::new(Method::GET, "/api/v1/payments", Endpoint::ListPayments),
    Route::new(
        Method::POST,
        "/api/v1/payments/webhook",
        Endpoint::StripeWebhook,
    ),
    Route::new(Method::GET, "/api/v1/payments/{id}", Endpoint::GetPayment),
    Route::new(
        Method::POST,
        "/api/v1/payments/{id}/refund",
        Endpoint::RefundPayment,
    ),
];

/// Who may read and refund payments.
pub const ADMINS: &[Role] = &[Role::Admin];

/// The header Stripe signs its webhook requests with.
pub const SIGNATURE_HEADER: &str = "stripe-signature";

/// `GET /api/v1/payments`: the `order_id` filter, `limit` and `cursor`.
pub fn payment_list_query(query: &str) -> Result<(PaymentFilter, PageParams<Position>), Problem> {
    let page = PageParams::from_query(query)?;
    let mut filter = PaymentFilter::default();
    let mut errors = FieldErrors::new();
    for (name, value) in form_urlencoded::parse(query.as_bytes()) {
        if name == "order_id" {
            if value.is_empty() {
                errors.push("order_id", "must not be empty");
            } else {
                filter.order_id = Some(value.into_owned());
            }
        }
    }
    errors.into_result().map_err(Problem::validation)?;
    Ok((filter, page))
}

/// The refund body; an empty body refunds everything left, like `{}`.
pub fn refund_body(body: &[u8]) -> Result<RefundBody, Problem> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(RefundBody::default());
    }
    kit::json::parse(body)
}

#[cfg(test)]
mod tests {
    use super::*;
    use kit::pagination::encode_cursor;
    use kit::route::{NoRoute, find};

    #[test]
    fn routes_cover_design_section_3() {
        let cases = [
            (Method::GET, "/api/v1/payments", Endpoint::ListPayments),
            (Method::GET, "/api/v1/payments/", Endpoint::ListPayments),
            (Method::GET, "/api/v1/payments/p1", Endpoint::GetPayment),
            (
                Method::POST,
                "/api/v1/payments/p1/refund",
                Endpoint::RefundPayment,
            ),
            (
                Method::POST,
                "/api/v1/payments/webhook",
                Endpoint::StripeWebhook,
            ),
        ];
        for (method, path, endpoint) in cases {
            assert_eq!(find(ROUTES, &method, path).unwrap().0, endpoint, "{path}");
        }
        assert_eq!(
            find(ROUTES, &Method::POST, "/api/v1/payments/p1/refund")
                .unwrap()
                .1,
            ["p1"]
        );
    }

    #[test]
    fn wrong_methods_and_paths() {
        assert_eq!(
            find(ROUTES, &Method::GET, "/api/v1/payments/webhook"),
            Err(NoRoute::MethodNotAllowed(vec![Method::POST]))
        );
        assert_eq!(
            find(ROUTES, &Method::DELETE, "/api/v1/payments/p1"),
            Err(NoRoute::MethodNotAllowed(vec![Method::GET]))
        );
        assert_eq!(
            find(ROUTES, &Method::GET, "/api/v1/payments/p1/refund"),
            Err(NoRoute::MethodNotAllowed(vec![Method::POST]))
        );
        for path in ["/api/v1/payments/p1/x", "/api/v1/payments/p1/refund/2"] {
            assert_eq!(find(ROUTES, &Method::GET, path), Err(NoRoute::NotFound));
        }
    }

    #[test]
    fn list_query() {
        let cursor = encode_cursor(&Position {
            created_at: "2025-01-01T00:00:00.000000Z".into(),
            id: "p1".into(),
        });
        let (filter, page) =
            payment_list_query(&format!("order_id=o%201&limit=5&cursor={cursor}")).unwrap();
        assert_eq!(filter.order_id.as_deref(), Some("o 1"));
        assert_eq!(page.limit, 5);
        assert_eq!(page.after.unwrap().id, "p1");
        let (filter, page) = payment_list_query("").unwrap();
        assert_eq!(filter, PaymentFilter::default());
        assert_eq!(page.limit, 20);
        for (query, field) in [
            ("order_id=", "order_id"),
            ("limit=0", "limit"),
            ("limit=101", "limit"),
            ("cursor=junk", "cursor"),
        ] {
            let problem = payment_list_query(query).unwrap_err();
            assert_eq!(problem.status, 422, "{query}");
            assert_eq!(problem.errors[0].field, field, "{query}");
        }
    }

    #[test]
    fn refund_bodies() {
        assert_eq!(refund_body(b"").unwrap(), RefundBody { amount: None });
        assert_eq!(refund_body(b" \n").unwrap(), RefundBody { amount: None });
        assert_eq!(refund_body(b"{}").unwrap(), RefundBody { amount: None });
        assert_eq!(
            refund_body(br#"{"amount": 250}"#).unwrap(),
            RefundBody { amount: Some(250) }
        );
        assert_eq!(
            refund_body(br#"{"amount": null}"#).unwrap(),
            RefundBody { amount: None }
        );
        assert_eq!(refund_body(b"{amount").unwrap_err().status, 400);
        for (body, field) in [
            (r#"{"amount": "10"}"#, "amount"),
            (r#"{"amount": 1.5}"#, "amount"),
            (r#"{"amount": 1, "reason": "x"}"#, "reason"),
        ] {
            let problem = refund_body(body.as_bytes()).unwrap_err();
            assert_eq!(problem.status, 422, "{body}");
            assert_eq!(problem.errors[0].field, field, "{body}");
        }
    }
}
