//! The inventory's route table and who may use it.

use http::Method;
use kit::auth::Role;
use kit::route::Route;

/// What a request asks the inventory to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Endpoint {
    CheckAvailability,
    SetOnHand,
    GetStock,
    AdjustStock,
    ListMovements,
}

impl Endpoint {
    /// Whether the endpoint is the stock keepers' alone (the rest is public, tenant
    /// scoped).
    pub fn needs_stock_keeper(self) -> bool {
        self != Endpoint::CheckAvailability
    }
}

/// DESIGN §3's inventory routes; `{sku}` is a SKU. The literal `check-availability`
/// comes first, so it is never read as a SKU.
pub const ROUTES: &[Route<Endpoint>] = &[
    Route::new(
        Method::POST,
        "/api/v1/inventory/check-availability",
        Endpoint::CheckAvailability,
    ),
    Route::new(Method::PUT, "/api/v1/inventory/{sku}", Endpoint::SetOnHand),
    Route::new(Method::GET, "/api/v1/inventory/{sku}", Endpoint::GetStock),
    Route::new(
        Method::POST,
        "/api/v1/inventory/{sku}/adjust",
        Endpoint::AdjustStock,
    ),
    Route::new(
        Method::GET,
        "/api/v1/inventory/{sku}/movements",
        Endpoint::ListMovements,
    ),
];

/// The roles that set, adjust and read stock levels and movements.
pub const STOCK_KEEPERS: &[Role] = &[Role::Admin];

#[cfg(test)]
mod tests {
    use super::*;
    use kit::route::{NoRoute, find};

    #[test]
    fn routes_cover_design_section_3() {
        let cases = [
            (
                Method::POST,
                "/api/v1/inventory/check-availability",
                Endpoint::CheckAvailability,
            ),
            (Method::PUT, "/api/v1/inventory/MUG-1", Endpoint::SetOnHand),
            (Method::GET, "/api/v1/inventory/MUG-1/", Endpoint::GetStock),
            (
                Method::POST,
                "/api/v1/inventory/MUG-1/adjust",
                Endpoint::AdjustStock,
            ),
            (
                Method::GET,
                "/api/v1/inventory/MUG-1/movements",
                Endpoint::ListMovements,
            ),
        ];
        for (method, path, endpoint) in cases {
            let (found, captures) = find(ROUTES, &method, path).unwrap();
            assert_eq!(found, endpoint, "{method} {path}");
            if endpoint != Endpoint::CheckAvailability {
                assert_eq!(captures, ["MUG-1"], "{path}");
            }
        }
    }

    #[test]
    fn wrong_methods_are_405_with_the_allowed_ones() {
        let cases = [
            (
                Method::DELETE,
                "/api/v1/inventory/MUG-1",
                vec![Method::PUT, Method::GET],
            ),
            (
                Method::GET,
                "/api/v1/inventory/check-availability",
                vec![Method::POST],
            ),
            (
                Method::PUT,
                "/api/v1/inventory/MUG-1/adjust",
                vec![Method::POST],
            ),
            (
                Method::POST,
                "/api/v1/inventory/MUG-1/movements",
                vec![Method::GET],
            ),
        ];
        for (method, path, allowed) in cases {
            assert_eq!(
                find(ROUTES, &method, path),
                Err(NoRoute::MethodNotAllowed(allowed)),
                "{method} {path}"
            );
        }
    }

    #[test]
    fn unknown_paths_are_404() {
        for path in [
            "/api/v1/inventory",
            "/api/v1/inventory/",
            "/api/v1/inventory//adjust",
            "/api/v1/inventory/MUG-1/history",
            "/api/v1/inventory/MUG-1/movements/x",
            "/api/v1/stock/MUG-1",
        ] {
            assert_eq!(
                find(ROUTES, &Method::GET, path),
                Err(NoRoute::NotFound),
                "{path}"
            );
        }
    }

    #[test]
    fn only_the_availability_check_is_public() {
        for route in ROUTES {
            assert_eq!(
                route.endpoint.needs_stock_keeper(),
                route.endpoint != Endpoint::CheckAvailability,
                "{}",
                route.pattern
            );
        }
        assert_eq!(STOCK_KEEPERS, &[Role::Admin]);
    }
}
