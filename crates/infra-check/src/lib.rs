//! Do the deployment files still agree with `spin.toml`?
//!
//! `spin.toml` is the one source of truth of the app's variables, key-value stores and
//! SQLite database labels; the SpinKube manifests under `infra/kubernetes/` and the
//! laptop services of `infra/compose.yaml` restate parts of it, and drift apart from it
//! silently: a variable made `required` that the SpinApp does not supply only shows when
//! a pod crash-loops in a cluster. [`check`] reads every file at once and says everything
//! that disagrees, each [`Drift`] naming its file and the item:
//!
//! - the SpinApp supplies every variable spin.toml requires, declares no variable spin.toml
//!   does not, and takes every `secret = true` variable (and [`CREDENTIAL_VARIABLES`]) from
//!   a Secret (`valueFrom.secretKeyRef`), never inline; no example secret value appears in
//!   `spinapp.yaml`; `db_driver` is `postgres`, `payment_provider` is set explicitly, and
//!   `db_host` is the host:port of the example `db_url`;
//! - the production runtime config (the example Secret named by
//!   `runtimeConfig.loadFromSecret`) declares every key-value store and SQLite database
//!   label a component lists, with no key-value store local to a pod;
//! - every Secret name and key the SpinApp or the CronJob references is defined in
//!   `secrets.example.yaml`, whose values are all marked as placeholders;
//! - the KEDA ScaledObject targets the SpinApp's Deployment (named after the SpinApp),
//!   which leaves its replicas to the autoscaler and requests what the triggers measure;
//! - the sweep CronJob posts both sweeps, served by spin.toml's routes, to the SpinApp's
//!   Service with the `x-sweep-key` from the Secret key the SpinApp's `sweep_key` uses;
//! - the health checks call `/health`, a route of spin.toml;
//! - the event bridge (`kafka/bridge.yaml`) reaches the SpinApp's Service with the
//!   signing key the SpinApp's `event_signing_key` uses, its ScaledObject targets it and
//!   watches groups that read those topics (`kit::wiring::SUBSCRIPTIONS`), and the
//!   bridge's kustomization applies both;
//! - compose's PostgreSQL has the user, password, database and port of spin.toml's default
//!   `db_url`, and room for one app instance's connections; Redis the port of
//!   `infra/runtime-config/redis.toml`.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::path::{Path, PathBuf};

use base64::Engine as _;
use serde::Deserialize as _;
use serde_norway::Value;

/// The application manifest.
pub const SPIN_TOML: &str = "spin.toml";
/// The SpinApp.
pub const SPINAPP: &str = "infra/kubernetes/spinapp.yaml";
/// The example Secrets, with the production runtime config.
pub const SECRETS: &str = "infra/kubernetes/secrets.example.yaml";
/// The KEDA ScaledObject.
pub const SCALED_OBJECT: &str = "infra/kubernetes/keda-scaledobject.yaml";
/// The CronJob that runs the sweeps.
pub const CRONJOB: &str = "infra/kubernetes/sweep-cronjob.yaml";
/// The kustomization that applies the manifests (not the example Secrets).
pub const KUSTOMIZATION: &str = "infra/kubernetes/kustomization.yaml";
/// The event bridge's Deployment and Service, for `event_transport = kafka`.
pub const BRIDGE: &str = "infra/kubernetes/kafka/bridge.yaml";
/// The KEDA ScaledObject of the bridge, on its groups' lag.
pub const BRIDGE_SCALED_OBJECT: &str = "infra/kubernetes/kafka/keda-bridge.yaml";
/// The kustomization that applies the bridge.
pub const BRIDGE_KUSTOMIZATION: &str = "infra/kubernetes/kafka/kustomization.yaml";
/// The laptop's backing services.
pub const COMPOSE: &str = "infra/compose.yaml";
/// The OpenTelemetry Collector beside the app.
pub const COLLECTOR: &str = "infra/kubernetes/observability/otel-collector.yaml";
/// The Grafana dashboard of the app's metrics.
pub const DASHBOARD: &str = "infra/grafana/fusioncommerce.json";
/// Where the metrics the dashboard charts are defined: the host's, the outbox's and the
/// event bridge's.
pub const METRIC_SOURCES: [&str; 3] = [
    "host/src/metrics.rs",
    "components/ops/api/src/routes.rs",
    "bridge/src/status.rs",
];
/// The runtime config of a laptop run with Redis, whose port compose must publish.
pub const REDIS_RUNTIME_CONFIG: &str = "infra/runtime-config/redis.toml";

/// Every file [`check`] reads, relative to the workspace root.
pub const FILES: [&str; 16] = [
    COLLECTOR,
    DASHBOARD,
    METRIC_SOURCES[0],
    METRIC_SOURCES[1],
    METRIC_SOURCES[2],
    SPIN_TOML,
    SPINAPP,
    SECRETS,
    SCALED_OBJECT,
    CRONJOB,
    KUSTOMIZATION,
    BRIDGE,
    BRIDGE_SCALED_OBJECT,
    BRIDGE_KUSTOMIZATION,
    COMPOSE,
    REDIS_RUNTIME_CONFIG,
];

/// The routes the sweep CronJob posts to.
pub const SWEEP_PATHS: [&str; 2] = ["/api/v1/admin/outbox/sweep", "/api/v1/campaigns/sweep"];
/// The header that carries the sweep key.
pub const SWEEP_KEY_HEADER: &str = "x-sweep-key";
/// The spin.toml variable the sweep key is checked against.
pub const SWEEP_KEY_VARIABLE: &str = "sweep_key";
/// The route of the readiness and liveness checks.
pub const HEALTH_PATH: &str = "/health";
/// The key of the runtime-config Secret the SpinKube operator mounts.
pub const RUNTIME_CONFIG_KEY: &str = "runtime-config.toml";
/// The SpinApp API the manifests are written for.
pub const SPINAPP_API_VERSION: &str = "core.spinkube.dev/v1alpha1";
/// The executor of SpinKube's containerd shim.
pub const SPIN_EXECUTOR: &str = "containerd-shim-spin";
/// Connections Spin's PostgreSQL pool keeps at most per connection string; each
/// context has its own string (its schema rides in it).
pub const PG_POOL_SIZE: u64 = 64;
/// What marks an example Secret value as a placeholder.
pub const PLACEHOLDER_MARK: &str = "REPLACE_ME";
/// Variables spin.toml does not flag `secret` whose values still hold a credential (the
/// database password), so they must come from a Secret too.
pub const CREDENTIAL_VARIABLES: [&str; 1] = ["db_url"];
/// The values `payment_provider` takes.
pub const PAYMENT_PROVIDERS: [&str; 2] = ["test", "stripe"];

