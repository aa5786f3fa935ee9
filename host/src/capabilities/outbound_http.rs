//! Outbound HTTP with Spin's rules, for both guest kinds (`wasi:http@0.3` handlers of
//! spin-sdk 6 and `wasi:http/outgoing-handler@0.2` of spin-sdk 5): `allowed_outbound_hosts`
//! enforced, relative URLs (and `http://self.alt`) sent to the app's own listener, and
//! `http://<component>.spin.internal` dispatched in-process to that component through the
//! [`ServiceChaining`] hook the HTTP trigger installs. Requests over the network wait at
//! most [`HttpTimeouts`].
//!
//! [`OutboundHttp::route`] holds the rules; the two `WasiHttpHooks` impls only carry a
//! request to where it says.

use crate::telemetry::{self, SpanContext};
use bytes::Bytes;
use fusion_host_app::allowed_hosts::AllowedHosts;
use http::uri::{Authority, Scheme};
use http_body_util::BodyExt;
use http_body_util::combinators::UnsyncBoxBody;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::{Arc, Weak};
use std::time::Duration;
use wasmtime_wasi::TrappableError;
use wasmtime_wasi_http::p2;
use wasmtime_wasi_http::p2::bindings::http::types::ErrorCode as P2ErrorCode;
use wasmtime_wasi_http::p3::bindings::http::types::ErrorCode;
use wasmtime_wasi_http::p3::{RequestOptions, WasiHttpHooks, default_send_request};

/// The body of requests and responses inside the host (a WASIp3 body).
pub type Body = UnsyncBoxBody<Bytes, ErrorCode>;

/// A component's `allowed_outbound_hosts`, shared by HTTP, PostgreSQL and Redis.
#[derive(Clone)]
pub struct OutboundRules {
    pub component: Arc<str>,
    pub hosts: Arc<AllowedHosts>,
}

impl OutboundRules {
    /// Checks `url` (`default_scheme` when it has none), as Spin parses it.
    pub fn allows_url(&self, url: &str, default_scheme: &str) -> bool {
        self.logged(self.hosts.check_url(url, default_scheme))
    }

    pub fn allows(&self, scheme: &str, host: &str, port: Option<u16>) -> bool {
        self.logged(self.hosts.check(scheme, host, port))
    }

    fn logged(&self, check: Result<(), String>) -> bool {
        match check {
            Ok(()) => true,
            Err(denial) => {
                tracing::warn!(component = %self.component, "{denial}");
                false
            }
        }
    }
}

/// Serves a request sent to `http://<component>.spin.internal` without the network. The
/// HTTP trigger installs itself as this hook in the instances it makes, as Spin's trigger
/// installs its chaining interceptor; instances of other triggers have none, and their
/// chained requests fail as Spin's do (`destination-not-found`).
pub trait ServiceChaining: Send + Sync {
    fn serve_chained(
        self: Arc<Self>,
        component: String,
        request: http::Request<Body>,
    ) -> Pin<Box<dyn Future<Output = anyhow::Result<http::Response<Body>>> + Send>>;
}

/// The `wasi:http` hooks of one instance.
pub struct OutboundHttp {
    pub rules: OutboundRules,
    /// Service chaining; absent in instances of the Redis trigger.
    pub chain: Option<Weak<dyn ServiceChaining>>,
    /// Where relative URLs go: the address the HTTP trigger listens on.
    pub self_origin: Option<SocketAddr>,
    pub timeouts: HttpTimeouts,
    /// The invocation whose requests are traced (see [`crate::telemetry`]).
    pub trace: Option<SpanContext>,
}

/// The host's caps on the waits of a request over the network; without them a stalled
/// server holds a guest for wasi-http's defaults, 600 s each. A guest's shorter
/// `request-options` win. Chained requests stay in-process and are not capped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HttpTimeouts {
    pub connect: Duration,
    pub first_byte: Duration,
    pub between_bytes: Duration,
}

impl Default for HttpTimeouts {
    /// A reachable server accepts within milliseconds, so 10 s to connect leaves room for
    /// lost SYNs and slow DNS. Waiting for bytes longer than the request deadline's default
    /// (30 s) would not help: the guest's request is stopped when it resumes.
    fn default() -> Self {
        Self {
            connect: Duration::from_secs(10),
            first_byte: Duration::from_secs(30),
            between_bytes: Duration::from_secs(30),
        }
    }
}

