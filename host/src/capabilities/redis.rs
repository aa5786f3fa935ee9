//! Outbound Redis: one multiplexed connection per `open`, to addresses the component's
//! `allowed_outbound_hosts` permit, through `spin:redis@3.0.0` (spin-sdk 6) and
//! `fermyon:spin/redis@2.0.0` (spin-sdk 5), which share one shape converted below.

use crate::bindings::fermyon::spin2_0_0::redis as v2;
use crate::bindings::spin::redis::redis::{self as v3};
use crate::capabilities::outbound_http::OutboundRules;
use crate::state::{Capabilities, InstanceState};
use redis::AsyncCommands;
use redis::aio::MultiplexedConnection;
use wasmtime::component::{Accessor, Linker, Resource};

pub struct RedisInstance {
    pub rules: OutboundRules,
}

pub struct RedisConnection(MultiplexedConnection);

/// The errors both Redis interfaces share.
#[derive(Debug)]
pub enum RedisError {
    InvalidAddress,
    TooManyConnections,
    TypeError,
    Other(String),
}

/// An argument of `execute`.
pub enum Param {
    Int64(i64),
    Binary(Vec<u8>),
}

/// A reply of `execute`, as Spin maps Redis values.
pub enum Reply {
    Nil,
    Status(String),
    Int64(i64),
    Binary(Vec<u8>),
}

fn other(e: redis::RedisError) -> RedisError {
    if e.kind() == redis::ErrorKind::TypeError {
        RedisError::TypeError
    } else {
        RedisError::Other(e.to_string())
    }
}

/// Redis replies as Spin maps them: nested arrays are flattened into one list.
struct Replies(Vec<Reply>);

impl redis::FromRedisValue for Replies {
    fn from_redis_value(value: &redis::Value) -> redis::RedisResult<Self> {
        fn flatten(value: &redis::Value, out: &mut Vec<Reply>) {
            use redis::Value as V;
            match value {
                V::Nil => out.push(Reply::Nil),
                V::Int(i) => out.push(Reply::Int64(*i)),
                V::BulkString(b) => out.push(Reply::Binary(b.clone())),
                V::SimpleString(s) => out.push(Reply::Status(s.clone())),
                V::Okay => out.push(Reply::Status("OK".into())),
                V::Array(items) | V::Set(items) => items.iter().for_each(|v| flatten(v, out)),
                V::Double(d) => out.push(Reply::Binary(d.to_string().into_bytes())),
                V::Boolean(b) => out.push(Reply::Int64(i64::from(*b))),
                V::VerbatimString { text, .. } => {
                    out.push(Reply::Binary(text.clone().into_bytes()))
                }
                other => out.push(Reply::Binary(format!("{other:?}").into_bytes())),
            }
        }
        let mut out = Vec::new();
        flatten(value, &mut out);
        Ok(Replies(out))
    }
}

impl RedisInstance {
    async fn open(&self, address: &str) -> Result<RedisConnection, RedisError> {
        if !self.rules.allows_url(address, "redis") {
            return Err(RedisError::InvalidAddress);
        }
        let client = redis::Client::open(address).map_err(|_| RedisError::InvalidAddress)?;
        let connection = client
            .get_multiplexed_async_connection()
            .await
            .map_err(other)?;
        Ok(RedisConnection(connection))
    }
}

impl RedisConnection {
    fn conn(&self) -> MultiplexedConnection {
        self.0.clone()
    }

    async fn publish(&self, channel: String, payload: Vec<u8>) -> Result<(), RedisError> {
        self.conn()
            .publish::<_, _, ()>(channel, payload)
            .await
            .map_err(other)
    }

    async fn get(&self, key: String) -> Result<Option<Vec<u8>>, RedisError> {
        self.conn().get(key).await.map_err(other)
    }

    async fn set(&self, key: String, value: Vec<u8>) -> Result<(), RedisError> {
        self.conn().set(key, value).await.map_err(other)
    }

    async fn incr(&self, key: String) -> Result<i64, RedisError> {
        self.conn().incr(key, 1).await.map_err(other)
    }

    async fn del(&self, keys: Vec<String>) -> Result<u32, RedisError> {
        self.conn().del(keys).await.map_err(other)
    }

    async fn sadd(&self, key: String, values: Vec<String>) -> Result<u32, RedisError> {
        self.conn().sadd(key, values).await.map_err(other)
    }

    async fn smembers(&self, key: String) -> Result<Vec<String>, RedisError> {
        self.conn().smembers(key).await.map_err(other)
    }

    async fn srem(&self, key: String, values: Vec<String>) -> Result<u32, RedisError> {
        self.conn().srem(key, values).await.map_err(other)
    }

