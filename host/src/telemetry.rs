//! OpenTelemetry traces, as Spin emits them: on when `OTEL_EXPORTER_OTLP_ENDPOINT` (or
//! `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`) is set, exported in batches over OTLP/HTTP in
//! protobuf (Spin's default protocol). W3C `traceparent` is read from incoming requests
//! and written on outgoing ones, chained requests included, so one trace follows a flow
//! through every component it reaches.
//!
//! Off, [`start`] is one load of a `OnceLock` and answers `None`: no span is made and no
//! header touched.

use http::HeaderMap;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use tokio::sync::{Notify, oneshot};

pub const TRACEPARENT: &str = "traceparent";
/// Spans waiting for export; past this many, new ones are dropped (and counted), so a
/// collector that is down never holds the host's memory.
const QUEUE: usize = 8_192;
/// Spans per export request, as OpenTelemetry's batch processor's default.
const MAX_BATCH: usize = 512;
/// The longest statement text a span carries.
const MAX_STATEMENT: usize = 2_048;

static EXPORTER: OnceLock<Exporter> = OnceLock::new();

/// Ended spans wait in `queue`; the export task takes them every schedule delay, or at
/// once when a batch is full or a flush is asked. A span does not wake the task: a wake
/// per span (a futex per span under load) cost more than making the span.
struct Exporter {
    queue: Mutex<Vec<Span>>,
    wake: Notify,
    flushed: Mutex<Option<oneshot::Sender<()>>>,
    dropped: AtomicU64,
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|e| e.into_inner())
}

/// A span's place in its trace, as `traceparent` carries it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SpanContext {
    pub trace_id: [u8; 16],
    pub span_id: [u8; 8],
    pub sampled: bool,
}

impl SpanContext {
    /// A W3C `traceparent` (version 00, or a later version's first four fields);
    /// `None` for anything else, which then starts a new trace.
    pub fn parse(header: &str) -> Option<Self> {
        let mut fields = header.trim().split('-');
        let (version, trace, span, flags) = (
            fields.next()?,
            fields.next()?,
            fields.next()?,
            fields.next()?,
        );
        let version = hex::<1>(version)?[0];
        if version == 0xff || (version == 0 && fields.next().is_some()) {
            return None;
        }
        let trace_id = hex::<16>(trace)?;
        let span_id = hex::<8>(span)?;
        let flags = hex::<1>(flags)?[0];
        (trace_id != [0; 16] && span_id != [0; 8]).then_some(Self {
            trace_id,
            span_id,
            sampled: flags & 1 == 1,
        })
    }

    pub fn from_headers(headers: &HeaderMap) -> Option<Self> {
        Self::parse(headers.get(TRACEPARENT)?.to_str().ok()?)
    }

    pub fn traceparent(&self) -> String {
        format!(
            "00-{}-{}-{:02x}",
            to_hex(&self.trace_id),
            to_hex(&self.span_id),
            u8::from(self.sampled)
        )
    }

    /// Writes this context as the request's `traceparent`, replacing any (as Spin does).
    pub fn inject(&self, headers: &mut HeaderMap) {
        if let Ok(value) = http::HeaderValue::from_str(&self.traceparent()) {
            headers.insert(TRACEPARENT, value);
        }
    }
}

/// Lower-case hex of exactly `N` bytes, as W3C Trace Context requires.
fn hex<const N: usize>(text: &str) -> Option<[u8; N]> {
    let digits = text.as_bytes();
    if digits.len() != 2 * N {
        return None;
    }
    let nibble = |d: u8| match d {
        b'0'..=b'9' => Some(d - b'0'),
        b'a'..=b'f' => Some(d - b'a' + 10),
        _ => None,
    };
    let mut bytes = [0; N];
    for (byte, pair) in bytes.iter_mut().zip(digits.chunks(2)) {
        *byte = nibble(pair[0])? << 4 | nibble(pair[1])?;
    }
    Some(bytes)
}

