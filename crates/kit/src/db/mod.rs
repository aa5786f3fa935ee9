//! One database interface over Spin's SQLite and Spin's PostgreSQL (and, for native
//! tests, rusqlite), with transactions and a migration runner.
//!
//! SQL is written once with `$1, $2, …` placeholders. Parameters are bound with exact
//! types on PostgreSQL, so portable schemas use `BIGINT` for integers, `DOUBLE
//! PRECISION` for reals, `TEXT` for strings, ids and RFC 3339 timestamps, and
//! `BOOLEAN` columns only with [`SqlValue::Bool`] parameters.

#[cfg(feature = "native-sqlite")]
mod native;
mod sql_text;

#[cfg(feature = "native-sqlite")]
pub use native::NativeSqlite;
pub use sql_text::{split_statements, to_sqlite_placeholders};

use std::fmt;

/// A parameter or column value.
#[derive(Debug, Clone, PartialEq)]
pub enum SqlValue {
    Null,
    Integer(i64),
    Real(f64),
    Text(String),
    Blob(Vec<u8>),
    /// A PostgreSQL `BOOLEAN` parameter; SQLite stores it as 0/1. Columns read back as
    /// `Integer` 0/1 in both dialects (see [`Row::get_bool`]).
    Bool(bool),
}

impl From<i64> for SqlValue {
    fn from(value: i64) -> Self {
        SqlValue::Integer(value)
    }
}

impl From<f64> for SqlValue {
    fn from(value: f64) -> Self {
        SqlValue::Real(value)
    }
}

impl From<bool> for SqlValue {
    fn from(value: bool) -> Self {
        SqlValue::Bool(value)
    }
}

impl From<&str> for SqlValue {
    fn from(value: &str) -> Self {
        SqlValue::Text(value.to_owned())
    }
}

impl From<String> for SqlValue {
    fn from(value: String) -> Self {
        SqlValue::Text(value)
    }
}

impl<T: Into<SqlValue>> From<Option<T>> for SqlValue {
    fn from(value: Option<T>) -> Self {
        value.map_or(SqlValue::Null, Into::into)
    }
}

/// One result row; columns by position, in the order the `SELECT` lists them.
#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    values: Vec<SqlValue>,
}

impl Row {
    pub fn new(values: Vec<SqlValue>) -> Self {
        Self { values }
    }

    pub fn value(&self, i: usize) -> Result<&SqlValue, DbError> {
        self.values
            .get(i)
            .ok_or_else(|| DbError::Other(format!("no column {i} in a row of {}", self.len())))
    }

    pub fn get_i64(&self, i: usize) -> Result<i64, DbError> {
        match self.value(i)? {
            SqlValue::Integer(n) => Ok(*n),
            other => Err(mismatch(i, "an integer", other)),
        }
    }

    pub fn get_str(&self, i: usize) -> Result<&str, DbError> {
        match self.value(i)? {
            SqlValue::Text(s) => Ok(s),
            other => Err(mismatch(i, "text", other)),
        }
    }

    pub fn get_opt_str(&self, i: usize) -> Result<Option<&str>, DbError> {
        match self.value(i)? {
            SqlValue::Null => Ok(None),
            SqlValue::Text(s) => Ok(Some(s)),
            other => Err(mismatch(i, "text or NULL", other)),
        }
    }

    pub fn get_opt_i64(&self, i: usize) -> Result<Option<i64>, DbError> {
        match self.value(i)? {
            SqlValue::Null => Ok(None),
            _ => self.get_i64(i).map(Some),
        }
    }

    /// Reals, and integers (SQLite may hand back a whole real as an integer).
    pub fn get_f64(&self, i: usize) -> Result<f64, DbError> {
        match self.value(i)? {
            SqlValue::Real(x) => Ok(*x),
            SqlValue::Integer(n) => Ok(*n as f64),
            other => Err(mismatch(i, "a real", other)),
        }
    }

    /// 0/1 integers (how SQLite stores booleans and how PostgreSQL booleans decode).
    pub fn get_bool(&self, i: usize) -> Result<bool, DbError> {
        match self.value(i)? {
            SqlValue::Integer(0) => Ok(false),
            SqlValue::Integer(1) => Ok(true),
            other => Err(mismatch(i, "a boolean (0 or 1)", other)),
        }
    }

