//! The `http` event transport (wasm32 only): the dispatcher that sends a context's due
//! outbox deliveries to each subscriber (by service chaining, or at the app's origin:
//! [`HandlerOrigin`]), and [`serve_event`], the
//! adapter every event-handler component is built on.

use crate::db::{DbError, Migration, unless_busy};
use crate::http::{Response, empty};
use crate::outbox::{
    AfterFailure, Delivery, HandlerError, HandlerOrigin, Transport, apply_once,
    apply_once_calling_out, claim_due, now_ms, record_delivered, record_failure,
};
use crate::problem::Problem;
use crate::request_id;
use crate::signature::{sign, verify};
use crate::spin::RequestStore;
use crate::spin::http::{read_body, send as send_request};
use crate::spin::{SpinDb, open_for_context, open_migrated};
use crate::trace::TraceContext;
pub use contracts::Envelope;
use contracts::Event;
use futures::future::join_all;
use http::StatusCode;
use serde::Serialize;
use spin_sdk::http::IncomingRequest;
use std::time::Duration;

/// Deliveries claimed per pass.
const BATCH: i64 = 32;
/// Retries due within this many milliseconds are waited for in the same request, so a
/// handler that fails briefly does not wait for the next sweep.
const INLINE_RETRY_WINDOW_MS: i64 = 1_500;
/// Passes of one post-commit dispatch; the sweep drains everything due.
const POST_COMMIT_PASSES: usize = 4;
const SWEEP_PASSES: usize = 1_000;
pub use crate::outbox::{BATCH_CONTENT_TYPE, EVENT_CONTENT_TYPE};
pub use crate::signature::SIGNATURE_HEADER;

/// What a dispatch did, for logs and the sweep's answer.
#[derive(Debug, Default, Clone, Copy, Serialize)]
pub struct DispatchSummary {
    pub delivered: u64,
    pub retrying: u64,
    pub dead: u64,
}

/// Sends `context`'s due deliveries after a transaction committed. `db` is consumed:
/// no connection is held while a subscriber runs (its own chain of handlers needs
/// connections from the same pool). Failures stay pending for the next dispatch or
/// the sweep; they are logged, never the caller's error.
pub async fn dispatch_after_commit(context: &str, db: SpinDb) -> DispatchSummary {
    dispatch(context, Some(db), POST_COMMIT_PASSES)
        .await
        .unwrap_or_else(|error| {
            eprintln!("dispatch {context}: {error}");
            DispatchSummary::default()
        })
}

/// Sends everything due in `context` (the sweep).
pub async fn sweep(context: &str) -> Result<DispatchSummary, DbError> {
    dispatch(context, None, SWEEP_PASSES).await
}

