//! The app's wiring, declared once in `wiring.toml` at the workspace root: its contexts,
//! their routes and stores, the topics each emits, and its event handlers. From it come
//! spin.toml's components and routes and the runtime configs ([`Wiring::spin_manifest`],
//! [`RuntimeConfig`]), written by `cargo run -p wiring`, and what kit's build script
//! derives: who handles each topic, and which contexts keep a store or an outbox.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use serde::Deserialize;

/// The line of spin.toml after which everything is generated: above it, the
/// `[application]` and the `[variables]` a user edits by hand.
pub const GENERATED_MARKER: &str = "# --- Below: written by `cargo run -p wiring` from wiring.toml; edit that file, not this part. ---";

/// Variables every API component reads: the HTTP edge (CORS, the rate limit, tokens, and
/// the signature checked on `/events` deliveries).
const EDGE_VARIABLES: &[&str] = &[
    "cors_allowed_origins",
    "rate_limit_per_second",
    "rate_limit_burst",
    "jwt_secret",
    "event_signing_key",
];
/// Variables every component with a store reads: the database and how events leave it.
const STORE_VARIABLES: &[&str] = &[
    "db_driver",
    "db_url",
    "event_transport",
    "event_signing_key",
];
const BUILD: &str = "cargo build --target wasm32-wasip2 --release -p";

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Declaration {
    #[serde(default)]
    needs: BTreeMap<String, Need>,
    context: Vec<Context>,
}

/// A named group of variables, outbound hosts and contexts called over service chaining
/// that components take together.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct Need {
    #[serde(default)]
    variables: Vec<String>,
    #[serde(default)]
    outbound: Vec<String>,
    #[serde(default)]
    calls: Vec<String>,
}

/// What a context's components reach.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Store {
    /// Its own SQLite label and PostgreSQL schema, named after it.
    #[default]
    Own,
    None,
    /// Every context's store (ops: health, dead letters, relay, sweep).
    Every,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Context {
    name: String,
    about: String,
    /// The API component's package, `<name>-api` unless given.
    package: Option<String>,
    #[serde(default)]
    store: Store,
    routes: Vec<String>,
    #[serde(default)]
    variables: Vec<String>,
    #[serde(default)]
    needs: Vec<String>,
    /// Contexts whose API this one calls over service chaining.
    #[serde(default)]
    calls: Vec<String>,
    #[serde(default)]
    emits: Vec<String>,
    #[serde(default)]
    handles: Vec<HandlerEntry>,
    /// Needs every handler of this context takes.
    #[serde(default)]
    handlers_need: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum HandlerEntry {
    Topic(String),
    Detailed {
        on: String,
        #[serde(default)]
        variables: Vec<String>,
        #[serde(default)]
        needs: Vec<String>,
    },
}

impl HandlerEntry {
    fn topic(&self) -> &str {
        match self {
            Self::Topic(topic) | Self::Detailed { on: topic, .. } => topic,
        }
    }
}

/// An event handler component: `<context>-on-<event>`, subscribed to `topic`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Handler {
    pub id: String,
    pub context: String,
    pub topic: String,
}

/// One Spin component as spin.toml declares it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Component {
    pub id: String,
    /// Its Cargo package; its folder is `components/<context>/<package without the context>`.
    pub package: String,
    pub context: String,
    pub about: Option<String>,
    pub routes: Vec<String>,
    pub sqlite_databases: Vec<String>,
    pub key_value: bool,
    pub outbound: Vec<String>,
    pub variables: Vec<String>,
}

impl Component {
    /// The component's folder, relative to the workspace root.
    pub fn folder(&self) -> PathBuf {
        let part = self
            .package
            .strip_prefix(&format!("{}-", self.context))
            .unwrap_or(&self.package);
        Path::new("components").join(&self.context).join(part)
    }
}

/// The declaration, checked: names unique, every handled topic emitted by one context,
/// every need defined.
#[derive(Debug)]
pub struct Wiring {
    needs: BTreeMap<String, Need>,
    contexts: Vec<Context>,
}

impl Wiring {
    /// Reads `wiring.toml` from the workspace root.
    pub fn load(root: &Path) -> Result<Self, String> {
        let path = root.join("wiring.toml");
        let text = std::fs::read_to_string(&path)
            .map_err(|error| format!("{}: {error}", path.display()))?;
        Self::parse(&text).map_err(|error| format!("wiring.toml: {error}"))
    }