    pub fn len(&self) -> usize {
        self.values.len()
    }

    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }
}

fn mismatch(i: usize, expected: &str, found: &SqlValue) -> DbError {
    DbError::Other(format!("column {i}: expected {expected}, found {found:?}"))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    Sqlite,
    Postgres,
}

#[derive(Debug)]
pub enum DbError {
    /// A unique or primary-key constraint refused the write; the driver's message.
    UniqueViolation(String),
    /// Another writer held the store past the wait (SQLite locked, a PostgreSQL deadlock
    /// or serialization failure), or the server is out of reach for now (restarting):
    /// the same request may succeed when retried.
    Busy(String),
    Other(String),
}

impl fmt::Display for DbError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DbError::UniqueViolation(message) => write!(f, "unique constraint violated: {message}"),
            DbError::Busy(message) => write!(f, "the store is busy: {message}"),
            DbError::Other(message) => f.write_str(message),
        }
    }
}

impl std::error::Error for DbError {}

/// A unique violation is a 409 conflict, a busy store 503 (retry); anything else is
/// logged by the caller and answered as a plain 500.
impl From<DbError> for crate::Problem {
    fn from(error: DbError) -> Self {
        match error {
            DbError::UniqueViolation(_) => crate::Problem::conflict("the resource already exists"),
            DbError::Busy(_) => crate::Problem::unavailable("the store is busy; retry shortly"),
            DbError::Other(_) => crate::Problem::internal(),
        }
    }
}

/// A SQLite error by its message: unique and primary-key violations ("UNIQUE constraint
/// failed"), and a database another writer kept locked past the busy timeout.
#[cfg(any(feature = "native-sqlite", target_arch = "wasm32"))]
pub(crate) fn sqlite_error_from_message(message: String) -> DbError {
    if message.contains("UNIQUE constraint failed") {
        DbError::UniqueViolation(message)
    } else if message.contains("database is locked") || message.contains("database is busy") {
        DbError::Busy(message)
    } else {
        DbError::Other(message)
    }
}

/// A database connection of either dialect.
#[allow(async_fn_in_trait)] // components are single-threaded wasm; no `Send` bound wanted
pub trait Db {
    fn dialect(&self) -> Dialect;
    /// SQL uses `$1, $2, ...` placeholders in both dialects (translated for SQLite to
    /// `?1, ?2`). Returns the number of rows changed.
    async fn execute(&self, sql: &str, params: &[SqlValue]) -> Result<u64, DbError>;
    async fn query(&self, sql: &str, params: &[SqlValue]) -> Result<Vec<Row>, DbError>;
    /// Told by [`crate::outbox::enqueue`] that it wrote due deliveries: a store that
    /// dispatches them once the request is done remembers it.
    fn deliveries_enqueued(&self) {}
    /// How this store's events leave it (see [`crate::outbox::Transport`]); a store
    /// that does not say uses `http`.
    async fn transport(&self) -> Result<crate::outbox::Transport, DbError> {
        Ok(crate::outbox::Transport::Http)
    }
    /// Runs inside every [`transaction`] just before its `COMMIT`, so what it writes
    /// commits with the transaction's change (a request's store notes there that its
    /// `Idempotency-Key` has had an effect).
    async fn before_commit(&self) -> Result<(), DbError> {
        Ok(())
    }
}

