//! The loaded application: the engine, the compiled components and the shared state of
//! every capability, from which each new instance's store data is made.

use crate::capabilities::{
    key_value::KeyValueRuntime,
    outbound_http::{HttpTimeouts, OutboundHttp, OutboundRules, ServiceChaining},
    postgres::{PostgresInstance, PostgresRuntime},
    redis::RedisInstance,
    sqlite::SqliteRuntime,
    variables::VariablesInstance,
};
use crate::state::InstanceState;
use crate::{Fatal, compile};
use fusion_host_app::allowed_hosts::AllowedHosts;
use fusion_host_app::manifest::App;
use fusion_host_app::runtime_config::RuntimeConfig;
use fusion_host_app::variables::Resolver;
use std::collections::{BTreeSet, HashMap, HashSet};
use std::net::SocketAddr;
use std::sync::{Arc, Weak};
use wasmtime::component::{InstancePre, Linker, ResourceTable};
use wasmtime::{Engine, Store};
use wasmtime_wasi::WasiCtx;
use wasmtime_wasi_http::WasiHttpCtx;

/// How long a guest may run for one request: the engine's epoch advances every
/// [`Deadline::TICK`] (a thread of its own), and a store traps once `ticks` have passed
/// since its deadline was set — when its instance was made, and again at each request a
/// reused instance takes. Only running guest code is stopped; time a guest spends
/// waiting on the host counts toward the deadline, so the deadline bounds a request.
#[derive(Debug, Clone, Copy)]
pub struct Deadline {
    pub ticks: u64,
}

impl Deadline {
    pub const TICK: std::time::Duration = std::time::Duration::from_millis(100);

    pub fn after(timeout: std::time::Duration) -> Self {
        let ticks = timeout.as_millis() / Self::TICK.as_millis();
        Self {
            ticks: u64::try_from(ticks).unwrap_or(u64::MAX).max(1),
        }
    }

    /// Advances `engine`'s epoch every tick, for as long as the process runs.
    fn start_ticking(engine: &Engine) {
        let engine = engine.clone();
        std::thread::Builder::new()
            .name("epoch-ticker".into())
            .spawn(move || {
                loop {
                    std::thread::sleep(Self::TICK);
                    engine.increment_epoch();
                }
            })
            .expect("spawning the epoch ticker");
    }
}

pub struct AppRuntime {
    pub app: App,
    pub engine: Engine,
    pub deadline: Deadline,
    outbound_timeouts: HttpTimeouts,
    resolver: Arc<Resolver>,
    key_value: Arc<KeyValueRuntime>,
    sqlite: Arc<SqliteRuntime>,
    postgres: Arc<PostgresRuntime>,
    pub components: HashMap<String, Arc<LoadedComponent>>,
}

pub struct LoadedComponent {
    pub id: Arc<str>,
    pub pre: InstancePre<InstanceState>,
    rules: OutboundRules,
    key_value_stores: Arc<HashSet<String>>,
    sqlite_databases: Arc<HashSet<String>>,
    environment: Vec<(String, String)>,
}

impl AppRuntime {
    /// Loads and compiles every component a trigger names; configuration mistakes are
    /// [`Fatal::Config`] (exit code 2).
    pub async fn load(
        app: App,
        runtime_config: RuntimeConfig,
        deadline: Deadline,
        outbound_timeouts: HttpTimeouts,
    ) -> Result<Self, Fatal> {
        let resolver =
            Arc::new(Resolver::new(&app, |name| std::env::var(name).ok()).map_err(Fatal::config)?);
        let key_value = Arc::new(
            KeyValueRuntime::new(&runtime_config.key_value_stores)
                .await
                .map_err(Fatal::Runtime)?,
        );
        let sqlite =
            Arc::new(SqliteRuntime::new(&runtime_config.sqlite_databases).map_err(Fatal::Runtime)?);
        let engine = compile::engine().map_err(Fatal::Runtime)?;
        Deadline::start_ticking(&engine);
        let linker = linker(&engine).map_err(Fatal::Runtime)?;

        let triggered: BTreeSet<&str> = app
            .http_triggers
            .iter()
            .map(|t| t.component.as_str())
            .chain(app.redis_triggers.iter().map(|t| t.component.as_str()))
            .collect();
        let mut components = HashMap::new();
        for id in triggered {
            let spec = &app.components[id];
            let in_manifest = |e: String| {
                Fatal::Config(format!(
                    "{}: component.{id}.{e}",
                    app.manifest_path.display()
                ))
            };
            key_value
                .check_labels(&spec.key_value_stores)
                .map_err(in_manifest)?;
            sqlite
                .check_labels(&spec.sqlite_databases)
                .map_err(in_manifest)?;
            let hosts = AllowedHosts::for_component(&app, &resolver, id).map_err(Fatal::config)?;
            if !spec.source.is_file() {
                let build = spec
                    .build_command
                    .as_deref()
                    .map(|c| format!("; build it with `{c}` (or run scripts/setup)"))
                    .unwrap_or_default();
                return Err(Fatal::Config(format!(
                    "component `{id}`: its source {} does not exist{build}",
                    spec.source.display()
                )));
            }
            let component = compile::load_component(&engine, &spec.source)
                .map_err(|e| Fatal::Runtime(e.context(format!("component `{id}`"))))?;
            let pre = linker
                .instantiate_pre(&component)
                .map_err(|e| Fatal::Config(missing_import(id, &anyhow::Error::from(e))))?;
            let id: Arc<str> = id.into();
            components.insert(
                id.to_string(),
                Arc::new(LoadedComponent {
                    rules: OutboundRules {
                        component: id.clone(),
                        hosts: Arc::new(hosts),
                    },
                    id,
                    pre,
                    key_value_stores: Arc::new(spec.key_value_stores.iter().cloned().collect()),
                    sqlite_databases: Arc::new(spec.sqlite_databases.iter().cloned().collect()),
                    environment: spec
                        .environment
                        .iter()
                        .map(|(k, v)| (k.clone(), v.clone()))
                        .collect(),
                }),
            );
        }
        Ok(Self {
            app,
            engine,
            deadline,
            outbound_timeouts,
            resolver,
            key_value,
            sqlite,
            postgres: Arc::new(PostgresRuntime::default()),
            components,
        })
    }

