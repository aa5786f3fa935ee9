//! Every check fails on a drifted copy of the tree: each test edits one file in memory
//! (parsed and written back, so the edit does not hang on the files' formatting) and
//! asserts that [`check`] names that file and item, which it does not for the tree as
//! committed.

use super::*;

fn tree() -> Sources {
    Sources::read(&Sources::workspace_root()).expect("the deployment files are readable")
}

fn documents(file: &'static str, text: &str) -> Vec<Value> {
    Report::default()
        .yaml(file, text)
        .unwrap_or_else(|| panic!("{file} is YAML"))
}

fn edit_yaml(sources: &mut Sources, file: &'static str, edit: impl FnOnce(&mut Vec<Value>)) {
    let mut docs = documents(file, sources.text(file));
    edit(&mut docs);
    let text = docs
        .iter()
        .map(|doc| serde_norway::to_string(doc).expect("YAML serializes"))
        .collect::<Vec<_>>()
        .join("---\n");
    sources.set(file, text);
}

fn edit_toml(sources: &mut Sources, file: &'static str, edit: impl FnOnce(&mut toml::Table)) {
    let mut table: toml::Table = sources.text(file).parse().expect("TOML parses");
    edit(&mut table);
    sources.set(file, toml::to_string(&table).expect("TOML serializes"));
}

fn table_mut<'a>(table: &'a mut toml::Table, path: &[&str]) -> &'a mut toml::Table {
    path.iter().fold(table, |table, key| {
        table
            .get_mut(*key)
            .and_then(toml::Value::as_table_mut)
            .unwrap_or_else(|| panic!("spin.toml has a table {key}"))
    })
}

fn spec_mut(docs: &mut [Value]) -> &mut Value {
    docs[0].get_mut("spec").expect("a spec")
}

fn variables_mut(docs: &mut [Value]) -> &mut Vec<Value> {
    spec_mut(docs)
        .get_mut("variables")
        .and_then(Value::as_sequence_mut)
        .expect("spec.variables")
}

fn variable_mut<'a>(docs: &'a mut [Value], variable: &str) -> &'a mut Value {
    variables_mut(docs)
        .iter_mut()
        .find(|entry| str_at(entry, &["name"]) == Some(variable))
        .unwrap_or_else(|| panic!("the SpinApp binds {variable}"))
}

fn yaml(text: &str) -> Value {
    serde_norway::from_str(text).expect("test YAML parses")
}

/// How the tree's SpinApp binds `variable`.
fn binding(variable: &str) -> Binding {
    let sources = tree();
    let docs = documents(SPINAPP, sources.text(SPINAPP));
    let bindings = read_bindings(&docs[0], &mut Report::default());
    bindings
        .get(variable)
        .cloned()
        .unwrap_or_else(|| panic!("the SpinApp binds {variable}"))
}

fn secret_binding(variable: &str) -> SecretRef {
    match binding(variable) {
        Binding::Secret(reference) => reference,
        other => panic!("{variable} is bound to {other:?}, not a Secret"),
    }
}

fn runtime_config_secret() -> String {
    let sources = tree();
    let docs = documents(SPINAPP, sources.text(SPINAPP));
    str_at(&docs[0], &["spec", "runtimeConfig", "loadFromSecret"])
        .expect("the SpinApp loads its runtime config from a Secret")
        .to_owned()
}

/// Edits the example Secret `secret`'s `key`, in stringData.
fn edit_secret_value(
    sources: &mut Sources,
    secret: &str,
    key: &str,
    edit: impl FnOnce(&str) -> String,
) {
    edit_yaml(sources, SECRETS, |docs| {
        let doc = docs
            .iter_mut()
            .find(|doc| name(doc) == secret)
            .unwrap_or_else(|| panic!("{SECRETS} defines {secret}"));
        let value = doc
            .get_mut("stringData")
            .and_then(|data| data.get_mut(key))
            .unwrap_or_else(|| panic!("{secret} has stringData {key}"));
        let edited = edit(value.as_str().expect("a string"));
        *value = Value::from(edited);
    });
}

