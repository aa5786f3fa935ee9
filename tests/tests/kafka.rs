//! `event_transport = kafka`: the app and the bridge on a real Kafka-protocol broker
//! (tansu, `scripts/services kafka`). The saga end to end, another system's consumer
//! group reading the app's events, a record that is no event, and a broker restart
//! mid-flow.

use acceptance::bridge::{Bridge, HandlerGate, kafka_shop, kafka_shop_with};
use acceptance::{
    Client, HttpStub, Shop, Store, WEBHOOK_SECRET, for_both_stores, items, order_reaching,
    place_order, stock_of, stocked_product, text,
};
use rdkafka::config::ClientConfig;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::message::{BorrowedMessage, Headers};
use rdkafka::producer::{BaseProducer, BaseRecord, Producer};
use rdkafka::{Message, Offset, TopicPartitionList};
use serde_json::{Value, json};
use std::sync::{RwLock, RwLockReadGuard, RwLockWriteGuard};
use std::time::{Duration, Instant};

for_both_stores!(
    an_order_is_paid_through_kafka,
    another_systems_consumer_group_reads_order_created_as_a_cloudevent,
    a_record_that_is_no_event_is_dead_lettered_and_the_group_goes_on,
    a_broker_restarted_mid_flow_loses_no_event,
    while_the_handlers_are_down_the_lag_grows_then_drains,
    an_event_its_handler_refuses_is_listed_and_replayed_to_that_handler_alone,
);

/// The broker all tests of this file share: the restart test has it alone, the others
/// side by side.
static BROKER: RwLock<()> = RwLock::new(());

fn broker_shared() -> RwLockReadGuard<'static, ()> {
    BROKER
        .read()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

fn broker_alone() -> RwLockWriteGuard<'static, ()> {
    BROKER
        .write()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
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

/// The first `Some` that `check` gives, polled for up to a minute, not the suite's 20 s:
/// after the broker restart test's restart, the bridge reconnects and its groups join
/// again before events flow.
fn soon<T>(what: &str, mut check: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + Duration::from_secs(60);
    while Instant::now() < deadline {
        if let Some(found) = check() {
            return found;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    panic!("{what}: not within a minute");
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

fn header(message: &BorrowedMessage, name: &str) -> Option<String> {
    let headers = message.headers()?;
    headers
        .iter()
        .find(|header| header.key == name)
        .and_then(|header| header.value)
        .map(|value| String::from_utf8_lossy(value).into_owned())
}

fn an_order_is_paid_through_kafka(store: Store) {
    let _broker = broker_shared();
    let (shop, _bridge) = kafka_shop(store);
    let admin = shop.admin();
    stocked_product(&admin, "KAFKA-1", 300, 5);
    let customer = shop.customer();
    let order = place_order(&customer.client, &[("KAFKA-1", 2)], "tok_visa");
    paid(&customer.client, &text(&order, "id"));
    stock_settles_at(&admin, "KAFKA-1", 3);
}

fn another_systems_consumer_group_reads_order_created_as_a_cloudevent(store: Store) {
    let _broker = broker_shared();
    let (shop, bridge) = kafka_shop(store);
    let admin = shop.admin();
    stocked_product(&admin, "KAFKA-2", 300, 5);
    let customer = shop.customer();
    let order = place_order(&customer.client, &[("KAFKA-2", 1)], "tok_visa");
    let order_id = text(&order, "id");

    let consumer = group_reader(&bridge.topic("order.created"));
    let (key, headers, data) = read_until(&consumer, |message| {
        let key = String::from_utf8_lossy(message.key()?).into_owned();
        let names = [
            "ce_specversion",
            "ce_type",
            "ce_id",
            "ce_source",
            "ce_subject",
            "ce_tenant",
            "ce_correlationid",
            "content-type",
        ];
        let headers: Vec<Option<String>> = names.iter().map(|name| header(message, name)).collect();
        let data: Value = serde_json::from_slice(message.payload()?).ok()?;
        (key == order_id).then_some((key, headers, data))
    });
    assert_eq!(key, order_id, "keyed by the order");
    assert_eq!(headers[0].as_deref(), Some("1.0"));
    assert_eq!(headers[1].as_deref(), Some("order.created"));
    assert!(headers[2].is_some() && headers[3].is_some(), "{headers:?}");
    assert_eq!(headers[4].as_deref(), Some(order_id.as_str()));
    assert_eq!(headers[5].as_deref(), Some("default"));
    assert!(headers[6].is_some(), "the correlation id: {headers:?}");
    assert_eq!(headers[7].as_deref(), Some("application/json"));
    assert_eq!(data["order_id"], order_id, "{data}");
    paid(&customer.client, &order_id);
}

fn a_record_that_is_no_event_is_dead_lettered_and_the_group_goes_on(store: Store) {
    let _broker = broker_shared();
    let (shop, bridge) = kafka_shop(store);
    let producer: BaseProducer = ClientConfig::new()
        .set("bootstrap.servers", testing::KAFKA_ADDR)
        .create()
        .expect("a producer");
    let topic = bridge.topic("order.created");
    producer
        .send(
            BaseRecord::to(&topic)
                .key("poison")
                .payload("not a cloudevent"),
        )
        .expect("queued");
    producer.flush(Duration::from_secs(10)).expect("produced");

    // The group goes on: an order placed after the poison is paid.
    let admin = shop.admin();
    stocked_product(&admin, "KAFKA-3", 300, 5);
    let customer = shop.customer();
    let order = place_order(&customer.client, &[("KAFKA-3", 1)], "tok_visa");
    paid(&customer.client, &text(&order, "id"));

    let dead = reader(&bridge.topic("inventory-on-order-created.dead-letters"));
    let (error, from) = read_until(&dead, |message| {
        (message.key()? == b"poison").then(|| {
            (
                header(message, "fusion_error").unwrap_or_default(),
                header(message, "fusion_topic").unwrap_or_default(),
            )
        })
    });
    assert!(error.contains("not an event"), "{error}");
    assert_eq!(from, topic);
}

fn a_broker_restarted_mid_flow_loses_no_event(store: Store) {
    let _broker = broker_alone();
    let (shop, _bridge): (Shop, Bridge) = kafka_shop(store);
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
    testing::restart_kafka();
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

fn while_the_handlers_are_down_the_lag_grows_then_drains(store: Store) {
    let _broker = broker_shared();
    let shop = Shop::start_with(store, &[("event_transport", "kafka")]);
    let gate = HandlerGate::before(&shop);
    let bridge = Bridge::start_at(gate.url());
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
fn an_event_its_handler_refuses_is_listed_and_replayed_to_that_handler_alone(store: Store) {
    let _broker = broker_shared();
    let stub = HttpStub::start(vec![(
        401,
        json!({ "error": { "type": "invalid_request_error", "message": "Invalid API Key provided" } }),
    )]);
    let (shop, bridge) = kafka_shop_with(
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
    let dead = reader(&bridge.topic("payments-on-inventory-reserved.dead-letters"));
    read_until(&dead, |message| {
        (message.key()? == order_id.as_bytes()).then_some(())
    });
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
