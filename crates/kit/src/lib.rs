//! FusionCommerce's platform kit: the plumbing every component shares and no business
//! rule. Pure parts (problem, json, request_id, pagination, auth, db, outbox, http, route,
//! edge) build and test natively; [`spin`] (the store, variables), [`events`] (the `http`
//! event transport) and `edge::serve` are the Spin adapters and build for wasm only.

pub mod auth;
pub mod checkout;
pub mod db;
pub mod edge;
#[cfg(target_arch = "wasm32")]
pub mod events;
pub mod http;
pub mod json;
pub mod key_value;
pub mod outbox;
pub mod pagination;
pub mod problem;
pub mod request_id;
pub mod route;
#[cfg(target_arch = "wasm32")]
pub mod spin;

pub use problem::{FieldError, Problem};

/// The Spin entry point of an API component (wasm only): `$handler` — an `async fn`
/// from [`http::Request`] to [`http::Response`] — served behind the edge `$edge` (an
/// [`edge::Edge`]) by [`edge::serve`].
#[macro_export]
macro_rules! api_component {
    ($edge:expr, $handler:path $(,)?) => {
        #[spin_sdk::http_component]
        async fn handle(request: spin_sdk::http::IncomingRequest) -> $crate::spin::http::Reply {
            const EDGE: $crate::edge::Edge = $edge;
            $crate::spin::http::Reply($crate::edge::serve(request, &EDGE, $handler).await)
        }
    };
}

/// The whole of an event-handler component: its Spin handler (wasm only), which applies
/// events of type `$event` to the store of the context crate `$domain` (its `CONTEXT`
/// and `MIGRATIONS`) with `$apply` — an `async` function or closure taking
/// `(&SpinDb, &Envelope<$event>)` and returning `Result<(), outbox::HandlerError>` —
/// through [`events::serve_event`], as the subscriber `$subscriber` (its id in `spin.toml`).
#[macro_export]
macro_rules! event_handler {
    ($subscriber:literal, $domain:ident, $event:ty, $apply:expr $(,)?) => {
        #[cfg(target_arch = "wasm32")]
        #[spin_sdk::http_component]
        async fn handle(request: spin_sdk::http::IncomingRequest) -> $crate::spin::http::Reply {
            const HANDLER: $crate::events::EventHandler = $crate::events::EventHandler {
                subscriber: $subscriber,
                context: $domain::CONTEXT,
                migrations: $domain::MIGRATIONS,
            };
            let response = $crate::events::serve_event(
                request,
                &HANDLER,
                async |db, event: &$crate::events::Envelope<$event>| ($apply)(db, event).await,
            )
            .await;
            $crate::spin::http::Reply(response)
        }
    };
}