impl HttpTimeouts {
    /// One request's timeouts: the guest's where it set a shorter one, the host's otherwise.
    fn for_request(
        self,
        connect: Option<Duration>,
        first_byte: Option<Duration>,
        between_bytes: Option<Duration>,
    ) -> Self {
        let cap = |guest: Option<Duration>, host: Duration| guest.map_or(host, |g| g.min(host));
        Self {
            connect: cap(connect, self.connect),
            first_byte: cap(first_byte, self.first_byte),
            between_bytes: cap(between_bytes, self.between_bytes),
        }
    }

    /// How long the response's head may take in all: wasi-http does not time out a TLS
    /// handshake, so a server that accepts and then stalls the handshake is cut off here.
    fn head_deadline(&self) -> Duration {
        self.connect + self.first_byte
    }
}

/// Where Spin's rules send an outgoing request.
enum Destination {
    /// In-process, to this component of the app.
    Chained {
        hook: Arc<dyn ServiceChaining>,
        component: String,
    },
    /// Over the network (the app's own listener included).
    Network,
}

/// Why an outgoing request is refused; each guest kind has its own error code for it.
enum Refusal {
    Denied,
    UriInvalid,
    NoChaining,
}

impl From<Refusal> for ErrorCode {
    fn from(r: Refusal) -> Self {
        match r {
            Refusal::Denied => ErrorCode::HttpRequestDenied,
            Refusal::UriInvalid => ErrorCode::HttpRequestUriInvalid,
            Refusal::NoChaining => ErrorCode::DestinationNotFound,
        }
    }
}

impl From<Refusal> for P2ErrorCode {
    fn from(r: Refusal) -> Self {
        match r {
            Refusal::Denied => P2ErrorCode::HttpRequestDenied,
            Refusal::UriInvalid => P2ErrorCode::HttpRequestUriInvalid,
            Refusal::NoChaining => P2ErrorCode::DestinationNotFound,
        }
    }
}

impl OutboundHttp {
    /// Applies Spin's rules to `request`: checks `allowed_outbound_hosts`, points a
    /// relative (or `self.alt`) URL at the app's own listener, and removes the `host`
    /// header (as Spin does before sending or chaining; nginx rejects it next to an
    /// authority). Answers where the request goes.
    fn route<B>(&self, request: &mut http::Request<B>) -> Result<Destination, Refusal> {
        crate::stats::count(&crate::stats::COUNTS.outbound_requests);
        let rules = &self.rules;
        // wasmtime-wasi-http gives a relative URL the default scheme and an empty host.
        let uri = request.uri().clone();
        let is_self = uri.host().is_none_or(|h| h.is_empty() || h == "self.alt");
        request.headers_mut().remove(http::header::HOST);
        if is_self {
            if !rules.hosts.allows_self() {
                tracing::warn!(component = %rules.component, "{}", rules.hosts.self_denial());
                return Err(Refusal::Denied);
            }
            let origin = self.self_origin.ok_or(Refusal::UriInvalid)?;
            let authority: Authority = origin
                .to_string()
                .parse()
                .map_err(|_| Refusal::UriInvalid)?;
            let mut parts = uri.into_parts();
            parts.scheme = Some(Scheme::HTTP);
            parts.authority = Some(authority);
            *request.uri_mut() = http::Uri::from_parts(parts).map_err(|_| Refusal::UriInvalid)?;
            return Ok(Destination::Network);
        }
        let scheme = uri.scheme_str().unwrap_or("https");
        let host = uri.host().unwrap_or_default();
        if !rules.allows(scheme, host, uri.port_u16()) {
            return Err(Refusal::Denied);
        }
        match host.strip_suffix(".spin.internal") {
            Some(component) => {
                let hook = self
                    .chain
                    .as_ref()
                    .and_then(Weak::upgrade)
                    .ok_or(Refusal::NoChaining)?;
                Ok(Destination::Chained {
                    hook,
                    component: component.to_owned(),
                })
            }
            None => Ok(Destination::Network),
        }
    }

