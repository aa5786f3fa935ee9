//! `GET /health`: 200 when every store the app uses answers, 503 (naming the one that
//! does not) otherwise — each context's database and the key-value store.

#[cfg(target_arch = "wasm32")]
mod service;
