//! `event_transport = kafka` and `redis`: the app and the bridge on a real broker (tansu,
//! `scripts/services kafka`; Redis, `scripts/services streams`), each scenario on each.
//! The saga end to end, another system's consumer group reading the app's events, a
//! record that is no event, a broker restarted mid-flow, handlers down, and an event its
//! handler refuses.

use acceptance::bridge::{Bridge, Engine, HandlerGate, bus_shop, bus_shop_with};
use acceptance::{
    Client, HttpStub, Shop, Store, WEBHOOK_SECRET, items, order_reaching, place_order, stock_of,
    stocked_product, text,
};
use rdkafka::config::ClientConfig;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::message::{BorrowedMessage, Headers};
use rdkafka::producer::{BaseProducer, BaseRecord, Producer};
use rdkafka::{Message, Offset, TopicPartitionList};
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::sync::{RwLock, RwLockReadGuard, RwLockWriteGuard};
use std::time::{Duration, Instant};

/// Each scenario as `<engine>::<store>::<scenario>`. Those the app's store takes part in
/// (its outbox's claims and settles on the way out, the dead letters it lists and
/// replays) run on both stores; those that are the bridge's and the broker's alone on
/// one, each store taking some.
macro_rules! on_each_engine {
    (both: [$($both:ident),*], sqlite: [$($lite:ident),*], postgres: [$($pg:ident),*] $(,)?) => {
        on_each_engine!(@engine kafka Kafka [$($both),*] [$($lite),*] [$($pg),*]);
        on_each_engine!(@engine redis Redis [$($both),*] [$($lite),*] [$($pg),*]);
    };
    (@engine $module:ident $engine:ident [$($both:ident),*] [$($lite:ident),*] [$($pg:ident),*]) => {
        mod $module {
            on_each_engine!(@store sqlite Sqlite $engine [$($both,)* $($lite),*]);
            on_each_engine!(@store postgres Postgres $engine [$($both,)* $($pg),*]);
        }
    };
    (@store $module:ident $store:ident $engine:ident [$($name:ident),*]) => {
        mod $module {
            $(
                #[test]
                fn $name() {
                    super::super::$name(
                        acceptance::bridge::Engine::$engine,
                        acceptance::Store::$store,
                    );
                }
            )*
        }
    };
}

on_each_engine! {
    both: [
        an_order_is_paid_through_the_bus,
        an_event_its_handler_refuses_is_listed_and_replayed_to_that_handler_alone
    ],
    sqlite: [
        a_record_that_is_no_event_is_dead_lettered_and_the_group_goes_on,
        while_the_handlers_are_down_the_lag_grows_then_drains
    ],
    postgres: [
        another_systems_consumer_group_reads_order_created_as_a_cloudevent,
        a_broker_restarted_mid_flow_loses_no_event
    ],
}

/// Each broker all tests of this file share: the restart test has it alone, the others
/// side by side.
static KAFKA: RwLock<()> = RwLock::new(());
static REDIS: RwLock<()> = RwLock::new(());

fn lock_of(engine: Engine) -> &'static RwLock<()> {
    match engine {
        Engine::Kafka => &KAFKA,
        Engine::Redis => &REDIS,
    }
}

fn broker_shared(engine: Engine) -> RwLockReadGuard<'static, ()> {
    lock_of(engine)
        .read()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

fn broker_alone(engine: Engine) -> RwLockWriteGuard<'static, ()> {
    lock_of(engine)
        .write()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// A record as a plain client of the broker reads it: its key, headers (Kafka) or
/// fields (Redis), and value.
#[derive(Debug)]
struct Read {
    key: String,
    headers: BTreeMap<String, String>,
    value: Vec<u8>,
}

