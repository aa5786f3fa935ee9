//! PostgreSQL: connections drawn from a pool per address (as Spin 4 keeps), to addresses the
//! component's `allowed_outbound_hosts` permit, with Spin's type mapping. TLS as Spin chooses
//! it: plain text for `sslmode=disable`, otherwise TLS whenever the server offers it (and
//! only TLS for `sslmode=require`), with the server's certificate verified (see [`tls`]).
//!
//! Guests reach it through `spin:postgres@4.2.0` (spin-sdk 6), and `spin:postgres@4.0.0`,
//! `@3.0.0` and `fermyon:spin/postgres@2.0.0` (spin-sdk 5). The runtime speaks 4.2.0's types;
//! the older interfaces convert from and to them as Spin does (a value an older interface
//! has no case for is `unsupported`, its column type `other`).

// The error type is spin:postgres's WIT `error` variant, whose size is not ours to choose.
#![allow(clippy::result_large_err)]

use crate::bindings::spin::postgres4_2_0::postgres::{
    self as pg, Column, DbDataType, DbError, DbValue, Error, ParameterValue, QueryError, RowSet,
};
use crate::capabilities::outbound_http::OutboundRules;
use crate::state::{Capabilities, InstanceState};
use crate::telemetry::{self, SpanContext};
use bytes::BytesMut;
use chrono::{Datelike, NaiveDate, NaiveDateTime, NaiveTime, Timelike};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use tls::{CaRoot, RustlsConnect};
use tokio_postgres::types::{FromSql, IsNull, ToSql, Type, to_sql_checked};
use wasmtime::component::{Accessor, FutureReader, Linker, Resource, ResourceTable, StreamReader};

mod tls;

/// Spin 4 keeps up to 64 connections per address.
const POOL_SIZE: usize = 64;

/// What a connection is cleaned with before its next guest gets it: deadpool's `Clean`
/// (what Spin uses), after a check that no transaction was left open — without it, a guest
/// that stopped inside a transaction (a trap, its deadline) left the transaction open and
/// the next guest's `COMMIT` committed its half-done work. Outside a transaction block
/// this is the first command of its own, so its statement and transaction timestamps are
/// equal; inside one they differ, the check raises, the recycle fails and deadpool closes
/// the connection, which ends the transaction. (A `ROLLBACK` would warn, and the server log
/// it, on every clean connection.)
const RECYCLE: &str = "DO $$ BEGIN IF transaction_timestamp() <> statement_timestamp() THEN \
    RAISE 'a guest left a transaction open'; END IF; END $$; CLOSE ALL; \
    SET SESSION AUTHORIZATION DEFAULT; RESET ALL; UNLISTEN *; \
    SELECT pg_advisory_unlock_all(); DISCARD TEMP; DISCARD SEQUENCES;";

/// Pools by address and the guest's root certificate (its PEM text), as Spin keys them.
type PoolKey = (String, Option<String>);

#[derive(Default)]
pub struct PostgresRuntime {
    pools: Mutex<HashMap<PoolKey, deadpool_postgres::Pool>>,
}

#[derive(Clone)]
pub struct PostgresInstance {
    pub runtime: Arc<PostgresRuntime>,
    pub rules: OutboundRules,
    /// The invocation whose statements are traced (see [`crate::telemetry`]).
    pub trace: Option<SpanContext>,
}

/// A guest's connection: one pooled client, returned to the pool when the guest drops it.
#[derive(Clone)]
pub struct PgConnection {
    client: Arc<deadpool_postgres::Object>,
    trace: Option<SpanContext>,
    /// The database's name, for the spans of its statements.
    database: Arc<str>,
}

pub struct PgConnectionBuilder {
    address: String,
    ca_root: Option<CaRoot>,
}

/// A builder's address and root certificate.
fn builder_info(
    table: &ResourceTable,
    b: &Resource<PgConnectionBuilder>,
) -> Result<(String, Option<CaRoot>), Error> {
    table
        .get(b)
        .map(|b| (b.address.clone(), b.ca_root.clone()))
        .map_err(|_| Error::ConnectionFailed("no builder found".into()))
}

impl PostgresRuntime {
    fn pool(
        &self,
        address: &str,
        ca_root: Option<&CaRoot>,
    ) -> Result<deadpool_postgres::Pool, Error> {
        let key = (address.to_owned(), ca_root.map(|root| root.pem.clone()));
        let mut pools = self.pools.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(pool) = pools.get(&key) {
            return Ok(pool.clone());
        }
        let config = address
            .parse::<tokio_postgres::Config>()
            .map_err(|e| Error::ConnectionFailed(e.to_string()))?;
        let manager_config = deadpool_postgres::ManagerConfig {
            recycling_method: deadpool_postgres::RecyclingMethod::Custom(RECYCLE.to_owned()),
        };
        // Spin's choice: TLS unless `sslmode=disable`. tokio-postgres then asks the server
        // for TLS; `prefer` (the default) goes on in plain text when the server declines,
        // `require` fails, and a failed handshake fails either way.
        let manager = if config.get_ssl_mode() == tokio_postgres::config::SslMode::Disable {
            deadpool_postgres::Manager::from_config(config, tokio_postgres::NoTls, manager_config)
        } else {
            let tls =
                RustlsConnect::new(ca_root).map_err(|e| Error::ConnectionFailed(e.to_string()))?;
            deadpool_postgres::Manager::from_config(config, tls, manager_config)
        };
        let pool = deadpool_postgres::Pool::builder(manager)
            .max_size(POOL_SIZE)
            .build()
            .map_err(|e| Error::ConnectionFailed(e.to_string()))?;
        pools.insert(key, pool.clone());
        Ok(pool)
    }
}