    async fn execute(
        &self,
        command: String,
        arguments: Vec<Param>,
    ) -> Result<Vec<Reply>, RedisError> {
        let mut cmd = redis::cmd(&command);
        for argument in arguments {
            match argument {
                Param::Int64(v) => cmd.arg(v),
                Param::Binary(v) => cmd.arg(v),
            };
        }
        cmd.query_async::<Replies>(&mut self.conn())
            .await
            .map(|r| r.0)
            .map_err(other)
    }
}

/// The conversions between the runtime's types and an interface's `error`,
/// `redis-parameter` and `redis-result`, which both interface versions define alike.
macro_rules! redis_interface_types {
    ($m:ident) => {
        impl From<RedisError> for $m::Error {
            fn from(e: RedisError) -> Self {
                match e {
                    RedisError::InvalidAddress => Self::InvalidAddress,
                    RedisError::TooManyConnections => Self::TooManyConnections,
                    RedisError::TypeError => Self::TypeError,
                    RedisError::Other(m) => Self::Other(m),
                }
            }
        }

        impl From<$m::RedisParameter> for Param {
            fn from(p: $m::RedisParameter) -> Self {
                match p {
                    $m::RedisParameter::Int64(v) => Param::Int64(v),
                    $m::RedisParameter::Binary(v) => Param::Binary(v),
                }
            }
        }

        impl From<Reply> for $m::RedisResult {
            fn from(r: Reply) -> Self {
                match r {
                    Reply::Nil => Self::Nil,
                    Reply::Status(s) => Self::Status(s),
                    Reply::Int64(i) => Self::Int64(i),
                    Reply::Binary(b) => Self::Binary(b),
                }
            }
        }
    };
}

redis_interface_types!(v3);
redis_interface_types!(v2);

pub fn add_to_linker(linker: &mut Linker<InstanceState>) -> wasmtime::Result<()> {
    v3::add_to_linker::<_, Capabilities>(linker, |state| state)?;
    v2::add_to_linker::<_, Capabilities>(linker, |state| state)?;
    Ok(())
}

impl InstanceState {
    fn redis_connection(
        &self,
        c: &Resource<RedisConnection>,
    ) -> Result<RedisConnection, RedisError> {
        self.table
            .get(c)
            .map(|c| RedisConnection(c.conn()))
            .map_err(|_| RedisError::Other("invalid connection handle".into()))
    }

    fn push_redis(&mut self, c: RedisConnection) -> Result<Resource<RedisConnection>, RedisError> {
        self.table
            .push(c)
            .map_err(|_| RedisError::TooManyConnections)
    }
}

// ---- spin:redis@3.0.0 (spin-sdk 6) ----

impl v3::Host for InstanceState {
    fn convert_error(&mut self, err: v3::Error) -> wasmtime::Result<v3::Error> {
        Ok(err)
    }
}

impl v3::HostConnection for InstanceState {
    async fn drop(&mut self, c: Resource<RedisConnection>) -> wasmtime::Result<()> {
        self.table.delete(c)?;
        Ok(())
    }
}

fn connection<T>(
    accessor: &Accessor<T, Capabilities>,
    c: &Resource<RedisConnection>,
) -> Result<RedisConnection, RedisError> {
    accessor.with(|mut access| access.get().redis_connection(c))
}

impl v3::HostConnectionWithStore for Capabilities {
    async fn open<T>(
        accessor: &Accessor<T, Self>,
        address: String,
    ) -> Result<Resource<RedisConnection>, v3::Error> {
        let rules = accessor.with(|mut access| access.get().redis.rules.clone());
        let connection = RedisInstance { rules }.open(&address).await?;
        Ok(accessor.with(|mut access| access.get().push_redis(connection))?)
    }

    async fn publish<T>(
        accessor: &Accessor<T, Self>,
        c: Resource<RedisConnection>,
        channel: String,
        payload: Vec<u8>,
    ) -> Result<(), v3::Error> {
        Ok(connection(accessor, &c)?.publish(channel, payload).await?)
    }

    async fn get<T>(
        accessor: &Accessor<T, Self>,
        c: Resource<RedisConnection>,
        key: String,
    ) -> Result<Option<Vec<u8>>, v3::Error> {
        Ok(connection(accessor, &c)?.get(key).await?)
    }

    async fn set<T>(
        accessor: &Accessor<T, Self>,
        c: Resource<RedisConnection>,
        key: String,
        value: Vec<u8>,
    ) -> Result<(), v3::Error> {
        Ok(connection(accessor, &c)?.set(key, value).await?)
    }

    async fn incr<T>(
        accessor: &Accessor<T, Self>,
        c: Resource<RedisConnection>,
        key: String,
    ) -> Result<i64, v3::Error> {
        Ok(connection(accessor, &c)?.incr(key).await?)
    }

