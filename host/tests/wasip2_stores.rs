//! SQLite (`spin:sqlite@3.0.0`, `fermyon:spin/sqlite@2.0.0`), PostgreSQL
//! (`spin:postgres@4.0.0` and `@3.0.0`) and Redis (`fermyon:spin/redis@2.0.0` outbound, the
//! `fermyon:spin/inbound-redis` trigger) for WASIp2 guests, against real servers on loopback
//! (`scripts/services postgres|redis` starts them when absent).

mod support;

use serde_json::{Value, json};
use std::time::Duration;
use support::{
    App, Host, POSTGRES_URL, REDIS_URL, ensure_postgres, ensure_redis, eventually, manifest,
    probe_p2_component, redis_connection, unique_name,
};

fn app() -> App {
    App::new(&manifest(&format!(
        r#"
[[trigger.http]]
route = "/..."
component = "probe"

[[trigger.http]]
route = "/closed/..."
component = "closed"

{}{}"#,
        probe_p2_component(
            "probe",
            r#"sqlite_databases = ["default"]
allowed_outbound_hosts = ["postgres://127.0.0.1:5432", "redis://127.0.0.1:6379"]"#
        ),
        probe_p2_component("closed", ""),
    )))
}

fn sql(host: &Host, route: &str, statement: &str, params: Value) -> Value {
    host.post_json(route, &json!({ "sql": statement, "params": params }))
        .expect_ok()
}

#[test]
fn sqlite_3_0_and_2_0_share_the_database() {
    let app = app();
    let host = app.start();
    sql(
        &host,
        "/sqlite/default",
        "CREATE TABLE items (id INTEGER PRIMARY KEY, name TEXT, price REAL)",
        json!([]),
    );
    let inserted = sql(
        &host,
        "/sqlite/default",
        "INSERT INTO items (name, price) VALUES (?, ?)",
        json!(["apple", 1.5]),
    );
    assert_eq!(inserted["changes"], 1);
    assert_eq!(inserted["last_insert_rowid"], 1);
    let rows = sql(
        &host,
        "/sqlite2/default",
        "SELECT id, name, price, NULL AS missing FROM items",
        json!([]),
    );
    assert_eq!(rows["columns"], json!(["id", "name", "price", "missing"]));
    assert_eq!(rows["rows"], json!([[1, "apple", 1.5, null]]));

    let denied = host.post_json("/sqlite/other", &json!({ "sql": "SELECT 1" }));
    assert_eq!(denied.status, 500);
    assert!(denied.body.contains("AccessDenied"), "{}", denied.body);
    assert!(
        app.dir().join(".spin/sqlite_db.db").is_file(),
        "Spin's default database file"
    );
}

#[test]
fn postgres_4_0_and_3_0_round_trip_with_spin_type_mapping() {
    ensure_postgres();
    let app = app();
    let host = app.start();
    let table = unique_name("fixture_p2_items");
    let pg = |route: &str, statement: &str, params: Value, execute: bool| {
        host.post_json(
            route,
            &json!({ "url": POSTGRES_URL, "sql": statement, "params": params, "execute": execute }),
        )
    };
    pg(
        "/pg",
        &format!(
            "CREATE TABLE {table} (id BIGINT PRIMARY KEY, name TEXT, ref UUID, price NUMERIC(10,2))"
        ),
        json!([]),
        true,
    )
    .expect_ok();
    let inserted = pg(
        "/pg",
        &format!(
            "INSERT INTO {table} VALUES ($1, $2, gen_random_uuid(), 12.50), (2, NULL, NULL, NULL)"
        ),
        json!([1, "apple"]),
        true,
    )
    .expect_ok();
    assert_eq!(inserted["affected"], 2);

    let rows = pg(
        "/pg",
        &format!("SELECT id, name, price FROM {table} ORDER BY id"),
        json!([]),
        false,
    )
    .expect_ok();
    assert_eq!(
        rows["rows"],
        json!([[1, "apple", "12.50"], [2, null, null]])
    );
    assert_eq!(rows["columns"][2]["type"], "DbDataType::Decimal");

    // 3.0.0 has no decimal or uuid: Spin answers `unsupported` and `other`.
    let rows = pg(
        "/pg3",
        &format!("SELECT id, name, ref FROM {table} WHERE id = $1"),
        json!([1]),
        false,
    )
    .expect_ok();
    assert_eq!(rows["rows"][0][0], 1);
    assert_eq!(rows["rows"][0][1], "apple");
    assert_eq!(rows["rows"][0][2], "DbValue::Unsupported");
    assert_eq!(rows["columns"][2]["type"], "DbDataType::Other");

    let failed = pg(
        "/pg",
        "SELECT * FROM fixture_p2_no_such_table",
        json!([]),
        false,
    );
    assert_eq!(failed.status, 500);
    assert!(
        failed.body.contains("42P01"),
        "a structured database error: {}",
        failed.body
    );

    let denied = pg("/closed/pg", "SELECT 1", json!([]), false);
    assert_eq!(denied.status, 500);
    assert!(denied.body.contains("ConnectionFailed"), "{}", denied.body);

    pg("/pg", &format!("DROP TABLE {table}"), json!([]), true).expect_ok();
}

