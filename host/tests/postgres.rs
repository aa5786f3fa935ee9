//! Outbound PostgreSQL (`spin:postgres@4.2.0`) against a real server on 127.0.0.1:5432
//! (started by `scripts/services postgres` when absent): DDL, parameters, typed rows,
//! structured database errors, and `allowed_outbound_hosts` enforcement.

mod support;

use serde_json::{Value, json};
use support::{
    App, Host, POSTGRES_URL, ProbeReply, ensure_postgres, manifest, probe_component, unique_name,
};

fn app() -> App {
    App::new(&manifest(&format!(
        r#"
[[trigger.http]]
route = "/db/..."
component = "db"

[[trigger.http]]
route = "/nodb/..."
component = "nodb"

{}{}"#,
        probe_component(
            "db",
            r#"allowed_outbound_hosts = ["postgres://127.0.0.1:5432"]"#
        ),
        probe_component("nodb", ""),
    )))
}

fn pg(host: &Host, prefix: &str, sql: &str, params: Value, execute: bool) -> support::Reply {
    host.post_json(
        &format!("{prefix}/pg"),
        &json!({ "url": POSTGRES_URL, "sql": sql, "params": params, "execute": execute }),
    )
}

#[test]
fn queries_round_trip_through_a_real_postgres() {
    ensure_postgres();
    let app = app();
    let host = app.start();
    let table = unique_name("fixture_items");

    let created = pg(
        &host,
        "/db",
        &format!(
            "CREATE TABLE {table} (id BIGINT PRIMARY KEY, name TEXT NOT NULL, \
             price DOUBLE PRECISION, tags JSONB, active BOOLEAN)"
        ),
        json!([]),
        true,
    );
    created.expect_ok();

    let inserted = pg(
        &host,
        "/db",
        &format!("INSERT INTO {table} (id, name, price, tags, active) VALUES ($1, $2, $3, $4, $5)"),
        json!([1, "apple", 1.5, { "color": "red" }, true]),
        true,
    )
    .expect_ok();
    assert_eq!(inserted["affected"], 1);
    pg(
        &host,
        "/db",
        &format!("INSERT INTO {table} (id, name, price, tags, active) VALUES ($1, $2, $3, $4, $5)"),
        json!([2, "pear", null, null, false]),
        true,
    )
    .expect_ok();

    let selected = pg(
        &host,
        "/db",
        &format!("SELECT id, name, price, tags, active FROM {table} WHERE id >= $1 ORDER BY id"),
        json!([1]),
        false,
    )
    .expect_ok();
    assert_eq!(
        selected["columns"],
        json!(["id", "name", "price", "tags", "active"])
    );
    assert_eq!(
        selected["rows"],
        json!([
            [1, "apple", 1.5, { "color": "red" }, true],
            [2, "pear", null, null, false]
        ])
    );

    // A unique violation reaches the guest as a structured database error (SQLSTATE 23505).
    let (error, detail) = pg(
        &host,
        "/db",
        &format!("INSERT INTO {table} (id, name) VALUES ($1, $2)"),
        json!([1, "again"]),
        true,
    )
    .expect_error(500);
    assert_eq!(error, "query-failed", "{detail}");
    assert!(
        detail.contains("23505"),
        "the SQLSTATE is reported: {detail}"
    );

    pg(
        &host,
        "/db",
        &format!("DROP TABLE {table}"),
        json!([]),
        true,
    )
    .expect_ok();
}

#[test]
fn a_host_not_in_allowed_outbound_hosts_is_refused() {
    ensure_postgres();
    let app = app();
    let host = app.start();
    let (error, detail) = pg(&host, "/nodb", "SELECT 1", json!([]), false).expect_error(500);
    assert_eq!(error, "connection-failed");
    assert!(
        detail.contains("not permitted"),
        "Spin says the address is not permitted: {detail}"
    );
}