fn edit_runtime_config(sources: &mut Sources, edit: impl FnOnce(&mut toml::Table)) {
    let secret = runtime_config_secret();
    edit_secret_value(sources, &secret, RUNTIME_CONFIG_KEY, |text| {
        let mut table: toml::Table = text.parse().expect("the runtime config is TOML");
        edit(&mut table);
        toml::to_string(&table).expect("TOML serializes")
    });
}

fn reports(sources: &Sources, file: &str, item: &str) -> bool {
    check(sources)
        .iter()
        .any(|drift| drift.file == file && drift.item == item)
}

/// `edit` makes [`check`] report `item` of `file`, which it does not for the tree.
fn assert_drift(file: &'static str, item: &str, edit: impl FnOnce(&mut Sources)) {
    let clean = tree();
    assert!(
        !reports(&clean, file, item),
        "the committed tree already drifts at {file}: {item}: {:#?}",
        check(&clean)
    );
    let mut sources = clean;
    edit(&mut sources);
    let drifts = check(&sources);
    assert!(
        drifts
            .iter()
            .any(|drift| drift.file == file && drift.item == item),
        "expected a drift at {file}: {item}; got {drifts:#?}"
    );
}

#[test]
fn rewriting_the_files_without_an_edit_reports_nothing() {
    // So each drift below comes from its edit, not from the rewriting.
    let mut sources = tree();
    for file in [
        SPINAPP,
        SECRETS,
        SCALED_OBJECT,
        CRONJOB,
        KUSTOMIZATION,
        COMPOSE,
    ] {
        edit_yaml(&mut sources, file, |_| {});
    }
    edit_toml(&mut sources, SPIN_TOML, |_| {});
    edit_runtime_config(&mut sources, |_| {});
    assert_eq!(check(&sources), Vec::new());
}

#[test]
fn a_drifted_tree_is_described_file_by_file() {
    let mut sources = tree();
    edit_yaml(&mut sources, SPINAPP, |docs| {
        variables_mut(docs).retain(|entry| str_at(entry, &["name"]) != Some("admin_password"));
    });
    edit_yaml(&mut sources, SCALED_OBJECT, |docs| {
        *spec_mut(docs)
            .get_mut("scaleTargetRef")
            .and_then(|target| target.get_mut("name"))
            .expect("scaleTargetRef.name") = Value::from("shop");
    });
    let described: Vec<String> = check(&sources).iter().map(Drift::to_string).collect();
    assert_eq!(
        described,
        vec![
            format!(
                "{SPINAPP}: variable `admin_password`: spin.toml requires it (required = true, no default), but the SpinApp does not supply it"
            ),
            format!(
                "{SCALED_OBJECT}: spec.scaleTargetRef.name: targets `shop`, but the SpinApp's Deployment is named after the SpinApp: `fusion-commerce`"
            ),
        ]
    );
}

// --- variables ---------------------------------------------------------------------------

#[test]
fn a_required_variable_the_spinapp_drops_is_reported() {
    assert_drift(SPINAPP, "variable `jwt_secret`", |sources| {
        edit_yaml(sources, SPINAPP, |docs| {
            variables_mut(docs).retain(|entry| str_at(entry, &["name"]) != Some("jwt_secret"));
        });
    });
}

#[test]
fn a_variable_spin_toml_newly_requires_is_reported() {
    assert_drift(SPINAPP, "variable `fx_api_key`", |sources| {
        edit_toml(sources, SPIN_TOML, |manifest| {
            let mut spec = toml::Table::new();
            spec.insert("required".into(), toml::Value::Boolean(true));
            table_mut(manifest, &["variables"]).insert("fx_api_key".into(), spec.into());
        });
    });
}

#[test]
fn a_secret_variable_written_inline_is_reported() {
    assert_drift(SPINAPP, "variable `admin_password`", |sources| {
        edit_yaml(sources, SPINAPP, |docs| {
            *variable_mut(docs, "admin_password") =
                yaml("name: admin_password\nvalue: correct-horse-battery");
        });
    });
}

