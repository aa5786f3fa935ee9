//! A context's store on Spin: `spin:sqlite/sqlite@3.0.0` (a database label per context)
//! or `spin:postgres/postgres@4.0.0` (a schema per context), behind [`Db`].

use super::variable;
use crate::db::{
    Db, DbError, Dialect, Migration, Row, SqlValue, migrate, schema_name,
    sqlite_error_from_message, to_sqlite_placeholders,
};
use crate::problem::Problem;
use spin_sdk::pg4::{self as pg, DbValue, ParameterValue, PgError, QueryError};
use spin_sdk::sqlite3 as sqlite;
use std::sync::Mutex;

/// A context's store, as the `db_driver` variable chooses: `sqlite` (default) or
/// `postgres` (with `db_url`).
pub enum SpinDb {
    Sqlite(sqlite::Connection),
    Postgres(pg::Connection),
}

/// Opens the store of `context`: the SQLite database labelled with the context's name,
/// or a PostgreSQL connection to `db_url` whose `search_path` is the schema named after
/// the context (created by [`crate::db::migrate`]).
pub async fn open_for_context(context: &str) -> Result<SpinDb, DbError> {
    let driver = variable("db_driver").await.map_err(DbError::Other)?;
    match driver.as_deref().unwrap_or_default() {
        "" | "sqlite" => sqlite::Connection::open(context)
            .map(SpinDb::Sqlite)
            .map_err(|error| {
                DbError::Other(format!("opening SQLite database {context:?}: {error:?}"))
            }),
        "postgres" => {
            let url = variable("db_url")
                .await
                .map_err(DbError::Other)?
                .filter(|url| !url.is_empty())
                .ok_or_else(|| {
                    DbError::Other("db_driver is postgres but db_url is not set".into())
                })?;
            // The schema rides in the connection string, so the host keeps a pool per
            // context whose sessions start on it: no `SET search_path` round trip per open.
            let separator = if url.contains('?') { '&' } else { '?' };
            let url = format!(
                "{url}{separator}options=-c%20search_path%3D{}",
                schema_name(context)?
            );
            let connection = pg::Connection::open(&url).map_err(pg_error)?;
            Ok(SpinDb::Postgres(connection))
        }
        other => Err(DbError::Other(format!(
            "db_driver must be sqlite or postgres, not {other:?}"
        ))),
    }
}

/// [`open_migrated`] for a request: a store that cannot be opened or migrated is logged
/// and answered 503.
pub async fn open_store(
    context: &str,
    migrations: &'static [Migration],
    request_id: &str,
) -> Result<SpinDb, Problem> {
    open_migrated(context, migrations).await.map_err(|error| {
        eprintln!("[{request_id}] {context} store: {error}");
        Problem::unavailable(format!("the {context} store is unavailable"))
    })
}

