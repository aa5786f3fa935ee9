//! The route table and the pure rules of the ops endpoints.

use http::Method;
use kit::route::Route;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Endpoint {
    Health,
    Metrics,
    ListDeadLetters,
    ReplayDeadLetter,
    Sweep,
    RelayClaim,
    RelaySettle,
    RelayDeadLetter,
}

pub const ROUTES: &[Route<Endpoint>] = &[
    Route::new(Method::GET, "/health", Endpoint::Health),
    Route::new(Method::GET, "/api/v1/admin/metrics", Endpoint::Metrics),
    Route::new(
        Method::GET,
        "/api/v1/admin/dead-letters",
        Endpoint::ListDeadLetters,
    ),
    Route::new(
        Method::POST,
        "/api/v1/admin/dead-letters/{id}/replay",
        Endpoint::ReplayDeadLetter,
    ),
    Route::new(Method::POST, "/api/v1/admin/outbox/sweep", Endpoint::Sweep),
    Route::new(
        Method::POST,
        "/api/v1/admin/outbox/relay/claim",
        Endpoint::RelayClaim,
    ),
    Route::new(
        Method::POST,
        "/api/v1/admin/outbox/relay/settle",
        Endpoint::RelaySettle,
    ),
    Route::new(
        Method::POST,
        "/api/v1/admin/outbox/relay/dead-letter",
        Endpoint::RelayDeadLetter,
    ),
];

/// The most events one relay claim takes.
pub const MAX_RELAY_CLAIM: i64 = 1_000;

/// The bridge's claim: up to `limit` due events of `context` for the bus.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RelayClaim {
    /// A context with an outbox.
    pub context: String,
    // MAX_RELAY_CLAIM (the attribute takes a literal only; a test compares them).
    #[schema(minimum = 1, maximum = 1000)]
    pub limit: i64,
}

/// The answer to a claim: the claimed deliveries, each leased to the bridge.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct RelayClaimed {
    pub deliveries: Vec<kit::outbox::Delivery>,
}

/// What the bridge did with a claim: the deliveries the bus took, and those it did not
/// (with why); each as the claim gave it.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RelaySettle {
    pub context: String,
    #[serde(default)]
    pub published: Vec<kit::outbox::Delivery>,
    #[serde(default)]
    pub failed: Vec<RelayFailure>,
}

/// A claimed delivery the bus did not take, and why.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RelayFailure {
    pub delivery: kit::outbox::Delivery,
    pub error: String,
    /// Trying again cannot help (the bridge found no event in it): a dead letter at once.
    #[serde(default)]
    pub permanent: bool,
}

/// The bridge's report that a handler gave up on an event it read from the bus.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RelayDeadLetter {
    /// The handler component, e.g. `inventory-on-order-created`.
    pub handler: String,
    /// The CloudEvent as the handler was sent it (structured mode).
    #[schema(value_type = Object)]
    pub event: serde_json::Value,
    pub error: String,
    /// Tries of the handler that failed on the event.
    #[serde(default)]
    pub attempts: i64,
}

/// The answer to a dead-letter report: the handler's context, and whether the report
/// made a new dead letter (`false`: the event already was one, or is being replayed).
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct RelayDeadLettered {
    pub context: &'static str,
    pub recorded: bool,
}

impl RelayDeadLetter {
    /// The report's handler's context and its event (`payload`: the event as JSON
    /// text), when the handler is one of ours that handles events of that type.
    pub fn check<'a>(&'a self, payload: &'a str) -> Result<(&'static str, BusEvent<'a>), String> {
        let handler = self.handler.as_str();
        let context = handler_context(handler)
            .ok_or_else(|| format!("handler: {handler:?} is not a handler component"))?;
        let field = |name: &str| {
            self.event
                .get(name)
                .and_then(serde_json::Value::as_str)
                .filter(|value| !value.is_empty())
                .ok_or_else(|| format!("event.{name}: the CloudEvent has no {name}"))
        };
        let (id, topic, tenant) = (field("id")?, field("type")?, field("tenant")?);
        if !subscribers(topic).contains(&handler) {
            return Err(format!("handler: {handler} does not handle {topic} events"));
        }
        Ok((
            context,
            BusEvent {
                id,
                topic,
                tenant,
                payload,
            },
        ))
    }
}

/// The context a relay call names, if it keeps an outbox.
/// Prometheus' text exposition format.
pub const PROMETHEUS_TEXT: &str = "text/plain; version=0.0.4; charset=utf-8";

