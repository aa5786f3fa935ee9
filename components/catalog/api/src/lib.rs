//! The catalog context's HTTP component: a thin adapter from DESIGN §3's catalog routes
//! to `catalog-domain`. [`routes`] holds the route table and the rules about who reads
//! what (pure, tested natively); the Spin handler lives in `service` (wasm only).
//!
//! Reads are public but tenant-scoped: an anonymous reader's tenant is `x-tenant-id`
//! (default `default`), a reader with a bearer token reads the token's tenant. Only the
//! catalog's writers (admin, vendor) see inactive products; everyone else sees active
//! ones only.

pub mod routes;
#[cfg(target_arch = "wasm32")]
mod service;