async fn dispatch(
    context: &str,
    mut db: Option<SpinDb>,
    passes: usize,
) -> Result<DispatchSummary, DbError> {
    let mut summary = DispatchSummary::default();
    if crate::spin::event_transport().await? == Transport::Bus {
        // On a bus the bridge's relay claims every due delivery, handlers' included.
        return Ok(summary);
    }
    let signing_key = signing_key().await?;
    let origin = handler_origin().await?;
    for _ in 0..passes {
        let store = match db.take() {
            Some(db) => db,
            None => open_for_context(context).await?,
        };
        let claimed = unless_busy(|| claim_due(&store, now_ms(), BATCH)).await?;
        drop(store);
        if claimed.is_empty() {
            break;
        }
        let sends = by_event(&claimed)
            .into_iter()
            .map(|deliveries| send_in_order(deliveries, &origin, &signing_key));
        let outcomes = join_all(sends).await;
        let store = open_for_context(context).await?;
        let mut soonest_retry = None;
        let now = now_ms();
        let (mut delivered, mut failed) = (Vec::new(), Vec::new());
        for (delivery, outcome) in outcomes.into_iter().flatten() {
            match outcome {
                Ok(()) => delivered.push(delivery),
                Err(failure) => failed.push((delivery, failure)),
            }
        }
        // Successes first: a failure that cannot be recorded must not undo them.
        let lost = unless_busy(|| record_delivered(&store, &delivered, now)).await?;
        for delivery in &lost {
            eprintln!(
                "delivery {} was delivered after its claim expired; the later claim's outcome stands",
                delivery.id
            );
        }
        summary.delivered += u64::try_from(delivered.len() - lost.len()).unwrap_or(0);
        for (delivery, failure) in failed {
            eprintln!(
                "delivery {} of {} {} to {} failed: {}",
                delivery.id, delivery.topic, delivery.event_id, delivery.subscriber, failure.reason
            );
            let recorded = unless_busy(|| {
                record_failure(&store, delivery, &failure.reason, failure.permanent, now)
            });
            match recorded.await? {
                AfterFailure::RetryAt(at) => {
                    summary.retrying += 1;
                    soonest_retry = Some(soonest_retry.map_or(at, |soonest: i64| soonest.min(at)));
                }
                AfterFailure::Dead => summary.dead += 1,
                AfterFailure::ClaimLost => {}
            }
        }
        drop(store);
        match soonest_retry {
            Some(at) if at - now <= INLINE_RETRY_WINDOW_MS => {
                // Every send of this pass has finished, so blocking the instance's one
                // thread waits for nothing else.
                let wait = u64::try_from(at - now_ms()).unwrap_or(0);
                std::thread::sleep(Duration::from_millis(wait));
            }
            _ if claimed.len() < usize::try_from(BATCH).unwrap_or(usize::MAX) => break,
            _ => {}
        }
    }
    Ok(summary)
}

/// Claimed deliveries grouped by event, keeping each event's subscriber order.
fn by_event(claimed: &[Delivery]) -> Vec<Vec<&Delivery>> {
    let mut events: Vec<Vec<&Delivery>> = Vec::new();
    for delivery in claimed {
        match events.last_mut() {
            Some(event) if event[0].event_id == delivery.event_id => event.push(delivery),
            _ => events.push(vec![delivery]),
        }
    }
    events
}

/// Why a subscriber did not take an event.
struct Failure {
    reason: String,
    /// The subscriber refused the event itself (4xx): retrying cannot help.
    permanent: bool,
}

/// Sends one event's deliveries one subscriber after the other; events run concurrently.
async fn send_in_order<'a>(
    deliveries: Vec<&'a Delivery>,
    origin: &HandlerOrigin,
    signing_key: &str,
) -> Vec<(&'a Delivery, Result<(), Failure>)> {
    let mut outcomes = Vec::with_capacity(deliveries.len());
    for delivery in deliveries {
        outcomes.push((delivery, send(delivery, origin, signing_key).await));
    }
    outcomes
}

/// The `event_handlers_origin` variable (see [`HandlerOrigin`]).
async fn handler_origin() -> Result<HandlerOrigin, DbError> {
    let value = crate::spin::variable("event_handlers_origin")
        .await
        .map_err(DbError::Other)?
        .unwrap_or_default();
    HandlerOrigin::from_variable(&value).map_err(DbError::Other)
}

/// The `event_signing_key` variable; unset, no handler would take a delivery.
async fn signing_key() -> Result<String, DbError> {
    match crate::spin::variable("event_signing_key").await {
        Ok(Some(key)) if !key.is_empty() => Ok(key),
        Ok(_) => Err(DbError::Other(
            "event_signing_key is not set: deliveries cannot be signed".into(),
        )),
        Err(error) => Err(DbError::Other(error)),
    }
}

