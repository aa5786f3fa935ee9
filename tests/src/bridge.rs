//! The event bridge (`fusion-bridge`) beside a shop whose `event_transport` is `kafka` or
//! `redis`, on the broker `scripts/services kafka` or `streams` provides. Each bridge
//! puts its own prefix before its topics and groups, so shops running side by side share
//! the broker and never each other's events.

use crate::shop::{EVENT_SIGNING_KEY, Shop, Store};
use serde_json::Value;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

/// A broker the bridge can carry the events on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Engine {
    Kafka,
    /// Redis Streams.
    Redis,
}

impl Engine {
    /// The app's `event_transport` (and the bridge's `FUSION_BUS`) for it.
    pub fn transport(self) -> &'static str {
        match self {
            Engine::Kafka => "kafka",
            Engine::Redis => "redis",
        }
    }

    /// Starts the local broker unless it answers.
    pub fn ensure(self) {
        match self {
            Engine::Kafka => testing::ensure_kafka(),
            Engine::Redis => testing::ensure_streams(),
        }
    }

    /// Restarts the local broker mid-flow (Redis: killed, as a crash).
    pub fn restart(self) {
        match self {
            Engine::Kafka => testing::restart_kafka(),
            Engine::Redis => testing::restart_streams(),
        }
    }
}

pub struct Bridge {
    child: Child,
    pub engine: Engine,
    /// What this bridge puts before every topic and group id.
    pub prefix: String,
    /// Where its log goes.
    pub log: std::path::PathBuf,
    /// Where it answers `GET /health` and `GET /lag`.
    listen: std::net::SocketAddr,
}

impl Bridge {
    /// A bridge relaying `shop`'s events through the local broker of `engine`.
    pub fn start(shop: &Shop, engine: Engine) -> Bridge {
        Bridge::start_at(&shop.url(""), engine)
    }

    /// A bridge reaching the app at `app_url`.
    pub fn start_at(app_url: &str, engine: Engine) -> Bridge {
        engine.ensure();
        let listen = testing::free_port();
        let prefix = format!("{}.", testing::unique_name("shop"));
        let log = std::env::temp_dir().join(format!("{prefix}bridge.log"));
        let file = std::fs::File::create(&log).expect("the bridge's log file");
        let child = Command::new(testing::built_artifact(
            "debug/fusion-bridge",
            "cargo build -p fusion-bridge",
        ))
        .env("FUSION_APP_URL", app_url)
        .env("FUSION_BRIDGE_LISTEN", listen.to_string())
        .env("FUSION_EVENT_SIGNING_KEY", EVENT_SIGNING_KEY)
        .env("FUSION_BUS", engine.transport())
        .env("FUSION_KAFKA_BROKERS", testing::KAFKA_ADDR)
        .env("FUSION_REDIS_URL", testing::STREAMS_URL)
        .env("FUSION_BUS_PREFIX", &prefix)
        .stdout(Stdio::null())
        .stderr(file)
        .spawn()
        .expect("start fusion-bridge");
        Bridge {
            child,
            engine,
            prefix,
            log,
            listen,
        }
    }

    /// What the bridge answers at `path` (`/health`, `/lag`): status and body, or `None`
    /// while it does not answer yet.
    pub fn status(&self, path: &str) -> Option<(u16, Value)> {
        let reply = testing::Request::new("GET", &format!("http://{}{path}", self.listen))
            .try_send()
            .ok()?;
        Some((reply.status, reply.json()))
    }

    /// The bridge's `GET /metrics` (Prometheus text).
    pub fn metrics(&self) -> String {
        testing::Request::new("GET", &format!("http://{}/metrics", self.listen))
            .send()
            .body
    }

    /// The name of topic `event_type` (or any topic name) on the broker.
    pub fn topic(&self, name: &str) -> String {
        format!("{}{name}", self.prefix)
    }
}

impl Drop for Bridge {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if std::thread::panicking() {
            let log = std::fs::read_to_string(&self.log).unwrap_or_default();
            eprintln!("--- bridge log ({}) ---\n{log}", self.log.display());
        }
    }
}

/// A shop whose events travel on `engine`, and its bridge.
pub fn bus_shop(engine: Engine, store: Store) -> (Shop, Bridge) {
    bus_shop_with(engine, store, &[])
}

/// [`bus_shop`] with more variables.
pub fn bus_shop_with(engine: Engine, store: Store, variables: &[(&str, &str)]) -> (Shop, Bridge) {
    let mut all = vec![("event_transport", engine.transport())];
    all.extend_from_slice(variables);
    let shop = Shop::start_with(store, &all);
    let bridge = Bridge::start(&shop, engine);
    (shop, bridge)
}

