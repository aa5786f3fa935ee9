//! The HTTP trigger: Spin's routing and `spin-*` headers, requests served concurrently by
//! instances made from each component's pre-instantiated form, as Spin 4 makes them:
//! - a `wasi:http/handler@0.3` component (spin-sdk 6) is reused up to
//!   `--max-instance-reuse-count` times, `--max-instance-concurrent-reuse-count` at once;
//! - a `wasi:http/incoming-handler@0.2` component (spin-sdk 5) gets a fresh instance for
//!   every request (Spin never reuses a WASIp2 instance).

use crate::capabilities::outbound_http::{Body, ServiceChaining, p2_to_p3, p3_to_p2};
use crate::metrics;
use crate::runtime::{AppRuntime, LoadedComponent};
use crate::state::InstanceState;
use crate::telemetry::{self, SpanContext};
use anyhow::Context as _;
use bytes::Bytes;
use fusion_host_app::routes::{
    CHAINED_CLIENT_ADDR, RouteMatch, Router, full_url, spin_request_headers,
};
use futures::FutureExt;
use futures::channel::oneshot;
use http::{HeaderName, HeaderValue, Request, Response, StatusCode};
use http_body_util::{BodyExt, Full};
use std::collections::HashMap;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::{Arc, Weak};
use std::time::Duration;
use wasmtime::AsContextMut;
use wasmtime::component::Accessor;
use wasmtime_wasi_http::handler::{HandlerState, Proxy, ProxyHandler, ProxyPre, StoreBundle};
use wasmtime_wasi_http::p2::WasiHttpView as P2View;
use wasmtime_wasi_http::p2::bindings::http::types::Scheme;
use wasmtime_wasi_http::p3::bindings::ServicePre;
use wasmtime_wasi_http::p3::bindings::http::types::ErrorCode;
use wasmtime_wasi_http::p3::{Request as GuestRequest, WasiHttpView as P3View};

/// Instance reuse, as `spin up` sets it for WASIp3 components.
#[derive(Clone, Copy, Debug)]
pub struct ReuseConfig {
    pub max_instance_reuse_count: usize,
    pub max_instance_concurrent_reuse_count: usize,
    pub idle_instance_timeout: Duration,
    pub request_timeout: Option<Duration>,
}

impl ReuseConfig {
    /// WASIp2 components: a fresh instance for every request, as in Spin.
    fn fresh_instance_per_request(self) -> Self {
        Self {
            max_instance_reuse_count: 1,
            max_instance_concurrent_reuse_count: 1,
            ..self
        }
    }
}

impl Default for ReuseConfig {
    fn default() -> Self {
        Self {
            max_instance_reuse_count: 128,
            max_instance_concurrent_reuse_count: 16,
            idle_instance_timeout: Duration::from_secs(1),
            request_timeout: None,
        }
    }
}

pub struct HttpTrigger {
    runtime: Arc<AppRuntime>,
    router: Router,
    handlers: HashMap<String, ProxyHandler<ComponentHandler>>,
}

struct ComponentHandler {
    runtime: Arc<AppRuntime>,
    component: Arc<LoadedComponent>,
    trigger: Weak<HttpTrigger>,
    listen: SocketAddr,
    reuse: ReuseConfig,
}

impl HandlerState for ComponentHandler {
    type StoreData = InstanceState;

    fn new_store(&self, _req_id: Option<u64>) -> wasmtime::Result<StoreBundle<InstanceState>> {
        Ok(StoreBundle {
            store: self.runtime.new_store(
                &self.component,
                Some(self.trigger.clone() as Weak<dyn ServiceChaining>),
                Some(self.listen),
            ),
            write_profile: Box::new(|_| ()),
        })
    }

    fn request_timeout(&self) -> Duration {
        self.reuse.request_timeout.unwrap_or(Duration::MAX)
    }

    fn idle_instance_timeout(&self) -> Duration {
        self.reuse.idle_instance_timeout
    }

    fn max_instance_reuse_count(&self) -> usize {
        self.reuse.max_instance_reuse_count
    }

    fn max_instance_concurrent_reuse_count(&self) -> usize {
        self.reuse.max_instance_concurrent_reuse_count
    }

    fn handle_worker_error(&self, error: wasmtime::Error) {
        tracing::error!("component `{}` failed: {error:?}", self.component.id);
    }
}

/// Chained requests are served by this trigger, in-process (see [`ServiceChaining`]).
impl ServiceChaining for HttpTrigger {
    fn serve_chained(
        self: Arc<Self>,
        component: String,
        request: Request<Body>,
    ) -> Pin<Box<dyn Future<Output = anyhow::Result<Response<Body>>> + Send>> {
        Box::pin(async move { self.handle_chained(&component, request).await })
    }
}

