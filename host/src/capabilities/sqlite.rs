//! SQLite: databases named by label, each a SQLite file; every `open` gets a connection of
//! its own, as in Spin, so transactions of concurrent instances stay apart.
//!
//! A connection outlives its guest: when the guest drops it, it goes back to its label's
//! pool unless it carries state a fresh connection would not have (an open transaction,
//! a pragma set, an attached or temporary object), and the next `open` takes it with its
//! schema already read and its statements already prepared — re-reading the schema was
//! most of a catalog read's time. A pooled connection answers `last-insert-rowid` and
//! `changes` as a fresh one would until its new guest changes something.
//!
//! Guests reach them through `spin:sqlite@3.1.0` (spin-sdk 6), and `spin:sqlite@3.0.0` and
//! `fermyon:spin/sqlite@2.0.0` (spin-sdk 5): the three share one shape of values and errors,
//! converted from and to the runtime's own below.

use crate::bindings::fermyon::spin2_0_0::sqlite as v2;
use crate::bindings::spin::sqlite3_0_0::sqlite as v3_0;
use crate::bindings::spin::sqlite3_1_0::sqlite::{self as v3_1};
use crate::state::{Capabilities, InstanceState};
use crate::stats;
use crate::telemetry::{self, SpanContext};
use anyhow::Context as _;
use fusion_host_app::runtime_config::SqliteDatabaseConfig;
use rusqlite::types::Value;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use wasmtime::component::{Accessor, FutureReader, Linker, Resource, StreamReader};

pub struct SqliteRuntime {
    /// label → what `rusqlite::Connection::open` takes: a file path, or a shared-cache
    /// in-memory URI so every connection of the label sees the same database.
    databases: HashMap<String, PathBuf>,
    /// label → connections whose guests are done with them, ready for the next `open`.
    idle: Mutex<HashMap<String, Vec<Pooled>>>,
}

/// Idle connections kept per label; more are closed when returned.
const IDLE_PER_DATABASE: usize = 32;

/// A connection and whether a guest gave it state of its own (set by its authorizer).
struct Pooled {
    connection: rusqlite::Connection,
    tainted: Arc<AtomicBool>,
}

pub struct SqliteInstance {
    runtime: Arc<SqliteRuntime>,
    allowed: Arc<HashSet<String>>,
    /// The invocation whose statements are traced (see [`crate::telemetry`]).
    pub trace: Option<SpanContext>,
}

pub struct SqliteConnection(Arc<Lease>);

/// A guest's hold on a connection; dropping the last handle returns it to the pool.
struct Lease {
    runtime: Arc<SqliteRuntime>,
    label: String,
    trace: Option<SpanContext>,
    pooled: Mutex<Option<Pooled>>,
    /// `total_changes` when the guest got it: until it moves, `changes` is 0 as on a
    /// fresh connection.
    changes_at_open: u64,
}

/// The errors every SQLite interface shares.
#[derive(Debug)]
pub enum SqlError {
    NoSuchDatabase,
    AccessDenied,
    InvalidConnection,
    Io(String),
}

/// A statement's outcome: column names and rows.
pub struct Rows {
    columns: Vec<String>,
    rows: Vec<Vec<Value>>,
}

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
        Ok(Self {
            databases,
            idle: Mutex::default(),
        })
    }

    fn take_idle(&self, label: &str) -> Option<Pooled> {
        let mut idle = self.idle.lock().unwrap_or_else(|e| e.into_inner());
        idle.get_mut(label)?.pop()
    }

    fn give_back(&self, label: &str, pooled: Pooled) {
        let reusable = pooled.connection.is_autocommit() && !pooled.tainted.load(Ordering::Relaxed);
        if reusable {
            let mut idle = self.idle.lock().unwrap_or_else(|e| e.into_inner());
            let connections = idle.entry(label.to_owned()).or_default();
            if connections.len() < IDLE_PER_DATABASE {
                connections.push(pooled);
            }
        }
    }

    /// Checks the labels a component names against this runtime config.
    pub fn check_labels(&self, labels: &[String]) -> Result<(), String> {
        super::check_labels(
            labels,
            |label| self.databases.contains_key(label),
            super::Labels {
                field: "sqlite_databases",
                kind: "SQLite database",
                table: "sqlite_database",
            },
        )
    }

    pub fn instance(self: &Arc<Self>, allowed: Arc<HashSet<String>>) -> SqliteInstance {
        SqliteInstance {
            runtime: self.clone(),
            allowed,
            trace: None,
        }
    }
}