/// One disagreement: the file it is in, the item, and what is wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Drift {
    pub file: &'static str,
    pub item: String,
    pub problem: String,
}

impl fmt::Display for Drift {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}: {}", self.file, self.item, self.problem)
    }
}

/// The text of every file of [`FILES`].
#[derive(Debug, Clone)]
pub struct Sources {
    files: BTreeMap<&'static str, String>,
}

impl Sources {
    /// Reads [`FILES`] under `root`.
    pub fn read(root: &Path) -> Result<Sources, String> {
        let mut files = BTreeMap::new();
        for file in FILES {
            let path = root.join(file);
            let text = std::fs::read_to_string(&path)
                .map_err(|error| format!("reading {}: {error}", path.display()))?;
            files.insert(file, text);
        }
        Ok(Sources { files })
    }

    /// The workspace root of this crate (`crates/infra-check/../..`).
    pub fn workspace_root() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
    }

    /// The text of `file`, one of [`FILES`].
    pub fn text(&self, file: &'static str) -> &str {
        self.files.get(file).map(String::as_str).unwrap_or_default()
    }

    /// Replaces the text of `file` (to check a drifted copy).
    pub fn set(&mut self, file: &'static str, text: String) {
        self.files.insert(file, text);
    }
}

/// Everything in the files that disagrees; empty when they agree.
pub fn check(sources: &Sources) -> Vec<Drift> {
    let mut report = Report::default();
    let manifest = match Manifest::parse(sources.text(SPIN_TOML)) {
        Ok(manifest) => manifest,
        Err(error) => {
            report.drift(SPIN_TOML, "the file", format!("does not parse: {error}"));
            return report.0;
        }
    };
    let spinapp_docs = report.yaml(SPINAPP, sources.text(SPINAPP));
    let secret_docs = report.yaml(SECRETS, sources.text(SECRETS));
    let scaled_docs = report.yaml(SCALED_OBJECT, sources.text(SCALED_OBJECT));
    let cronjob_docs = report.yaml(CRONJOB, sources.text(CRONJOB));
    let kustomization = report.yaml(KUSTOMIZATION, sources.text(KUSTOMIZATION));
    let compose = report.yaml(COMPOSE, sources.text(COMPOSE));
    let bridge_docs = report.yaml(BRIDGE, sources.text(BRIDGE));
    let bridge_scaled_docs = report.yaml(BRIDGE_SCALED_OBJECT, sources.text(BRIDGE_SCALED_OBJECT));
    let bridge_kustomization =
        report.yaml(BRIDGE_KUSTOMIZATION, sources.text(BRIDGE_KUSTOMIZATION));

    let secrets = secret_docs
        .as_deref()
        .map(|docs| read_secrets(docs, &mut report));
    let spinapp = spinapp_docs
        .as_deref()
        .and_then(|docs| single(SPINAPP, docs, "SpinApp", &mut report));
    let cronjob = cronjob_docs
        .as_deref()
        .and_then(|docs| single(CRONJOB, docs, "CronJob", &mut report));
    let scaled = scaled_docs
        .as_deref()
        .and_then(|docs| single(SCALED_OBJECT, docs, "ScaledObject", &mut report));

    if let Some(secrets) = &secrets {
        check_placeholders(secrets, &mut report);
    }
    if let Some(app) = spinapp {
        check_spinapp_shape(app, &manifest, &mut report);
        let bindings = read_bindings(app, &mut report);
        check_variables(&bindings, &manifest, &mut report);
        if let Some(secrets) = &secrets {
            check_secret_refs(SPINAPP, app, secrets, &mut report);
            check_no_inline_secret_values(sources.text(SPINAPP), secrets, &mut report);
            check_db_host(&bindings, &manifest, secrets, &mut report);
            check_runtime_config(app, &manifest, secrets, &mut report);
        }
        if let Some(scaled) = scaled {
            check_scaled_object(scaled, app, &mut report);
        }
        if let Some(cronjob) = cronjob {
            check_cronjob(cronjob, app, &bindings, &manifest, &mut report);
        }
        if let Some(bridge) = bridge_docs
            .as_deref()
            .and_then(|docs| docs.iter().find(|doc| kind(doc) == "Deployment"))
        {
            check_bridge(bridge, app, &bindings, &mut report);
            if let Some(secrets) = &secrets {
                check_secret_refs(BRIDGE, bridge, secrets, &mut report);
            }
        } else {
            report.drift(BRIDGE, "Deployment", "the file has none");
        }
    }
    if let Some(scaled) = bridge_scaled_docs
        .as_deref()
        .and_then(|docs| single(BRIDGE_SCALED_OBJECT, docs, "ScaledObject", &mut report))
    {
        check_bridge_scaled_object(scaled, &mut report);
    }
    if let Some(docs) = &bridge_kustomization {
        check_resources(
            BRIDGE_KUSTOMIZATION,
            docs,
            &[BRIDGE, BRIDGE_SCALED_OBJECT],
            &mut report,
        );
    }
    if let (Some(cronjob), Some(secrets)) = (cronjob, &secrets) {
        check_secret_refs(CRONJOB, cronjob, secrets, &mut report);
    }
    if let Some(docs) = &kustomization {
        check_kustomization(docs, &mut report);
    }
    let namespaced = [
        (SPINAPP, &spinapp_docs),
        (SECRETS, &secret_docs),
        (SCALED_OBJECT, &scaled_docs),
        (CRONJOB, &cronjob_docs),
        (BRIDGE, &bridge_docs),
        (BRIDGE_SCALED_OBJECT, &bridge_scaled_docs),
    ];
    check_namespaces(&namespaced, &mut report);
    let collector = report.yaml(COLLECTOR, sources.text(COLLECTOR));
    if let (Some(docs), Some(secrets)) = (&collector, &secrets) {
        check_collector_secrets(docs, secrets, &mut report);
    }
    check_dashboard(sources, &mut report);
    if let Some(docs) = &compose {
        check_compose(
            docs,
            &manifest,
            sources.text(REDIS_RUNTIME_CONFIG),
            &mut report,
        );
    }
    report.0
}