#[test]
fn a_variable_spin_toml_newly_marks_secret_but_the_spinapp_inlines_is_reported() {
    assert!(
        matches!(binding("admin_email"), Binding::Inline(_)),
        "the tree inlines admin_email"
    );
    assert_drift(SPINAPP, "variable `admin_email`", |sources| {
        edit_toml(sources, SPIN_TOML, |manifest| {
            table_mut(manifest, &["variables", "admin_email"])
                .insert("secret".into(), toml::Value::Boolean(true));
        });
    });
}

#[test]
fn db_url_holds_a_password_so_inlining_it_is_reported() {
    assert_drift(SPINAPP, "variable `db_url`", |sources| {
        edit_yaml(sources, SPINAPP, |docs| {
            *variable_mut(docs, "db_url") =
                yaml("name: db_url\nvalue: postgres://fusion:pw@fusion-postgres-rw:5432/fusion");
        });
    });
}

#[test]
fn an_example_secret_value_anywhere_in_the_spinapp_is_reported() {
    let reference = secret_binding("jwt_secret");
    let example = {
        let sources = tree();
        let secrets = read_secrets(
            &documents(SECRETS, sources.text(SECRETS)),
            &mut Report::default(),
        );
        lookup(&secrets, &reference)
            .expect("the example defines the jwt secret")
            .to_owned()
    };
    assert_drift(SPINAPP, &reference.to_string(), |sources| {
        edit_yaml(sources, SPINAPP, |docs| {
            // Not even in an innocent-looking variable.
            *variable_mut(docs, "admin_email") =
                yaml(&format!("name: admin_email\nvalue: {example:?}"));
        });
    });
}

#[test]
fn a_secret_document_in_spinapp_yaml_is_reported() {
    assert_drift(SPINAPP, "Secret `inline`", |sources| {
        edit_yaml(sources, SPINAPP, |docs| {
            docs.push(yaml(
                "apiVersion: v1\nkind: Secret\nmetadata:\n  name: inline\nstringData:\n  jwt-secret: x",
            ));
        });
    });
}

#[test]
fn a_variable_spin_toml_does_not_declare_is_reported() {
    assert_drift(SPINAPP, "variable `db_pool_size`", |sources| {
        edit_yaml(sources, SPINAPP, |docs| {
            variables_mut(docs).push(yaml("name: db_pool_size\nvalue: \"10\""));
        });
    });
}

#[test]
fn a_variable_removed_from_spin_toml_but_still_bound_is_reported() {
    assert!(matches!(binding("email_api_url"), Binding::Inline(_)));
    assert_drift(SPINAPP, "variable `email_api_url`", |sources| {
        edit_toml(sources, SPIN_TOML, |manifest| {
            table_mut(manifest, &["variables"]).remove("email_api_url");
        });
    });
}

#[test]
fn db_driver_other_than_postgres_is_reported() {
    assert_drift(SPINAPP, "variable `db_driver`", |sources| {
        edit_yaml(sources, SPINAPP, |docs| {
            *variable_mut(docs, "db_driver") = yaml("name: db_driver\nvalue: sqlite");
        });
    });
}

#[test]
fn payment_provider_left_to_its_default_is_reported() {
    assert_drift(SPINAPP, "variable `payment_provider`", |sources| {
        edit_yaml(sources, SPINAPP, |docs| {
            variables_mut(docs)
                .retain(|entry| str_at(entry, &["name"]) != Some("payment_provider"));
        });
    });
}

#[test]
fn db_host_other_than_the_address_of_db_url_is_reported() {
    assert_drift(SPINAPP, "variable `db_host`", |sources| {
        edit_yaml(sources, SPINAPP, |docs| {
            *variable_mut(docs, "db_host") = yaml("name: db_host\nvalue: postgres.elsewhere:5432");
        });
    });
}

// --- the runtime config ------------------------------------------------------------------

#[test]
fn a_key_value_store_a_component_newly_uses_is_reported() {
    assert_drift(SECRETS, "key-value store `sessions`", |sources| {
        edit_toml(sources, SPIN_TOML, |manifest| {
            let cart = table_mut(manifest, &["component", "cart"]);
            cart.insert(
                "key_value_stores".into(),
                toml::Value::Array(vec!["default".into(), "sessions".into()]),
            );
        });
    });
}

