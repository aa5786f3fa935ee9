//! FusionCommerce's platform kit: the plumbing every component shares and no business
//! rule. Pure parts (problem, json, request_id, pagination, auth, db, outbox, http, route,
//! edge, service, and the [`variables`] and [`outbound`] traits domain code takes) build
//! and test natively; [`spin`] (the store, variables, HTTP, the API skeleton),
//! [`events`] (the `http` event transport) and `edge::serve` are the Spin adapters and
//! build for wasm only.

pub mod auth;
pub mod checkout;
pub mod db;
pub mod edge;
#[cfg(target_arch = "wasm32")]
pub mod events;
pub mod http;
pub mod json;
pub mod key_value;
pub mod log;
pub mod outbound;
pub mod outbox;
pub mod pagination;
pub mod problem;
pub mod request_id;
pub mod route;
pub mod service;
pub mod signature;
#[cfg(target_arch = "wasm32")]
pub mod spin;
pub mod status;
pub mod trace;
pub mod variables;
pub mod wiring;

pub use problem::{FieldError, Problem};
pub use service::DomainError;

/// The Spin entry point of an API component (wasm only): the requests to `$routes`
/// are answered by `$handler` — an `async fn` taking the endpoint and the
/// [`service::Call`] — behind the edge (see [`spin::serve_api`]). The context is the
/// crate `$domain`'s (its `CONTEXT` and the `MIGRATIONS` of its store), or, for a
/// component without a SQL store, `stateless` and named by `$context`.
#[macro_export]
macro_rules! api_component {
    ($domain:ident, $routes:expr, $handler:path $(,)?) => {
        $crate::api_component!(@serve $domain::CONTEXT, Some($domain::MIGRATIONS), $routes, $handler);
    };
    (stateless $context:literal, $routes:expr, $handler:path $(,)?) => {
        $crate::api_component!(@serve $context, None, $routes, $handler);
    };
    (@serve $context:expr, $store:expr, $routes:expr, $handler:path) => {
        #[spin_sdk::http_component]
        async fn handle(request: spin_sdk::http::IncomingRequest) -> $crate::spin::http::Reply {
            let api = $crate::service::Api {
                context: $context,
                store: $store,
                routes: $routes,
            };
            $crate::spin::http::Reply($crate::spin::serve_api(request, &api, $handler).await)
        }
    };
}

/// The whole of an event-handler component: its Spin handler (wasm only), which applies
/// events of type `$event` to the store of the context crate `$domain` (its `CONTEXT`
/// and `MIGRATIONS`) as the subscriber `$subscriber` (its id in `spin.toml`), either
/// with `$apply` — an `async` function or closure taking `(&RequestStore, &Envelope<$event>)`
/// and returning `Result<(), outbox::HandlerError>` — through [`events::serve_event`],
/// or, for a handler that must call out before it records, with `call_out:` (taking
/// the same, returning its answer) and `record:` (also taking the answer) through
/// [`events::serve_event_calling_out`].
#[macro_export]
macro_rules! event_handler {
    ($subscriber:literal, $domain:ident, $event:ty, call_out: $call_out:expr, record: $record:expr $(,)?) => {
        $crate::event_handler!(@serve $subscriber, $domain, |request, handler| {
            $crate::events::serve_event_calling_out(
                request,
                handler,
                async |db, event: &$crate::events::Envelope<$event>| ($call_out)(db, event).await,
                async |db, event: &$crate::events::Envelope<$event>, answer| {
                    ($record)(db, event, answer).await
                },
            )
        });
    };
    ($subscriber:literal, $domain:ident, $event:ty, $apply:expr $(,)?) => {
        $crate::event_handler!(@serve $subscriber, $domain, |request, handler| {
            $crate::events::serve_event(
                request,
                handler,
                async |db, event: &$crate::events::Envelope<$event>| ($apply)(db, event).await,
            )
        });
    };
    (@serve $subscriber:literal, $domain:ident, |$request:ident, $handler:ident| $serve:expr) => {
        #[cfg(target_arch = "wasm32")]
        #[spin_sdk::http_component]
        async fn handle($request: spin_sdk::http::IncomingRequest) -> $crate::spin::http::Reply {
            const HANDLER: $crate::events::EventHandler = $crate::events::EventHandler {
                subscriber: $subscriber,
                context: $domain::CONTEXT,
                migrations: $domain::MIGRATIONS,
            };
            let $handler = &HANDLER;
            $crate::spin::http::Reply($serve.await)
        }
    };
}
