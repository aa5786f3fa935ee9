use std::fmt;
use std::path::PathBuf;

/// A configuration error that names the file and the field (used for exit code 2).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    pub file: PathBuf,
    /// Dotted path of the offending field, e.g. `component.cart.source`; empty when the
    /// error concerns the whole file (unreadable, not TOML).
    pub field: String,
    pub message: String,
}

impl ConfigError {
    pub fn new(
        file: impl Into<PathBuf>,
        field: impl Into<String>,
        message: impl Into<String>,
    ) -> Self {
        Self {
            file: file.into(),
            field: field.into(),
            message: message.into(),
        }
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.field.is_empty() {
            write!(f, "{}: {}", self.file.display(), self.message)
        } else {
            write!(
                f,
                "{}: {}: {}",
                self.file.display(),
                self.field,
                self.message
            )
        }
    }
}

impl std::error::Error for ConfigError {}

/// Reads and parses a TOML file; a syntax error names the line and column as its field.
pub(crate) fn read_toml(file: &std::path::Path) -> Result<toml::Table, ConfigError> {
    let text = std::fs::read_to_string(file)
        .map_err(|e| ConfigError::new(file, "", format!("cannot read file: {e}")))?;
    text.parse::<toml::Table>().map_err(|e| {
        let field = e
            .span()
            .map(|span| {
                let before = &text[..span.start.min(text.len())];
                let line = before.matches('\n').count() + 1;
                let column = before.len() - before.rfind('\n').map_or(0, |i| i + 1) + 1;
                format!("line {line}, column {column}")
            })
            .unwrap_or_default();
        ConfigError::new(file, field, format!("invalid TOML: {}", e.message()))
    })
}

/// Walks one TOML table, naming every field by its dotted path and rejecting the fields
/// nobody asked for (Spin's manifest and runtime-config types deny unknown fields).
pub(crate) struct Fields<'a> {
    pub file: &'a std::path::Path,
    pub path: String,
    table: &'a toml::Table,
    seen: Vec<&'a str>,
}

impl<'a> Fields<'a> {
    pub fn new(file: &'a std::path::Path, path: impl Into<String>, table: &'a toml::Table) -> Self {
        Self {
            file,
            path: path.into(),
            table,
            seen: Vec::new(),
        }
    }

    /// The dotted path of a field of this table.
    pub fn field(&self, key: &str) -> String {
        if self.path.is_empty() {
            key.to_string()
        } else {
            format!("{}.{key}", self.path)
        }
    }

    pub fn error(&self, key: &str, message: impl Into<String>) -> ConfigError {
        ConfigError::new(self.file, self.field(key), message)
    }

    pub fn get(&mut self, key: &'a str) -> Option<&'a toml::Value> {
        self.seen.push(key);
        self.table.get(key)
    }

    pub fn string(&mut self, key: &'a str) -> Result<Option<&'a str>, ConfigError> {
        match self.get(key) {
            None => Ok(None),
            Some(toml::Value::String(s)) => Ok(Some(s)),
            Some(other) => Err(self.error(key, wrong_type("a string", other))),
        }
    }

    pub fn required_string(&mut self, key: &'a str) -> Result<&'a str, ConfigError> {
        self.string(key)?
            .ok_or_else(|| self.error(key, "missing field"))
    }

    pub fn bool(&mut self, key: &'a str) -> Result<bool, ConfigError> {
        match self.get(key) {
            None => Ok(false),
            Some(toml::Value::Boolean(b)) => Ok(*b),
            Some(other) => Err(self.error(key, wrong_type("a boolean", other))),
        }
    }

    pub fn table(&mut self, key: &'a str) -> Result<Option<&'a toml::Table>, ConfigError> {
        match self.get(key) {
            None => Ok(None),
            Some(toml::Value::Table(t)) => Ok(Some(t)),
            Some(other) => Err(self.error(key, wrong_type("a table", other))),
        }
    }

    pub fn string_list(&mut self, key: &'a str) -> Result<Vec<String>, ConfigError> {
        let Some(value) = self.get(key) else {
            return Ok(Vec::new());
        };
        let toml::Value::Array(items) = value else {
            return Err(self.error(key, wrong_type("an array of strings", value)));
        };
        items
            .iter()
            .enumerate()
            .map(|(i, item)| match item {
                toml::Value::String(s) => Ok(s.clone()),
                other => Err(self.error(&format!("{key}[{i}]"), wrong_type("a string", other))),
            })
            .collect()
    }

    pub fn string_map(
        &mut self,
        key: &'a str,
    ) -> Result<std::collections::BTreeMap<String, String>, ConfigError> {
        let Some(table) = self.table(key)? else {
            return Ok(Default::default());
        };
        let field = self.field(key);
        table
            .iter()
            .map(|(name, value)| match value {
                toml::Value::String(s) => Ok((name.clone(), s.clone())),
                other => Err(ConfigError::new(
                    self.file,
                    format!("{field}.{name}"),
                    wrong_type("a string", other),
                )),
            })
            .collect()
    }

    /// Marks fields this host accepts but has no use for.
    pub fn ignore(&mut self, keys: &[&'a str]) {
        self.seen.extend_from_slice(keys);
    }

    /// The first field that no getter asked for.
    pub fn first_unknown(&self) -> Option<&'a str> {
        self.table
            .keys()
            .map(String::as_str)
            .find(|k| !self.seen.contains(k))
    }

    /// Fails on the first field that no getter asked for.
    pub fn deny_unknown(&self) -> Result<(), ConfigError> {
        match self.first_unknown() {
            Some(key) => Err(self.error(key, "unknown field")),
            None => Ok(()),
        }
    }
}

pub(crate) fn wrong_type(expected: &str, found: &toml::Value) -> String {
    format!("expected {expected}, found {}", found.type_str())
}