#[test]
fn redis_outbound_commands_and_denial() {
    ensure_redis();
    let app = app();
    let host = app.start();
    let key = unique_name("fixture-p2:kv");
    let op = |route: &str, op: &str, value: &str| {
        host.post_json(
            route,
            &json!({ "url": REDIS_URL, "op": op, "key": key, "value": value }),
        )
    };
    op("/redis", "set", "v1").expect_ok();
    assert_eq!(op("/redis", "get", "").expect_ok()["value"], "v1");
    assert_eq!(op("/redis", "del", "").expect_ok()["value"], 1);
    assert_eq!(op("/redis", "incr", "").expect_ok()["value"], 1);
    assert_eq!(op("/redis", "incr", "").expect_ok()["value"], 2);
    op("/redis", "del", "").expect_ok();

    let denied = op("/closed/redis", "get", "");
    assert_eq!(denied.status, 500);
    assert!(denied.body.contains("InvalidAddress"), "{}", denied.body);
}

#[test]
fn the_redis_trigger_delivers_each_message_to_a_wasip2_component() {
    ensure_redis();
    let channel = unique_name("fixture-p2-trigger");
    let app = App::new(&manifest(&format!(
        r#"
[application.trigger.redis]
address = "{REDIS_URL}"

[[trigger.redis]]
channel = "{channel}"
component = "subscriber"

[component.subscriber]
source = {{subscriber_p2}}
allowed_outbound_hosts = ["{REDIS_URL}"]

[component.subscriber.variables]
redis_url = "{REDIS_URL}"
"#
    )));
    let host = app.start();
    let mut redis = redis_connection();

    let first = unique_name("first");
    eventually("the trigger to subscribe", Duration::from_secs(30), || {
        let receivers: i64 = redis::cmd("PUBLISH")
            .arg(&channel)
            .arg(&first)
            .query(&mut redis)
            .unwrap();
        (receivers > 0).then_some(())
    });
    let mut publisher = redis_connection();
    // A failing handler is logged and the trigger goes on (Spin's at-most-once delivery).
    let _: i64 = redis::cmd("PUBLISH")
        .arg(&channel)
        .arg("fail")
        .query(&mut publisher)
        .unwrap();
    let second = unique_name("second");
    let _: i64 = redis::cmd("PUBLISH")
        .arg(&channel)
        .arg(&second)
        .query(&mut publisher)
        .unwrap();
    for payload in [&first, &second] {
        let key = format!("fixture-p2:received:{payload}");
        let stored = eventually(
            &format!("the subscriber to record {payload}"),
            Duration::from_secs(10),
            || {
                redis::cmd("GET")
                    .arg(&key)
                    .query::<Option<String>>(&mut redis)
                    .unwrap()
            },
        );
        assert_eq!(&stored, payload);
        let _: i64 = redis::cmd("DEL").arg(&key).query(&mut redis).unwrap();
    }
    assert!(
        host.output().contains("handler returned an error"),
        "the failure is logged:\n{}",
        host.output()
    );
}
