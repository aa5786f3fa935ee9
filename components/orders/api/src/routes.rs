//! The orders route table, the list query parameters, whose orders a caller sees and who
//! decides fraud reviews.

use http::Method;
use kit::auth::{Caller, Role};
use kit::pagination::PageParams;
use kit::route::Route;
use kit::{FieldError, Problem};
use orders_domain::{Position, ReturnStatus, Status, Viewer};

/// What a request asks the orders component to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Endpoint {
    ListOrders,
    CreateOrder,
    GetOrder,
    CancelOrder,
    ApproveOrder,
    RejectOrder,
    ListPromotions,
    CreatePromotion,
    GetPromotion,
    ChangePromotion,
    RequestReturn,
    ListReturns,
    GetReturn,
    ApproveReturn,
    RejectReturn,
    ReceiveReturn,
}

/// DESIGN §3's order routes, the fraud review's decisions, the promotions and the
/// returns; `{id}` is an order's, a promotion's or a return's id.
pub const ROUTES: &[Route<Endpoint>] = &[
    Route::new(Method::GET, "/api/v1/orders", Endpoint::ListOrders),
    Route::new(Method::POST, "/api/v1/orders", Endpoint::CreateOrder),
    Route::new(Method::GET, "/api/v1/orders/{id}", Endpoint::GetOrder),
    Route::new(
        Method::POST,
        "/api/v1/orders/{id}/cancel",
        Endpoint::CancelOrder,
    ),
    Route::new(
        Method::POST,
        "/api/v1/orders/{id}/approve",
        Endpoint::ApproveOrder,
    ),
    Route::new(
        Method::POST,
        "/api/v1/orders/{id}/reject",
        Endpoint::RejectOrder,
    ),
    Route::new(Method::GET, "/api/v1/promotions", Endpoint::ListPromotions),
    Route::new(
        Method::POST,
        "/api/v1/promotions",
        Endpoint::CreatePromotion,
    ),
    Route::new(
        Method::GET,
        "/api/v1/promotions/{id}",
        Endpoint::GetPromotion,
    ),
    Route::new(
        Method::PATCH,
        "/api/v1/promotions/{id}",
        Endpoint::ChangePromotion,
    ),
    Route::new(
        Method::POST,
        "/api/v1/orders/{id}/returns",
        Endpoint::RequestReturn,
    ),
    Route::new(Method::GET, "/api/v1/returns", Endpoint::ListReturns),
    Route::new(Method::GET, "/api/v1/returns/{id}", Endpoint::GetReturn),
    Route::new(
        Method::POST,
        "/api/v1/returns/{id}/approve",
        Endpoint::ApproveReturn,
    ),
    Route::new(
        Method::POST,
        "/api/v1/returns/{id}/reject",
        Endpoint::RejectReturn,
    ),
    Route::new(
        Method::POST,
        "/api/v1/returns/{id}/receive",
        Endpoint::ReceiveReturn,
    ),
];

/// Who approves or rejects an order held in fraud review.
pub const REVIEWERS: &[Role] = &[Role::Admin];

/// Who creates, lists and switches off promotions.
pub const PROMOTERS: &[Role] = &[Role::Admin];

/// Who approves, rejects and receives returns. Customers ask for and follow their own.
pub const RETURN_HANDLERS: &[Role] = &[Role::Admin];

/// Admins see and cancel every order of their tenant; everyone else their own.
pub fn viewer(caller: &Caller) -> Viewer<'_> {
    Viewer {
        tenant: &caller.tenant,
        user_id: &caller.user_id,
        all_orders: caller.role == Role::Admin,
    }
}

/// `GET /api/v1/orders`: an optional `status` (one of the status names), `limit` and
/// `cursor`.
pub fn order_list_query(query: &str) -> Result<(Option<Status>, PageParams<Position>), Problem> {
    let page = PageParams::from_query(query)?;
    Ok((status_filter(query)?, page))
}

/// `GET /api/v1/returns`: an optional `status` (one of the return statuses) and
/// `order_id`, `limit` and `cursor`.
pub struct ReturnListQuery {
    pub status: Option<ReturnStatus>,
    pub order_id: Option<String>,
    pub page: PageParams<Position>,
}

impl ReturnListQuery {
    pub fn parse(query: &str) -> Result<Self, Problem> {
        Ok(Self {
            page: PageParams::from_query(query)?,
            status: status_filter(query)?,
            order_id: form_urlencoded::parse(query.as_bytes())
                .find(|(name, _)| name == "order_id")
                .map(|(_, value)| value.into_owned()),
        })
    }
}

