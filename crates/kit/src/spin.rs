//! Spin adapters (wasm32 only): the store of a context and the variables kit needs.

use crate::auth::JwtKey;
use crate::db::{
    Db, DbError, Dialect, Migration, Row, SqlValue, migrate, schema_name,
    sqlite_error_from_message, to_sqlite_placeholders,
};
use crate::problem::Problem;
use spin_sdk::pg::{self, DbValue, ParameterValue, PgError, QueryError};
use spin_sdk::{sqlite, variables};
use std::sync::Mutex;

/// An application variable; `None` when the component does not define it.
pub async fn variable(name: &str) -> Result<Option<String>, String> {
    match variables::get(name).await {
        Ok(value) => Ok(Some(value)),
        Err(variables::Error::Undefined(_)) => Ok(None),
        Err(error) => Err(format!("variable {name}: {error:?}")),
    }
}

/// The HS256 key from the `jwt_secret` variable; its absence is a deployment error,
/// answered as a 500 problem.
pub async fn jwt_key() -> Result<JwtKey, Problem> {
    let secret = variable("jwt_secret")
        .await
        .ok()
        .flatten()
        .unwrap_or_default();
    JwtKey::new(secret).map_err(|error| {
        eprintln!("jwt_secret: {error}");
        Problem::internal()
    })
}

/// The caller of a request: 401 without a valid bearer token, 403 when `x-tenant-id`
/// names another tenant than the token (see [`JwtKey::authenticate`]).
pub async fn authenticate(headers: &http::HeaderMap) -> Result<crate::auth::Caller, Problem> {
    jwt_key()
        .await?
        .authenticate(headers, crate::auth::unix_now())
}

/// The tenant a public read acts for: the token's when a bearer token is sent (a bad one
/// is still 401), else the `x-tenant-id` header's (default `default`).
pub async fn reader_tenant(headers: &http::HeaderMap) -> Result<String, Problem> {
    if headers.contains_key(http::header::AUTHORIZATION) {
        Ok(authenticate(headers).await?.tenant)
    } else {
        crate::auth::tenant_from_headers(headers)
    }
}

/// Who may run a sweep: a scheduler presenting `x-sweep-key` equal to the non-empty
/// `sweep_key` variable, or an admin's token.
pub async fn authorize_sweep(headers: &http::HeaderMap) -> Result<(), Problem> {
    let presented = headers
        .get(crate::auth::SWEEP_KEY_HEADER)
        .and_then(|value| value.to_str().ok());
    match presented {
        Some(presented) => {
            let configured = variable("sweep_key")
                .await
                .ok()
                .flatten()
                .unwrap_or_default();
            if crate::auth::sweep_key_matches(&configured, presented) {
                Ok(())
            } else {
                Err(Problem::unauthorized(
                    "the x-sweep-key is not the configured one",
                ))
            }
        }
        None => authenticate(headers)
            .await?
            .require_role(&[crate::auth::Role::Admin]),
    }
}

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
            .await
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
            let connection = pg::Connection::open(url).await.map_err(pg_error)?;
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
    migrations: &[Migration],
    request_id: &str,
) -> Result<SpinDb, Problem> {
    open_migrated(context, migrations).await.map_err(|error| {
        eprintln!("[{request_id}] {context} store: {error}");
        Problem::unavailable(format!("the {context} store is unavailable"))
    })
}

/// The contexts whose migrations this instance has applied.
static MIGRATED: Mutex<Vec<String>> = Mutex::new(Vec::new());

/// [`open_for_context`], with the context's `migrations` applied before the first
/// query. An instance serves many requests, so it migrates on its first open only.
pub async fn open_migrated(context: &str, migrations: &[Migration]) -> Result<SpinDb, DbError> {
    let db = open_for_context(context).await?;
    let migrated = |contexts: &[String]| contexts.iter().any(|done| done == context);
    if !MIGRATED.lock().is_ok_and(|contexts| migrated(&contexts)) {
        migrate(&db, context, migrations).await?;
        if let Ok(mut contexts) = MIGRATED.lock()
            && !migrated(&contexts)
        {
            contexts.push(context.to_owned());
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

fn pg_error(error: pg::Error) -> DbError {
    match error {
        pg::Error::PgError(PgError::QueryFailed(QueryError::DbError(db_error)))
            if db_error.code == "23505" =>
        {
            DbError::UniqueViolation(db_error.message)
        }
        // serialization_failure, deadlock_detected, too_many_connections: worth a retry.
        pg::Error::PgError(PgError::QueryFailed(QueryError::DbError(db_error)))
            if matches!(db_error.code.as_str(), "40001" | "40P01" | "53300") =>
        {
            DbError::Busy(db_error.message)
        }
        other => DbError::Other(format!("postgres: {other}")),
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
                connection
                    .execute(to_sqlite_placeholders(sql), params.iter().map(sqlite_param))
                    .await
                    .map_err(sqlite_error)?
                    .result()
                    .await
                    .map_err(sqlite_error)?;
                Ok(connection.changes().await)
            }
            SpinDb::Postgres(connection) => connection
                .execute(sql, params.iter().map(pg_param).collect::<Vec<_>>())
                .await
                .map_err(pg_error),
        }
    }

    async fn query(&self, sql: &str, params: &[SqlValue]) -> Result<Vec<Row>, DbError> {
        match self {
            SpinDb::Sqlite(connection) => Ok(connection
                .execute(to_sqlite_placeholders(sql), params.iter().map(sqlite_param))
                .await
                .map_err(sqlite_error)?
                .collect()
                .await
                .map_err(sqlite_error)?
                .into_iter()
                .map(|row| Row::new(row.values.into_iter().map(sqlite_value).collect()))
                .collect()),
            SpinDb::Postgres(connection) => {
                let result = connection
                    .query(sql, params.iter().map(pg_param).collect::<Vec<_>>())
                    .await
                    .map_err(pg_error)?;
                let (_, mut rows, finished) = result.into_inner();
                let mut out = Vec::new();
                while let Some(values) = rows.next().await {
                    let values = values.into_iter().map(pg_value).collect::<Result<_, _>>()?;
                    out.push(Row::new(values));
                }
                finished
                    .await
                    .map_err(|error| pg_error(pg::Error::PgError(error)))?;
                Ok(out)
            }
        }
    }
}
