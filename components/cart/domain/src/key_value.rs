//! The key-value store the cart lives in, reduced to what Spin's key-value offers every
//! backend (SQLite file, Redis): last-writer-wins `get`, `set` and `delete` of one key.
//! There is no compare-and-swap and no transaction, so the cart's algorithms in
//! [`crate::index`] and [`crate::cart`] are built from these alone.

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
}
