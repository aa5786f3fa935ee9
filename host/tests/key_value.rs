//! Key-value: Spin's default store (a SQLite file under `.spin/` in the app directory) kept
//! across a host restart, named stores from the runtime config, and access limited to the
//! component's `key_value_stores`.

mod support;

use support::{App, ProbeReply, manifest, probe_component};

fn app(stores: &str) -> App {
    App::new(&manifest(&format!(
        "[[trigger.http]]\nroute = \"/...\"\ncomponent = \"probe\"\n\n{}",
        probe_component("probe", &format!("key_value_stores = {stores}"))
    )))
}

#[test]
fn the_default_store_persists_across_a_host_restart() {
    let app = app(r#"["default"]"#);

    let host = app.start();
    assert_eq!(
        host.get("/kv/default/cart").status,
        404,
        "a fresh store is empty"
    );
    host.request("PUT", "/kv/default/cart", Some("three apples"))
        .expect_ok();
    assert_eq!(host.get_json("/kv/default/cart")["value"], "three apples");
    let status = host.terminate();
    assert_eq!(status.code(), Some(0));

    assert!(
        app.dir().join(".spin/sqlite_key_value.db").is_file(),
        "Spin keeps the default store in .spin/sqlite_key_value.db under the app dir"
    );

    let host = app.start();
    assert_eq!(host.get_json("/kv/default/cart")["value"], "three apples");
    host.request("DELETE", "/kv/default/cart", None).expect_ok();
    assert_eq!(host.get("/kv/default/cart").status, 404);
}

#[test]
fn a_store_not_granted_to_the_component_is_access_denied() {
    let app = app(r#"["default"]"#);
    let host = app.start();
    let (error, _) = host.get("/kv/other/key").expect_error(403);
    assert_eq!(error, "access-denied");
    let (error, _) = host
        .request("PUT", "/kv/other/key", Some("value"))
        .expect_error(403);
    assert_eq!(error, "access-denied");
}

#[test]
fn named_stores_come_from_the_runtime_config() {
    let app = app(r#"["default", "carts"]"#).with_runtime_config(
        r#"
[key_value_store.carts]
type = "spin"
path = "{dir}/carts.db"
"#,
    );
    let host = app.start();
    host.request("PUT", "/kv/carts/c1", Some("in the carts store"))
        .expect_ok();
    assert_eq!(host.get_json("/kv/carts/c1")["value"], "in the carts store");
    assert_eq!(
        host.get("/kv/default/c1").status,
        404,
        "stores are separate namespaces"
    );
    assert!(
        app.dir().join("carts.db").is_file(),
        "the store lives at its configured path"
    );
}
