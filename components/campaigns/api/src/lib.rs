//! The campaigns context's HTTP component: a thin adapter from DESIGN §3's campaign routes
//! to `campaigns-domain`. [`routes`] holds the route table, the list query and who may do
//! what (pure, tested natively); the Spin handler lives in `service` (wasm only).
//!
//! Reads are public but tenant-scoped like the catalog's: with a bearer token the token's
//! tenant, without one `x-tenant-id`. Vendors and admins create campaigns; any signed-in
//! user joins for themself. The sweep that fails ended campaigns is for admins, or for a
//! scheduler presenting the `sweep_key` variable in `x-sweep-key`.

pub mod routes;
#[cfg(target_arch = "wasm32")]
mod service;
