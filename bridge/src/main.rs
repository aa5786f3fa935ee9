//! `fusion-bridge`: FusionCommerce's events on a broker, for `event_transport = kafka`
//! (Kafka, Redpanda: [`kafka`]) or `redis` (Redis Streams: [`streams`]). No Spin runtime
//! has a Kafka trigger or outbound Kafka, so this small native process sits next to the
//! app and talks to it over HTTP only: it relays every context's outbox to the topics
//! ([`relay`]) and runs one consumer group per handler component that delivers to the
//! handler's signed route ([`consume`]).
//!
//! Configured by the environment:
//! - `FUSION_APP_URL` — the app's origin (default `http://127.0.0.1:3000`);
//! - `FUSION_EVENT_SIGNING_KEY` — the app's `event_signing_key` (required);
//! - `FUSION_BUS` — `kafka` (the default) or `redis`, as the app's `event_transport`;
//! - `FUSION_BUS_PREFIX` — put before every topic and group id (default none), so
//!   several apps (staging and production, or parallel tests) share one broker;
//! - `FUSION_BRIDGE_LISTEN` — where [`status`] serves `GET /health` and `GET /lag`
//!   (default `127.0.0.1:9470`);
//! - on Kafka: `FUSION_KAFKA_BROKERS` — bootstrap servers (default `127.0.0.1:9092`);
//!   `FUSION_KAFKA_PARTITIONS` — partitions of the topics it creates (default 3);
//!   `FUSION_KAFKA_REPLICATION` — their replication factor (default 1: one broker; set 3
//!   on a production cluster, or `acks=all` means one disk);
//! - on Redis: `FUSION_REDIS_URL` (default `redis://127.0.0.1:6379`);
//!   `FUSION_REDIS_MAXLEN` — the length streams are trimmed to, about (default
//!   1,000,000); `FUSION_REDIS_MEMBER` — this bridge's name in the groups (default
//!   `$HOSTNAME`, a pod's name, else `fusion-bridge`): each replica needs its own, kept
//!   across its restarts.

mod app;
mod bus;
mod cloudevents;
mod consume;
mod kafka;
mod relay;
mod status;
mod streams;
mod topics;

use app::App;
use bus::Bus;
use std::process::ExitCode;
use std::time::Duration;

struct Config {
    app_url: String,
    signing_key: String,
    listen: String,
}

fn var(name: &str, default: &str) -> String {
    std::env::var(name)
        .ok()
        .filter(|value| !value.is_empty())
        .unwrap_or_else(|| default.to_owned())
}

fn count(name: &str, default: &str) -> Result<i64, String> {
    let value = var(name, default);
    value
        .parse::<i64>()
        .ok()
        .filter(|count| *count > 0)
        .ok_or_else(|| format!("{name} must be a count above 0, not {value:?}"))
}

impl Config {
    fn from_env() -> Result<Config, String> {
        let signing_key = var("FUSION_EVENT_SIGNING_KEY", "");
        if signing_key.is_empty() {
            return Err("FUSION_EVENT_SIGNING_KEY is required: the app's event_signing_key".into());
        }
        Ok(Config {
            app_url: var("FUSION_APP_URL", "http://127.0.0.1:3000"),
            signing_key,
            listen: var("FUSION_BRIDGE_LISTEN", "127.0.0.1:9470"),
        })
    }
}

fn main() -> ExitCode {
    let started = Config::from_env().and_then(|config| {
        let names = topics::Names::new(&var("FUSION_BUS_PREFIX", ""));
        match var("FUSION_BUS", "kafka").as_str() {
            "kafka" => {
                let to_i32 = |name, default| {
                    count(name, default).and_then(|count| {
                        i32::try_from(count).map_err(|_| format!("{name} is too large"))
                    })
                };
                let kafka = kafka::Kafka::new(
                    &var("FUSION_KAFKA_BROKERS", "127.0.0.1:9092"),
                    to_i32("FUSION_KAFKA_PARTITIONS", "3")?,
                    to_i32("FUSION_KAFKA_REPLICATION", "1")?,
                    names,
                )?;
                run(&config, &kafka)
            }
            "redis" => {
                let max_len = count("FUSION_REDIS_MAXLEN", "1000000")?;
                let streams = streams::Streams::new(
                    &var("FUSION_REDIS_URL", "redis://127.0.0.1:6379"),
                    names,
                    u64::try_from(max_len).unwrap_or(u64::MAX),
                    &var("FUSION_REDIS_MEMBER", &var("HOSTNAME", "fusion-bridge")),
                )?;
                run(&config, &streams)
            }
            other => Err(format!(
                "FUSION_BUS is {other:?}; it must be kafka or redis"
            )),
        }
    });
    match started {
        Ok(never) => match never {},
        Err(error) => {
            eprintln!("fusion-bridge: {error}");
            ExitCode::from(2)
        }
    }
}

fn run(config: &Config, bus: &impl Bus) -> Result<std::convert::Infallible, String> {
    let server = tiny_http::Server::http(&config.listen)
        .map_err(|error| format!("listening on {}: {error}", config.listen))?;
    eprintln!(
        "fusion-bridge: relaying {} to {}; /health and /lag on {}",
        config.app_url,
        bus.describe(),
        config.listen
    );
    let status = status::Status::default();
    let app = App::new(&config.app_url, &config.signing_key);
    std::thread::scope(|scope| {
        let (status, server) = (&status, &server);
        scope.spawn(move || status::serve(server, status));
        // The app answers HTTP meanwhile; the bridge says why it waits.
        while let Err(error) = bus.prepare() {
            eprintln!(
                "fusion-bridge: {}: {error}; trying again in 2 s",
                bus.describe()
            );
            status.broker(Some(error));
            std::thread::sleep(Duration::from_secs(2));
        }
        status.broker(None);
        let consumers = topics::handlers()
            .into_iter()
            .map(|(handler, _)| Ok((handler, bus.consumer(handler)?)))
            .collect::<Result<Vec<_>, String>>()?;
        status.set_ready();
        scope.spawn(move || status.watch_lag(bus));
        for context in kit::wiring::EVENT_CONTEXTS {
            let app = &app;
            scope.spawn(move || relay::run(app, bus, context, status));
        }
        for (handler, consumer) in consumers {
            let app = &app;
            scope.spawn(move || consume::run(app, bus, consumer, handler, status));
        }
        Ok::<(), String>(())
    })?;
    Err("every relay and consumer thread ended".into())
}
