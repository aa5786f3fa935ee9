//! The key-value store the cart lives in, reduced to what Spin's key-value offers every
//! backend (SQLite file, Redis): last-writer-wins `get`, `set` and `delete` of one key,
//! and atomic `increment` of a counter (`wasi:keyvalue/atomics`; Spin's compare-and-swap
//! is not exact on every backend, see `kit::spin::key_value`). There is no transaction
//! across keys, so the cart's algorithms in [`crate::index`] and [`crate::cart`] are
//! built from these alone.

use std::fmt;

/// A store call that failed (the store is unreachable or refused); answered as 503.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoreError(pub String);

impl fmt::Display for StoreError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "key-value store: {}", self.0)
    }
}

impl std::error::Error for StoreError {}

/// One key-value store; each call is atomic on its own key and nothing more.
#[allow(async_fn_in_trait)] // components are single-threaded wasm; no `Send` bound wanted
pub trait KeyValue {
    async fn get(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError>;
    async fn set(&self, key: &str, value: &[u8]) -> Result<(), StoreError>;
    /// Deleting an absent key is not an error.
    async fn delete(&self, key: &str) -> Result<(), StoreError>;
    /// Adds `delta` to the counter at `key` (absent counts as 0) atomically; its new value.
    async fn increment(&self, key: &str, delta: i64) -> Result<i64, StoreError>;
    /// The counter at `key` (0 when absent), without creating it.
    async fn counter(&self, key: &str) -> Result<i64, StoreError>;
}
