//! `spin:sqlite@3.1.0`: databases named by label, each a SQLite file; every `open` gets
//! its own connection, as in Spin, so transactions of concurrent instances stay apart.

use crate::bindings::spin::sqlite::sqlite::{self as sql, Error, QueryResult, RowResult, Value};
use crate::state::{Capabilities, InstanceState};
use anyhow::Context as _;
use fusion_host_app::runtime_config::SqliteDatabaseConfig;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use wasmtime::component::{Accessor, FutureReader, Linker, Resource, StreamReader};

pub struct SqliteRuntime {
    /// label → what `rusqlite::Connection::open` takes: a file path, or a shared-cache
    /// in-memory URI so every connection of the label sees the same database.
    databases: HashMap<String, PathBuf>,
}

pub struct SqliteInstance {
    runtime: Arc<SqliteRuntime>,
    allowed: Arc<HashSet<String>>,
}

pub struct SqliteConnection(Arc<Mutex<rusqlite::Connection>>);

impl SqliteRuntime {
    pub fn new(config: &BTreeMap<String, SqliteDatabaseConfig>) -> anyhow::Result<Self> {
        let mut databases = HashMap::new();
        for (label, database) in config {
            let path = match database {
                SqliteDatabaseConfig::Spin { path } => {
                    if let Some(dir) = path.parent() {
                        std::fs::create_dir_all(dir).with_context(|| {
                            format!("sqlite database `{label}`: cannot create {}", dir.display())
                        })?;
                    }
                    path.clone()
                }
                SqliteDatabaseConfig::SpinInMemory => {
                    PathBuf::from(format!("file:fusion-host-{label}?mode=memory&cache=shared"))
                }
            };
            databases.insert(label.clone(), path);
        }
        Ok(Self { databases })
    }

    pub fn has_database(&self, label: &str) -> bool {
        self.databases.contains_key(label)
    }

    pub fn instance(self: &Arc<Self>, allowed: Arc<HashSet<String>>) -> SqliteInstance {
        SqliteInstance {
            runtime: self.clone(),
            allowed,
        }
    }
}

impl SqliteInstance {
    async fn open(&self, label: &str) -> Result<SqliteConnection, Error> {
        if !self.allowed.contains(label) {
            return Err(Error::AccessDenied);
        }
        let path = self
            .runtime
            .databases
            .get(label)
            .cloned()
            .ok_or(Error::NoSuchDatabase)?;
        let connection = blocking(move || {
            let connection = rusqlite::Connection::open(&path)?;
            // Spin denies ATTACH of other files: a guest reaches only its own database.
            connection.authorizer(Some(|ctx: rusqlite::hooks::AuthContext<'_>| {
                use rusqlite::hooks::{AuthAction, Authorization};
                match ctx.action {
                    AuthAction::Attach { filename } if !matches!(filename, "" | ":memory:") => {
                        Authorization::Deny
                    }
                    _ => Authorization::Allow,
                }
            }));
            Ok(connection)
        })
        .await?;
        Ok(SqliteConnection(Arc::new(Mutex::new(connection))))
    }
}

async fn blocking<R: Send + 'static>(
    work: impl FnOnce() -> rusqlite::Result<R> + Send + 'static,
) -> Result<R, Error> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|e| Error::Io(e.to_string()))?
        .map_err(|e| Error::Io(e.to_string()))
}

impl SqliteConnection {
    async fn run<R: Send + 'static>(
        &self,
        work: impl FnOnce(&rusqlite::Connection) -> rusqlite::Result<R> + Send + 'static,
    ) -> Result<R, Error> {
        let connection = self.0.clone();
        blocking(move || work(&connection.lock().unwrap_or_else(|e| e.into_inner()))).await
    }

    async fn execute(
        &self,
        statement: String,
        parameters: Vec<Value>,
    ) -> Result<QueryResult, Error> {
        self.run(move |c| {
            let mut statement = c.prepare_cached(&statement)?;
            let columns: Vec<String> = statement
                .column_names()
                .into_iter()
                .map(str::to_owned)
                .collect();
            let count = columns.len();
            let params = rusqlite::params_from_iter(parameters.iter().map(to_sql));
            let rows = statement
                .query_map(params, |row| {
                    (0..count)
                        .map(|i| row.get_ref(i).map(from_sql))
                        .collect::<rusqlite::Result<Vec<_>>>()
                        .map(|values| RowResult { values })
                })?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            Ok(QueryResult { columns, rows })
        })
        .await
    }

    async fn last_insert_rowid(&self) -> i64 {
        self.run(|c| Ok(c.last_insert_rowid())).await.unwrap_or(0)
    }

    async fn changes(&self) -> u64 {
        self.run(|c| Ok(c.changes())).await.unwrap_or(0)
    }
}

