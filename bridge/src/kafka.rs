//! The Kafka engine (Kafka, Redpanda, any Kafka-protocol broker), on librdkafka: records
//! in the CloudEvents Kafka binding, keyed by subject so one aggregate's events keep
//! their order in a partition; a consumer group per handler whose offsets are committed
//! one record at a time; the lag read from the broker (committed offsets against the
//! high watermarks), so it counts every member of a group, not only this bridge's.

use crate::bus::{Bus, Consumed, Consumer};
use crate::cloudevents::Record;
use crate::topics::Names;
use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::config::ClientConfig;
use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer as _};
use rdkafka::message::{Header, Headers, OwnedHeaders};
use rdkafka::producer::{FutureProducer, FutureRecord};
use rdkafka::types::RDKafkaErrorCode;
use rdkafka::{Message, Offset, TopicPartitionList};
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// How long a lag reading waits for each of the broker's answers.
const BROKER_TIMEOUT: Duration = Duration::from_secs(5);

pub struct Kafka {
    brokers: String,
    partitions: i32,
    replication: i32,
    names: Names,
    producer: FutureProducer,
    /// Each group's consumer, also read by the lag.
    groups: Mutex<Vec<Group>>,
}

struct Group {
    handler: &'static str,
    id: String,
    topics: Vec<String>,
    consumer: Arc<BaseConsumer>,
}

impl Kafka {
    pub fn new(
        brokers: &str,
        partitions: i32,
        replication: i32,
        names: Names,
    ) -> Result<Kafka, String> {
        let producer = ClientConfig::new()
            .set("bootstrap.servers", brokers)
            .set("client.id", "fusion-bridge")
            // Settled in the outbox only once every in-sync replica has it.
            .set("acks", "all")
            // Retries neither duplicate nor reorder what one batch has in flight.
            .set("enable.idempotence", "true")
            // An answer for every event before its claim's 30 s lease runs out: a later
            // one would find the claim lost, and the events produced again.
            .set("message.timeout.ms", "20000")
            .set("linger.ms", "5")
            .create()
            .map_err(|error| format!("the producer: {error}"))?;
        Ok(Kafka {
            brokers: brokers.to_owned(),
            partitions,
            replication,
            names,
            producer,
            groups: Mutex::default(),
        })
    }
}

impl Bus for Kafka {
    type Consumer = KafkaConsumer;

    fn describe(&self) -> String {
        format!("Kafka at {}", self.brokers)
    }

    fn prepare(&self) -> Result<(), String> {
        let admin: AdminClient<DefaultClientContext> = ClientConfig::new()
            .set("bootstrap.servers", &self.brokers)
            .create()
            .map_err(|error| error.to_string())?;
        let names = self.names.all_topics();
        let topics: Vec<NewTopic> = names
            .iter()
            .map(|name| {
                NewTopic::new(
                    name,
                    self.partitions,
                    TopicReplication::Fixed(self.replication),
                )
            })
            .collect();
        let options = AdminOptions::new().operation_timeout(Some(Duration::from_secs(10)));
        let created = futures::executor::block_on(admin.create_topics(&topics, &options))
            .map_err(|error| format!("creating the topics: {error}"))?;
        for outcome in created {
            match outcome {
                Ok(_) | Err((_, RDKafkaErrorCode::TopicAlreadyExists)) => {}
                Err((topic, code)) => return Err(format!("creating topic {topic}: {code}")),
            }
        }
        Ok(())
    }

    fn publish(&self, records: &[Record]) -> Vec<Result<(), String>> {
        let sent: Vec<_> = records
            .iter()
            .map(|record| {
                let headers =
                    record
                        .headers
                        .iter()
                        .fold(OwnedHeaders::new(), |headers, (key, value)| {
                            headers.insert(Header {
                                key,
                                value: Some(value.as_bytes()),
                            })
                        });
                let topic = self.names.topic(&record.topic);
                let mut produced = FutureRecord::to(&topic)
                    .payload(&record.value)
                    .headers(headers);
                if !record.key.is_empty() {
                    produced = produced.key(&record.key);
                }
                self.producer
                    .send_result(produced)
                    .map_err(|(error, _)| error.to_string())
            })
            .collect();
        sent.into_iter()
            .map(|sent| match futures::executor::block_on(sent?) {
                Ok(Ok(_)) => Ok(()),
                Ok(Err((error, _))) => Err(error.to_string()),
                Err(_) => Err("the producer went away".to_owned()),
            })
            .collect()
    }

