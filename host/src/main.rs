//! `fusion-host`: runs a Spin application's `spin.toml` on Wasmtime where the Spin CLI is
//! absent, with Spin 4's semantics (see host/README.md for the known differences).

mod bindings;
mod capabilities;
mod compile;
mod metrics;
mod runtime;
mod state;
mod stats;
mod telemetry;
mod trigger;

use anyhow::Context as _;
use capabilities::outbound_http::HttpTimeouts;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;
use trigger::http::{HttpTrigger, ReuseConfig};
use trigger::redis::RedisTrigger;

const USAGE: &str = "usage: fusion-host up [--from spin.toml|DIR] [--listen 127.0.0.1:3000] [--runtime-config-file FILE]
                       [--max-instance-reuse-count N] [--max-instance-concurrent-reuse-count N]
                       [--header-read-timeout SECS] [--max-connections N] [--shutdown-timeout SECS]
                       [--request-timeout SECS] [--outbound-connect-timeout SECS]
                       [--outbound-first-byte-timeout SECS] [--outbound-between-bytes-timeout SECS]
                       [--admin-listen 127.0.0.1:9090] [--app-metrics PATH] [--stats]";

/// Why the host stopped: configuration mistakes exit with 2, everything else with 1.
pub enum Fatal {
    Config(String),
    Runtime(anyhow::Error),
}

impl Fatal {
    pub fn config(e: impl std::fmt::Display) -> Self {
        Fatal::Config(e.to_string())
    }
}

struct Options {
    manifest: PathBuf,
    listen: SocketAddr,
    runtime_config: Option<PathBuf>,
    reuse: ReuseConfig,
    limits: ConnectionLimits,
    /// How long a guest may run for one request before it is stopped (500).
    request_timeout: Duration,
    /// The caps on a guest's outbound HTTP request's waits.
    outbound_timeouts: HttpTimeouts,
    /// Where `GET /metrics` is served, apart from the app's listener.
    admin_listen: Option<SocketAddr>,
    /// The app's own metrics route, read (as a chained request) into each scrape.
    app_metrics: Option<String>,
}

/// What keeps slow or idle clients from holding the host: a client must send a request's
/// headers within `header_read_timeout` (also the most an idle keep-alive connection is
/// kept), at most `max_connections` are served at once (more wait in the listen queue),
/// and a shutdown waits at most `shutdown_timeout` for requests in flight.
#[derive(Debug, Clone, Copy)]
struct ConnectionLimits {
    header_read_timeout: Duration,
    max_connections: usize,
    shutdown_timeout: Duration,
}

impl Default for ConnectionLimits {
    fn default() -> Self {
        Self {
            header_read_timeout: Duration::from_secs(30),
            max_connections: 1_000,
            shutdown_timeout: Duration::from_secs(30),
        }
    }
}

fn parse_args(mut args: impl Iterator<Item = String>) -> Result<Options, String> {
    if args.next().as_deref() != Some("up") {
        return Err(USAGE.into());
    }
    let mut options = Options {
        manifest: PathBuf::from("spin.toml"),
        listen: std::env::var("SPIN_HTTP_LISTEN_ADDR")
            .unwrap_or_else(|_| "127.0.0.1:3000".into())
            .parse()
            .map_err(|e| format!("SPIN_HTTP_LISTEN_ADDR: {e}"))?,
        runtime_config: None,
        reuse: ReuseConfig::default(),
        limits: ConnectionLimits::default(),
        request_timeout: Duration::from_secs(30),
        outbound_timeouts: HttpTimeouts::default(),
        admin_listen: None,
        app_metrics: None,
    };
    while let Some(flag) = args.next() {
        let mut value = || {
            args.next()
                .ok_or_else(|| format!("{flag} needs a value\n{USAGE}"))
        };
        match flag.as_str() {
            "--from" | "-f" => options.manifest = value()?.into(),
            "--listen" => {
                options.listen = value()?
                    .parse()
                    .map_err(|e| format!("--listen: {e} (expected e.g. 127.0.0.1:3000)"))?
            }
            "--runtime-config-file" => options.runtime_config = Some(value()?.into()),
            "--max-instance-reuse-count" => {
                options.reuse.max_instance_reuse_count = positive(&flag, &value()?)?
            }
            "--max-instance-concurrent-reuse-count" => {
                options.reuse.max_instance_concurrent_reuse_count = positive(&flag, &value()?)?
            }
            "--header-read-timeout" => {
                options.limits.header_read_timeout = seconds(&flag, &value()?)?
            }
            "--max-connections" => options.limits.max_connections = positive(&flag, &value()?)?,
            "--shutdown-timeout" => options.limits.shutdown_timeout = seconds(&flag, &value()?)?,
            "--request-timeout" => options.request_timeout = seconds(&flag, &value()?)?,
            "--outbound-connect-timeout" => {
                options.outbound_timeouts.connect = seconds(&flag, &value()?)?
            }
            "--outbound-first-byte-timeout" => {
                options.outbound_timeouts.first_byte = seconds(&flag, &value()?)?
            }
            "--outbound-between-bytes-timeout" => {
                options.outbound_timeouts.between_bytes = seconds(&flag, &value()?)?
            }
            "--admin-listen" => {
                options.admin_listen =
                    Some(value()?.parse().map_err(|e| {
                        format!("--admin-listen: {e} (expected e.g. 127.0.0.1:9090)")
                    })?)
            }
            "--app-metrics" => options.app_metrics = Some(value()?),
            "--stats" => stats::enable(),
            "--help" | "-h" => return Err(USAGE.into()),
            other => return Err(format!("unknown option {other}\n{USAGE}")),
        }
    }
    if options.manifest.is_dir() {
        options.manifest = options.manifest.join("spin.toml");
    }
    Ok(options)
}