#[test]
fn the_default_key_value_store_missing_from_the_runtime_config_is_reported() {
    assert_drift(SECRETS, "key-value store `default`", |sources| {
        edit_runtime_config(sources, |config| {
            table_mut(config, &["key_value_store"]).remove("default");
        });
    });
}

#[test]
fn a_pod_local_key_value_store_is_reported() {
    assert_drift(SECRETS, "key-value store `default`", |sources| {
        edit_runtime_config(sources, |config| {
            let mut local = toml::Table::new();
            local.insert("type".into(), "spin".into());
            local.insert("path".into(), "/data/kv.db".into());
            table_mut(config, &["key_value_store"]).insert("default".into(), local.into());
        });
    });
}

#[test]
fn a_sqlite_label_a_component_newly_uses_is_reported() {
    assert_drift(SECRETS, "SQLite database `reviews`", |sources| {
        edit_toml(sources, SPIN_TOML, |manifest| {
            let catalog = table_mut(manifest, &["component", "catalog"]);
            catalog.insert(
                "sqlite_databases".into(),
                toml::Value::Array(vec!["catalog".into(), "reviews".into()]),
            );
        });
    });
}

#[test]
fn a_sqlite_label_missing_from_the_runtime_config_is_reported() {
    assert_drift(SECRETS, "SQLite database `orders`", |sources| {
        edit_runtime_config(sources, |config| {
            table_mut(config, &["sqlite_database"]).remove("orders");
        });
    });
}

#[test]
fn a_runtime_config_secret_the_example_does_not_define_is_reported() {
    assert_drift(
        SPINAPP,
        "Secret `fusion-runtime` key `runtime-config.toml`",
        |sources| {
            edit_yaml(sources, SPINAPP, |docs| {
                let runtime = spec_mut(docs)
                    .get_mut("runtimeConfig")
                    .expect("runtimeConfig");
                *runtime = yaml("loadFromSecret: fusion-runtime");
            });
        },
    );
}

// --- Secrets -----------------------------------------------------------------------------

#[test]
fn a_secret_key_the_spinapp_references_but_the_example_lacks_is_reported() {
    let reference = secret_binding("jwt_secret");
    let renamed = SecretRef {
        name: reference.name.clone(),
        key: "jwt-signing-key".into(),
    };
    assert_drift(SPINAPP, &renamed.to_string(), |sources| {
        edit_yaml(sources, SPINAPP, |docs| {
            *variable_mut(docs, "jwt_secret") = yaml(&format!(
                "name: jwt_secret\nvalueFrom:\n  secretKeyRef:\n    name: {}\n    key: {}",
                renamed.name, renamed.key
            ));
        });
    });
}

#[test]
fn a_secret_key_removed_from_the_example_is_reported_for_the_spinapp_and_the_cronjob() {
    let reference = secret_binding(SWEEP_KEY_VARIABLE);
    let remove = |sources: &mut Sources| {
        edit_yaml(sources, SECRETS, |docs| {
            for doc in docs.iter_mut().filter(|doc| name(doc) == reference.name) {
                if let Some(data) = doc.get_mut("stringData").and_then(Value::as_mapping_mut) {
                    data.remove(reference.key.as_str());
                }
            }
        });
    };
    assert_drift(SPINAPP, &reference.to_string(), remove);
    assert_drift(CRONJOB, &reference.to_string(), remove);
}

#[test]
fn an_example_secret_value_not_marked_as_a_placeholder_is_reported() {
    let reference = secret_binding("jwt_secret");
    assert_drift(SECRETS, &reference.to_string(), |sources| {
        edit_secret_value(sources, &reference.name, &reference.key, |_| {
            "9f86d081884c7d659a2feaa0c55ad015".into()
        });
    });
}

// --- KEDA ----------------------------------------------------------------------------------