/// The first record of `topic` (its name on the broker) that `wanted` accepts, read from
/// the start as a new consumer group of another system does (see [`soon`]).
fn read_as_a_group<T>(engine: Engine, topic: &str, wanted: impl Fn(&Read) -> Option<T>) -> T {
    match engine {
        Engine::Kafka => {
            let consumer = group_reader(topic);
            read_until(&consumer, |message| wanted(&read_of(message)))
        }
        Engine::Redis => {
            let mut connection = streams();
            let group = testing::unique_name("analytics");
            let () = ::redis::cmd("XGROUP")
                .arg("CREATE")
                .arg(topic)
                .arg(&group)
                .arg("0")
                .query(&mut connection)
                .expect("a group");
            soon("the record", || {
                let reply: ::redis::Value = ::redis::cmd("XREADGROUP")
                    .arg("GROUP")
                    .arg(&group)
                    .arg("reader")
                    .arg("COUNT")
                    .arg(100)
                    .arg("STREAMS")
                    .arg(topic)
                    .arg(">")
                    .query(&mut connection)
                    .expect("XREADGROUP");
                entries_of(&reply).iter().find_map(&wanted)
            })
        }
    }
}

/// The first record of `topic` that `wanted` accepts, read without a group.
fn read_topic<T>(engine: Engine, topic: &str, wanted: impl Fn(&Read) -> Option<T>) -> T {
    match engine {
        Engine::Kafka => {
            let consumer = reader(topic);
            read_until(&consumer, |message| wanted(&read_of(message)))
        }
        Engine::Redis => {
            let mut connection = streams();
            soon("the record", || {
                let reply: ::redis::Value = ::redis::cmd("XRANGE")
                    .arg(topic)
                    .arg("-")
                    .arg("+")
                    .query(&mut connection)
                    .expect("XRANGE");
                entries_of(&::redis::Value::Array(vec![::redis::Value::Array(vec![
                    ::redis::Value::Nil,
                    reply,
                ])]))
                .iter()
                .find_map(&wanted)
            })
        }
    }
}

/// Appends a record that is no CloudEvent to `topic`, as a stray producer might.
fn produce_no_event(engine: Engine, topic: &str, key: &str, value: &str) {
    match engine {
        Engine::Kafka => {
            let producer: BaseProducer = ClientConfig::new()
                .set("bootstrap.servers", testing::KAFKA_ADDR)
                .create()
                .expect("a producer");
            producer
                .send(BaseRecord::to(topic).key(key).payload(value))
                .expect("queued");
            producer.flush(Duration::from_secs(10)).expect("produced");
        }
        Engine::Redis => {
            let _: String = ::redis::cmd("XADD")
                .arg(topic)
                .arg("*")
                .arg("key")
                .arg(key)
                .arg("data")
                .arg(value)
                .query(&mut streams())
                .expect("XADD");
        }
    }
}

fn streams() -> ::redis::Connection {
    ::redis::Client::open(testing::STREAMS_URL)
        .and_then(|client| client.get_connection())
        .expect("a connection to the Streams broker")
}

/// The entries of an XREADGROUP-shaped reply (`[[stream, [[id, [field, value, ...]]]]]`).
fn entries_of(reply: &::redis::Value) -> Vec<Read> {
    let text = |value: &::redis::Value| match value {
        ::redis::Value::BulkString(bytes) => bytes.clone(),
        _ => Vec::new(),
    };
    let ::redis::Value::Array(streams) = reply else {
        return Vec::new();
    };
    let mut found = Vec::new();
    for stream in streams {
        let ::redis::Value::Array(parts) = stream else {
            continue;
        };
        let Some(::redis::Value::Array(entries)) = parts.get(1) else {
            continue;
        };
        for entry in entries {
            let ::redis::Value::Array(entry) = entry else {
                continue;
            };
            let Some(::redis::Value::Array(fields)) = entry.get(1) else {
                continue;
            };
            let mut read = Read {
                key: String::new(),
                headers: BTreeMap::new(),
                value: Vec::new(),
            };
            for pair in fields.chunks(2) {
                let [name, value] = pair else { continue };
                let name = String::from_utf8_lossy(&text(name)).into_owned();
                match name.as_str() {
                    "key" => read.key = String::from_utf8_lossy(&text(value)).into_owned(),
                    "data" => read.value = text(value),
                    _ => {
                        read.headers
                            .insert(name, String::from_utf8_lossy(&text(value)).into_owned());
                    }
                }
            }
            found.push(read);
        }
    }
    found
}

fn read_of(message: &BorrowedMessage) -> Read {
    let headers = message.headers().map_or_else(BTreeMap::new, |headers| {
        headers
            .iter()
            .map(|header| {
                (
                    header.key.to_owned(),
                    String::from_utf8_lossy(header.value.unwrap_or_default()).into_owned(),
                )
            })
            .collect()
    });
    Read {
        key: String::from_utf8_lossy(message.key().unwrap_or_default()).into_owned(),
        headers,
        value: message.payload().unwrap_or_default().to_vec(),
    }
}