/// The `status` parameter of a list, one of `S`'s names.
fn status_filter<S: std::str::FromStr<Err = String>>(query: &str) -> Result<Option<S>, Problem> {
    let mut status = None;
    for (name, value) in form_urlencoded::parse(query.as_bytes()) {
        if name == "status" {
            let parsed = value
                .parse::<S>()
                .map_err(|message| Problem::validation(vec![FieldError::new("status", message)]))?;
            status = Some(parsed);
        }
    }
    Ok(status)
}

#[cfg(test)]
mod tests {
    use super::*;
    use kit::pagination::encode_cursor;
    use kit::route::{NoRoute, find};

    #[test]
    fn routes_cover_design_section_3() {
        let cases = [
            (Method::GET, "/api/v1/orders", Endpoint::ListOrders),
            (Method::POST, "/api/v1/orders/", Endpoint::CreateOrder),
            (Method::GET, "/api/v1/orders/o1", Endpoint::GetOrder),
            (
                Method::POST,
                "/api/v1/orders/o1/cancel",
                Endpoint::CancelOrder,
            ),
            (
                Method::POST,
                "/api/v1/orders/o1/approve",
                Endpoint::ApproveOrder,
            ),
            (
                Method::POST,
                "/api/v1/orders/o1/reject",
                Endpoint::RejectOrder,
            ),
        ];
        for (method, path, endpoint) in cases {
            assert_eq!(find(ROUTES, &method, path).unwrap().0, endpoint, "{path}");
        }
        assert_eq!(
            find(ROUTES, &Method::POST, "/api/v1/orders/o1/cancel")
                .unwrap()
                .1,
            ["o1"]
        );
    }

    #[test]
    fn wrong_methods_and_paths() {
        assert_eq!(
            find(ROUTES, &Method::DELETE, "/api/v1/orders/o1"),
            Err(NoRoute::MethodNotAllowed(vec![Method::GET]))
        );
        for action in ["cancel", "approve", "reject"] {
            assert_eq!(
                find(ROUTES, &Method::GET, &format!("/api/v1/orders/o1/{action}")),
                Err(NoRoute::MethodNotAllowed(vec![Method::POST])),
                "{action}"
            );
        }
        assert_eq!(
            find(ROUTES, &Method::PUT, "/api/v1/orders"),
            Err(NoRoute::MethodNotAllowed(vec![Method::GET, Method::POST]))
        );
        for path in [
            "/api/v1/orders/o1/refund",
            "/api/v1/orders//cancel",
            "/api/v1",
        ] {
            assert_eq!(
                find(ROUTES, &Method::POST, path),
                Err(NoRoute::NotFound),
                "{path}"
            );
        }
    }

    #[test]
    fn admins_see_the_tenant_and_others_their_own() {
        let caller = |role| Caller {
            user_id: "u1".into(),
            role,
            tenant: "acme".into(),
        };
        for (role, all_orders) in [
            (Role::Admin, true),
            (Role::Vendor, false),
            (Role::Customer, false),
        ] {
            let caller = caller(role);
            let viewer = viewer(&caller);
            assert_eq!(
                viewer,
                Viewer {
                    tenant: "acme",
                    user_id: "u1",
                    all_orders
                },
                "{role}"
            );
        }
    }

    #[test]
    fn only_admins_decide_fraud_reviews() {
        for (role, allowed) in [
            (Role::Admin, true),
            (Role::Vendor, false),
            (Role::Customer, false),
        ] {
            let caller = Caller {
                user_id: "u1".into(),
                role,
                tenant: "acme".into(),
            };
            let outcome = caller.require_role(REVIEWERS);
            assert_eq!(outcome.is_ok(), allowed, "{role}");
            if let Err(problem) = outcome {
                assert_eq!(problem.status, 403);
            }
        }
    }

    #[test]
    fn list_filters_by_a_known_status() {
        let (status, page) = order_list_query("").unwrap();
        assert_eq!((status, page.limit, page.after), (None, 20, None));
        let cursor = encode_cursor(&Position {
            created_at: "2025-01-01T00:00:00.000000Z".into(),
            id: "o1".into(),
        });
        let (status, page) =
            order_list_query(&format!("status=payment_failed&limit=5&cursor={cursor}")).unwrap();
        assert_eq!(status, Some(Status::PaymentFailed));
        assert_eq!(page.limit, 5);
        assert_eq!(page.after.unwrap().id, "o1");
        for (query, field) in [
            ("status=", "status"),
            ("status=Paid", "status"),
            ("status=lost", "status"),
            ("limit=101", "limit"),
            ("cursor=junk", "cursor"),
        ] {
            let problem = order_list_query(query).unwrap_err();
            assert_eq!(problem.status, 422, "{query}");
            assert_eq!(problem.errors[0].field, field, "{query}");
        }
    }
}