fn to_hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Random ids without a system call per span: SplitMix64 per thread, seeded once from
/// the system's randomness. Ids need to be unique, not secret.
fn random_bytes<const N: usize>() -> [u8; N] {
    thread_local! {
        static STATE: std::cell::Cell<u64> = std::cell::Cell::new(
            u64::from_le_bytes(uuid::Uuid::new_v4().into_bytes()[..8].try_into().expect("8 bytes")),
        );
    }
    let mut bytes = [0; N];
    for chunk in bytes.chunks_mut(8) {
        let next = STATE.with(|state| {
            let seed = state.get().wrapping_add(0x9e37_79b9_7f4a_7c15);
            state.set(seed);
            let mut z = seed;
            z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
            z ^ (z >> 31)
        });
        chunk.copy_from_slice(&next.to_le_bytes()[..chunk.len()]);
    }
    bytes
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Internal = 1,
    Server = 2,
    Client = 3,
}

#[derive(Debug, Clone)]
pub enum Value {
    Text(String),
    Int(i64),
}

impl From<&str> for Value {
    fn from(text: &str) -> Self {
        Value::Text(text.to_owned())
    }
}

impl From<String> for Value {
    fn from(text: String) -> Self {
        Value::Text(text)
    }
}

impl From<i64> for Value {
    fn from(n: i64) -> Self {
        Value::Int(n)
    }
}

impl From<u16> for Value {
    fn from(n: u16) -> Self {
        Value::Int(n.into())
    }
}

/// A span in progress; [`Span::end`] queues it for export (a span dropped without
/// ending is not exported).
#[derive(Debug)]
pub struct Span {
    context: SpanContext,
    parent: Option<[u8; 8]>,
    name: String,
    kind: Kind,
    start: u64,
    end: u64,
    attributes: Vec<(&'static str, Value)>,
    error: Option<String>,
}

/// A new span, child of `parent` (a new trace without one); `None` when tracing is off,
/// before `name` is written (so callers pass `format_args!`, which costs nothing then).
/// A child of an unsampled parent is made, so its context travels on, but not exported.
pub fn start(
    name: impl std::fmt::Display,
    kind: Kind,
    parent: Option<SpanContext>,
) -> Option<Span> {
    EXPORTER.get()?;
    let context = SpanContext {
        trace_id: parent.map_or_else(random_bytes, |p| p.trace_id),
        span_id: random_bytes(),
        sampled: parent.is_none_or(|p| p.sampled),
    };
    Some(Span {
        context,
        parent: parent.map(|p| p.span_id),
        name: name.to_string(),
        kind,
        start: unix_nanos(),
        end: 0,
        attributes: Vec::new(),
        error: None,
    })
}

impl Span {
    pub fn context(&self) -> SpanContext {
        self.context
    }

    pub fn set(&mut self, key: &'static str, value: impl Into<Value>) {
        self.attributes.push((key, value.into()));
    }

    /// Marks the span failed, saying why.
    pub fn fail(&mut self, reason: impl Into<String>) {
        self.error = Some(reason.into());
    }

    /// Records an HTTP answer's status; 5xx fails a server span, 4xx and 5xx a client's
    /// (OpenTelemetry's HTTP conventions).
    pub fn status(&mut self, status: u16) {
        self.set("http.response.status_code", status);
        let failed = match self.kind {
            Kind::Server => status >= 500,
            _ => status >= 400,
        };
        if failed {
            self.fail(format!("HTTP {status}"));
        }
    }

