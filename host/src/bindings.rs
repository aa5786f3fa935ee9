//! Host-side bindings of the Spin interfaces guests import and export.
//!
//! One world holds the imports of both guest kinds. Where a package comes in several
//! versions its module name carries the version (`spin::sqlite3_1_0`, `fermyon::spin2_0_0`).

wasmtime::component::bindgen!({
    path: "wit",
    world: "capabilities",
    imports: { default: async | trappable },
    with: {
        "spin:key-value/key-value.store": crate::capabilities::key_value::StoreHandle,
        "fermyon:spin/key-value@2.0.0.store": crate::capabilities::key_value::StoreHandle,
        "wasi:keyvalue/store@0.2.0-draft2.bucket": crate::capabilities::key_value::StoreHandle,
        "wasi:keyvalue/atomics@0.2.0-draft2.cas": crate::capabilities::key_value::CasHandle,
        "spin:sqlite/sqlite@3.1.0.connection": crate::capabilities::sqlite::SqliteConnection,
        "spin:sqlite/sqlite@3.0.0.connection": crate::capabilities::sqlite::SqliteConnection,
        "fermyon:spin/sqlite@2.0.0.connection": crate::capabilities::sqlite::SqliteConnection,
        "spin:postgres/postgres@4.2.0.connection": crate::capabilities::postgres::PgConnection,
        "spin:postgres/postgres@4.2.0.connection-builder": crate::capabilities::postgres::PgConnectionBuilder,
        "spin:postgres/postgres@4.0.0.connection": crate::capabilities::postgres::PgConnection,
        "spin:postgres/postgres@3.0.0.connection": crate::capabilities::postgres::PgConnection,
        "fermyon:spin/postgres@2.0.0.connection": crate::capabilities::postgres::PgConnection,
        "spin:redis/redis.connection": crate::capabilities::redis::RedisConnection,
        "fermyon:spin/redis@2.0.0.connection": crate::capabilities::redis::RedisConnection,
    },
    trappable_error_type: {
        "spin:key-value/key-value.error" => spin::key_value::key_value::Error,
        "spin:sqlite/sqlite@3.1.0.error" => spin::sqlite3_1_0::sqlite::Error,
        "spin:postgres/postgres@4.2.0.error" => spin::postgres4_2_0::postgres::Error,
        "spin:redis/redis.error" => spin::redis::redis::Error,
        "spin:variables/variables.error" => spin::variables::variables::Error,
        "fermyon:spin/key-value@2.0.0.error" => fermyon::spin2_0_0::key_value::Error,
        "fermyon:spin/variables@2.0.0.error" => fermyon::spin2_0_0::variables::Error,
        "fermyon:spin/sqlite@2.0.0.error" => fermyon::spin2_0_0::sqlite::Error,
        "fermyon:spin/redis@2.0.0.error" => fermyon::spin2_0_0::redis::Error,
        "fermyon:spin/rdbms-types@2.0.0.error" => fermyon::spin2_0_0::rdbms_types::Error,
        "wasi:keyvalue/store@0.2.0-draft2.error" => wasi::keyvalue::store::Error,
        "wasi:keyvalue/atomics@0.2.0-draft2.cas-error" => wasi::keyvalue::atomics::CasError,
        "wasi:config/store@0.2.0-draft-2024-09-27.error" => wasi::config::store::Error,
        "spin:sqlite/sqlite@3.0.0.error" => spin::sqlite3_0_0::sqlite::Error,
        "spin:postgres/postgres@4.0.0.error" => spin::postgres4_0_0::postgres::Error,
        "spin:postgres/postgres@3.0.0.error" => spin::postgres3_0_0::postgres::Error,
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

/// The Redis trigger's export of spin-sdk 5 guests (`fermyon:spin/inbound-redis`).
pub mod redis_handler_p2 {
    wasmtime::component::bindgen!({
        path: "wit",
        world: "redis-handler-p2",
        exports: { default: async },
    });
}