impl HttpTrigger {
    pub fn new(
        runtime: Arc<AppRuntime>,
        listen: SocketAddr,
        reuse: ReuseConfig,
    ) -> anyhow::Result<Arc<Self>> {
        let app = &runtime.app;
        let router = Router::for_app(app).map_err(|e| anyhow::anyhow!("{e}"))?;
        if !router.duplicates().is_empty() {
            tracing::warn!("the following component routes are duplicates and will never be used:");
            for d in router.duplicates() {
                tracing::warn!(
                    "  {}: {} (duplicate of {})",
                    d.replaced_component,
                    d.route,
                    d.effective_component
                );
            }
        }
        let mut pres = Vec::new();
        let components: std::collections::BTreeSet<&str> = app
            .http_triggers
            .iter()
            .map(|t| t.component.as_str())
            .collect();
        for id in components {
            let component = runtime.components[id].clone();
            // What the component exports decides how it is served.
            let pre = match ServicePre::new(component.pre.clone()) {
                Ok(pre) => ProxyPre::P3(pre),
                Err(_) => ProxyPre::P2(
                    wasmtime_wasi_http::handler::p2::bindings::ProxyPre::new(
                        component.pre.clone(),
                    )
                    .map_err(anyhow::Error::from)
                    .with_context(|| {
                        format!(
                            "component `{}` is in an HTTP trigger but exports neither wasi:http/incoming-handler@0.2 (spin-sdk 5) nor wasi:http/handler@0.3.0-rc-2026-03-15 (spin-sdk 6)",
                            component.id
                        )
                    })?,
                ),
            };
            pres.push((component, pre));
        }
        Ok(Arc::new_cyclic(|trigger: &Weak<HttpTrigger>| {
            let handlers = pres
                .into_iter()
                .map(|(component, pre)| {
                    let reuse = match &pre {
                        ProxyPre::P2(_) => reuse.fresh_instance_per_request(),
                        ProxyPre::P3(_) => reuse,
                    };
                    let handler = ProxyHandler::new(
                        ComponentHandler {
                            runtime: runtime.clone(),
                            component: component.clone(),
                            trigger: trigger.clone(),
                            listen,
                            reuse,
                        },
                        pre,
                    );
                    (component.id.to_string(), handler)
                })
                .collect();
            HttpTrigger {
                runtime,
                router,
                handlers,
            }
        }))
    }

    /// (component, route) in precedence order, for the startup listing.
    pub fn routes(&self) -> impl Iterator<Item = (&str, &str)> {
        self.router.routes()
    }

    /// Serves one request from the network.
    pub async fn handle(
        self: &Arc<Self>,
        request: Request<hyper::body::Incoming>,
        client_addr: SocketAddr,
    ) -> Response<Body> {
        let path = request.uri().path().to_owned();
        if path == "/.well-known/fusion-host/stats" && crate::stats::enabled() {
            return text(StatusCode::OK, &crate::stats::snapshot().to_string());
        }
        if let Some(well_known) = path.strip_prefix("/.well-known/spin/") {
            return match well_known {
                "health" => text(StatusCode::OK, "OK"),
                "info" => text(
                    StatusCode::OK,
                    &format!(
                        "{{\"name\":{:?},\"version\":{:?}}}",
                        self.runtime.app.name,
                        env!("CARGO_PKG_VERSION")
                    ),
                ),
                _ => empty(StatusCode::NOT_FOUND),
            };
        }
        let Some(route) = self.router.route(&path) else {
            return empty(StatusCode::NOT_FOUND);
        };
        let request = request.map(|body| {
            body.map_err(|e| ErrorCode::InternalError(Some(e.to_string())))
                .boxed_unsync()
        });
        let response = self.serve(&route, request, client_addr).await;
        response.unwrap_or_else(|e| {
            tracing::error!("{path}: {e:#}");
            empty(StatusCode::INTERNAL_SERVER_ERROR)
        })
    }

    /// Serves a request a component sent to `http://<component>.spin.internal`.
    async fn handle_chained(
        self: &Arc<Self>,
        component: &str,
        request: Request<Body>,
    ) -> anyhow::Result<Response<Body>> {
        if !self.handlers.contains_key(component) {
            anyhow::bail!("no HTTP-triggered component `{component}`");
        }
        crate::stats::count(&crate::stats::COUNTS.chained_requests);
        let route = RouteMatch::synthetic(component.to_owned(), request.uri().path().to_owned());
        self.serve(&route, request, CHAINED_CLIENT_ADDR).await
    }

