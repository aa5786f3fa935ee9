//! Key-value for WASIp2 guests: `fermyon:spin/key-value@2.0.0` and
//! `wasi:keyvalue/{store,atomics,batch}@0.2.0-draft2`, on Spin's SQLite-file store and on
//! Redis. Increment and compare-and-swap stay exact under concurrent requests, and counters
//! are stored as Spin stores them (8 little-endian bytes in the file, a Redis integer), so the
//! data stays interchangeable with real Spin.

mod support;

use serde_json::{Value, json};
use std::collections::BTreeSet;
use support::{App, Host, REDIS_URL, ensure_redis, manifest, probe_p2_component, unique_name};

const CONCURRENT: usize = 24;

fn app() -> App {
    App::new(&manifest(&format!(
        "[[trigger.http]]\nroute = \"/...\"\ncomponent = \"probe\"\n\n{}",
        probe_p2_component("probe", r#"key_value_stores = ["default", "shared"]"#)
    )))
    .with_runtime_config(&format!(
        "[key_value_store.shared]\ntype = \"redis\"\nurl = \"{REDIS_URL}\"\n"
    ))
}

fn spin_store_app() -> App {
    App::new(&manifest(&format!(
        "[[trigger.http]]\nroute = \"/...\"\ncomponent = \"probe\"\n\n{}",
        probe_p2_component("probe", r#"key_value_stores = ["default"]"#)
    )))
}

/// Sends `CONCURRENT` POSTs to `path` at once and answers their JSON replies.
fn concurrently(host: &Host, path: &str) -> Vec<Value> {
    let url = host.url(path);
    let workers: Vec<_> = (0..CONCURRENT)
        .map(|_| {
            let url = url.clone();
            std::thread::spawn(move || support::send("POST", &url, Some("")))
        })
        .collect();
    workers
        .into_iter()
        .map(|w| w.join().expect("request thread").expect_ok())
        .collect()
}

/// Every reply's `value`, which must all differ (each request saw its own step).
fn distinct_values(replies: &[Value]) -> BTreeSet<i64> {
    let values: BTreeSet<i64> = replies
        .iter()
        .map(|r| r["value"].as_i64().expect("a number"))
        .collect();
    assert_eq!(
        values.len(),
        replies.len(),
        "two requests saw one value: {replies:?}"
    );
    values
}

fn stored_in_file(app: &App, key: &str) -> Option<Vec<u8>> {
    let db = rusqlite::Connection::open(app.dir().join(".spin/sqlite_key_value.db"))
        .expect("open Spin's default key-value file");
    db.query_row(
        "SELECT value FROM spin_key_value WHERE store = 'default' AND key = ?1",
        [key],
        |row| row.get(0),
    )
    .ok()
}

fn redis_get(key: &str) -> Option<String> {
    redis::cmd("GET")
        .arg(key)
        .query(&mut support::redis_connection())
        .expect("GET")
}

#[test]
fn fermyon_key_value_sets_gets_and_denies_ungranted_stores() {
    let app = spin_store_app();
    let host = app.start();
    assert_eq!(host.get("/kv/default/cart").status, 404);
    host.request("PUT", "/kv/default/cart", Some("three apples"))
        .expect_ok();
    assert_eq!(host.get_json("/kv/default/cart")["value"], "three apples");
    assert_eq!(
        host.get_json("/wkv/default/cart")["text"],
        "three apples",
        "wasi:keyvalue and fermyon:spin/key-value see one store"
    );
    host.request("DELETE", "/kv/default/cart", None).expect_ok();
    assert_eq!(host.get("/kv/default/cart").status, 404);

    let denied = host.get("/kv/other/key");
    assert_eq!(denied.status, 500);
    assert!(denied.body.contains("AccessDenied"), "{}", denied.body);
}

#[test]
fn increments_are_exact_under_concurrency_in_the_spin_store() {
    let app = spin_store_app();
    let host = app.start();
    let key = unique_name("counter");
    let values = distinct_values(&concurrently(&host, &format!("/incr/default/{key}/1")));
    assert_eq!(values, (1..=CONCURRENT as i64).collect());
    assert_eq!(
        stored_in_file(&app, &key),
        Some((CONCURRENT as i64).to_le_bytes().to_vec()),
        "Spin keeps a counter as 8 little-endian bytes"
    );
    assert_eq!(
        host.post_json(&format!("/incr/default/{key}/-4"), &json!(null))
            .expect_ok()["value"],
        CONCURRENT as i64 - 4
    );
}

#[test]
fn increments_are_exact_under_concurrency_in_redis() {
    ensure_redis();
    let app = app();
    let host = app.start();
    let key = unique_name("fixture-p2:counter");
    let values = distinct_values(&concurrently(&host, &format!("/incr/shared/{key}/2")));
    assert_eq!(values, (1..=CONCURRENT as i64).map(|i| 2 * i).collect());
    assert_eq!(
        redis_get(&key).as_deref(),
        Some(&*(2 * CONCURRENT).to_string()),
        "a Redis integer, as INCRBY leaves it"
    );
    let _: () = redis::cmd("DEL")
        .arg(&key)
        .query(&mut support::redis_connection())
        .unwrap();
}

#[test]
fn compare_and_swap_is_exact_under_concurrency_in_the_spin_store() {
    let app = spin_store_app();
    let host = app.start();
    let key = unique_name("cas");
    let values = distinct_values(&concurrently(&host, &format!("/cas-add/default/{key}/1")));
    assert_eq!(values, (1..=CONCURRENT as i64).collect());
    assert_eq!(
        stored_in_file(&app, &key),
        Some(CONCURRENT.to_string().into_bytes())
    );
}

#[test]
fn compare_and_swap_is_exact_under_concurrency_in_redis() {
    ensure_redis();
    let app = app();
    let host = app.start();
    let key = unique_name("fixture-p2:cas");
    let values = distinct_values(&concurrently(&host, &format!("/cas-add/shared/{key}/1")));
    assert_eq!(values, (1..=CONCURRENT as i64).collect());
    assert_eq!(redis_get(&key), Some(CONCURRENT.to_string()));
    let _: () = redis::cmd("DEL")
        .arg(&key)
        .query(&mut support::redis_connection())
        .unwrap();
}

#[test]
fn only_one_of_concurrent_swaps_on_an_absent_key_wins() {
    ensure_redis();
    let app = app();
    let host = app.start();
    for store in ["default", "shared"] {
        let key = unique_name("fixture-p2:claim");
        let replies = concurrently(&host, &format!("/cas-once/{store}/{key}"));
        // Requests that read the key absent compete for it: exactly one of them may write.
        // (A later request that read the winner's value may legitimately swap after it.)
        let winners = replies
            .iter()
            .filter(|r| r["seen"].is_null() && r["swapped"] == true)
            .count();
        assert_eq!(
            winners, 1,
            "{store}: exactly one swap of an absent key wins: {replies:?}"
        );
    }
}

#[test]
fn batch_sets_gets_and_deletes_on_both_backends() {
    ensure_redis();
    let app = app();
    let host = app.start();
    for store in ["default", "shared"] {
        let (a, b) = (unique_name("fixture-p2:a"), unique_name("fixture-p2:b"));
        let got = host
            .post_json(
                &format!("/batch/{store}"),
                &json!({ "set": { &a: "1", &b: "2" }, "get": [&a, &b, "fixture-p2:absent"], "delete": [&a] }),
            )
            .expect_ok();
        assert_eq!(
            got["got"],
            json!({ &a: "1", &b: "2" }),
            "{store}: absent keys are left out, as Spin's store answers"
        );
        let got = host
            .post_json(
                &format!("/batch/{store}"),
                &json!({ "get": [&a, &b], "delete": [&b] }),
            )
            .expect_ok();
        assert_eq!(
            got["got"],
            json!({ &b: "2" }),
            "{store}: delete-many removed {a}"
        );
    }
}