/// The Secret keys the collector mounts (the metrics key) exist in the example Secrets.
fn check_collector_secrets(docs: &[Value], secrets: &Secrets, report: &mut Report) {
    let volumes = docs
        .iter()
        .filter(|doc| kind(doc) == "Deployment")
        .filter_map(|doc| at(doc, &["spec", "template", "spec", "volumes"]))
        .filter_map(Value::as_sequence)
        .flatten();
    for secret in volumes.filter_map(|volume| volume.get("secret")) {
        let secret_name = secret
            .get("secretName")
            .and_then(Value::as_str)
            .unwrap_or_default();
        let items = secret.get("items").and_then(Value::as_sequence);
        for key in items
            .into_iter()
            .flatten()
            .filter_map(|item| item.get("key"))
        {
            let key = key.as_str().unwrap_or_default();
            if !secrets
                .get(secret_name)
                .is_some_and(|keys| keys.contains_key(key))
            {
                report.drift(
                    COLLECTOR,
                    format!("Secret `{secret_name}` key `{key}`"),
                    format!("not in {SECRETS}"),
                );
            }
        }
    }
}

/// Every `fusion_*` metric the dashboard queries is one the code defines (a histogram's
/// `_bucket`, `_sum` and `_count` series by its name).
fn check_dashboard(sources: &Sources, report: &mut Report) {
    let defined: String = METRIC_SOURCES
        .iter()
        .map(|file| sources.text(file))
        .collect();
    let dashboard = sources.text(DASHBOARD);
    if serde_json::from_str::<serde_json::Value>(dashboard).is_err() {
        report.drift(DASHBOARD, "the file", "is not JSON");
        return;
    }
    let metrics = dashboard
        .split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .filter(|word| word.starts_with("fusion_"));
    for metric in metrics {
        let family = ["_bucket", "_sum", "_count"]
            .iter()
            .find_map(|suffix| metric.strip_suffix(suffix))
            .unwrap_or(metric);
        if !defined.contains(&format!("\"{family}")) && !defined.contains(&format!(" {family}")) {
            report.drift(DASHBOARD, metric.to_owned(), "no such metric in the code");
        }
    }
}

#[derive(Default)]
struct Report(Vec<Drift>);

impl Report {
    fn drift(&mut self, file: &'static str, item: impl Into<String>, problem: impl Into<String>) {
        self.0.push(Drift {
            file,
            item: item.into(),
            problem: problem.into(),
        });
    }

    /// The documents of a YAML stream (empty ones skipped), or `None` (reported).
    fn yaml(&mut self, file: &'static str, text: &str) -> Option<Vec<Value>> {
        let mut docs = Vec::new();
        for document in serde_norway::Deserializer::from_str(text) {
            match Value::deserialize(document) {
                Ok(Value::Null) => {}
                Ok(value) => docs.push(value),
                Err(error) => {
                    self.drift(file, "the file", format!("is not valid YAML: {error}"));
                    return None;
                }
            }
        }
        Some(docs)
    }
}

// --- spin.toml ---------------------------------------------------------------------------

/// What the deployment files must agree with, read from spin.toml.
#[derive(Debug, Clone, Default)]
pub struct Manifest {
    pub variables: BTreeMap<String, Variable>,
    pub components: BTreeMap<String, Component>,
    /// The public HTTP routes (private ones have no path).
    pub http_routes: Vec<String>,
}

/// A variable of spin.toml's `[variables]`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Variable {
    pub default: Option<String>,
    pub required: bool,
    pub secret: bool,
}

impl Variable {
    /// Spin refuses to start without a value for it.
    pub fn must_be_supplied(&self) -> bool {
        self.required && self.default.is_none()
    }
}

/// The stores a component of spin.toml lists.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Component {
    pub sqlite_databases: Vec<String>,
    pub key_value_stores: Vec<String>,
}

impl Manifest {
    pub fn parse(text: &str) -> Result<Manifest, String> {
        let table: toml::Table = text.parse().map_err(|error| format!("{error}"))?;
        let mut manifest = Manifest::default();
        if let Some(variables) = table.get("variables").and_then(toml::Value::as_table) {
            for (name, spec) in variables {
                let spec = spec
                    .as_table()
                    .ok_or_else(|| format!("variable {name} is not a table"))?;
                manifest.variables.insert(
                    name.clone(),
                    Variable {
                        default: spec
                            .get("default")
                            .and_then(toml::Value::as_str)
                            .map(str::to_owned),
                        required: flag(spec, "required"),
                        secret: flag(spec, "secret"),
                    },
                );
            }
        }
        if let Some(components) = table.get("component").and_then(toml::Value::as_table) {
            for (name, spec) in components {
                manifest.components.insert(
                    name.clone(),
                    Component {
                        sqlite_databases: strings(spec.get("sqlite_databases")),
                        key_value_stores: strings(spec.get("key_value_stores")),
                    },
                );
            }
        }
        let triggers = table
            .get("trigger")
            .and_then(|trigger| trigger.get("http"))
            .and_then(toml::Value::as_array);
        for trigger in triggers.into_iter().flatten() {
            if let Some(route) = trigger.get("route").and_then(toml::Value::as_str) {
                manifest.http_routes.push(route.to_owned());
            }
        }
        Ok(manifest)
    }

    /// Every SQLite database label, with the components that list it.
    pub fn sqlite_labels(&self) -> BTreeMap<&str, Vec<&str>> {
        self.labels(|component| &component.sqlite_databases)
    }

    /// Every key-value store label, with the components that list it.
    pub fn key_value_labels(&self) -> BTreeMap<&str, Vec<&str>> {
        self.labels(|component| &component.key_value_stores)
    }

    fn labels(&self, of: impl Fn(&Component) -> &Vec<String>) -> BTreeMap<&str, Vec<&str>> {
        let mut labels: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
        for (name, component) in &self.components {
            for label in of(component) {
                labels.entry(label).or_default().push(name);
            }
        }
        labels
    }

    /// Whether a public HTTP route serves `path`, as Spin matches routes: exactly, or
    /// under a `/...` wildcard.
    pub fn serves(&self, path: &str) -> bool {
        self.http_routes
            .iter()
            .any(|route| match route.strip_suffix("/...") {
                Some(prefix) => {
                    path == prefix
                        || path
                            .strip_prefix(prefix)
                            .is_some_and(|rest| rest.starts_with('/'))
                }
                None => route == path,
            })
    }

    /// The default `db_url`, parsed.
    pub fn default_db_url(&self) -> Option<PgUrl> {
        let url = self.variables.get("db_url")?.default.as_deref()?;
        PgUrl::parse(url)
    }
}

fn flag(table: &toml::Table, key: &str) -> bool {
    table
        .get(key)
        .and_then(toml::Value::as_bool)
        .unwrap_or(false)
}