fn to_sql(value: &Value) -> rusqlite::types::ToSqlOutput<'_> {
    use rusqlite::types::{ToSqlOutput, ValueRef};
    ToSqlOutput::Borrowed(match value {
        Value::Integer(i) => ValueRef::Integer(*i),
        Value::Real(r) => ValueRef::Real(*r),
        Value::Text(t) => ValueRef::Text(t.as_bytes()),
        Value::Blob(b) => ValueRef::Blob(b),
        Value::Null => ValueRef::Null,
    })
}

fn from_sql(value: rusqlite::types::ValueRef<'_>) -> Value {
    use rusqlite::types::ValueRef;
    match value {
        ValueRef::Null => Value::Null,
        ValueRef::Integer(i) => Value::Integer(i),
        ValueRef::Real(r) => Value::Real(r),
        ValueRef::Text(t) => Value::Text(String::from_utf8_lossy(t).into_owned()),
        ValueRef::Blob(b) => Value::Blob(b.to_vec()),
    }
}

pub fn add_to_linker(linker: &mut Linker<InstanceState>) -> wasmtime::Result<()> {
    sql::add_to_linker::<_, Capabilities>(linker, |state| state)
}

impl sql::Host for InstanceState {
    fn convert_error(&mut self, err: Error) -> wasmtime::Result<Error> {
        Ok(err)
    }
}

impl InstanceState {
    fn sqlite_connection(&self, c: &Resource<SqliteConnection>) -> Result<SqliteConnection, Error> {
        self.table
            .get(c)
            .map(|c| SqliteConnection(c.0.clone()))
            .map_err(|_| Error::InvalidConnection)
    }
}

impl sql::HostConnection for InstanceState {
    async fn open(&mut self, database: String) -> Result<Resource<SqliteConnection>, Error> {
        let connection = self.sqlite.open(&database).await?;
        self.table
            .push(connection)
            .map_err(|e| Error::Io(e.to_string()))
    }

    async fn execute(
        &mut self,
        c: Resource<SqliteConnection>,
        statement: String,
        parameters: Vec<Value>,
    ) -> Result<QueryResult, Error> {
        self.sqlite_connection(&c)?
            .execute(statement, parameters)
            .await
    }

    async fn last_insert_rowid(&mut self, c: Resource<SqliteConnection>) -> wasmtime::Result<i64> {
        Ok(match self.sqlite_connection(&c) {
            Ok(c) => c.last_insert_rowid().await,
            Err(_) => 0,
        })
    }

    async fn changes(&mut self, c: Resource<SqliteConnection>) -> wasmtime::Result<u64> {
        Ok(match self.sqlite_connection(&c) {
            Ok(c) => c.changes().await,
            Err(_) => 0,
        })
    }

    async fn drop(&mut self, c: Resource<SqliteConnection>) -> wasmtime::Result<()> {
        self.table.delete(c)?;
        Ok(())
    }
}

fn connection_of<T>(
    accessor: &Accessor<T, Capabilities>,
    c: &Resource<SqliteConnection>,
) -> Result<SqliteConnection, Error> {
    accessor.with(|mut access| access.get().sqlite_connection(c))
}

impl sql::HostConnectionWithStore for Capabilities {
    async fn open_async<T>(
        accessor: &Accessor<T, Self>,
        database: String,
    ) -> Result<Resource<SqliteConnection>, Error> {
        let (runtime, allowed) = accessor.with(|mut access| {
            let sqlite = &access.get().sqlite;
            (sqlite.runtime.clone(), sqlite.allowed.clone())
        });
        let connection = SqliteInstance { runtime, allowed }.open(&database).await?;
        accessor.with(|mut access| {
            access
                .get()
                .table
                .push(connection)
                .map_err(|e| Error::Io(e.to_string()))
        })
    }

    async fn execute_async<T>(
        accessor: &Accessor<T, Self>,
        c: Resource<SqliteConnection>,
        statement: String,
        parameters: Vec<Value>,
    ) -> Result<
        (
            Vec<String>,
            StreamReader<RowResult>,
            FutureReader<Result<(), Error>>,
        ),
        Error,
    > {
        let QueryResult { columns, rows } = connection_of(accessor, &c)?
            .execute(statement, parameters)
            .await?;
        let (rows, done) =
            super::buffered_rows(accessor, rows).map_err(|e| Error::Io(e.to_string()))?;
        Ok((columns, rows, done))
    }

    async fn last_insert_rowid_async<T>(
        accessor: &Accessor<T, Self>,
        c: Resource<SqliteConnection>,
    ) -> wasmtime::Result<i64> {
        Ok(match connection_of(accessor, &c) {
            Ok(c) => c.last_insert_rowid().await,
            Err(_) => 0,
        })
    }

    async fn changes_async<T>(
        accessor: &Accessor<T, Self>,
        c: Resource<SqliteConnection>,
    ) -> wasmtime::Result<u64> {
        Ok(match connection_of(accessor, &c) {
            Ok(c) => c.changes().await,
            Err(_) => 0,
        })
    }
}