/// An HTTP relay in front of the app, for a bridge or for the app's own deliveries
/// (`event_handlers_origin`): it passes every request on, except that while closed the
/// handler routes (`/events/…`) answer 503, as the handlers of an app that is down or
/// being replaced do; the relay's own routes still pass. It notes the handler routes
/// it passed.
pub struct HandlerGate {
    url: String,
    closed: Arc<AtomicBool>,
    upstream: Arc<OnceLock<String>>,
    passed: Arc<Mutex<Vec<String>>>,
}

impl HandlerGate {
    /// An open gate before `shop`.
    pub fn before(shop: &Shop) -> HandlerGate {
        let gate = HandlerGate::unconnected();
        gate.pass_to(shop);
        gate
    }

    /// An open gate that answers 502 until [`HandlerGate::pass_to`] names the app behind
    /// it: its address can be given to the app it stands before.
    pub fn unconnected() -> HandlerGate {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind the gate");
        let url = format!(
            "http://{}",
            listener.local_addr().expect("the gate's address")
        );
        let gate = HandlerGate {
            url,
            closed: Arc::default(),
            upstream: Arc::default(),
            passed: Arc::default(),
        };
        let (closed, upstream, passed) = (
            Arc::clone(&gate.closed),
            Arc::clone(&gate.upstream),
            Arc::clone(&gate.passed),
        );
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let (closed, upstream, passed) = (
                    Arc::clone(&closed),
                    Arc::clone(&upstream),
                    Arc::clone(&passed),
                );
                std::thread::spawn(move || pass(stream, &upstream, &closed, &passed));
            }
        });
        gate
    }

    /// The app the gate passes requests to from now on.
    pub fn pass_to(&self, shop: &Shop) {
        assert!(
            self.upstream.set(shop.url("")).is_ok(),
            "a gate stands before one app"
        );
    }

    pub fn url(&self) -> &str {
        &self.url
    }

    /// Whether the handlers are down from now on.
    pub fn set_closed(&self, closed: bool) {
        self.closed.store(closed, Ordering::SeqCst);
    }

    /// The handler routes (`/events/…`) the gate passed on, in order.
    pub fn passed(&self) -> Vec<String> {
        self.passed
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .clone()
    }
}

/// Passes the requests of one connection on, one by one, until the client closes it.
fn pass(
    stream: TcpStream,
    upstream: &OnceLock<String>,
    closed: &AtomicBool,
    passed: &Mutex<Vec<String>>,
) {
    let Ok(mut answer_to) = stream.try_clone() else {
        return;
    };
    let mut reader = BufReader::new(stream);
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap_or(0) == 0 {
            return;
        }
        let mut parts = line.split_whitespace();
        let (Some(method), Some(path)) = (parts.next(), parts.next()) else {
            return;
        };
        let upstream = upstream.get().map_or("http://127.0.0.1:1", String::as_str);
        let mut request = testing::Request::new(method, &format!("{upstream}{path}"));
        let mut length = 0;
        loop {
            let mut header = String::new();
            if reader.read_line(&mut header).unwrap_or(0) == 0 {
                return;
            }
            let Some((name, value)) = header.trim_end().split_once(':') else {
                break;
            };
            let (name, value) = (name.to_ascii_lowercase(), value.trim());
            match name.as_str() {
                "content-length" => length = value.parse().unwrap_or(0),
                "host" | "connection" => {}
                _ => request = request.header(&name, value),
            }
        }
        let mut body = vec![0; length];
        if reader.read_exact(&mut body).is_err() {
            return;
        }
        let to_a_handler = path.starts_with("/events/");
        let (status, content_type, body) = if to_a_handler && closed.load(Ordering::SeqCst) {
            (503, "text/plain".to_owned(), "handlers down".to_owned())
        } else {
            if to_a_handler {
                passed
                    .lock()
                    .unwrap_or_else(|poisoned| poisoned.into_inner())
                    .push(path.to_owned());
            }
            match request.body(body).try_send() {
                Ok(reply) => (
                    reply.status,
                    reply
                        .header("content-type")
                        .unwrap_or("text/plain")
                        .to_owned(),
                    reply.body,
                ),
                Err(_) => (
                    502,
                    "text/plain".to_owned(),
                    "the app did not answer".to_owned(),
                ),
            }
        };
        let head = format!(
            "HTTP/1.1 {status} Gate\r\ncontent-type: {content_type}\r\ncontent-length: {}\r\n\r\n",
            body.len()
        );
        if answer_to.write_all(head.as_bytes()).is_err()
            || answer_to.write_all(body.as_bytes()).is_err()
        {
            return;
        }
    }
}
