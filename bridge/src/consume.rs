//! Bus → handlers: one consumer group per handler component (its group id is the
//! handler's name), reading the topics it subscribes to and handing each event to the
//! handler's signed `/events/<handler>` route. A record is committed only after the
//! handler answered 2xx, or after the event went to the group's dead-letter topic:
//! - a handler that is unreachable or says it cannot take events now (502, 503, 504, a
//!   refused signature while keys rotate, 408, 429) is retried until it can, while the
//!   group's lag grows: its events wait in order;
//! - an event it refuses (any other 4xx), or one it fails on (other 5xx) every time,
//!   [`MAX_ATTEMPTS`] times with the outbox's backoff, goes to the dead-letter topic with
//!   the reason, and so does a record that is no CloudEvent: none stops the group.

use crate::app::{App, Failure};
use crate::bus::{Bus, Consumed, Consumer};
use crate::cloudevents::{Record, to_event};
use crate::status::{Outcome as Counted, Status};
use crate::topics::dead_letters_of;
use kit::outbox::{MAX_ATTEMPTS, backoff};
use std::time::Duration;

/// The longest wait between two tries of one event: a handler back after a while is
/// served again within this long.
const MAX_WAIT: Duration = Duration::from_secs(10);
/// Tries of one record's commit.
const COMMIT_TRIES: usize = 5;

/// Events handed to a handler in one call, at most: those already read together, until
/// they pass half the app's largest body (a batch it refused as too large would go one
/// by one).
const BATCH: usize = 500;
const BATCH_BYTES: usize = kit::json::MAX_BODY_BYTES / 2;

/// Consumes for `handler` with its group's member `consumer`, for as long as the bridge
/// runs.
pub fn run<B: Bus>(
    app: &App,
    bus: &B,
    mut consumer: B::Consumer,
    handler: &'static str,
    status: &Status,
) -> ! {
    loop {
        let first = match consumer.next() {
            Ok(None) => continue,
            Ok(Some(consumed)) => consumed,
            Err(error) => {
                eprintln!("{handler}: {error}");
                std::thread::sleep(Duration::from_millis(500));
                continue;
            }
        };
        let mut bytes = first.record.value.len();
        let mut read = vec![first];
        while read.len() < BATCH
            && bytes < BATCH_BYTES
            && let Some(more) = consumer.next_at_hand()
        {
            bytes += more.record.value.len();
            read.push(more);
        }
        hand_over(app, bus, &mut consumer, handler, status, &read);
        // Committed only now: a bridge that dies before hands the events over again. A
        // commit that keeps failing (the group rebalancing, the broker restarting) is
        // left to a later one: on Kafka the next commit on the partition covers these
        // records; otherwise the events come again.
        for _ in 0..COMMIT_TRIES {
            match consumer.commit(&read) {
                Ok(()) => break,
                Err(error) => eprintln!("{handler}: committing: {error}"),
            }
            std::thread::sleep(Duration::from_millis(200));
        }
    }
}

/// Batches handed to a handler at once, from one read: its records split by key, so one
/// aggregate's events stay in one batch, in order.
const IN_FLIGHT: usize = 3;

/// Hands the records `read` to `handler`: in batches (up to [`IN_FLIGHT`] at once) when
/// they are all events, and one by one (as the module's doc says) those of a batch that
/// was not taken whole, or all when one is no event (the handler applies each event
/// once, so those it took answer at once).
fn hand_over<C: Consumer>(
    app: &App,
    bus: &impl Bus,
    consumer: &mut C,
    handler: &'static str,
    status: &Status,
    read: &[Consumed<C::At>],
) {
    let events: Vec<Result<Vec<u8>, String>> = read
        .iter()
        .map(|consumed| to_event(&consumed.record.headers, &consumed.record.value))
        .collect();
    let mut one_by_one: Vec<usize> = (0..read.len()).collect();
    let all_events: Option<Vec<&[u8]>> = events.iter().map(|event| event.as_deref().ok()).collect();
    if let Some(all_events) = all_events.filter(|_| read.len() > 1) {
        let batches = by_key(read, IN_FLIGHT);
        let taken: Vec<bool> = std::thread::scope(|scope| {
            let calls: Vec<_> = batches
                .iter()
                .map(|batch| {
                    let events: Vec<&[u8]> = batch.iter().map(|&index| all_events[index]).collect();
                    scope.spawn(move || app.deliver_batch(handler, &events).is_ok())
                })
                .collect();
            calls
                .into_iter()
                .map(|call| call.join().unwrap_or(false))
                .collect()
        });
        for (batch, taken) in batches.iter().zip(&taken) {
            if *taken {
                let count = u64::try_from(batch.len()).unwrap_or(u64::MAX);
                status.delivered(handler, Counted::Taken, count);
            }
        }
        one_by_one = batches
            .into_iter()
            .zip(taken)
            .filter(|(_, taken)| !taken)
            .flat_map(|(batch, _)| batch)
            .collect();
        one_by_one.sort_unstable();
    }
    for index in one_by_one {
        let (consumed, event) = (&read[index], &events[index]);
        let outcome = match &event {
            Ok(event) => deliver(app, consumer, handler, event, status),
            Err(reason) => Outcome::Dead(format!("not an event: {reason}"), 0),
        };
        status.delivered(
            handler,
            match outcome {
                Outcome::Taken => Counted::Taken,
                Outcome::Dead(..) => Counted::DeadLettered,
            },
            1,
        );
        if let Outcome::Dead(reason, attempts) = outcome {
            eprintln!(
                "{handler}: {} at {} is a dead letter: {reason}",
                consumed.record.topic, consumed.position
            );
            dead_letter(bus, handler, consumed, &reason);
            // A record that is no event has no tenant to list it under: the topic only.
            if let Ok(event) = event {
                report_dead_letter(app, handler, event, &reason, attempts);
            }
        }
    }
}