    pub fn end(mut self) {
        if !self.context.sampled {
            return;
        }
        let Some(exporter) = EXPORTER.get() else {
            return;
        };
        self.end = unix_nanos();
        let mut queue = lock(&exporter.queue);
        if queue.len() >= QUEUE {
            drop(queue);
            if exporter.dropped.fetch_add(1, Relaxed) == 0 {
                tracing::warn!("the span queue is full: spans are being dropped");
            }
            return;
        }
        queue.push(self);
        if queue.len() == MAX_BATCH {
            exporter.wake.notify_one();
        }
    }
}

/// A span for one SQL statement: its text without values (they are parameters), capped.
pub fn statement(
    parent: Option<SpanContext>,
    system: &'static str,
    database: &str,
    text: &str,
) -> Option<Span> {
    let parent = parent?;
    let mut span = start(operation(text), Kind::Client, Some(parent))?;
    span.set("db.system.name", system);
    span.set("db.namespace", database);
    span.set("db.query.text", capped(text, MAX_STATEMENT));
    Some(span)
}

/// A statement's first keyword (`SELECT`, `INSERT`...), past leading comments.
fn operation(statement: &str) -> String {
    let mut rest = statement.trim_start();
    while let Some(comment) = rest.strip_prefix("--") {
        rest = comment
            .split_once('\n')
            .map_or("", |(_, next)| next)
            .trim_start();
    }
    let keyword: String = rest.chars().take_while(char::is_ascii_alphabetic).collect();
    if keyword.is_empty() {
        "SQL".into()
    } else {
        keyword.to_ascii_uppercase()
    }
}

/// `text`'s first `max` bytes at most, cut on a character.
fn capped(text: &str, max: usize) -> &str {
    let mut end = text.len().min(max);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}

/// Ends `span` with `result`'s outcome.
pub fn end_with<T, E: std::fmt::Debug>(span: Option<Span>, result: &Result<T, E>) {
    if let Some(mut span) = span {
        if let Err(error) = result {
            span.fail(format!("{error:?}"));
        }
        span.end();
    }
}

/// Ends a statement's span: failed or not, without the error's text, which may quote the
/// row's values (PostgreSQL's `Key (email)=(…) already exists`).
pub fn end_statement<T, E>(span: Option<Span>, result: &Result<T, E>) {
    if let Some(mut span) = span {
        if result.is_err() {
            span.fail("the statement failed");
        }
        span.end();
    }
}

/// Ends `span` with an HTTP answer's status, or the error that came instead.
pub fn end_answered<T, E: std::fmt::Debug>(
    span: Option<Span>,
    answer: &Result<T, E>,
    status: impl FnOnce(&T) -> http::StatusCode,
) {
    if let Some(mut span) = span {
        match answer {
            Ok(answer) => span.status(status(answer).as_u16()),
            Err(error) => span.fail(format!("{error:?}")),
        }
        span.end();
    }
}

fn unix_nanos() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX))
}

/// Where spans go, from OpenTelemetry's standard variables.
#[derive(Debug, PartialEq)]
struct Endpoint {
    authority: String,
    path: String,
    headers: Vec<(String, String)>,
}