    fn consumer(&self, handler: &'static str) -> Result<KafkaConsumer, String> {
        let id = self.names.group(handler);
        let consumer: BaseConsumer = ClientConfig::new()
            .set("bootstrap.servers", &self.brokers)
            .set("group.id", &id)
            .set("client.id", format!("fusion-bridge-{handler}"))
            .set("enable.auto.commit", "false")
            .set("auto.offset.reset", "earliest")
            // A member is given up after 10 s without a heartbeat (librdkafka sends them
            // from its own thread); a group also forms faster than under the 45 s default.
            .set("session.timeout.ms", "10000")
            // Past one delivery's 60 s timeout; retries poll meanwhile (see `hold`).
            .set("max.poll.interval.ms", "120000")
            .create()
            .map_err(|error| format!("the consumer of {handler}: {error}"))?;
        let topics = self.names.topics_of(handler);
        let subscribed: Vec<&str> = topics.iter().map(String::as_str).collect();
        consumer
            .subscribe(&subscribed)
            .map_err(|error| format!("{handler} subscribing to {topics:?}: {error}"))?;
        let consumer = Arc::new(consumer);
        lock(&self.groups).push(Group {
            handler,
            id,
            topics,
            consumer: Arc::clone(&consumer),
        });
        Ok(KafkaConsumer {
            handler,
            consumer,
            paused: false,
        })
    }

    fn lag(&self) -> Result<Value, String> {
        let groups = lock(&self.groups);
        let Some(reader) = groups.first().map(|group| &group.consumer) else {
            return Ok(json!({ "total": 0, "groups": [] }));
        };
        let partitions = partitions(reader, &groups)?;
        let high = offsets(reader, &partitions, Offset::End)?;
        let low = offsets(reader, &partitions, Offset::Beginning)?;
        let mut total = 0;
        let mut lags = Vec::new();
        for group in groups.iter() {
            let committed = group
                .consumer
                .committed_offsets(
                    list(&group.topics, &partitions, Offset::Invalid),
                    BROKER_TIMEOUT,
                )
                .map_err(|error| format!("the committed offsets of {}: {error}", group.id))?;
            for topic in &group.topics {
                let mut topic_lag = 0;
                let mut each = Vec::new();
                for element in committed.elements_for_topic(topic) {
                    let at = (topic.as_str(), element.partition());
                    let committed = match element.offset() {
                        Offset::Offset(offset) => Some(offset),
                        _ => None,
                    };
                    let high = high.get(&at).copied().unwrap_or(0);
                    let lag = (high - committed.or(low.get(&at).copied()).unwrap_or(0)).max(0);
                    topic_lag += lag;
                    each.push(json!({
                        "partition": element.partition(),
                        "committed": committed,
                        "high": high,
                        "lag": lag,
                    }));
                }
                total += topic_lag;
                lags.push(json!({
                    "group": group.id,
                    "handler": group.handler,
                    "topic": topic,
                    "lag": topic_lag,
                    "partitions": each,
                }));
            }
        }
        Ok(json!({ "total": total, "groups": lags }))
    }
}

/// Where a record was read: its partition and offset.
pub struct At {
    partition: i32,
    offset: i64,
}

pub struct KafkaConsumer {
    handler: &'static str,
    consumer: Arc<BaseConsumer>,
    /// Whether its partitions are paused (see `hold`).
    paused: bool,
}

impl KafkaConsumer {
    fn poll(&mut self, wait: Duration) -> Result<Option<Consumed<At>>, String> {
        let message = match self.consumer.poll(wait) {
            None => return Ok(None),
            Some(message) => message.map_err(|error| error.to_string())?,
        };
        let headers = message.headers().map_or_else(Vec::new, |headers| {
            headers
                .iter()
                .map(|header| {
                    let value = header.value.unwrap_or_default();
                    (
                        header.key.to_owned(),
                        String::from_utf8_lossy(value).into_owned(),
                    )
                })
                .collect()
        });
        Ok(Some(Consumed {
            record: Record {
                topic: message.topic().to_owned(),
                key: String::from_utf8_lossy(message.key().unwrap_or_default()).into_owned(),
                headers,
                value: message.payload().unwrap_or_default().to_vec(),
            },
            position: message.offset().to_string(),
            at: At {
                partition: message.partition(),
                offset: message.offset(),
            },
        }))
    }
}

impl Consumer for KafkaConsumer {
    type At = At;

    fn next(&mut self) -> Result<Option<Consumed<At>>, String> {
        self.poll(Duration::from_millis(200))
    }

    fn next_at_hand(&mut self) -> Option<Consumed<At>> {
        self.poll(Duration::ZERO).ok().flatten()
    }