/// A consumer reading every partition of `topic` from the start, in no group (a group's
/// first join costs the broker seconds).
fn reader(topic: &str) -> BaseConsumer {
    let consumer: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", testing::KAFKA_ADDR)
        .set(
            "group.id",
            "unused: partitions are assigned, nothing is committed",
        )
        .set("enable.auto.commit", "false")
        .create()
        .expect("a consumer");
    let metadata = consumer
        .fetch_metadata(Some(topic), Duration::from_secs(10))
        .expect("the topic's metadata");
    let mut partitions = TopicPartitionList::new();
    for partition in metadata.topics()[0].partitions() {
        partitions
            .add_partition_offset(topic, partition.id(), Offset::Beginning)
            .expect("a partition");
    }
    consumer.assign(&partitions).expect("assign");
    consumer
}

/// A consumer of its own group reading `topic` from the start.
fn group_reader(topic: &str) -> BaseConsumer {
    let consumer: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", testing::KAFKA_ADDR)
        .set("group.id", testing::unique_name("analytics"))
        .set("auto.offset.reset", "earliest")
        // tansu holds a new group's first join for about its session timeout
        // (librdkafka's default is 45 s): a short one keeps each read to seconds.
        .set("session.timeout.ms", "6000")
        .create()
        .expect("a consumer");
    consumer.subscribe(&[topic]).expect("subscribe");
    consumer
}

