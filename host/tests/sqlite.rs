//! SQLite: Spin's default database (`.spin/sqlite_db.db`), parameters and typed values, SQL
//! errors as guest errors, access limited to the component's `sqlite_databases`, and
//! connections reused across requests without one guest's state reaching the next.

mod support;

use serde_json::{Value, json};
use support::{App, Host, ProbeReply, manifest, probe_component, probe_p2_component};

fn app() -> App {
    App::new(&manifest(&format!(
        "[[trigger.http]]\nroute = \"/...\"\ncomponent = \"probe\"\n\n{}",
        probe_component("probe", r#"sqlite_databases = ["default"]"#)
    )))
}

fn execute(host: &Host, db: &str, sql: &str, params: Value) -> support::Reply {
    host.post_json(
        &format!("/sqlite/{db}"),
        &json!({ "sql": sql, "params": params }),
    )
}

#[test]
fn statements_run_with_parameters_and_return_typed_rows() {
    let app = app();
    let host = app.start();

    execute(
        &host,
        "default",
        "CREATE TABLE items (id INTEGER PRIMARY KEY, name TEXT NOT NULL, price REAL)",
        json!([]),
    )
    .expect_ok();
    let inserted = execute(
        &host,
        "default",
        "INSERT INTO items (id, name, price) VALUES (?, ?, ?)",
        json!([1, "apple", 1.5]),
    )
    .expect_ok();
    assert_eq!(inserted["changes"], 1);
    execute(
        &host,
        "default",
        "INSERT INTO items (id, name, price) VALUES (?, ?, ?)",
        json!([2, "pear", null]),
    )
    .expect_ok();

    let selected = execute(
        &host,
        "default",
        "SELECT id, name, price FROM items WHERE id >= ? ORDER BY id",
        json!([1]),
    )
    .expect_ok();
    assert_eq!(selected["columns"], json!(["id", "name", "price"]));
    assert_eq!(
        selected["rows"],
        json!([[1, "apple", 1.5], [2, "pear", null]])
    );

    assert!(
        app.dir().join(".spin/sqlite_db.db").is_file(),
        "Spin keeps the default database in .spin/sqlite_db.db under the app dir"
    );
}

#[test]
fn sql_errors_and_undeclared_databases_are_guest_errors() {
    let app = app();
    let host = app.start();

    let (error, detail) = execute(&host, "default", "SELEKT nonsense", json!([])).expect_error(500);
    assert_eq!(
        error, "io",
        "SQL errors are Spin's error::io, detail {detail}"
    );
    let (error, _) = execute(&host, "other", "SELECT 1", json!([])).expect_error(403);
    assert_eq!(error, "access-denied");
}

/// Each probe request opens a connection, runs one statement and drops it; the host keeps
/// the connection for the next request (the most recent first). What a guest left on it —
/// a transaction, a pragma, a temporary table, its last insert — must not reach the next.
#[test]
fn a_reused_connection_carries_nothing_from_the_guest_before() {
    // The WASIp2 probe (spin:sqlite@3.0.0) answers last-insert-rowid too.
    let app = App::new(&manifest(&format!(
        "[[trigger.http]]\nroute = \"/...\"\ncomponent = \"probe\"\n\n{}",
        probe_p2_component("probe", r#"sqlite_databases = ["default"]"#)
    )));
    let host = app.start();
    execute(
        &host,
        "default",
        "CREATE TABLE items (id INTEGER PRIMARY KEY, name TEXT)",
        json!([]),
    )
    .expect_ok();

    let inserted = execute(
        &host,
        "default",
        "INSERT INTO items (name) VALUES ('kettle')",
        json!([]),
    )
    .expect_ok();
    assert_eq!(
        (
            inserted["changes"].clone(),
            inserted["last_insert_rowid"].clone()
        ),
        (json!(1), json!(1))
    );
    let next = execute(&host, "default", "SELECT name FROM items", json!([])).expect_ok();
    assert_eq!(next["rows"], json!([["kettle"]]));
    assert_eq!(
        (next["changes"].clone(), next["last_insert_rowid"].clone()),
        (json!(0), json!(0)),
        "a fresh connection has changed nothing and inserted nothing"
    );

    execute(&host, "default", "BEGIN", json!([])).expect_ok();
    // Were the first transaction still open, this BEGIN would fail (no nesting).
    execute(&host, "default", "BEGIN", json!([])).expect_ok();

    execute(
        &host,
        "default",
        "PRAGMA recursive_triggers = ON",
        json!([]),
    )
    .expect_ok();
    let pragma = execute(&host, "default", "PRAGMA recursive_triggers", json!([])).expect_ok();
    assert_eq!(
        pragma["rows"],
        json!([[0]]),
        "a pragma set stays with its guest"
    );

    execute(&host, "default", "CREATE TEMP TABLE scratch (x)", json!([])).expect_ok();
    let (error, detail) =
        execute(&host, "default", "SELECT x FROM scratch", json!([])).expect_error(500);
    assert!(
        format!("{error} {detail}").contains("no such table: scratch"),
        "a temporary table stays with its guest: {error} {detail}"
    );
}