impl SqliteInstance {
    fn share(&self) -> SqliteInstance {
        SqliteInstance {
            runtime: self.runtime.clone(),
            allowed: self.allowed.clone(),
            trace: self.trace,
        }
    }

    async fn open(&self, label: &str) -> Result<SqliteConnection, SqlError> {
        if !self.allowed.contains(label) {
            return Err(SqlError::AccessDenied);
        }
        let path = self
            .runtime
            .databases
            .get(label)
            .cloned()
            .ok_or(SqlError::NoSuchDatabase)?;
        stats::count(&stats::COUNTS.sqlite_opens);
        let pooled = match self.runtime.take_idle(label) {
            Some(pooled) => {
                stats::count(&stats::COUNTS.sqlite_opens_reusing_a_connection);
                pooled
            }
            None => blocking(move || open_connection(&path)).await?,
        };
        // A fresh connection's last insert is 0.
        // SAFETY: the handle is this live connection's, used on the thread holding it.
        unsafe { rusqlite::ffi::sqlite3_set_last_insert_rowid(pooled.connection.handle(), 0) };
        let changes_at_open = pooled.connection.total_changes();
        Ok(SqliteConnection(Arc::new(Lease {
            runtime: self.runtime.clone(),
            label: label.to_owned(),
            trace: self.trace,
            pooled: Mutex::new(Some(pooled)),
            changes_at_open,
        })))
    }
}

fn open_connection(path: &std::path::Path) -> rusqlite::Result<Pooled> {
    let connection = rusqlite::Connection::open(path)?;
    connection.busy_timeout(BUSY_TIMEOUT)?;
    let tainted = Arc::new(AtomicBool::new(false));
    let taint = tainted.clone();
    connection.authorizer(Some(move |ctx: rusqlite::hooks::AuthContext<'_>| {
        use rusqlite::hooks::{AuthAction, Authorization};
        match ctx.action {
            // Spin denies ATTACH of other files: a guest reaches only its own database.
            AuthAction::Attach { filename } if !matches!(filename, "" | ":memory:") => {
                return Authorization::Deny;
            }
            // State of this connection alone, which the next guest must not inherit.
            AuthAction::Attach { .. }
            | AuthAction::Detach { .. }
            | AuthAction::Pragma { .. }
            | AuthAction::CreateTempIndex { .. }
            | AuthAction::CreateTempTable { .. }
            | AuthAction::CreateTempTrigger { .. }
            | AuthAction::CreateTempView { .. } => taint.store(true, Ordering::Relaxed),
            _ => {}
        }
        Authorization::Allow
    }));
    Ok(Pooled {
        connection,
        tainted,
    })
}

impl Drop for Lease {
    fn drop(&mut self) {
        let pooled = self
            .pooled
            .get_mut()
            .unwrap_or_else(|e| e.into_inner())
            .take();
        if let Some(pooled) = pooled {
            self.runtime.give_back(&self.label, pooled);
        }
    }
}

async fn blocking<R: Send + 'static>(
    work: impl FnOnce() -> rusqlite::Result<R> + Send + 'static,
) -> Result<R, SqlError> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|e| SqlError::Io(e.to_string()))?
        .map_err(|e| SqlError::Io(e.to_string()))
}

impl SqliteConnection {
    fn share(&self) -> SqliteConnection {
        SqliteConnection(self.0.clone())
    }