fn strings(value: Option<&toml::Value>) -> Vec<String> {
    value
        .and_then(toml::Value::as_array)
        .map(|items| {
            items
                .iter()
                .filter_map(toml::Value::as_str)
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default()
}

/// The parts of a `postgres://user:password@host:port/database?...` URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PgUrl {
    pub user: String,
    pub password: String,
    pub host: String,
    pub port: u16,
    pub database: String,
}

impl PgUrl {
    pub fn parse(url: &str) -> Option<PgUrl> {
        let rest = url
            .strip_prefix("postgres://")
            .or_else(|| url.strip_prefix("postgresql://"))?;
        let (userinfo, rest) = rest.rsplit_once('@')?;
        let (user, password) = userinfo.split_once(':').unwrap_or((userinfo, ""));
        let (authority, path) = rest.split_once('/').unwrap_or((rest, ""));
        let database = path.split('?').next().unwrap_or_default();
        let (host, port) = match authority.rsplit_once(':') {
            Some((host, port)) => (host, port.parse().ok()?),
            None => (authority, 5432),
        };
        Some(PgUrl {
            user: user.to_owned(),
            password: password.to_owned(),
            host: host.to_owned(),
            port,
            database: database.to_owned(),
        })
    }

    /// `host:port`, as `db_host` names it.
    pub fn address(&self) -> String {
        format!("{}:{}", self.host, self.port)
    }
}

// --- YAML helpers ------------------------------------------------------------------------

fn at<'a>(value: &'a Value, path: &[&str]) -> Option<&'a Value> {
    path.iter().try_fold(value, |value, key| value.get(*key))
}

fn str_at<'a>(value: &'a Value, path: &[&str]) -> Option<&'a str> {
    at(value, path).and_then(Value::as_str)
}

fn kind(doc: &Value) -> &str {
    str_at(doc, &["kind"]).unwrap_or("(no kind)")
}

fn name(doc: &Value) -> &str {
    str_at(doc, &["metadata", "name"]).unwrap_or_default()
}

/// The one document of `file`, which must be of `expected` kind.
fn single<'a>(
    file: &'static str,
    docs: &'a [Value],
    expected: &str,
    report: &mut Report,
) -> Option<&'a Value> {
    for doc in docs.iter().filter(|doc| kind(doc) != expected) {
        report.drift(
            file,
            format!("{} `{}`", kind(doc), name(doc)),
            format!("only the {expected} belongs in this file"),
        );
    }
    let mut matching = docs.iter().filter(|doc| kind(doc) == expected);
    let first = matching.next();
    if first.is_none() {
        report.drift(file, expected, "the file has none");
    } else if matching.next().is_some() {
        report.drift(file, expected, "the file has more than one");
    }
    if let Some(doc) = first
        && name(doc).is_empty()
    {
        report.drift(file, "metadata.name", format!("the {expected} has no name"));
    }
    first
}

/// A `secretKeyRef` (or `loadFromSecret`, whose key is [`RUNTIME_CONFIG_KEY`]).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct SecretRef {
    pub name: String,
    pub key: String,
}

impl fmt::Display for SecretRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Secret `{}` key `{}`", self.name, self.key)
    }
}

fn secret_ref(value: &Value) -> Option<SecretRef> {
    let reference = value.get("secretKeyRef")?;
    Some(SecretRef {
        name: str_at(reference, &["name"]).unwrap_or_default().to_owned(),
        key: str_at(reference, &["key"]).unwrap_or_default().to_owned(),
    })
}

/// Every `secretKeyRef` anywhere in `value`.
fn collect_secret_refs(value: &Value, out: &mut Vec<SecretRef>) {
    match value {
        Value::Mapping(mapping) => {
            if let Some(reference) = secret_ref(value) {
                out.push(reference);
            }
            for (_, child) in mapping {
                collect_secret_refs(child, out);
            }
        }
        Value::Sequence(items) => {
            for item in items {
                collect_secret_refs(item, out);
            }
        }
        Value::Tagged(tagged) => collect_secret_refs(&tagged.value, out),
        _ => {}
    }
}

// --- Secrets -----------------------------------------------------------------------------

/// The example Secrets: name → key → value.
type Secrets = BTreeMap<String, BTreeMap<String, String>>;

fn read_secrets(docs: &[Value], report: &mut Report) -> Secrets {
    let mut secrets = Secrets::new();
    for doc in docs {
        if kind(doc) != "Secret" {
            report.drift(
                SECRETS,
                format!("{} `{}`", kind(doc), name(doc)),
                "only Secrets belong in this file",
            );
            continue;
        }
        let secret_name = name(doc).to_owned();
        let entries = secrets.entry(secret_name.clone()).or_default();
        let string_data = doc.get("stringData").and_then(Value::as_mapping);
        for (key, value) in string_data.into_iter().flatten() {
            let key = key.as_str().unwrap_or_default().to_owned();
            match value.as_str() {
                Some(value) => {
                    entries.insert(key, value.to_owned());
                }
                None => report.drift(
                    SECRETS,
                    format!("Secret `{secret_name}` key `{key}`"),
                    "stringData values must be strings (quote them)",
                ),
            }
        }
        let data = doc.get("data").and_then(Value::as_mapping);
        for (key, value) in data.into_iter().flatten() {
            let key = key.as_str().unwrap_or_default().to_owned();
            let decoded = value
                .as_str()
                .and_then(|text| base64::engine::general_purpose::STANDARD.decode(text).ok())
                .and_then(|bytes| String::from_utf8(bytes).ok());
            match decoded {
                Some(value) => {
                    entries.insert(key, value);
                }
                None => report.drift(
                    SECRETS,
                    format!("Secret `{secret_name}` key `{key}`"),
                    "data values must be base64 of UTF-8 text",
                ),
            }
        }
    }
    secrets
}

fn lookup<'a>(secrets: &'a Secrets, reference: &SecretRef) -> Option<&'a str> {
    secrets
        .get(&reference.name)?
        .get(&reference.key)
        .map(String::as_str)
}

fn check_placeholders(secrets: &Secrets, report: &mut Report) {
    for (secret, entries) in secrets {
        for (key, value) in entries {
            if !value.is_empty() && !value.contains(PLACEHOLDER_MARK) {
                report.drift(
                    SECRETS,
                    format!("Secret `{secret}` key `{key}`"),
                    format!(
                        "its value is not marked as an example ({PLACEHOLDER_MARK}); never commit a real secret"
                    ),
                );
            }
        }
    }
}

