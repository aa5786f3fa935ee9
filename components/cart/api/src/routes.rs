//! The cart route table and the sku of a line's path.

use http::Method;
use kit::Problem;
use kit::route::Route;

/// What a request asks the cart component to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Endpoint {
    GetCart,
    ClearCart,
    AddItem,
    SetItem,
    RemoveItem,
    Checkout,
}

/// DESIGN §3's cart routes; `{sku}` names a line.
pub const ROUTES: &[Route<Endpoint>] = &[
    Route::new(Method::GET, "/api/v1/cart", Endpoint::GetCart),
    Route::new(Method::DELETE, "/api/v1/cart", Endpoint::ClearCart),
    Route::new(Method::POST, "/api/v1/cart/items", Endpoint::AddItem),
    Route::new(Method::PUT, "/api/v1/cart/items/{sku}", Endpoint::SetItem),
    Route::new(
        Method::DELETE,
        "/api/v1/cart/items/{sku}",
        Endpoint::RemoveItem,
    ),
    Route::new(Method::POST, "/api/v1/cart/checkout", Endpoint::Checkout),
];

/// The sku of `/api/v1/cart/items/{sku}`: a path segment that is no valid sku names
/// no line (404).
pub fn line_sku(segment: &str) -> Result<&str, Problem> {
    cart_domain::check_sku(segment)
        .map(|()| segment)
        .map_err(|_| Problem::not_found(format!("the cart has no line {segment:?}")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use kit::route::{NoRoute, find};

    #[test]
    fn routes_cover_design_section_3() {
        let cases = [
            (Method::GET, "/api/v1/cart", Endpoint::GetCart),
            (Method::DELETE, "/api/v1/cart/", Endpoint::ClearCart),
            (Method::POST, "/api/v1/cart/items", Endpoint::AddItem),
            (Method::PUT, "/api/v1/cart/items/MUG-1", Endpoint::SetItem),
            (
                Method::DELETE,
                "/api/v1/cart/items/MUG-1",
                Endpoint::RemoveItem,
            ),
            (Method::POST, "/api/v1/cart/checkout", Endpoint::Checkout),
        ];
        for (method, path, endpoint) in cases {
            assert_eq!(
                find(ROUTES, &method, path).unwrap().0,
                endpoint,
                "{method} {path}"
            );
        }
        assert_eq!(
            find(ROUTES, &Method::PUT, "/api/v1/cart/items/MUG-1")
                .unwrap()
                .1,
            ["MUG-1"]
        );
    }

    #[test]
    fn wrong_methods_and_paths() {
        assert_eq!(
            find(ROUTES, &Method::POST, "/api/v1/cart"),
            Err(NoRoute::MethodNotAllowed(vec![Method::GET, Method::DELETE]))
        );
        assert_eq!(
            find(ROUTES, &Method::GET, "/api/v1/cart/items/MUG-1"),
            Err(NoRoute::MethodNotAllowed(vec![Method::PUT, Method::DELETE]))
        );
        assert_eq!(
            find(ROUTES, &Method::GET, "/api/v1/cart/checkout"),
            Err(NoRoute::MethodNotAllowed(vec![Method::POST]))
        );
        for path in [
            "/api/v1/cart/items/MUG-1/more",
            "/api/v1/cart/lines",
            "/api/v1/cart/items//",
        ] {
            assert_eq!(
                find(ROUTES, &Method::PUT, path),
                Err(NoRoute::NotFound),
                "{path}"
            );
        }
    }

    #[test]
    fn a_line_path_names_a_valid_sku_or_no_line() {
        assert_eq!(line_sku("MUG-1").unwrap(), "MUG-1");
        for segment in ["a%20b", "A,B", &"S".repeat(65)] {
            assert_eq!(line_sku(segment).unwrap_err().status, 404, "{segment}");
        }
    }
}