fn positive(flag: &str, value: &str) -> Result<usize, String> {
    match value.parse::<usize>() {
        Ok(n) if n > 0 => Ok(n),
        _ => Err(format!(
            "{flag}: expected a whole number above 0, got `{value}`"
        )),
    }
}

fn seconds(flag: &str, value: &str) -> Result<Duration, String> {
    positive(flag, value).map(|secs| Duration::from_secs(secs as u64))
}

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("FUSION_HOST_LOG")
                .unwrap_or_else(|_| "fusion_host=info,warn".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    let options = match parse_args(std::env::args().skip(1)) {
        Ok(options) => options,
        Err(message) => {
            eprintln!("{message}");
            return ExitCode::from(2);
        }
    };
    let tokio = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(tokio) => tokio,
        Err(e) => {
            eprintln!("fusion-host: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match tokio.block_on(up(options)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(Fatal::Config(message)) => {
            eprintln!("fusion-host: {message}");
            ExitCode::from(2)
        }
        Err(Fatal::Runtime(e)) => {
            eprintln!("fusion-host: {e:#}");
            ExitCode::FAILURE
        }
    }
}

async fn up(options: Options) -> Result<(), Fatal> {
    let started = std::time::Instant::now();
    let app = fusion_host_app::manifest::load_manifest(&options.manifest).map_err(Fatal::config)?;
    let runtime_config = fusion_host_app::runtime_config::load_runtime_config(
        options.runtime_config.as_deref(),
        &app.dir.join(".spin"),
    )
    .map_err(Fatal::config)?;
    telemetry::init_from_env();
    let deadline = runtime::Deadline::after(options.request_timeout);
    let runtime = Arc::new(
        runtime::AppRuntime::load(app, runtime_config, deadline, options.outbound_timeouts).await?,
    );

    let redis = RedisTrigger::new(runtime.clone()).map_err(|e| Fatal::Config(format!("{e:#}")))?;
    let redis_task = (!redis.is_empty()).then(|| tokio::spawn(redis.run()));

    let listener = tokio::net::TcpListener::bind(options.listen)
        .await
        .map_err(|e| {
            Fatal::Runtime(anyhow::anyhow!(
                "cannot listen on {}: {e}{}",
                options.listen,
                if e.kind() == std::io::ErrorKind::AddrInUse {
                    " (another process uses that port: stop it or pass --listen with a free address)"
                } else {
                    ""
                }
            ))
        })?;
    let listen = listener
        .local_addr()
        .map_err(|e| Fatal::Runtime(e.into()))?;
    let http = HttpTrigger::new(runtime.clone(), listen, options.reuse).map_err(Fatal::Runtime)?;
    eprintln!(
        "fusion-host: serving {} on http://{listen} (ready in {} ms)",
        runtime.app.name,
        started.elapsed().as_millis()
    );
    for (component, route) in http.routes() {
        eprintln!("    {component}: http://{listen}{route}");
    }
    if let Some(admin) = options.admin_listen {
        metrics::enable();
        let listener = tokio::net::TcpListener::bind(admin)
            .await
            .map_err(|e| Fatal::Runtime(anyhow::anyhow!("cannot listen on {admin}: {e}")))?;
        let admin = listener
            .local_addr()
            .map_err(|e| Fatal::Runtime(e.into()))?;
        eprintln!("fusion-host: metrics on http://{admin}/metrics");
        tokio::spawn(serve_admin(listener, http.clone(), options.app_metrics));
    }

    serve(listener, http, redis_task, options.limits)
        .await
        .map_err(Fatal::Runtime)
}