fn check_secret_refs(file: &'static str, doc: &Value, secrets: &Secrets, report: &mut Report) {
    let mut references = Vec::new();
    collect_secret_refs(doc, &mut references);
    if let Some(secret) = str_at(doc, &["spec", "runtimeConfig", "loadFromSecret"]) {
        references.push(SecretRef {
            name: secret.to_owned(),
            key: RUNTIME_CONFIG_KEY.to_owned(),
        });
    }
    references.sort();
    references.dedup();
    for reference in references {
        if lookup(secrets, &reference).is_none() {
            report.drift(
                file,
                reference.to_string(),
                format!("referenced here, but {SECRETS} does not define it"),
            );
        }
    }
}

/// No example secret value may be written into the SpinApp.
fn check_no_inline_secret_values(spinapp_text: &str, secrets: &Secrets, report: &mut Report) {
    for (secret, entries) in secrets {
        for (key, value) in entries {
            if key != RUNTIME_CONFIG_KEY && value.len() >= 8 && spinapp_text.contains(value) {
                report.drift(
                    SPINAPP,
                    format!("Secret `{secret}` key `{key}`"),
                    "its example value is written in the SpinApp; reference it with valueFrom.secretKeyRef",
                );
            }
        }
    }
}

// --- the SpinApp -------------------------------------------------------------------------

/// How the SpinApp binds a variable.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Binding {
    /// `value:` (absent = empty).
    Inline(String),
    /// `valueFrom.secretKeyRef`.
    Secret(SecretRef),
    /// Another `valueFrom` (a ConfigMap, a field).
    Other,
}

fn read_bindings(app: &Value, report: &mut Report) -> BTreeMap<String, Binding> {
    let mut bindings = BTreeMap::new();
    let variables = at(app, &["spec", "variables"]).and_then(Value::as_sequence);
    for variable in variables.into_iter().flatten() {
        let Some(variable_name) = str_at(variable, &["name"]) else {
            report.drift(SPINAPP, "spec.variables", "an entry has no name");
            continue;
        };
        let item = format!("variable `{variable_name}`");
        let value = variable.get("value");
        let value_from = variable.get("valueFrom");
        let binding = match (value, value_from) {
            (Some(_), Some(_)) => {
                report.drift(SPINAPP, &item, "has both value and valueFrom");
                Binding::Other
            }
            (None, Some(from)) => secret_ref(from).map_or(Binding::Other, Binding::Secret),
            (Some(value), None) => match value.as_str() {
                Some(text) => Binding::Inline(text.to_owned()),
                None => {
                    report.drift(SPINAPP, &item, "its value must be a string (quote it)");
                    Binding::Other
                }
            },
            (None, None) => Binding::Inline(String::new()),
        };
        if bindings.insert(variable_name.to_owned(), binding).is_some() {
            report.drift(SPINAPP, &item, "is bound more than once");
        }
    }
    bindings
}

fn check_spinapp_shape(app: &Value, manifest: &Manifest, report: &mut Report) {
    if str_at(app, &["apiVersion"]) != Some(SPINAPP_API_VERSION) {
        report.drift(
            SPINAPP,
            "apiVersion",
            format!("must be {SPINAPP_API_VERSION}"),
        );
    }
    if str_at(app, &["spec", "executor"]) != Some(SPIN_EXECUTOR) {
        report.drift(SPINAPP, "spec.executor", format!("must be {SPIN_EXECUTOR}"));
    }
    let image = str_at(app, &["spec", "image"]).unwrap_or_default();
    if image
        .rsplit('/')
        .next()
        .is_none_or(|last| !last.contains(':'))
    {
        report.drift(
            SPINAPP,
            "spec.image",
            "must name the pushed image with its tag (registry/owner/fusion-commerce:VERSION)",
        );
    }
    for resources in ["requests", "limits"] {
        let memory = str_at(app, &["spec", "resources", resources, "memory"]);
        let cpu = at(app, &["spec", "resources", resources, "cpu"]);
        if memory.is_none() || cpu.is_none() {
            report.drift(
                SPINAPP,
                format!("spec.resources.{resources}"),
                "must set cpu and memory",
            );
        }
    }
    for check in ["readiness", "liveness"] {
        let path = str_at(app, &["spec", "checks", check, "httpGet", "path"]);
        if path != Some(HEALTH_PATH) {
            report.drift(
                SPINAPP,
                format!("spec.checks.{check}"),
                format!("must be an httpGet of {HEALTH_PATH}"),
            );
        }
    }
    if !manifest.serves(HEALTH_PATH) {
        report.drift(
            SPIN_TOML,
            format!("route {HEALTH_PATH}"),
            "the SpinApp's health checks call it, but no HTTP trigger serves it",
        );
    }
}

fn check_variables(bindings: &BTreeMap<String, Binding>, manifest: &Manifest, report: &mut Report) {
    for variable in bindings.keys() {
        if !manifest.variables.contains_key(variable) {
            report.drift(
                SPINAPP,
                format!("variable `{variable}`"),
                "spin.toml's [variables] does not declare it",
            );
        }
    }
    for (variable, spec) in &manifest.variables {
        let item = format!("variable `{variable}`");
        let binding = bindings.get(variable);
        if spec.must_be_supplied() && binding.is_none() {
            report.drift(
                SPINAPP,
                &item,
                "spin.toml requires it (required = true, no default), but the SpinApp does not supply it",
            );
        }
        let credential = spec.secret || CREDENTIAL_VARIABLES.contains(&variable.as_str());
        if credential && matches!(binding, Some(Binding::Inline(_) | Binding::Other)) {
            report.drift(
                SPINAPP,
                &item,
                "holds a secret; it must come from a Secret (valueFrom.secretKeyRef), never inline",
            );
        }
    }
    match bindings.get("db_driver") {
        Some(Binding::Inline(driver)) if driver == "postgres" => {}
        _ => report.drift(
            SPINAPP,
            "variable `db_driver`",
            "must be `postgres`: production keeps no data in pod-local SQLite",
        ),
    }
    match bindings.get("payment_provider") {
        Some(Binding::Inline(provider)) if PAYMENT_PROVIDERS.contains(&provider.as_str()) => {
            if provider == "stripe" && !bindings.contains_key("stripe_secret_key") {
                report.drift(
                    SPINAPP,
                    "variable `stripe_secret_key`",
                    "payment_provider is stripe, which charges with this key",
                );
            }
        }
        _ => report.drift(
            SPINAPP,
            "variable `payment_provider`",
            format!("must be set explicitly, to one of {PAYMENT_PROVIDERS:?}"),
        ),
    }
}