    async fn run<R: Send + 'static>(
        &self,
        work: impl FnOnce(&rusqlite::Connection) -> rusqlite::Result<R> + Send + 'static,
    ) -> Result<R, SqlError> {
        let lease = self.0.clone();
        blocking(move || {
            let pooled = lease.pooled.lock().unwrap_or_else(|e| e.into_inner());
            let pooled = pooled.as_ref().expect(HELD);
            work(&pooled.connection)
        })
        .await
    }

    /// Runs `work` on this thread, for what neither waits nor touches the disk.
    fn run_here<R>(&self, work: impl FnOnce(&rusqlite::Connection) -> R) -> R {
        let pooled = self.0.pooled.lock().unwrap_or_else(|e| e.into_inner());
        work(&pooled.as_ref().expect(HELD).connection)
    }

    async fn execute(&self, statement: String, parameters: Vec<Value>) -> Result<Rows, SqlError> {
        // A query outside a transaction writes nothing, so it runs on this thread — handing
        // it to a blocking thread cost more than a read by key — unless it would wait on a
        // writer's lock: then it ran no step, and runs again there, where it may wait.
        stats::count(&stats::COUNTS.sqlite_statements);
        let span = telemetry::statement(self.0.trace, "sqlite", &self.0.label, &statement);
        let result = self.run_statement(statement, parameters).await;
        telemetry::end_statement(span, &result);
        result
    }

    async fn run_statement(
        &self,
        statement: String,
        parameters: Vec<Value>,
    ) -> Result<Rows, SqlError> {
        let here = self.run_here(|c| {
            if !c.is_autocommit() {
                return Ok(None);
            }
            let mut prepared = c.prepare_cached(&statement)?;
            // `BEGIN` and `COMMIT` are read-only to SQLite too, but return no columns.
            if !prepared.readonly() || prepared.column_count() == 0 {
                return Ok(None);
            }
            c.busy_timeout(std::time::Duration::ZERO)?;
            let rows = rows_of(&mut prepared, &parameters);
            c.busy_timeout(BUSY_TIMEOUT)?;
            match rows {
                Err(e) if e.sqlite_error_code() == Some(rusqlite::ErrorCode::DatabaseBusy) => {
                    Ok(None)
                }
                rows => rows.map(Some),
            }
        });
        match here.map_err(|e| SqlError::Io(e.to_string()))? {
            Some(rows) => Ok(rows),
            None => {
                stats::count(&stats::COUNTS.sqlite_statements_on_blocking_threads);
                self.run(move |c| query(c, &statement, &parameters)).await
            }
        }
    }

    fn last_insert_rowid(&self) -> i64 {
        self.run_here(|c| c.last_insert_rowid())
    }

    fn changes(&self) -> u64 {
        let changes_at_open = self.0.changes_at_open;
        self.run_here(|c| {
            if c.total_changes() == changes_at_open {
                0
            } else {
                c.changes()
            }
        })
    }
}

const HELD: &str = "a lease holds its connection until dropped";

/// How long a statement waits on another connection's lock: rusqlite's default, as in Spin.
const BUSY_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(5);

fn query(
    c: &rusqlite::Connection,
    statement: &str,
    parameters: &[Value],
) -> rusqlite::Result<Rows> {
    let mut prepared = c.prepare_cached(statement)?;
    rows_of(&mut prepared, parameters)
}

