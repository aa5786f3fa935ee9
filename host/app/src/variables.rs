//! Application variables, component variables and `{{ name }}` templates, as Spin's
//! `spin-expressions`, `factor-variables` and `variables-env` crates define them.

use std::collections::BTreeMap;

use crate::error::ConfigError;
use crate::manifest::App;

/// The prefix of the environment variables that override application variables.
const ENV_PREFIX: &str = "SPIN_VARIABLE";

/// An error from resolving a variable; the variants are those of `spin:variables/variables.error`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum VariableError {
    InvalidName(String),
    Undefined(String),
    Other(String),
}

impl std::fmt::Display for VariableError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::InvalidName(m) => write!(f, "invalid variable name: {m}"),
            Self::Undefined(m) => write!(f, "undefined variable: {m}"),
            Self::Other(m) => f.write_str(m),
        }
    }
}

impl std::error::Error for VariableError {}

/// A string with `{{ name }}` expressions between literal text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Template {
    parts: Vec<Part>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Part {
    Literal(String),
    Variable(String),
}

impl Template {
    pub fn parse(text: &str) -> Result<Self, String> {
        let mut parts = Vec::new();
        let mut rest = text;
        while !rest.is_empty() {
            if let Some(after_open) = rest.strip_prefix("{{") {
                let Some((expr, after_close)) = after_open.split_once("}}") else {
                    return Err("invalid variable template: unmatched '{{' in template".into());
                };
                parts.push(Part::Variable(expr.trim().to_string()));
                rest = after_close;
            } else {
                let end = rest.find("{{").unwrap_or(rest.len());
                parts.push(Part::Literal(rest[..end].to_string()));
                rest = &rest[end..];
            }
        }
        Ok(Self { parts })
    }

    pub fn is_literal(&self) -> bool {
        self.parts.iter().all(|p| matches!(p, Part::Literal(_)))
    }

    pub fn variables(&self) -> impl Iterator<Item = &str> {
        self.parts.iter().filter_map(|p| match p {
            Part::Variable(name) => Some(name.as_str()),
            Part::Literal(_) => None,
        })
    }

    /// Expands the template; `lookup` gives the value of a variable or its error.
    pub fn render<E>(&self, lookup: impl Fn(&str) -> Result<String, E>) -> Result<String, E> {
        let mut out = String::new();
        for part in &self.parts {
            match part {
                Part::Literal(text) => out.push_str(text),
                Part::Variable(name) => out.push_str(&lookup(name)?),
            }
        }
        Ok(out)
    }
}

/// Checks a variable name as Spin's `Key` does (the name a guest asks for, and every
/// application and component variable name).
pub fn validate_name(name: &str) -> Result<(), String> {
    let reason = if name.is_empty() {
        "must not be empty".to_string()
    } else if let Some(c) = name
        .chars()
        .find(|c| !(c.is_ascii_lowercase() || c.is_ascii_digit() || *c == '_'))
    {
        format!(
            "invalid character {c:?}. Variable names may contain only lower-case letters, numbers, and underscores."
        )
    } else if !name.starts_with(|c: char| c.is_ascii_lowercase()) {
        "must start with a lowercase ASCII letter".to_string()
    } else if !name.ends_with(|c: char| c.is_ascii_alphanumeric()) {
        "must end with a lowercase ASCII letter or digit".to_string()
    } else if name.contains("__") {
        "must not contain multiple consecutive underscores".to_string()
    } else {
        return Ok(());
    };
    Err(format!("{name:?}: {reason}"))
}

/// Parses a component variable's template and checks that it names only declared
/// application variables (Spin checks this when the app starts).
pub(crate) fn parse_component_template(
    app_variables: &BTreeMap<String, crate::manifest::VariableDecl>,
    template: &str,
) -> Result<Template, String> {
    let template = Template::parse(template)?;
    if let Some(unknown) = template
        .variables()
        .find(|name| !app_variables.contains_key(*name))
    {
        return Err(format!(
            "invalid variable template: unknown variable {unknown:?}"
        ));
    }
    Ok(template)
}

/// Resolves application and component variables: the environment provider
/// (`SPIN_VARIABLE_<NAME>`) first, then the manifest default, as Spin's default providers do.
/// Values are fixed at startup, like the environment they come from.
#[derive(Debug, Clone)]
pub struct Resolver {
    /// Application variable name → value.
    app_values: BTreeMap<String, String>,
    /// Component id → component variable name → expanded value.
    component_values: BTreeMap<String, BTreeMap<String, String>>,
}

