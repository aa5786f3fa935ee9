//! What the bridge says about itself, on its own small HTTP listener
//! (`FUSION_BRIDGE_LISTEN`), for probes, operators and autoscalers:
//! - `GET /lag`: each consumer group's lag per topic (and partition): the events on the
//!   broker that its handler has not taken yet, read from the broker (the group's
//!   committed offsets against each partition's high watermark), so it counts every
//!   member of the group, not only this bridge's; read every [`LAG_EVERY`] by a thread
//!   of its own, so probes never wait for the broker (`read_at` says when), and only
//!   while someone asks (within [`READ_WHILE_ASKED`]), so an idle bridge does not load
//!   the broker with it;
//! - `GET /health`: 200 when the broker answered the last reading, every relay reached
//!   the app on its last try and no handler is being waited for; 503 otherwise, saying
//!   which. It answers from the start, while the broker cannot be reached yet.

use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::{Offset, TopicPartitionList};
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Mutex, OnceLock};
use std::time::Duration;

/// How long a lag reading waits for each of the broker's answers.
const BROKER_TIMEOUT: Duration = Duration::from_secs(5);
/// How often the lag is read.
pub const LAG_EVERY: Duration = Duration::from_secs(2);
/// The lag is read while `GET /lag` or `GET /health` was asked within this long.
pub const READ_WHILE_ASKED: Duration = Duration::from_secs(60);

/// One handler's consumer group, as the status reads it.
pub struct Group {
    pub handler: &'static str,
    /// Its group id on the broker.
    pub id: String,
    /// Its topics' names on the broker.
    pub topics: Vec<String>,
    pub consumer: BaseConsumer,
}

/// The bridge's state as its threads last saw it.
#[derive(Default)]
pub struct Status {
    /// Set once the topics exist and the groups are subscribed.
    groups: OnceLock<Vec<Group>>,
    /// Why the broker could not be used, while it cannot.
    broker: Mutex<Option<String>>,
    /// Each context's relay: why its last claim failed, if it did.
    relays: Mutex<BTreeMap<&'static str, Option<String>>>,
    /// Handlers whose current event waits for them to come back, and why.
    waiting: Mutex<BTreeMap<&'static str, String>>,
    /// The last lag reading (`GET /lag`'s body), or why it failed.
    lag: Mutex<Option<Result<Value, String>>>,
    /// When the lag or the health was last asked for (Unix ms).
    asked_at: AtomicI64,
}

impl Status {
    pub fn set_groups(&self, groups: Vec<Group>) {
        assert!(self.groups.set(groups).is_ok(), "the groups are set once");
    }

    pub fn groups(&self) -> &[Group] {
        self.groups.get().map_or(&[], Vec::as_slice)
    }

    pub fn broker(&self, problem: Option<String>) {
        *lock(&self.broker) = problem;
    }

    pub fn relay(&self, context: &'static str, problem: Option<String>) {
        lock(&self.relays).insert(context, problem);
    }

    /// `handler` cannot take events now (`Some(why)`), or can again (`None`).
    pub fn handler(&self, handler: &'static str, problem: Option<String>) {
        let mut waiting = lock(&self.waiting);
        match problem {
            Some(why) => waiting.insert(handler, why),
            None => waiting.remove(handler),
        };
    }

    /// Reads the lag every [`LAG_EVERY`], for as long as the bridge runs.
    pub fn watch_lag(&self) -> ! {
        let wanted_for = i64::try_from(READ_WHILE_ASKED.as_millis()).unwrap_or(i64::MAX);
        loop {
            if kit::outbox::now_ms() - self.asked_at.load(Ordering::Relaxed) > wanted_for {
                std::thread::sleep(LAG_EVERY);
                continue;
            }
            let reading = self.read_lag().map(|mut lag| {
                lag["read_at"] = json!(kit::outbox::now_ms());
                lag
            });
            *lock(&self.lag) = Some(reading);
            std::thread::sleep(LAG_EVERY);
        }
    }

    /// The last lag reading; `Err` while there is none or the broker failed it.
    pub fn lag(&self) -> Result<Value, String> {
        self.asked_at
            .store(kit::outbox::now_ms(), Ordering::Relaxed);
        lock(&self.lag)
            .clone()
            .unwrap_or_else(|| Err("not read yet".to_owned()))
    }

    fn read_lag(&self) -> Result<Value, String> {
        let groups = self.groups();
        let Some(reader) = groups.first().map(|group| &group.consumer) else {
            return Ok(json!({ "total": 0, "groups": [] }));
        };
        let partitions = partitions(reader, groups)?;
        let high = offsets(reader, &partitions, Offset::End)?;
        let low = offsets(reader, &partitions, Offset::Beginning)?;
        let mut total = 0;
        let mut lags = Vec::new();
        for group in groups {
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

    /// `GET /health`'s status and body.
    pub fn health(&self) -> (u16, Value) {
        let broker = match (lock(&self.broker).clone(), self.groups.get()) {
            (Some(problem), _) => Err(problem),
            (None, None) => Err("creating the topics".to_owned()),
            (None, Some(_)) => self.lag().map(|lag| lag["total"].clone()),
        };
        let relays = lock(&self.relays).clone();
        let waiting = lock(&self.waiting).clone();
        let healthy = broker.is_ok() && relays.values().all(Option::is_none) && waiting.is_empty();
        let body = json!({
            "status": if healthy { "ok" } else { "degraded" },
            "broker": match &broker { Ok(_) => "ok".to_owned(), Err(problem) => problem.clone() },
            "lag": broker.ok(),
            "relays": relays
                .iter()
                .map(|(context, problem)| (context.to_string(), json!(problem.as_deref().unwrap_or("ok"))))
                .collect::<serde_json::Map<_, _>>(),
            "handlers_waited_for": waiting,
        });
        (if healthy { 200 } else { 503 }, body)
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

/// Serves `GET /health` and `GET /lag` on `listener`, for as long as the bridge runs.
pub fn serve(server: &tiny_http::Server, status: &Status) -> ! {
    loop {
        let Ok(request) = server.recv() else { continue };
        let (code, body) = match (request.method(), request.url()) {
            (tiny_http::Method::Get, "/health") => status.health(),
            (tiny_http::Method::Get, "/lag") => match status.lag() {
                Ok(lag) => (200, lag),
                Err(problem) => (503, json!({ "error": problem })),
            },
            _ => (404, json!({ "error": "GET /health or GET /lag" })),
        };
        let content_type = tiny_http::Header::from_bytes("content-type", "application/json")
            .expect("a valid header");
        let response = tiny_http::Response::from_string(body.to_string())
            .with_status_code(code)
            .with_header(content_type);
        // A client gone before its answer is its own affair.
        let _ = request.respond(response);
    }
}