    pub fn parse(text: &str) -> Result<Self, String> {
        let Declaration { needs, context } =
            toml::from_str(text).map_err(|error| error.to_string())?;
        let wiring = Self {
            needs,
            contexts: context,
        };
        wiring.check()?;
        Ok(wiring)
    }

    fn check(&self) -> Result<(), String> {
        let mut ids: Vec<String> = Vec::new();
        for component in self.components()? {
            if ids.contains(&component.id) {
                return Err(format!("the component {} is declared twice", component.id));
            }
            ids.push(component.id);
        }
        for handler in self.handlers() {
            let emitters: Vec<&str> = self
                .contexts
                .iter()
                .filter(|context| context.emits.contains(&handler.topic))
                .map(|context| context.name.as_str())
                .collect();
            if emitters.is_empty() {
                return Err(format!(
                    "{} handles {}, which no context emits",
                    handler.context, handler.topic
                ));
            }
        }
        for context in &self.contexts {
            for topic in &context.emits {
                if let Some(other) = self
                    .contexts
                    .iter()
                    .find(|other| other.name != context.name && other.emits.contains(topic))
                {
                    return Err(format!(
                        "{topic} is emitted by both {} and {}",
                        context.name, other.name
                    ));
                }
            }
        }
        let callers = self
            .contexts
            .iter()
            .map(|context| (&context.name, &context.calls))
            .chain(self.needs.iter().map(|(name, need)| (name, &need.calls)));
        for (caller, calls) in callers {
            for callee in calls {
                if !self.contexts.iter().any(|known| &known.name == callee) {
                    return Err(format!("{caller} calls {callee}, which is not a context"));
                }
            }
        }
        Ok(())
    }

    /// The contexts with a store of their own, in declaration order.
    pub fn store_contexts(&self) -> Vec<&str> {
        self.contexts
            .iter()
            .filter(|context| context.store == Store::Own)
            .map(|context| context.name.as_str())
            .collect()
    }

    /// The contexts with a store that emit or handle events: those keeping an outbox.
    pub fn event_contexts(&self) -> Vec<&str> {
        self.contexts
            .iter()
            .filter(|context| {
                context.store == Store::Own
                    && !(context.emits.is_empty() && context.handles.is_empty())
            })
            .map(|context| context.name.as_str())
            .collect()
    }

    /// Every topic some context emits, in declaration order.
    pub fn emitted_topics(&self) -> Vec<&str> {
        self.contexts
            .iter()
            .flat_map(|context| context.emits.iter().map(String::as_str))
            .collect()
    }

    /// Every handler, in declaration order (a topic's delivery order).
    pub fn handlers(&self) -> Vec<Handler> {
        self.contexts
            .iter()
            .flat_map(|context| {
                context.handles.iter().map(|entry| Handler {
                    id: format!("{}-on-{}", context.name, slug(entry.topic())),
                    context: context.name.clone(),
                    topic: entry.topic().to_owned(),
                })
            })
            .collect()
    }

    /// Each handled topic and its handlers, in delivery order.
    pub fn subscriptions(&self) -> Vec<(String, Vec<String>)> {
        let mut subscriptions: Vec<(String, Vec<String>)> = Vec::new();
        for handler in self.handlers() {
            match subscriptions
                .iter_mut()
                .find(|(topic, _)| *topic == handler.topic)
            {
                Some((_, handlers)) => handlers.push(handler.id),
                None => subscriptions.push((handler.topic, vec![handler.id])),
            }
        }
        subscriptions
    }

    /// Whether `context`'s components dispatch events: it emits a topic someone handles.
    fn dispatches(&self, context: &Context) -> bool {
        context.store == Store::Every
            || self
                .handlers()
                .iter()
                .any(|handler| context.emits.contains(&handler.topic))
    }