    /// A client span for `request` (routed), whose context it then carries as its
    /// `traceparent`, replacing the guest's as Spin does; `None` when not traced.
    fn client_span<B>(&self, request: &mut http::Request<B>) -> Option<telemetry::Span> {
        let parent = self.trace?;
        let uri = request.uri();
        let host = uri.host().unwrap_or_default().to_owned();
        let method = request.method().as_str();
        let mut span = telemetry::start(
            format_args!("{method} {host}"),
            telemetry::Kind::Client,
            Some(parent),
        )?;
        span.set("http.request.method", method);
        span.set("server.address", host.as_str());
        // Without the query, which may carry what is not the trace's to keep.
        // Host and port, not the authority, which may carry `user:password@`.
        let port = uri.port_u16().map(|p| format!(":{p}")).unwrap_or_default();
        span.set(
            "url.full",
            format!(
                "{}://{host}{port}{}",
                uri.scheme_str().unwrap_or("http"),
                uri.path()
            ),
        );
        span.context().inject(request.headers_mut());
        Some(span)
    }
}

/// Serves a chained request through the hook; a failure is the guest's `internal-error`.
async fn chain(
    hook: Arc<dyn ServiceChaining>,
    component: String,
    request: http::Request<Body>,
) -> Result<http::Response<Body>, String> {
    hook.serve_chained(component.clone(), request)
        .await
        .map_err(|e| {
            tracing::error!("service chaining to `{component}` failed: {e:#}");
            e.to_string()
        })
}

type Sent = Result<
    (
        http::Response<Body>,
        Box<dyn Future<Output = Result<(), ErrorCode>> + Send>,
    ),
    TrappableError<ErrorCode>,
>;

/// `wasi:http@0.3` (spin-sdk 6 guests).
impl WasiHttpHooks for OutboundHttp {
    fn send_request(
        &mut self,
        mut request: http::Request<Body>,
        options: Option<RequestOptions>,
        fut: Box<dyn Future<Output = Result<(), ErrorCode>> + Send>,
    ) -> Box<dyn Future<Output = Sent> + Send> {
        drop(fut);
        let destination = self.route(&mut request);
        let span = destination
            .as_ref()
            .ok()
            .and_then(|_| self.client_span(&mut request));
        let timeouts = options.map_or(self.timeouts, |o| {
            self.timeouts.for_request(
                o.connect_timeout,
                o.first_byte_timeout,
                o.between_bytes_timeout,
            )
        });
        Box::new(async move {
            let sent = send_p3(destination, request, timeouts).await;
            telemetry::end_answered(span, &sent, |(response, _)| response.status());
            sent
        })
    }
}

/// Sends a WASIp3 guest's request where [`OutboundHttp::route`] said.
async fn send_p3(
    destination: Result<Destination, Refusal>,
    request: http::Request<Body>,
    timeouts: HttpTimeouts,
) -> Sent {
    match destination.map_err(ErrorCode::from)? {
        Destination::Chained { hook, component } => {
            let response = chain(hook, component, request)
                .await
                .map_err(|e| ErrorCode::InternalError(Some(e)))?;
            Ok((
                response,
                Box::new(async { Ok(()) }) as Box<dyn Future<Output = _> + Send>,
            ))
        }
        Destination::Network => {
            let options = RequestOptions {
                connect_timeout: Some(timeouts.connect),
                first_byte_timeout: Some(timeouts.first_byte),
                between_bytes_timeout: Some(timeouts.between_bytes),
            };
            let (response, io) = tokio::time::timeout(
                timeouts.head_deadline(),
                default_send_request(request, Some(options)),
            )
            .await
            .map_err(|_| ErrorCode::ConnectionTimeout)??;
            Ok((
                response.map(BodyExt::boxed_unsync),
                Box::new(io) as Box<dyn Future<Output = _> + Send>,
            ))
        }
    }
}

