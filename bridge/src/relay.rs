//! Outbox → bus: each context's due events, claimed through the app's relay, produced
//! to their topics (CloudEvents binary mode, keyed by subject), then settled: the events
//! the broker acknowledged are done, the others retry with the outbox's backoff. An
//! event is settled only after the broker has it (`acks=all`), so neither a bridge nor a
//! broker restart loses one; a bridge that dies mid-batch leaves its claim to lapse
//! (30 s) and the events are produced again — at least once, like every delivery.
//!
//! A claim may also hold deliveries to one handler (a dead letter replayed, or one the
//! `http` transport left before a switch to a bus): those go to that handler alone,
//! over HTTP, not to the topic the other groups have already read.

use crate::app::{App, Unpublished};
use crate::cloudevents::to_record;
use crate::status::Status;
use crate::topics::Names;
use kit::outbox::{BUS, Delivery};
use rdkafka::message::{Header, OwnedHeaders};
use rdkafka::producer::{FutureProducer, FutureRecord};
use std::time::Duration;

/// Events claimed per call.
const BATCH: i64 = 500;
/// The wait between claims of a quiet context, doubling from the first to the last.
const IDLE_WAITS: (Duration, Duration) = (Duration::from_millis(20), Duration::from_secs(1));

/// Relays `context`, for as long as the bridge runs.
pub fn run(
    app: &App,
    producer: &FutureProducer,
    names: &Names,
    context: &'static str,
    status: &Status,
) -> ! {
    let mut idle = IDLE_WAITS.0;
    loop {
        let claimed = app.claim(context, BATCH);
        status.relay(
            context,
            claimed.as_ref().err().map(|failure| failure.reason.clone()),
        );
        let claimed = match claimed {
            Ok(claimed) => claimed,
            Err(failure) => {
                eprintln!("relay {context}: {}", failure.reason);
                std::thread::sleep(IDLE_WAITS.1);
                continue;
            }
        };
        if claimed.is_empty() {
            std::thread::sleep(idle);
            idle = (idle * 2).min(IDLE_WAITS.1);
            continue;
        }
        idle = IDLE_WAITS.0;
        let (to_bus, to_handlers): (Vec<Delivery>, Vec<Delivery>) = claimed
            .into_iter()
            .partition(|delivery| delivery.subscriber == BUS);
        let (mut published, mut failed) = publish(producer, names, to_bus);
        for delivery in to_handlers {
            match app.deliver(&delivery.subscriber, delivery.payload.as_bytes()) {
                Ok(()) => published.push(delivery),
                Err(failure) => failed.push(Unpublished {
                    delivery,
                    error: failure.reason,
                    permanent: failure.permanent,
                }),
            }
        }
        if !failed.is_empty() {
            eprintln!(
                "relay {context}: the bus did not take {} event(s): {}",
                failed.len(),
                failed[0].error
            );
        }
        // A settle that fails leaves the claim to lapse: the events go out again.
        if let Err(failure) = app.settle(context, &published, &failed) {
            eprintln!("relay {context}: settling: {}", failure.reason);
        }
    }
}

/// Produces every claimed event, all in flight at once, and sorts them by the broker's
/// answer.
fn publish(
    producer: &FutureProducer,
    names: &Names,
    claimed: Vec<Delivery>,
) -> (Vec<Delivery>, Vec<Unpublished>) {
    let mut in_flight = Vec::with_capacity(claimed.len());
    let mut failed = Vec::new();
    for delivery in claimed {
        let record = match to_record(delivery.payload.as_bytes()) {
            Ok(record) => record,
            Err(reason) => {
                failed.push(Unpublished {
                    delivery,
                    error: format!("not an event: {reason}"),
                    permanent: true,
                });
                continue;
            }
        };
        let headers = record
            .headers
            .iter()
            .fold(OwnedHeaders::new(), |headers, (key, value)| {
                headers.insert(Header {
                    key,
                    value: Some(value.as_bytes()),
                })
            });
        let topic = names.topic(&record.topic);
        let sent = producer.send_result(
            FutureRecord::to(&topic)
                .key(&record.key)
                .payload(&record.value)
                .headers(headers),
        );
        match sent {
            Ok(acknowledged) => in_flight.push((delivery, acknowledged)),
            Err((error, _)) => failed.push(unpublished(delivery, error.to_string())),
        }
    }
    let mut published = Vec::with_capacity(in_flight.len());
    for (delivery, acknowledged) in in_flight {
        match futures::executor::block_on(acknowledged) {
            Ok(Ok(_)) => published.push(delivery),
            Ok(Err((error, _))) => failed.push(unpublished(delivery, error.to_string())),
            Err(_) => failed.push(unpublished(delivery, "the producer went away".to_owned())),
        }
    }
    (published, failed)
}

/// An event the broker did not take this time.
fn unpublished(delivery: Delivery, error: String) -> Unpublished {
    Unpublished {
        delivery,
        error,
        permanent: false,
    }
}