/// The admin listener: `GET /metrics`, the host's series followed by the app's (its
/// `app_metrics` route, when given and answering).
async fn serve_admin(
    listener: tokio::net::TcpListener,
    http: Arc<HttpTrigger>,
    app_metrics: Option<String>,
) {
    let app_metrics: Option<Arc<str>> = app_metrics.map(Into::into);
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            // Out of descriptors, say: wait rather than spin.
            tokio::time::sleep(Duration::from_millis(100)).await;
            continue;
        };
        let (http, app_metrics) = (http.clone(), app_metrics.clone());
        let service = hyper::service::service_fn(move |request: http::Request<_>| {
            let (http, app_metrics) = (http.clone(), app_metrics.clone());
            async move {
                let mut response = http::Response::new(String::new());
                if request.uri().path() != "/metrics" {
                    *response.status_mut() = http::StatusCode::NOT_FOUND;
                    return Ok::<_, std::convert::Infallible>(response);
                }
                let mut text = metrics::render();
                if let Some(path) = app_metrics.as_deref() {
                    match http.read_internal(path).await {
                        Ok(app) => text.push_str(&app),
                        Err(e) => tracing::warn!("the app's metrics at {path}: {e:#}"),
                    }
                }
                response.headers_mut().insert(
                    http::header::CONTENT_TYPE,
                    http::HeaderValue::from_static("text/plain; version=0.0.4"),
                );
                *response.body_mut() = text;
                Ok(response)
            }
        });
        tokio::spawn(
            http1::Builder::new()
                .timer(TokioTimer::new())
                .serve_connection(TokioIo::new(stream), service),
        );
    }
}

/// Accepts connections until Ctrl-C or SIGTERM, then finishes the requests in flight
/// (within the shutdown timeout).
async fn serve(
    listener: tokio::net::TcpListener,
    http: Arc<HttpTrigger>,
    mut redis: Option<tokio::task::JoinHandle<anyhow::Result<()>>>,
    limits: ConnectionLimits,
) -> anyhow::Result<()> {
    let graceful = GracefulShutdown::new();
    let slots = Arc::new(tokio::sync::Semaphore::new(limits.max_connections));
    let mut terminate = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        .context("cannot install the SIGTERM handler")?;
    loop {
        // A connection is accepted only with a free slot: past the cap, clients wait in
        // the kernel's listen queue instead of taking memory and tasks.
        let slot = tokio::select! {
            slot = slots.clone().acquire_owned() => slot.context("connection slots closed")?,
            _ = tokio::signal::ctrl_c() => break,
            _ = terminate.recv() => break,
        };
        tokio::select! {
            accepted = listener.accept() => {
                let (stream, client_addr) = match accepted {
                    Ok(accepted) => accepted,
                    Err(e) => {
                        tracing::warn!("accept failed: {e}");
                        continue;
                    }
                };
                let _ = stream.set_nodelay(true);
                let http = http.clone();
                let service = hyper::service::service_fn(move |request| {
                    let http = http.clone();
                    async move {
                        let response = http.handle(request, client_addr).await;
                        Ok::<_, std::convert::Infallible>(response.map(|body| {
                            http_body_util::BodyExt::map_err(body, |e| anyhow::anyhow!("{e:?}"))
                        }))
                    }
                });
                let connection = http1::Builder::new()
                    .keep_alive(true)
                    .timer(TokioTimer::new())
                    .header_read_timeout(limits.header_read_timeout)
                    .serve_connection(TokioIo::new(stream), service);
                let connection = graceful.watch(connection);
                tokio::spawn(async move {
                    if let Err(e) = connection.await {
                        tracing::debug!("connection from {client_addr}: {e}");
                    }
                    drop(slot);
                });
            }
            result = async { redis.as_mut().expect("guarded").await }, if redis.is_some() => {
                redis = None;
                result.context("redis trigger")??;
            }
            _ = tokio::signal::ctrl_c() => break,
            _ = terminate.recv() => break,
        }
    }
    drop(listener);
    eprintln!("fusion-host: shutting down; finishing requests in flight");
    if tokio::time::timeout(limits.shutdown_timeout, graceful.shutdown())
        .await
        .is_err()
    {
        eprintln!(
            "fusion-host: requests still in flight after {} s; stopping anyway",
            limits.shutdown_timeout.as_secs()
        );
    }
    telemetry::flush(Duration::from_secs(5)).await;
    Ok(())
}