async fn send(
    delivery: &Delivery,
    origin: &HandlerOrigin,
    signing_key: &str,
) -> Result<(), Failure> {
    let signature = sign(
        signing_key,
        delivery.payload.as_bytes(),
        crate::auth::unix_now(),
    );
    let request = http::Request::post(origin.url(&delivery.subscriber))
        .header(http::header::CONTENT_TYPE, EVENT_CONTENT_TYPE)
        .header(SIGNATURE_HEADER, signature)
        // Sent with its length, not chunked: a public origin may sit behind a proxy
        // that refuses chunked requests.
        .header(http::header::CONTENT_LENGTH, delivery.payload.len())
        .body(delivery.payload.clone().into_bytes())
        .map_err(|error| Failure {
            reason: format!("building the request: {error}"),
            permanent: true,
        })?;
    let answer = send_request(request).await.map_err(|reason| Failure {
        reason,
        permanent: false,
    })?;
    let status = answer.status;
    if status.is_success() {
        return Ok(());
    }
    let body = &answer.body;
    let detail = String::from_utf8_lossy(&body[..body.len().min(500)]).into_owned();
    Err(Failure {
        reason: format!("HTTP {}: {detail}", status.as_u16()),
        permanent: crate::outbox::refuses_the_event(status.as_u16()),
    })
}

/// An event handler component: its id in `spin.toml` (the subscriber name of
/// [`crate::wiring::SUBSCRIPTIONS`]) and the context whose store it writes.
pub struct EventHandler {
    pub subscriber: &'static str,
    pub context: &'static str,
    pub migrations: &'static [Migration],
}

/// Serves one delivery: parses the `E` event (400 when it is not one), and applies
/// `effect` once — recorded in the same transaction, so a redelivery answers 200 and
/// changes nothing — then dispatches the events the effect enqueued. A delivery may
/// also be a batch of events (see [`BATCH_CONTENT_TYPE`]).
pub async fn serve_event<E: Event>(
    request: IncomingRequest,
    handler: &EventHandler,
    effect: impl AsyncFn(&RequestStore, &Envelope<E>) -> Result<(), HandlerError>,
) -> Response {
    serve_delivery(request, handler, async |db, event: &Envelope<E>| {
        apply_once(db, handler.subscriber, &event.id, async |db| {
            effect(db, event).await
        })
        .await
    })
    .await
}

/// Like [`serve_event`] for a handler that calls out before it records (see
/// [`apply_once_calling_out`]): `call_out` outside any transaction, then `record`
/// once with its answer.
pub async fn serve_event_calling_out<E: Event, P>(
    request: IncomingRequest,
    handler: &EventHandler,
    call_out: impl AsyncFn(&RequestStore, &Envelope<E>) -> Result<P, HandlerError>,
    record: impl AsyncFn(&RequestStore, &Envelope<E>, P) -> Result<(), HandlerError>,
) -> Response {
    serve_delivery(request, handler, async |db, event: &Envelope<E>| {
        apply_once_calling_out(
            db,
            handler.subscriber,
            &event.id,
            async |db| call_out(db, event).await,
            async |db, answer| record(db, event, answer).await,
        )
        .await
    })
    .await
}

/// What both kinds of handler share: the event parsed (400 when it is not one), the
/// store opened, `apply` run (`None`: applied before), the dispatch of what it
/// enqueued, then the answer: the dispatcher upstream waits for the handlers
/// downstream, as a client waits for the saga, so the work in flight stays bounded by
/// the clients' concurrency.
async fn serve_delivery<E: Event>(
    request: IncomingRequest,
    handler: &EventHandler,
    apply: impl AsyncFn(&RequestStore, &Envelope<E>) -> Result<Option<()>, HandlerError>,
) -> Response {
    let (response, enqueued) = apply_delivery(request, handler, apply).await;
    if let Some(db) = enqueued {
        dispatch_after_commit(handler.context, db).await;
    }
    response
}