/// The indexes of `read` in up to `parts` groups by record key, each in read order.
fn by_key<At>(read: &[Consumed<At>], parts: usize) -> Vec<Vec<usize>> {
    use std::hash::{BuildHasher, BuildHasherDefault, DefaultHasher};
    let hasher = BuildHasherDefault::<DefaultHasher>::default();
    let mut groups = vec![Vec::new(); parts.max(1)];
    for (index, consumed) in read.iter().enumerate() {
        let part = hasher.hash_one(&consumed.record.key) % groups.len() as u64;
        groups[usize::try_from(part).unwrap_or(0)].push(index);
    }
    groups.retain(|group| !group.is_empty());
    groups
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

/// Whether the handler could not take events at all, whatever the event: retried
/// without a limit (see the module's doc).
fn unavailable(failure: &Failure) -> bool {
    matches!(
        failure.status,
        None | Some(401 | 408 | 429 | 502 | 503 | 504)
    )
}

/// Hands `event` to `handler`, trying again as the module's doc says; meanwhile the
/// consumer holds its place and reads nothing further.
fn deliver(
    app: &App,
    consumer: &mut impl Consumer,
    handler: &'static str,
    event: &[u8],
    status: &Status,
) -> Outcome {
    // Failures of a handler that could not take events at all, and failures on this
    // event: only the second kind leads to a dead letter.
    let (mut unavailable_tries, mut failures) = (0_i64, 0_i64);
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
        status.delivered(handler, Counted::Retried, 1);
        let tries = unavailable_tries + failures;
        eprintln!("{handler}: try {tries} failed: {}", failure.reason);
        let wait = Duration::from_millis(u64::try_from(backoff(tries)).unwrap_or(0));
        consumer.hold(wait.min(MAX_WAIT));
    };
    if unavailable_tries > 0 {
        status.handler(handler, None);
    }
    consumer.release();
    outcome
}

/// Appends `consumed`, with why, to `handler`'s dead-letter topic; tries until the
/// broker has it, since committing past it otherwise would lose it.
fn dead_letter<B: Bus, At>(bus: &B, handler: &str, consumed: &Consumed<At>, reason: &str) {
    let mut headers = consumed.record.headers.clone();
    headers.extend([
        ("fusion_error".to_owned(), reason.to_owned()),
        ("fusion_topic".to_owned(), consumed.record.topic.clone()),
        ("fusion_offset".to_owned(), consumed.position.clone()),
    ]);
    let letter = [Record {
        topic: dead_letters_of(handler),
        key: consumed.record.key.clone(),
        headers,
        value: consumed.record.value.clone(),
    }];
    loop {
        match bus.publish(&letter).remove(0) {
            Ok(()) => return,
            Err(error) => eprintln!("{handler}'s dead letters: {error}"),
        }
        std::thread::sleep(Duration::from_millis(500));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read_with_keys(keys: &[&str]) -> Vec<Consumed<()>> {
        keys.iter()
            .enumerate()
            .map(|(index, key)| Consumed {
                record: Record {
                    topic: "order.created".into(),
                    key: (*key).into(),
                    headers: Vec::new(),
                    value: Vec::new(),
                },
                position: index.to_string(),
                at: (),
            })
            .collect()
    }

    #[test]
    fn batches_by_key_keep_each_aggregate_whole_and_in_read_order() {
        let keys = ["a", "b", "c", "a", "d", "b", "a", "e", "f", "c"];
        let read = read_with_keys(&keys);
        let batches = by_key(&read, IN_FLIGHT);
        assert!(!batches.is_empty() && batches.len() <= IN_FLIGHT);
        let mut every: Vec<usize> = batches.concat();
        every.sort_unstable();
        assert_eq!(
            every,
            (0..keys.len()).collect::<Vec<_>>(),
            "each record once"
        );
        for batch in &batches {
            assert!(batch.windows(2).all(|pair| pair[0] < pair[1]), "{batch:?}");
        }
        for key in keys {
            let holding = batches
                .iter()
                .filter(|batch| batch.iter().any(|&index| keys[index] == key))
                .count();
            assert_eq!(holding, 1, "{key} in one batch");
        }
        assert_eq!(by_key(&read_with_keys(&["a"]), IN_FLIGHT), [vec![0]]);
    }
}