/// The first `Some` that `check` gives, polled for up to two minutes, not the suite's
/// 20 s: after the broker restart test's restart, the bridge reconnects and its groups
/// join again before events flow; and a new group's first join on tansu, with other
/// groups joining at once, once took over a minute on this machine.
fn soon<T>(what: &str, mut check: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + Duration::from_secs(120);
    while Instant::now() < deadline {
        if let Some(found) = check() {
            return found;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    panic!("{what}: not within two minutes");
}

/// The first record `consumer` reads that `wanted` accepts (see [`soon`]).
fn read_until<T>(consumer: &BaseConsumer, wanted: impl Fn(&BorrowedMessage) -> Option<T>) -> T {
    soon("the record", || {
        match consumer.poll(Duration::from_millis(200)) {
            Some(Ok(message)) => wanted(&message),
            _ => None,
        }
    })
}

/// Waits for the order to be paid (see [`soon`]), then checks it as everywhere else.
fn paid(client: &Client, order_id: &str) {
    soon(&format!("order {order_id} paid"), || {
        (client.get(&format!("/api/v1/orders/{order_id}")).json()["status"] == "paid").then_some(())
    });
    order_reaching(client, order_id, "paid");
}

/// Waits until `sku`'s stock is `on_hand` with nothing reserved: the inventory's commit
/// of a payment comes through its own group, apart from the order's.
fn stock_settles_at(admin: &Client, sku: &str, on_hand: i64) {
    soon(&format!("{sku} at {on_hand} on hand"), || {
        let stock = stock_of(admin, sku);
        (stock["on_hand"] == on_hand && stock["reserved"] == 0).then_some(())
    });
}

fn an_order_is_paid_through_the_bus(engine: Engine, store: Store) {
    let _broker = broker_shared(engine);
    let (shop, _bridge) = bus_shop(engine, store);
    let admin = shop.admin();
    stocked_product(&admin, "KAFKA-1", 300, 5);
    let customer = shop.customer();
    let order = place_order(&customer.client, &[("KAFKA-1", 2)], "tok_visa");
    paid(&customer.client, &text(&order, "id"));
    stock_settles_at(&admin, "KAFKA-1", 3);
}

fn another_systems_consumer_group_reads_order_created_as_a_cloudevent(
    engine: Engine,
    store: Store,
) {
    let _broker = broker_shared(engine);
    let (shop, bridge) = bus_shop(engine, store);
    let admin = shop.admin();
    stocked_product(&admin, "KAFKA-2", 300, 5);
    let customer = shop.customer();
    let order = place_order(&customer.client, &[("KAFKA-2", 1)], "tok_visa");
    let order_id = text(&order, "id");

    let read = read_as_a_group(engine, &bridge.topic("order.created"), |read| {
        let data: Value = serde_json::from_slice(&read.value).ok()?;
        (read.key == order_id).then(|| (read.headers.clone(), data))
    });
    let (headers, data) = read;
    let header = |name: &str| headers.get(name).map(String::as_str);
    assert_eq!(header("ce_specversion"), Some("1.0"), "{headers:?}");
    assert_eq!(header("ce_type"), Some("order.created"));
    assert!(header("ce_id").is_some() && header("ce_source").is_some());
    assert_eq!(header("ce_subject"), Some(order_id.as_str()));
    assert_eq!(header("ce_tenant"), Some("default"));
    assert!(header("ce_correlationid").is_some(), "{headers:?}");
    // The order's trace context, as the CloudEvents extension and as W3C's own header.
    let traceparent = header("ce_traceparent").expect("a trace context");
    assert!(kit::trace::is_traceparent(traceparent), "{headers:?}");
    assert_eq!(header("traceparent"), Some(traceparent));
    assert_eq!(header("content-type"), Some("application/json"));
    assert_eq!(data["order_id"], order_id, "{data}");
    paid(&customer.client, &order_id);
}

fn a_record_that_is_no_event_is_dead_lettered_and_the_group_goes_on(engine: Engine, store: Store) {
    let _broker = broker_shared(engine);
    let (shop, bridge) = bus_shop(engine, store);
    let topic = bridge.topic("order.created");
    produce_no_event(engine, &topic, "poison", "not a cloudevent");

    // The group goes on: an order placed after the poison is paid.
    let admin = shop.admin();
    stocked_product(&admin, "KAFKA-3", 300, 5);
    let customer = shop.customer();
    let order = place_order(&customer.client, &[("KAFKA-3", 1)], "tok_visa");
    paid(&customer.client, &text(&order, "id"));

    let dead = bridge.topic("inventory-on-order-created.dead-letters");
    let (error, from) = read_topic(engine, &dead, |read| {
        (read.key == "poison").then(|| {
            let header = |name: &str| read.headers.get(name).cloned().unwrap_or_default();
            (header("fusion_error"), header("fusion_topic"))
        })
    });
    assert!(error.contains("not an event"), "{error}");
    assert_eq!(from, topic);
}

fn a_broker_restarted_mid_flow_loses_no_event(engine: Engine, store: Store) {
    let _broker = broker_alone(engine);
    let (shop, _bridge): (Shop, Bridge) = bus_shop(engine, store);
    let admin = shop.admin();
    stocked_product(&admin, "KAFKA-4", 300, 50);
    // Eight orders: one customer's eleventh in ten minutes would wait for fraud review.
    let customer = shop.customer();
    let orders: Vec<String> = (0..5)
        .map(|_| {
            text(
                &place_order(&customer.client, &[("KAFKA-4", 1)], "tok_visa"),
                "id",
            )
        })
        .collect();
    engine.restart();
    let more: Vec<String> = (0..3)
        .map(|_| {
            text(
                &place_order(&customer.client, &[("KAFKA-4", 1)], "tok_visa"),
                "id",
            )
        })
        .collect();
    for order_id in orders.iter().chain(&more) {
        paid(&customer.client, order_id);
    }
    stock_settles_at(&admin, "KAFKA-4", 42);
}

/// The lag `bridge` reports for `handler`'s group on `topic`.
fn lag_of(bridge: &Bridge, handler: &str, topic: &str) -> Option<i64> {
    let (status, lag) = bridge.status("/lag")?;
    assert_eq!(status, 200, "{lag}");
    let topic = bridge.topic(topic);
    lag["groups"]
        .as_array()?
        .iter()
        .find(|group| group["handler"] == handler && group["topic"] == topic.as_str())?["lag"]
        .as_i64()
}

fn while_the_handlers_are_down_the_lag_grows_then_drains(engine: Engine, store: Store) {
    let _broker = broker_shared(engine);
    let shop = Shop::start_with(store, &[("event_transport", engine.transport())]);
    let gate = HandlerGate::before(&shop);
    let bridge = Bridge::start_at(gate.url(), engine);
    soon("the bridge healthy", || {
        bridge
            .status("/health")
            .filter(|(status, _)| *status == 200)
    });
    let admin = shop.admin();
    stocked_product(&admin, "KAFKA-5", 300, 5);

    gate.set_closed(true);
    let customer = shop.customer();
    let mut orders = Vec::new();
    // One at a time, each relayed to the bus and waiting there before the next: so the
    // lag is seen growing (and tansu 0.6 undercounts the high watermark of a partition
    // that took two records in one batch).
    for waiting in 1..=3 {
        let order = place_order(&customer.client, &[("KAFKA-5", 1)], "tok_visa");
        orders.push(text(&order, "id"));
        soon(
            &format!("{waiting} order(s) waiting for the inventory"),
            || {
                (lag_of(&bridge, "inventory-on-order-created", "order.created") == Some(waiting))
                    .then_some(())
            },
        );
    }
    let (status, health) = bridge.status("/health").expect("the bridge's health");
    assert_eq!(status, 503, "{health}");
    assert!(
        health["handlers_waited_for"]["inventory-on-order-created"]
            .as_str()
            .is_some_and(|why| why.contains("503")),
        "{health}"
    );
    for order_id in &orders {
        let order = customer
            .client
            .get(&format!("/api/v1/orders/{order_id}"))
            .json();
        assert_eq!(order["status"], "pending", "{order}");
    }

    gate.set_closed(false);
    for order_id in &orders {
        paid(&customer.client, order_id);
    }
    soon("the lag drained", || {
        (lag_of(&bridge, "inventory-on-order-created", "order.created") == Some(0)).then_some(())
    });
    stock_settles_at(&admin, "KAFKA-5", 2);
}

/// A provider refusing our credentials: the payments handler refuses the charge's event
/// (a 4xx, a dead letter at once). On the bus it goes to the group's dead-letter topic,
/// and the app lists it among its own dead letters (in the handler's context); replayed
/// once the provider takes it, the relay hands it to that handler alone.
fn an_event_its_handler_refuses_is_listed_and_replayed_to_that_handler_alone(
    engine: Engine,
    store: Store,
) {
    let _broker = broker_shared(engine);
    let stub = HttpStub::start(vec![(
        401,
        json!({ "error": { "type": "invalid_request_error", "message": "Invalid API Key provided" } }),
    )]);
    let (shop, bridge) = bus_shop_with(
        engine,
        store,
        &[
            ("payment_provider", "stripe"),
            ("stripe_api_url", stub.url()),
            ("stripe_secret_key", "sk_test_acceptance"),
            ("stripe_webhook_secret", WEBHOOK_SECRET),
        ],
    );
    let admin = shop.admin();
    stocked_product(&admin, "KAFKA-6", 300, 5);
    let customer = shop.customer();
    let order_id = text(
        &place_order(&customer.client, &[("KAFKA-6", 1)], "tok_visa"),
        "id",
    );
    let letter = soon("the dead letter listed", || {
        items(&admin.get("/api/v1/admin/dead-letters"))
            .into_iter()
            .next()
    });
    assert_eq!(
        letter["subscriber"], "payments-on-inventory-reserved",
        "{letter}"
    );
    assert_eq!(letter["topic"], "inventory.reserved");
    assert_eq!(letter["context"], "payments");
    assert_eq!(letter["event"]["data"]["order_id"], order_id.as_str());
    let dead = bridge.topic("payments-on-inventory-reserved.dead-letters");
    read_topic(engine, &dead, |read| (read.key == order_id).then_some(()));
    assert_eq!(
        customer
            .client
            .get(&format!("/api/v1/orders/{order_id}"))
            .json()["status"],
        "reserved"
    );

    stub.reply_next(vec![(
        200,
        json!({ "id": "pi_replayed", "object": "payment_intent", "status": "succeeded" }),
    )]);
    admin
        .post(
            &format!("/api/v1/admin/dead-letters/{}/replay", text(&letter, "id")),
            &json!({}),
        )
        .expect_ok();
    paid(&customer.client, &order_id);
    stock_settles_at(&admin, "KAFKA-6", 4);
    assert!(items(&admin.get("/api/v1/admin/dead-letters")).is_empty());
    let stripe_calls = stub
        .received()
        .iter()
        .filter(|request| request.path.starts_with("/v1/payment_intents"))
        .count();
    assert_eq!(stripe_calls, 2, "one refused charge, one replayed");
}