#[test]
fn a_scaled_object_targeting_another_name_is_reported() {
    assert_drift(SCALED_OBJECT, "spec.scaleTargetRef.name", |sources| {
        edit_yaml(sources, SCALED_OBJECT, |docs| {
            let target = spec_mut(docs)
                .get_mut("scaleTargetRef")
                .and_then(|target| target.get_mut("name"))
                .expect("scaleTargetRef.name");
            *target = Value::from("fusion-commerce-api");
        });
    });
}

#[test]
fn renaming_the_spinapp_alone_is_reported_by_the_scaled_object_and_the_cronjob() {
    let rename = |sources: &mut Sources| {
        edit_yaml(sources, SPINAPP, |docs| {
            let metadata = docs[0].get_mut("metadata").expect("metadata");
            *metadata.get_mut("name").expect("a name") = Value::from("shop");
        });
    };
    assert_drift(SCALED_OBJECT, "spec.scaleTargetRef.name", rename);
    assert_drift(CRONJOB, "the app's URL", rename);
}

#[test]
fn replicas_beside_autoscaling_is_reported() {
    assert_drift(SPINAPP, "spec.replicas", |sources| {
        edit_yaml(sources, SPINAPP, |docs| {
            spec_mut(docs)
                .as_mapping_mut()
                .expect("spec")
                .insert("replicas".into(), Value::from(2));
        });
    });
}

#[test]
fn a_cpu_trigger_without_a_cpu_request_is_reported() {
    assert_drift(SPINAPP, "spec.resources.requests.cpu", |sources| {
        edit_yaml(sources, SPINAPP, |docs| {
            let requests = spec_mut(docs)
                .get_mut("resources")
                .and_then(|resources| resources.get_mut("requests"))
                .and_then(Value::as_mapping_mut)
                .expect("resources.requests");
            requests.remove("cpu");
        });
    });
}

// --- the sweep CronJob, health, kustomization, namespaces ---------------------------------

#[test]
fn a_sweep_route_spin_toml_no_longer_serves_is_reported() {
    assert_drift(CRONJOB, "POST /api/v1/campaigns/sweep", |sources| {
        edit_toml(sources, SPIN_TOML, |manifest| {
            let http = manifest
                .get_mut("trigger")
                .and_then(|trigger| trigger.get_mut("http"))
                .and_then(toml::Value::as_array_mut)
                .expect("[[trigger.http]]");
            http.retain(|trigger| {
                trigger.get("route").and_then(toml::Value::as_str) != Some("/api/v1/campaigns/...")
            });
        });
    });
}

#[test]
fn a_cronjob_taking_its_key_from_another_secret_is_reported() {
    let reference = secret_binding(SWEEP_KEY_VARIABLE);
    assert_drift(CRONJOB, &reference.to_string(), |sources| {
        edit_yaml(sources, CRONJOB, |docs| {
            let text = serde_norway::to_string(&docs[0]).expect("serializes");
            let moved = text.replace(&format!("key: {}", reference.key), "key: jwt-secret");
            assert_ne!(text, moved, "the CronJob names the key");
            docs[0] = yaml(&moved);
        });
    });
}

#[test]
fn a_cronjob_running_less_often_than_every_minute_is_reported() {
    assert_drift(CRONJOB, "spec.schedule", |sources| {
        edit_yaml(sources, CRONJOB, |docs| {
            *spec_mut(docs).get_mut("schedule").expect("schedule") = Value::from("*/5 * * * *");
        });
    });
}

#[test]
fn a_health_check_on_another_path_is_reported() {
    assert_drift(SPINAPP, "spec.checks.readiness", |sources| {
        edit_yaml(sources, SPINAPP, |docs| {
            let path = spec_mut(docs)
                .get_mut("checks")
                .and_then(|checks| checks.get_mut("readiness"))
                .and_then(|probe| probe.get_mut("httpGet"))
                .and_then(|get| get.get_mut("path"))
                .expect("checks.readiness.httpGet.path");
            *path = Value::from("/healthz");
        });
    });
}

