//! SQLite: Spin's default database (`.spin/sqlite_db.db`), parameters and typed values, SQL
//! errors as guest errors, and access limited to the component's `sqlite_databases`.

mod support;

use serde_json::{Value, json};
use support::{App, Host, ProbeReply, manifest, probe_component};

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
