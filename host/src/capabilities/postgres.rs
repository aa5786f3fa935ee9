//! `spin:postgres@4.2.0`: connections drawn from a pool per address (as Spin 4 keeps),
//! to addresses the component's `allowed_outbound_hosts` permit.

// The error type is spin:postgres's WIT `error` variant, whose size is not ours to choose.
#![allow(clippy::result_large_err)]

use crate::bindings::spin::postgres::postgres::{
    self as pg, Column, DbDataType, DbError, DbValue, Error, ParameterValue, QueryError, RowSet,
};
use crate::capabilities::outbound_http::OutboundRules;
use crate::state::{Capabilities, InstanceState};
use bytes::BytesMut;
use chrono::{Datelike, NaiveDate, NaiveDateTime, NaiveTime, Timelike};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use tokio_postgres::types::{FromSql, IsNull, ToSql, Type, to_sql_checked};
use wasmtime::component::{Accessor, FutureReader, Linker, Resource, StreamReader};

/// Spin 4 keeps up to 64 connections per address.
const POOL_SIZE: usize = 64;

#[derive(Default)]
pub struct PostgresRuntime {
    pools: Mutex<HashMap<String, deadpool_postgres::Pool>>,
}

pub struct PostgresInstance {
    pub runtime: Arc<PostgresRuntime>,
    pub rules: OutboundRules,
}

/// A guest's connection: one pooled client, returned to the pool when the guest drops it.
pub struct PgConnection(Arc<deadpool_postgres::Object>);

pub struct PgConnectionBuilder {
    address: String,
}

impl PostgresRuntime {
    fn pool(&self, address: &str) -> Result<deadpool_postgres::Pool, Error> {
        let mut pools = self.pools.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(pool) = pools.get(address) {
            return Ok(pool.clone());
        }
        let config = address
            .parse::<tokio_postgres::Config>()
            .map_err(|e| Error::ConnectionFailed(e.to_string()))?;
        let manager = deadpool_postgres::Manager::from_config(
            config,
            tokio_postgres::NoTls,
            deadpool_postgres::ManagerConfig {
                recycling_method: deadpool_postgres::RecyclingMethod::Clean,
            },
        );
        let pool = deadpool_postgres::Pool::builder(manager)
            .max_size(POOL_SIZE)
            .build()
            .map_err(|e| Error::ConnectionFailed(e.to_string()))?;
        pools.insert(address.to_owned(), pool.clone());
        Ok(pool)
    }
}

impl PostgresInstance {
    fn ensure_allowed(rules: &OutboundRules, address: &str) -> Result<(), Error> {
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
        Ok(())
    }
}

async fn connect(
    runtime: Arc<PostgresRuntime>,
    rules: OutboundRules,
    address: String,
) -> Result<PgConnection, Error> {
    PostgresInstance::ensure_allowed(&rules, &address)?;
    let pool = runtime.pool(&address)?;
    let client = pool
        .get()
        .await
        .map_err(|e| Error::ConnectionFailed(e.to_string()))?;
    Ok(PgConnection(Arc::new(client)))
}

impl PgConnection {
    async fn query(
        &self,
        statement: &str,
        params: Vec<ParameterValue>,
    ) -> Result<(Vec<Column>, Vec<Vec<DbValue>>), Error> {
        let params = params.iter().map(to_sql).collect::<Result<Vec<_>, _>>()?;
        let refs: Vec<&(dyn ToSql + Sync)> = params.iter().map(|p| p.as_ref() as _).collect();
        let statement = self
            .0
            .prepare_cached(statement)
            .await
            .map_err(query_failed)?;
        let columns = statement
            .columns()
            .iter()
            .map(|c| Column {
                name: c.name().to_owned(),
                data_type: data_type(c.type_()),
            })
            .collect();
        let rows = self
            .0
            .query(&statement, &refs)
            .await
            .map_err(query_failed)?
            .iter()
            .map(|row| (0..row.len()).map(|i| value(row, i)).collect())
            .collect::<Result<Vec<_>, _>>()?;
        Ok((columns, rows))
    }

