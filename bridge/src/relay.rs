//! Outbox → bus: each context's due events, claimed through the app's relay, published
//! to their topics (CloudEvents binary mode, keyed by subject), then settled: the events
//! the broker acknowledged are done, the others retry with the outbox's backoff. An
//! event is settled only after the broker keeps it, so neither a bridge nor a broker
//! restart loses one; a bridge that dies mid-batch leaves its claim to lapse
//! (30 s) and the events are produced again — at least once, like every delivery.
//!
//! A claim may also hold deliveries to one handler (a dead letter replayed, or one the
//! `http` transport left before a switch to a bus): those go to that handler alone,
//! over HTTP, not to the topic the other groups have already read.

use crate::app::{App, Unpublished};
use crate::bus::Bus;
use crate::cloudevents::to_record;
use crate::status::Status;
use kit::outbox::{BUS, Delivery};
use std::time::Duration;

/// Events claimed per call.
const BATCH: i64 = 500;
/// The wait between claims of a quiet context, doubling from the first to the last.
const IDLE_WAITS: (Duration, Duration) = (Duration::from_millis(20), Duration::from_secs(1));

/// Relays `context`, for as long as the bridge runs.
pub fn run(app: &App, bus: &impl Bus, context: &'static str, status: &Status) -> ! {
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
        let (mut published, mut failed) = publish(bus, to_bus);
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

/// Publishes every claimed event, all in flight at once, and sorts them by the
/// broker's answer.
fn publish(bus: &impl Bus, claimed: Vec<Delivery>) -> (Vec<Delivery>, Vec<Unpublished>) {
    let mut records = Vec::with_capacity(claimed.len());
    let mut events = Vec::with_capacity(claimed.len());
    let mut failed = Vec::new();
    for delivery in claimed {
        match to_record(delivery.payload.as_bytes()) {
            Ok(record) => {
                records.push(record);
                events.push(delivery);
            }
            Err(reason) => failed.push(Unpublished {
                delivery,
                error: format!("not an event: {reason}"),
                permanent: true,
            }),
        }
    }
    let mut published = Vec::with_capacity(events.len());
    for (delivery, outcome) in events.into_iter().zip(bus.publish(&records)) {
        match outcome {
            Ok(()) => published.push(delivery),
            Err(error) => failed.push(Unpublished {
                delivery,
                error,
                permanent: false,
            }),
        }
    }
    (published, failed)
}
