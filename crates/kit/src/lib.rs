//! FusionCommerce's platform kit: the plumbing every component shares and no business
//! rule. Pure parts (problem, json, request_id, pagination, auth, db, outbox, http, route) build
//! and test natively; [`spin`] (the store, variables) and [`events`] (the `http` event
//! transport) are the Spin adapters and build for wasm only.

pub mod auth;
pub mod db;
#[cfg(target_arch = "wasm32")]
pub mod events;
pub mod http;
pub mod json;
pub mod outbox;
pub mod pagination;
pub mod problem;
pub mod request_id;
pub mod route;
#[cfg(target_arch = "wasm32")]
pub mod spin;

pub use problem::{FieldError, Problem};
