//! `fusion-bridge`: FusionCommerce's events on a Kafka-protocol broker (Kafka, Redpanda),
//! for `event_transport = kafka`. No Spin runtime has a Kafka trigger or outbound Kafka,
//! so this small native process sits next to the app and talks to it over HTTP only:
//! it relays every context's outbox to the topics ([`relay`]) and runs one consumer group
//! per handler component that delivers to the handler's signed route ([`consume`]).
//!
//! Configured by the environment:
//! - `FUSION_APP_URL` — the app's origin (default `http://127.0.0.1:3000`);
//! - `FUSION_EVENT_SIGNING_KEY` — the app's `event_signing_key` (required);
//! - `FUSION_KAFKA_BROKERS` — bootstrap servers (default `127.0.0.1:9092`);
//! - `FUSION_KAFKA_PARTITIONS` — partitions of the topics it creates (default 3);
//! - `FUSION_KAFKA_REPLICATION` — their replication factor (default 1: one broker;
//!   set 3 on a production cluster, or `acks=all` means one disk);
//! - `FUSION_KAFKA_PREFIX` — put before every topic and group id (default none), so
//!   several apps (staging and production, or parallel tests) share one cluster;
//! - `FUSION_BRIDGE_LISTEN` — where [`status`] serves `GET /health` and `GET /lag`
//!   (default `127.0.0.1:9470`).

mod app;
mod cloudevents;
mod consume;
mod relay;
mod status;
mod topics;

use app::App;
use rdkafka::config::ClientConfig;
use rdkafka::producer::FutureProducer;
use std::process::ExitCode;

struct Config {
    app_url: String,
    signing_key: String,
    brokers: String,
    listen: String,
    partitions: i32,
    replication: i32,
    names: topics::Names,
}

impl Config {
    fn from_env() -> Result<Config, String> {
        let var = |name: &str, default: &str| {
            std::env::var(name)
                .ok()
                .filter(|value| !value.is_empty())
                .unwrap_or_else(|| default.to_owned())
        };
        let signing_key = var("FUSION_EVENT_SIGNING_KEY", "");
        if signing_key.is_empty() {
            return Err("FUSION_EVENT_SIGNING_KEY is required: the app's event_signing_key".into());
        }
        let count = |name: &str, default: &str| {
            let value = var(name, default);
            value
                .parse::<i32>()
                .ok()
                .filter(|count| *count > 0)
                .ok_or_else(|| format!("{name} must be a count above 0, not {value:?}"))
        };
        let partitions = count("FUSION_KAFKA_PARTITIONS", "3")?;
        let replication = count("FUSION_KAFKA_REPLICATION", "1")?;
        Ok(Config {
            app_url: var("FUSION_APP_URL", "http://127.0.0.1:3000"),
            signing_key,
            brokers: var("FUSION_KAFKA_BROKERS", "127.0.0.1:9092"),
            listen: var("FUSION_BRIDGE_LISTEN", "127.0.0.1:9470"),
            partitions,
            replication,
            names: topics::Names::new(&var("FUSION_KAFKA_PREFIX", "")),
        })
    }
}

fn producer(brokers: &str) -> Result<FutureProducer, String> {
    ClientConfig::new()
        .set("bootstrap.servers", brokers)
        .set("client.id", "fusion-bridge")
        // Settled in the outbox only once every in-sync replica has it.
        .set("acks", "all")
        // Retries neither duplicate nor reorder what one batch has in flight.
        .set("enable.idempotence", "true")
        // An answer for every event before its claim's 30 s lease runs out: a later one
        // would find the claim lost, and the events produced again.
        .set("message.timeout.ms", "20000")
        .set("linger.ms", "5")
        .create()
        .map_err(|error| format!("the producer: {error}"))
}

fn main() -> ExitCode {
    let config = match Config::from_env() {
        Ok(config) => config,
        Err(error) => {
            eprintln!("fusion-bridge: {error}");
            return ExitCode::from(2);
        }
    };
    match run(&config) {
        Ok(never) => match never {},
        Err(error) => {
            eprintln!("fusion-bridge: {error}");
            ExitCode::FAILURE
        }
    }
}

fn run(config: &Config) -> Result<std::convert::Infallible, String> {
    let server = tiny_http::Server::http(&config.listen)
        .map_err(|error| format!("listening on {}: {error}", config.listen))?;
    eprintln!(
        "fusion-bridge: relaying {} to Kafka at {}; /health and /lag on {}",
        config.app_url, config.brokers, config.listen
    );
    let status = status::Status::default();
    let names = &config.names;
    let app = App::new(&config.app_url, &config.signing_key);
    let producer = producer(&config.brokers)?;
    std::thread::scope(|scope| {
        let (status, server) = (&status, &server);
        scope.spawn(move || status::serve(server, status));
        names.create_all(
            &config.brokers,
            config.partitions,
            config.replication,
            status,
        );
        let groups = topics::handlers()
            .into_iter()
            .map(|(handler, topics)| consume::group(&config.brokers, names, handler, &topics))
            .collect::<Result<Vec<_>, String>>()?;
        status.set_groups(groups);
        scope.spawn(move || status.watch_lag());
        for context in kit::outbox::EVENT_CONTEXTS {
            let (app, producer) = (&app, &producer);
            scope.spawn(move || relay::run(app, producer, names, context, status));
        }
        for group in status.groups() {
            let (app, producer) = (&app, &producer);
            scope.spawn(move || consume::run(app, group, producer, names, status));
        }
        Ok::<(), String>(())
    })?;
    Err("every relay and consumer thread ended".into())
}
