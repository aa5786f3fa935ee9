//! Spin key-value through `wasi:keyvalue@0.2.0-draft2` (a SQLite file locally, Redis in
//! production), with its compare-and-swap: a value read for a swap is replaced only if
//! no other writer changed it meanwhile, on every backend.

use spin_sdk::wit::wasi::keyvalue::atomics::{self, Cas, CasError};
use spin_sdk::wit::wasi::keyvalue::store::{self, Bucket, Error};

/// One key-value store of the component (`key_value_stores` in `spin.toml`).
pub struct Store(Bucket);

/// A key's value as read for [`Store::swap`].
pub struct Watched {
    cas: Cas,
    pub value: Option<Vec<u8>>,
}

fn describe(error: Error) -> String {
    match error {
        Error::NoSuchStore => "no such key-value store".into(),
        Error::AccessDenied => "access to the key-value store denied".into(),
        Error::Other(message) => message,
    }
}

impl Store {
    /// The store labelled `default`.
    pub fn open_default() -> Result<Self, String> {
        store::open("default").map(Store).map_err(describe)
    }

    pub fn get(&self, key: &str) -> Result<Option<Vec<u8>>, String> {
        self.0.get(key).map_err(describe)
    }

    pub fn set(&self, key: &str, value: &[u8]) -> Result<(), String> {
        self.0.set(key, value).map_err(describe)
    }

    /// Deleting an absent key is not an error.
    pub fn delete(&self, key: &str) -> Result<(), String> {
        self.0.delete(key).map_err(describe)
    }

    /// Reads `key` for a compare-and-swap.
    pub fn watch(&self, key: &str) -> Result<Watched, String> {
        let cas = Cas::new(&self.0, key).map_err(describe)?;
        let value = cas.current().map_err(describe)?;
        Ok(Watched { cas, value })
    }

    /// Writes `value` where `watched` was read, unless another writer changed the key
    /// since: `Ok(false)` then, and the caller reads again.
    pub fn swap(&self, watched: Watched, value: &[u8]) -> Result<bool, String> {
        match atomics::swap(watched.cas, value) {
            Ok(()) => Ok(true),
            Err(CasError::CasFailed(_)) => Ok(false),
            Err(CasError::StoreError(error)) => Err(describe(error)),
        }
    }
}
