//! Key-value: stores named by label, backed by a SQLite file (Spin's `spin` type, same table
//! layout and value encodings as Spin's so the file is interchangeable) or by Redis (plain
//! keys, counters as Redis integers, as Spin's `redis` type).
//!
//! Guests reach them through `spin:key-value@3.0.0` (spin-sdk 6), and through
//! `fermyon:spin/key-value@2.0.0` and `wasi:keyvalue/{store,atomics,batch}@0.2.0-draft2`
//! (spin-sdk 5). Every interface is a thin conversion over [`Backend`].
//!
//! Atomics are exact under concurrency. `increment` is one transaction (SQLite, the value an
//! 8-byte little-endian `i64` as Spin writes it) or `INCRBY` (Redis). A compare-and-swap
//! compares against the value its handle last read with `current` (absent included) and
//! writes only if the stored value is still that one: a conditional `UPDATE`/`INSERT` on
//! SQLite, a server-side script on Redis. A swap whose handle never read `current` writes
//! unconditionally, as in Spin.

use crate::bindings::fermyon::spin2_0_0::key_value as v2;
use crate::bindings::spin::key_value::key_value::{self as v3};
use crate::bindings::wasi::keyvalue::{atomics, batch, store as wasi_kv};
use crate::state::{Capabilities, InstanceState};
use crate::telemetry::{self, SpanContext};
use anyhow::Context as _;
use fusion_host_app::runtime_config::KeyValueStoreConfig;
use redis::AsyncCommands;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::Path;
use std::sync::{Arc, Mutex};
use wasmtime::component::{Accessor, FutureReader, Linker, Resource, StreamReader};

/// The key-value stores of the application, opened once and shared by every instance.
pub struct KeyValueRuntime {
    stores: HashMap<String, Arc<Backend>>,
}

pub enum Backend {
    Sqlite(Arc<Mutex<rusqlite::Connection>>),
    Redis(redis::aio::ConnectionManager),
}

/// A store the guest opened; it lives in the instance's resource table.
pub type OpenStore = Arc<Backend>;

pub struct KeyValueInstance {
    runtime: Arc<KeyValueRuntime>,
    allowed: Arc<HashSet<String>>,
    /// The invocation whose operations are traced (see [`crate::telemetry`]).
    pub trace: Option<SpanContext>,
}

/// The errors every key-value interface shares; each converts them to its own variant.
#[derive(Debug)]
pub enum KvError {
    StoreTableFull,
    NoSuchStore,
    AccessDenied,
    Other(String),
}

impl From<KvError> for v3::Error {
    fn from(e: KvError) -> Self {
        match e {
            KvError::StoreTableFull => Self::StoreTableFull,
            KvError::NoSuchStore => Self::NoSuchStore,
            KvError::AccessDenied => Self::AccessDenied,
            KvError::Other(m) => Self::Other(m),
        }
    }
}

impl From<KvError> for v2::Error {
    fn from(e: KvError) -> Self {
        match e {
            KvError::StoreTableFull => Self::StoreTableFull,
            KvError::NoSuchStore => Self::NoSuchStore,
            KvError::AccessDenied => Self::AccessDenied,
            KvError::Other(m) => Self::Other(m),
        }
    }
}

impl From<KvError> for wasi_kv::Error {
    fn from(e: KvError) -> Self {
        match e {
            KvError::StoreTableFull => Self::Other("store table full".into()),
            KvError::NoSuchStore => Self::NoSuchStore,
            KvError::AccessDenied => Self::AccessDenied,
            KvError::Other(m) => Self::Other(m),
        }
    }
}

impl KeyValueRuntime {
    pub async fn new(config: &BTreeMap<String, KeyValueStoreConfig>) -> anyhow::Result<Self> {
        let mut stores = HashMap::new();
        for (label, store) in config {
            let backend = match store {
                KeyValueStoreConfig::Spin { path } => Backend::Sqlite(Arc::new(Mutex::new(
                    open_sqlite_store(Some(path))
                        .with_context(|| format!("key-value store `{label}`"))?,
                ))),
                KeyValueStoreConfig::SpinInMemory => Backend::Sqlite(Arc::new(Mutex::new(
                    open_sqlite_store(None)
                        .with_context(|| format!("key-value store `{label}`"))?,
                ))),
                KeyValueStoreConfig::Redis { url } => {
                    let client = redis::Client::open(url.as_str())
                        .with_context(|| format!("key-value store `{label}`: bad url"))?;
                    Backend::Redis(
                        redis::aio::ConnectionManager::new(client)
                            .await
                            .with_context(|| {
                                format!("key-value store `{label}`: cannot reach {url}")
                            })?,
                    )
                }
            };
            stores.insert(label.clone(), Arc::new(backend));
        }
        Ok(Self { stores })
    }

