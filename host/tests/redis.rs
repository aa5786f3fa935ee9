//! Redis against a real server on 127.0.0.1:6379 (started by `scripts/services redis` when
//! absent): outbound commands and publish from a guest, `allowed_outbound_hosts` enforcement,
//! and the Redis trigger delivering every message to its component.

mod support;

use std::time::Duration;

use serde_json::{Value, json};
use support::{
    App, Host, ProbeReply, REDIS_URL, ensure_redis, eventually, manifest, probe_component,
    redis_connection, unique_name,
};

fn outbound_app() -> App {
    App::new(&manifest(&format!(
        r#"
[[trigger.http]]
route = "/cache/..."
component = "cache"

[[trigger.http]]
route = "/nocache/..."
component = "nocache"

{}{}"#,
        probe_component(
            "cache",
            r#"allowed_outbound_hosts = ["redis://127.0.0.1:6379"]"#
        ),
        probe_component("nocache", ""),
    )))
}

fn redis_op(host: &Host, prefix: &str, op: &str, key: &str, value: &str) -> support::Reply {
    host.post_json(
        &format!("{prefix}/redis"),
        &json!({ "url": REDIS_URL, "op": op, "key": key, "value": value }),
    )
}

#[test]
fn guests_set_get_incr_and_delete() {
    ensure_redis();
    let app = outbound_app();
    let host = app.start();
    let key = unique_name("fixture:kv");
    let counter = unique_name("fixture:counter");
    let mut redis = redis_connection();

    redis_op(&host, "/cache", "set", &key, "v1").expect_ok();
    let seen: Option<String> = redis::cmd("GET").arg(&key).query(&mut redis).unwrap();
    assert_eq!(
        seen.as_deref(),
        Some("v1"),
        "the guest's SET reached the server"
    );
    assert_eq!(
        redis_op(&host, "/cache", "get", &key, "").expect_ok()["value"],
        "v1"
    );

    assert_eq!(
        redis_op(&host, "/cache", "incr", &counter, "").expect_ok()["value"],
        1
    );
    assert_eq!(
        redis_op(&host, "/cache", "incr", &counter, "").expect_ok()["value"],
        2
    );

    assert_eq!(
        redis_op(&host, "/cache", "del", &key, "").expect_ok()["value"],
        1
    );
    assert_eq!(
        redis_op(&host, "/cache", "get", &key, "").expect_ok()["value"],
        Value::Null
    );
    redis_op(&host, "/cache", "del", &counter, "").expect_ok();
}

#[test]
fn guests_publish_to_subscribers() {
    ensure_redis();
    let app = outbound_app();
    let host = app.start();
    let channel = unique_name("fixture-channel");

    let mut redis = redis_connection();
    let mut subscription = redis.as_pubsub();
    subscription.subscribe(&channel).unwrap();
    subscription
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();

    redis_op(&host, "/cache", "publish", &channel, "hello subscribers").expect_ok();
    let message = subscription
        .get_message()
        .expect("the guest's PUBLISH arrives within 10 s");
    assert_eq!(message.get_channel_name(), channel);
    assert_eq!(
        message.get_payload::<String>().unwrap(),
        "hello subscribers"
    );
}

#[test]
fn a_redis_host_not_in_allowed_outbound_hosts_is_an_invalid_address() {
    ensure_redis();
    let app = outbound_app();
    let host = app.start();
    let (error, _) = redis_op(&host, "/nocache", "get", "any", "").expect_error(500);
    assert_eq!(
        error, "invalid-address",
        "Spin refuses a disallowed address so"
    );
}

#[test]
fn the_redis_trigger_delivers_each_message_to_its_component() {
    ensure_redis();
    let channel = unique_name("fixture-trigger");
    let app = App::new(&manifest(&format!(
        r#"
[application.trigger.redis]
address = "{REDIS_URL}"

[[trigger.redis]]
channel = "{channel}"
component = "subscriber"

[[trigger.http]]
route = "/..."
component = "probe"

[component.subscriber]
source = {{subscriber}}
allowed_outbound_hosts = ["{REDIS_URL}"]

[component.subscriber.variables]
redis_url = "{REDIS_URL}"

{}"#,
        probe_component("probe", "")
    )));
    let host = app.start();
    let mut redis = redis_connection();

    // The subscription starts asynchronously: publish until the trigger has subscribed.
    let first = unique_name("first");
    eventually("the trigger to subscribe", Duration::from_secs(30), || {
        let receivers: i64 = redis::cmd("PUBLISH")
            .arg(&channel)
            .arg(&first)
            .query(&mut redis)
            .unwrap();
        (receivers > 0).then_some(())
    });

    let mut assert_recorded = |payload: &str| {
        let key = format!("fixture:received:{payload}");
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
        assert_eq!(stored, payload);
        let _: i64 = redis::cmd("DEL").arg(&key).query(&mut redis).unwrap();
    };
    assert_recorded(&first);

    let mut publisher = redis_connection();
    for payload in [unique_name("second"), unique_name("third")] {
        let receivers: i64 = redis::cmd("PUBLISH")
            .arg(&channel)
            .arg(&payload)
            .query(&mut publisher)
            .unwrap();
        assert_eq!(
            receivers, 1,
            "exactly the host's subscription receives {payload}"
        );
        assert_recorded(&payload);
    }
    drop(host);
}