/// The migrations this instance has applied (or found applied), by context.
static MIGRATED: Mutex<Vec<(String, &'static str)>> = Mutex::new(Vec::new());

/// [`open_for_context`], with the context's `migrations` applied before the first
/// query. An instance may serve more than one open, so it migrates each set once (ops
/// opens contexts with sets of its own, which a context's full set may not have covered).
pub async fn open_migrated(
    context: &str,
    migrations: &'static [Migration],
) -> Result<SpinDb, DbError> {
    let db = open_for_context(context).await?;
    let done = |applied: &[(String, &'static str)]| {
        migrations.iter().all(|migration| {
            applied
                .iter()
                .any(|(done, name)| done == context && *name == migration.name)
        })
    };
    if !MIGRATED.lock().is_ok_and(|applied| done(&applied)) {
        migrate(&db, context, migrations).await?;
        if let Ok(mut applied) = MIGRATED.lock() {
            for migration in migrations {
                applied.push((context.to_owned(), migration.name));
            }
        }
    }
    Ok(db)
}

fn sqlite_param(value: &SqlValue) -> sqlite::Value {
    match value {
        SqlValue::Null => sqlite::Value::Null,
        SqlValue::Integer(n) => sqlite::Value::Integer(*n),
        SqlValue::Bool(b) => sqlite::Value::Integer(i64::from(*b)),
        SqlValue::Real(x) => sqlite::Value::Real(*x),
        SqlValue::Text(s) => sqlite::Value::Text(s.clone()),
        SqlValue::Blob(b) => sqlite::Value::Blob(b.clone()),
    }
}

fn sqlite_value(value: sqlite::Value) -> SqlValue {
    match value {
        sqlite::Value::Null => SqlValue::Null,
        sqlite::Value::Integer(n) => SqlValue::Integer(n),
        sqlite::Value::Real(x) => SqlValue::Real(x),
        sqlite::Value::Text(s) => SqlValue::Text(s),
        sqlite::Value::Blob(b) => SqlValue::Blob(b),
    }
}

fn sqlite_error(error: sqlite::Error) -> DbError {
    match error {
        sqlite::Error::Io(message) => sqlite_error_from_message(message),
        other => DbError::Other(format!("sqlite: {other:?}")),
    }
}

fn pg_param(value: &SqlValue) -> ParameterValue {
    match value {
        SqlValue::Null => ParameterValue::DbNull,
        SqlValue::Integer(n) => ParameterValue::Int64(*n),
        SqlValue::Bool(b) => ParameterValue::Boolean(*b),
        SqlValue::Real(x) => ParameterValue::Floating64(*x),
        SqlValue::Text(s) => ParameterValue::Str(s.clone()),
        SqlValue::Blob(b) => ParameterValue::Binary(b.clone()),
    }
}

/// Decodes a PostgreSQL value to the few kinds [`Row`]'s getters read: booleans as 0/1,
/// every integer width as `Integer`, temporal values as RFC 3339-style text, and
/// uuid/jsonb/numeric as text.
fn pg_value(value: DbValue) -> Result<SqlValue, DbError> {
    Ok(match value {
        DbValue::DbNull => SqlValue::Null,
        DbValue::Boolean(b) => SqlValue::Integer(i64::from(b)),
        DbValue::Int8(n) => SqlValue::Integer(n.into()),
        DbValue::Int16(n) => SqlValue::Integer(n.into()),
        DbValue::Int32(n) => SqlValue::Integer(n.into()),
        DbValue::Int64(n) | DbValue::Timestamp(n) => SqlValue::Integer(n),
        DbValue::Floating32(x) => SqlValue::Real(x.into()),
        DbValue::Floating64(x) => SqlValue::Real(x),
        DbValue::Str(s) | DbValue::Uuid(s) | DbValue::Decimal(s) => SqlValue::Text(s),
        DbValue::Binary(b) => SqlValue::Blob(b),
        DbValue::Jsonb(bytes) => SqlValue::Text(
            String::from_utf8(bytes).map_err(|_| DbError::Other("jsonb is not UTF-8".into()))?,
        ),
        DbValue::Date((y, m, d)) => SqlValue::Text(format!("{y:04}-{m:02}-{d:02}")),
        DbValue::Time((h, min, s, ns)) => {
            SqlValue::Text(format!("{h:02}:{min:02}:{s:02}.{:06}", ns / 1000))
        }
        DbValue::Datetime((y, m, d, h, min, s, ns)) => SqlValue::Text(format!(
            "{y:04}-{m:02}-{d:02}T{h:02}:{min:02}:{s:02}.{:06}Z",
            ns / 1000
        )),
        other => {
            return Err(DbError::Other(format!(
                "unsupported PostgreSQL column value {other:?}; cast it in SQL"
            )));
        }
    })
}

fn pg_error(error: PgError) -> DbError {
    match error {
        PgError::QueryFailed(QueryError::DbError(db_error)) if db_error.code == "23505" => {
            DbError::UniqueViolation(db_error.message)
        }
        // serialization_failure, deadlock_detected, too_many_connections: worth a retry.
        PgError::QueryFailed(QueryError::DbError(db_error))
            if matches!(db_error.code.as_str(), "40001" | "40P01" | "53300") =>
        {
            DbError::Busy(db_error.message)
        }
        // The server went away under the session or cannot be reached (restarted, shut
        // down, starting up: SQLSTATE class 08 and 57P01-57P03, a closed connection, a
        // refused connect): the same request may succeed once it is back, so 503.
        PgError::QueryFailed(QueryError::DbError(db_error))
            if db_error.code.starts_with("08")
                || matches!(db_error.code.as_str(), "57P01" | "57P02" | "57P03") =>
        {
            DbError::Busy(db_error.message)
        }
        // fusion-host says what tokio-postgres displays, Spin its Debug form — and Spin
        // 3.6 reports a session the server terminated as text, without its SQLSTATE.
        PgError::QueryFailed(QueryError::Text(text))
            if [
                "connection closed",
                "kind: Closed",
                "kind: Io",
                "error communicating",
                "terminating connection",
                "the database system is",
            ]
            .iter()
            .any(|lost| text.contains(lost)) =>
        {
            DbError::Busy(text)
        }
        PgError::ConnectionFailed(message) => DbError::Busy(message),
        other => DbError::Other(format!("postgres: {other:?}")),
    }
}

impl Db for SpinDb {
    fn dialect(&self) -> Dialect {
        match self {
            SpinDb::Sqlite(_) => Dialect::Sqlite,
            SpinDb::Postgres(_) => Dialect::Postgres,
        }
    }

    async fn execute(&self, sql: &str, params: &[SqlValue]) -> Result<u64, DbError> {
        match self {
            SpinDb::Sqlite(connection) => {
                let params: Vec<_> = params.iter().map(sqlite_param).collect();
                connection
                    .execute(&to_sqlite_placeholders(sql), &params)
                    .map_err(sqlite_error)?;
                Ok(connection.changes())
            }
            SpinDb::Postgres(connection) => {
                let params: Vec<_> = params.iter().map(pg_param).collect();
                connection.execute(sql, &params).map_err(pg_error)
            }
        }
    }

    async fn query(&self, sql: &str, params: &[SqlValue]) -> Result<Vec<Row>, DbError> {
        match self {
            SpinDb::Sqlite(connection) => {
                let params: Vec<_> = params.iter().map(sqlite_param).collect();
                Ok(connection
                    .execute(&to_sqlite_placeholders(sql), &params)
                    .map_err(sqlite_error)?
                    .rows
                    .into_iter()
                    .map(|row| Row::new(row.values.into_iter().map(sqlite_value).collect()))
                    .collect())
            }
            SpinDb::Postgres(connection) => {
                let params: Vec<_> = params.iter().map(pg_param).collect();
                connection
                    .query(sql, &params)
                    .map_err(pg_error)?
                    .rows
                    .into_iter()
                    .map(|values| {
                        values
                            .into_iter()
                            .map(pg_value)
                            .collect::<Result<_, _>>()
                            .map(Row::new)
                    })
                    .collect()
            }
        }
    }
}