fn rows_of(
    statement: &mut rusqlite::Statement<'_>,
    parameters: &[Value],
) -> rusqlite::Result<Rows> {
    let columns: Vec<String> = statement
        .column_names()
        .into_iter()
        .map(str::to_owned)
        .collect();
    let count = columns.len();
    let rows = statement
        .query_map(rusqlite::params_from_iter(parameters.iter()), |row| {
            (0..count)
                .map(|i| row.get_ref(i).map(owned_value))
                .collect::<rusqlite::Result<Vec<_>>>()
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(Rows { columns, rows })
}

/// A column's value; text that is not UTF-8 is read lossily.
fn owned_value(value: rusqlite::types::ValueRef<'_>) -> Value {
    use rusqlite::types::ValueRef;
    match value {
        ValueRef::Text(t) => Value::Text(String::from_utf8_lossy(t).into_owned()),
        other => other.into(),
    }
}

/// The conversions between the runtime's types and an interface's `value`, `row-result`,
/// `query-result` and `error`, which every SQLite interface version defines alike.
macro_rules! sqlite_interface_types {
    ($m:ident) => {
        impl From<SqlError> for $m::Error {
            fn from(e: SqlError) -> Self {
                match e {
                    SqlError::NoSuchDatabase => Self::NoSuchDatabase,
                    SqlError::AccessDenied => Self::AccessDenied,
                    SqlError::InvalidConnection => Self::InvalidConnection,
                    SqlError::Io(m) => Self::Io(m),
                }
            }
        }

        impl From<$m::Value> for Value {
            fn from(v: $m::Value) -> Self {
                match v {
                    $m::Value::Integer(i) => Value::Integer(i),
                    $m::Value::Real(r) => Value::Real(r),
                    $m::Value::Text(t) => Value::Text(t),
                    $m::Value::Blob(b) => Value::Blob(b),
                    $m::Value::Null => Value::Null,
                }
            }
        }

        impl From<Value> for $m::Value {
            fn from(v: Value) -> Self {
                match v {
                    Value::Integer(i) => Self::Integer(i),
                    Value::Real(r) => Self::Real(r),
                    Value::Text(t) => Self::Text(t),
                    Value::Blob(b) => Self::Blob(b),
                    Value::Null => Self::Null,
                }
            }
        }

        impl From<Vec<Value>> for $m::RowResult {
            fn from(values: Vec<Value>) -> Self {
                Self {
                    values: values.into_iter().map(Into::into).collect(),
                }
            }
        }

        impl From<Rows> for $m::QueryResult {
            fn from(r: Rows) -> Self {
                Self {
                    columns: r.columns,
                    rows: r.rows.into_iter().map(Into::into).collect(),
                }
            }
        }
    };
}

sqlite_interface_types!(v3_1);
sqlite_interface_types!(v3_0);
sqlite_interface_types!(v2);

fn values<V: Into<Value>>(parameters: Vec<V>) -> Vec<Value> {
    parameters.into_iter().map(Into::into).collect()
}

pub fn add_to_linker(linker: &mut Linker<InstanceState>) -> wasmtime::Result<()> {
    v3_1::add_to_linker::<_, Capabilities>(linker, |state| state)?;
    v3_0::add_to_linker::<_, Capabilities>(linker, |state| state)?;
    v2::add_to_linker::<_, Capabilities>(linker, |state| state)?;
    Ok(())
}

impl InstanceState {
    fn sqlite_connection(
        &self,
        c: &Resource<SqliteConnection>,
    ) -> Result<SqliteConnection, SqlError> {
        self.table
            .get(c)
            .map(SqliteConnection::share)
            .map_err(|_| SqlError::InvalidConnection)
    }

    async fn sqlite_open(
        &mut self,
        database: String,
    ) -> Result<Resource<SqliteConnection>, SqlError> {
        let connection = self.sqlite.open(&database).await?;
        self.table
            .push(connection)
            .map_err(|e| SqlError::Io(e.to_string()))
    }

    async fn sqlite_execute(
        &mut self,
        c: &Resource<SqliteConnection>,
        statement: String,
        parameters: Vec<Value>,
    ) -> Result<Rows, SqlError> {
        self.sqlite_connection(c)?
            .execute(statement, parameters)
            .await
    }

    async fn sqlite_last_insert_rowid(&mut self, c: &Resource<SqliteConnection>) -> i64 {
        match self.sqlite_connection(c) {
            Ok(c) => c.last_insert_rowid(),
            Err(_) => 0,
        }
    }

    async fn sqlite_changes(&mut self, c: &Resource<SqliteConnection>) -> u64 {
        match self.sqlite_connection(c) {
            Ok(c) => c.changes(),
            Err(_) => 0,
        }
    }
}

/// A version of Spin's SQLite interface: the same connection calls in each, `fermyon:spin@2`
/// without `last_insert_rowid` and `changes` (passed in as `$extra`).
macro_rules! sqlite_host {
    ($v:ident $(, { $($extra:tt)* })?) => {
        impl $v::Host for InstanceState {
            fn convert_error(&mut self, err: $v::Error) -> wasmtime::Result<$v::Error> {
                Ok(err)
            }
        }

        impl $v::HostConnection for InstanceState {
            async fn open(&mut self, database: String) -> Result<Resource<SqliteConnection>, $v::Error> {
                Ok(self.sqlite_open(database).await?)
            }

            async fn execute(
                &mut self,
                c: Resource<SqliteConnection>,
                statement: String,
                parameters: Vec<$v::Value>,
            ) -> Result<$v::QueryResult, $v::Error> {
                Ok(self
                    .sqlite_execute(&c, statement, values(parameters))
                    .await?
                    .into())
            }

            async fn drop(&mut self, c: Resource<SqliteConnection>) -> wasmtime::Result<()> {
                self.table.delete(c)?;
                Ok(())
            }

            $($($extra)*)?
        }
    };
}

/// `last_insert_rowid` and `changes`, which `spin:sqlite@3` adds.
macro_rules! sqlite_v3_host {
    ($v:ident) => {
        sqlite_host!($v, {
            async fn last_insert_rowid(
                &mut self,
                c: Resource<SqliteConnection>,
            ) -> wasmtime::Result<i64> {
                Ok(self.sqlite_last_insert_rowid(&c).await)
            }

            async fn changes(&mut self, c: Resource<SqliteConnection>) -> wasmtime::Result<u64> {
                Ok(self.sqlite_changes(&c).await)
            }
        });
    };
}

// spin:sqlite@3.1.0 (spin-sdk 6), spin:sqlite@3.0.0 and fermyon:spin/sqlite@2.0.0 (spin-sdk 5).
sqlite_v3_host!(v3_1);
sqlite_v3_host!(v3_0);
sqlite_host!(v2);

fn connection_of<T>(
    accessor: &Accessor<T, Capabilities>,
    c: &Resource<SqliteConnection>,
) -> Result<SqliteConnection, SqlError> {
    accessor.with(|mut access| access.get().sqlite_connection(c))
}

impl v3_1::HostConnectionWithStore for Capabilities {
    async fn open_async<T>(
        accessor: &Accessor<T, Self>,
        database: String,
    ) -> Result<Resource<SqliteConnection>, v3_1::Error> {
        let sqlite = accessor.with(|mut access| access.get().sqlite.share());
        let connection = sqlite.open(&database).await?;
        accessor.with(|mut access| {
            access
                .get()
                .table
                .push(connection)
                .map_err(|e| v3_1::Error::Io(e.to_string()))
        })
    }

    async fn execute_async<T>(
        accessor: &Accessor<T, Self>,
        c: Resource<SqliteConnection>,
        statement: String,
        parameters: Vec<v3_1::Value>,
    ) -> Result<
        (
            Vec<String>,
            StreamReader<v3_1::RowResult>,
            FutureReader<Result<(), v3_1::Error>>,
        ),
        v3_1::Error,
    > {
        let Rows { columns, rows } = connection_of(accessor, &c)?
            .execute(statement, values(parameters))
            .await?;
        let rows: Vec<v3_1::RowResult> = rows.into_iter().map(Into::into).collect();
        let (rows, done) =
            super::buffered_rows(accessor, rows).map_err(|e| v3_1::Error::Io(e.to_string()))?;
        Ok((columns, rows, done))
    }

    async fn last_insert_rowid_async<T>(
        accessor: &Accessor<T, Self>,
        c: Resource<SqliteConnection>,
    ) -> wasmtime::Result<i64> {
        Ok(match connection_of(accessor, &c) {
            Ok(c) => c.last_insert_rowid(),
            Err(_) => 0,
        })
    }

    async fn changes_async<T>(
        accessor: &Accessor<T, Self>,
        c: Resource<SqliteConnection>,
    ) -> wasmtime::Result<u64> {
        Ok(match connection_of(accessor, &c) {
            Ok(c) => c.changes(),
            Err(_) => 0,
        })
    }
}
