//! The cart context's HTTP component: a thin adapter from DESIGN §3's cart routes to
//! `cart-domain`. [`routes`] holds the route table and reads the line's sku from the
//! path (pure, tested natively); the Spin handler, with the key-value store behind
//! `cart_domain::KeyValue`, lives in `service` (wasm only).
//!
//! Every route needs a bearer token, and works on the caller's own cart in the token's
//! tenant. Prices come live from the catalog, and checkout places the order through the
//! orders component, both over service chaining.

pub mod routes;
#[cfg(target_arch = "wasm32")]
mod service;
