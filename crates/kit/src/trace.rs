//! W3C trace context in a guest: the `traceparent` (and `tracestate`) of what is being
//! served, which the events it writes carry as CloudEvents' distributed-tracing
//! extension. A flow's events so stay in its trace on every transport: the `http`
//! dispatcher's requests are traced by the host, and the bridge hands each event's
//! context on as the delivery's `traceparent`.
//!
//! A guest instance serves one request (WASIp2), so the context is the instance's.

use http::HeaderMap;
use std::cell::RefCell;

pub const TRACEPARENT: &str = "traceparent";
pub const TRACESTATE: &str = "tracestate";

/// A trace context as the headers and the envelope carry it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct TraceContext {
    pub traceparent: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tracestate: Option<String>,
}

thread_local! {
    static CURRENT: RefCell<Option<TraceContext>> = const { RefCell::new(None) };
}

impl TraceContext {
    /// The request's context, when its `traceparent` is one.
    pub fn from_headers(headers: &HeaderMap) -> Option<Self> {
        let text = |name| headers.get(name).and_then(|value| value.to_str().ok());
        let traceparent = text(TRACEPARENT).filter(|value| is_traceparent(value))?;
        Some(Self {
            traceparent: traceparent.to_owned(),
            tracestate: text(TRACESTATE).map(str::to_owned),
        })
    }

    /// The 32 hex digits naming the trace.
    fn trace_id(&self) -> &str {
        &self.traceparent[3..35]
    }

    /// A new trace (its first span's context), sampled.
    fn mint() -> Self {
        let trace_id = uuid::Uuid::new_v4().simple().to_string();
        let span_id = &uuid::Uuid::new_v4().simple().to_string()[..16];
        Self {
            traceparent: format!("00-{trace_id}-{span_id}-01"),
            tracestate: None,
        }
    }
}

/// Whether `value` is a version-00 `traceparent`: lower-case hex ids, neither all zeros.
pub fn is_traceparent(value: &str) -> bool {
    let fields: Vec<&str> = value.split('-').collect();
    let hex = |field: &str, len: usize| {
        field.len() == len
            && field
                .bytes()
                .all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
    };
    let nonzero = |field: &str| field.bytes().any(|b| b != b'0');
    matches!(fields[..], [version, trace, span, flags]
        if version == "00" && hex(trace, 32) && hex(span, 16) && hex(flags, 2)
            && nonzero(trace) && nonzero(span))
}

/// Starts serving a request: its context, or none until [`current`] mints one.
pub fn serve(headers: &HeaderMap) {
    set(TraceContext::from_headers(headers));
}

/// Sets the context while an event is applied: the event's own, unless the request's
/// is of the same trace (the delivery's span within it, which is then the parent).
pub fn for_event(
    request: Option<&TraceContext>,
    traceparent: Option<&str>,
    tracestate: Option<&str>,
) {
    let event = traceparent
        .filter(|value| is_traceparent(value))
        .map(|traceparent| TraceContext {
            traceparent: traceparent.to_owned(),
            tracestate: tracestate.map(str::to_owned),
        });
    let context = match (request, event) {
        (Some(request), Some(event)) if request.trace_id() != event.trace_id() => Some(event),
        (Some(request), _) => Some(request.clone()),
        (None, event) => event,
    };
    set(context);
}

fn set(context: Option<TraceContext>) {
    CURRENT.with(|current| *current.borrow_mut() = context);
}

/// The context of what is being served; a new trace, kept for the rest of it, when it
/// came with none.
pub fn current() -> TraceContext {
    CURRENT.with(|current| {
        current
            .borrow_mut()
            .get_or_insert_with(TraceContext::mint)
            .clone()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const A: &str = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
    const A_CHILD: &str = "00-4bf92f3577b34da6a3ce929d0e0e4736-1111111111111111-01";
    const B: &str = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";

    fn context(traceparent: &str) -> TraceContext {
        TraceContext {
            traceparent: traceparent.to_owned(),
            tracestate: None,
        }
    }

    #[test]
    fn only_a_w3c_traceparent_is_taken() {
        assert!(is_traceparent(A));
        for bad in [
            "",
            "01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
            "00-00000000000000000000000000000000-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",
            "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-x",
        ] {
            assert!(!is_traceparent(bad), "{bad}");
        }
        let mut headers = HeaderMap::new();
        headers.insert(TRACEPARENT, "garbage".parse().unwrap());
        assert_eq!(TraceContext::from_headers(&headers), None);
    }

    #[test]
    fn a_request_without_context_gets_one_trace_for_all_it_writes() {
        serve(&HeaderMap::new());
        let minted = current();
        assert!(is_traceparent(&minted.traceparent), "{minted:?}");
        assert_eq!(current(), minted);

        let mut headers = HeaderMap::new();
        headers.insert(TRACEPARENT, A.parse().unwrap());
        headers.insert(TRACESTATE, "shop=1".parse().unwrap());
        serve(&headers);
        assert_eq!(current().traceparent, A);
        assert_eq!(current().tracestate.as_deref(), Some("shop=1"));
    }

    #[test]
    fn an_event_continues_its_own_trace() {
        // The delivery's span of the event's trace is the parent.
        for_event(Some(&context(A_CHILD)), Some(A), None);
        assert_eq!(current().traceparent, A_CHILD);
        // A delivery of another trace (a retry by the sweep): the event's.
        for_event(Some(&context(B)), Some(A), Some("shop=1"));
        assert_eq!(
            current(),
            TraceContext {
                traceparent: A.into(),
                tracestate: Some("shop=1".into())
            }
        );
        // No header: the event's; an event of before tracing: the request's.
        for_event(None, Some(A), None);
        assert_eq!(current().traceparent, A);
        for_event(Some(&context(B)), None, None);
        assert_eq!(current().traceparent, B);
    }
}
