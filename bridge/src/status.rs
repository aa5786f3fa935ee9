//! What the bridge says about itself, on its own small HTTP listener
//! (`FUSION_BRIDGE_LISTEN`), for probes, operators and autoscalers:
//! - `GET /lag`: each consumer group's lag per topic (and partition): the events on the
//!   broker that its handler has not taken yet, read from the broker (see each engine),
//!   so it counts every member of the group, not only this bridge's; read every [`LAG_EVERY`] by a thread
//!   of its own, so probes never wait for the broker (`read_at` says when), and only
//!   while someone asks (within [`READ_WHILE_ASKED`]), so an idle bridge does not load
//!   the broker with it;
//! - `GET /health`: 200 when the broker answered the last reading, every relay reached
//!   the app on its last try and no handler is being waited for; 503 otherwise, saying
//!   which. It answers from the start, while the broker cannot be reached yet.

use crate::bus::Bus;
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::time::Duration;

/// How often the lag is read.
pub const LAG_EVERY: Duration = Duration::from_secs(2);
/// The lag is read while `GET /lag` or `GET /health` was asked within this long.
pub const READ_WHILE_ASKED: Duration = Duration::from_secs(60);

/// The bridge's state as its threads last saw it.
#[derive(Default)]
pub struct Status {
    /// Set once the topics exist and the groups read.
    ready: AtomicBool,
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
    /// The topics exist and the groups read.
    pub fn set_ready(&self) {
        self.ready.store(true, Ordering::Relaxed);
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
    pub fn watch_lag(&self, bus: &impl Bus) -> ! {
        let wanted_for = i64::try_from(READ_WHILE_ASKED.as_millis()).unwrap_or(i64::MAX);
        loop {
            if kit::outbox::now_ms() - self.asked_at.load(Ordering::Relaxed) > wanted_for {
                std::thread::sleep(LAG_EVERY);
                continue;
            }
            let reading = bus.lag().map(|mut lag| {
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

    /// `GET /health`'s status and body.
    pub fn health(&self) -> (u16, Value) {
        let broker = match (
            lock(&self.broker).clone(),
            self.ready.load(Ordering::Relaxed),
        ) {
            (Some(problem), _) => Err(problem),
            (None, false) => Err("creating the topics".to_owned()),
            (None, true) => self.lag().map(|lag| lag["total"].clone()),
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
