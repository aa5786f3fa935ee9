//! The notifications route table and the list's query parameters.

use http::Method;
use kit::Problem;
use kit::pagination::PageParams;
use kit::route::Route;
use notifications_domain::Position;

/// What a request asks the notifications context to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Endpoint {
    ListOwn,
}

/// DESIGN §3's notifications route.
pub const ROUTES: &[Route<Endpoint>] = &[Route::new(
    Method::GET,
    "/api/v1/notifications",
    Endpoint::ListOwn,
)];

/// `GET /api/v1/notifications`: `limit` (1–100, default 20) and `cursor`; an invalid
/// one is 422 naming it.
pub fn list_query(query: &str) -> Result<PageParams<Position>, Problem> {
    PageParams::from_query(query)
}

#[cfg(test)]
mod tests {
    use super::*;
    use kit::pagination::encode_cursor;
    use kit::route::{NoRoute, find};

    #[test]
    fn the_inbox_is_the_one_route() {
        for path in ["/api/v1/notifications", "/api/v1/notifications/"] {
            assert_eq!(
                find(ROUTES, &Method::GET, path),
                Ok((Endpoint::ListOwn, vec![])),
                "{path}"
            );
        }
        for method in [Method::POST, Method::DELETE, Method::PATCH] {
            assert_eq!(
                find(ROUTES, &method, "/api/v1/notifications"),
                Err(NoRoute::MethodNotAllowed(vec![Method::GET])),
                "{method}"
            );
        }
        for path in ["/api/v1/notifications/n1", "/api/v1/notification"] {
            assert_eq!(
                find(ROUTES, &Method::GET, path),
                Err(NoRoute::NotFound),
                "{path}"
            );
        }
    }

    #[test]
    fn the_list_pages() {
        let page = list_query("").unwrap();
        assert_eq!((page.limit, page.after), (20, None));
        let cursor = encode_cursor(&Position {
            created_at: "2025-01-01T00:00:00.000000Z".into(),
            id: "n1".into(),
        });
        let page = list_query(&format!("limit=5&cursor={cursor}")).unwrap();
        assert_eq!(page.limit, 5);
        assert_eq!(page.after.unwrap().id, "n1");
    }

    #[test]
    fn bad_list_parameters_name_the_field() {
        for (query, field) in [
            ("limit=0", "limit"),
            ("limit=101", "limit"),
            ("limit=x", "limit"),
            ("cursor=junk", "cursor"),
        ] {
            let problem = list_query(query).unwrap_err();
            assert_eq!(problem.status, 422, "{query}");
            assert_eq!(problem.errors[0].field, field, "{query}");
        }
    }
}