    /// Every component, each context's API followed by its handlers.
    pub fn components(&self) -> Result<Vec<Component>, String> {
        let mut components = Vec::new();
        for context in &self.contexts {
            let sqlite_databases: Vec<String> = match context.store {
                Store::Own => vec![context.name.clone()],
                Store::None => Vec::new(),
                Store::Every => self
                    .store_contexts()
                    .iter()
                    .map(|s| s.to_string())
                    .collect(),
            };
            let dispatches = self.dispatches(context);
            let reach = |variables: &mut Vec<String>,
                         outbound: &mut Vec<String>,
                         needs: &[String]|
             -> Result<(), String> {
                if !sqlite_databases.is_empty() {
                    outbound.push("postgres://{{ db_host }}".into());
                    extend(variables, STORE_VARIABLES.iter().copied());
                }
                if dispatches {
                    extend(
                        outbound,
                        ["http://*.spin.internal", "{{ event_handlers_origin }}"],
                    );
                    extend(variables, ["event_handlers_origin"]);
                }
                for name in needs {
                    let need = self.needs.get(name).ok_or_else(|| {
                        format!("{} needs {name}, which is not declared", context.name)
                    })?;
                    extend(variables, need.variables.iter().map(String::as_str));
                    extend(outbound, need.outbound.iter().map(String::as_str));
                    let chained: Vec<String> = need.calls.iter().map(|c| chained(c)).collect();
                    extend(outbound, chained.iter().map(String::as_str));
                }
                Ok(())
            };

            let mut variables = Vec::new();
            let mut outbound = Vec::new();
            extend(&mut variables, EDGE_VARIABLES.iter().copied());
            reach(&mut variables, &mut outbound, &context.needs)?;
            extend(&mut variables, context.variables.iter().map(String::as_str));
            outbound.extend(context.calls.iter().map(|callee| chained(callee)));
            components.push(Component {
                id: context.name.clone(),
                package: context
                    .package
                    .clone()
                    .unwrap_or_else(|| format!("{}-api", context.name)),
                context: context.name.clone(),
                about: Some(context.about.clone()),
                routes: context.routes.clone(),
                sqlite_databases: sqlite_databases.clone(),
                key_value: true,
                outbound,
                variables,
            });

            for entry in &context.handles {
                let id = format!("{}-on-{}", context.name, slug(entry.topic()));
                let (extra, needs): (&[String], Vec<String>) = match entry {
                    HandlerEntry::Topic(_) => (&[], context.handlers_need.clone()),
                    HandlerEntry::Detailed {
                        variables, needs, ..
                    } => (
                        variables,
                        context.handlers_need.iter().chain(needs).cloned().collect(),
                    ),
                };
                let mut variables = Vec::new();
                let mut outbound = Vec::new();
                reach(&mut variables, &mut outbound, &needs)?;
                extend(&mut variables, extra.iter().map(String::as_str));
                components.push(Component {
                    package: id.clone(),
                    context: context.name.clone(),
                    about: None,
                    routes: vec![format!("/events/{id}")],
                    sqlite_databases: sqlite_databases.clone(),
                    key_value: false,
                    outbound,
                    variables,
                    id,
                });
            }
        }
        Ok(components)
    }

    /// spin.toml: `head` (the current manifest's `[application]` and `[variables]`, up to
    /// and including [`GENERATED_MARKER`]) followed by every route and component. Fails
    /// when a component reads a variable `head` does not declare.
    pub fn spin_manifest(&self, current: &str) -> Result<String, String> {
        let head = current
            .find(GENERATED_MARKER)
            .map(|at| &current[..at + GENERATED_MARKER.len()])
            .ok_or_else(|| format!("spin.toml has no line {GENERATED_MARKER:?}"))?;
        let declared: toml::Table = head
            .parse()
            .map_err(|error| format!("spin.toml: {error}"))?;
        let declared = declared
            .get("variables")
            .and_then(toml::Value::as_table)
            .ok_or("spin.toml declares no [variables]")?;

        let mut out = format!("{head}\n");
        let mut section = String::new();
        for component in self.components()? {
            if component.context != section {
                section.clone_from(&component.context);
                let rule = "-".repeat(86usize.saturating_sub(section.len() + 7));
                write!(out, "\n# --- {section} {rule}\n").unwrap();
            }
            if let Some(about) = &component.about {
                writeln!(out, "# {about}").unwrap();
            }
            for route in &component.routes {
                write!(
                    out,
                    "[[trigger.http]]\nroute = {route:?}\ncomponent = {:?}\n\n",
                    component.id
                )
                .unwrap();
            }
            let id = &component.id;
            writeln!(out, "[component.{id}]").unwrap();
            writeln!(
                out,
                "source = \"target/wasm32-wasip2/release/{}.wasm\"",
                component.package.replace('-', "_")
            )
            .unwrap();
            if !component.sqlite_databases.is_empty() {
                writeln!(
                    out,
                    "sqlite_databases = {}",
                    list(&component.sqlite_databases)
                )
                .unwrap();
            }
            if component.key_value {
                writeln!(out, "key_value_stores = [\"default\"]").unwrap();
            }
            if !component.outbound.is_empty() {
                writeln!(
                    out,
                    "allowed_outbound_hosts = {}",
                    list(&component.outbound)
                )
                .unwrap();
            }
            writeln!(out, "[component.{id}.variables]").unwrap();
            for variable in &component.variables {
                if !declared.contains_key(variable) {
                    return Err(format!(
                        "{id} reads the variable {variable}, which spin.toml's [variables] does not declare"
                    ));
                }
                writeln!(out, "{variable} = \"{{{{ {variable} }}}}\"").unwrap();
            }
            write!(
                out,
                "[component.{id}.build]\ncommand = \"{BUILD} {}\"\n",
                component.package
            )
            .unwrap();
        }
        Ok(out)
    }
}

