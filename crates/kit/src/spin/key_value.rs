//! Spin key-value through `wasi:keyvalue@0.2.0-draft2` (a SQLite file locally, Redis in
//! production), with its atomic `increment`.
//!
//! `increment` is the one atomic operation that is exact on every backend of Spin 3.6 and
//! 4.0. Their compare-and-swap is not: on Redis every swap reports failure after writing
//! (it ends with `UNWATCH <key>`, which Redis refuses) and a conflict is never detected
//! (an aborted `EXEC` reads as success); on the SQLite store a swap of an absent key is an
//! upsert, so two first writers both win. So nothing here offers compare-and-swap.

use spin_sdk::wit::wasi::keyvalue::atomics;
use spin_sdk::wit::wasi::keyvalue::store::{self, Bucket, Error};

/// One key-value store of the component (`key_value_stores` in `spin.toml`).
pub struct Store(Bucket);

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

    /// Adds `delta` to the counter at `key` (absent counts as 0) atomically: its new value.
    pub fn increment(&self, key: &str, delta: i64) -> Result<i64, String> {
        atomics::increment(&self.0, key, delta).map_err(describe)
    }

    /// The counter at `key` (0 when absent), without changing or creating it.
    pub fn counter(&self, key: &str) -> Result<i64, String> {
        match self.get(key)? {
            None => Ok(0),
            Some(stored) => crate::key_value::decode_counter(&stored)
                .ok_or_else(|| format!("the value at {key:?} is not a counter")),
        }
    }
}