#[test]
fn applying_the_example_secrets_with_the_app_is_reported() {
    assert_drift(KUSTOMIZATION, "secrets.example.yaml", |sources| {
        edit_yaml(sources, KUSTOMIZATION, |docs| {
            docs[0]
                .get_mut("resources")
                .and_then(Value::as_sequence_mut)
                .expect("resources")
                .push(Value::from("secrets.example.yaml"));
        });
    });
}

#[test]
fn objects_in_different_namespaces_are_reported() {
    assert_drift(SPINAPP, "metadata.namespace", |sources| {
        edit_yaml(sources, CRONJOB, |docs| {
            docs[0]
                .get_mut("metadata")
                .and_then(Value::as_mapping_mut)
                .expect("metadata")
                .insert("namespace".into(), Value::from("ops"));
        });
    });
}

#[test]
fn a_file_that_is_not_yaml_is_reported() {
    assert_drift(SPINAPP, "the file", |sources| {
        sources.set(SPINAPP, "spec: [unclosed".into());
    });
}

// --- compose -------------------------------------------------------------------------------

fn edit_postgres_service(sources: &mut Sources, edit: impl FnOnce(&mut Value)) {
    edit_yaml(sources, COMPOSE, |docs| {
        let services = docs[0]
            .get_mut("services")
            .and_then(Value::as_mapping_mut)
            .expect("services");
        let service = services
            .values_mut()
            .find(|service| {
                str_at(service, &["image"]).is_some_and(|image| image.starts_with("postgres:"))
            })
            .expect("a postgres service");
        edit(service);
    });
}

#[test]
fn a_compose_password_other_than_db_urls_is_reported() {
    assert_drift(COMPOSE, "service `postgres` POSTGRES_PASSWORD", |sources| {
        edit_postgres_service(sources, |service| {
            *service
                .get_mut("environment")
                .and_then(|env| env.get_mut("POSTGRES_PASSWORD"))
                .expect("POSTGRES_PASSWORD") = Value::from("postgres");
        });
    });
}

#[test]
fn a_db_url_default_changed_in_spin_toml_alone_is_reported() {
    assert_drift(COMPOSE, "service `postgres` POSTGRES_USER", |sources| {
        edit_toml(sources, SPIN_TOML, |manifest| {
            table_mut(manifest, &["variables", "db_url"]).insert(
                "default".into(),
                "postgres://shop:fusion@127.0.0.1:5432/fusion".into(),
            );
        });
    });
    assert_drift(COMPOSE, "service `postgres` ports", |sources| {
        edit_toml(sources, SPIN_TOML, |manifest| {
            table_mut(manifest, &["variables", "db_url"]).insert(
                "default".into(),
                "postgres://fusion:fusion@127.0.0.1:5433/fusion".into(),
            );
        });
    });
}

#[test]
fn compose_postgres_without_room_for_an_app_instance_is_reported() {
    assert_drift(COMPOSE, "service `postgres` max_connections", |sources| {
        edit_postgres_service(sources, |service| {
            *service.get_mut("command").expect("command") =
                yaml("[postgres, -c, max_connections=100]");
        });
    });
}

#[test]
fn a_compose_service_without_healthcheck_is_reported() {
    assert_drift(COMPOSE, "service `postgres`", |sources| {
        edit_postgres_service(sources, |service| {
            service
                .as_mapping_mut()
                .expect("a service")
                .remove("healthcheck");
        });
    });
}

// --- the pieces ------------------------------------------------------------------------------

#[test]
fn postgres_urls_are_split_into_their_parts() {
    let url = PgUrl::parse("postgres://fusion:s3cret@db.example:6543/shop?sslmode=require")
        .expect("parses");
    assert_eq!(url.user, "fusion");
    assert_eq!(url.password, "s3cret");
    assert_eq!(url.address(), "db.example:6543");
    assert_eq!(url.database, "shop");
    let default_port = PgUrl::parse("postgresql://u:p@h/d").expect("parses");
    assert_eq!(default_port.address(), "h:5432");
    assert_eq!(PgUrl::parse("mysql://u:p@h/d"), None);
}

