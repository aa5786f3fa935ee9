//! The route table and the pure rules of the ops endpoints.

use http::Method;
use kit::route::Route;
use serde::Serialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Endpoint {
    Health,
    ListDeadLetters,
    ReplayDeadLetter,
    Sweep,
}

pub const ROUTES: &[Route<Endpoint>] = &[
    Route::new(Method::GET, "/health", Endpoint::Health),
    Route::new(
        Method::GET,
        "/api/v1/admin/dead-letters",
        Endpoint::ListDeadLetters,
    ),
    Route::new(
        Method::POST,
        "/api/v1/admin/dead-letters/{id}/replay",
        Endpoint::ReplayDeadLetter,
    ),
    Route::new(Method::POST, "/api/v1/admin/outbox/sweep", Endpoint::Sweep),
];

/// Every context's database, which `/health` pings.
pub const STORES: &[&str] = &[
    "accounts",
    "catalog",
    "orders",
    "inventory",
    "payments",
    "shipping",
    "campaigns",
    "notifications",
];

/// The contexts that keep an outbox (they emit events or handle them).
pub const EVENT_CONTEXTS: &[&str] = &[
    "catalog",
    "orders",
    "inventory",
    "payments",
    "shipping",
    "campaigns",
    "notifications",
];

/// A dead letter and the context whose outbox holds it.
#[derive(Debug, Clone, Serialize)]
pub struct ContextDeadLetter {
    pub context: &'static str,
    #[serde(flatten)]
    pub letter: kit::outbox::DeadLetter,
}

#[cfg(test)]
mod tests {
    use super::*;
    use kit::route::{NoRoute, find};

    #[test]
    fn routes_lead_to_their_endpoints() {
        let replay = find(
            ROUTES,
            &Method::POST,
            "/api/v1/admin/dead-letters/0190/replay",
        )
        .unwrap();
        assert_eq!(replay, (Endpoint::ReplayDeadLetter, vec!["0190"]));
        assert_eq!(
            find(ROUTES, &Method::GET, "/api/v1/admin/dead-letters")
                .unwrap()
                .0,
            Endpoint::ListDeadLetters
        );
        assert_eq!(
            find(ROUTES, &Method::GET, "/api/v1/admin/outbox/sweep"),
            Err(NoRoute::MethodNotAllowed(vec![Method::POST]))
        );
        assert_eq!(
            find(ROUTES, &Method::GET, "/api/v1/admin/other"),
            Err(NoRoute::NotFound)
        );
    }

    #[test]
    fn every_event_context_is_a_store_health_checks() {
        assert!(
            EVENT_CONTEXTS
                .iter()
                .all(|context| STORES.contains(context))
        );
    }
}