/// The runtime configs in `infra/runtime-config/`: every context's SQLite database under
/// the app's `.spin/`, and the key-value store `default`.
#[derive(Debug, Clone, Copy)]
pub enum RuntimeConfig {
    /// The embedded default: the key-value file, no server.
    Local,
    /// The key-value store on Redis, shared by every instance of the app.
    Redis,
}

impl RuntimeConfig {
    pub const ALL: [Self; 2] = [Self::Local, Self::Redis];

    /// Its path, relative to the workspace root.
    pub fn path(self) -> &'static str {
        match self {
            Self::Local => "infra/runtime-config/local.toml",
            Self::Redis => "infra/runtime-config/redis.toml",
        }
    }

    pub fn render(self, wiring: &Wiring) -> String {
        let mut out = String::from(match self {
            Self::Local => {
                "# The embedded default: one SQLite database per context and the key-value file, all under\n\
                 # the app's .spin/ directory. No server needed.\n"
            }
            Self::Redis => {
                "# Production's key-value: the contexts' SQLite databases as in local.toml, but the\n\
                 # key-value store `default` (carts, idempotency records, rate-limit buckets) in Redis, so\n\
                 # every instance of the app shares it. Start one with `scripts/services redis`.\n"
            }
        });
        out.push_str("# Written by `cargo run -p wiring` from wiring.toml.\n");
        for context in wiring.store_contexts() {
            write!(
                out,
                "[sqlite_database.{context}]\ntype = \"spin\"\npath = \".spin/{context}.db\"\n\n"
            )
            .unwrap();
        }
        out.push_str(match self {
            Self::Local => {
                "[key_value_store.default]\ntype = \"spin\"\npath = \"../../.spin/sqlite_key_value.db\"\n"
            }
            Self::Redis => {
                "[key_value_store.default]\ntype = \"redis\"\nurl = \"redis://127.0.0.1:6379\"\n"
            }
        });
        out
    }
}

/// `payment.refund_requested` → `payment-refund-requested`.
fn slug(topic: &str) -> String {
    topic.replace(['.', '_'], "-")
}

/// The host a component calls `context`'s API at, over service chaining.
fn chained(context: &str) -> String {
    format!("http://{context}.spin.internal")
}

fn extend<'a>(into: &mut Vec<String>, items: impl IntoIterator<Item = &'a str>) {
    for item in items {
        if !into.iter().any(|known| known == item) {
            into.push(item.to_owned());
        }
    }
}

