//! Bus → handlers: one consumer group per handler component (its group id is the
//! handler's name), reading the topics it subscribes to and handing each event to the
//! handler's signed `/events/<handler>` route. An offset is committed only after the
//! handler answered 2xx, or after the event went to the group's dead-letter topic:
//! - a handler that is unreachable or says it cannot take events now (502, 503, 504, a
//!   refused signature while keys rotate, 408, 429) is retried until it can, while the
//!   group's lag grows: its events wait in order;
//! - an event it refuses (any other 4xx), or one it fails on (other 5xx) every time,
//!   [`MAX_ATTEMPTS`] times with the outbox's backoff, goes to the dead-letter topic with
//!   the reason, and so does a record that is no CloudEvent: none stops the group.

use crate::app::{App, Failure};
use crate::cloudevents::to_event;
use crate::status::{Group, Status};
use crate::topics::Names;
use kit::outbox::{MAX_ATTEMPTS, backoff};
use rdkafka::config::ClientConfig;
use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer};
use rdkafka::message::{BorrowedMessage, Header, Headers, OwnedHeaders};
use rdkafka::producer::{FutureProducer, FutureRecord};
use rdkafka::{Message, Offset, TopicPartitionList};
use std::time::Duration;

/// The longest wait between two tries of one event: a handler back after a while is
/// served again within this long.
const MAX_WAIT: Duration = Duration::from_secs(10);
/// Tries of one offset's commit.
const COMMIT_TRIES: usize = 5;

/// `handler`'s group, its consumer subscribed to `topics`.
pub fn group(
    brokers: &str,
    names: &Names,
    handler: &'static str,
    topics: &[&str],
) -> Result<Group, String> {
    let id = names.group(handler);
    let consumer: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", brokers)
        .set("group.id", &id)
        .set("client.id", format!("fusion-bridge-{handler}"))
        .set("enable.auto.commit", "false")
        .set("auto.offset.reset", "earliest")
        // A member is given up after 10 s without a heartbeat (librdkafka sends them from
        // its own thread); a group also forms faster than under the 45 s default.
        .set("session.timeout.ms", "10000")
        // Past one delivery's 60 s timeout; retries poll meanwhile (see `deliver`).
        .set("max.poll.interval.ms", "120000")
        .create()
        .map_err(|error| format!("the consumer of {handler}: {error}"))?;
    let topics: Vec<String> = topics.iter().map(|topic| names.topic(topic)).collect();
    let subscribed: Vec<&str> = topics.iter().map(String::as_str).collect();
    consumer
        .subscribe(&subscribed)
        .map_err(|error| format!("{handler} subscribing to {topics:?}: {error}"))?;
    Ok(Group {
        handler,
        id,
        topics,
        consumer,
    })
}

/// Consumes for `handler`, for as long as the bridge runs.
pub fn run(
    app: &App,
    group: &Group,
    dead_letters: &FutureProducer,
    names: &Names,
    status: &Status,
) -> ! {
    let (consumer, handler) = (&group.consumer, group.handler);
    loop {
        let message = match consumer.poll(Duration::from_millis(200)) {
            None => continue,
            Some(Ok(message)) => message,
            Some(Err(error)) => {
                eprintln!("{handler}: {error}");
                std::thread::sleep(Duration::from_millis(500));
                continue;
            }
        };
        let headers = headers_of(&message);
        let (event, outcome) = match to_event(&headers, message.payload().unwrap_or_default()) {
            Ok(event) => {
                let outcome = deliver(app, consumer, handler, &event, status);
                (Some(event), outcome)
            }
            Err(reason) => (None, Outcome::Dead(format!("not an event: {reason}"), 0)),
        };
        if let Outcome::Dead(reason, attempts) = outcome {
            eprintln!(
                "{handler}: {} offset {} is a dead letter: {reason}",
                message.topic(),
                message.offset()
            );
            dead_letter(
                dead_letters,
                &names.dead_letters(handler),
                &message,
                &reason,
            );
            // A record that is no event has no tenant to list it under: the topic only.
            if let Some(event) = event {
                report_dead_letter(app, handler, &event, &reason, attempts);
            }
        }
        // Committed only now: a bridge that dies before hands the event over again. A
        // commit that keeps failing (the group rebalancing) is left to a later one: the
        // next commit on the partition covers this offset, or the event comes again.
        for _ in 0..COMMIT_TRIES {
            match consumer.commit_message(&message, CommitMode::Sync) {
                Ok(()) => break,
                Err(error) => eprintln!("{handler}: committing: {error}"),
            }
            std::thread::sleep(Duration::from_millis(200));
        }
    }
}

enum Outcome {
    Taken,
    /// Why, and how many tries failed on the event itself.
    Dead(String, i64),
}

/// Tries of telling the app about a dead letter (1 s apart): the app answered the
/// handler's failure a moment ago. Should it not answer now, the dead letter is on the
/// topic only, and the log says so.
const REPORT_TRIES: usize = 5;

