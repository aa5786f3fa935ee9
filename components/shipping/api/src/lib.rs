//! The shipping context's HTTP component: a thin adapter from DESIGN §3's shipping routes
//! to `shipping-domain`. [`routes`] holds the route table, the list query and who may
//! manage shipments (pure, tested natively); the Spin handler lives in `service` (wasm
//! only).
//!
//! Shipments, their labels and status changes are for admins. Tracking is public but
//! tenant-scoped: with a bearer token the token's tenant, without one `x-tenant-id`
//! (default `default`); it shows no address and no customer.

pub mod routes;
#[cfg(target_arch = "wasm32")]
mod service;
