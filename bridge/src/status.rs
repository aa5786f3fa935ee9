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
//!   which. It answers from the start, while the broker cannot be reached yet;
//! - `GET /metrics`: the same in Prometheus' text format, with the deliveries to each
//!   handler by outcome (taken, retried, dead-lettered).

use crate::bus::Bus;
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::time::Duration;

const PROMETHEUS_TEXT: &str = "text/plain; version=0.0.4; charset=utf-8";

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
    /// Deliveries to each handler by outcome, since the bridge started.
    deliveries: Mutex<BTreeMap<(&'static str, Outcome), u64>>,
}

/// What became of one try of a delivery to a handler.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Outcome {
    Taken,
    /// It failed and is tried again.
    Retried,
    DeadLettered,
}

impl Outcome {
    fn name(self) -> &'static str {
        match self {
            Outcome::Taken => "taken",
            Outcome::Retried => "retried",
            Outcome::DeadLettered => "dead_lettered",
        }
    }
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

    /// Counts `count` deliveries to `handler` that ended in `outcome`.
    pub fn delivered(&self, handler: &'static str, outcome: Outcome, count: u64) {
        *lock(&self.deliveries)
            .entry((handler, outcome))
            .or_default() += count;
    }

    /// `GET /metrics`: the lag per group and topic, whether the bridge is healthy, and
    /// the deliveries by handler and outcome.
    pub fn metrics(&self) -> String {
        let (code, _) = self.health();
        let mut text = format!(
            "# HELP fusion_bridge_healthy Whether GET /health answers 200.\n\
             # TYPE fusion_bridge_healthy gauge\n\
             fusion_bridge_healthy {}\n",
            u8::from(code == 200)
        );
        text.push_str(
            "# HELP fusion_bridge_lag Events on the broker a handler's group has not taken.\n\
             # TYPE fusion_bridge_lag gauge\n",
        );
        let lag = self.lag().unwrap_or_default();
        for group in lag["groups"].as_array().into_iter().flatten() {
            text.push_str(&format!(
                "fusion_bridge_lag{{group=\"{}\",topic=\"{}\"}} {}\n",
                group["group"].as_str().unwrap_or_default(),
                group["topic"].as_str().unwrap_or_default(),
                group["lag"].as_i64().unwrap_or_default()
            ));
        }
        text.push_str(
            "# HELP fusion_bridge_deliveries_total Deliveries to handlers, by outcome.\n\
             # TYPE fusion_bridge_deliveries_total counter\n",
        );
        for ((handler, outcome), count) in lock(&self.deliveries).iter() {
            text.push_str(&format!(
                "fusion_bridge_deliveries_total{{handler=\"{handler}\",outcome=\"{}\"}} {count}\n",
                outcome.name()
            ));
        }
        text
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
        if (request.method(), request.url()) == (&tiny_http::Method::Get, "/metrics") {
            let prometheus = tiny_http::Header::from_bytes("content-type", PROMETHEUS_TEXT)
                .expect("a valid header");
            let response =
                tiny_http::Response::from_string(status.metrics()).with_header(prometheus);
            let _ = request.respond(response);
            continue;
        }
        let (code, body) = match (request.method(), request.url()) {
            (tiny_http::Method::Get, "/health") => status.health(),
            (tiny_http::Method::Get, "/lag") => match status.lag() {
                Ok(lag) => (200, lag),
                Err(problem) => (503, json!({ "error": problem })),
            },
            _ => (
                404,
                json!({ "error": "GET /health, GET /lag or GET /metrics" }),
            ),
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metrics_count_deliveries_by_handler_and_outcome() {
        let status = Status::default();
        status.delivered("payments-on-inventory-reserved", Outcome::Taken, 3);
        status.delivered("payments-on-inventory-reserved", Outcome::Retried, 1);
        status.delivered("shipping-on-payment-succeeded", Outcome::DeadLettered, 1);
        *lock(&status.lag) = Some(Ok(json!({
            "total": 2,
            "groups": [{ "group": "shop.payments", "handler": "payments", "topic": "shop.order.created", "lag": 2 }],
        })));
        let text = status.metrics();
        for line in [
            "fusion_bridge_healthy 0",
            "fusion_bridge_lag{group=\"shop.payments\",topic=\"shop.order.created\"} 2",
            "fusion_bridge_deliveries_total{handler=\"payments-on-inventory-reserved\",outcome=\"taken\"} 3",
            "fusion_bridge_deliveries_total{handler=\"payments-on-inventory-reserved\",outcome=\"retried\"} 1",
            "fusion_bridge_deliveries_total{handler=\"shipping-on-payment-succeeded\",outcome=\"dead_lettered\"} 1",
        ] {
            assert!(text.lines().any(|l| l == line), "{line} not in\n{text}");
        }
    }
}