fn list(items: &[String]) -> String {
    let quoted: Vec<String> = items.iter().map(|item| format!("{item:?}")).collect();
    format!("[{}]", quoted.join(", "))
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEAD: &str = "spin_manifest_version = 2\n[variables]\ndb_driver = {}\ndb_url = {}\ndb_host = {}\nevent_transport = {}\nevent_signing_key = {}\nevent_handlers_origin = {}\ncors_allowed_origins = {}\nrate_limit_per_second = {}\nrate_limit_burst = {}\njwt_secret = {}\n";

    fn wiring(text: &str) -> Result<Wiring, String> {
        Wiring::parse(text)
    }

    const SHOP: &str = r#"
[[context]]
name = "orders"
about = "Orders."
routes = ["/api/v1/orders/..."]
emits = ["order.created"]
handles = ["inventory.reserved"]

[[context]]
name = "inventory"
about = "Stock."
routes = ["/api/v1/inventory/..."]
emits = ["inventory.reserved"]
handles = ["order.created"]
"#;

    #[test]
    fn a_handler_is_named_after_its_context_and_topic_and_routed_at_events() {
        let wiring = wiring(SHOP).unwrap();
        assert_eq!(
            wiring.subscriptions(),
            [
                (
                    "inventory.reserved".to_owned(),
                    vec!["orders-on-inventory-reserved".to_owned()]
                ),
                (
                    "order.created".to_owned(),
                    vec!["inventory-on-order-created".to_owned()]
                ),
            ]
        );
        let components = wiring.components().unwrap();
        let handler = components
            .iter()
            .find(|c| c.id == "orders-on-inventory-reserved")
            .unwrap();
        assert_eq!(handler.routes, ["/events/orders-on-inventory-reserved"]);
        assert_eq!(
            handler.folder(),
            Path::new("components/orders/on-inventory-reserved")
        );
        assert_eq!(handler.sqlite_databases, ["orders"]);
        assert!(!handler.key_value);
        assert!(
            handler
                .outbound
                .contains(&"http://*.spin.internal".to_owned())
        );
    }

    #[test]
    fn only_a_context_whose_events_someone_handles_may_dispatch() {
        let text = format!(
            "{SHOP}\n[[context]]\nname = \"catalog\"\nabout = \"Products.\"\nroutes = [\"/p\"]\nemits = [\"product.created\"]\n"
        );
        let components = wiring(&text).unwrap().components().unwrap();
        let catalog = components.iter().find(|c| c.id == "catalog").unwrap();
        assert_eq!(catalog.outbound, ["postgres://{{ db_host }}"]);
        assert!(
            !catalog
                .variables
                .contains(&"event_handlers_origin".to_owned())
        );
    }

    #[test]
    fn a_topic_nobody_emits_or_two_contexts_emit_is_refused() {
        let orphan = SHOP.replace("emits = [\"inventory.reserved\"]", "");
        assert_eq!(
            wiring(&orphan).unwrap_err(),
            "orders handles inventory.reserved, which no context emits"
        );
        let twice = SHOP.replace(
            "\"inventory.reserved\"]\nhandles",
            "\"inventory.reserved\", \"order.created\"]\nhandles",
        );
        assert_eq!(
            wiring(&twice).unwrap_err(),
            "order.created is emitted by both orders and inventory"
        );
    }

    #[test]
    fn a_need_that_calls_a_context_lets_its_takers_reach_that_api() {
        let email = format!(
            "[needs.email]\ncalls = [\"orders\"]\n{}",
            SHOP.replace(
                "handles = [\"order.created\"]",
                "handles = [\"order.created\"]\nhandlers_need = [\"email\"]"
            )
        );
        let components = wiring(&email).unwrap().components().unwrap();
        let handler = components
            .iter()
            .find(|c| c.id == "inventory-on-order-created")
            .unwrap();
        assert!(
            handler
                .outbound
                .contains(&"http://orders.spin.internal".to_owned()),
            "{:?}",
            handler.outbound
        );
        assert_eq!(
            wiring(&email.replace("calls = [\"orders\"]", "calls = [\"billing\"]")).unwrap_err(),
            "email calls billing, which is not a context"
        );
    }

    #[test]
    fn an_unknown_need_or_undeclared_variable_is_refused() {
        let need = SHOP.replace(
            "handles = [\"order.created\"]",
            "handles = [{ on = \"order.created\", needs = [\"stripe\"] }]",
        );
        assert_eq!(
            wiring(&need).unwrap_err(),
            "inventory needs stripe, which is not declared"
        );
        let variable = SHOP.replace(
            "about = \"Stock.\"",
            "about = \"Stock.\"\nvariables = [\"carrier\"]",
        );
        let manifest = format!("{HEAD}{GENERATED_MARKER}\n");
        assert_eq!(
            wiring(&variable)
                .unwrap()
                .spin_manifest(&manifest)
                .unwrap_err(),
            "inventory reads the variable carrier, which spin.toml's [variables] does not declare"
        );
    }

    #[test]
    fn the_manifest_keeps_its_head_and_replaces_what_follows_the_marker() {
        let manifest = format!("{HEAD}{GENERATED_MARKER}\nstale = 1\n");
        let written = wiring(SHOP).unwrap().spin_manifest(&manifest).unwrap();
        assert!(written.starts_with(&format!("{HEAD}{GENERATED_MARKER}\n")));
        assert!(!written.contains("stale"));
        let parsed: toml::Table = written.parse().unwrap();
        assert_eq!(parsed["component"].as_table().unwrap().len(), 4);
        assert_eq!(
            wiring(SHOP).unwrap().spin_manifest(HEAD).unwrap_err(),
            format!("spin.toml has no line {GENERATED_MARKER:?}")
        );
    }
}