    async fn del<T>(
        accessor: &Accessor<T, Self>,
        c: Resource<RedisConnection>,
        keys: Vec<String>,
    ) -> Result<u32, v3::Error> {
        Ok(connection(accessor, &c)?.del(keys).await?)
    }

    async fn sadd<T>(
        accessor: &Accessor<T, Self>,
        c: Resource<RedisConnection>,
        key: String,
        values: Vec<String>,
    ) -> Result<u32, v3::Error> {
        Ok(connection(accessor, &c)?.sadd(key, values).await?)
    }

    async fn smembers<T>(
        accessor: &Accessor<T, Self>,
        c: Resource<RedisConnection>,
        key: String,
    ) -> Result<Vec<String>, v3::Error> {
        Ok(connection(accessor, &c)?.smembers(key).await?)
    }

    async fn srem<T>(
        accessor: &Accessor<T, Self>,
        c: Resource<RedisConnection>,
        key: String,
        values: Vec<String>,
    ) -> Result<u32, v3::Error> {
        Ok(connection(accessor, &c)?.srem(key, values).await?)
    }

    async fn execute<T>(
        accessor: &Accessor<T, Self>,
        c: Resource<RedisConnection>,
        command: String,
        arguments: Vec<v3::RedisParameter>,
    ) -> Result<Vec<v3::RedisResult>, v3::Error> {
        let arguments = arguments.into_iter().map(Into::into).collect();
        let replies = connection(accessor, &c)?
            .execute(command, arguments)
            .await?;
        Ok(replies.into_iter().map(Into::into).collect())
    }
}

// ---- fermyon:spin/redis@2.0.0 (spin-sdk 5) ----

impl v2::Host for InstanceState {
    fn convert_error(&mut self, err: v2::Error) -> wasmtime::Result<v2::Error> {
        Ok(err)
    }
}

impl v2::HostConnection for InstanceState {
    async fn open(&mut self, address: String) -> Result<Resource<RedisConnection>, v2::Error> {
        let connection = self.redis.open(&address).await?;
        Ok(self.push_redis(connection)?)
    }

    async fn publish(
        &mut self,
        c: Resource<RedisConnection>,
        channel: String,
        payload: Vec<u8>,
    ) -> Result<(), v2::Error> {
        Ok(self.redis_connection(&c)?.publish(channel, payload).await?)
    }

    async fn get(
        &mut self,
        c: Resource<RedisConnection>,
        key: String,
    ) -> Result<Option<Vec<u8>>, v2::Error> {
        Ok(self.redis_connection(&c)?.get(key).await?)
    }

    async fn set(
        &mut self,
        c: Resource<RedisConnection>,
        key: String,
        value: Vec<u8>,
    ) -> Result<(), v2::Error> {
        Ok(self.redis_connection(&c)?.set(key, value).await?)
    }

    async fn incr(&mut self, c: Resource<RedisConnection>, key: String) -> Result<i64, v2::Error> {
        Ok(self.redis_connection(&c)?.incr(key).await?)
    }

    async fn del(
        &mut self,
        c: Resource<RedisConnection>,
        keys: Vec<String>,
    ) -> Result<u32, v2::Error> {
        Ok(self.redis_connection(&c)?.del(keys).await?)
    }

    async fn sadd(
        &mut self,
        c: Resource<RedisConnection>,
        key: String,
        values: Vec<String>,
    ) -> Result<u32, v2::Error> {
        Ok(self.redis_connection(&c)?.sadd(key, values).await?)
    }

    async fn smembers(
        &mut self,
        c: Resource<RedisConnection>,
        key: String,
    ) -> Result<Vec<String>, v2::Error> {
        Ok(self.redis_connection(&c)?.smembers(key).await?)
    }

    async fn srem(
        &mut self,
        c: Resource<RedisConnection>,
        key: String,
        values: Vec<String>,
    ) -> Result<u32, v2::Error> {
        Ok(self.redis_connection(&c)?.srem(key, values).await?)
    }

    async fn execute(
        &mut self,
        c: Resource<RedisConnection>,
        command: String,
        arguments: Vec<v2::RedisParameter>,
    ) -> Result<Vec<v2::RedisResult>, v2::Error> {
        let arguments = arguments.into_iter().map(Into::into).collect();
        let replies = self
            .redis_connection(&c)?
            .execute(command, arguments)
            .await?;
        Ok(replies.into_iter().map(Into::into).collect())
    }

    async fn drop(&mut self, c: Resource<RedisConnection>) -> wasmtime::Result<()> {
        self.table.delete(c)?;
        Ok(())
    }
}
