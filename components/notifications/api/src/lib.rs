//! The notifications context's HTTP component: `GET /api/v1/notifications`, the caller's
//! own messages, newest first, keyset-paginated. [`routes`] holds the route table and the
//! list query (pure, tested natively); the Spin handler lives in `service` (wasm only).
//!
//! Any signed-in caller reads their own inbox and no one else's: the customer id and the
//! tenant come from the token, never from the request.

pub mod routes;
#[cfg(target_arch = "wasm32")]
mod service;