    /// Checks the labels a component names against this runtime config.
    pub fn check_labels(&self, labels: &[String]) -> Result<(), String> {
        super::check_labels(
            labels,
            |label| self.stores.contains_key(label),
            super::Labels {
                field: "key_value_stores",
                kind: "key-value store",
                table: "key_value_store",
            },
        )
    }

    pub fn instance(self: &Arc<Self>, allowed: Arc<HashSet<String>>) -> KeyValueInstance {
        KeyValueInstance {
            runtime: self.clone(),
            allowed,
            trace: None,
        }
    }
}

impl KeyValueInstance {
    /// A store the component may use, as Spin checks it: not granted → access-denied,
    /// granted but not configured → no-such-store.
    fn open(&self, label: String) -> Result<StoreHandle, KvError> {
        if !self.allowed.contains(&label) {
            return Err(KvError::AccessDenied);
        }
        let backend = self
            .runtime
            .stores
            .get(&label)
            .cloned()
            .ok_or(KvError::NoSuchStore)?;
        Ok(StoreHandle {
            label,
            backend,
            trace: self.trace,
        })
    }
}

fn open_sqlite_store(path: Option<&Path>) -> anyhow::Result<rusqlite::Connection> {
    let connection = match path {
        Some(path) => {
            if let Some(dir) = path.parent() {
                std::fs::create_dir_all(dir)
                    .with_context(|| format!("cannot create {}", dir.display()))?;
            }
            rusqlite::Connection::open(path)
                .with_context(|| format!("cannot open {}", path.display()))?
        }
        None => rusqlite::Connection::open_in_memory()?,
    };
    // Another process (a second host, or Spin) may hold the file: wait for its lock.
    connection.busy_timeout(std::time::Duration::from_secs(5))?;
    // Every key-value write is its own transaction, and the app writes on most requests
    // (the rate limit's counters): in SQLite's default rollback journal with
    // synchronous=FULL each one waits for several fsyncs under the store's one
    // connection. WAL with synchronous=NORMAL commits without an fsync (the WAL is
    // synced at checkpoints): a crash of the host loses nothing, a power cut at most the
    // last moments' writes. The file stays one Spin opens.
    if path.is_some() {
        connection.pragma_update(None, "journal_mode", "WAL")?;
        connection.pragma_update(None, "synchronous", "NORMAL")?;
    }
    connection.execute_batch(
        "CREATE TABLE IF NOT EXISTS spin_key_value (
            store TEXT NOT NULL,
            key   TEXT NOT NULL,
            value BLOB NOT NULL,
            PRIMARY KEY (store, key)
        );",
    )?;
    Ok(connection)
}

const UPSERT: &str = "INSERT INTO spin_key_value (store, key, value) VALUES (?1, ?2, ?3)
     ON CONFLICT (store, key) DO UPDATE SET value = excluded.value";
const SELECT: &str = "SELECT value FROM spin_key_value WHERE store = ?1 AND key = ?2";

/// Writes `ARGV[3]` to `KEYS[1]` only while it holds what the caller saw: nothing when
/// `ARGV[1]` is `absent`, else exactly `ARGV[2]`. Answers 1 when it wrote.
const REDIS_COMPARE_AND_SWAP: &str = r#"
local current = redis.call('GET', KEYS[1])
if ARGV[1] == 'absent' then
  if current then return 0 end
elseif current ~= ARGV[2] then
  return 0
end
redis.call('SET', KEYS[1], ARGV[3])
return 1
"#;

fn sqlite_error(e: rusqlite::Error) -> KvError {
    KvError::Other(e.to_string())
}

fn redis_error(e: redis::RedisError) -> KvError {
    KvError::Other(e.to_string())
}

