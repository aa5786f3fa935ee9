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
use crate::topics::Names;
use kit::outbox::{MAX_ATTEMPTS, backoff};
use rdkafka::Message;
use rdkafka::config::ClientConfig;
use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer};
use rdkafka::message::{BorrowedMessage, Header, Headers, OwnedHeaders};
use rdkafka::producer::{FutureProducer, FutureRecord};
use std::time::Duration;

/// The longest wait between two tries of one event.
const MAX_WAIT: Duration = Duration::from_secs(30);

/// The consumer of `handler`'s group, subscribed to `topics`.
pub fn consumer(
    brokers: &str,
    names: &Names,
    handler: &str,
    topics: &[&str],
) -> Result<BaseConsumer, String> {
    let consumer: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", brokers)
        .set("group.id", names.group(handler))
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
    let topics: Vec<&str> = topics.iter().map(String::as_str).collect();
    consumer
        .subscribe(&topics)
        .map_err(|error| format!("{handler} subscribing to {topics:?}: {error}"))?;
    Ok(consumer)
}

/// Consumes for `handler`, for as long as the bridge runs.
pub fn run(
    app: &App,
    consumer: &BaseConsumer,
    dead_letters: &FutureProducer,
    names: &Names,
    handler: &str,
) -> ! {
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
        let outcome = match to_event(&headers, message.payload().unwrap_or_default()) {
            Ok(event) => deliver(app, consumer, handler, &event),
            Err(reason) => Outcome::Dead(format!("not an event: {reason}")),
        };
        if let Outcome::Dead(reason) = outcome {
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
        }
        // Committed only now: a bridge that dies before hands the event over again.
        while let Err(error) = consumer.commit_message(&message, CommitMode::Sync) {
            eprintln!("{handler}: committing: {error}");
            std::thread::sleep(Duration::from_millis(500));
        }
    }
}

enum Outcome {
    Taken,
    Dead(String),
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
fn deliver(app: &App, consumer: &BaseConsumer, handler: &str, event: &[u8]) -> Outcome {
    let mut failures: i64 = 0;
    let mut paused = None;
    let outcome = loop {
        let failure = match app.deliver(handler, event) {
            Ok(()) => break Outcome::Taken,
            Err(failure) => failure,
        };
        if failure.permanent {
            break Outcome::Dead(failure.reason);
        }
        failures += 1;
        if !unavailable(&failure) && failures >= MAX_ATTEMPTS {
            break Outcome::Dead(format!("{MAX_ATTEMPTS} tries: {}", failure.reason));
        }
        eprintln!("{handler}: try {failures} failed: {}", failure.reason);
        if paused.is_none() {
            paused = consumer.assignment().ok();
            if let Some(assignment) = &paused
                && let Err(error) = consumer.pause(assignment)
            {
                eprintln!("{handler}: pausing: {error}");
            }
        }
        let wait = Duration::from_millis(u64::try_from(backoff(failures)).unwrap_or(0));
        wait_polling(consumer, handler, wait.min(MAX_WAIT));
    };
    if let Some(assignment) = paused
        && let Err(error) = consumer.resume(&assignment)
    {
        eprintln!("{handler}: resuming: {error}");
    }
    outcome
}

/// Waits `wait`, polling the paused consumer (no message comes).
fn wait_polling(consumer: &BaseConsumer, handler: &str, wait: Duration) {
    let until = std::time::Instant::now() + wait;
    while std::time::Instant::now() < until {
        if let Some(Ok(message)) = consumer.poll(Duration::from_millis(100)) {
            // Paused partitions deliver nothing; a message here came from a partition
            // assigned since. It is not committed, so it comes again.
            eprintln!(
                "{handler}: {} offset {} arrived while paused; it will come again",
                message.topic(),
                message.offset()
            );
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
