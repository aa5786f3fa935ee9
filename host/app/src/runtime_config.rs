//! The runtime-config file (`--runtime-config-file`), with Spin 4.0.2's defaults: the
//! `default` key-value store in `<state dir>/sqlite_key_value.db` and the `default` SQLite
//! database in `<state dir>/sqlite_db.db`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::error::{ConfigError, Fields, read_toml, wrong_type};

const DEFAULT_LABEL: &str = "default";
const DEFAULT_KEY_VALUE_FILE: &str = "sqlite_key_value.db";
const DEFAULT_SQLITE_FILE: &str = "sqlite_db.db";

/// Top-level tables Spin knows and this host does not implement.
const UNSUPPORTED_TABLES: &[&str] = &[
    "variables_provider",
    "config_provider",
    "llm_compute",
    "outbound_networking",
    "client_tls",
    "outbound_http",
];

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuntimeConfig {
    pub key_value_stores: BTreeMap<String, KeyValueStoreConfig>,
    pub sqlite_databases: BTreeMap<String, SqliteDatabaseConfig>,
    /// The state directory (`state_dir`, default `<app dir>/.spin`); `None` when the file
    /// sets `state_dir = ""`, which makes the default store and database in-memory.
    pub state_dir: Option<PathBuf>,
    /// Where Spin writes component stdout/stderr (`log_dir`, default `<state dir>/logs`).
    pub log_dir: Option<PathBuf>,
    /// `max_instance_memory`, in bytes.
    pub max_instance_memory: Option<usize>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyValueStoreConfig {
    /// A SQLite file (Spin creates its parent directory when it opens the store).
    Spin {
        path: PathBuf,
    },
    /// `type = "spin"` without a path (or the default store without a state dir).
    SpinInMemory,
    Redis {
        url: String,
    },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SqliteDatabaseConfig {
    Spin {
        path: PathBuf,
    },
    /// `type = "spin"` without a path (or the default database without a state dir).
    SpinInMemory,
}

/// `file` None = Spin's defaults only. `state_dir` is `<app dir>/.spin`. Relative paths
/// resolve as Spin resolves them: key-value `path` against the runtime-config file's
/// directory; SQLite `path`, `state_dir` and `log_dir` against the current directory.
pub fn load_runtime_config(
    file: Option<&Path>,
    state_dir: &Path,
) -> Result<RuntimeConfig, ConfigError> {
    // Without a file, an empty one gives Spin's defaults.
    let table = match file {
        Some(file) => read_toml(file)?,
        None => toml::Table::new(),
    };
    let file = file.unwrap_or(Path::new(""));
    let file_dir = std::path::absolute(file)
        .ok()
        .and_then(|p| p.parent().map(Path::to_path_buf))
        .unwrap_or_default();
    let mut top = Fields::new(file, "", &table);

    let state_dir = match optional_dir(&mut top, "state_dir")? {
        DirSetting::Default => Some(state_dir.to_path_buf()),
        DirSetting::Unset => None,
        DirSetting::Path(p) => Some(p),
    };
    let log_dir = match optional_dir(&mut top, "log_dir")? {
        DirSetting::Default => state_dir.as_ref().map(|d| d.join("logs")),
        DirSetting::Unset => None,
        DirSetting::Path(p) => Some(p),
    };
    let max_instance_memory = match top.get("max_instance_memory") {
        None => None,
        Some(toml::Value::Integer(n)) => Some(usize::try_from(*n).map_err(|_| {
            top.error(
                "max_instance_memory",
                "must be a non-negative number of bytes",
            )
        })?),
        Some(other) => {
            return Err(top.error("max_instance_memory", wrong_type("an integer", other)));
        }
    };

    let mut key_value_stores = BTreeMap::new();
    if let Some(stores) = top.table("key_value_store")? {
        for (label, value) in stores {
            let field = format!("key_value_store.{label}");
            key_value_stores.insert(
                label.clone(),
                key_value_store(file, &field, value, &file_dir)?,
            );
        }
    }
    let mut sqlite_databases = BTreeMap::new();
    if let Some(databases) = top.table("sqlite_database")? {
        for (label, value) in databases {
            let field = format!("sqlite_database.{label}");
            sqlite_databases.insert(label.clone(), sqlite_database(file, &field, value)?);
        }
    }

    for key in UNSUPPORTED_TABLES {
        if top.get(key).is_some() {
            return Err(top.error(key, "not supported by fusion-host"));
        }
    }
    if let Some(key) = top.first_unknown() {
        return Err(top.error(key, format!("unused runtime config key(s): {key}")));
    }

    // Spin's `default` store and database, where the file does not configure them.
    key_value_stores
        .entry(DEFAULT_LABEL.into())
        .or_insert_with(|| match &state_dir {
            Some(dir) => KeyValueStoreConfig::Spin {
                path: dir.join(DEFAULT_KEY_VALUE_FILE),
            },
            None => KeyValueStoreConfig::SpinInMemory,
        });
    sqlite_databases
        .entry(DEFAULT_LABEL.into())
        .or_insert_with(|| match &state_dir {
            Some(dir) => SqliteDatabaseConfig::Spin {
                path: dir.join(DEFAULT_SQLITE_FILE),
            },
            None => SqliteDatabaseConfig::SpinInMemory,
        });
    Ok(RuntimeConfig {
        key_value_stores,
        sqlite_databases,
        state_dir,
        log_dir,
        max_instance_memory,
    })
}

enum DirSetting {
    Default,
    /// Set to "": no directory.
    Unset,
    Path(PathBuf),
}

fn optional_dir<'a>(top: &mut Fields<'a>, key: &'a str) -> Result<DirSetting, ConfigError> {
    match top.string(key)? {
        None => Ok(DirSetting::Default),
        Some("") => Ok(DirSetting::Unset),
        Some(p) => std::path::absolute(p)
            .map(DirSetting::Path)
            .map_err(|e| top.error(key, format!("cannot resolve path: {e}"))),
    }
}

/// The `type` of a store or database table, with the table's fields.
fn typed_table<'a>(
    file: &'a Path,
    field: &str,
    value: &'a toml::Value,
) -> Result<(Fields<'a>, &'a str), ConfigError> {
    let toml::Value::Table(table) = value else {
        return Err(ConfigError::new(file, field, wrong_type("a table", value)));
    };
    let mut fields = Fields::new(file, field, table);
    let kind = fields.required_string("type")?;
    Ok((fields, kind))
}