    /// Dispatches `request` in a server span, child of the request's `traceparent`.
    async fn serve(
        self: &Arc<Self>,
        route: &RouteMatch<'_>,
        request: Request<Body>,
        client_addr: SocketAddr,
    ) -> anyhow::Result<Response<Body>> {
        let route_name = route.based_route();
        let span = telemetry::start(
            format_args!("{} {route_name}", request.method()),
            telemetry::Kind::Server,
            SpanContext::from_headers(request.headers()),
        )
        .map(|mut span| {
            span.set("http.request.method", request.method().as_str());
            span.set("http.route", route_name);
            span.set("url.path", request.uri().path());
            span.set("spin.component", route.component_id());
            span
        });
        let parent = span.as_ref().map(telemetry::Span::context);
        let in_flight = metrics::request_started();
        let response = self.dispatch(route, request, client_addr, parent).await;
        if let Some(in_flight) = in_flight {
            let status = response.as_ref().map_or(500, |r| r.status().as_u16());
            in_flight.answered(route.component_id(), route_name, status);
        }
        telemetry::end_answered(span, &response, Response::status);
        response
    }

    /// What the app answers a GET of `path` from inside (a chained request's client
    /// address): the body of a 2xx answer.
    pub async fn read_internal(self: &Arc<Self>, path: &str) -> anyhow::Result<String> {
        let route = self
            .router
            .route(path)
            .with_context(|| format!("no route serves {path}"))?;
        let request = Request::get(path).body(
            Full::new(Bytes::new())
                .map_err(|never| match never {})
                .boxed_unsync(),
        )?;
        let response = self
            .dispatch(&route, request, CHAINED_CLIENT_ADDR, None)
            .await?;
        let status = response.status();
        let body = response
            .into_body()
            .collect()
            .await
            .map_err(|e| anyhow::anyhow!("{e:?}"))?
            .to_bytes();
        anyhow::ensure!(status.is_success(), "answered {status}");
        Ok(String::from_utf8_lossy(&body).into_owned())
    }

    async fn dispatch(
        self: &Arc<Self>,
        route: &RouteMatch<'_>,
        mut request: Request<Body>,
        client_addr: SocketAddr,
        parent: Option<SpanContext>,
    ) -> anyhow::Result<Response<Body>> {
        let handler = self
            .handlers
            .get(route.component_id())
            .with_context(|| format!("no handler for `{}`", route.component_id()))?
            .clone();
        let path_and_query = request
            .uri()
            .path_and_query()
            .map(|p| p.as_str().to_owned())
            .unwrap_or_else(|| "/".into());
        let host = request
            .headers()
            .get(http::header::HOST)
            .and_then(|h| h.to_str().ok());
        let full_url = full_url("http", host, &path_and_query);
        for (name, value) in spin_request_headers(route, &full_url, client_addr) {
            if let (Ok(name), Ok(value)) =
                (HeaderName::try_from(name), HeaderValue::try_from(value))
            {
                request.headers_mut().insert(name, value);
            }
        }
        *request.uri_mut() = full_url.parse().context("request URL")?;
        let invocation = telemetry::start(
            format_args!("execute_wasm_component {}", route.component_id()),
            telemetry::Kind::Internal,
            parent,
        );
        if let Some(invocation) = &invocation {
            // The guest reads its own invocation as the parent of what it starts, events
            // it writes included (Spin passes on the client's header).
            invocation.context().inject(request.headers_mut());
        }
        execute(&handler, request, self.runtime.deadline, invocation).await
    }
}

