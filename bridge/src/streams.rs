//! The Redis Streams engine, for users who run Redis and no Kafka: a stream per topic
//! (the same names), each entry the CloudEvents Kafka binding's record as fields (`key`,
//! the `ce_*` attributes, `content-type`, and `data`); a consumer group per handler
//! (XREADGROUP), an entry acknowledged (XACK) only once its handler took it.
//!
//! Durability is Redis's: an entry counts as kept once XADD answered, so run the broker
//! with `appendonly yes` and `appendfsync always` (as `scripts/services streams` does), or
//! a crash loses what the last second appended. Streams are trimmed to about
//! `FUSION_REDIS_MAXLEN` entries, whether or not every group read them. One stream is
//! one ordered log, so a member of a group gets one order's events in order; several
//! members (bridge replicas) share a group's entries without regard to their key.

use crate::bus::{Bus, Consumed, Consumer};
use crate::cloudevents::Record;
use crate::topics::{Names, handlers};
use redis::{Client, Connection, RedisResult, Value};
use serde_json::{Value as Json, json};
use std::collections::VecDeque;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// The entry fields that are not the record's headers.
const KEY: &str = "key";
const DATA: &str = "data";
/// How long a read waits for entries.
const BLOCK_MS: usize = 200;
/// Entries read at once.
const COUNT: usize = 100;
/// An entry another member read and has not acknowledged for this long is taken over
/// (that member died): past one delivery's 60 s timeout and a retry.
const TAKE_OVER_AFTER_MS: u64 = 120_000;
/// How often a member looks for such entries.
const TAKE_OVER_EVERY: Duration = Duration::from_secs(30);

pub struct Streams {
    link: Link,
    names: Names,
    /// Approximate length streams are trimmed to.
    max_len: u64,
    /// This bridge's name in every group.
    member: String,
    publisher: Mutex<Option<Connection>>,
    /// The lag's reader's.
    lag_reader: Mutex<Option<Connection>>,
}

/// Where the broker is; each user of it connects on its own (a blocking read holds its
/// connection).
#[derive(Clone)]
struct Link {
    client: Client,
    url: String,
}

impl Link {
    fn connect(&self) -> Result<Connection, String> {
        let connection = self
            .client
            .get_connection_with_timeout(Duration::from_secs(5))
            .map_err(|error| format!("Redis at {}: {error}", self.url))?;
        // Past a blocking read's wait; a broker that stopped answering is given up.
        connection
            .set_read_timeout(Some(Duration::from_secs(10)))
            .map_err(|error| error.to_string())?;
        Ok(connection)
    }

    /// Runs `work` on the connection kept in `kept` (made when there is none), and keeps
    /// it for the next call only when the work succeeded: a failure may have broken it.
    fn with<T>(
        &self,
        kept: &mut Option<Connection>,
        work: impl FnOnce(&mut Connection) -> Result<T, String>,
    ) -> Result<T, String> {
        let mut connection = match kept.take() {
            Some(connection) => connection,
            None => self.connect()?,
        };
        let done = work(&mut connection)?;
        *kept = Some(connection);
        Ok(done)
    }
}

impl Streams {
    pub fn new(url: &str, names: Names, max_len: u64, member: &str) -> Result<Streams, String> {
        let client = Client::open(url).map_err(|error| format!("FUSION_REDIS_URL: {error}"))?;
        Ok(Streams {
            link: Link {
                client,
                url: url.to_owned(),
            },
            names,
            max_len,
            member: member.to_owned(),
            publisher: Mutex::default(),
            lag_reader: Mutex::default(),
        })
    }

    fn append(&self, connection: &mut Connection, records: &[Record]) -> RedisResult<Vec<Value>> {
        let mut pipe = redis::pipe();
        for record in records {
            let command = pipe
                .cmd("XADD")
                .arg(self.names.topic(&record.topic))
                .arg("MAXLEN")
                .arg("~")
                .arg(self.max_len)
                .arg("*")
                .arg(KEY)
                .arg(&record.key);
            for (name, value) in &record.headers {
                command.arg(name).arg(value);
            }
            command.arg(DATA).arg(&record.value);
        }
        pipe.query(connection)
    }
}

impl Bus for Streams {
    type Consumer = StreamsConsumer;

    fn describe(&self) -> String {
        format!("Redis Streams at {}", self.link.url)
    }

    /// Every group on each of its streams, reading from the start (MKSTREAM creates a
    /// stream no event reached yet).
    fn prepare(&self) -> Result<(), String> {
        let mut connection = self.link.connect()?;
        for (handler, topics) in handlers() {
            for topic in topics {
                let created: RedisResult<()> = redis::cmd("XGROUP")
                    .arg("CREATE")
                    .arg(self.names.topic(topic))
                    .arg(self.names.group(handler))
                    .arg("0")
                    .arg("MKSTREAM")
                    .query(&mut connection);
                match created {
                    Ok(()) => {}
                    Err(error) if error.code() == Some("BUSYGROUP") => {}
                    Err(error) => return Err(format!("creating group {handler}: {error}")),
                }
            }
        }
        Ok(())
    }

