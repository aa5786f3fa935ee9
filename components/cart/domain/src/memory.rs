//! An in-memory [`KeyValue`] for the tests, optionally interleaving its callers: before
//! each call it yields a pseudo-random number of times (seeded, so a failure replays),
//! so futures joined on one executor run their store calls in many different orders.

use crate::key_value::{KeyValue, StoreError};
use std::cell::{Cell, RefCell};
use std::collections::BTreeMap;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

#[derive(Default)]
pub struct MemoryStore {
    entries: RefCell<BTreeMap<String, Vec<u8>>>,
    /// xorshift state; 0 means no yielding.
    seed: Cell<u64>,
    failing: bool,
}

impl MemoryStore {
    pub fn new() -> Self {
        Self::default()
    }

    /// A store whose callers interleave in an order fixed by `seed` (non-zero).
    pub fn interleaved(seed: u64) -> Self {
        Self {
            seed: Cell::new(seed),
            ..Self::default()
        }
    }

    /// A store every call to which fails.
    pub fn failing() -> Self {
        Self {
            failing: true,
            ..Self::default()
        }
    }

    pub fn put(&self, key: &str, value: &str) {
        self.entries
            .borrow_mut()
            .insert(key.to_owned(), value.as_bytes().to_vec());
    }

    pub fn value(&self, key: &str) -> Option<String> {
        let entries = self.entries.borrow();
        entries
            .get(key)
            .map(|value| String::from_utf8_lossy(value).into_owned())
    }

    pub fn keys(&self) -> Vec<String> {
        self.entries.borrow().keys().cloned().collect()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.borrow().is_empty()
    }

    async fn turn(&self) -> Result<(), StoreError> {
        let mut state = self.seed.get();
        if state != 0 {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            self.seed.set(state);
            for _ in 0..state % 4 {
                YieldNow(false).await;
            }
        }
        if self.failing {
            return Err(StoreError("the test store is down".into()));
        }
        Ok(())
    }
}

impl KeyValue for MemoryStore {
    async fn get(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        self.turn().await?;
        Ok(self.entries.borrow().get(key).cloned())
    }

    async fn set(&self, key: &str, value: &[u8]) -> Result<(), StoreError> {
        self.turn().await?;
        self.entries
            .borrow_mut()
            .insert(key.to_owned(), value.to_vec());
        Ok(())
    }

    async fn delete(&self, key: &str) -> Result<(), StoreError> {
        self.turn().await?;
        self.entries.borrow_mut().remove(key);
        Ok(())
    }

    /// Counters are kept as Redis keeps them: decimal text.
    async fn increment(&self, key: &str, delta: i64) -> Result<i64, StoreError> {
        self.turn().await?;
        let mut entries = self.entries.borrow_mut();
        let held = match entries.get(key) {
            None => 0,
            Some(stored) => kit::key_value::decode_counter(stored)
                .ok_or_else(|| StoreError(format!("{key} is not a counter")))?,
        };
        let value = held + delta;
        entries.insert(key.to_owned(), value.to_string().into_bytes());
        Ok(value)
    }

    async fn counter(&self, key: &str) -> Result<i64, StoreError> {
        match self.get(key).await? {
            None => Ok(0),
            Some(stored) => kit::key_value::decode_counter(&stored)
                .ok_or_else(|| StoreError(format!("{key} is not a counter"))),
        }
    }
}

/// Pending once, so the executor polls the other joined futures first.
struct YieldNow(bool);

impl Future for YieldNow {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if self.0 {
            Poll::Ready(())
        } else {
            self.0 = true;
            cx.waker().wake_by_ref();
            Poll::Pending
        }
    }
}