/// `db_host` (which allowed_outbound_hosts lets through) is the address of `db_url`.
fn check_db_host(
    bindings: &BTreeMap<String, Binding>,
    manifest: &Manifest,
    secrets: &Secrets,
    report: &mut Report,
) {
    let Some(Binding::Secret(reference)) = bindings.get("db_url") else {
        return;
    };
    let Some(url) = lookup(secrets, reference) else {
        return;
    };
    let Some(url) = PgUrl::parse(url) else {
        report.drift(
            SECRETS,
            reference.to_string(),
            "is not a postgres://user:password@host:port/database URL",
        );
        return;
    };
    let db_host = match bindings.get("db_host") {
        Some(Binding::Inline(host)) => host.clone(),
        _ => manifest
            .variables
            .get("db_host")
            .and_then(|variable| variable.default.clone())
            .unwrap_or_default(),
    };
    if db_host != url.address() {
        report.drift(
            SPINAPP,
            "variable `db_host`",
            format!(
                "is `{db_host}`, but db_url ({reference}) connects to `{}`: components may only reach db_host",
                url.address()
            ),
        );
    }
}

fn check_runtime_config(app: &Value, manifest: &Manifest, secrets: &Secrets, report: &mut Report) {
    let Some(secret) = str_at(app, &["spec", "runtimeConfig", "loadFromSecret"]) else {
        report.drift(
            SPINAPP,
            "spec.runtimeConfig.loadFromSecret",
            format!("must name the Secret holding the production {RUNTIME_CONFIG_KEY}"),
        );
        return;
    };
    let reference = SecretRef {
        name: secret.to_owned(),
        key: RUNTIME_CONFIG_KEY.to_owned(),
    };
    let Some(text) = lookup(secrets, &reference) else {
        return; // reported by check_secret_refs
    };
    let table: toml::Table = match text.parse() {
        Ok(table) => table,
        Err(error) => {
            report.drift(
                SECRETS,
                reference.to_string(),
                format!("is not TOML: {error}"),
            );
            return;
        }
    };
    let declared = |section: &str| -> BTreeMap<String, String> {
        table
            .get(section)
            .and_then(toml::Value::as_table)
            .map(|labels| {
                labels
                    .iter()
                    .map(|(label, spec)| {
                        let kind = spec.get("type").and_then(toml::Value::as_str);
                        (label.clone(), kind.unwrap_or_default().to_owned())
                    })
                    .collect()
            })
            .unwrap_or_default()
    };
    let key_value = declared("key_value_store");
    let sqlite = declared("sqlite_database");
    for (section, labels) in [
        ("key_value_store", &key_value),
        ("sqlite_database", &sqlite),
    ] {
        for (label, kind) in labels {
            if kind.is_empty() {
                report.drift(
                    SECRETS,
                    format!("[{section}.{label}] in {reference}"),
                    "has no type",
                );
            }
        }
    }
    for (label, components) in manifest.key_value_labels() {
        let item = format!("key-value store `{label}`");
        match key_value.get(label).map(String::as_str) {
            None => report.drift(
                SECRETS,
                item,
                format!(
                    "used by {} in spin.toml, but the production runtime config ({reference}) does not declare it",
                    components.join(", ")
                ),
            ),
            Some("spin") => report.drift(
                SECRETS,
                item,
                "is a local file in the production runtime config: each pod would keep its own; use a shared store (redis)",
            ),
            Some(_) => {}
        }
    }
    for (label, components) in manifest.sqlite_labels() {
        if !sqlite.contains_key(label) {
            report.drift(
                SECRETS,
                format!("SQLite database `{label}`"),
                format!(
                    "used by {} in spin.toml, but the production runtime config ({reference}) does not declare it, and Spin refuses such a component",
                    components.join(", ")
                ),
            );
        }
    }
}

// --- KEDA ----------------------------------------------------------------------------------

fn check_scaled_object(scaled: &Value, app: &Value, report: &mut Report) {
    let app_name = name(app);
    let target = str_at(scaled, &["spec", "scaleTargetRef", "name"]).unwrap_or_default();
    if target != app_name {
        report.drift(
            SCALED_OBJECT,
            "spec.scaleTargetRef.name",
            format!(
                "targets `{target}`, but the SpinApp's Deployment is named after the SpinApp: `{app_name}`"
            ),
        );
    }
    if let Some(target_kind) = str_at(scaled, &["spec", "scaleTargetRef", "kind"])
        && target_kind != "Deployment"
    {
        report.drift(
            SCALED_OBJECT,
            "spec.scaleTargetRef.kind",
            format!("is `{target_kind}`; the operator makes a Deployment"),
        );
    }
    if at(app, &["spec", "enableAutoscaling"]).and_then(Value::as_bool) != Some(true) {
        report.drift(
            SPINAPP,
            "spec.enableAutoscaling",
            "must be true while KEDA scales the Deployment, or the operator resets its replicas",
        );
    }
    if at(app, &["spec", "replicas"]).is_some() {
        report.drift(
            SPINAPP,
            "spec.replicas",
            "must not be set while autoscaling is enabled",
        );
    }
    let triggers = at(scaled, &["spec", "triggers"]).and_then(Value::as_sequence);
    if triggers.is_none_or(|triggers| triggers.is_empty()) {
        report.drift(SCALED_OBJECT, "spec.triggers", "has none");
    }
    for trigger in triggers.into_iter().flatten() {
        let resource = str_at(trigger, &["type"]).unwrap_or_default();
        if matches!(resource, "cpu" | "memory")
            && at(app, &["spec", "resources", "requests", resource]).is_none()
        {
            report.drift(
                SPINAPP,
                format!("spec.resources.requests.{resource}"),
                format!("the ScaledObject's {resource} trigger measures utilization of it"),
            );
        }
    }
}

// --- the sweep CronJob ---------------------------------------------------------------------