    async fn execute(&self, statement: &str, params: Vec<ParameterValue>) -> Result<u64, Error> {
        let params = params.iter().map(to_sql).collect::<Result<Vec<_>, _>>()?;
        let refs: Vec<&(dyn ToSql + Sync)> = params.iter().map(|p| p.as_ref() as _).collect();
        self.0.execute(statement, &refs).await.map_err(query_failed)
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
    pg::add_to_linker::<_, Capabilities>(linker, |state| state)
}

impl pg::Host for InstanceState {
    fn convert_error(&mut self, err: Error) -> wasmtime::Result<Error> {
        Ok(err)
    }
}

impl InstanceState {
    fn pg_connection(
        &self,
        c: &Resource<PgConnection>,
    ) -> Result<Arc<deadpool_postgres::Object>, Error> {
        self.table
            .get(c)
            .map(|c| c.0.clone())
            .map_err(|_| Error::ConnectionFailed("no connection found".into()))
    }

    fn push_pg(&mut self, c: PgConnection) -> Result<Resource<PgConnection>, Error> {
        self.table
            .push(c)
            .map_err(|_| Error::ConnectionFailed("too many connections".into()))
    }
}

impl pg::HostConnection for InstanceState {
    async fn open(&mut self, address: String) -> Result<Resource<PgConnection>, Error> {
        let connection = connect(
            self.postgres.runtime.clone(),
            self.postgres.rules.clone(),
            address,
        )
        .await?;
        self.push_pg(connection)
    }

    async fn query(
        &mut self,
        c: Resource<PgConnection>,
        statement: String,
        params: Vec<ParameterValue>,
    ) -> Result<RowSet, Error> {
        let connection = PgConnection(self.pg_connection(&c)?);
        let (columns, rows) = connection.query(&statement, params).await?;
        Ok(RowSet { columns, rows })
    }

    async fn execute(
        &mut self,
        c: Resource<PgConnection>,
        statement: String,
        params: Vec<ParameterValue>,
    ) -> Result<u64, Error> {
        PgConnection(self.pg_connection(&c)?)
            .execute(&statement, params)
            .await
    }

    async fn drop(&mut self, c: Resource<PgConnection>) -> wasmtime::Result<()> {
        self.table.delete(c)?;
        Ok(())
    }
}

impl pg::HostConnectionBuilder for InstanceState {
    async fn new(&mut self, address: String) -> wasmtime::Result<Resource<PgConnectionBuilder>> {
        Ok(self.table.push(PgConnectionBuilder { address })?)
    }

    async fn set_ca_root(
        &mut self,
        _: Resource<PgConnectionBuilder>,
        _: String,
    ) -> Result<(), Error> {
        Err(Error::Other(
            "TLS to PostgreSQL is not supported by fusion-host".into(),
        ))
    }

    async fn build(
        &mut self,
        b: Resource<PgConnectionBuilder>,
    ) -> Result<Resource<PgConnection>, Error> {
        let address = self
            .table
            .get(&b)
            .map(|b| b.address.clone())
            .map_err(|_| Error::Other("no builder found".into()))?;
        pg::HostConnection::open(self, address).await
    }

    async fn drop(&mut self, b: Resource<PgConnectionBuilder>) -> wasmtime::Result<()> {
        self.table.delete(b)?;
        Ok(())
    }
}

fn instance_parts<T>(
    accessor: &Accessor<T, Capabilities>,
) -> (Arc<PostgresRuntime>, OutboundRules) {
    accessor.with(|mut access| {
        let pg = &access.get().postgres;
        (pg.runtime.clone(), pg.rules.clone())
    })
}

async fn open_for<T>(
    accessor: &Accessor<T, Capabilities>,
    address: String,
) -> Result<Resource<PgConnection>, Error> {
    let (runtime, rules) = instance_parts(accessor);
    let connection = connect(runtime, rules, address).await?;
    accessor.with(|mut access| access.get().push_pg(connection))
}

fn connection_of<T>(
    accessor: &Accessor<T, Capabilities>,
    c: &Resource<PgConnection>,
) -> Result<PgConnection, Error> {
    accessor.with(|mut access| access.get().pg_connection(c).map(PgConnection))
}

impl pg::HostConnectionWithStore for Capabilities {
    async fn open_async<T>(
        accessor: &Accessor<T, Self>,
        address: String,
    ) -> Result<Resource<PgConnection>, Error> {
        open_for(accessor, address).await
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
        let address = accessor.with(|mut access| {
            access
                .get()
                .table
                .get(&b)
                .map(|b| b.address.clone())
                .map_err(|_| Error::Other("no builder found".into()))
        })?;
        open_for(accessor, address).await
    }
}