impl PostgresInstance {
    /// Checks `address` against the component's rules; answers the database's name.
    fn ensure_allowed(rules: &OutboundRules, address: &str) -> Result<String, Error> {
        let config = address
            .parse::<tokio_postgres::Config>()
            .map_err(|e| Error::ConnectionFailed(e.to_string()))?;
        let ports = config.get_ports();
        for (i, host) in config.get_hosts().iter().enumerate() {
            let host = match host {
                tokio_postgres::config::Host::Tcp(host) => host.as_str(),
                #[cfg(unix)]
                tokio_postgres::config::Host::Unix(_) => {
                    return Err(Error::ConnectionFailed(
                        "unix socket addresses are not permitted".into(),
                    ));
                }
            };
            let port = ports
                .get(i)
                .or_else(|| (ports.len() == 1).then(|| &ports[0]))
                .copied();
            if !rules.allows("postgres", host, port) {
                let port = port.map(|p| format!(":{p}")).unwrap_or_default();
                return Err(Error::ConnectionFailed(format!(
                    "address postgres://{host}{port} is not permitted"
                )));
            }
        }
        Ok(config.get_dbname().unwrap_or_default().to_owned())
    }
}

async fn connect(
    instance: PostgresInstance,
    address: String,
    ca_root: Option<CaRoot>,
) -> Result<PgConnection, Error> {
    let database = PostgresInstance::ensure_allowed(&instance.rules, &address)?;
    crate::stats::count(&crate::stats::COUNTS.postgres_opens);
    let pool = instance.runtime.pool(&address, ca_root.as_ref())?;
    let client = pool.get().await.map_err(|e| {
        Error::ConnectionFailed(match e {
            // tokio-postgres tells why (a refused certificate, say) only in the causes.
            deadpool_postgres::PoolError::Backend(e) => format!("{:#}", anyhow::Error::from(e)),
            other => other.to_string(),
        })
    })?;
    Ok(PgConnection {
        client: Arc::new(client),
        trace: instance.trace,
        database: database.into(),
    })
}

impl PgConnection {
    async fn query(
        &self,
        statement: &str,
        params: Vec<ParameterValue>,
    ) -> Result<(Vec<Column>, Vec<Vec<DbValue>>), Error> {
        crate::stats::count(&crate::stats::COUNTS.postgres_statements);
        let span = self.span(statement);
        let result = self.run_query(statement, params).await;
        telemetry::end_statement(span, &result);
        result
    }

    async fn run_query(
        &self,
        statement: &str,
        params: Vec<ParameterValue>,
    ) -> Result<(Vec<Column>, Vec<Vec<DbValue>>), Error> {
        let params = params.iter().map(to_sql).collect::<Result<Vec<_>, _>>()?;
        let refs: Vec<&(dyn ToSql + Sync)> = params.iter().map(|p| p.as_ref() as _).collect();
        let statement = self.prepare(statement).await?;
        let columns = statement
            .columns()
            .iter()
            .map(|c| Column {
                name: c.name().to_owned(),
                data_type: data_type(c.type_()),
            })
            .collect();
        let rows = self
            .client
            .query(&statement, &refs)
            .await
            .map_err(query_failed)?
            .iter()
            .map(|row| (0..row.len()).map(|i| value(row, i)).collect())
            .collect::<Result<Vec<_>, _>>()?;
        Ok((columns, rows))
    }

    async fn execute(&self, statement: &str, params: Vec<ParameterValue>) -> Result<u64, Error> {
        crate::stats::count(&crate::stats::COUNTS.postgres_statements);
        let span = self.span(statement);
        let result = async {
            let params = params.iter().map(to_sql).collect::<Result<Vec<_>, _>>()?;
            let refs: Vec<&(dyn ToSql + Sync)> = params.iter().map(|p| p.as_ref() as _).collect();
            let statement = self.prepare(statement).await?;
            self.client
                .execute(&statement, &refs)
                .await
                .map_err(query_failed)
        }
        .await;
        telemetry::end_statement(span, &result);
        result
    }

    fn span(&self, statement: &str) -> Option<telemetry::Span> {
        telemetry::statement(self.trace, "postgresql", &self.database, statement)
    }

    /// `statement`, prepared once per connection: run again (every BEGIN, COMMIT and write
    /// of a handler), it costs one round trip, not two.
    async fn prepare(&self, statement: &str) -> Result<tokio_postgres::Statement, Error> {
        self.client
            .prepare_cached(statement)
            .await
            .map_err(query_failed)
    }
}