impl Endpoint {
    /// `None` when tracing is off; `Err` for settings fusion-host cannot honour.
    fn from_env(var: impl Fn(&str) -> Option<String>) -> Result<Option<Self>, String> {
        let url = match var("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT").filter(|v| !v.is_empty()) {
            Some(url) => url,
            None => match var("OTEL_EXPORTER_OTLP_ENDPOINT").filter(|v| !v.is_empty()) {
                Some(base) => format!("{}/v1/traces", base.trim_end_matches('/')),
                None => return Ok(None),
            },
        };
        let protocol = var("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL")
            .or_else(|| var("OTEL_EXPORTER_OTLP_PROTOCOL"))
            .unwrap_or_else(|| "http/protobuf".into());
        if protocol != "http/protobuf" {
            return Err(format!(
                "OTEL_EXPORTER_OTLP_PROTOCOL={protocol}: fusion-host exports over http/protobuf only (a collector's OTLP/HTTP receiver, port 4318)"
            ));
        }
        let rest = url.strip_prefix("http://").ok_or_else(|| {
            format!(
                "{url}: fusion-host exports to an http:// endpoint only (a collector next to it)"
            )
        })?;
        let (authority, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
        let headers = var("OTEL_EXPORTER_OTLP_HEADERS")
            .unwrap_or_default()
            .split(',')
            .filter_map(|pair| pair.split_once('='))
            .map(|(name, value)| (name.trim().to_owned(), value.trim().to_owned()))
            .collect();
        Ok(Some(Self {
            authority: authority.to_owned(),
            path: if path.is_empty() {
                "/".into()
            } else {
                path.into()
            },
            headers,
        }))
    }
}

/// Turns tracing on when the environment asks for it; spans are exported by a task of
/// the current runtime. The service is `OTEL_SERVICE_NAME`, else `spin`, as Spin names it.
pub fn init_from_env() {
    let endpoint = match Endpoint::from_env(|name| std::env::var(name).ok()) {
        Ok(Some(endpoint)) => endpoint,
        Ok(None) => return,
        Err(reason) => {
            tracing::warn!("tracing is off: {reason}");
            return;
        }
    };
    let service = std::env::var("OTEL_SERVICE_NAME").unwrap_or_else(|_| "spin".to_owned());
    let delay = std::env::var("OTEL_BSP_SCHEDULE_DELAY")
        .ok()
        .and_then(|ms| ms.parse().ok())
        .map_or(Duration::from_secs(5), Duration::from_millis)
        .max(Duration::from_millis(10));
    eprintln!(
        "fusion-host: exporting traces to http://{}{}",
        endpoint.authority, endpoint.path
    );
    let exporter = EXPORTER.get_or_init(|| Exporter {
        queue: Mutex::new(Vec::new()),
        wake: Notify::new(),
        flushed: Mutex::new(None),
        dropped: AtomicU64::new(0),
    });
    tokio::spawn(export(exporter, endpoint, resource(&service), delay));
}

/// Exports what is queued (at shutdown), waiting at most `timeout`.
pub async fn flush(timeout: Duration) {
    let Some(exporter) = EXPORTER.get() else {
        return;
    };
    let (done, flushed) = oneshot::channel();
    *lock(&exporter.flushed) = Some(done);
    exporter.wake.notify_one();
    _ = tokio::time::timeout(timeout, flushed).await;
}

async fn export(
    exporter: &'static Exporter,
    endpoint: Endpoint,
    resource: Vec<u8>,
    delay: Duration,
) {
    let mut client = Client::default();
    loop {
        tokio::select! {
            () = tokio::time::sleep(delay) => {}
            () = exporter.wake.notified() => {}
        }
        loop {
            let batch: Vec<Span> = {
                let mut queue = lock(&exporter.queue);
                let taken = queue.len().min(MAX_BATCH);
                queue.drain(..taken).collect()
            };
            if batch.is_empty() {
                break;
            }
            if let Err(error) = client.post(&endpoint, encode(&resource, &batch)).await {
                tracing::warn!(
                    "exporting spans to http://{}{}: {error}",
                    endpoint.authority,
                    endpoint.path
                );
            }
        }
        if let Some(done) = lock(&exporter.flushed).take() {
            _ = done.send(());
        }
    }
}

/// One kept-alive HTTP/1 connection to the collector, made again after a failure.
#[derive(Default)]
struct Client {
    connection: Option<hyper::client::conn::http1::SendRequest<http_body_util::Full<bytes::Bytes>>>,
}

impl Client {
    async fn post(&mut self, endpoint: &Endpoint, body: Vec<u8>) -> anyhow::Result<()> {
        // A collector that stalls must not hold the exporter: the spans after it would
        // all be dropped.
        let result = tokio::time::timeout(Duration::from_secs(30), self.try_post(endpoint, body))
            .await
            .unwrap_or_else(|_| Err(anyhow::anyhow!("no answer within 30 s")));
        if result.is_err() {
            self.connection = None;
        }
        result
    }

    async fn try_post(&mut self, endpoint: &Endpoint, body: Vec<u8>) -> anyhow::Result<()> {
        let connection = match &mut self.connection {
            Some(connection) if !connection.is_closed() => connection,
            slot => {
                let stream = tokio::time::timeout(
                    Duration::from_secs(10),
                    tokio::net::TcpStream::connect(&endpoint.authority),
                )
                .await??;
                let (sender, connection) =
                    hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream))
                        .await?;
                tokio::spawn(connection);
                slot.insert(sender)
            }
        };
        let mut request = http::Request::post(&endpoint.path)
            .header(http::header::HOST, &endpoint.authority)
            .header(http::header::CONTENT_TYPE, "application/x-protobuf");
        for (name, value) in &endpoint.headers {
            request = request.header(name, value);
        }
        let request = request.body(http_body_util::Full::new(body.into()))?;
        let response =
            tokio::time::timeout(Duration::from_secs(10), connection.send_request(request))
                .await??;
        let status = response.status();
        // The answer is read to its end, so the connection can take the next batch.
        http_body_util::BodyExt::collect(response.into_body()).await?;
        anyhow::ensure!(status.is_success(), "the collector answered {status}");
        Ok(())
    }
}