fn key_value_store(
    file: &Path,
    field: &str,
    value: &toml::Value,
    file_dir: &Path,
) -> Result<KeyValueStoreConfig, ConfigError> {
    let (mut fields, kind) = typed_table(file, field, value)?;
    let config = match kind {
        "spin" => match fields.string("path")? {
            Some(path) => KeyValueStoreConfig::Spin {
                path: file_dir.join(path),
            },
            None => KeyValueStoreConfig::SpinInMemory,
        },
        "redis" => KeyValueStoreConfig::Redis {
            url: fields.required_string("url")?.to_string(),
        },
        "azure_cosmos" | "aws_dynamo" => {
            return Err(fields.error(
                "type",
                format!("key-value store type {kind:?} is not supported by fusion-host"),
            ));
        }
        _ => {
            return Err(fields.error(
                "type",
                format!("the store type '{kind}' was not registered with the config resolver"),
            ));
        }
    };
    fields.deny_unknown()?;
    Ok(config)
}

fn sqlite_database(
    file: &Path,
    field: &str,
    value: &toml::Value,
) -> Result<SqliteDatabaseConfig, ConfigError> {
    let (mut fields, kind) = typed_table(file, field, value)?;
    let config = match kind {
        "spin" => {
            if fields.bool("allow_attach_file")? {
                return Err(fields.error("allow_attach_file", "not supported by fusion-host"));
            }
            match fields.string("path")? {
                Some(path) => SqliteDatabaseConfig::Spin {
                    path: std::path::absolute(path)
                        .map_err(|e| fields.error("path", format!("cannot resolve path: {e}")))?,
                },
                None => SqliteDatabaseConfig::SpinInMemory,
            }
        }
        "libsql" => {
            return Err(fields.error(
                "type",
                "database kind \"libsql\" is not supported by fusion-host",
            ));
        }
        _ => {
            return Err(fields.error("type", format!("Unknown database kind: {kind}")));
        }
    };
    fields.deny_unknown()?;
    Ok(config)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_files;

    #[test]
    fn defaults_without_a_file() {
        let config = load_runtime_config(None, Path::new("/app/.spin")).unwrap();
        assert_eq!(
            config.key_value_stores,
            BTreeMap::from([(
                "default".to_string(),
                KeyValueStoreConfig::Spin {
                    path: "/app/.spin/sqlite_key_value.db".into()
                }
            )])
        );
        assert_eq!(
            config.sqlite_databases,
            BTreeMap::from([(
                "default".to_string(),
                SqliteDatabaseConfig::Spin {
                    path: "/app/.spin/sqlite_db.db".into()
                }
            )])
        );
        assert_eq!(config.state_dir, Some(PathBuf::from("/app/.spin")));
        assert_eq!(config.log_dir, Some(PathBuf::from("/app/.spin/logs")));
    }

    #[test]
    fn stores_databases_and_paths() {
        let file = test_files::write(
            "runtime-config.toml",
            r#"
max_instance_memory = 1048576
[key_value_store.default]
type = "redis"
url = "redis://127.0.0.1:6379"
[key_value_store.carts]
type = "spin"
path = "data/carts.db"
[key_value_store.scratch]
type = "spin"
[sqlite_database.orders]
type = "spin"
path = "/var/orders.db"
[sqlite_database.relative]
type = "spin"
path = "rel.db"
[sqlite_database.memory]
type = "spin"
"#,
        );
        let config = load_runtime_config(Some(&file), Path::new("/app/.spin")).unwrap();
        let kv = &config.key_value_stores;
        assert_eq!(
            kv["default"],
            KeyValueStoreConfig::Redis {
                url: "redis://127.0.0.1:6379".into()
            }
        );
        assert_eq!(
            kv["carts"],
            KeyValueStoreConfig::Spin {
                path: file.parent().unwrap().join("data/carts.db")
            }
        );
        assert_eq!(kv["scratch"], KeyValueStoreConfig::SpinInMemory);
        let db = &config.sqlite_databases;
        assert_eq!(
            db["orders"],
            SqliteDatabaseConfig::Spin {
                path: "/var/orders.db".into()
            }
        );
        assert_eq!(
            db["relative"],
            SqliteDatabaseConfig::Spin {
                path: std::env::current_dir().unwrap().join("rel.db")
            }
        );
        assert_eq!(db["memory"], SqliteDatabaseConfig::SpinInMemory);
        assert_eq!(
            db["default"],
            SqliteDatabaseConfig::Spin {
                path: "/app/.spin/sqlite_db.db".into()
            }
        );
        assert_eq!(config.max_instance_memory, Some(1048576));
    }

    #[test]
    fn state_dir_setting() {
        let file = test_files::write("rc.toml", "state_dir = \"/state\"\nlog_dir = \"\"\n");
        let config = load_runtime_config(Some(&file), Path::new("/app/.spin")).unwrap();
        assert_eq!(
            config.key_value_stores["default"],
            KeyValueStoreConfig::Spin {
                path: "/state/sqlite_key_value.db".into()
            }
        );
        assert_eq!(config.log_dir, None);

        let file = test_files::write("rc.toml", "state_dir = \"\"\n");
        let config = load_runtime_config(Some(&file), Path::new("/app/.spin")).unwrap();
        assert_eq!(
            config.key_value_stores["default"],
            KeyValueStoreConfig::SpinInMemory
        );
        assert_eq!(
            config.sqlite_databases["default"],
            SqliteDatabaseConfig::SpinInMemory
        );
        assert_eq!(config.state_dir, None);
    }

    #[test]
    fn errors_name_the_field() {
        let cases = [
            (
                "[key_value_store.x]\ntype = \"mongo\"",
                "key_value_store.x.type",
                "not registered",
            ),
            (
                "[key_value_store.x]\ntype = \"azure_cosmos\"",
                "key_value_store.x.type",
                "not supported",
            ),
            (
                "[key_value_store.x]\npath = \"a.db\"",
                "key_value_store.x.type",
                "missing field",
            ),
            (
                "[key_value_store.x]\ntype = \"redis\"",
                "key_value_store.x.url",
                "missing field",
            ),
            (
                "[key_value_store.x]\ntype = \"spin\"\npth = \"a.db\"",
                "key_value_store.x.pth",
                "unknown field",
            ),
            (
                "[sqlite_database.x]\ntype = \"libsql\"",
                "sqlite_database.x.type",
                "not supported",
            ),
            (
                "[sqlite_database.x]\ntype = \"other\"",
                "sqlite_database.x.type",
                "Unknown database kind: other",
            ),
            (
                "[sqlite_database.x]\ntype = \"spin\"\nurl = \"a\"",
                "sqlite_database.x.url",
                "unknown field",
            ),
            (
                "[[variables_provider]]\ntype = \"vault\"",
                "variables_provider",
                "not supported by fusion-host",
            ),
            (
                "[llm_compute]\ntype = \"spin\"",
                "llm_compute",
                "not supported by fusion-host",
            ),
            ("baz = \"/baz\"", "baz", "unused runtime config key(s): baz"),
            ("state_dir = 1", "state_dir", "expected a string"),
            ("key_value_store = 1", "key_value_store", "expected a table"),
        ];
        for (text, field, message) in cases {
            let file = test_files::write("rc.toml", text);
            let err = load_runtime_config(Some(&file), Path::new("/app/.spin")).unwrap_err();
            assert_eq!(err.file, file);
            assert_eq!(err.field, field, "{text}: {err}");
            assert!(err.message.contains(message), "{text}: {err}");
        }
    }
}