/// `wasi:http/outgoing-handler@0.2` (spin-sdk 5 guests).
impl p2::WasiHttpHooks for OutboundHttp {
    fn send_request(
        &mut self,
        mut request: http::Request<p2::body::HyperOutgoingBody>,
        mut config: p2::types::OutgoingRequestConfig,
    ) -> p2::HttpResult<p2::types::HostFutureIncomingResponse> {
        let destination = self.route(&mut request).map_err(P2ErrorCode::from)?;
        let span = self.client_span(&mut request);
        let answered = move |answer: Result<p2::types::IncomingResponse, P2ErrorCode>| {
            telemetry::end_answered(span, &answer, |response| response.resp.status());
            Ok(answer)
        };
        match destination {
            Destination::Chained { hook, component } => {
                let between_bytes_timeout = config.between_bytes_timeout;
                let request = request.map(|body| body.map_err(p2_to_p3).boxed_unsync());
                let handle = wasmtime_wasi::runtime::spawn(async move {
                    answered(
                        chain(hook, component, request)
                            .await
                            .map(|response| p2::types::IncomingResponse {
                                resp: response.map(|body| body.map_err(p3_to_p2).boxed_unsync()),
                                worker: None,
                                between_bytes_timeout,
                            })
                            .map_err(|e| P2ErrorCode::InternalError(Some(e))),
                    )
                });
                Ok(p2::types::HostFutureIncomingResponse::pending(handle))
            }
            Destination::Network => {
                // A request to the app's own listener was rewritten to plain http.
                config.use_tls = request.uri().scheme() == Some(&Scheme::HTTPS);
                // wasi-http filled in 600 s where the guest set no timeout.
                let timeouts = self.timeouts.for_request(
                    Some(config.connect_timeout),
                    Some(config.first_byte_timeout),
                    Some(config.between_bytes_timeout),
                );
                config.connect_timeout = timeouts.connect;
                config.first_byte_timeout = timeouts.first_byte;
                config.between_bytes_timeout = timeouts.between_bytes;
                let handle = wasmtime_wasi::runtime::spawn(async move {
                    answered(
                        tokio::time::timeout(
                            timeouts.head_deadline(),
                            p2::default_send_request_handler(request, config),
                        )
                        .await
                        .unwrap_or(Err(P2ErrorCode::ConnectionTimeout)),
                    )
                });
                Ok(p2::types::HostFutureIncomingResponse::pending(handle))
            }
        }
    }
}

/// A WASIp2 body error as the host's (WASIp3) body reports it.
pub fn p2_to_p3(e: P2ErrorCode) -> ErrorCode {
    match e {
        P2ErrorCode::HttpRequestDenied => ErrorCode::HttpRequestDenied,
        P2ErrorCode::DestinationNotFound => ErrorCode::DestinationNotFound,
        P2ErrorCode::ConnectionRefused => ErrorCode::ConnectionRefused,
        P2ErrorCode::ConnectionTerminated => ErrorCode::ConnectionTerminated,
        P2ErrorCode::ConnectionTimeout => ErrorCode::ConnectionTimeout,
        P2ErrorCode::ConnectionReadTimeout => ErrorCode::ConnectionReadTimeout,
        P2ErrorCode::HttpRequestUriInvalid => ErrorCode::HttpRequestUriInvalid,
        P2ErrorCode::HttpProtocolError => ErrorCode::HttpProtocolError,
        P2ErrorCode::InternalError(m) => ErrorCode::InternalError(m),
        other => ErrorCode::InternalError(Some(format!("{other:?}"))),
    }
}

/// A host (WASIp3) body error as a WASIp2 guest reads it.
pub fn p3_to_p2(e: ErrorCode) -> P2ErrorCode {
    match e {
        ErrorCode::HttpRequestDenied => P2ErrorCode::HttpRequestDenied,
        ErrorCode::DestinationNotFound => P2ErrorCode::DestinationNotFound,
        ErrorCode::ConnectionRefused => P2ErrorCode::ConnectionRefused,
        ErrorCode::ConnectionTerminated => P2ErrorCode::ConnectionTerminated,
        ErrorCode::ConnectionTimeout => P2ErrorCode::ConnectionTimeout,
        ErrorCode::ConnectionReadTimeout => P2ErrorCode::ConnectionReadTimeout,
        ErrorCode::HttpRequestUriInvalid => P2ErrorCode::HttpRequestUriInvalid,
        ErrorCode::HttpProtocolError => P2ErrorCode::HttpProtocolError,
        ErrorCode::InternalError(m) => P2ErrorCode::InternalError(m),
        other => P2ErrorCode::InternalError(Some(format!("{other:?}"))),
    }
}

#[cfg(test)]
mod tests {
    use super::HttpTimeouts;
    use std::time::Duration;

    #[test]
    fn a_guests_shorter_timeout_wins_and_a_longer_one_is_capped() {
        let host = HttpTimeouts::default();
        let secs = Duration::from_secs;
        assert_eq!(host.for_request(None, None, None), host);
        assert_eq!(
            host.for_request(Some(secs(2)), Some(secs(600)), None),
            HttpTimeouts {
                connect: secs(2),
                first_byte: host.first_byte,
                between_bytes: host.between_bytes,
            }
        );
    }
}
