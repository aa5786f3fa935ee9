//! The CloudEvents Kafka protocol binding, binary mode: an outbox event (structured JSON,
//! as the app stores and its handlers take it) becomes a record whose headers are the
//! attributes (`ce_<name>`, extensions included: `ce_tenant`, `ce_correlationid`, ...),
//! whose value is the `data` and whose key is the `subject` (the aggregate, so one
//! order's events keep their order in a partition); and back. An event's trace context
//! (`traceparent`, `tracestate`: CloudEvents distributed tracing) also travels as the plain
//! W3C headers, which tracing-aware Kafka clients read.

use serde_json::{Map, Value};

/// One Kafka record, before it is produced or after it was consumed.
#[derive(Debug, Clone, PartialEq)]
pub struct Record {
    pub topic: String,
    pub key: String,
    pub headers: Vec<(String, String)>,
    pub value: Vec<u8>,
}

const PREFIX: &str = "ce_";
const CONTENT_TYPE: &str = "content-type";
const REQUIRED: [&str; 4] = ["specversion", "id", "source", "type"];
const TRACE_CONTEXT: [&str; 2] = ["traceparent", "tracestate"];

/// The record carrying the structured event `event`; its topic is the event's type.
pub fn to_record(event: &[u8]) -> Result<Record, String> {
    let event: Map<String, Value> =
        serde_json::from_slice(event).map_err(|error| format!("not a JSON object: {error}"))?;
    let text = |name: &str| match event.get(name) {
        Some(Value::String(value)) => Ok(value.clone()),
        _ => Err(format!("the event has no {name} attribute")),
    };
    for name in REQUIRED {
        text(name)?;
    }
    let topic = text("type")?;
    let key = text("subject").or_else(|_| text("id"))?;
    let mut headers = Vec::with_capacity(event.len());
    for (name, value) in &event {
        match (name.as_str(), value) {
            ("data", _) => {}
            ("datacontenttype", Value::String(value)) => {
                headers.push((CONTENT_TYPE.to_owned(), value.clone()));
            }
            (_, Value::String(value)) => {
                headers.push((format!("{PREFIX}{name}"), value.clone()));
                if TRACE_CONTEXT.contains(&name.as_str()) && value.is_ascii() {
                    headers.push((name.clone(), value.clone()));
                }
            }
            (_, other) => return Err(format!("attribute {name} is not a string: {other}")),
        }
    }
    let data = event.get("data").unwrap_or(&Value::Null);
    let value = serde_json::to_vec(data).map_err(|error| error.to_string())?;
    Ok(Record {
        topic,
        key,
        headers,
        value,
    })
}

/// The `traceparent` of a structured event, if it has one.
pub fn traceparent_of(event: &[u8]) -> Option<String> {
    #[derive(serde::Deserialize)]
    struct TraceContext {
        traceparent: Option<String>,
    }
    serde_json::from_slice::<TraceContext>(event)
        .ok()?
        .traceparent
}

/// The structured event a consumed record carries: `Err` says why it is none (a record
/// not produced by the binding, or with a value that is not JSON).
pub fn to_event(headers: &[(String, String)], value: &[u8]) -> Result<Vec<u8>, String> {
    let mut event = Map::new();
    for (name, text) in headers {
        if let Some(attribute) = name.strip_prefix(PREFIX) {
            event.insert(attribute.to_owned(), Value::String(text.clone()));
        } else if name.eq_ignore_ascii_case(CONTENT_TYPE) {
            event.insert("datacontenttype".to_owned(), Value::String(text.clone()));
        }
    }
    if let Some(missing) = REQUIRED.iter().find(|name| !event.contains_key(**name)) {
        return Err(format!("no {PREFIX}{missing} header: not a CloudEvent"));
    }
    let data: Value =
        serde_json::from_slice(value).map_err(|error| format!("the value is not JSON: {error}"))?;
    event.insert("data".to_owned(), data);
    serde_json::to_vec(&event).map_err(|error| error.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn event() -> Value {
        json!({
            "specversion": "1.0",
            "id": "0190-event",
            "source": "/components/orders-api",
            "type": "order.created",
            "subject": "order-1",
            "time": "2026-12-06T10:00:00.000000Z",
            "datacontenttype": "application/json",
            "tenant": "acme",
            "correlationid": "req-1",
            "dataversion": "1",
            "traceparent": "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
            "data": { "order_id": "order-1", "total": 600 },
        })
    }

    #[test]
    fn an_event_travels_as_headers_and_data_keyed_by_its_subject() {
        let record = to_record(event().to_string().as_bytes()).unwrap();
        assert_eq!(record.topic, "order.created");
        assert_eq!(record.key, "order-1");
        let header = |name: &str| {
            record
                .headers
                .iter()
                .find(|(found, _)| found == name)
                .map(|(_, value)| value.as_str())
        };
        assert_eq!(header("ce_id"), Some("0190-event"));
        assert_eq!(header("ce_type"), Some("order.created"));
        assert_eq!(header("ce_tenant"), Some("acme"));
        assert_eq!(header("ce_correlationid"), Some("req-1"));
        assert_eq!(header("content-type"), Some("application/json"));
        assert_eq!(header("ce_data"), None);
        let traceparent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
        assert_eq!(header("ce_traceparent"), Some(traceparent));
        assert_eq!(header("traceparent"), Some(traceparent));
        assert_eq!(
            traceparent_of(event().to_string().as_bytes()).as_deref(),
            Some(traceparent)
        );
        let data: Value = serde_json::from_slice(&record.value).unwrap();
        assert_eq!(data, event()["data"]);
        // And back: the same event.
        let back: Value =
            serde_json::from_slice(&to_event(&record.headers, &record.value).unwrap()).unwrap();
        assert_eq!(back, event());
    }

    #[test]
    fn an_event_without_a_subject_is_keyed_by_its_id() {
        let mut event = event();
        event.as_object_mut().unwrap().remove("subject");
        let record = to_record(event.to_string().as_bytes()).unwrap();
        assert_eq!(record.key, "0190-event");
    }

    #[test]
    fn what_is_not_an_event_is_named() {
        assert!(to_record(b"[1]").unwrap_err().contains("not a JSON object"));
        let mut no_type = event();
        no_type.as_object_mut().unwrap().remove("type");
        let refused = to_record(no_type.to_string().as_bytes()).unwrap_err();
        assert!(refused.contains("no type"), "{refused}");

        let record = to_record(event().to_string().as_bytes()).unwrap();
        let refused = to_event(&record.headers, b"not json").unwrap_err();
        assert!(refused.contains("not JSON"), "{refused}");
        let refused = to_event(&[], b"{}").unwrap_err();
        assert!(refused.contains("not a CloudEvent"), "{refused}");
    }
}