fn query_failed(e: tokio_postgres::Error) -> Error {
    match e.as_db_error() {
        Some(db) => Error::QueryFailed(QueryError::DbError(DbError {
            as_text: e.to_string(),
            severity: db.severity().to_owned(),
            code: db.code().code().to_owned(),
            message: db.message().to_owned(),
            detail: db.detail().map(str::to_owned),
            extras: [
                ("hint", db.hint()),
                ("schema", db.schema()),
                ("table", db.table()),
                ("column", db.column()),
                ("constraint", db.constraint()),
            ]
            .into_iter()
            .filter_map(|(k, v)| v.map(|v| (k.to_owned(), v.to_owned())))
            .collect(),
        })),
        None => Error::QueryFailed(QueryError::Text(e.to_string())),
    }
}

fn data_type(t: &Type) -> DbDataType {
    match *t {
        Type::BOOL => DbDataType::Boolean,
        Type::BYTEA => DbDataType::Binary,
        Type::FLOAT4 => DbDataType::Floating32,
        Type::FLOAT8 => DbDataType::Floating64,
        Type::INT2 => DbDataType::Int16,
        Type::INT4 => DbDataType::Int32,
        Type::INT8 => DbDataType::Int64,
        Type::TEXT | Type::VARCHAR | Type::BPCHAR => DbDataType::Str,
        Type::TIMESTAMP | Type::TIMESTAMPTZ => DbDataType::Datetime,
        Type::DATE => DbDataType::Date,
        Type::TIME => DbDataType::Time,
        Type::UUID => DbDataType::Uuid,
        Type::JSONB => DbDataType::Jsonb,
        Type::NUMERIC => DbDataType::Decimal,
        Type::INT4_ARRAY => DbDataType::ArrayInt32,
        Type::INT8_ARRAY => DbDataType::ArrayInt64,
        Type::NUMERIC_ARRAY => DbDataType::ArrayDecimal,
        Type::TEXT_ARRAY | Type::VARCHAR_ARRAY | Type::BPCHAR_ARRAY => DbDataType::ArrayStr,
        _ => DbDataType::Other(t.name().to_owned()),
    }
}

fn value(row: &tokio_postgres::Row, i: usize) -> Result<DbValue, Error> {
    fn get<'a, T: FromSql<'a>>(
        row: &'a tokio_postgres::Row,
        i: usize,
        wrap: impl FnOnce(T) -> DbValue,
    ) -> Result<DbValue, Error> {
        row.try_get::<_, Option<T>>(i)
            .map(|v| v.map_or(DbValue::DbNull, wrap))
            .map_err(|e| Error::ValueConversionFailed(e.to_string()))
    }
    match *row.columns()[i].type_() {
        Type::BOOL => get(row, i, DbValue::Boolean),
        Type::BYTEA => get(row, i, DbValue::Binary),
        Type::FLOAT4 => get(row, i, DbValue::Floating32),
        Type::FLOAT8 => get(row, i, DbValue::Floating64),
        Type::INT2 => get(row, i, DbValue::Int16),
        Type::INT4 => get(row, i, DbValue::Int32),
        Type::INT8 => get(row, i, DbValue::Int64),
        Type::TEXT | Type::VARCHAR | Type::BPCHAR => get(row, i, DbValue::Str),
        Type::TIMESTAMP => get(row, i, |v: NaiveDateTime| datetime(&v)),
        Type::TIMESTAMPTZ => get(row, i, |v: chrono::DateTime<chrono::Utc>| {
            datetime(&v.naive_utc())
        }),
        Type::DATE => get(row, i, |v: NaiveDate| {
            DbValue::Date((v.year(), v.month() as u8, v.day() as u8))
        }),
        Type::TIME => get(row, i, |v: NaiveTime| {
            DbValue::Time((
                v.hour() as u8,
                v.minute() as u8,
                v.second() as u8,
                v.nanosecond(),
            ))
        }),
        Type::UUID => get(row, i, |v: uuid::Uuid| DbValue::Uuid(v.to_string())),
        Type::JSONB => get(row, i, |v: serde_json::Value| {
            DbValue::Jsonb(serde_json::to_vec(&v).unwrap_or_default())
        }),
        Type::NUMERIC => get(row, i, |v: rust_decimal::Decimal| {
            DbValue::Decimal(v.to_string())
        }),
        Type::INT4_ARRAY => get(row, i, DbValue::ArrayInt32),
        Type::INT8_ARRAY => get(row, i, DbValue::ArrayInt64),
        Type::NUMERIC_ARRAY => get(row, i, |v: Vec<Option<rust_decimal::Decimal>>| {
            DbValue::ArrayDecimal(v.into_iter().map(|d| d.map(|d| d.to_string())).collect())
        }),
        Type::TEXT_ARRAY | Type::VARCHAR_ARRAY | Type::BPCHAR_ARRAY => {
            get(row, i, DbValue::ArrayStr)
        }
        _ => get(row, i, |v: RawValue| DbValue::Unsupported(v.0)),
    }
}