fn check_cronjob(
    cronjob: &Value,
    app: &Value,
    bindings: &BTreeMap<String, Binding>,
    manifest: &Manifest,
    report: &mut Report,
) {
    if str_at(cronjob, &["spec", "schedule"]) != Some("* * * * *") {
        report.drift(
            CRONJOB,
            "spec.schedule",
            "must run every minute (* * * * *)",
        );
    }
    let containers = at(
        cronjob,
        &[
            "spec",
            "jobTemplate",
            "spec",
            "template",
            "spec",
            "containers",
        ],
    )
    .and_then(Value::as_sequence);
    let mut script = String::new();
    let mut env_refs = Vec::new();
    for container in containers.into_iter().flatten() {
        for field in ["command", "args"] {
            let items = container.get(field).and_then(Value::as_sequence);
            for item in items.into_iter().flatten().filter_map(Value::as_str) {
                script.push_str(item);
                script.push('\n');
            }
        }
        let env = container.get("env").and_then(Value::as_sequence);
        for variable in env.into_iter().flatten() {
            if let Some(value) = str_at(variable, &["value"]) {
                script.push_str(value);
                script.push('\n');
            }
            if let Some(reference) = variable.get("valueFrom").and_then(secret_ref) {
                env_refs.push(reference);
            }
        }
    }
    if !script.contains("curl") {
        report.drift(CRONJOB, "containers", "must POST with curl");
    }
    if !script.contains(SWEEP_KEY_HEADER) {
        report.drift(
            CRONJOB,
            format!("header {SWEEP_KEY_HEADER}"),
            "the sweeps are refused without it",
        );
    }
    for path in SWEEP_PATHS {
        if !script.contains(path) {
            report.drift(
                CRONJOB,
                format!("POST {path}"),
                "the CronJob does not call it",
            );
        }
        if !manifest.serves(path) {
            report.drift(
                CRONJOB,
                format!("POST {path}"),
                "no HTTP trigger of spin.toml serves it",
            );
        }
    }
    let service = format!("http://{}", name(app));
    let calls_service = script.match_indices(&service).any(|(at, _)| {
        script[at + service.len()..]
            .chars()
            .next()
            .is_none_or(|next| matches!(next, '/' | ':' | '.' | '"' | '\'' | '\n' | ' '))
    });
    if !calls_service {
        report.drift(
            CRONJOB,
            "the app's URL",
            format!(
                "must call the SpinApp's Service, `{service}` (named after the SpinApp, port 80)"
            ),
        );
    }
    match bindings.get(SWEEP_KEY_VARIABLE) {
        Some(Binding::Secret(reference)) => {
            if !env_refs.contains(reference) {
                report.drift(
                    CRONJOB,
                    reference.to_string(),
                    format!(
                        "the SpinApp's {SWEEP_KEY_VARIABLE} comes from it, but the CronJob takes its {SWEEP_KEY_HEADER} from elsewhere"
                    ),
                );
            }
        }
        _ => report.drift(
            SPINAPP,
            format!("variable `{SWEEP_KEY_VARIABLE}`"),
            "the sweep CronJob needs it, from a Secret (valueFrom.secretKeyRef)",
        ),
    }
}

// --- kustomization, namespaces ------------------------------------------------------------

fn check_kustomization(docs: &[Value], report: &mut Report) {
    let resources = check_resources(
        KUSTOMIZATION,
        docs,
        &[SPINAPP, SCALED_OBJECT, CRONJOB],
        report,
    );
    let secrets = SECRETS.rsplit('/').next().unwrap_or(SECRETS);
    if resources.contains(secrets) {
        report.drift(
            KUSTOMIZATION,
            secrets,
            "holds placeholders only and must never be applied with the app",
        );
    }
}

/// The kustomization's resources, each of `files` (beside it) among them.
fn check_resources<'a>(
    file: &'static str,
    docs: &'a [Value],
    files: &[&str],
    report: &mut Report,
) -> BTreeSet<&'a str> {
    let resources: BTreeSet<&str> = docs
        .iter()
        .filter_map(|doc| doc.get("resources").and_then(Value::as_sequence))
        .flatten()
        .filter_map(Value::as_str)
        .collect();
    for wanted in files {
        let base = wanted.rsplit('/').next().unwrap_or(wanted);
        if !resources.contains(base) {
            report.drift(file, base, "is not among its resources");
        }
    }
    resources
}

// --- the event bridge ---------------------------------------------------------------------

/// The bridge's environment variable `name`, as a literal value or a Secret reference.
fn bridge_env<'a>(bridge: &'a Value, name: &str) -> Option<&'a Value> {
    at(bridge, &["spec", "template", "spec", "containers"])?
        .as_sequence()?
        .iter()
        .filter_map(|container| container.get("env")?.as_sequence())
        .flatten()
        .find(|variable| str_at(variable, &["name"]) == Some(name))
}

fn check_bridge(
    bridge: &Value,
    app: &Value,
    bindings: &BTreeMap<String, Binding>,
    report: &mut Report,
) {
    let service = format!("http://{}", name(app));
    let app_url =
        bridge_env(bridge, "FUSION_APP_URL").and_then(|variable| str_at(variable, &["value"]));
    if app_url != Some(service.as_str()) {
        report.drift(
            BRIDGE,
            "FUSION_APP_URL",
            format!("is {app_url:?}; the SpinApp's Service is {service}"),
        );
    }
    let key = bridge_env(bridge, "FUSION_EVENT_SIGNING_KEY")
        .and_then(|variable| variable.get("valueFrom"))
        .and_then(secret_ref);
    let app_key = match bindings.get("event_signing_key") {
        Some(Binding::Secret(reference)) => Some(reference.clone()),
        _ => None,
    };
    if key.is_none() || key != app_key {
        report.drift(
            BRIDGE,
            "FUSION_EVENT_SIGNING_KEY",
            format!("must come from the Secret key of the SpinApp's event_signing_key ({app_key:?}), not {key:?}"),
        );
    }
}

fn check_bridge_scaled_object(scaled: &Value, report: &mut Report) {
    let target = str_at(scaled, &["spec", "scaleTargetRef", "name"]).unwrap_or_default();
    if target != "fusion-bridge" {
        report.drift(
            BRIDGE_SCALED_OBJECT,
            "spec.scaleTargetRef.name",
            format!("targets `{target}`, not the bridge's Deployment `fusion-bridge`"),
        );
    }
    let triggers = at(scaled, &["spec", "triggers"]).and_then(Value::as_sequence);
    for trigger in triggers.into_iter().flatten() {
        let group = str_at(trigger, &["metadata", "consumerGroup"]).unwrap_or_default();
        let topic = str_at(trigger, &["metadata", "topic"]).unwrap_or_default();
        if !kit::wiring::subscribers(topic).contains(&group) {
            report.drift(
                BRIDGE_SCALED_OBJECT,
                format!("trigger {group} on {topic}"),
                "no handler of that name reads that topic (kit::wiring::SUBSCRIPTIONS)",
            );
        }
    }
}