/// Runs `request` on an instance of the handler's component.
async fn execute(
    handler: &ProxyHandler<ComponentHandler>,
    request: Request<Body>,
    deadline: crate::runtime::Deadline,
    invocation: Option<telemetry::Span>,
) -> anyhow::Result<Response<Body>> {
    let (p3_tx, p3_rx) = oneshot::channel();
    // A WASIp2 guest's response is taken from its out-parameter as soon as it is set,
    // not through the instance's task: the guest's `handle` is one blocking call to the
    // store, so nothing else of its task runs until it returns, and a guest may go on
    // working after it answered (as on Spin).
    let (p2_tx, p2_rx) = tokio::sync::oneshot::channel();
    handler.spawn(
        None,
        Box::new(move |store: &Accessor<InstanceState>, guest: &Proxy| {
            let trace = invocation.as_ref().map(telemetry::Span::context);
            store.with(|mut s| s.data_mut().set_trace(trace));
            Box::pin(
                async move {
                    match guest {
                        Proxy::P3(guest) => {
                            drop(p2_tx);
                            // A reused instance's deadline restarts with each request.
                            store.with(|mut s| {
                                s.as_context_mut().set_epoch_deadline(deadline.ticks)
                            });
                            serve_p3(store, guest, request, p3_tx).await
                        }
                        Proxy::P2(guest) => {
                            drop(p3_tx);
                            serve_p2(store, guest, request, p2_tx).await
                        }
                    }
                }
                .map(|result| {
                    if let Err(e) = &result {
                        tracing::error!("request failed: {e:?}");
                    }
                    telemetry::end_with(invocation, &result);
                }),
            )
        }),
    );
    // The sender of the other kind of guest is dropped at once.
    let (p3_answer, p2_answer) = futures::join!(p3_rx, p2_rx);
    match (p3_answer, p2_answer) {
        (Ok(response), _) => Ok(response),
        (_, Ok(Ok(response))) => Ok(response.map(|body| body.map_err(p2_to_p3).boxed_unsync())),
        (_, Ok(Err(code))) => anyhow::bail!("the component answered with an error: {code:?}"),
        (Err(_), Err(_)) => anyhow::bail!("the component trapped or failed before responding"),
    }
}

/// `wasi:http/handler@0.3`: the response comes back from `handle`; the instance stays until
/// hyper has read the whole body, or the guest could not finish writing it.
async fn serve_p3(
    store: &Accessor<InstanceState>,
    guest: &wasmtime_wasi_http::p3::bindings::Service,
    request: Request<Body>,
    response_tx: oneshot::Sender<Response<Body>>,
) -> anyhow::Result<()> {
    let (request, request_io) = GuestRequest::from_http(request);
    let request = store.with(|mut s| P3View::http(s.data_mut()).table.push(request))?;
    let response = guest
        .wasi_http_handler()
        .call_handle(store, request)
        .await?;
    let response = store.with(|mut s| {
        let response = P3View::http(s.data_mut()).table.delete(response?)?;
        response.into_http(&mut s, request_io)
    })?;
    let (body_done_tx, body_done_rx) = oneshot::channel::<()>();
    let response = response.map(|body| NotifyOnDrop::wrap(body, body_done_tx));
    if response_tx.send(response).is_ok() {
        _ = body_done_rx.await;
    }
    Ok(())
}

/// Where a WASIp2 guest's out-parameter delivers its response.
type P2ResponseSender = tokio::sync::oneshot::Sender<
    Result<
        Response<wasmtime_wasi_http::p2::body::HyperOutgoingBody>,
        wasmtime_wasi_http::p2::bindings::http::types::ErrorCode,
    >,
>;

/// `wasi:http/incoming-handler@0.2`: the guest sets the response through its out-parameter
/// (`out_tx`), then may go on writing the body, or working, until `handle` returns.
async fn serve_p2(
    store: &Accessor<InstanceState>,
    guest: &wasmtime_wasi_http::handler::p2::bindings::Proxy,
    request: Request<Body>,
    out_tx: P2ResponseSender,
) -> anyhow::Result<()> {
    let (request, out) = store.with(|mut s| {
        let mut http = P2View::http(s.data_mut());
        let request =
            http.new_incoming_request(Scheme::Http, request.map(|body| body.map_err(p3_to_p2)))?;
        let out = http.new_response_outparam(out_tx)?;
        anyhow::Ok((request, out))
    })?;
    guest
        .wasi_http_incoming_handler()
        .call_handle(store, request, out)
        .await
        .map_err(|e| anyhow::Error::from(e).context("guest invocation failed"))
}

/// A response body that tells its instance when hyper is done with it.
struct NotifyOnDrop {
    body: Body,
    _done: oneshot::Sender<()>,
}

impl NotifyOnDrop {
    fn wrap(body: Body, done: oneshot::Sender<()>) -> Body {
        NotifyOnDrop { body, _done: done }.boxed_unsync()
    }
}

impl http_body::Body for NotifyOnDrop {
    type Data = Bytes;
    type Error = ErrorCode;

    fn poll_frame(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<http_body::Frame<Bytes>, ErrorCode>>> {
        std::pin::Pin::new(&mut self.body).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.body.size_hint()
    }
}

fn text(status: StatusCode, body: &str) -> Response<Body> {
    let mut response = Response::new(
        Full::new(Bytes::from(body.to_owned()))
            .map_err(|never| match never {})
            .boxed_unsync(),
    );
    *response.status_mut() = status;
    response
}

fn empty(status: StatusCode) -> Response<Body> {
    text(status, "")
}