fn datetime(v: &NaiveDateTime) -> DbValue {
    DbValue::Datetime((
        v.year(),
        v.month() as u8,
        v.day() as u8,
        v.hour() as u8,
        v.minute() as u8,
        v.second() as u8,
        v.nanosecond(),
    ))
}

/// The wire bytes of a value of a type Spin does not map.
struct RawValue(Vec<u8>);

impl<'a> FromSql<'a> for RawValue {
    fn from_sql(_: &Type, raw: &'a [u8]) -> Result<Self, Box<dyn std::error::Error + Sync + Send>> {
        Ok(RawValue(raw.to_vec()))
    }

    fn accepts(_: &Type) -> bool {
        true
    }
}

/// SQL NULL for a parameter of any type.
#[derive(Debug)]
struct Null;

impl ToSql for Null {
    fn to_sql(
        &self,
        _: &Type,
        _: &mut BytesMut,
    ) -> Result<IsNull, Box<dyn std::error::Error + Sync + Send>> {
        Ok(IsNull::Yes)
    }

    fn accepts(_: &Type) -> bool {
        true
    }

    to_sql_checked!();
}

type Param = Box<dyn ToSql + Send + Sync>;

fn to_sql(value: &ParameterValue) -> Result<Param, Error> {
    let bad = |what: &str| Error::BadParameter(what.to_owned());
    Ok(match value {
        ParameterValue::Boolean(v) => Box::new(*v),
        ParameterValue::Int8(v) => Box::new(*v),
        ParameterValue::Int16(v) => Box::new(*v),
        ParameterValue::Int32(v) => Box::new(*v),
        ParameterValue::Int64(v) => Box::new(*v),
        ParameterValue::Floating32(v) => Box::new(*v),
        ParameterValue::Floating64(v) => Box::new(*v),
        ParameterValue::Str(v) => Box::new(v.clone()),
        ParameterValue::Binary(v) => Box::new(v.clone()),
        ParameterValue::Date((y, m, d)) => Box::new(
            NaiveDate::from_ymd_opt(*y, (*m).into(), (*d).into())
                .ok_or_else(|| bad("invalid date"))?,
        ),
        ParameterValue::Time((h, m, s, ns)) => Box::new(
            NaiveTime::from_hms_nano_opt((*h).into(), (*m).into(), (*s).into(), *ns)
                .ok_or_else(|| bad("invalid time"))?,
        ),
        ParameterValue::Datetime((y, mo, d, h, mi, s, ns)) => Box::new(
            NaiveDate::from_ymd_opt(*y, (*mo).into(), (*d).into())
                .and_then(|date| date.and_hms_nano_opt((*h).into(), (*mi).into(), (*s).into(), *ns))
                .ok_or_else(|| bad("invalid datetime"))?,
        ),
        ParameterValue::Timestamp(v) => Box::new(
            chrono::DateTime::from_timestamp(*v, 0).ok_or_else(|| bad("invalid timestamp"))?,
        ),
        ParameterValue::Uuid(v) => {
            Box::new(uuid::Uuid::parse_str(v).map_err(|e| bad(&e.to_string()))?)
        }
        ParameterValue::Jsonb(v) => Box::new(
            serde_json::from_slice::<serde_json::Value>(v).map_err(|e| bad(&e.to_string()))?,
        ),
        ParameterValue::Decimal(v) => Box::new(
            v.parse::<rust_decimal::Decimal>()
                .map_err(|e| bad(&e.to_string()))?,
        ),
        ParameterValue::ArrayInt32(v) => Box::new(v.clone()),
        ParameterValue::ArrayInt64(v) => Box::new(v.clone()),
        ParameterValue::ArrayDecimal(v) => Box::new(
            v.iter()
                .map(|d| {
                    d.as_deref()
                        .map(str::parse::<rust_decimal::Decimal>)
                        .transpose()
                })
                .collect::<Result<Vec<_>, _>>()
                .map_err(|e| bad(&e.to_string()))?,
        ),
        ParameterValue::ArrayStr(v) => Box::new(v.clone()),
        ParameterValue::DbNull => Box::new(Null),
        ParameterValue::RangeInt32(_)
        | ParameterValue::RangeInt64(_)
        | ParameterValue::RangeDecimal(_)
        | ParameterValue::Interval(_) => {
            return Err(bad(
                "range and interval parameters are not supported by fusion-host",
            ));
        }
    })
}

pub fn add_to_linker(linker: &mut Linker<InstanceState>) -> wasmtime::Result<()> {
    pg::add_to_linker::<_, Capabilities>(linker, |state| state)?;
    older::add_to_linker(linker)
}

impl pg::Host for InstanceState {
    fn convert_error(&mut self, err: Error) -> wasmtime::Result<Error> {
        Ok(err)
    }
}

impl InstanceState {
    fn pg_connection(&self, c: &Resource<PgConnection>) -> Result<PgConnection, Error> {
        self.table
            .get(c)
            .cloned()
            .map_err(|_| Error::ConnectionFailed("no connection found".into()))
    }

