//! The inventory context's HTTP component: a thin adapter from DESIGN §3's inventory
//! routes to `inventory-domain`. [`routes`] holds the route table and who may call
//! what (pure, tested natively); the Spin handler lives in `service` (wasm only).
//!
//! Stock levels, adjustments and movements are the admin's. The availability check is
//! a public read like the catalog's: with a bearer token the token's tenant (a bad
//! token is 401), without one the `x-tenant-id` header's (default `default`).

pub mod routes;
#[cfg(target_arch = "wasm32")]
mod service;