    /// All of them in one pipeline: they are kept or not together.
    fn publish(&self, records: &[Record]) -> Vec<Result<(), String>> {
        let outcome = self.link.with(&mut lock(&self.publisher), |connection| {
            self.append(connection, records)
                .map_err(|error| error.to_string())
        });
        match outcome {
            Ok(_) => records.iter().map(|_| Ok(())).collect(),
            Err(error) => records.iter().map(|_| Err(error.clone())).collect(),
        }
    }

    fn consumer(&self, handler: &'static str) -> Result<StreamsConsumer, String> {
        let streams = self.names.topics_of(handler);
        Ok(StreamsConsumer {
            link: self.link.clone(),
            member: self.member.clone(),
            group: self.names.group(handler),
            streams,
            connection: None,
            own_pending_read: false,
            taken_over_at: None,
            read: VecDeque::new(),
        })
    }

    /// From XINFO GROUPS: the entries not yet read by the group (`lag`) and those read
    /// and not acknowledged (`pending`); their sum is what the handler has not taken.
    fn lag(&self) -> Result<Json, String> {
        self.link.with(&mut lock(&self.lag_reader), |connection| {
            self.read_lag(connection)
        })
    }
}

impl Streams {
    fn read_lag(&self, connection: &mut Connection) -> Result<Json, String> {
        let mut total = 0;
        let mut lags = Vec::new();
        for (handler, topics) in handlers() {
            let group = self.names.group(handler);
            for topic in topics {
                let stream = self.names.topic(topic);
                let groups: Vec<Value> = redis::cmd("XINFO")
                    .arg("GROUPS")
                    .arg(&stream)
                    .query(connection)
                    .map_err(|error| format!("the groups of {stream}: {error}"))?;
                let info = groups
                    .iter()
                    .map(fields)
                    .find(|info| text(info, "name").as_deref() == Some(group.as_str()))
                    .unwrap_or_default();
                let pending = number(&info, "pending").unwrap_or(0);
                // Redis reports no `lag` after entries were deleted out of order.
                let unread = number(&info, "lag").unwrap_or(0);
                let lag = pending + unread;
                total += lag;
                lags.push(json!({
                    "group": group,
                    "handler": handler,
                    "topic": stream,
                    "lag": lag,
                    "pending": pending,
                    "unread": unread,
                }));
            }
        }
        Ok(json!({ "total": total, "groups": lags }))
    }
}

/// One handler's member of its group.
pub struct StreamsConsumer {
    link: Link,
    /// Its name in the group.
    member: String,
    group: String,
    streams: Vec<String>,
    connection: Option<Connection>,
    /// Whether it read again what it had read and not acknowledged before it (re)started.
    own_pending_read: bool,
    taken_over_at: Option<Instant>,
    read: VecDeque<Consumed<()>>,
}

impl StreamsConsumer {
    /// Fills `read`: first what this member read before and never acknowledged (a
    /// restart, a lost connection), then what another member left for too long, then
    /// new entries.
    fn fill(&mut self) -> Result<(), String> {
        let mut connection = match self.connection.take() {
            Some(connection) => connection,
            None => {
                self.own_pending_read = false;
                self.link.connect()?
            }
        };
        let result = self.read_into(&mut connection);
        if result.is_ok() {
            self.connection = Some(connection);
        }
        result
    }

    fn read_into(&mut self, connection: &mut Connection) -> Result<(), String> {
        if !self.own_pending_read {
            let entries = self.read_group(connection, "0", None)?;
            if entries.is_empty() {
                self.own_pending_read = true;
            }
            self.read.extend(entries);
            return Ok(());
        }
        if self
            .taken_over_at
            .is_none_or(|at| at.elapsed() >= TAKE_OVER_EVERY)
        {
            self.taken_over_at = Some(Instant::now());
            for stream in self.streams.clone() {
                let reply: Value = redis::cmd("XAUTOCLAIM")
                    .arg(&stream)
                    .arg(&self.group)
                    .arg(&self.member)
                    .arg(TAKE_OVER_AFTER_MS)
                    .arg("0-0")
                    .arg("COUNT")
                    .arg(COUNT)
                    .query(connection)
                    .map_err(|error| format!("taking over {stream}'s entries: {error}"))?;
                if let Value::Array(parts) = reply
                    && let Some(entries) = parts.get(1)
                {
                    self.read.extend(to_consumed(&stream, entries));
                }
            }
            if !self.read.is_empty() {
                return Ok(());
            }
        }
        let entries = self.read_group(connection, ">", Some(BLOCK_MS))?;
        self.read.extend(entries);
        Ok(())
    }