    fn push_pg(&mut self, c: PgConnection) -> Result<Resource<PgConnection>, Error> {
        self.table
            .push(c)
            .map_err(|_| Error::ConnectionFailed("too many connections".into()))
    }
}

impl InstanceState {
    async fn pg_open(
        &mut self,
        address: String,
        ca_root: Option<CaRoot>,
    ) -> Result<Resource<PgConnection>, Error> {
        let connection = connect(self.postgres.clone(), address, ca_root).await?;
        self.push_pg(connection)
    }

    async fn pg_query(
        &mut self,
        c: &Resource<PgConnection>,
        statement: String,
        params: Vec<ParameterValue>,
    ) -> Result<RowSet, Error> {
        let (columns, rows) = self.pg_connection(c)?.query(&statement, params).await?;
        Ok(RowSet { columns, rows })
    }

    async fn pg_execute(
        &mut self,
        c: &Resource<PgConnection>,
        statement: String,
        params: Vec<ParameterValue>,
    ) -> Result<u64, Error> {
        self.pg_connection(c)?.execute(&statement, params).await
    }
}

impl pg::HostConnection for InstanceState {
    async fn open(&mut self, address: String) -> Result<Resource<PgConnection>, Error> {
        self.pg_open(address, None).await
    }

    async fn query(
        &mut self,
        c: Resource<PgConnection>,
        statement: String,
        params: Vec<ParameterValue>,
    ) -> Result<RowSet, Error> {
        self.pg_query(&c, statement, params).await
    }

    async fn execute(
        &mut self,
        c: Resource<PgConnection>,
        statement: String,
        params: Vec<ParameterValue>,
    ) -> Result<u64, Error> {
        self.pg_execute(&c, statement, params).await
    }

    async fn drop(&mut self, c: Resource<PgConnection>) -> wasmtime::Result<()> {
        self.table.delete(c)?;
        Ok(())
    }
}

impl pg::HostConnectionBuilder for InstanceState {
    async fn new(&mut self, address: String) -> wasmtime::Result<Resource<PgConnectionBuilder>> {
        Ok(self.table.push(PgConnectionBuilder {
            address,
            ca_root: None,
        })?)
    }

    async fn set_ca_root(
        &mut self,
        b: Resource<PgConnectionBuilder>,
        certificate: String,
    ) -> Result<(), Error> {
        let ca_root = CaRoot::from_pem(certificate)
            .map_err(|e| Error::Other(format!("invalid root certificate: {e}")))?;
        self.table
            .get_mut(&b)
            .map_err(|_| Error::ConnectionFailed("no builder found".into()))?
            .ca_root = Some(ca_root);
        Ok(())
    }

    async fn build(
        &mut self,
        b: Resource<PgConnectionBuilder>,
    ) -> Result<Resource<PgConnection>, Error> {
        let (address, ca_root) = builder_info(&self.table, &b)?;
        self.pg_open(address, ca_root).await
    }

    async fn drop(&mut self, b: Resource<PgConnectionBuilder>) -> wasmtime::Result<()> {
        self.table.delete(b)?;
        Ok(())
    }
}

async fn open_for<T>(
    accessor: &Accessor<T, Capabilities>,
    address: String,
    ca_root: Option<CaRoot>,
) -> Result<Resource<PgConnection>, Error> {
    let instance = accessor.with(|mut access| access.get().postgres.clone());
    let connection = connect(instance, address, ca_root).await?;
    accessor.with(|mut access| access.get().push_pg(connection))
}

fn connection_of<T>(
    accessor: &Accessor<T, Capabilities>,
    c: &Resource<PgConnection>,
) -> Result<PgConnection, Error> {
    accessor.with(|mut access| access.get().pg_connection(c))
}

impl pg::HostConnectionWithStore for Capabilities {
    async fn open_async<T>(
        accessor: &Accessor<T, Self>,
        address: String,
    ) -> Result<Resource<PgConnection>, Error> {
        open_for(accessor, address, None).await
    }

    async fn query_async<T>(
        accessor: &Accessor<T, Self>,
        c: Resource<PgConnection>,
        statement: String,
        params: Vec<ParameterValue>,
    ) -> Result<
        (
            Vec<Column>,
            StreamReader<Vec<DbValue>>,
            FutureReader<Result<(), Error>>,
        ),
        Error,
    > {
        let (columns, rows) = connection_of(accessor, &c)?
            .query(&statement, params)
            .await?;
        let (rows, done) =
            super::buffered_rows(accessor, rows).map_err(|e| Error::Other(e.to_string()))?;
        Ok((columns, rows, done))
    }

    async fn execute_async<T>(
        accessor: &Accessor<T, Self>,
        c: Resource<PgConnection>,
        statement: String,
        params: Vec<ParameterValue>,
    ) -> Result<u64, Error> {
        connection_of(accessor, &c)?
            .execute(&statement, params)
            .await
    }
}