/// Runs `BEGIN` .. `COMMIT`, or `ROLLBACK` when the closure errs.
///
/// SQLite takes the write lock at `BEGIN IMMEDIATE`, so two writers queue instead of
/// failing when a reader upgrades.
pub async fn transaction<D: Db, T, E: From<DbError>>(
    db: &D,
    f: impl AsyncFnOnce(&D) -> Result<T, E>,
) -> Result<T, E> {
    let begin = match db.dialect() {
        Dialect::Sqlite => "BEGIN IMMEDIATE",
        Dialect::Postgres => "BEGIN",
    };
    db.execute(begin, &[]).await?;
    let changed = match f(db).await {
        Ok(value) => db.before_commit().await.map(|()| value).map_err(E::from),
        Err(error) => Err(error),
    };
    match changed {
        Ok(value) => match db.execute("COMMIT", &[]).await {
            Ok(_) => Ok(value),
            Err(error) => {
                // A failed COMMIT may leave the transaction open (SQLite busy).
                let _ = db.execute("ROLLBACK", &[]).await;
                Err(error.into())
            }
        },
        Err(error) => {
            // The closure's error is the one worth reporting; a failed ROLLBACK only
            // means the transaction is already gone.
            let _ = db.execute("ROLLBACK", &[]).await;
            Err(error)
        }
    }
}

/// Waits between tries of a step that found the store busy.
const BUSY_WAITS_MS: [u64; 2] = [200, 800];

/// Runs `step`, and again after a short wait while the store is busy (a burst of
/// writers held SQLite's lock past its busy timeout). For work whose caller has no one
/// to hand a 503 to, like a dispatch after its commit: giving up at once would leave
/// its deliveries to the next dispatch of the context, or the sweep, up to a minute on.
pub async fn unless_busy<T, F: Future<Output = Result<T, DbError>>>(
    mut step: impl FnMut() -> F,
) -> Result<T, DbError> {
    for wait in BUSY_WAITS_MS {
        match step().await {
            Err(DbError::Busy(reason)) => {
                eprintln!("the store is busy ({reason}); trying again in {wait} ms");
                std::thread::sleep(std::time::Duration::from_millis(wait));
            }
            done => return done,
        }
    }
    step().await
}

/// Serialises, until the end of the current transaction, every transaction that takes
/// the same `key`: so two handlers of one aggregate (say an order's charge and its
/// cancellation) never decide on each other's uncommitted rows. PostgreSQL takes a
/// transaction-scoped advisory lock on the key's hash; SQLite needs nothing, since
/// [`transaction`]'s `BEGIN IMMEDIATE` already serialises writers.
pub async fn lock_key<D: Db>(db: &D, key: &str) -> Result<(), DbError> {
    if db.dialect() == Dialect::Postgres {
        db.query(
            "SELECT 1 FROM (SELECT pg_advisory_xact_lock(hashtextextended($1, 0))) AS locked",
            &[key.into()],
        )
        .await?;
    }
    Ok(())
}

/// The integer a query answers in its first row's first column: a `COUNT(*)`, a counter
/// bumped with `RETURNING`. A query answering no row is an error.
pub async fn query_i64<D: Db>(db: &D, sql: &str, params: &[SqlValue]) -> Result<i64, DbError> {
    db.query(sql, params)
        .await?
        .first()
        .ok_or_else(|| DbError::Other(format!("no row from {sql}")))?
        .get_i64(0)
}

/// `Ok` when the store answers a trivial query; for `GET /health`.
pub async fn ping<D: Db>(db: &D) -> Result<(), DbError> {
    db.query("SELECT 1", &[]).await.map(drop)
}

/// The [`Migration`] `name` of the calling crate, read from its `migrations/<name>.sql`
/// (one SQL for both dialects), or with `per_dialect` from `<name>.sqlite.sql` and
/// `<name>.postgres.sql`.
#[macro_export]
macro_rules! migration {
    ($name:literal) => {
        $crate::migration!($name, sqlite: ".sql", postgres: ".sql")
    };
    ($name:literal, per_dialect) => {
        $crate::migration!($name, sqlite: ".sqlite.sql", postgres: ".postgres.sql")
    };
    ($name:literal, sqlite: $sqlite:literal, postgres: $postgres:literal) => {
        $crate::db::Migration {
            name: $name,
            sqlite: include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/migrations/", $name, $sqlite)),
            postgres: include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/migrations/", $name, $postgres)),
        }
    };
}

/// One schema change of a context: plain SQL (several statements allowed), per dialect
/// where the SQL differs.
#[derive(Debug, Clone, Copy)]
pub struct Migration {
    pub name: &'static str,
    pub sqlite: &'static str,
    pub postgres: &'static str,
}

