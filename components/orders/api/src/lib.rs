//! The orders context's HTTP component: a thin adapter from DESIGN §3's order routes to
//! `orders-domain`. [`routes`] holds the route table, the list query and who sees which
//! orders (pure, tested natively); the Spin handler lives in `service` (wasm only).
//!
//! Every route needs a bearer token. Any authenticated user buys for themself; a
//! customer reads and cancels their own orders, an admin every order of the tenant, and
//! only an admin approves or rejects an order the fraud rules held in `review`.
//! Checkout prices come from the catalog component over service chaining; tax, shipping
//! and the fraud thresholds from the component's variables.

pub mod routes;
#[cfg(target_arch = "wasm32")]
mod service;