/// A counter as Spin's SQLite store keeps it: the 8 little-endian bytes of an `i64`.
fn decode_counter(key: &str, value: Vec<u8>) -> Result<i64, KvError> {
    let bytes: [u8; 8] = value.try_into().map_err(|v: Vec<u8>| {
        KvError::Other(format!(
            "the value of `{key}` is not a counter ({} bytes; increment keeps an 8-byte little-endian integer)",
            v.len()
        ))
    })?;
    Ok(i64::from_le_bytes(bytes))
}

impl Backend {
    async fn run_sqlite<R: Send + 'static>(
        connection: &Arc<Mutex<rusqlite::Connection>>,
        work: impl FnOnce(&mut rusqlite::Connection) -> Result<R, KvError> + Send + 'static,
    ) -> Result<R, KvError> {
        let connection = connection.clone();
        tokio::task::spawn_blocking(move || {
            let mut connection = connection.lock().unwrap_or_else(|e| e.into_inner());
            work(&mut connection)
        })
        .await
        .map_err(|e| KvError::Other(e.to_string()))?
    }

    fn redis(&self) -> Option<redis::aio::ConnectionManager> {
        match self {
            Backend::Redis(c) => Some(c.clone()),
            Backend::Sqlite(_) => None,
        }
    }

    async fn get(&self, label: &str, key: String) -> Result<Option<Vec<u8>>, KvError> {
        crate::stats::count(&crate::stats::COUNTS.key_value_operations);
        match self {
            Backend::Sqlite(c) => {
                let label = label.to_owned();
                Self::run_sqlite(c, move |c| {
                    use rusqlite::OptionalExtension;
                    c.prepare_cached(SELECT)
                        .and_then(|mut s| s.query_row((label, key), |row| row.get(0)).optional())
                        .map_err(sqlite_error)
                })
                .await
            }
            Backend::Redis(c) => c.clone().get(key).await.map_err(redis_error),
        }
    }

    async fn set(&self, label: &str, key: String, value: Vec<u8>) -> Result<(), KvError> {
        crate::stats::count(&crate::stats::COUNTS.key_value_operations);
        match self {
            Backend::Sqlite(c) => {
                let label = label.to_owned();
                Self::run_sqlite(c, move |c| {
                    c.prepare_cached(UPSERT)
                        .and_then(|mut s| s.execute((label, key, value)))
                        .map(drop)
                        .map_err(sqlite_error)
                })
                .await
            }
            Backend::Redis(c) => c.clone().set(key, value).await.map_err(redis_error),
        }
    }

    async fn delete(&self, label: &str, key: String) -> Result<(), KvError> {
        self.delete_many(label, vec![key]).await
    }

    async fn exists(&self, label: &str, key: String) -> Result<bool, KvError> {
        match self {
            // `get` counts the operation.
            Backend::Sqlite(_) => Ok(self.get(label, key).await?.is_some()),
            Backend::Redis(c) => {
                crate::stats::count(&crate::stats::COUNTS.key_value_operations);
                c.clone().exists(key).await.map_err(redis_error)
            }
        }
    }

    async fn keys(&self, label: &str) -> Result<Vec<String>, KvError> {
        crate::stats::count(&crate::stats::COUNTS.key_value_operations);
        match self {
            Backend::Sqlite(c) => {
                let label = label.to_owned();
                Self::run_sqlite(c, move |c| {
                    let mut statement = c
                        .prepare_cached("SELECT key FROM spin_key_value WHERE store = ?1")
                        .map_err(sqlite_error)?;
                    statement
                        .query_map([label], |row| row.get::<_, String>(0))
                        .and_then(Iterator::collect)
                        .map_err(sqlite_error)
                })
                .await
            }
            Backend::Redis(c) => c.clone().keys("*").await.map_err(redis_error),
        }
    }

    /// The keys that exist, with their values (as Spin's SQLite store answers: absent keys
    /// are left out).
    async fn get_many(
        &self,
        label: &str,
        keys: Vec<String>,
    ) -> Result<Vec<(String, Option<Vec<u8>>)>, KvError> {
        crate::stats::count(&crate::stats::COUNTS.key_value_operations);
        if keys.is_empty() {
            return Ok(Vec::new());
        }
        let values: Vec<Option<Vec<u8>>> = match self {
            Backend::Sqlite(c) => {
                let label = label.to_owned();
                let keys = keys.clone();
                Self::run_sqlite(c, move |c| {
                    use rusqlite::OptionalExtension;
                    let mut statement = c.prepare_cached(SELECT).map_err(sqlite_error)?;
                    keys.into_iter()
                        .map(|key| {
                            statement
                                .query_row((&label, key), |row| row.get(0))
                                .optional()
                                .map_err(sqlite_error)
                        })
                        .collect()
                })
                .await?
            }
            Backend::Redis(c) => redis::cmd("MGET")
                .arg(&keys)
                .query_async(&mut c.clone())
                .await
                .map_err(redis_error)?,
        };
        Ok(keys
            .into_iter()
            .zip(values)
            .filter(|(_, value)| value.is_some())
            .collect())
    }

    async fn set_many(
        &self,
        label: &str,
        key_values: Vec<(String, Vec<u8>)>,
    ) -> Result<(), KvError> {
        crate::stats::count(&crate::stats::COUNTS.key_value_operations);
        if key_values.is_empty() {
            return Ok(());
        }
        match self {
            Backend::Sqlite(c) => {
                let label = label.to_owned();
                Self::run_sqlite(c, move |c| {
                    let tx = c.transaction().map_err(sqlite_error)?;
                    {
                        let mut statement = tx.prepare_cached(UPSERT).map_err(sqlite_error)?;
                        for (key, value) in key_values {
                            statement
                                .execute((&label, key, value))
                                .map_err(sqlite_error)?;
                        }
                    }
                    tx.commit().map_err(sqlite_error)
                })
                .await
            }
            Backend::Redis(c) => c.clone().mset(&key_values).await.map_err(redis_error),
        }
    }

    async fn delete_many(&self, label: &str, keys: Vec<String>) -> Result<(), KvError> {
        crate::stats::count(&crate::stats::COUNTS.key_value_operations);
        if keys.is_empty() {
            return Ok(());
        }
        match self {
            Backend::Sqlite(c) => {
                let label = label.to_owned();
                Self::run_sqlite(c, move |c| {
                    let tx = c.transaction().map_err(sqlite_error)?;
                    {
                        let mut statement = tx
                            .prepare_cached(
                                "DELETE FROM spin_key_value WHERE store = ?1 AND key = ?2",
                            )
                            .map_err(sqlite_error)?;
                        for key in keys {
                            statement.execute((&label, key)).map_err(sqlite_error)?;
                        }
                    }
                    tx.commit().map_err(sqlite_error)
                })
                .await
            }
            Backend::Redis(c) => c.clone().del(keys).await.map_err(redis_error),
        }
    }

    /// Adds `delta` to the counter at `key` (absent counts as 0) and answers the new value.
    async fn increment(&self, label: &str, key: String, delta: i64) -> Result<i64, KvError> {
        crate::stats::count(&crate::stats::COUNTS.key_value_operations);
        match self {
            Backend::Sqlite(c) => {
                let label = label.to_owned();
                Self::run_sqlite(c, move |c| {
                    use rusqlite::OptionalExtension;
                    // IMMEDIATE: the write lock is taken before the read, so another
                    // process sharing the file cannot interleave its own increment.
                    let tx = c
                        .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
                        .map_err(sqlite_error)?;
                    let current: Option<Vec<u8>> = tx
                        .prepare_cached(SELECT)
                        .and_then(|mut s| s.query_row((&label, &key), |row| row.get(0)).optional())
                        .map_err(sqlite_error)?;
                    let current = current
                        .map(|v| decode_counter(&key, v))
                        .transpose()?
                        .unwrap_or(0);
                    let next = current.checked_add(delta).ok_or_else(|| {
                        KvError::Other(format!("incrementing `{key}` by {delta} overflows"))
                    })?;
                    tx.prepare_cached(UPSERT)
                        .and_then(|mut s| s.execute((&label, &key, next.to_le_bytes())))
                        .map_err(sqlite_error)?;
                    tx.commit().map_err(sqlite_error)?;
                    Ok(next)
                })
                .await
            }
            Backend::Redis(c) => c.clone().incr(key, delta).await.map_err(redis_error),
        }
    }

    /// Writes `value` when `key` still holds `expected` (`None`: absent); answers whether
    /// it wrote.
    async fn compare_and_swap(
        &self,
        label: &str,
        key: String,
        expected: Option<Vec<u8>>,
        value: Vec<u8>,
    ) -> Result<bool, KvError> {
        crate::stats::count(&crate::stats::COUNTS.key_value_operations);
        if let Some(mut connection) = self.redis() {
            let (mode, old) = match expected {
                None => ("absent", Vec::new()),
                Some(old) => ("equal", old),
            };
            let written: i64 = redis::cmd("EVAL")
                .arg(REDIS_COMPARE_AND_SWAP)
                .arg(1)
                .arg(key)
                .arg(mode)
                .arg(old)
                .arg(value)
                .query_async(&mut connection)
                .await
                .map_err(redis_error)?;
            return Ok(written == 1);
        }
        let Backend::Sqlite(c) = self else {
            unreachable!("a backend is SQLite or Redis")
        };
        let label = label.to_owned();
        Self::run_sqlite(c, move |c| {
            let changed = match expected {
                None => c
                    .prepare_cached(
                        "INSERT INTO spin_key_value (store, key, value) VALUES (?1, ?2, ?3)
                         ON CONFLICT (store, key) DO NOTHING",
                    )
                    .and_then(|mut s| s.execute((label, key, value))),
                Some(old) => c
                    .prepare_cached(
                        "UPDATE spin_key_value SET value = ?4
                         WHERE store = ?1 AND key = ?2 AND value = ?3",
                    )
                    .and_then(|mut s| s.execute((label, key, old, value))),
            }
            .map_err(sqlite_error)?;
            Ok(changed == 1)
        })
        .await
    }
}

