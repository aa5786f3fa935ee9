//! The data of one guest instance's store: WASI, wasi:http (0.2 and 0.3) and each Spin
//! capability.

use crate::capabilities::{
    key_value::KeyValueInstance, outbound_http::OutboundHttp, postgres::PostgresInstance,
    redis::RedisInstance, sqlite::SqliteInstance, variables::VariablesInstance,
};
use crate::telemetry::SpanContext;
use wasmtime::component::{HasData, ResourceTable};
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};
use wasmtime_wasi_http::p3::{WasiHttpCtxView, WasiHttpView};
use wasmtime_wasi_http::{WasiHttpCtx, p2};

pub struct InstanceState {
    pub table: ResourceTable,
    pub wasi: WasiCtx,
    pub http: WasiHttpCtx,
    pub outbound_http: OutboundHttp,
    pub key_value: KeyValueInstance,
    pub sqlite: SqliteInstance,
    pub postgres: PostgresInstance,
    pub redis: RedisInstance,
    pub variables: VariablesInstance,
}

impl InstanceState {
    /// Makes `context` (the invocation's span) the parent of what this instance does
    /// next: its outbound requests, statements and key-value operations.
    pub fn set_trace(&mut self, context: Option<SpanContext>) {
        self.outbound_http.trace = context;
        self.sqlite.trace = context;
        self.postgres.trace = context;
        self.key_value.trace = context;
    }
}

impl WasiView for InstanceState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.wasi,
            table: &mut self.table,
        }
    }
}

/// `wasi:http@0.3` (spin-sdk 6 guests).
impl WasiHttpView for InstanceState {
    fn http(&mut self) -> WasiHttpCtxView<'_> {
        WasiHttpCtxView {
            ctx: &mut self.http,
            table: &mut self.table,
            hooks: &mut self.outbound_http,
        }
    }
}

/// `wasi:http@0.2` (spin-sdk 5 guests); the same hooks apply Spin's outbound rules.
impl p2::WasiHttpView for InstanceState {
    fn http(&mut self) -> p2::WasiHttpCtxView<'_> {
        p2::WasiHttpCtxView {
            ctx: &mut self.http,
            table: &mut self.table,
            hooks: &mut self.outbound_http,
        }
    }
}

/// Projects a store's data to itself for the Spin interfaces, whose host traits are
/// implemented on [`InstanceState`] by each capability module.
pub struct Capabilities;

impl HasData for Capabilities {
    type Data<'a> = &'a mut InstanceState;
}
