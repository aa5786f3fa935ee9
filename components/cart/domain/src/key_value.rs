//! The key-value store the cart lives in, reduced to what Spin's key-value offers every
//! backend (SQLite file, Redis): last-writer-wins `get`, `set` and `delete` of one key,
//! and compare-and-swap of one key (`wasi:keyvalue/atomics`). There is no transaction
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
    /// A key as read by [`KeyValue::watch`], for one [`KeyValue::swap`].
    type Watched;

    async fn get(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError>;
    async fn set(&self, key: &str, value: &[u8]) -> Result<(), StoreError>;
    /// Deleting an absent key is not an error.
    async fn delete(&self, key: &str) -> Result<(), StoreError>;
    /// Reads `key` (its value, `None` when absent) for a compare-and-swap.
    async fn watch(&self, key: &str) -> Result<(Self::Watched, Option<Vec<u8>>), StoreError>;
    /// Writes `value` where `watched` was read, unless another writer changed the key
    /// since: `Ok(false)` then.
    async fn swap(&self, watched: Self::Watched, value: &[u8]) -> Result<bool, StoreError>;
}