impl pg::HostConnectionBuilderWithStore for Capabilities {
    async fn build_async<T>(
        accessor: &Accessor<T, Self>,
        b: Resource<PgConnectionBuilder>,
    ) -> Result<Resource<PgConnection>, Error> {
        let (address, ca_root) =
            accessor.with(|mut access| builder_info(&access.get().table, &b))?;
        open_for(accessor, address, ca_root).await
    }
}

/// `spin:postgres@4.0.0`, `@3.0.0` and `fermyon:spin/postgres@2.0.0` over the 4.2.0 runtime.
mod older {
    use super::{Error, InstanceState, PgConnection, RowSet, pg};
    use crate::bindings::fermyon::spin2_0_0::{postgres as v2, rdbms_types as v2_types};
    use crate::bindings::spin::postgres3_0_0::postgres as pg3;
    use crate::bindings::spin::postgres4_0_0::postgres as pg4;
    use crate::state::Capabilities;
    use wasmtime::component::{Linker, Resource};

    pub fn add_to_linker(linker: &mut Linker<InstanceState>) -> wasmtime::Result<()> {
        pg4::add_to_linker::<_, Capabilities>(linker, |state| state)?;
        pg3::add_to_linker::<_, Capabilities>(linker, |state| state)?;
        v2::add_to_linker::<_, Capabilities>(linker, |state| state)?;
        v2_types::add_to_linker::<_, Capabilities>(linker, |state| state)?;
        Ok(())
    }

    /// Converts between two versions' enums whose listed cases carry the same payload (or
    /// none); the remaining cases follow as match arms.
    macro_rules! convert {
        ($value:expr, $from:ident => $to:ident :: $ty:ident,
         units: [$($unit:ident),*], same: [$($same:ident),*] $(, $($rest:tt)*)?) => {
            match $value {
                $( $from::$ty::$unit => $to::$ty::$unit, )*
                $( $from::$ty::$same(v) => $to::$ty::$same(v), )*
                $( $($rest)* )?
            }
        };
    }

    fn text_of(error: pg::QueryError) -> String {
        match error {
            pg::QueryError::Text(text) => text,
            pg::QueryError::DbError(e) => e.as_text,
        }
    }

    // ---- 4.0.0: 4.2.0's types, case for case ----

    /// A range's bounds: each a value and whether it is inclusive (of bound kind `K`).
    type Range<T, K> = (Option<(T, K)>, Option<(T, K)>);

    fn range<T, A, B>((low, high): Range<T, A>, kind: impl Fn(A) -> B) -> Range<T, B> {
        (
            low.map(|(v, k)| (v, kind(k))),
            high.map(|(v, k)| (v, kind(k))),
        )
    }

    fn bound_to_4_2(k: pg4::RangeBoundKind) -> pg::RangeBoundKind {
        match k {
            pg4::RangeBoundKind::Inclusive => pg::RangeBoundKind::Inclusive,
            pg4::RangeBoundKind::Exclusive => pg::RangeBoundKind::Exclusive,
        }
    }

    fn bound_to_4_0(k: pg::RangeBoundKind) -> pg4::RangeBoundKind {
        match k {
            pg::RangeBoundKind::Inclusive => pg4::RangeBoundKind::Inclusive,
            pg::RangeBoundKind::Exclusive => pg4::RangeBoundKind::Exclusive,
        }
    }

    fn param_4_0(p: pg4::ParameterValue) -> pg::ParameterValue {
        convert!(p, pg4 => pg::ParameterValue,
            units: [DbNull],
            same: [Boolean, Int8, Int16, Int32, Int64, Floating32, Floating64, Str, Binary, Date,
                   Time, Datetime, Timestamp, Uuid, Jsonb, Decimal, ArrayInt32, ArrayInt64,
                   ArrayDecimal, ArrayStr],
            pg4::ParameterValue::RangeInt32(r) => pg::ParameterValue::RangeInt32(range(r, bound_to_4_2)),
            pg4::ParameterValue::RangeInt64(r) => pg::ParameterValue::RangeInt64(range(r, bound_to_4_2)),
            pg4::ParameterValue::RangeDecimal(r) => pg::ParameterValue::RangeDecimal(range(r, bound_to_4_2)),
            pg4::ParameterValue::Interval(i) => pg::ParameterValue::Interval(pg::Interval {
                micros: i.micros, days: i.days, months: i.months,
            }),
        )
    }

    fn value_4_0(v: pg::DbValue) -> pg4::DbValue {
        convert!(v, pg => pg4::DbValue,
            units: [DbNull],
            same: [Boolean, Int8, Int16, Int32, Int64, Floating32, Floating64, Str, Binary, Date,
                   Time, Datetime, Timestamp, Uuid, Jsonb, Decimal, ArrayInt32, ArrayInt64,
                   ArrayDecimal, ArrayStr, Unsupported],
            pg::DbValue::RangeInt32(r) => pg4::DbValue::RangeInt32(range(r, bound_to_4_0)),
            pg::DbValue::RangeInt64(r) => pg4::DbValue::RangeInt64(range(r, bound_to_4_0)),
            pg::DbValue::RangeDecimal(r) => pg4::DbValue::RangeDecimal(range(r, bound_to_4_0)),
            pg::DbValue::Interval(i) => pg4::DbValue::Interval(pg4::Interval {
                micros: i.micros, days: i.days, months: i.months,
            }),
        )
    }