/// The label a store resource was opened with travels with it, because the SQLite
/// backend keeps every store in one table keyed by label.
pub struct StoreHandle {
    label: String,
    backend: OpenStore,
    trace: Option<SpanContext>,
}

/// Each operation of a store, traced as a child of the invocation that opened it.
impl StoreHandle {
    fn share(&self) -> StoreHandle {
        StoreHandle {
            label: self.label.clone(),
            backend: self.backend.clone(),
            trace: self.trace,
        }
    }

    async fn traced<R>(
        &self,
        operation: &'static str,
        work: impl Future<Output = Result<R, KvError>>,
    ) -> Result<R, KvError> {
        let span = self.trace.and_then(|parent| {
            let mut span = telemetry::start(
                format_args!("key_value.{operation}"),
                telemetry::Kind::Client,
                Some(parent),
            )?;
            span.set("spin.key_value.store", self.label.as_str());
            Some(span)
        });
        let result = work.await;
        telemetry::end_with(span, &result);
        result
    }

    async fn get(&self, key: String) -> Result<Option<Vec<u8>>, KvError> {
        self.traced("get", self.backend.get(&self.label, key)).await
    }

    async fn set(&self, key: String, value: Vec<u8>) -> Result<(), KvError> {
        self.traced("set", self.backend.set(&self.label, key, value))
            .await
    }

