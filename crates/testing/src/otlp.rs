//! An OpenTelemetry collector for tests: an OTLP/HTTP receiver on loopback that decodes
//! the protobuf trace requests it is sent (as Spin and fusion-host send them) and keeps
//! their spans.

use std::sync::{Arc, Mutex};

/// One received span, its ids in hex.
#[derive(Debug, Clone, Default)]
pub struct Span {
    pub service: String,
    pub trace_id: String,
    pub span_id: String,
    pub parent_span_id: Option<String>,
    pub name: String,
    pub kind: u64,
    pub start_nanos: u64,
    pub end_nanos: u64,
    pub attributes: Vec<(String, String)>,
    /// The status message of a failed span.
    pub error: Option<String>,
}

impl Span {
    pub fn attribute(&self, key: &str) -> Option<&str> {
        self.attributes
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }
}

/// A receiver listening on loopback until dropped.
pub struct Collector {
    pub endpoint: String,
    spans: Arc<Mutex<Vec<Span>>>,
    server: Arc<tiny_http::Server>,
}

impl Collector {
    pub fn start() -> Collector {
        let server = Arc::new(tiny_http::Server::http("127.0.0.1:0").expect("bind the collector"));
        let endpoint = format!(
            "http://{}",
            server.server_addr().to_ip().expect("an IP listener")
        );
        let spans = Arc::new(Mutex::new(Vec::new()));
        let (receiver, kept) = (server.clone(), spans.clone());
        std::thread::spawn(move || {
            for mut request in receiver.incoming_requests() {
                let mut body = Vec::new();
                let status = match request.as_reader().read_to_end(&mut body) {
                    Ok(_) if request.url() == "/v1/traces" => match decode(&body) {
                        Ok(decoded) => {
                            kept.lock().unwrap().extend(decoded);
                            200
                        }
                        Err(error) => {
                            eprintln!("collector: {error}");
                            400
                        }
                    },
                    _ => 404,
                };
                _ = request.respond(tiny_http::Response::empty(status));
            }
        });
        Collector {
            endpoint,
            spans,
            server,
        }
    }

    /// The spans received so far.
    pub fn spans(&self) -> Vec<Span> {
        self.spans.lock().unwrap().clone()
    }
}

impl Drop for Collector {
    fn drop(&mut self) {
        self.server.unblock();
    }
}

/// A protobuf field's value, by wire type.
enum Field<'a> {
    Varint(u64),
    Fixed64(u64),
    Bytes(&'a [u8]),
    Fixed32,
}

/// The fields of one protobuf message, in order.
fn fields(mut bytes: &[u8]) -> Result<Vec<(u64, Field<'_>)>, String> {
    fn varint(bytes: &mut &[u8]) -> Result<u64, String> {
        let mut value = 0;
        for shift in (0..64).step_by(7) {
            let (&byte, rest) = bytes.split_first().ok_or("a truncated varint")?;
            *bytes = rest;
            value |= u64::from(byte & 0x7f) << shift;
            if byte < 0x80 {
                return Ok(value);
            }
        }
        Err("a varint longer than 10 bytes".into())
    }
    fn take<'a>(bytes: &mut &'a [u8], n: usize) -> Result<&'a [u8], String> {
        if bytes.len() < n {
            return Err("a truncated field".into());
        }
        let (taken, rest) = bytes.split_at(n);
        *bytes = rest;
        Ok(taken)
    }
    let mut fields = Vec::new();
    while !bytes.is_empty() {
        let key = varint(&mut bytes)?;
        let value = match key & 7 {
            0 => Field::Varint(varint(&mut bytes)?),
            1 => Field::Fixed64(u64::from_le_bytes(
                take(&mut bytes, 8)?.try_into().expect("8 bytes"),
            )),
            2 => {
                let len = usize::try_from(varint(&mut bytes)?).map_err(|e| e.to_string())?;
                Field::Bytes(take(&mut bytes, len)?)
            }
            5 => {
                take(&mut bytes, 4)?;
                Field::Fixed32
            }
            other => return Err(format!("wire type {other}")),
        };
        fields.push((key >> 3, value));
    }
    Ok(fields)
}

fn messages<'a>(fields: &[(u64, Field<'a>)], number: u64) -> impl Iterator<Item = &'a [u8]> {
    fields.iter().filter_map(move |(n, value)| match value {
        Field::Bytes(bytes) if *n == number => Some(*bytes),
        _ => None,
    })
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// An OTLP `KeyValue` as text (ints and bools written out).
fn key_value(bytes: &[u8]) -> Result<(String, String), String> {
    let kv = fields(bytes)?;
    let key = messages(&kv, 1).next().map(text).unwrap_or_default();
    let any = messages(&kv, 2).next().map(fields).transpose()?;
    let value = any
        .iter()
        .flatten()
        .map(|(n, value)| match (n, value) {
            (1, Field::Bytes(bytes)) => text(bytes),
            (2 | 3, Field::Varint(v)) => (*v as i64).to_string(),
            (4, Field::Fixed64(v)) => f64::from_bits(*v).to_string(),
            _ => String::new(),
        })
        .next()
        .unwrap_or_default();
    Ok((key, value))
}

/// The spans of an OTLP `ExportTraceServiceRequest` in protobuf.
pub fn decode(request: &[u8]) -> Result<Vec<Span>, String> {
    let mut spans = Vec::new();
    for resource_spans in messages(&fields(request)?, 1) {
        let resource_spans = fields(resource_spans)?;
        let mut service = String::new();
        for resource in messages(&resource_spans, 1) {
            for attribute in messages(&fields(resource)?, 1) {
                let (key, value) = key_value(attribute)?;
                if key == "service.name" {
                    service = value;
                }
            }
        }
        for scope_spans in messages(&resource_spans, 2) {
            for encoded in messages(&fields(scope_spans)?, 2) {
                let mut span = Span {
                    service: service.clone(),
                    ..Span::default()
                };
                for (number, value) in fields(encoded)? {
                    match (number, value) {
                        (1, Field::Bytes(b)) => span.trace_id = hex(b),
                        (2, Field::Bytes(b)) => span.span_id = hex(b),
                        (4, Field::Bytes(b)) if !b.is_empty() => {
                            span.parent_span_id = Some(hex(b));
                        }
                        (5, Field::Bytes(b)) => span.name = text(b),
                        (6, Field::Varint(v)) => span.kind = v,
                        (7, Field::Fixed64(v)) => span.start_nanos = v,
                        (8, Field::Fixed64(v)) => span.end_nanos = v,
                        (9, Field::Bytes(b)) => span.attributes.push(key_value(b)?),
                        (15, Field::Bytes(b)) => {
                            let status = fields(b)?;
                            let failed = status
                                .iter()
                                .any(|(n, v)| *n == 3 && matches!(v, Field::Varint(2)));
                            if failed {
                                span.error =
                                    Some(messages(&status, 2).next().map(text).unwrap_or_default());
                            }
                        }
                        _ => {}
                    }
                }
                spans.push(span);
            }
        }
    }
    Ok(spans)
}