    fn data_type_4_0(t: pg::DbDataType) -> pg4::DbDataType {
        convert!(t, pg => pg4::DbDataType,
            units: [Boolean, Int8, Int16, Int32, Int64, Floating32, Floating64, Str, Binary, Date,
                    Time, Datetime, Timestamp, Uuid, Jsonb, Decimal, RangeInt32, RangeInt64,
                    RangeDecimal, ArrayInt32, ArrayInt64, ArrayDecimal, ArrayStr, Interval],
            same: [Other])
    }

    fn error_4_0(e: Error) -> pg4::Error {
        convert!(e, pg => pg4::Error,
            units: [],
            same: [ConnectionFailed, BadParameter, ValueConversionFailed, Other],
            pg::Error::QueryFailed(q) => pg4::Error::QueryFailed(match q {
                pg::QueryError::Text(t) => pg4::QueryError::Text(t),
                pg::QueryError::DbError(d) => pg4::QueryError::DbError(pg4::DbError {
                    as_text: d.as_text,
                    severity: d.severity,
                    code: d.code,
                    message: d.message,
                    detail: d.detail,
                    extras: d.extras,
                }),
            }),
        )
    }

    fn rows_4_0(r: RowSet) -> pg4::RowSet {
        pg4::RowSet {
            columns: r
                .columns
                .into_iter()
                .map(|c| pg4::Column {
                    name: c.name,
                    data_type: data_type_4_0(c.data_type),
                })
                .collect(),
            rows: r
                .rows
                .into_iter()
                .map(|row| row.into_iter().map(value_4_0).collect())
                .collect(),
        }
    }

    impl pg4::Host for InstanceState {
        fn convert_error(&mut self, err: pg4::Error) -> wasmtime::Result<pg4::Error> {
            Ok(err)
        }
    }

    impl pg4::HostConnection for InstanceState {
        async fn open(&mut self, address: String) -> Result<Resource<PgConnection>, pg4::Error> {
            self.pg_open(address, None).await.map_err(error_4_0)
        }

        async fn query(
            &mut self,
            c: Resource<PgConnection>,
            statement: String,
            params: Vec<pg4::ParameterValue>,
        ) -> Result<pg4::RowSet, pg4::Error> {
            let params = params.into_iter().map(param_4_0).collect();
            self.pg_query(&c, statement, params)
                .await
                .map(rows_4_0)
                .map_err(error_4_0)
        }

        async fn execute(
            &mut self,
            c: Resource<PgConnection>,
            statement: String,
            params: Vec<pg4::ParameterValue>,
        ) -> Result<u64, pg4::Error> {
            let params = params.into_iter().map(param_4_0).collect();
            self.pg_execute(&c, statement, params)
                .await
                .map_err(error_4_0)
        }

        async fn drop(&mut self, c: Resource<PgConnection>) -> wasmtime::Result<()> {
            self.table.delete(c)?;
            Ok(())
        }
    }

    // ---- 3.0.0: no uuid, jsonb, decimal, ranges, arrays or interval ----

    fn param_3(p: pg3::ParameterValue) -> pg::ParameterValue {
        convert!(p, pg3 => pg::ParameterValue,
            units: [DbNull],
            same: [Boolean, Int8, Int16, Int32, Int64, Floating32, Floating64, Str, Binary, Date,
                   Time, Datetime, Timestamp])
    }

    fn value_3(v: pg::DbValue) -> pg3::DbValue {
        convert!(v, pg => pg3::DbValue,
            units: [DbNull],
            same: [Boolean, Int8, Int16, Int32, Int64, Floating32, Floating64, Str, Binary, Date,
                   Time, Datetime, Timestamp],
            _ => pg3::DbValue::Unsupported,
        )
    }

    fn data_type_3(t: pg::DbDataType) -> pg3::DbDataType {
        convert!(t, pg => pg3::DbDataType,
            units: [Boolean, Int8, Int16, Int32, Int64, Floating32, Floating64, Str, Binary, Date,
                    Time, Datetime, Timestamp],
            same: [],
            _ => pg3::DbDataType::Other,
        )
    }

    fn error_3(e: Error) -> pg3::Error {
        convert!(e, pg => pg3::Error,
            units: [],
            same: [ConnectionFailed, BadParameter, ValueConversionFailed, Other],
            pg::Error::QueryFailed(q) => pg3::Error::QueryFailed(text_of(q)),
        )
    }

    fn rows_3(r: RowSet) -> pg3::RowSet {
        pg3::RowSet {
            columns: r
                .columns
                .into_iter()
                .map(|c| pg3::Column {
                    name: c.name,
                    data_type: data_type_3(c.data_type),
                })
                .collect(),
            rows: r
                .rows
                .into_iter()
                .map(|row| row.into_iter().map(value_3).collect())
                .collect(),
        }
    }

