//! The payments context's HTTP component: a thin adapter from DESIGN §3's payments
//! routes to `payments-domain`. [`routes`] holds the route table and the parsing of
//! queries and bodies (pure, tested natively); the Spin handler lives in `service`
//! (wasm only).
//!
//! Everything is for admins except `POST /api/v1/payments/webhook`, which Stripe calls
//! and which proves itself by its `Stripe-Signature` instead of a token.

pub mod routes;
#[cfg(target_arch = "wasm32")]
mod service;