impl Migration {
    fn sql(&self, dialect: Dialect) -> &'static str {
        match dialect {
            Dialect::Sqlite => self.sqlite,
            Dialect::Postgres => self.postgres,
        }
    }
}

const CREATE_MIGRATIONS_TABLE: &str = "CREATE TABLE IF NOT EXISTS schema_migrations (\
     context TEXT NOT NULL, name TEXT NOT NULL, applied_at TEXT NOT NULL, \
     PRIMARY KEY (context, name))";

/// Applies each migration once, in order, recorded in a
/// `schema_migrations(context, name, applied_at)` table, inside a transaction each.
/// Safe when two instances race (the second sees it applied / unique violation and
/// carries on). On PostgreSQL it also creates the schema named after the context,
/// which `spin::open_for_context` puts on the `search_path`.
///
/// When everything is applied this costs one query, so a component may call it on
/// every request.
pub async fn migrate<D: Db>(
    db: &D,
    context: &str,
    migrations: &[Migration],
) -> Result<(), DbError> {
    let applied = match applied_migrations(db, context).await {
        Ok(applied) => applied,
        // Most likely the first run: no table yet.
        Err(_) => {
            if db.dialect() == Dialect::Sqlite {
                // WAL lets readers run beside the one writer and keeps commits short, so
                // concurrent instances wait less on the write lock. It is persistent in the
                // file; a failure (another instance holds the lock) only leaves the default.
                let _ = db.query("PRAGMA journal_mode = WAL", &[]).await;
            }
            transaction(db, async |db| {
                lock_migrations(db, context).await?;
                if db.dialect() == Dialect::Postgres {
                    db.execute(
                        &format!("CREATE SCHEMA IF NOT EXISTS {}", schema_name(context)?),
                        &[],
                    )
                    .await?;
                }
                db.execute(CREATE_MIGRATIONS_TABLE, &[]).await
            })
            .await?;
            applied_migrations(db, context).await?
        }
    };
    for migration in migrations {
        if !applied.iter().any(|name| name == migration.name) {
            apply_once(db, context, migration).await?;
        }
    }
    Ok(())
}

async fn applied_migrations<D: Db>(db: &D, context: &str) -> Result<Vec<String>, DbError> {
    db.query(
        "SELECT name FROM schema_migrations WHERE context = $1",
        &[context.into()],
    )
    .await?
    .iter()
    .map(|row| row.get_str(0).map(str::to_owned))
    .collect()
}

/// Serializes migrators of one context on PostgreSQL for the rest of the transaction
/// (SQLite's `BEGIN IMMEDIATE` already does).
async fn lock_migrations<D: Db>(db: &D, context: &str) -> Result<(), DbError> {
    if db.dialect() == Dialect::Postgres {
        db.execute(
            "SELECT pg_advisory_xact_lock(hashtext('fusion.migrate.' || $1))",
            &[context.into()],
        )
        .await?;
    }
    Ok(())
}

enum ApplyError {
    Db(DbError),
    AppliedElsewhere,
}

impl From<DbError> for ApplyError {
    fn from(error: DbError) -> Self {
        ApplyError::Db(error)
    }
}

async fn apply_once<D: Db>(db: &D, context: &str, migration: &Migration) -> Result<(), DbError> {
    let outcome = transaction(db, async |db| {
        lock_migrations(db, context).await?;
        let key = [context.into(), migration.name.into()];
        let done = db
            .query(
                "SELECT 1 FROM schema_migrations WHERE context = $1 AND name = $2",
                &key,
            )
            .await?;
        if !done.is_empty() {
            return Err(ApplyError::AppliedElsewhere);
        }
        for statement in split_statements(migration.sql(db.dialect())) {
            db.execute(statement, &[]).await.map_err(|error| {
                DbError::Other(format!("migration {}/{}: {error}", context, migration.name))
            })?;
        }
        let record = [
            context.into(),
            migration.name.into(),
            contracts::now_rfc3339().into(),
        ];
        match db
            .execute(
                "INSERT INTO schema_migrations (context, name, applied_at) VALUES ($1, $2, $3)",
                &record,
            )
            .await
        {
            Err(DbError::UniqueViolation(_)) => Err(ApplyError::AppliedElsewhere),
            other => other.map(drop).map_err(ApplyError::Db),
        }
    })
    .await;
    match outcome {
        Ok(()) | Err(ApplyError::AppliedElsewhere) => Ok(()),
        Err(ApplyError::Db(error)) => Err(error),
    }
}

