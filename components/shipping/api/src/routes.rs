//! The shipping route table, the list's query parameters, and who manages shipments.

use http::Method;
use kit::Problem;
use kit::auth::Role;
use kit::json::FieldErrors;
use kit::pagination::PageParams;
use kit::route::Route;
use shipping_domain::Position;

/// What a request asks the shipping context to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Endpoint {
    ListShipments,
    GetShipment,
    GetLabel,
    UpdateStatus,
    Track,
}

/// DESIGN §3's shipping routes and the label; `{id}` is a shipment id.
pub const ROUTES: &[Route<Endpoint>] = &[
    Route::new(Method::GET, "/api/v1/shipments", Endpoint::ListShipments),
    Route::new(Method::GET, "/api/v1/shipments/{id}", Endpoint::GetShipment),
    Route::new(
        Method::GET,
        "/api/v1/shipments/{id}/label",
        Endpoint::GetLabel,
    ),
    Route::new(
        Method::PATCH,
        "/api/v1/shipments/{id}/status",
        Endpoint::UpdateStatus,
    ),
    Route::new(
        Method::GET,
        "/api/v1/tracking/{tracking_number}",
        Endpoint::Track,
    ),
];

/// Who reads shipments and moves them along. DESIGN §3 says "admin/carrier", but tokens
/// know only customer, vendor and admin: a carrier acts through an admin account.
pub const MANAGERS: &[Role] = &[Role::Admin];

/// `GET /api/v1/shipments`: the optional `order_id` filter, `limit` and `cursor`.
pub fn shipment_list_query(query: &str) -> Result<(Option<String>, PageParams<Position>), Problem> {
    let page = PageParams::from_query(query)?;
    let mut order_id = None;
    let mut errors = FieldErrors::new();
    for (name, value) in form_urlencoded::parse(query.as_bytes()) {
        if name == "order_id" {
            if value.is_empty() {
                errors.push(
                    "order_id",
                    "must not be empty; leave it out to list every order",
                );
            } else {
                order_id = Some(value.into_owned());
            }
        }
    }
    errors.into_result().map_err(Problem::validation)?;
    Ok((order_id, page))
}

#[cfg(test)]
mod tests {
    use super::*;
    use kit::pagination::encode_cursor;
    use kit::route::{NoRoute, find};

    #[test]
    fn routes_cover_design_section_3() {
        let cases = [
            (
                Method::GET,
                "/api/v1/shipments",
                Endpoint::ListShipments,
                vec![],
            ),
            (
                Method::GET,
                "/api/v1/shipments/",
                Endpoint::ListShipments,
                vec![],
            ),
            (
                Method::GET,
                "/api/v1/shipments/s1",
                Endpoint::GetShipment,
                vec!["s1"],
            ),
            (
                Method::GET,
                "/api/v1/shipments/s1/label",
                Endpoint::GetLabel,
                vec!["s1"],
            ),
            (
                Method::PATCH,
                "/api/v1/shipments/s1/status",
                Endpoint::UpdateStatus,
                vec!["s1"],
            ),
            (
                Method::GET,
                "/api/v1/tracking/FP3K7QW9ZC1M4T",
                Endpoint::Track,
                vec!["FP3K7QW9ZC1M4T"],
            ),
        ];
        for (method, path, endpoint, captures) in cases {
            assert_eq!(
                find(ROUTES, &method, path),
                Ok((endpoint, captures)),
                "{path}"
            );
        }
    }

    #[test]
    fn wrong_methods_and_paths() {
        for (method, path, allowed) in [
            (Method::POST, "/api/v1/shipments", Method::GET),
            (Method::PATCH, "/api/v1/shipments/s1", Method::GET),
            (Method::PUT, "/api/v1/shipments/s1/status", Method::PATCH),
            (Method::GET, "/api/v1/shipments/s1/status", Method::PATCH),
            (Method::DELETE, "/api/v1/tracking/FP1", Method::GET),
        ] {
            assert_eq!(
                find(ROUTES, &method, path),
                Err(NoRoute::MethodNotAllowed(vec![allowed])),
                "{method} {path}"
            );
        }
        for path in [
            "/api/v1/tracking",
            "/api/v1/tracking/",
            "/api/v1/shipments/s1/labels",
            "/api/v1/shipments/s1/status/x",
            "/api/v1/shipments//label",
        ] {
            assert_eq!(
                find(ROUTES, &Method::GET, path),
                Err(NoRoute::NotFound),
                "{path}"
            );
        }
    }

    #[test]
    fn list_filters_by_order_and_pages() {
        let cursor = encode_cursor(&Position {
            created_at: "2025-01-01T00:00:00.000000Z".into(),
            id: "s1".into(),
        });
        let (order_id, page) =
            shipment_list_query(&format!("order_id=o%201&limit=5&cursor={cursor}")).unwrap();
        assert_eq!(order_id.as_deref(), Some("o 1"));
        assert_eq!(page.limit, 5);
        assert_eq!(page.after.unwrap().id, "s1");

        let (order_id, page) = shipment_list_query("").unwrap();
        assert_eq!(order_id, None);
        assert_eq!(page.limit, 20);
    }

    #[test]
    fn bad_list_parameters_name_the_field() {
        for (query, field) in [
            ("order_id=", "order_id"),
            ("limit=0", "limit"),
            ("limit=101", "limit"),
            ("cursor=junk", "cursor"),
        ] {
            let problem = shipment_list_query(query).unwrap_err();
            assert_eq!(problem.status, 422, "{query}");
            assert_eq!(problem.errors[0].field, field, "{query}");
        }
    }
}