    async fn delete(&self, key: String) -> Result<(), KvError> {
        self.traced("delete", self.backend.delete(&self.label, key))
            .await
    }

    async fn exists(&self, key: String) -> Result<bool, KvError> {
        self.traced("exists", self.backend.exists(&self.label, key))
            .await
    }

    async fn keys(&self) -> Result<Vec<String>, KvError> {
        self.traced("keys", self.backend.keys(&self.label)).await
    }

    async fn get_many(&self, keys: Vec<String>) -> Result<Vec<(String, Option<Vec<u8>>)>, KvError> {
        self.traced("get_many", self.backend.get_many(&self.label, keys))
            .await
    }

    async fn set_many(&self, key_values: Vec<(String, Vec<u8>)>) -> Result<(), KvError> {
        self.traced("set_many", self.backend.set_many(&self.label, key_values))
            .await
    }

    async fn delete_many(&self, keys: Vec<String>) -> Result<(), KvError> {
        self.traced("delete_many", self.backend.delete_many(&self.label, keys))
            .await
    }

    async fn increment(&self, key: String, delta: i64) -> Result<i64, KvError> {
        self.traced("increment", self.backend.increment(&self.label, key, delta))
            .await
    }

    async fn compare_and_swap(
        &self,
        key: String,
        expected: Option<Vec<u8>>,
        value: Vec<u8>,
    ) -> Result<bool, KvError> {
        let swap = self
            .backend
            .compare_and_swap(&self.label, key, expected, value);
        self.traced("compare_and_swap", swap).await
    }
}