fn check_namespaces(files: &[(&'static str, &Option<Vec<Value>>)], report: &mut Report) {
    let mut namespaces: BTreeMap<Option<&str>, Vec<String>> = BTreeMap::new();
    for (file, docs) in files {
        for doc in docs.iter().flatten() {
            let namespace = str_at(doc, &["metadata", "namespace"]);
            namespaces.entry(namespace).or_default().push(format!(
                "{file} ({} `{}`)",
                kind(doc),
                name(doc)
            ));
        }
    }
    if namespaces.len() > 1 {
        let listing: Vec<String> = namespaces
            .iter()
            .map(|(namespace, objects)| {
                format!("{}: {}", namespace.unwrap_or("(none)"), objects.join(", "))
            })
            .collect();
        report.drift(
            SPINAPP,
            "metadata.namespace",
            format!(
                "the app, its Secrets, ScaledObject and CronJob must share one namespace; found {}",
                listing.join("; ")
            ),
        );
    }
}

// --- compose --------------------------------------------------------------------------------

/// The service of compose whose image is `image` (its repository's last path segment).
fn compose_service<'a>(docs: &'a [Value], image: &str) -> Option<(&'a str, &'a Value)> {
    let services = docs.first()?.get("services")?.as_mapping()?;
    services.iter().find_map(|(service_name, service)| {
        let repository = str_at(service, &["image"])?
            .rsplit('/')
            .next()?
            .split([':', '@'])
            .next()?;
        (repository == image).then_some((service_name.as_str()?, service))
    })
}

fn image_tag(service: &Value) -> &str {
    let image = str_at(service, &["image"]).unwrap_or_default();
    let last = image.rsplit('/').next().unwrap_or_default();
    last.split_once(':').map(|(_, tag)| tag).unwrap_or_default()
}

/// The `KEY` of `environment`, as a mapping or a list of `KEY=VALUE`.
fn environment<'a>(service: &'a Value, key: &str) -> Option<&'a str> {
    match service.get("environment")? {
        Value::Mapping(mapping) => mapping.get(key).and_then(Value::as_str),
        Value::Sequence(items) => items.iter().filter_map(Value::as_str).find_map(|item| {
            let (name, value) = item.split_once('=')?;
            (name == key).then_some(value)
        }),
        _ => None,
    }
}

/// The (host port, container port) pairs a service publishes.
fn published_ports(service: &Value) -> Vec<(u16, u16)> {
    let ports = service.get("ports").and_then(Value::as_sequence);
    ports
        .into_iter()
        .flatten()
        .filter_map(|port| match port {
            Value::Mapping(_) => {
                let target = at(port, &["target"]).and_then(Value::as_u64)?;
                let published = match at(port, &["published"])? {
                    Value::String(text) => text.parse().ok()?,
                    other => other.as_u64()?,
                };
                Some((u16::try_from(published).ok()?, u16::try_from(target).ok()?))
            }
            Value::String(text) => {
                let text = text.split('/').next()?;
                let mut parts = text.rsplit(':');
                let target: u16 = parts.next()?.parse().ok()?;
                let published = parts.next().map_or(Some(target), |p| p.parse().ok())?;
                Some((published, target))
            }
            Value::Number(number) => {
                let port = u16::try_from(number.as_u64()?).ok()?;
                Some((port, port))
            }
            _ => None,
        })
        .collect()
}

/// `max_connections=N` of the service's command, if raised there.
fn max_connections(service: &Value) -> Option<u64> {
    let command = match service.get("command")? {
        Value::String(text) => text.clone(),
        Value::Sequence(items) => items
            .iter()
            .filter_map(Value::as_str)
            .collect::<Vec<_>>()
            .join(" "),
        _ => return None,
    };
    command.split_whitespace().find_map(|word| {
        word.strip_prefix("max_connections=")
            .and_then(|n| n.parse().ok())
    })
}

fn check_compose(docs: &[Value], manifest: &Manifest, redis_toml: &str, report: &mut Report) {
    if let Some(services) = docs
        .first()
        .and_then(|doc| doc.get("services"))
        .and_then(Value::as_mapping)
    {
        for (service_name, service) in services {
            if at(service, &["healthcheck", "test"]).is_none() {
                report.drift(
                    COMPOSE,
                    format!("service `{}`", service_name.as_str().unwrap_or_default()),
                    "has no healthcheck",
                );
            }
        }
    }
    match (compose_service(docs, "postgres"), manifest.default_db_url()) {
        (None, _) => report.drift(COMPOSE, "service postgres", "there is none"),
        (_, None) => report.drift(
            SPIN_TOML,
            "variable `db_url`",
            "its default is not a postgres://user:password@host:port/database URL",
        ),
        (Some((service_name, service)), Some(url)) => {
            let item = |what: &str| format!("service `{service_name}` {what}");
            for (key, expected) in [
                ("POSTGRES_USER", &url.user),
                ("POSTGRES_PASSWORD", &url.password),
                ("POSTGRES_DB", &url.database),
            ] {
                let found = environment(service, key);
                if found != Some(expected.as_str()) {
                    report.drift(
                        COMPOSE,
                        item(key),
                        format!(
                            "is {found:?}, but spin.toml's default db_url expects {expected:?}"
                        ),
                    );
                }
            }
            if !published_ports(service).contains(&(url.port, 5432)) {
                report.drift(
                    COMPOSE,
                    item("ports"),
                    format!(
                        "must publish PostgreSQL's 5432 on {}, the port of spin.toml's default db_url",
                        url.port
                    ),
                );
            }
            if !image_tag(service).starts_with("15") {
                report.drift(COMPOSE, item("image"), "must be PostgreSQL 15");
            }
            let needed = PG_POOL_SIZE * manifest.sqlite_labels().len() as u64;
            if max_connections(service).is_none_or(|n| n < needed) {
                report.drift(
                    COMPOSE,
                    item("max_connections"),
                    format!(
                        "must be at least {needed}: Spin pools {PG_POOL_SIZE} connections per context, and spin.toml has {} contexts",
                        manifest.sqlite_labels().len()
                    ),
                );
            }
        }
    }
    let redis_port = redis_toml
        .parse::<toml::Table>()
        .ok()
        .and_then(|table| {
            let url = table
                .get("key_value_store")?
                .get("default")?
                .get("url")?
                .as_str()?
                .to_owned();
            url.rsplit(':').next()?.trim_end_matches('/').parse().ok()
        })
        .unwrap_or(6379);
    for (image, port) in [("redis", redis_port), ("redpanda", 9092)] {
        match compose_service(docs, image) {
            None => report.drift(COMPOSE, format!("service {image}"), "there is none"),
            Some((service_name, service)) => {
                if !published_ports(service)
                    .iter()
                    .any(|(published, _)| *published == port)
                {
                    report.drift(
                        COMPOSE,
                        format!("service `{service_name}` ports"),
                        format!("must publish {port}"),
                    );
                }
            }
        }
    }
}

#[cfg(test)]
mod tests;