#[test]
fn routes_match_as_spin_matches_them() {
    let manifest = Manifest {
        http_routes: vec!["/health".into(), "/api/v1/admin/...".into()],
        ..Manifest::default()
    };
    assert!(manifest.serves("/health"));
    assert!(!manifest.serves("/health/deep"));
    assert!(manifest.serves("/api/v1/admin/outbox/sweep"));
    assert!(manifest.serves("/api/v1/admin"));
    assert!(!manifest.serves("/api/v1/administrators"));
}

#[test]
fn compose_ports_are_read_in_every_syntax() {
    let service = yaml(
        "ports:\n  - \"127.0.0.1:5432:5432\"\n  - \"6380:6379/tcp\"\n  - 9092\n  - target: 8080\n    published: \"18080\"",
    );
    assert_eq!(
        published_ports(&service),
        vec![(5432, 5432), (6380, 6379), (9092, 9092), (18080, 8080)]
    );
}

// --- the event bridge ---------------------------------------------------------------------

/// The bridge's environment variable `name`, to edit.
fn bridge_env_mut<'a>(docs: &'a mut [Value], name: &str) -> &'a mut Value {
    docs.iter_mut()
        .find(|doc| kind(doc) == "Deployment")
        .and_then(|deployment| {
            deployment
                .get_mut("spec")?
                .get_mut("template")?
                .get_mut("spec")
        })
        .and_then(|spec| spec.get_mut("containers")?.as_sequence_mut()?.first_mut())
        .and_then(|container| container.get_mut("env")?.as_sequence_mut())
        .and_then(|env| {
            env.iter_mut()
                .find(|variable| str_at(variable, &["name"]) == Some(name))
        })
        .unwrap_or_else(|| panic!("the bridge sets {name}"))
}

#[test]
fn a_bridge_aimed_elsewhere_or_signing_with_another_key_is_reported() {
    assert_drift(BRIDGE, "FUSION_APP_URL", |sources| {
        edit_yaml(sources, BRIDGE, |docs| {
            bridge_env_mut(docs, "FUSION_APP_URL")["value"] = Value::from("http://shop");
        });
    });
    assert_drift(BRIDGE, "FUSION_EVENT_SIGNING_KEY", |sources| {
        edit_yaml(sources, BRIDGE, |docs| {
            bridge_env_mut(docs, "FUSION_EVENT_SIGNING_KEY")["valueFrom"]["secretKeyRef"]["key"] =
                Value::from("jwt-secret");
        });
    });
}

#[test]
fn a_bridge_trigger_on_a_group_that_does_not_read_its_topic_is_reported() {
    assert_drift(
        BRIDGE_SCALED_OBJECT,
        "trigger inventory-on-order-created on payment.succeeded",
        |sources| {
            edit_yaml(sources, BRIDGE_SCALED_OBJECT, |docs| {
                spec_mut(docs)["triggers"][0]["metadata"]["topic"] =
                    Value::from("payment.succeeded");
            });
        },
    );
}

#[test]
fn a_drift_names_its_file_and_item() {
    let drift = Drift {
        file: SPINAPP,
        item: "variable `jwt_secret`".into(),
        problem: "missing".into(),
    };
    assert_eq!(
        drift.to_string(),
        "infra/kubernetes/spinapp.yaml: variable `jwt_secret`: missing"
    );
}

#[test]
fn a_dashboard_metric_the_code_does_not_define_is_reported() {
    assert_drift(DASHBOARD, "fusion_outbox_lag_seconds", |sources| {
        let dashboard = sources.text(DASHBOARD).replace(
            "fusion_outbox_oldest_pending_seconds",
            "fusion_outbox_lag_seconds",
        );
        sources.set(DASHBOARD, dashboard);
    });
}

#[test]
fn a_secret_key_the_collector_mounts_must_exist() {
    assert_drift(
        COLLECTOR,
        "Secret `fusion-commerce-secrets` key `metrics-key`",
        |sources| {
            let secrets = sources.text(SECRETS).replace("metrics-key:", "scrape-key:");
            sources.set(SECRETS, secrets);
        },
    );
}