    /// Expands `{{ variable }}` templates of application variables (trigger settings).
    pub fn expand_template(&self, template: &str) -> Result<String, String> {
        self.resolver
            .expand_app_template(template)
            .map_err(|e| e.to_string())
    }

    /// A new store for one instance of `component`.
    pub fn new_store(
        &self,
        component: &LoadedComponent,
        chain: Option<Weak<dyn ServiceChaining>>,
        self_origin: Option<SocketAddr>,
    ) -> Store<InstanceState> {
        crate::stats::count_instance(&component.id);
        crate::metrics::instance_made(&component.id);
        let mut wasi = WasiCtx::builder();
        wasi.inherit_stdout()
            .inherit_stderr()
            .envs(&component.environment);
        let state = InstanceState {
            table: ResourceTable::new(),
            wasi: wasi.build(),
            http: WasiHttpCtx::new(),
            outbound_http: OutboundHttp {
                rules: component.rules.clone(),
                chain,
                self_origin,
                timeouts: self.outbound_timeouts,
                trace: None,
            },
            key_value: self.key_value.instance(component.key_value_stores.clone()),
            sqlite: self.sqlite.instance(component.sqlite_databases.clone()),
            postgres: PostgresInstance {
                runtime: self.postgres.clone(),
                rules: component.rules.clone(),
                trace: None,
            },
            redis: RedisInstance {
                rules: component.rules.clone(),
            },
            variables: VariablesInstance {
                resolver: self.resolver.clone(),
                component: component.id.clone(),
            },
        };
        let mut store = Store::new(&self.engine, state);
        store.set_epoch_deadline(self.deadline.ticks);
        store.epoch_deadline_trap();
        store
    }
}

fn linker(engine: &Engine) -> anyhow::Result<Linker<InstanceState>> {
    let mut linker = Linker::new(engine);
    // Guests built for wasm32-wasip2 import WASI 0.2 through the standard library;
    // spin-sdk 6 guests import WASI 0.3 (and wasi:http@0.3), spin-sdk 5 guests
    // wasi:http@0.2: all are provided, as Spin 4 does.
    wasmtime_wasi::p2::add_to_linker_async(&mut linker)?;
    wasmtime_wasi::p3::add_to_linker(&mut linker)?;
    wasmtime_wasi_http::p3::add_to_linker(&mut linker)?;
    wasmtime_wasi_http::p2::add_only_http_to_linker_async(&mut linker)?;
    crate::capabilities::key_value::add_to_linker(&mut linker)?;
    crate::capabilities::sqlite::add_to_linker(&mut linker)?;
    crate::capabilities::postgres::add_to_linker(&mut linker)?;
    crate::capabilities::redis::add_to_linker(&mut linker)?;
    crate::capabilities::variables::add_to_linker(&mut linker)?;
    Ok(linker)
}

/// The startup error for a component the linker cannot satisfy: it names the component and
/// the import (wasmtime's message names the import in backticks).
fn missing_import(component: &str, error: &anyhow::Error) -> String {
    let detail = format!("{error:#}");
    let import = detail
        .split('`')
        .nth(1)
        .filter(|name| name.contains(':'))
        .map(|name| format!("`{name}`"))
        .unwrap_or_else(|| "an interface".into());
    let unsupported = [
        "fermyon:spin/llm",
        "fermyon:spin/mqtt",
        "fermyon:spin/mysql",
        "spin:mqtt/",
        "spin:mysql/",
    ]
    .iter()
    .any(|prefix| import.contains(prefix));
    let hint = if unsupported {
        " (fusion-host does not implement Spin's LLM, MQTT and MySQL interfaces: run this app with `spin up`)"
    } else {
        " (fusion-host links the imports of spin:up@3.6.0 but llm, mqtt and mysql, and spin-sdk 6's WASIp3 interfaces)"
    };
    format!(
        "component `{component}` imports {import}, which fusion-host does not provide{hint}: {detail}"
    )
}