/// Protocol Buffers, as much as OTLP's trace request needs.
#[derive(Default)]
struct Proto(Vec<u8>);

impl Proto {
    fn varint(&mut self, mut value: u64) {
        while value >= 0x80 {
            self.0.push((value as u8) | 0x80);
            value >>= 7;
        }
        self.0.push(value as u8);
    }

    fn tag(&mut self, field: u64, wire_type: u64) {
        self.varint(field << 3 | wire_type);
    }

    fn uint(&mut self, field: u64, value: u64) {
        self.tag(field, 0);
        self.varint(value);
    }

    fn fixed64(&mut self, field: u64, value: u64) {
        self.tag(field, 1);
        self.0.extend_from_slice(&value.to_le_bytes());
    }

    fn bytes(&mut self, field: u64, bytes: &[u8]) {
        self.tag(field, 2);
        self.varint(bytes.len() as u64);
        self.0.extend_from_slice(bytes);
    }

    fn message(&mut self, field: u64, build: impl FnOnce(&mut Proto)) {
        let mut inner = Proto::default();
        build(&mut inner);
        self.bytes(field, &inner.0);
    }

    /// An OTLP `KeyValue` with its `AnyValue`.
    fn attribute(&mut self, field: u64, key: &str, value: &Value) {
        self.message(field, |kv| {
            kv.bytes(1, key.as_bytes());
            kv.message(2, |any| match value {
                Value::Text(text) => any.bytes(1, text.as_bytes()),
                Value::Int(n) => any.uint(3, *n as u64),
            });
        });
    }
}

/// The `Resource` message: who emits the spans.
fn resource(service: &str) -> Vec<u8> {
    let mut resource = Proto::default();
    for (key, value) in [
        ("service.name", service),
        ("service.version", env!("CARGO_PKG_VERSION")),
        ("telemetry.sdk.name", "fusion-host"),
    ] {
        resource.attribute(1, key, &value.into());
    }
    resource.0
}

/// An OTLP `ExportTraceServiceRequest` of `spans`.
fn encode(resource: &[u8], spans: &[Span]) -> Vec<u8> {
    let mut request = Proto::default();
    request.message(1, |resource_spans| {
        resource_spans.bytes(1, resource);
        resource_spans.message(2, |scope_spans| {
            scope_spans.message(1, |scope| {
                scope.bytes(1, b"fusion-host");
                scope.bytes(2, env!("CARGO_PKG_VERSION").as_bytes());
            });
            for span in spans {
                scope_spans.message(2, |s| {
                    s.bytes(1, &span.context.trace_id);
                    s.bytes(2, &span.context.span_id);
                    if let Some(parent) = &span.parent {
                        s.bytes(4, parent);
                    }
                    s.bytes(5, span.name.as_bytes());
                    s.uint(6, span.kind as u64);
                    s.fixed64(7, span.start);
                    s.fixed64(8, span.end);
                    for (key, value) in &span.attributes {
                        s.attribute(9, key, value);
                    }
                    if let Some(error) = &span.error {
                        s.message(15, |status| {
                            status.bytes(2, error.as_bytes());
                            status.uint(3, 2);
                        });
                    }
                });
            }
        });
    });
    request.0
}

#[cfg(test)]
mod tests {
    use super::*;
    use testing::otlp;

