//! The app, as the bridge calls it over HTTP: the outbox relay (claim, settle) of the ops
//! component and the handlers' `/events/<handler>` routes, every call signed under the
//! app's `event_signing_key` (the `fusion-signature` header).

use crate::cloudevents::traceparent_of;
use kit::auth::unix_now;
use kit::outbox::{Delivery, refuses_the_event};
use kit::signature::{SIGNATURE_HEADER, sign};
use serde_json::{Value, json};
use std::time::Duration;

/// Why a call did not do its job; `permanent` when the app refused the request itself
/// (a 4xx that retrying cannot mend).
#[derive(Debug, Clone)]
pub struct Failure {
    pub reason: String,
    /// The app's answer, when it answered.
    pub status: Option<u16>,
    pub permanent: bool,
}

/// A claimed event the bus did not take, and why; `permanent` when producing it again
/// cannot help (it is no event).
pub struct Unpublished {
    pub delivery: Delivery,
    pub error: String,
    pub permanent: bool,
}

pub struct App {
    origin: String,
    signing_key: String,
    agent: ureq::Agent,
}

impl App {
    /// The app at `origin` (say `http://127.0.0.1:3000`).
    pub fn new(origin: &str, signing_key: &str) -> App {
        let config = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(Duration::from_secs(60)))
            .build();
        App {
            origin: origin.trim_end_matches('/').to_owned(),
            signing_key: signing_key.to_owned(),
            agent: config.into(),
        }
    }

    fn post(&self, path: &str, body: &[u8], content_type: &str) -> Result<Vec<u8>, Failure> {
        self.post_traced(path, body, content_type, None)
    }

    /// [`App::post`] in the trace `traceparent` names.
    fn post_traced(
        &self,
        path: &str,
        body: &[u8],
        content_type: &str,
        traceparent: Option<String>,
    ) -> Result<Vec<u8>, Failure> {
        let url = format!("{}{path}", self.origin);
        let signature = sign(&self.signing_key, body, unix_now());
        let mut request = self
            .agent
            .post(&url)
            .header(SIGNATURE_HEADER, &signature)
            .content_type(content_type);
        // Only a well-formed one: another value could not even be sent as a header.
        if let Some(traceparent) = traceparent.filter(|value| kit::trace::is_traceparent(value)) {
            request = request.header("traceparent", traceparent);
        }
        let mut answer = request.send(body).map_err(|error| Failure {
            reason: format!("POST {url}: {error}"),
            status: None,
            permanent: false,
        })?;
        let status = answer.status().as_u16();
        let body = answer
            .body_mut()
            .with_config()
            .limit(64 << 20)
            .read_to_vec()
            .map_err(|error| Failure {
                reason: format!("reading the answer of POST {url}: {error}"),
                status: None,
                permanent: false,
            })?;
        if (200..300).contains(&status) {
            return Ok(body);
        }
        let detail = String::from_utf8_lossy(&body[..body.len().min(500)]).into_owned();
        Err(Failure {
            reason: format!("POST {url}: HTTP {status}: {detail}"),
            status: Some(status),
            permanent: refuses_the_event(status),
        })
    }

    fn post_json(&self, path: &str, body: &Value) -> Result<Value, Failure> {
        let answer = self.post(path, body.to_string().as_bytes(), "application/json")?;
        serde_json::from_slice(&answer).map_err(|error| Failure {
            reason: format!("POST {path} answered no JSON: {error}"),
            status: None,
            permanent: false,
        })
    }

    /// Up to `limit` of `context`'s events due on the bus, leased to this bridge.
    pub fn claim(&self, context: &str, limit: i64) -> Result<Vec<Delivery>, Failure> {
        let answer = self.post_json(
            "/api/v1/admin/outbox/relay/claim",
            &json!({ "context": context, "limit": limit }),
        )?;
        serde_json::from_value(answer["deliveries"].clone()).map_err(|error| Failure {
            reason: format!("the relay's claim is not a list of deliveries: {error}"),
            status: None,
            permanent: false,
        })
    }

    /// Tells the relay which claimed events the bus took and which it did not.
    pub fn settle(
        &self,
        context: &str,
        published: &[Delivery],
        failed: &[Unpublished],
    ) -> Result<(), Failure> {
        // Named by their claims alone: the events themselves would only weigh the body.
        let claim = |delivery: &Delivery| {
            json!({
                "id": delivery.id,
                "attempts": delivery.attempts,
                "lease_until": delivery.lease_until,
            })
        };
        let published: Vec<Value> = published.iter().map(claim).collect();
        let failed: Vec<Value> = failed
            .iter()
            .map(|failure| {
                json!({
                    "delivery": claim(&failure.delivery),
                    "error": failure.error,
                    "permanent": failure.permanent,
                })
            })
            .collect();
        self.post_json(
            "/api/v1/admin/outbox/relay/settle",
            &json!({ "context": context, "published": published, "failed": failed }),
        )
        .map(drop)
    }

    /// Tells the app that `handler` gave up on the structured `event`: a dead letter of
    /// the handler's context.
    pub fn dead_letter(
        &self,
        handler: &str,
        event: &[u8],
        error: &str,
        attempts: i64,
    ) -> Result<(), Failure> {
        let event: Value = serde_json::from_slice(event).map_err(|error| Failure {
            reason: format!("the event is no JSON: {error}"),
            status: None,
            permanent: true,
        })?;
        self.post_json(
            "/api/v1/admin/outbox/relay/dead-letter",
            &json!({ "handler": handler, "event": event, "error": error, "attempts": attempts }),
        )
        .map(drop)
    }

    /// Hands the structured `events` to `handler` in one batch (applied in order): `Ok`
    /// once it answered 2xx, that is, applied them all. The delivery is in the first
    /// event's trace; each event is applied in its own.
    pub fn deliver_batch(&self, handler: &str, events: &[&[u8]]) -> Result<(), Failure> {
        let mut batch = Vec::with_capacity(events.iter().map(|event| event.len() + 1).sum());
        batch.push(b'[');
        for (index, event) in events.iter().enumerate() {
            if index > 0 {
                batch.push(b',');
            }
            batch.extend_from_slice(event);
        }
        batch.push(b']');
        self.post_traced(
            &format!("/events/{handler}"),
            &batch,
            kit::outbox::BATCH_CONTENT_TYPE,
            events.first().and_then(|event| traceparent_of(event)),
        )
        .map(drop)
    }

    /// Hands the structured `event` to `handler`, in the event's trace: `Ok` once it
    /// answered 2xx.
    pub fn deliver(&self, handler: &str, event: &[u8]) -> Result<(), Failure> {
        self.post_traced(
            &format!("/events/{handler}"),
            event,
            kit::outbox::EVENT_CONTENT_TYPE,
            traceparent_of(event),
        )
        .map(drop)
    }
}
