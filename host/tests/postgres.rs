//! Outbound PostgreSQL (`spin:postgres@4.2.0`) against a real server on 127.0.0.1:5432
//! (started by `scripts/services postgres` when absent): DDL, parameters, typed rows,
//! structured database errors, `allowed_outbound_hosts` enforcement, pooled connections
//! handed on clean; TLS against a throwaway cluster with its own CA.

mod support;

use serde_json::{Value, json};
use support::{
    App, Host, POSTGRES_URL, ProbeReply, TlsPostgres, ensure_postgres, manifest, probe_component,
    unique_name,
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

/// Each probe request opens a connection, runs one statement and drops it; the pool hands
/// the same connection to the next request. A transaction the first left open must not
/// reach the second (whose `COMMIT` would commit the first's writes).
#[test]
fn a_transaction_left_open_ends_with_its_guest() {
    ensure_postgres();
    let app = app();
    let host = app.start();
    pg(&host, "/db", "BEGIN", json!([]), true).expect_ok();
    pg(&host, "/db", "VACUUM pg_catalog.pg_am", json!([]), true).expect_ok(); // VACUUM cannot run inside a transaction block
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

/// Whether the connection at `url` is encrypted, as the server sees it; with `ca_root`
/// set on a connection builder.
fn over_tls(host: &Host, url: &str, ca_root: Option<&str>) -> support::Reply {
    host.post_json(
        "/db/pg",
        &json!({
            "url": url,
            "sql": "SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()",
            "ca_root": ca_root,
        }),
    )
}

#[test]
fn tls_is_chosen_by_sslmode_and_verifies_the_server_as_spin_does() {
    let server = TlsPostgres::start();
    let app = App::new(&manifest(&format!(
        "[[trigger.http]]\nroute = \"/db/...\"\ncomponent = \"db\"\n\n{}",
        probe_component(
            "db",
            &format!(
                r#"allowed_outbound_hosts = ["postgres://127.0.0.1:5432", "postgres://127.0.0.1:{0}", "postgres://localhost:{0}"]"#,
                server.port()
            )
        ),
    )));
    let ca_pem = std::fs::read_to_string(server.ca_file()).expect("read the CA certificate");

    let host = app.start();
    // The server's CA is not among the system's roots: the handshake fails, and `prefer`
    // does not fall back to plain text after a failed handshake.
    for sslmode in ["require", "prefer"] {
        let (error, detail) = over_tls(&host, &server.url(sslmode), None).expect_error(500);
        assert_eq!(error, "connection-failed", "sslmode={sslmode}: {detail}");
        assert!(
            detail.contains("invalid peer certificate: UnknownIssuer"),
            "sslmode={sslmode}: the certificate is refused: {detail}"
        );
    }
    // The guest's root (`set-ca-root`) is trusted for its connection.
    let reply = over_tls(&host, &server.url("require"), Some(&ca_pem)).expect_ok();
    assert_eq!(reply["rows"], json!([[true]]));
    // `disable` is plain text: the TLS-only server refuses it, the plain one answers.
    let (error, detail) = over_tls(&host, &server.url("disable"), None).expect_error(500);
    assert_eq!(error, "connection-failed", "{detail}");
    let reply = over_tls(&host, &format!("{POSTGRES_URL}?sslmode=disable"), None).expect_ok();
    assert_eq!(reply["rows"], json!([[false]]));
    drop(host);

    // SSL_CERT_FILE replaces the system's roots, as with OpenSSL (Spin's native-tls).
    let ca_file = server.ca_file().display().to_string();
    let host = app.start_with_env(&[("SSL_CERT_FILE", ca_file.as_str())]);
    for sslmode in ["require", "prefer"] {
        let reply = over_tls(&host, &server.url(sslmode), None).expect_ok();
        assert_eq!(reply["rows"], json!([[true]]), "sslmode={sslmode}");
    }
    // The certificate names 127.0.0.1 only: the server's name is verified too.
    let by_name = server.url("require").replace("127.0.0.1", "localhost");
    let (error, detail) = over_tls(&host, &by_name, None).expect_error(500);
    assert_eq!(error, "connection-failed", "{detail}");
    assert!(detail.contains("not valid for name"), "{detail}");
}