    #[test]
    fn reads_and_writes_w3c_traceparent() {
        let header = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
        let context = SpanContext::parse(header).unwrap();
        assert!(context.sampled);
        assert_eq!(context.traceparent(), header);
        let unsampled =
            SpanContext::parse("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00");
        assert!(!unsampled.unwrap().sampled);
        // A later version may add fields; version 00 may not.
        assert!(
            SpanContext::parse("01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-xyz")
                .is_some()
        );
        for bad in [
            "",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-xyz",
            "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
            "00-00000000000000000000000000000000-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",
            "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e47-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7",
        ] {
            assert_eq!(SpanContext::parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn ids_are_fresh_each_time() {
        let ids: std::collections::HashSet<[u8; 8]> = (0..1_000).map(|_| random_bytes()).collect();
        assert_eq!(ids.len(), 1_000);
        let trace: [u8; 16] = random_bytes();
        assert_ne!(trace[..8], trace[8..]);
    }

    #[test]
    fn the_endpoint_follows_opentelemetrys_variables() {
        let env = |pairs: &'static [(&'static str, &'static str)]| {
            move |name: &str| {
                pairs
                    .iter()
                    .find(|(n, _)| *n == name)
                    .map(|(_, v)| (*v).to_owned())
            }
        };
        assert_eq!(Endpoint::from_env(env(&[])), Ok(None));
        let base = Endpoint::from_env(env(&[
            ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://collector:4318/"),
            (
                "OTEL_EXPORTER_OTLP_HEADERS",
                "authorization=Bearer x, x-team=shop",
            ),
        ]))
        .unwrap()
        .unwrap();
        assert_eq!(base.authority, "collector:4318");
        assert_eq!(base.path, "/v1/traces");
        assert_eq!(base.headers[1], ("x-team".into(), "shop".into()));
        let traces = Endpoint::from_env(env(&[
            ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://ignored:4318"),
            (
                "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
                "http://127.0.0.1:9/spans",
            ),
        ]))
        .unwrap()
        .unwrap();
        assert_eq!(
            (traces.authority.as_str(), traces.path.as_str()),
            ("127.0.0.1:9", "/spans")
        );
        for refused in [
            &[("OTEL_EXPORTER_OTLP_ENDPOINT", "https://collector:4318")][..],
            &[
                ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://collector:4317"),
                ("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc"),
            ],
        ] {
            assert!(Endpoint::from_env(env(refused)).is_err());
        }
    }

    #[test]
    fn spans_encode_as_otlp_protobuf() {
        let parent = SpanContext::parse("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01");
        let span = Span {
            context: SpanContext {
                trace_id: parent.unwrap().trace_id,
                span_id: [1, 2, 3, 4, 5, 6, 7, 8],
                sampled: true,
            },
            parent: parent.map(|p| p.span_id),
            name: "GET /api/v1/products/...".into(),
            kind: Kind::Server,
            start: 1_700_000_000_000_000_000,
            end: 1_700_000_000_250_000_000,
            attributes: vec![
                ("http.route", "/api/v1/products/...".into()),
                ("http.response.status_code", 503_u16.into()),
            ],
            error: Some("HTTP 503".into()),
        };
        let spans = otlp::decode(&encode(&resource("shop"), &[span])).unwrap();
        let [span] = &spans[..] else {
            panic!("{spans:?}")
        };
        assert_eq!(span.trace_id, "4bf92f3577b34da6a3ce929d0e0e4736");
        assert_eq!(span.span_id, "0102030405060708");
        assert_eq!(span.parent_span_id.as_deref(), Some("00f067aa0ba902b7"));
        assert_eq!(span.name, "GET /api/v1/products/...");
        assert_eq!(span.kind, 2);
        assert_eq!(span.end_nanos - span.start_nanos, 250_000_000);
        assert_eq!(span.attribute("http.route"), Some("/api/v1/products/..."));
        assert_eq!(span.attribute("http.response.status_code"), Some("503"));
        assert_eq!(span.service, "shop");
        assert_eq!(span.error.as_deref(), Some("HTTP 503"));
    }

    #[test]
    fn a_statement_text_is_capped_on_a_character() {
        // Off, no span is made.
        assert!(statement(None, "sqlite", "default", "SELECT 1").is_none());
        assert_eq!(capped("select 1", 100), "select 1");
        assert_eq!(capped("select 'é'", 9), "select '");
        assert_eq!(capped("select 'é'", 10), "select 'é");
    }

    #[test]
    fn a_statement_span_is_named_by_its_first_keyword() {
        assert_eq!(operation("select 1"), "SELECT");
        assert_eq!(
            operation("  -- why\n-- more\n CREATE TABLE t (x)"),
            "CREATE"
        );
        assert_eq!(operation("-- only a comment"), "SQL");
        assert_eq!(operation("(SELECT 1)"), "SQL");
    }
}