/// A context name usable unquoted as a PostgreSQL schema: `[a-z][a-z0-9_]*`.
pub fn schema_name(context: &str) -> Result<&str, DbError> {
    let mut chars = context.chars();
    let valid = chars.next().is_some_and(|c| c.is_ascii_lowercase())
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
        && context.len() <= 63;
    if valid {
        Ok(context)
    } else {
        Err(DbError::Other(format!(
            "context {context:?} is not a valid schema name ([a-z][a-z0-9_]*)"
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[cfg(feature = "native-sqlite")]
    #[test]
    fn sqlite_errors_are_told_apart_by_their_message() {
        let classify = |message: &str| sqlite_error_from_message(message.to_owned());
        assert!(matches!(
            classify("UNIQUE constraint failed: users.email"),
            DbError::UniqueViolation(_)
        ));
        assert!(matches!(classify("database is locked"), DbError::Busy(_)));
        assert!(matches!(classify("no such table: x"), DbError::Other(_)));
        let busy: crate::Problem = classify("database is locked").into();
        assert_eq!(busy.status, 503);
    }

    #[test]
    fn a_busy_store_is_tried_again_twice_and_other_errors_at_once() {
        let tries = std::cell::Cell::new(0);
        let busy_then = |answer: Result<u8, DbError>, busy_tries: u8| {
            tries.set(0);
            let outcome = futures::executor::block_on(unless_busy(|| {
                tries.set(tries.get() + 1);
                let answer = if tries.get() <= busy_tries {
                    Err(DbError::Busy("database is locked".into()))
                } else {
                    match &answer {
                        Ok(value) => Ok(*value),
                        Err(error) => Err(DbError::Other(error.to_string())),
                    }
                };
                async { answer }
            }));
            (outcome, tries.get())
        };
        assert!(matches!(busy_then(Ok(7), 2), (Ok(7), 3)));
        assert!(matches!(busy_then(Ok(7), 3), (Err(DbError::Busy(_)), 3)));
        let other = DbError::Other("no such table: x".into());
        assert!(matches!(
            busy_then(Err(other), 0),
            (Err(DbError::Other(_)), 1)
        ));
    }

    #[test]
    fn getters_convert_or_name_the_mismatch() {
        let row = Row::new(vec![
            SqlValue::Integer(7),
            SqlValue::Text("x".into()),
            SqlValue::Null,
            SqlValue::Real(1.5),
            SqlValue::Integer(1),
        ]);
        assert_eq!(row.len(), 5);
        assert_eq!(row.get_i64(0).unwrap(), 7);
        assert_eq!(row.get_str(1).unwrap(), "x");
        assert_eq!(row.get_opt_str(2).unwrap(), None);
        assert_eq!(row.get_opt_str(1).unwrap(), Some("x"));
        assert_eq!(row.get_f64(3).unwrap(), 1.5);
        assert_eq!(row.get_f64(0).unwrap(), 7.0);
        assert!(row.get_bool(4).unwrap());
        assert!(row.get_bool(0).is_err());
        assert!(row.get_i64(1).unwrap_err().to_string().contains("column 1"));
        assert!(row.get_str(9).is_err());
    }

    #[test]
    fn schema_names_are_plain_identifiers() {
        assert_eq!(schema_name("catalog").unwrap(), "catalog");
        for bad in ["", "Catalog", "1x", "a-b", "a;drop"] {
            assert!(schema_name(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn values_convert_from_rust() {
        assert_eq!(SqlValue::from(Some("a")), SqlValue::Text("a".into()));
        assert_eq!(SqlValue::from(None::<i64>), SqlValue::Null);
        assert_eq!(SqlValue::from(true), SqlValue::Bool(true));
    }
}