/// A `wasi:keyvalue/atomics` compare-and-swap: the key and what `current` last read.
pub struct CasHandle {
    store: StoreHandle,
    key: String,
    /// `None` until `current` is called; then the value read (itself `None` when absent).
    seen: Option<Option<Vec<u8>>>,
}

impl CasHandle {
    async fn current(&mut self) -> Result<Option<Vec<u8>>, KvError> {
        let value = self.store.get(self.key.clone()).await?;
        self.seen = Some(value.clone());
        Ok(value)
    }

    async fn swap(&self, value: Vec<u8>) -> Result<bool, KvError> {
        match &self.seen {
            // Never read: nothing to compare against, the write is unconditional (Spin's).
            None => self.store.set(self.key.clone(), value).await.map(|()| true),
            Some(expected) => {
                self.store
                    .compare_and_swap(self.key.clone(), expected.clone(), value)
                    .await
            }
        }
    }
}

pub fn add_to_linker(linker: &mut Linker<InstanceState>) -> wasmtime::Result<()> {
    v3::add_to_linker::<_, Capabilities>(linker, |state| state)?;
    v2::add_to_linker::<_, Capabilities>(linker, |state| state)?;
    wasi_kv::add_to_linker::<_, Capabilities>(linker, |state| state)?;
    atomics::add_to_linker::<_, Capabilities>(linker, |state| state)?;
    batch::add_to_linker::<_, Capabilities>(linker, |state| state)?;
    Ok(())
}

impl InstanceState {
    fn open_store(&mut self, label: String) -> Result<Resource<StoreHandle>, KvError> {
        let handle = self.key_value.open(label)?;
        self.table.push(handle).map_err(|_| KvError::StoreTableFull)
    }

    fn store_handle(&self, store: &Resource<StoreHandle>) -> Result<StoreHandle, KvError> {
        self.table
            .get(store)
            .map(StoreHandle::share)
            .map_err(|_| KvError::Other("invalid store handle".into()))
    }
}

// ---- spin:key-value@3.0.0 (spin-sdk 6) ----

impl v3::Host for InstanceState {
    fn convert_error(&mut self, err: v3::Error) -> wasmtime::Result<v3::Error> {
        Ok(err)
    }
}

impl v3::HostStore for InstanceState {
    async fn drop(&mut self, store: Resource<StoreHandle>) -> wasmtime::Result<()> {
        self.table.delete(store)?;
        Ok(())
    }
}

fn handle<T>(
    accessor: &Accessor<T, Capabilities>,
    store: &Resource<StoreHandle>,
) -> Result<StoreHandle, KvError> {
    accessor.with(|mut access| access.get().store_handle(store))
}

impl v3::HostStoreWithStore for Capabilities {
    async fn open<T>(
        accessor: &Accessor<T, Self>,
        label: String,
    ) -> Result<Resource<StoreHandle>, v3::Error> {
        Ok(accessor.with(|mut access| access.get().open_store(label))?)
    }

    async fn get<T>(
        accessor: &Accessor<T, Self>,
        store: Resource<StoreHandle>,
        key: String,
    ) -> Result<Option<Vec<u8>>, v3::Error> {
        let s = handle(accessor, &store)?;
        Ok(s.get(key).await?)
    }

    async fn set<T>(
        accessor: &Accessor<T, Self>,
        store: Resource<StoreHandle>,
        key: String,
        value: Vec<u8>,
    ) -> Result<(), v3::Error> {
        let s = handle(accessor, &store)?;
        Ok(s.set(key, value).await?)
    }

    async fn delete<T>(
        accessor: &Accessor<T, Self>,
        store: Resource<StoreHandle>,
        key: String,
    ) -> Result<(), v3::Error> {
        let s = handle(accessor, &store)?;
        Ok(s.delete(key).await?)
    }