impl Resolver {
    /// Resolves every variable of `app`. `env` reads an environment variable (injected so
    /// tests need not touch the process environment). Fails, naming the variables, when a
    /// required variable has no value or a component template names an undeclared variable.
    pub fn new(app: &App, env: impl Fn(&str) -> Option<String>) -> Result<Resolver, ConfigError> {
        let mut app_values = BTreeMap::new();
        let mut missing = Vec::new();
        for (name, decl) in &app.variables {
            validate_name(name).map_err(|reason| {
                ConfigError::new(&app.manifest_path, format!("variables.{name}"), reason)
            })?;
            match env(&env_var_name(name)).or_else(|| decl.default.clone()) {
                Some(value) => {
                    app_values.insert(name.clone(), value);
                }
                None => missing.push(name.as_str()),
            }
        }
        if !missing.is_empty() {
            let fields = missing
                .iter()
                .map(|name| format!("variables.{name}"))
                .collect::<Vec<_>>()
                .join(", ");
            let hints = missing
                .iter()
                .map(|name| env_var_name(name))
                .collect::<Vec<_>>()
                .join(", ");
            return Err(ConfigError::new(
                &app.manifest_path,
                fields,
                format!("required variable(s) have no value: set {hints}"),
            ));
        }

        let mut component_values = BTreeMap::new();
        for (component_id, component) in &app.components {
            let mut values = BTreeMap::new();
            for (name, raw) in &component.variables {
                let field = format!("component.{component_id}.variables.{name}");
                validate_name(name)
                    .map_err(|reason| ConfigError::new(&app.manifest_path, &field, reason))?;
                let template = parse_component_template(&app.variables, raw)
                    .map_err(|reason| ConfigError::new(&app.manifest_path, &field, reason))?;
                let value = template.render(|var| {
                    app_values
                        .get(var)
                        .cloned()
                        .ok_or_else(|| format!("unknown variable {var:?}"))
                });
                let value =
                    value.map_err(|reason| ConfigError::new(&app.manifest_path, &field, reason))?;
                values.insert(name.clone(), value);
            }
            component_values.insert(component_id.clone(), values);
        }
        Ok(Resolver {
            app_values,
            component_values,
        })
    }

    /// Value of component variable `name` for component `component`, with Spin's errors.
    pub fn component_variable(&self, component: &str, name: &str) -> Result<String, VariableError> {
        validate_name(name).map_err(VariableError::InvalidName)?;
        let values = self.component_values.get(component).ok_or_else(|| {
            VariableError::Undefined(format!("no variable for component {component:?}"))
        })?;
        values.get(name).cloned().ok_or_else(|| {
            VariableError::Undefined(format!("no variable for {component:?}.{name:?}"))
        })
    }

