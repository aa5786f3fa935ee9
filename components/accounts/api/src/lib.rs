//! The accounts context's HTTP component: a thin adapter from DESIGN §3's accounts routes
//! to `accounts-domain`. [`routes`] holds the route table and the token answer (pure,
//! tested natively); the Spin handler lives in `service` (wasm only).
//!
//! Register and login are public and take the tenant from `x-tenant-id` (default
//! `default`); every `/users` route takes it from the bearer token.

pub mod routes;
#[cfg(target_arch = "wasm32")]
mod service;