    async fn exists<T>(
        accessor: &Accessor<T, Self>,
        store: Resource<StoreHandle>,
        key: String,
    ) -> Result<bool, v3::Error> {
        let s = handle(accessor, &store)?;
        Ok(s.exists(key).await?)
    }

    async fn get_keys<T>(
        accessor: &Accessor<T, Self>,
        store: Resource<StoreHandle>,
    ) -> wasmtime::Result<(StreamReader<String>, FutureReader<Result<(), v3::Error>>)> {
        let listed = match handle(accessor, &store) {
            Ok(s) => s.keys().await,
            Err(e) => Err(e),
        };
        let (keys, outcome) = match listed {
            Ok(keys) => (keys, Ok(())),
            Err(e) => (Vec::new(), Err(v3::Error::from(e))),
        };
        accessor.with(|mut access| {
            let keys = StreamReader::new(&mut access, keys)?;
            let outcome =
                FutureReader::new(
                    &mut access,
                    async move { Ok::<_, wasmtime::Error>(outcome) },
                )?;
            Ok((keys, outcome))
        })
    }
}

// ---- fermyon:spin/key-value@2.0.0 (spin-sdk 5) ----

impl v2::Host for InstanceState {
    fn convert_error(&mut self, err: v2::Error) -> wasmtime::Result<v2::Error> {
        Ok(err)
    }
}

impl v2::HostStore for InstanceState {
    async fn open(&mut self, label: String) -> Result<Resource<StoreHandle>, v2::Error> {
        Ok(self.open_store(label)?)
    }

    async fn get(
        &mut self,
        store: Resource<StoreHandle>,
        key: String,
    ) -> Result<Option<Vec<u8>>, v2::Error> {
        let s = self.store_handle(&store)?;
        Ok(s.get(key).await?)
    }

    async fn set(
        &mut self,
        store: Resource<StoreHandle>,
        key: String,
        value: Vec<u8>,
    ) -> Result<(), v2::Error> {
        let s = self.store_handle(&store)?;
        Ok(s.set(key, value).await?)
    }

    async fn delete(&mut self, store: Resource<StoreHandle>, key: String) -> Result<(), v2::Error> {
        let s = self.store_handle(&store)?;
        Ok(s.delete(key).await?)
    }

    async fn exists(
        &mut self,
        store: Resource<StoreHandle>,
        key: String,
    ) -> Result<bool, v2::Error> {
        let s = self.store_handle(&store)?;
        Ok(s.exists(key).await?)
    }

    async fn get_keys(&mut self, store: Resource<StoreHandle>) -> Result<Vec<String>, v2::Error> {
        let s = self.store_handle(&store)?;
        Ok(s.keys().await?)
    }

    async fn drop(&mut self, store: Resource<StoreHandle>) -> wasmtime::Result<()> {
        self.table.delete(store)?;
        Ok(())
    }
}

// ---- wasi:keyvalue@0.2.0-draft2 (spin-sdk 5) ----

impl wasi_kv::Host for InstanceState {
    async fn open(&mut self, identifier: String) -> Result<Resource<StoreHandle>, wasi_kv::Error> {
        Ok(self.open_store(identifier)?)
    }

    fn convert_error(&mut self, err: wasi_kv::Error) -> wasmtime::Result<wasi_kv::Error> {
        Ok(err)
    }
}

impl wasi_kv::HostBucket for InstanceState {
    async fn get(
        &mut self,
        bucket: Resource<StoreHandle>,
        key: String,
    ) -> Result<Option<Vec<u8>>, wasi_kv::Error> {
        let s = self.store_handle(&bucket)?;
        Ok(s.get(key).await?)
    }

    async fn set(
        &mut self,
        bucket: Resource<StoreHandle>,
        key: String,
        value: Vec<u8>,
    ) -> Result<(), wasi_kv::Error> {
        let s = self.store_handle(&bucket)?;
        Ok(s.set(key, value).await?)
    }

    async fn delete(
        &mut self,
        bucket: Resource<StoreHandle>,
        key: String,
    ) -> Result<(), wasi_kv::Error> {
        let s = self.store_handle(&bucket)?;
        Ok(s.delete(key).await?)
    }

    async fn exists(
        &mut self,
        bucket: Resource<StoreHandle>,
        key: String,
    ) -> Result<bool, wasi_kv::Error> {
        let s = self.store_handle(&bucket)?;
        Ok(s.exists(key).await?)
    }