    /// Every variable of component `component` with its value, by name.
    pub fn component_variables(&self, component: &str) -> Vec<(String, String)> {
        self.component_values
            .get(component)
            .map(|values| values.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
            .unwrap_or_default()
    }

    /// Expands a template that may name application variables (allowed_outbound_hosts,
    /// the Redis trigger's address and channel).
    pub fn expand_app_template(&self, template: &str) -> Result<String, VariableError> {
        let template = Template::parse(template).map_err(VariableError::Other)?;
        template.render(|name| {
            self.app_values
                .get(name)
                .cloned()
                .ok_or_else(|| VariableError::InvalidName(name.to_string()))
        })
    }
}

/// The environment variable that overrides application variable `name`.
pub fn env_var_name(name: &str) -> String {
    format!("{ENV_PREFIX}_{}", name.to_ascii_uppercase())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::manifest::{Component, VariableDecl};
    use std::path::PathBuf;

    fn app(vars: &[(&str, Option<&str>)], component_vars: &[(&str, &str)]) -> App {
        let variables = vars
            .iter()
            .map(|(name, default)| {
                let decl = VariableDecl {
                    default: default.map(str::to_string),
                    required: default.is_none(),
                    secret: false,
                };
                (name.to_string(), decl)
            })
            .collect();
        let component = Component {
            id: "cart".into(),
            source: PathBuf::from("/cart.wasm"),
            build_command: None,
            allowed_outbound_hosts: vec![],
            key_value_stores: vec![],
            sqlite_databases: vec![],
            variables: component_vars
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            environment: BTreeMap::new(),
        };
        App {
            dir: PathBuf::from("/app"),
            manifest_path: PathBuf::from("/app/spin.toml"),
            name: "test".into(),
            variables,
            http_base: "/".into(),
            redis_address: None,
            http_triggers: vec![],
            redis_triggers: vec![],
            components: BTreeMap::from([("cart".to_string(), component)]),
        }
    }

    fn env(pairs: &'static [(&'static str, &'static str)]) -> impl Fn(&str) -> Option<String> {
        move |key| {
            pairs
                .iter()
                .find(|(k, _)| *k == key)
                .map(|(_, v)| v.to_string())
        }
    }

    #[test]
    fn templates_defaults_and_env_override() {
        let app = app(
            &[
                ("host", Some("db.local")),
                ("port", Some("5432")),
                ("token", None),
            ],
            &[
                ("url", "postgres://{{ host }}:{{port}}/shop"),
                ("literal", "plain"),
                ("token", "{{ token }}"),
            ],
        );
        let resolver = Resolver::new(
            &app,
            env(&[
                ("SPIN_VARIABLE_TOKEN", "t0k"),
                ("SPIN_VARIABLE_PORT", "6543"),
            ]),
        )
        .unwrap();
        let get = |name| resolver.component_variable("cart", name);
        assert_eq!(get("url").unwrap(), "postgres://db.local:6543/shop");
        assert_eq!(get("literal").unwrap(), "plain");
        assert_eq!(get("token").unwrap(), "t0k");
        assert_eq!(
            resolver.expand_app_template("redis://{{ host }}").unwrap(),
            "redis://db.local"
        );
    }

    #[test]
    fn errors_map_to_spin_variants() {
        let app = app(&[("host", Some("h"))], &[("url", "{{ host }}")]);
        let resolver = Resolver::new(&app, |_| None).unwrap();
        for (component, name, expected) in [
            ("cart", "Bad-Name", VariableError::InvalidName("\"Bad-Name\": invalid character 'B'. Variable names may contain only lower-case letters, numbers, and underscores.".into())),
            ("cart", "missing", VariableError::Undefined("no variable for \"cart\".\"missing\"".into())),
            ("other", "url", VariableError::Undefined("no variable for component \"other\"".into())),
        ] {
            assert_eq!(resolver.component_variable(component, name), Err(expected));
        }
        assert_eq!(
            resolver.expand_app_template("{{ nope }}"),
            Err(VariableError::InvalidName("nope".into()))
        );
        assert!(matches!(
            resolver.expand_app_template("{{ host"),
            Err(VariableError::Other(_))
        ));
    }

    #[test]
    fn required_without_value_is_a_startup_error() {
        let app = app(&[("a_key", None), ("b_key", None), ("c", Some("x"))], &[]);
        let err = Resolver::new(&app, env(&[("SPIN_VARIABLE_B_KEY", "set")])).unwrap_err();
        assert_eq!(err.field, "variables.a_key");
        assert!(err.message.contains("SPIN_VARIABLE_A_KEY"), "{err}");
    }

    #[test]
    fn undeclared_template_variable_is_a_startup_error() {
        let app = app(&[("a", Some("x"))], &[("v", "{{ b }}")]);
        let err = Resolver::new(&app, |_| None).unwrap_err();
        assert_eq!(err.field, "component.cart.variables.v");
    }

    #[test]
    fn names_and_templates_follow_spin() {
        for good in ["a", "abc", "a1b2c3", "a_1", "a_1_b_3"] {
            validate_name(good).unwrap();
        }
        for bad in ["", "aX", "1bc", "_x", "x.y", "x_", "a__b", "x-y"] {
            validate_name(bad).unwrap_err();
        }
        let t = Template::parse("a-{{ x }}{{y}}-b").unwrap();
        assert_eq!(t.variables().collect::<Vec<_>>(), ["x", "y"]);
        assert!(!t.is_literal());
        assert!(Template::parse("no braces").unwrap().is_literal());
        assert!(Template::parse("{{ matched }} {{ unmatched").is_err());
        assert_eq!(env_var_name("api_key"), "SPIN_VARIABLE_API_KEY");
    }
}
