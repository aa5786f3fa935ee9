//! `spin.toml` (manifest version 2), read and checked as Spin 4.0.2's `spin-manifest` and
//! `spin-loader` crates and its HTTP and Redis triggers do.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::error::{ConfigError, Fields, read_toml, wrong_type};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct App {
    /// The directory of spin.toml (absolute).
    pub dir: PathBuf,
    pub manifest_path: PathBuf,
    pub name: String,
    pub variables: BTreeMap<String, VariableDecl>,
    /// `[application.trigger.http] base`: Spin 4 accepts only "/" (its default).
    pub http_base: String,
    /// `[application.trigger.redis] address`, raw (may hold `{{ templates }}`).
    pub redis_address: Option<String>,
    pub http_triggers: Vec<HttpTrigger>,
    pub redis_triggers: Vec<RedisTrigger>,
    pub components: BTreeMap<String, Component>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VariableDecl {
    pub default: Option<String>,
    pub required: bool,
    pub secret: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpTrigger {
    /// The trigger's `id`, or the one Spin generates (`<component>-http-trigger`).
    pub id: String,
    pub component: String,
    pub route: HttpRoute,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HttpRoute {
    Path(String),
    /// `route = { private = true }`: reachable only through service chaining.
    Private,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RedisTrigger {
    pub id: String,
    pub component: String,
    /// Raw; Spin expands `{{ templates }}` in it with the application variables.
    pub channel: String,
    /// Raw, like `channel`; `None` means `App::redis_address`.
    pub address: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Component {
    pub id: String,
    /// Absolute (relative paths resolved against `App::dir`).
    pub source: PathBuf,
    /// `[component.X.build] command` (several commands joined with " && "), for the
    /// "missing .wasm" error message.
    pub build_command: Option<String>,
    /// Raw, may contain `{{ templates }}`.
    pub allowed_outbound_hosts: Vec<String>,
    pub key_value_stores: Vec<String>,
    pub sqlite_databases: Vec<String>,
    /// Raw templates.
    pub variables: BTreeMap<String, String>,
    pub environment: BTreeMap<String, String>,
}

/// Reads and checks a manifest; every error names the file and the field.
pub fn load_manifest(path: &Path) -> Result<App, ConfigError> {
    let manifest_path = std::path::absolute(path)
        .map_err(|e| ConfigError::new(path, "", format!("cannot resolve path: {e}")))?;
    let table = read_toml(&manifest_path)?;
    let dir = manifest_path
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from("/"));
    let mut top = Fields::new(&manifest_path, "", &table);

    check_version(&mut top)?;

    let application = top
        .table("application")?
        .ok_or_else(|| top.error("application", "missing field"))?;
    let mut app_fields = Fields::new(&manifest_path, "application", application);
    let name = app_fields.required_string("name")?.to_string();
    app_fields.string("version")?;
    app_fields.string("description")?;
    app_fields.string_list("authors")?;
    // Deployment targets and tool settings do not change how the app runs.
    app_fields.ignore(&["targets", "tool"]);
    let (http_base, redis_address) = trigger_globals(&mut app_fields)?;
    app_fields.deny_unknown()?;

    let variables = match top.table("variables")? {
        Some(t) => variables(&manifest_path, t)?,
        None => BTreeMap::new(),
    };

    let components = match top.table("component")? {
        Some(t) => components(&manifest_path, &dir, t, &variables)?,
        None => BTreeMap::new(),
    };

    let trigger_table = top
        .table("trigger")?
        .ok_or_else(|| top.error("trigger", "missing field"))?;
    let (http_triggers, redis_triggers) = triggers(&manifest_path, trigger_table, &components)?;

    top.deny_unknown()?;

    Ok(App {
        dir,
        manifest_path,
        name,
        variables,
        http_base,
        redis_address,
        http_triggers,
        redis_triggers,
        components,
    })
}

fn check_version(top: &mut Fields<'_>) -> Result<(), ConfigError> {
    let key = "spin_manifest_version";
    match top.get(key) {
        None => Err(top.error(key, "missing field")),
        Some(toml::Value::Integer(2)) => Ok(()),
        Some(toml::Value::String(v)) if v == "1" => Err(top.error(
            key,
            "manifest version 1 is not supported by fusion-host: convert it with `spin doctor` or write version 2",
        )),
        Some(other) => Err(top.error(key, format!("invalid manifest version: {other}"))),
    }
}

/// `[application.trigger.http]` and `[application.trigger.redis]`.
fn trigger_globals(app: &mut Fields<'_>) -> Result<(String, Option<String>), ConfigError> {
    let Some(globals) = app.table("trigger")? else {
        return Ok(("/".into(), None));
    };
    let mut globals = Fields::new(app.file, app.field("trigger"), globals);

    let mut base = "/".to_string();
    if let Some(http) = globals.table("http")? {
        let mut http = Fields::new(app.file, globals.field("http"), http);
        if let Some(b) = http.string("base")? {
            // Spin 4 rejects any other base (it was deprecated in Spin 2).
            if b != "/" {
                return Err(http.error(
                    "base",
                    "This application is using the deprecated trigger 'base' field. The base must be prepended to each [[trigger.http]]'s 'route'.",
                ));
            }
            base = b.to_string();
        }
        http.deny_unknown()?;
    }

    let mut address = None;
    if let Some(redis) = globals.table("redis")? {
        let mut redis = Fields::new(app.file, globals.field("redis"), redis);
        address = Some(redis.required_string("address")?.to_string());
        redis.deny_unknown()?;
    }

    if let Some(other) = globals.first_unknown() {
        return Err(globals.error(
            other,
            format!("trigger type {other:?} is not supported by fusion-host (only http and redis)"),
        ));
    }
    Ok((base, address))
}

fn variables(
    file: &Path,
    table: &toml::Table,
) -> Result<BTreeMap<String, VariableDecl>, ConfigError> {
    let mut out = BTreeMap::new();
    for (name, value) in table {
        let field = format!("variables.{name}");
        check_id(name, '_', true)
            .and_then(|()| crate::variables::validate_name(name))
            .map_err(|reason| ConfigError::new(file, &field, reason))?;
        let toml::Value::Table(decl) = value else {
            return Err(ConfigError::new(file, field, wrong_type("a table", value)));
        };
        let mut decl = Fields::new(file, field.as_str(), decl);
        decl.string("description")?;
        let required = decl.bool("required")?;
        let default = decl.string("default")?.map(str::to_string);
        let secret = decl.bool("secret")?;
        decl.deny_unknown()?;
        if required == default.is_some() {
            return Err(ConfigError::new(
                file,
                field,
                "must be `required` OR have a `default`",
            ));
        }
        out.insert(
            name.clone(),
            VariableDecl {
                default,
                required,
                secret,
            },
        );
    }
    Ok(out)
}

fn components(
    file: &Path,
    dir: &Path,
    table: &toml::Table,
    variables: &BTreeMap<String, VariableDecl>,
) -> Result<BTreeMap<String, Component>, ConfigError> {
    let mut out = BTreeMap::new();
    for (id, value) in table {
        let field = format!("component.{id}");
        check_id(id, '-', false).map_err(|reason| ConfigError::new(file, &field, reason))?;
        let toml::Value::Table(t) = value else {
            return Err(ConfigError::new(file, field, wrong_type("a table", value)));
        };
        out.insert(id.clone(), component(file, dir, id, &field, t, variables)?);
    }
    Ok(out)
}

fn component(
    file: &Path,
    dir: &Path,
    id: &str,
    field: &str,
    table: &toml::Table,
    app_variables: &BTreeMap<String, VariableDecl>,
) -> Result<Component, ConfigError> {
    let mut c = Fields::new(file, field, table);
    let source = match c.get("source") {
        None => return Err(c.error("source", "missing field")),
        Some(toml::Value::String(s)) => dir.join(s),
        Some(toml::Value::Table(_)) => {
            return Err(c.error(
                "source",
                "only a local file path is supported by fusion-host (URL and registry sources are not)",
            ));
        }
        Some(other) => return Err(c.error("source", wrong_type("a path string", other))),
    };
    c.string("description")?;

    let variables = c.string_map("variables")?;
    for (name, template) in &variables {
        let var_field = format!("{field}.variables.{name}");
        check_id(name, '_', true)
            .and_then(|()| crate::variables::validate_name(name))
            .and_then(|()| {
                crate::variables::parse_component_template(app_variables, template).map(drop)
            })
            .map_err(|reason| ConfigError::new(file, var_field, reason))?;
    }
    let environment = c.string_map("environment")?;

    let allowed_outbound_hosts = c.string_list("allowed_outbound_hosts")?;
    crate::allowed_hosts::validate_entries(&allowed_outbound_hosts, app_variables)
        .map_err(|reason| c.error("allowed_outbound_hosts", reason))?;
    let key_value_stores = labels(&mut c, "key_value_stores")?;
    let sqlite_databases = labels(&mut c, "sqlite_databases")?;

    let build_command = match c.table("build")? {
        Some(build) => Some(build_command(file, &c.field("build"), build)?),
        None => None,
    };

    for unsupported in ["allowed_http_hosts", "ai_models", "dependencies"] {
        if c.get(unsupported).is_some_and(|v| !is_empty(v)) {
            return Err(c.error(unsupported, "not supported by fusion-host"));
        }
    }
    // Files are mounted by the host from the manifest directly; these do not change how
    // the component runs here (build profiles, deployment targets, tool settings).
    c.ignore(&[
        "files",
        "exclude_files",
        "targets",
        "tool",
        "profile",
        "dependencies_inherit_configuration",
    ]);
    c.deny_unknown()?;

    Ok(Component {
        id: id.to_string(),
        source,
        build_command,
        allowed_outbound_hosts,
        key_value_stores,
        sqlite_databases,
        variables,
        environment,
    })
}

fn is_empty(value: &toml::Value) -> bool {
    match value {
        toml::Value::Array(a) => a.is_empty(),
        toml::Value::Table(t) => t.is_empty(),
        _ => false,
    }
}

/// Store and database labels: kebab-case or snake_case ids.
fn labels<'a>(c: &mut Fields<'a>, key: &'a str) -> Result<Vec<String>, ConfigError> {
    let list = c.string_list(key)?;
    for (i, label) in list.iter().enumerate() {
        if check_id(label, '-', false).is_err() && check_id(label, '_', false).is_err() {
            return Err(c.error(
                &format!("{key}[{i}]"),
                format!("{label:?}: expected kebab-case or snake_case"),
            ));
        }
    }
    Ok(list)
}

fn build_command(file: &Path, field: &str, table: &toml::Table) -> Result<String, ConfigError> {
    let mut build = Fields::new(file, field, table);
    let command = match build.get("command") {
        None => return Err(build.error("command", "missing field")),
        Some(toml::Value::String(s)) => s.clone(),
        Some(toml::Value::Array(_)) => build.string_list("command")?.join(" && "),
        Some(other) => {
            return Err(build.error(
                "command",
                wrong_type("a string or an array of strings", other),
            ));
        }
    };
    build.string("workdir")?;
    build.string_list("watch")?;
    build.deny_unknown()?;
    Ok(command)
}

fn triggers(
    file: &Path,
    table: &toml::Table,
    components: &BTreeMap<String, Component>,
) -> Result<(Vec<HttpTrigger>, Vec<RedisTrigger>), ConfigError> {
    // Spin generates ids for triggers without one, avoiding every id already taken.
    let mut taken: Vec<String> = table
        .values()
        .filter_map(toml::Value::as_array)
        .flatten()
        .filter_map(|t| {
            t.get("id")
                .and_then(toml::Value::as_str)
                .map(str::to_string)
        })
        .collect();

    let mut http = Vec::new();
    let mut redis = Vec::new();
    for (trigger_type, list) in table {
        let toml::Value::Array(list) = list else {
            return Err(ConfigError::new(
                file,
                format!("trigger.{trigger_type}"),
                wrong_type("an array of tables ([[trigger.TYPE]])", list),
            ));
        };
        if !["http", "redis"].contains(&trigger_type.as_str()) {
            return Err(ConfigError::new(
                file,
                format!("trigger.{trigger_type}"),
                format!(
                    "trigger type {trigger_type:?} is not supported by fusion-host (only http and redis)"
                ),
            ));
        }
        let mut counter = 1;
        for (i, value) in list.iter().enumerate() {
            let field = format!("trigger.{trigger_type}[{i}]");
            let toml::Value::Table(t) = value else {
                return Err(ConfigError::new(file, field, wrong_type("a table", value)));
            };
            let mut f = Fields::new(file, field.as_str(), t);
            let explicit_id = f.string("id")?.filter(|id| !id.is_empty());
            let component = trigger_component(&mut f, components)?;
            let id = match (explicit_id, &component) {
                (Some(id), _) => id.to_string(),
                (None, Some(c)) if !taken.contains(&format!("{c}-{trigger_type}-trigger")) => {
                    let id = format!("{c}-{trigger_type}-trigger");
                    taken.push(id.clone());
                    id
                }
                (None, _) => loop {
                    let id = format!("{trigger_type}-trigger{counter}");
                    counter += 1;
                    if !taken.contains(&id) {
                        taken.push(id.clone());
                        break id;
                    }
                },
            };
            if trigger_type == "http" {
                http.push(http_trigger(&mut f, id, component)?);
            } else {
                redis.push(redis_trigger(&mut f, id, component)?);
            }
            f.deny_unknown()?;
        }
    }
    Ok((http, redis))
}

/// The `component` of a trigger: the id of a `[component.X]`.
fn trigger_component(
    f: &mut Fields<'_>,
    components: &BTreeMap<String, Component>,
) -> Result<Option<String>, ConfigError> {
    if f.get("components").is_some() {
        return Err(f.error("components", "not supported by fusion-host"));
    }
    match f.get("component") {
        None => Ok(None),
        Some(toml::Value::String(id)) => {
            check_id(id, '-', false).map_err(|reason| f.error("component", reason))?;
            if !components.contains_key(id) {
                return Err(f.error(
                    "component",
                    format!("no component {id:?} is defined ([component.{id}])"),
                ));
            }
            Ok(Some(id.clone()))
        }
        Some(toml::Value::Table(_)) => Err(f.error(
            "component",
            "inline component tables are not supported by fusion-host: define [component.ID] and refer to it by id",
        )),
        Some(other) => Err(f.error("component", wrong_type("a component id", other))),
    }
}

fn http_trigger(
    f: &mut Fields<'_>,
    id: String,
    component: Option<String>,
) -> Result<HttpTrigger, ConfigError> {
    if f.get("static_response").is_some() {
        return Err(f.error("static_response", "not supported by fusion-host"));
    }
    let component = component.ok_or_else(|| {
        f.error(
            "component",
            format!("Triggers must specify either component or static_response - {id} has neither"),
        )
    })?;
    let route = match f.get("route") {
        None => return Err(f.error("route", "missing field")),
        Some(toml::Value::String(route)) => {
            crate::routes::check_route(route).map_err(|reason| f.error("route", reason))?;
            HttpRoute::Path(route.clone())
        }
        Some(toml::Value::Table(t)) => {
            let mut private = Fields::new(f.file, f.field("route"), t);
            let is_private = private.bool("private")?;
            private.deny_unknown()?;
            if !is_private {
                return Err(f.error(
                    "route",
                    format!("route must be a string pattern or '{{ private = true }}': '{component}' has {{ private = false }}"),
                ));
            }
            HttpRoute::Private
        }
        Some(other) => {
            return Err(f.error("route", wrong_type("a string or { private = true }", other)));
        }
    };
    if let Some(executor) = f.table("executor")? {
        let mut executor = Fields::new(f.file, f.field("executor"), executor);
        let kind = executor.required_string("type")?;
        if kind != "http" && kind != "spin" {
            return Err(executor.error(
                "type",
                format!("executor {kind:?} is not supported by fusion-host"),
            ));
        }
        executor.deny_unknown()?;
    }
    Ok(HttpTrigger {
        id,
        component,
        route,
    })
}

fn redis_trigger(
    f: &mut Fields<'_>,
    id: String,
    component: Option<String>,
) -> Result<RedisTrigger, ConfigError> {
    let component = component.ok_or_else(|| f.error("component", "missing field"))?;
    let channel = f.required_string("channel")?.to_string();
    let address = f.string("address")?.map(str::to_string);
    Ok(RedisTrigger {
        id,
        component,
        channel,
        address,
    })
}

/// Spin's id rules (`spin-serde`): words separated by `delim`, each starting with an ASCII
/// letter, alphanumeric, all lowercase or all uppercase (`lower_only`: lowercase).
fn check_id(id: &str, delim: char, lower_only: bool) -> Result<(), String> {
    if id.is_empty() {
        return Err("empty".into());
    }
    let wrong = if delim == '-' { '_' } else { '-' };
    if id.contains(wrong) {
        return Err(format!(
            "{id:?}: words must be separated with {delim:?}, not {wrong:?}"
        ));
    }
    for word in id.split(delim) {
        let mut chars = word.chars();
        let Some(first) = chars.next() else {
            return Err(format!(
                "{id:?}: {delim:?}-separated words must not be empty"
            ));
        };
        if !first.is_ascii_alphabetic() {
            return Err(format!(
                "{id:?}: {delim:?}-separated words must start with an ASCII letter; got {first:?}"
            ));
        }
        let upper = first.is_ascii_uppercase();
        for c in chars {
            if c.is_ascii_digit() {
                continue;
            }
            if !c.is_ascii_alphanumeric() {
                return Err(format!(
                    "{id:?}: {delim:?}-separated words may only contain alphanumeric ASCII; got {c:?}"
                ));
            }
            if c.is_ascii_uppercase() != upper {
                return Err(format!(
                    "{id:?}: {delim:?}-separated words must be all lowercase or all UPPERCASE; got {word:?}"
                ));
            }
        }
        if lower_only && upper {
            return Err(format!(
                "{id:?}: Lower-case identifiers must be all lowercase"
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_files;

    const VALID: &str = r#"
spin_manifest_version = 2

[application]
name = "shop"
version = "1.0.0"
authors = ["a@example.com"]
[application.trigger.redis]
address = "redis://{{ redis_host }}:6379"

[variables]
redis_host = { default = "127.0.0.1" }
api_key = { required = true, secret = true }

[[trigger.http]]
route = "/api/cart/..."
component = "cart"

[[trigger.http]]
id = "private-cart"
route = { private = true }
component = "cart"

[[trigger.http]]
route = "/"
component = "storefront"

[[trigger.redis]]
channel = "orders"
component = "cart"

[component.cart]
source = "target/cart.wasm"
allowed_outbound_hosts = ["http://*.spin.internal", "redis://{{ redis_host }}"]
key_value_stores = ["default", "carts"]
sqlite_databases = ["cart_db"]
variables = { key = "k-{{ api_key }}" }
environment = { RUST_LOG = "info" }
files = ["static/*"]
[component.cart.build]
command = ["cargo build", "wasm-opt"]

[component.storefront]
source = "/abs/storefront.wasm"
"#;

    #[test]
    fn loads_a_valid_manifest() {
        let path = test_files::write("spin.toml", VALID);
        let app = load_manifest(&path).unwrap();
        assert_eq!(app.name, "shop");
        assert_eq!(app.dir, path.parent().unwrap());
        assert_eq!(app.http_base, "/");
        assert_eq!(
            app.redis_address.as_deref(),
            Some("redis://{{ redis_host }}:6379")
        );
        assert_eq!(
            app.variables["api_key"],
            VariableDecl {
                default: None,
                required: true,
                secret: true
            }
        );
        let ids = app
            .http_triggers
            .iter()
            .map(|t| t.id.as_str())
            .collect::<Vec<_>>();
        assert_eq!(
            ids,
            [
                "cart-http-trigger",
                "private-cart",
                "storefront-http-trigger"
            ]
        );
        assert_eq!(app.http_triggers[1].route, HttpRoute::Private);
        assert_eq!(app.redis_triggers[0].channel, "orders");
        let cart = &app.components["cart"];
        assert_eq!(cart.source, app.dir.join("target/cart.wasm"));
        assert_eq!(
            cart.build_command.as_deref(),
            Some("cargo build && wasm-opt")
        );
        assert_eq!(cart.key_value_stores, ["default", "carts"]);
        assert_eq!(cart.variables["key"], "k-{{ api_key }}");
        assert_eq!(
            app.components["storefront"].source,
            PathBuf::from("/abs/storefront.wasm")
        );
    }

    #[test]
    fn generated_trigger_ids_avoid_taken_ones() {
        let manifest = VALID.replace("id = \"private-cart\"", "id = \"cart-http-trigger\"");
        let app = load_manifest(&test_files::write("spin.toml", &manifest)).unwrap();
        let ids = app
            .http_triggers
            .iter()
            .map(|t| t.id.as_str())
            .collect::<Vec<_>>();
        assert_eq!(
            ids,
            [
                "http-trigger1",
                "cart-http-trigger",
                "storefront-http-trigger"
            ]
        );
    }

    /// Each case replaces one piece of the valid manifest and expects an error on `field`.
    #[test]
    fn errors_name_the_field() {
        let cases: &[(&str, &str, &str, &str)] = &[
            (
                "spin_manifest_version = 2",
                "spin_manifest_version = 3",
                "spin_manifest_version",
                "invalid manifest version",
            ),
            (
                "spin_manifest_version = 2",
                "spin_manifest_version = \"1\"",
                "spin_manifest_version",
                "version 1",
            ),
            ("name = \"shop\"", "", "application.name", "missing field"),
            (
                "version = \"1.0.0\"",
                "versoin = \"1.0.0\"",
                "application.versoin",
                "unknown field",
            ),
            (
                "[application.trigger.redis]",
                "[application.trigger.http]\nbase = \"/shop\"\n[application.trigger.redis]",
                "application.trigger.http.base",
                "deprecated trigger 'base'",
            ),
            (
                "redis_host = { default = \"127.0.0.1\" }",
                "redis_host = { default = \"x\", required = true }",
                "variables.redis_host",
                "must be `required` OR have a `default`",
            ),
            (
                "redis_host = { default = \"127.0.0.1\" }",
                "redis_host = { default = \"127.0.0.1\" }\nnothing = {}",
                "variables.nothing",
                "must be `required` OR have a `default`",
            ),
            (
                "redis_host = { default = \"127.0.0.1\" }",
                "redis_host = { default = \"127.0.0.1\" }\nBad = { default = \"x\" }",
                "variables.Bad",
                "lowercase",
            ),
            (
                "redis_host = { default = \"127.0.0.1\" }",
                "redis_host = { default = \"127.0.0.1\", secrte = true }",
                "variables.redis_host.secrte",
                "unknown field",
            ),
            (
                "component = \"storefront\"",
                "component = \"shop-front\"",
                "trigger.http[2].component",
                "no component \"shop-front\"",
            ),
            (
                "component = \"storefront\"",
                "component = { source = \"x.wasm\" }",
                "trigger.http[2].component",
                "inline component",
            ),
            (
                "route = \"/\"",
                "",
                "trigger.http[2].route",
                "missing field",
            ),
            (
                "route = \"/\"",
                "route = { private = false }",
                "trigger.http[2].route",
                "private = false",
            ),
            (
                "route = \"/\"",
                "route = \"/a/*/b\"",
                "trigger.http[2].route",
                "wildcard",
            ),
            (
                "route = \"/\"",
                "route = \"/\"\nexecutor = { type = \"wagi\" }",
                "trigger.http[2].executor.type",
                "not supported",
            ),
            (
                "channel = \"orders\"",
                "",
                "trigger.redis[0].channel",
                "missing field",
            ),
            (
                "[[trigger.redis]]",
                "[[trigger.cron]]",
                "trigger.cron",
                "not supported",
            ),
            (
                "[component.storefront]",
                "[component.store_front]",
                "component.store_front",
                "words must be separated with '-'",
            ),
            (
                "source = \"target/cart.wasm\"",
                "source = { url = \"https://x/y.wasm\", digest = \"sha256:0\" }",
                "component.cart.source",
                "local file path",
            ),
            (
                "source = \"/abs/storefront.wasm\"",
                "",
                "component.storefront.source",
                "missing field",
            ),
            (
                "environment = { RUST_LOG = \"info\" }",
                "environment = { RUST_LOG = 1 }",
                "component.cart.environment.RUST_LOG",
                "expected a string",
            ),
            (
                "variables = { key = \"k-{{ api_key }}\" }",
                "variables = { key = \"{{ nope }}\" }",
                "component.cart.variables.key",
                "unknown variable \"nope\"",
            ),
            (
                "variables = { key = \"k-{{ api_key }}\" }",
                "variables = { key = \"{{ api_key \" }",
                "component.cart.variables.key",
                "unmatched",
            ),
            (
                "key_value_stores = [\"default\", \"carts\"]",
                "key_value_stores = [\"default\", \"my store\"]",
                "component.cart.key_value_stores[1]",
                "kebab-case or snake_case",
            ),
            (
                "\"redis://{{ redis_host }}\"]",
                "\"redis://{{ redis_host }}\", \"example.com\"]",
                "component.cart.allowed_outbound_hosts",
                "does not contain a scheme",
            ),
            (
                "\"redis://{{ redis_host }}\"]",
                "\"tcp://{{ redis_host }}\"]",
                "component.cart.allowed_outbound_hosts",
                "default variable value",
            ),
            (
                "allowed_outbound_hosts = [\"http://*.spin.internal\", \"redis://{{ redis_host }}\"]",
                "allowed_outbound_hosts = [\"insecure:allow-all\"]",
                "component.cart.allowed_outbound_hosts",
                "insecure:allow-all",
            ),
            (
                "files = [\"static/*\"]",
                "ai_models = [\"llama2-chat\"]",
                "component.cart.ai_models",
                "not supported",
            ),
            (
                "[component.cart.build]",
                "colour = \"red\"\n[component.cart.build]",
                "component.cart.colour",
                "unknown field",
            ),
        ];
        for (from, to, field, message) in cases {
            assert!(VALID.contains(from), "case text {from:?} not in manifest");
            let path = test_files::write("spin.toml", &VALID.replacen(from, to, 1));
            let err = load_manifest(&path).expect_err(&format!("{to:?} should fail"));
            assert_eq!(err.file, path);
            assert_eq!(err.field, *field, "{to:?}: {err}");
            assert!(err.message.contains(message), "{to:?}: {err}");
        }
    }

    #[test]
    fn syntax_errors_name_the_line() {
        let path = test_files::write("spin.toml", "spin_manifest_version = 2\n[application\n");
        let err = load_manifest(&path).unwrap_err();
        assert!(err.field.starts_with("line 2"), "{err}");
        let missing = load_manifest(&path.with_file_name("absent.toml")).unwrap_err();
        assert!(missing.message.contains("cannot read file"), "{missing}");
        assert!(
            missing
                .to_string()
                .starts_with(&path.with_file_name("absent.toml").display().to_string())
        );
    }

    #[test]
    fn spin_id_rules() {
        for ok in ["cart", "cart-api", "a1-b2", "HTTP-api"] {
            check_id(ok, '-', false).unwrap();
        }
        for bad in ["", "1-2-3", "cart_api", "cart--api", "Cart", "cart-"] {
            check_id(bad, '-', false).unwrap_err();
        }
        check_id("api_key", '_', true).unwrap();
        check_id("API_KEY", '_', true).unwrap_err();
    }
}