    /// One commit for all: each partition's next offset after the last record read there.
    /// Sent without waiting for the broker's answer (librdkafka sends a member's commits
    /// in order): the handler has answered already, and a commit lost with the bridge
    /// or the broker hands those events over again, which the handler takes once.
    fn commit(&mut self, consumed: &[Consumed<At>]) -> Result<(), String> {
        let mut next: BTreeMap<(&str, i32), i64> = BTreeMap::new();
        for record in consumed {
            let at = (record.record.topic.as_str(), record.at.partition);
            let offset = next.entry(at).or_default();
            *offset = (*offset).max(record.at.offset + 1);
        }
        let mut list = TopicPartitionList::new();
        for ((topic, partition), offset) in next {
            list.add_partition_offset(topic, partition, Offset::Offset(offset))
                .map_err(|error| error.to_string())?;
        }
        if list.count() == 0 {
            return Ok(());
        }
        self.consumer
            .commit(&list, CommitMode::Async)
            .map_err(|error| error.to_string())
    }

    /// Pauses every partition and polls meanwhile, so the member keeps its place in the
    /// group (a member silent past `max.poll.interval.ms` is given up).
    fn hold(&mut self, wait: Duration) {
        let handler = self.handler;
        if !self.paused {
            self.paused = true;
            let consumer = &self.consumer;
            if let Err(error) = consumer.assignment().and_then(|all| consumer.pause(&all)) {
                eprintln!("{handler}: pausing: {error}");
            }
        }
        let until = std::time::Instant::now() + wait;
        while std::time::Instant::now() < until {
            if let Some(Ok(message)) = self.consumer.poll(Duration::from_millis(100)) {
                // Paused partitions deliver nothing: this one was assigned since. Its
                // position moved past the message, so put it back and pause it too, or
                // the next commit there would skip the message.
                let (topic, partition, offset) =
                    (message.topic(), message.partition(), message.offset());
                let mut only = TopicPartitionList::new();
                only.add_partition(topic, partition);
                let put_back = self
                    .consumer
                    .seek(
                        topic,
                        partition,
                        Offset::Offset(offset),
                        Duration::from_secs(10),
                    )
                    .and_then(|()| self.consumer.pause(&only));
                if let Err(error) = put_back {
                    eprintln!(
                        "{handler}: {topic}/{partition} offset {offset} came while paused: {error}"
                    );
                }
            }
        }
    }

    fn release(&mut self) {
        if std::mem::take(&mut self.paused) {
            // Everything assigned now, partitions paused while waiting included.
            let consumer = &self.consumer;
            if let Err(error) = consumer.assignment().and_then(|all| consumer.resume(&all)) {
                eprintln!("{}: resuming: {error}", self.handler);
            }
        }
    }
}

/// How many partitions each topic the groups read has.
fn partitions<'a>(
    reader: &BaseConsumer,
    groups: &'a [Group],
) -> Result<BTreeMap<&'a str, i32>, String> {
    let metadata = reader
        .fetch_metadata(None, BROKER_TIMEOUT)
        .map_err(|error| format!("the broker: {error}"))?;
    let counts: BTreeMap<&str, i32> = metadata
        .topics()
        .iter()
        .map(|topic| {
            (
                topic.name(),
                i32::try_from(topic.partitions().len()).unwrap_or(0),
            )
        })
        .collect();
    Ok(groups
        .iter()
        .flat_map(|group| &group.topics)
        .map(|topic| {
            (
                topic.as_str(),
                counts.get(topic.as_str()).copied().unwrap_or(0),
            )
        })
        .collect())
}

/// Every partition of `topics`, each with `offset`.
fn list(
    topics: impl IntoIterator<Item = impl AsRef<str>>,
    partitions: &BTreeMap<&str, i32>,
    offset: Offset,
) -> TopicPartitionList {
    let mut list = TopicPartitionList::new();
    for topic in topics {
        let topic = topic.as_ref();
        for partition in 0..partitions.get(topic).copied().unwrap_or(0) {
            // Only a partition out of range fails, and none is.
            let _ = list.add_partition_offset(topic, partition, offset);
        }
    }
    list
}

/// Each partition's earliest kept (`Offset::Beginning`) or next (`Offset::End`) offset,
/// all asked for at once.
fn offsets<'a>(
    reader: &BaseConsumer,
    partitions: &BTreeMap<&'a str, i32>,
    which: Offset,
) -> Result<BTreeMap<(&'a str, i32), i64>, String> {
    let found = reader
        .offsets_for_times(list(partitions.keys(), partitions, which), BROKER_TIMEOUT)
        .map_err(|error| format!("the topics' offsets: {error}"))?;
    let mut offsets = BTreeMap::new();
    for topic in partitions.keys() {
        for element in found.elements_for_topic(topic) {
            if let Offset::Offset(offset) = element.offset() {
                offsets.insert((*topic, element.partition()), offset);
            }
        }
    }
    Ok(offsets)
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}