/// Each context's outbox `gauges` at `now` (Unix ms) in Prometheus' text format.
pub fn prometheus_text(gauges: &[(&str, kit::outbox::Gauges)], now: i64) -> String {
    type Measure = fn(&kit::outbox::Gauges, i64) -> String;
    let families: [(&str, &str, &str, Measure); 4] = [
        (
            "fusion_outbox_pending",
            "gauge",
            "Deliveries waiting to be sent, the bus's included.",
            |g, _| g.pending.to_string(),
        ),
        (
            "fusion_outbox_oldest_pending_seconds",
            "gauge",
            "Age of the oldest waiting delivery's event (0 when none waits).",
            |g, now| {
                let age_ms = g.oldest_pending_ms.map_or(0, |at| (now - at).max(0));
                format!("{:.3}", age_ms as f64 / 1_000.0)
            },
        ),
        (
            "fusion_outbox_dead_letters",
            "gauge",
            "Deliveries that gave up, until replayed.",
            |g, _| g.dead.to_string(),
        ),
        (
            "fusion_outbox_deliveries_retried_total",
            "counter",
            "Failed delivery attempts that were tried again.",
            |g, _| g.retried.to_string(),
        ),
    ];
    let mut text = String::new();
    for (name, kind, help, measure) in families {
        text.push_str(&format!("# HELP {name} {help}\n# TYPE {name} {kind}\n"));
        for (context, gauges) in gauges {
            text.push_str(&format!(
                "{name}{{context=\"{context}\"}} {}\n",
                measure(gauges, now)
            ));
        }
    }
    text
}

pub fn relay_context(context: &str) -> Result<&'static str, String> {
    EVENT_CONTEXTS
        .iter()
        .find(|known| **known == context)
        .copied()
        .ok_or_else(|| format!("{context:?} is not a context with an outbox: {EVENT_CONTEXTS:?}"))
}

use kit::outbox::BusEvent;
pub use kit::wiring::{EVENT_CONTEXTS, STORE_CONTEXTS};
use kit::wiring::{handler_context, subscribers};

/// A dead letter and the context whose outbox holds it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ContextDeadLetter {
    pub context: &'static str,
    #[serde(flatten)]
    pub letter: kit::outbox::DeadLetter,
}

#[cfg(test)]
mod tests {
    use super::*;
    use kit::route::{NoRoute, find};

    #[test]
    fn outbox_metrics_are_prometheus_text() {
        let orders = kit::outbox::Gauges {
            pending: 3,
            oldest_pending_ms: Some(10_000),
            dead: 1,
            retried: 7,
        };
        let idle = kit::outbox::Gauges {
            pending: 0,
            oldest_pending_ms: None,
            dead: 0,
            retried: 0,
        };
        let text = prometheus_text(&[("orders", orders), ("payments", idle)], 12_500);
        for line in [
            "# TYPE fusion_outbox_pending gauge",
            "fusion_outbox_pending{context=\"orders\"} 3",
            "fusion_outbox_oldest_pending_seconds{context=\"orders\"} 2.500",
            "fusion_outbox_oldest_pending_seconds{context=\"payments\"} 0.000",
            "fusion_outbox_dead_letters{context=\"orders\"} 1",
            "# TYPE fusion_outbox_deliveries_retried_total counter",
            "fusion_outbox_deliveries_retried_total{context=\"orders\"} 7",
        ] {
            assert!(text.lines().any(|l| l == line), "{line} not in\n{text}");
        }
    }

    #[test]
    fn routes_lead_to_their_endpoints() {
        let replay = find(
            ROUTES,
            &Method::POST,
            "/api/v1/admin/dead-letters/0190/replay",
        )
        .unwrap();
        assert_eq!(replay, (Endpoint::ReplayDeadLetter, vec!["0190"]));
        assert_eq!(
            find(ROUTES, &Method::GET, "/api/v1/admin/dead-letters")
                .unwrap()
                .0,
            Endpoint::ListDeadLetters
        );
        assert_eq!(
            find(ROUTES, &Method::GET, "/api/v1/admin/outbox/sweep"),
            Err(NoRoute::MethodNotAllowed(vec![Method::POST]))
        );
        assert_eq!(
            find(ROUTES, &Method::GET, "/api/v1/admin/other"),
            Err(NoRoute::NotFound)
        );
    }

    fn report(handler: &str, event: serde_json::Value) -> RelayDeadLetter {
        RelayDeadLetter {
            handler: handler.to_owned(),
            event,
            error: "HTTP 422".to_owned(),
            attempts: 1,
        }
    }

    #[test]
    fn a_dead_letter_report_names_a_handler_of_the_events_type() {
        let event = serde_json::json!({ "id": "e1", "type": "order.created", "tenant": "default" });
        let checked = report("inventory-on-order-created", event.clone());
        let payload = checked.event.to_string();
        let (context, found) = checked.check(&payload).unwrap();
        assert_eq!(
            (context, found.id, found.topic, found.tenant, found.payload),
            (
                "inventory",
                "e1",
                "order.created",
                "default",
                payload.as_str()
            )
        );
        let wrong_type = report("payments-on-inventory-reserved", event.clone());
        assert!(wrong_type.check("{}").unwrap_err().starts_with("handler:"));
        let unknown = report("inventory-on-anything", event);
        assert!(unknown.check("{}").unwrap_err().starts_with("handler:"));
        let no_tenant = report(
            "inventory-on-order-created",
            serde_json::json!({ "id": "e1", "type": "order.created" }),
        );
        assert!(
            no_tenant
                .check("{}")
                .unwrap_err()
                .starts_with("event.tenant")
        );
    }

    #[test]
    fn the_documented_claim_limit_is_the_checked_one() {
        let schema = serde_json::to_value(<RelayClaim as utoipa::PartialSchema>::schema());
        assert_eq!(
            schema.unwrap()["properties"]["limit"]["maximum"],
            MAX_RELAY_CLAIM
        );
    }
}
