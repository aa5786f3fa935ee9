//! `spin:key-value@3.0.0`: stores named by label, backed by a SQLite file (Spin's `spin`
//! type, same table layout as Spin's so the file is interchangeable) or by Redis.

use crate::bindings::spin::key_value::key_value::{self as kv, Error};
use crate::state::{Capabilities, InstanceState};
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

    pub fn has_store(&self, label: &str) -> bool {
        self.stores.contains_key(label)
    }

    pub fn instance(self: &Arc<Self>, allowed: Arc<HashSet<String>>) -> KeyValueInstance {
        KeyValueInstance {
            runtime: self.clone(),
            allowed,
        }
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

impl Backend {
    async fn run_sqlite<R: Send + 'static>(
        connection: &Arc<Mutex<rusqlite::Connection>>,
        work: impl FnOnce(&rusqlite::Connection) -> rusqlite::Result<R> + Send + 'static,
    ) -> Result<R, Error> {
        let connection = connection.clone();
        tokio::task::spawn_blocking(move || {
            let connection = connection.lock().unwrap_or_else(|e| e.into_inner());
            work(&connection)
        })
        .await
        .map_err(|e| Error::Other(e.to_string()))?
        .map_err(|e| Error::Other(e.to_string()))
    }

    async fn get(&self, label: &str, key: String) -> Result<Option<Vec<u8>>, Error> {
        match self {
            Backend::Sqlite(c) => {
                let label = label.to_owned();
                Self::run_sqlite(c, move |c| {
                    use rusqlite::OptionalExtension;
                    c.prepare_cached(
                        "SELECT value FROM spin_key_value WHERE store = ?1 AND key = ?2",
                    )?
                    .query_row((label, key), |row| row.get::<_, Vec<u8>>(0))
                    .optional()
                })
                .await
            }
            Backend::Redis(c) => c.clone().get(key).await.map_err(redis_error),
        }
    }

    async fn set(&self, label: &str, key: String, value: Vec<u8>) -> Result<(), Error> {
        match self {
            Backend::Sqlite(c) => {
                let label = label.to_owned();
                Self::run_sqlite(c, move |c| {
                    c.prepare_cached(
                        "INSERT INTO spin_key_value (store, key, value) VALUES (?1, ?2, ?3)
                         ON CONFLICT (store, key) DO UPDATE SET value = excluded.value",
                    )?
                    .execute((label, key, value))
                    .map(drop)
                })
                .await
            }
            Backend::Redis(c) => c.clone().set(key, value).await.map_err(redis_error),
        }
    }

    async fn delete(&self, label: &str, key: String) -> Result<(), Error> {
        match self {
            Backend::Sqlite(c) => {
                let label = label.to_owned();
                Self::run_sqlite(c, move |c| {
                    c.prepare_cached("DELETE FROM spin_key_value WHERE store = ?1 AND key = ?2")?
                        .execute((label, key))
                        .map(drop)
                })
                .await
            }
            Backend::Redis(c) => c.clone().del(key).await.map_err(redis_error),
        }
    }

    async fn exists(&self, label: &str, key: String) -> Result<bool, Error> {
        match self {
            Backend::Sqlite(_) => Ok(self.get(label, key).await?.is_some()),
            Backend::Redis(c) => c.clone().exists(key).await.map_err(redis_error),
        }
    }

    async fn keys(&self, label: &str) -> Result<Vec<String>, Error> {
        match self {
            Backend::Sqlite(c) => {
                let label = label.to_owned();
                Self::run_sqlite(c, move |c| {
                    c.prepare_cached("SELECT key FROM spin_key_value WHERE store = ?1")?
                        .query_map([label], |row| row.get::<_, String>(0))?
                        .collect()
                })
                .await
            }
            Backend::Redis(c) => c.clone().keys("*").await.map_err(redis_error),
        }
    }
}

fn redis_error(e: redis::RedisError) -> Error {
    Error::Other(e.to_string())
}

/// The label a store resource was opened with travels with it, because the SQLite
/// backend keeps every store in one table keyed by label.
pub struct StoreHandle {
    label: String,
    backend: OpenStore,
}

pub fn add_to_linker(linker: &mut Linker<InstanceState>) -> wasmtime::Result<()> {
    kv::add_to_linker::<_, Capabilities>(linker, |state| state)
}

impl kv::Host for InstanceState {
    fn convert_error(&mut self, err: Error) -> wasmtime::Result<Error> {
        Ok(err)
    }
}

impl kv::HostStore for InstanceState {
    async fn drop(&mut self, store: Resource<StoreHandle>) -> wasmtime::Result<()> {
        self.table.delete(store)?;
        Ok(())
    }
}

fn handle<T>(
    accessor: &Accessor<T, Capabilities>,
    store: &Resource<StoreHandle>,
) -> Result<(String, OpenStore), Error> {
    accessor.with(|mut access| {
        let state = access.get();
        let handle = state
            .table
            .get(store)
            .map_err(|_| Error::Other("invalid store handle".into()))?;
        Ok((handle.label.clone(), handle.backend.clone()))
    })
}

impl kv::HostStoreWithStore for Capabilities {
    async fn open<T>(
        accessor: &Accessor<T, Self>,
        label: String,
    ) -> Result<Resource<StoreHandle>, Error> {
        accessor.with(|mut access| {
            let state = access.get();
            if !state.key_value.allowed.contains(&label) {
                return Err(Error::AccessDenied);
            }
            let backend = state
                .key_value
                .runtime
                .stores
                .get(&label)
                .cloned()
                .ok_or(Error::NoSuchStore)?;
            state
                .table
                .push(StoreHandle { label, backend })
                .map_err(|_| Error::StoreTableFull)
        })
    }

    async fn get<T>(
        accessor: &Accessor<T, Self>,
        store: Resource<StoreHandle>,
        key: String,
    ) -> Result<Option<Vec<u8>>, Error> {
        let (label, backend) = handle(accessor, &store)?;
        backend.get(&label, key).await
    }

    async fn set<T>(
        accessor: &Accessor<T, Self>,
        store: Resource<StoreHandle>,
        key: String,
        value: Vec<u8>,
    ) -> Result<(), Error> {
        let (label, backend) = handle(accessor, &store)?;
        backend.set(&label, key, value).await
    }

    async fn delete<T>(
        accessor: &Accessor<T, Self>,
        store: Resource<StoreHandle>,
        key: String,
    ) -> Result<(), Error> {
        let (label, backend) = handle(accessor, &store)?;
        backend.delete(&label, key).await
    }

    async fn exists<T>(
        accessor: &Accessor<T, Self>,
        store: Resource<StoreHandle>,
        key: String,
    ) -> Result<bool, Error> {
        let (label, backend) = handle(accessor, &store)?;
        backend.exists(&label, key).await
    }

    async fn get_keys<T>(
        accessor: &Accessor<T, Self>,
        store: Resource<StoreHandle>,
    ) -> wasmtime::Result<(StreamReader<String>, FutureReader<Result<(), Error>>)> {
        let (keys, outcome) = match handle(accessor, &store) {
            Ok((label, backend)) => match backend.keys(&label).await {
                Ok(keys) => (keys, Ok(())),
                Err(e) => (Vec::new(), Err(e)),
            },
            Err(e) => (Vec::new(), Err(e)),
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