    async fn list_keys(
        &mut self,
        bucket: Resource<StoreHandle>,
        cursor: Option<String>,
    ) -> Result<wasi_kv::KeyResponse, wasi_kv::Error> {
        if cursor.is_some() {
            // Spin answers every key at once and never hands out a cursor.
            return Err(wasi_kv::Error::Other(
                "list_keys: cursor not supported".into(),
            ));
        }
        let s = self.store_handle(&bucket)?;
        let keys = s.keys().await?;
        Ok(wasi_kv::KeyResponse { keys, cursor: None })
    }

    async fn drop(&mut self, bucket: Resource<StoreHandle>) -> wasmtime::Result<()> {
        self.table.delete(bucket)?;
        Ok(())
    }
}

impl batch::Host for InstanceState {
    async fn get_many(
        &mut self,
        bucket: Resource<StoreHandle>,
        keys: Vec<String>,
    ) -> Result<Vec<(String, Option<Vec<u8>>)>, wasi_kv::Error> {
        let s = self.store_handle(&bucket)?;
        Ok(s.get_many(keys).await?)
    }

    async fn set_many(
        &mut self,
        bucket: Resource<StoreHandle>,
        key_values: Vec<(String, Vec<u8>)>,
    ) -> Result<(), wasi_kv::Error> {
        let s = self.store_handle(&bucket)?;
        Ok(s.set_many(key_values).await?)
    }

    async fn delete_many(
        &mut self,
        bucket: Resource<StoreHandle>,
        keys: Vec<String>,
    ) -> Result<(), wasi_kv::Error> {
        let s = self.store_handle(&bucket)?;
        Ok(s.delete_many(keys).await?)
    }
}

impl InstanceState {
    fn cas_handle(&mut self, cas: &Resource<CasHandle>) -> Result<&mut CasHandle, KvError> {
        self.table
            .get_mut(cas)
            .map_err(|_| KvError::Other("compare and swap not found".into()))
    }
}

impl atomics::Host for InstanceState {
    async fn increment(
        &mut self,
        bucket: Resource<StoreHandle>,
        key: String,
        delta: i64,
    ) -> Result<i64, wasi_kv::Error> {
        let s = self.store_handle(&bucket)?;
        Ok(s.increment(key, delta).await?)
    }

    async fn swap(
        &mut self,
        cas: Resource<CasHandle>,
        value: Vec<u8>,
    ) -> Result<(), atomics::CasError> {
        let store_error = |e: KvError| atomics::CasError::StoreError(e.into());
        let handle = self
            .table
            .delete(cas)
            .map_err(|_| store_error(KvError::Other("compare and swap not found".into())))?;
        if handle.swap(value).await.map_err(store_error)? {
            return Ok(());
        }
        // As Spin: the failure carries a fresh handle that has read the latest value.
        let mut retry = CasHandle {
            store: handle.store,
            key: handle.key,
            seen: None,
        };
        retry.current().await.map_err(store_error)?;
        let retry = self
            .table
            .push(retry)
            .map_err(|_| store_error(KvError::Other("too many compare_and_swaps opened".into())))?;
        Err(atomics::CasError::CasFailed(retry))
    }

    fn convert_cas_error(&mut self, err: atomics::CasError) -> wasmtime::Result<atomics::CasError> {
        Ok(err)
    }
}

impl atomics::HostCas for InstanceState {
    async fn new(
        &mut self,
        bucket: Resource<StoreHandle>,
        key: String,
    ) -> Result<Resource<CasHandle>, wasi_kv::Error> {
        let store = self.store_handle(&bucket)?;
        self.table
            .push(CasHandle {
                store,
                key,
                seen: None,
            })
            .map_err(|_| wasi_kv::Error::Other("too many compare_and_swaps opened".into()))
    }

    async fn current(
        &mut self,
        cas: Resource<CasHandle>,
    ) -> Result<Option<Vec<u8>>, wasi_kv::Error> {
        Ok(self.cas_handle(&cas)?.current().await?)
    }

    async fn drop(&mut self, cas: Resource<CasHandle>) -> wasmtime::Result<()> {
        self.table.delete(cas)?;
        Ok(())
    }
}