/// Tells the app that `handler` gave up on `event`, so `GET /api/v1/admin/dead-letters`
/// lists it and a replay hands it to the handler again.
fn report_dead_letter(app: &App, handler: &str, event: &[u8], reason: &str, attempts: i64) {
    for _ in 0..REPORT_TRIES {
        match app.dead_letter(handler, event, reason, attempts) {
            Ok(()) => return,
            Err(failure) if failure.permanent => {
                eprintln!(
                    "{handler}: the app refused the dead letter: {}",
                    failure.reason
                );
                return;
            }
            Err(failure) => eprintln!("{handler}: reporting a dead letter: {}", failure.reason),
        }
        std::thread::sleep(Duration::from_secs(1));
    }
    eprintln!("{handler}: the dead letter is on its topic only");
}

fn headers_of(message: &BorrowedMessage) -> Vec<(String, String)> {
    message.headers().map_or_else(Vec::new, |headers| {
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
    })
}

/// Whether the handler could not take events at all, whatever the event: retried
/// without a limit (see the module's doc).
fn unavailable(failure: &Failure) -> bool {
    matches!(
        failure.status,
        None | Some(401 | 408 | 429 | 502 | 503 | 504)
    )
}

/// Hands `event` to `handler`, trying again as the module's doc says. Meanwhile the
/// group's partitions are paused and the consumer polled, so it keeps its membership.
fn deliver(
    app: &App,
    consumer: &BaseConsumer,
    handler: &'static str,
    event: &[u8],
    status: &Status,
) -> Outcome {
    // Failures of a handler that could not take events at all, and failures on this
    // event: only the second kind leads to a dead letter.
    let (mut unavailable_tries, mut failures) = (0_i64, 0_i64);
    let mut paused = false;
    let outcome = loop {
        let failure = match app.deliver(handler, event) {
            Ok(()) => break Outcome::Taken,
            Err(failure) => failure,
        };
        if failure.permanent {
            break Outcome::Dead(failure.reason, failures + 1);
        }
        if unavailable(&failure) {
            unavailable_tries += 1;
            status.handler(handler, Some(failure.reason.clone()));
        } else {
            failures += 1;
            if failures >= MAX_ATTEMPTS {
                break Outcome::Dead(
                    format!("{MAX_ATTEMPTS} tries: {}", failure.reason),
                    failures,
                );
            }
        }
        let tries = unavailable_tries + failures;
        eprintln!("{handler}: try {tries} failed: {}", failure.reason);
        if !paused {
            paused = true;
            if let Err(error) = consumer.assignment().and_then(|all| consumer.pause(&all)) {
                eprintln!("{handler}: pausing: {error}");
            }
        }
        let wait = Duration::from_millis(u64::try_from(backoff(tries)).unwrap_or(0));
        wait_polling(consumer, handler, wait.min(MAX_WAIT));
    };
    if unavailable_tries > 0 {
        status.handler(handler, None);
    }
    // Everything assigned now, partitions paused while waiting included.
    if paused && let Err(error) = consumer.assignment().and_then(|all| consumer.resume(&all)) {
        eprintln!("{handler}: resuming: {error}");
    }
    outcome
}

/// Waits `wait`, polling the paused consumer so it keeps its place in the group.
fn wait_polling(consumer: &BaseConsumer, handler: &str, wait: Duration) {
    let until = std::time::Instant::now() + wait;
    while std::time::Instant::now() < until {
        if let Some(Ok(message)) = consumer.poll(Duration::from_millis(100)) {
            // Paused partitions deliver nothing: this one was assigned since. Its
            // position moved past the message, so put it back and pause it too, or the
            // next commit there would skip the message.
            let (topic, partition, offset) =
                (message.topic(), message.partition(), message.offset());
            let mut only = TopicPartitionList::new();
            only.add_partition(topic, partition);
            let put_back = consumer
                .seek(
                    topic,
                    partition,
                    Offset::Offset(offset),
                    Duration::from_secs(10),
                )
                .and_then(|()| consumer.pause(&only));
            if let Err(error) = put_back {
                eprintln!(
                    "{handler}: {topic}/{partition} offset {offset} came while paused: {error}"
                );
            }
        }
    }
}

/// Sends `message`, with why, to `handler`'s dead-letter topic; tries until the broker
/// has it, since committing past it otherwise would lose it.
fn dead_letter(producer: &FutureProducer, topic: &str, message: &BorrowedMessage, reason: &str) {
    let offset = message.offset().to_string();
    let mut headers = OwnedHeaders::new();
    for (key, value) in headers_of(message) {
        headers = headers.insert(Header {
            key: &key,
            value: Some(value.as_bytes()),
        });
    }
    let headers = headers
        .insert(Header {
            key: "fusion_error",
            value: Some(reason.as_bytes()),
        })
        .insert(Header {
            key: "fusion_topic",
            value: Some(message.topic().as_bytes()),
        })
        .insert(Header {
            key: "fusion_offset",
            value: Some(offset.as_bytes()),
        });
    loop {
        let mut record = FutureRecord::to(topic)
            .payload(message.payload().unwrap_or_default())
            .headers(headers.clone());
        if let Some(key) = message.key() {
            record = record.key(key);
        }
        match producer.send_result(record) {
            Ok(acknowledged) => match futures::executor::block_on(acknowledged) {
                Ok(Ok(_)) => return,
                Ok(Err((error, _))) => eprintln!("{topic}: {error}"),
                Err(_) => eprintln!("{topic}: the producer went away"),
            },
            Err((error, _)) => eprintln!("{topic}: {error}"),
        }
        std::thread::sleep(Duration::from_millis(500));
    }
}