/// The answer to one delivery, and the store when applying it enqueued deliveries.
async fn apply_delivery<E: Event>(
    request: IncomingRequest,
    handler: &EventHandler,
    apply: impl AsyncFn(&RequestStore, &Envelope<E>) -> Result<Option<()>, HandlerError>,
) -> (Response, Option<SpinDb>) {
    let parts = crate::spin::http::request_parts(&request);
    let (headers, route) = (parts.headers, parts.uri.path().to_owned());
    let request_id = request_id::from_headers(&headers);
    let trace = TraceContext::from_headers(&headers);
    let body = match read_body(request).await {
        Ok(body) => body,
        Err(problem) => return (problem.to_response(&request_id), None),
    };
    if let Err(problem) = check_signature(&headers, &body).await {
        return (problem.to_response(&request_id), None);
    }
    let batched = headers
        .get(http::header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|value| value.starts_with(BATCH_CONTENT_TYPE));
    let events = match parse_events::<E>(&body, batched) {
        Ok(events) => events,
        Err(problem) => return (problem.to_response(&request_id), None),
    };
    let db = match open_migrated(handler.context, handler.migrations).await {
        Ok(db) => RequestStore::new(db, None),
        Err(error) => {
            let reason = error.to_string();
            let answer = match events.first() {
                Some(event) => unavailable(handler, event, &reason, &request_id),
                None => Problem::unavailable(reason).to_response(&request_id),
            };
            return (answer, None);
        }
    };
    for event in &events {
        let started = std::time::Instant::now();
        crate::trace::for_event(
            trace.as_ref(),
            event.traceparent.as_deref(),
            event.tracestate.as_deref(),
        );
        let log = |status: StatusCode| {
            let subscriber = handler.subscriber;
            crate::log::delivery(
                subscriber,
                &route,
                event,
                status.as_u16(),
                &request_id,
                started,
            );
        };
        let refusal = match apply(&db, event).await {
            Ok(_) => {
                log(StatusCode::OK);
                continue;
            }
            Err(HandlerError::Retry(reason)) => unavailable(handler, event, &reason, &request_id),
            Err(HandlerError::Refuse(reason)) => {
                eprintln!(
                    "{} refused {} {}: {reason}",
                    handler.subscriber, event.event_type, event.id
                );
                Problem::unprocessable(reason).to_response(&request_id)
            }
        };
        log(refusal.status());
        return (refusal, db.into_enqueued());
    }
    (empty(StatusCode::OK, &request_id), db.into_enqueued())
}

/// The delivered event, or a batch's events in order; 400 naming the first that is not
/// an `E`.
fn parse_events<E: Event>(body: &[u8], batched: bool) -> Result<Vec<Envelope<E>>, Problem> {
    if !batched {
        return Envelope::<E>::from_json(body)
            .map(|event| vec![event])
            .map_err(|error| Problem::bad_request(error.to_string()));
    }
    let events: Vec<serde_json::Value> = serde_json::from_slice(body)
        .map_err(|error| Problem::bad_request(format!("a batch is a JSON array: {error}")))?;
    events
        .iter()
        .enumerate()
        .map(|(index, event)| {
            Envelope::<E>::from_json(event.to_string().as_bytes())
                .map_err(|error| Problem::bad_request(format!("event {index}: {error}")))
        })
        .collect()
}

/// 401 unless the request (a delivery, or the bridge's call to the relay) is signed
/// under `event_signing_key` (500 when unset).
pub async fn check_signature(headers: &http::HeaderMap, body: &[u8]) -> Result<(), Problem> {
    let key = signing_key().await.map_err(|error| {
        eprintln!("{error}");
        Problem::internal()
    })?;
    let header = headers
        .get(SIGNATURE_HEADER)
        .and_then(|value| value.to_str().ok());
    verify(&key, header, body, crate::auth::unix_now())
        .map_err(|error| Problem::unauthorized(error.describe("deliveries", SIGNATURE_HEADER)))
}

fn unavailable<E>(
    handler: &EventHandler,
    event: &Envelope<E>,
    reason: &str,
    request_id: &str,
) -> Response {
    eprintln!(
        "{} could not apply {} {}: {reason}",
        handler.subscriber, event.event_type, event.id
    );
    Problem::unavailable(format!("{} will retry: {reason}", handler.subscriber))
        .to_response(request_id)
}
