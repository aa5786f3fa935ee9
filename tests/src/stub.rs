//! A stand-in for a third party's HTTP API on loopback (Stripe's, an email API): it
//! answers each request with the next scripted reply (the last one repeats) and records
//! what it was sent; it can also hold some requests unanswered, as a stalled provider
//! does, while it answers the others. Also: signing webhooks the way Stripe does.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Condvar, Mutex};

use serde_json::Value;

use crate::token::hmac_sha256;

/// The webhook signing secret the tests configure (`stripe_webhook_secret`).
pub const WEBHOOK_SECRET: &str = "whsec_acceptance_tests";

/// One request the stub received.
#[derive(Debug, Clone)]
pub struct Received {
    pub method: String,
    pub path: String,
    /// Header names lower-cased.
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl Received {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(header, _)| header == name)
            .map(|(_, value)| value.as_str())
    }
}

#[derive(Default)]
struct Script {
    replies: Vec<(u16, Value)>,
    received: Vec<Received>,
    /// Requests whose body contains this wait unanswered until it is cleared.
    hold: Option<String>,
    held: usize,
}

#[derive(Default)]
struct Shared {
    script: Mutex<Script>,
    released: Condvar,
}

/// The stub; it stops serving when the test process ends.
pub struct HttpStub {
    url: String,
    shared: Arc<Shared>,
}

impl HttpStub {
    /// Serves `replies` in order, repeating the last.
    pub fn start(replies: Vec<(u16, Value)>) -> HttpStub {
        assert!(!replies.is_empty(), "the stub needs at least one reply");
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind the stub");
        let url = format!("http://{}", listener.local_addr().expect("stub address"));
        let shared = Arc::new(Shared {
            script: Mutex::new(Script {
                replies,
                ..Script::default()
            }),
            released: Condvar::new(),
        });
        let serving = Arc::clone(&shared);
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let shared = Arc::clone(&serving);
                // One thread per connection, so a held request holds up no other.
                // A connection the stub cannot read is the app's problem to report.
                std::thread::spawn(move || serve(stream, &shared));
            }
        });
        HttpStub { url, shared }
    }

    /// Its base URL, e.g. for the `stripe_api_url` or `email_api_url` variable.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Replaces the replies still to come.
    pub fn reply_next(&self, replies: Vec<(u16, Value)>) {
        assert!(!replies.is_empty(), "the stub needs at least one reply");
        self.lock().replies = replies;
    }

    /// Every request so far, oldest first.
    pub fn received(&self) -> Vec<Received> {
        self.lock().received.clone()
    }

    /// From now on, requests whose body contains `needle` get no answer until
    /// [`HttpStub::release`]: a provider stalled on them.
    pub fn hold_requests_containing(&self, needle: &str) {
        self.lock().hold = Some(needle.to_owned());
    }

    /// How many requests are being held now.
    pub fn held(&self) -> usize {
        self.lock().held
    }

    /// Answers the held requests, and holds no more.
    pub fn release(&self) {
        self.lock().hold = None;
        self.shared.released.notify_all();
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Script> {
        lock(&self.shared.script)
    }
}

fn lock(script: &Mutex<Script>) -> std::sync::MutexGuard<'_, Script> {
    script.lock().unwrap_or_else(|e| e.into_inner())
}

fn serve(stream: TcpStream, shared: &Shared) -> std::io::Result<()> {
    let mut reader = BufReader::new(stream.try_clone()?);
    let mut request_line = String::new();
    reader.read_line(&mut request_line)?;
    let mut parts = request_line.split_whitespace();
    let method = parts.next().unwrap_or_default().to_owned();
    let path = parts.next().unwrap_or_default().to_owned();
    let mut headers = Vec::new();
    loop {
        let mut line = String::new();
        reader.read_line(&mut line)?;
        let line = line.trim_end();
        if line.is_empty() {
            break;
        }
        if let Some((name, value)) = line.split_once(':') {
            headers.push((name.trim().to_ascii_lowercase(), value.trim().to_owned()));
        }
    }
    let header = |wanted: &str| {
        headers
            .iter()
            .find(|(name, _)| name == wanted)
            .map(|(_, value)| value.clone())
    };
    let body = if header("transfer-encoding").is_some_and(|coding| coding.contains("chunked")) {
        read_chunked(&mut reader)?
    } else {
        let length = header("content-length").and_then(|value| value.parse().ok());
        let mut body = vec![0; length.unwrap_or(0)];
        reader.read_exact(&mut body)?;
        body
    };
    let body = String::from_utf8_lossy(&body).into_owned();
    let (status, reply) = {
        let mut script = lock(&shared.script);
        let held = |script: &Script| {
            script
                .hold
                .as_ref()
                .is_some_and(|needle| body.contains(needle.as_str()))
        };
        if held(&script) {
            script.held += 1;
            while held(&script) {
                script = shared
                    .released
                    .wait(script)
                    .unwrap_or_else(|e| e.into_inner());
            }
            script.held -= 1;
        }
        script.received.push(Received {
            method,
            path,
            headers,
            body: body.clone(),
        });
        if script.replies.len() > 1 {
            script.replies.remove(0)
        } else {
            script.replies[0].clone()
        }
    };
    let reply = reply.to_string();
    let mut stream = stream;
    write!(
        stream,
        "HTTP/1.1 {status} Stub\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{reply}",
        reply.len()
    )?;
    stream.flush()
}

/// A `transfer-encoding: chunked` body: hex sizes on their own lines, then the chunks.
fn read_chunked(reader: &mut impl BufRead) -> std::io::Result<Vec<u8>> {
    let mut body = Vec::new();
    loop {
        let mut size_line = String::new();
        reader.read_line(&mut size_line)?;
        let size_hex = size_line.trim().split(';').next().unwrap_or_default();
        let size = usize::from_str_radix(size_hex, 16)
            .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidData, e))?;
        let mut chunk = vec![0; size + 2]; // the chunk and its CRLF
        reader.read_exact(&mut chunk)?;
        if size == 0 {
            return Ok(body);
        }
        body.extend_from_slice(&chunk[..size]);
    }
}

/// A signature header in Stripe's scheme, which the app's `fusion-signature` follows too:
/// `payload` sent at Unix time `timestamp`, signed with `secret`:
/// `t=<timestamp>,v1=<hex HMAC-SHA256 of "<timestamp>.<payload>">`. The tests' own, so
/// the app's signing is checked against an independent implementation.
pub fn signature_header(secret: &str, timestamp: i64, payload: &str) -> String {
    let digest = hmac_sha256(secret, &format!("{timestamp}.{payload}"));
    let hex: String = digest.iter().map(|byte| format!("{byte:02x}")).collect();
    format!("t={timestamp},v1={hex}")
}
