//! Structured logs: one JSON line on stderr for each request a component serves and
//! each event a handler applies — time, level, ids, tenant, component, route, status,
//! duration. The fields are chosen, never copied from a request: headers, bodies and
//! queries (where tokens, passwords and card tokens travel) are never logged.

use serde::Serialize;
use std::cell::RefCell;
use std::time::Instant;

thread_local! {
    /// The tenant the request turned out to act for, once the caller is known.
    static TENANT: RefCell<Option<String>> = const { RefCell::new(None) };
}

/// Notes the tenant the request acts for, for its log line.
pub fn note_tenant(tenant: &str) {
    TENANT.with(|noted| *noted.borrow_mut() = Some(tenant.to_owned()));
}

fn take_tenant() -> Option<String> {
    TENANT.with(|noted| noted.borrow_mut().take())
}

/// A line's level by the answer's status: errors are the app's (5xx), warnings the
/// caller's (4xx).
fn level(status: u16) -> &'static str {
    match status {
        500.. => "error",
        400.. => "warn",
        _ => "info",
    }
}

#[derive(Serialize)]
struct Line<'a> {
    time: String,
    level: &'static str,
    /// `request` or `delivery`.
    kind: &'static str,
    request_id: &'a str,
    correlation_id: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    tenant: Option<&'a str>,
    component: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    method: Option<&'a str>,
    route: &'a str,
    status: u16,
    duration_ms: f64,
    #[serde(skip_serializing_if = "Option::is_none")]
    event_type: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    event_id: Option<&'a str>,
}

impl Line<'_> {
    fn write(&self) {
        if let Ok(line) = serde_json::to_string(self) {
            eprintln!("{line}");
        }
    }
}

fn since(started: Instant) -> f64 {
    (started.elapsed().as_secs_f64() * 1_000_000.0).round() / 1_000.0
}

/// What identifies a request in its log line.
pub struct RequestFields<'a> {
    pub component: &'a str,
    pub method: &'a str,
    /// The path, without its query.
    pub path: &'a str,
    pub request_id: &'a str,
}

/// Logs a request `component` answered with `status`; its flow is the request itself.
pub fn request(fields: &RequestFields, status: u16, started: Instant) {
    let tenant = take_tenant();
    Line {
        time: contracts::now_rfc3339(),
        level: level(status),
        kind: "request",
        request_id: fields.request_id,
        correlation_id: fields.request_id,
        tenant: tenant.as_deref(),
        component: fields.component,
        method: Some(fields.method),
        route: fields.path,
        status,
        duration_ms: since(started),
        event_type: None,
        event_id: None,
    }
    .write();
}

/// Logs the delivery of `event` to `subscriber` at `route`, answered with `status`.
pub fn delivery<T>(
    subscriber: &str,
    route: &str,
    event: &contracts::Envelope<T>,
    status: u16,
    request_id: &str,
    started: Instant,
) {
    Line {
        time: contracts::now_rfc3339(),
        level: level(status),
        kind: "delivery",
        request_id,
        correlation_id: &event.correlationid,
        tenant: Some(&event.tenant),
        component: subscriber,
        method: None,
        route,
        status,
        duration_ms: since(started),
        event_type: Some(&event.event_type),
        event_id: Some(&event.id),
    }
    .write();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn levels_follow_the_status() {
        assert_eq!(level(200), "info");
        assert_eq!(level(404), "warn");
        assert_eq!(level(503), "error");
    }

    #[test]
    fn a_noted_tenant_goes_to_one_line_only() {
        note_tenant("acme");
        assert_eq!(take_tenant().as_deref(), Some("acme"));
        assert_eq!(take_tenant(), None);
    }
}
