//! `spin:redis@3.0.0` (outbound): one multiplexed connection per `open`, to addresses the
//! component's `allowed_outbound_hosts` permit.

use crate::bindings::spin::redis::redis::{self as r, Error, RedisParameter, RedisResult};
use crate::capabilities::outbound_http::OutboundRules;
use crate::state::{Capabilities, InstanceState};
use redis::AsyncCommands;
use redis::aio::MultiplexedConnection;
use wasmtime::component::{Accessor, Linker, Resource};

pub struct RedisInstance {
    pub rules: OutboundRules,
}

pub struct RedisConnection(MultiplexedConnection);

pub fn add_to_linker(linker: &mut Linker<InstanceState>) -> wasmtime::Result<()> {
    r::add_to_linker::<_, Capabilities>(linker, |state| state)
}

impl r::Host for InstanceState {
    fn convert_error(&mut self, err: Error) -> wasmtime::Result<Error> {
        Ok(err)
    }
}

impl r::HostConnection for InstanceState {
    async fn drop(&mut self, c: Resource<RedisConnection>) -> wasmtime::Result<()> {
        self.table.delete(c)?;
        Ok(())
    }
}

fn other(e: redis::RedisError) -> Error {
    if e.kind() == redis::ErrorKind::TypeError {
        Error::TypeError
    } else {
        Error::Other(e.to_string())
    }
}

fn connection<T>(
    accessor: &Accessor<T, Capabilities>,
    c: &Resource<RedisConnection>,
) -> Result<MultiplexedConnection, Error> {
    accessor.with(|mut access| {
        access
            .get()
            .table
            .get(c)
            .map(|c| c.0.clone())
            .map_err(|_| Error::Other("invalid connection handle".into()))
    })
}

/// Redis replies as Spin maps them: nested arrays are flattened into one list.
struct Replies(Vec<RedisResult>);

impl redis::FromRedisValue for Replies {
    fn from_redis_value(value: &redis::Value) -> redis::RedisResult<Self> {
        fn flatten(value: &redis::Value, out: &mut Vec<RedisResult>) {
            use redis::Value as V;
            match value {
                V::Nil => out.push(RedisResult::Nil),
                V::Int(i) => out.push(RedisResult::Int64(*i)),
                V::BulkString(b) => out.push(RedisResult::Binary(b.clone())),
                V::SimpleString(s) => out.push(RedisResult::Status(s.clone())),
                V::Okay => out.push(RedisResult::Status("OK".into())),
                V::Array(items) | V::Set(items) => items.iter().for_each(|v| flatten(v, out)),
                V::Double(d) => out.push(RedisResult::Binary(d.to_string().into_bytes())),
                V::Boolean(b) => out.push(RedisResult::Int64(i64::from(*b))),
                V::VerbatimString { text, .. } => {
                    out.push(RedisResult::Binary(text.clone().into_bytes()))
                }
                other => out.push(RedisResult::Binary(format!("{other:?}").into_bytes())),
            }
        }
        let mut out = Vec::new();
        flatten(value, &mut out);
        Ok(Replies(out))
    }
}

impl r::HostConnectionWithStore for Capabilities {
    async fn open<T>(
        accessor: &Accessor<T, Self>,
        address: String,
    ) -> Result<Resource<RedisConnection>, Error> {
        let rules = accessor.with(|mut access| access.get().redis.rules.clone());
        if !rules.allows_url(&address, "redis") {
            return Err(Error::InvalidAddress);
        }
        let client = redis::Client::open(address.as_str()).map_err(|_| Error::InvalidAddress)?;
        let connection = client
            .get_multiplexed_async_connection()
            .await
            .map_err(other)?;
        accessor.with(|mut access| {
            access
                .get()
                .table
                .push(RedisConnection(connection))
                .map_err(|_| Error::TooManyConnections)
        })
    }

    async fn publish<T>(
        accessor: &Accessor<T, Self>,
        c: Resource<RedisConnection>,
        channel: String,
        payload: Vec<u8>,
    ) -> Result<(), Error> {
        connection(accessor, &c)?
            .publish::<_, _, ()>(channel, payload)
            .await
            .map_err(other)
    }

    async fn get<T>(
        accessor: &Accessor<T, Self>,
        c: Resource<RedisConnection>,
        key: String,
    ) -> Result<Option<Vec<u8>>, Error> {
        connection(accessor, &c)?.get(key).await.map_err(other)
    }

    async fn set<T>(
        accessor: &Accessor<T, Self>,
        c: Resource<RedisConnection>,
        key: String,
        value: Vec<u8>,
    ) -> Result<(), Error> {
        connection(accessor, &c)?
            .set(key, value)
            .await
            .map_err(other)
    }

    async fn incr<T>(
        accessor: &Accessor<T, Self>,
        c: Resource<RedisConnection>,
        key: String,
    ) -> Result<i64, Error> {
        connection(accessor, &c)?.incr(key, 1).await.map_err(other)
    }

    async fn del<T>(
        accessor: &Accessor<T, Self>,
        c: Resource<RedisConnection>,
        keys: Vec<String>,
    ) -> Result<u32, Error> {
        connection(accessor, &c)?.del(keys).await.map_err(other)
    }

    async fn sadd<T>(
        accessor: &Accessor<T, Self>,
        c: Resource<RedisConnection>,
        key: String,
        values: Vec<String>,
    ) -> Result<u32, Error> {
        connection(accessor, &c)?
            .sadd(key, values)
            .await
            .map_err(other)
    }

    async fn smembers<T>(
        accessor: &Accessor<T, Self>,
        c: Resource<RedisConnection>,
        key: String,
    ) -> Result<Vec<String>, Error> {
        connection(accessor, &c)?.smembers(key).await.map_err(other)
    }

    async fn srem<T>(
        accessor: &Accessor<T, Self>,
        c: Resource<RedisConnection>,
        key: String,
        values: Vec<String>,
    ) -> Result<u32, Error> {
        connection(accessor, &c)?
            .srem(key, values)
            .await
            .map_err(other)
    }

    async fn execute<T>(
        accessor: &Accessor<T, Self>,
        c: Resource<RedisConnection>,
        command: String,
        arguments: Vec<RedisParameter>,
    ) -> Result<Vec<RedisResult>, Error> {
        let mut conn = connection(accessor, &c)?;
        let mut cmd = redis::cmd(&command);
        for argument in arguments {
            match argument {
                RedisParameter::Int64(v) => cmd.arg(v),
                RedisParameter::Binary(v) => cmd.arg(v),
            };
        }
        cmd.query_async::<Replies>(&mut conn)
            .await
            .map(|r| r.0)
            .map_err(other)
    }
}