    impl pg3::Host for InstanceState {
        fn convert_error(&mut self, err: pg3::Error) -> wasmtime::Result<pg3::Error> {
            Ok(err)
        }
    }

    impl pg3::HostConnection for InstanceState {
        async fn open(&mut self, address: String) -> Result<Resource<PgConnection>, pg3::Error> {
            self.pg_open(address, None).await.map_err(error_3)
        }

        async fn query(
            &mut self,
            c: Resource<PgConnection>,
            statement: String,
            params: Vec<pg3::ParameterValue>,
        ) -> Result<pg3::RowSet, pg3::Error> {
            let params = params.into_iter().map(param_3).collect();
            self.pg_query(&c, statement, params)
                .await
                .map(rows_3)
                .map_err(error_3)
        }

        async fn execute(
            &mut self,
            c: Resource<PgConnection>,
            statement: String,
            params: Vec<pg3::ParameterValue>,
        ) -> Result<u64, pg3::Error> {
            let params = params.into_iter().map(param_3).collect();
            self.pg_execute(&c, statement, params)
                .await
                .map_err(error_3)
        }

        async fn drop(&mut self, c: Resource<PgConnection>) -> wasmtime::Result<()> {
            self.table.delete(c)?;
            Ok(())
        }
    }

    // ---- fermyon:spin 2.0.0: rdbms-types, unsigned integers refused ----

    fn params_2(
        params: Vec<v2_types::ParameterValue>,
    ) -> Result<Vec<pg::ParameterValue>, v2_types::Error> {
        params
            .into_iter()
            .map(|p| {
                Ok(convert!(p, v2_types => pg::ParameterValue,
                    units: [DbNull],
                    same: [Boolean, Int8, Int16, Int32, Int64, Floating32, Floating64, Str, Binary],
                    v2_types::ParameterValue::Uint8(_)
                    | v2_types::ParameterValue::Uint16(_)
                    | v2_types::ParameterValue::Uint32(_)
                    | v2_types::ParameterValue::Uint64(_) => {
                        return Err(v2_types::Error::ValueConversionFailed(
                            "Postgres does not support unsigned integers".into(),
                        ));
                    }
                ))
            })
            .collect()
    }

    fn value_2(v: pg::DbValue) -> v2_types::DbValue {
        convert!(v, pg => v2_types::DbValue,
            units: [DbNull],
            same: [Boolean, Int8, Int16, Int32, Int64, Floating32, Floating64, Str, Binary],
            _ => v2_types::DbValue::Unsupported,
        )
    }

    fn data_type_2(t: pg::DbDataType) -> v2_types::DbDataType {
        convert!(t, pg => v2_types::DbDataType,
            units: [Boolean, Int8, Int16, Int32, Int64, Floating32, Floating64, Str, Binary],
            same: [],
            _ => v2_types::DbDataType::Other,
        )
    }

    fn error_2(e: Error) -> v2_types::Error {
        convert!(e, pg => v2_types::Error,
            units: [],
            same: [ConnectionFailed, BadParameter, ValueConversionFailed, Other],
            pg::Error::QueryFailed(q) => v2_types::Error::QueryFailed(text_of(q)),
        )
    }

    fn rows_2(r: RowSet) -> v2_types::RowSet {
        v2_types::RowSet {
            columns: r
                .columns
                .into_iter()
                .map(|c| v2_types::Column {
                    name: c.name,
                    data_type: data_type_2(c.data_type),
                })
                .collect(),
            rows: r
                .rows
                .into_iter()
                .map(|row| row.into_iter().map(value_2).collect())
                .collect(),
        }
    }

    impl v2_types::Host for InstanceState {
        fn convert_error(&mut self, err: v2_types::Error) -> wasmtime::Result<v2_types::Error> {
            Ok(err)
        }
    }

    impl v2::Host for InstanceState {}

    impl v2::HostConnection for InstanceState {
        async fn open(
            &mut self,
            address: String,
        ) -> Result<Resource<PgConnection>, v2_types::Error> {
            self.pg_open(address, None).await.map_err(error_2)
        }

        async fn query(
            &mut self,
            c: Resource<PgConnection>,
            statement: String,
            params: Vec<v2_types::ParameterValue>,
        ) -> Result<v2_types::RowSet, v2_types::Error> {
            let params = params_2(params)?;
            self.pg_query(&c, statement, params)
                .await
                .map(rows_2)
                .map_err(error_2)
        }

        async fn execute(
            &mut self,
            c: Resource<PgConnection>,
            statement: String,
            params: Vec<v2_types::ParameterValue>,
        ) -> Result<u64, v2_types::Error> {
            let params = params_2(params)?;
            self.pg_execute(&c, statement, params)
                .await
                .map_err(error_2)
        }

        async fn drop(&mut self, c: Resource<PgConnection>) -> wasmtime::Result<()> {
            self.table.delete(c)?;
            Ok(())
        }
    }
}
