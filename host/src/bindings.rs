//! Host-side bindings of the Spin interfaces guests import and export.

wasmtime::component::bindgen!({
    path: "wit",
    world: "capabilities",
    imports: { default: async | trappable },
    with: {
        "spin:key-value/key-value.store": crate::capabilities::key_value::StoreHandle,
        "spin:sqlite/sqlite.connection": crate::capabilities::sqlite::SqliteConnection,
        "spin:postgres/postgres.connection": crate::capabilities::postgres::PgConnection,
        "spin:postgres/postgres.connection-builder": crate::capabilities::postgres::PgConnectionBuilder,
        "spin:redis/redis.connection": crate::capabilities::redis::RedisConnection,
    },
    trappable_error_type: {
        "spin:key-value/key-value.error" => spin::key_value::key_value::Error,
        "spin:sqlite/sqlite.error" => spin::sqlite::sqlite::Error,
        "spin:postgres/postgres.error" => spin::postgres::postgres::Error,
        "spin:redis/redis.error" => spin::redis::redis::Error,
        "spin:variables/variables.error" => spin::variables::variables::Error,
    },
});

pub mod redis_handler {
    wasmtime::component::bindgen!({
        path: "wit",
        world: "redis-handler",
        exports: { default: async | store },
        with: { "spin:redis/redis": super::spin::redis::redis },
    });
}