    /// XREADGROUP from `from` (`0`: this member's unacknowledged entries; `>`: new ones).
    fn read_group(
        &self,
        connection: &mut Connection,
        from: &str,
        block_ms: Option<usize>,
    ) -> Result<Vec<Consumed<()>>, String> {
        let mut command = redis::cmd("XREADGROUP");
        command
            .arg("GROUP")
            .arg(&self.group)
            .arg(&self.member)
            .arg("COUNT")
            .arg(COUNT);
        if let Some(block_ms) = block_ms {
            command.arg("BLOCK").arg(block_ms);
        }
        command.arg("STREAMS").arg(&self.streams);
        for _ in &self.streams {
            command.arg(from);
        }
        let reply: Value = command
            .query(connection)
            .map_err(|error| format!("reading {:?}: {error}", self.streams))?;
        let mut consumed = Vec::new();
        for (stream, entries) in pairs(&reply) {
            consumed.extend(to_consumed(&string(stream), entries));
        }
        Ok(consumed)
    }
}

impl Consumer for StreamsConsumer {
    type At = ();

    fn next(&mut self) -> Result<Option<Consumed<()>>, String> {
        if self.read.is_empty() {
            self.fill()?;
        }
        Ok(self.read.pop_front())
    }

    fn next_at_hand(&mut self) -> Option<Consumed<()>> {
        self.read.pop_front()
    }

    /// One XACK per stream, in one round trip.
    fn commit(&mut self, consumed: &[Consumed<()>]) -> Result<(), String> {
        let mut pipe = redis::pipe();
        for stream in &self.streams {
            let ids: Vec<&str> = consumed
                .iter()
                .filter(|entry| entry.record.topic == *stream)
                .map(|entry| entry.position.as_str())
                .collect();
            if !ids.is_empty() {
                pipe.cmd("XACK").arg(stream).arg(&self.group).arg(ids);
            }
        }
        self.link.with(&mut self.connection, |connection| {
            let acknowledged: RedisResult<Vec<i64>> = pipe.query(connection);
            acknowledged.map(drop).map_err(|error| error.to_string())
        })
    }

    /// A member's unacknowledged entries stay its own however long it waits.
    fn hold(&mut self, wait: Duration) {
        std::thread::sleep(wait);
    }

    fn release(&mut self) {}
}

/// The entries of one stream in a reply, as records.
fn to_consumed(stream: &str, entries: &Value) -> Vec<Consumed<()>> {
    let Value::Array(entries) = entries else {
        return Vec::new();
    };
    entries
        .iter()
        .filter_map(|entry| {
            let Value::Array(parts) = entry else {
                return None;
            };
            let id = string(parts.first()?);
            let mut record = Record {
                topic: stream.to_owned(),
                key: String::new(),
                headers: Vec::new(),
                value: Vec::new(),
            };
            // An entry deleted since it was read has no fields: an empty record, which
            // the consumer dead-letters as no event.
            if let Some(Value::Array(fields)) = parts.get(1) {
                for pair in fields.chunks(2) {
                    let [name, value] = pair else { continue };
                    match string(name).as_str() {
                        KEY => record.key = string(value),
                        DATA => record.value = bytes(value),
                        name => record.headers.push((name.to_owned(), string(value))),
                    }
                }
            }
            Some(Consumed {
                record,
                position: id,
                at: (),
            })
        })
        .collect()
}

/// A reply's `[name, value]` pairs (RESP2 arrays, or a RESP3 map).
fn pairs(reply: &Value) -> Vec<(&Value, &Value)> {
    match reply {
        Value::Array(items) => items
            .iter()
            .filter_map(|item| match item {
                Value::Array(pair) if pair.len() == 2 => Some((&pair[0], &pair[1])),
                _ => None,
            })
            .collect(),
        Value::Map(pairs) => pairs.iter().map(|(name, value)| (name, value)).collect(),
        _ => Vec::new(),
    }
}

/// A flat `[name, value, ...]` reply (or a map) as names and values.
fn fields(reply: &Value) -> Vec<(String, Value)> {
    match reply {
        Value::Array(flat) => flat
            .chunks(2)
            .filter_map(|pair| match pair {
                [name, value] => Some((string(name), value.clone())),
                _ => None,
            })
            .collect(),
        Value::Map(pairs) => pairs
            .iter()
            .map(|(name, value)| (string(name), value.clone()))
            .collect(),
        _ => Vec::new(),
    }
}

fn text(fields: &[(String, Value)], name: &str) -> Option<String> {
    fields
        .iter()
        .find(|(found, _)| found == name)
        .map(|(_, value)| string(value))
}

fn number(fields: &[(String, Value)], name: &str) -> Option<i64> {
    match fields.iter().find(|(found, _)| found == name)?.1 {
        Value::Int(number) => Some(number),
        ref other => string(other).parse().ok(),
    }
}

fn bytes(value: &Value) -> Vec<u8> {
    match value {
        Value::BulkString(bytes) => bytes.clone(),
        Value::SimpleString(text) => text.clone().into_bytes(),
        Value::Int(number) => number.to_string().into_bytes(),
        _ => Vec::new(),
    }
}

fn string(value: &Value) -> String {
    String::from_utf8_lossy(&bytes(value)).into_owned()
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}
