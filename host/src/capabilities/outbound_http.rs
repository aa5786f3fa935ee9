//! Outbound `wasi:http` with Spin's rules: `allowed_outbound_hosts` enforced, relative URLs
//! sent to the app itself, and `http://<component>.spin.internal` dispatched in-process.

use crate::trigger::http::HttpTrigger;
use bytes::Bytes;
use fusion_host_app::allowed_hosts::AllowedHosts;
use http::uri::{Authority, Scheme};
use http_body_util::BodyExt;
use http_body_util::combinators::UnsyncBoxBody;
use std::net::SocketAddr;
use std::sync::{Arc, Weak};
use wasmtime_wasi::TrappableError;
use wasmtime_wasi_http::p3::bindings::http::types::ErrorCode;
use wasmtime_wasi_http::p3::{RequestOptions, WasiHttpHooks, default_send_request};

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
/// The `wasi:http` hooks of one instance.
pub struct OutboundHttp {
    pub rules: OutboundRules,
    /// The HTTP trigger, for service chaining; absent in instances of the Redis trigger.
    pub chain: Option<Weak<HttpTrigger>>,
    /// Where relative URLs go: the address the HTTP trigger listens on.
    pub self_origin: Option<SocketAddr>,
}

type Sent = Result<
    (
        http::Response<Body>,
        Box<dyn Future<Output = Result<(), ErrorCode>> + Send>,
    ),
    TrappableError<ErrorCode>,
>;

impl WasiHttpHooks for OutboundHttp {
    fn send_request(
        &mut self,
        mut request: http::Request<Body>,
        options: Option<RequestOptions>,
        fut: Box<dyn Future<Output = Result<(), ErrorCode>> + Send>,
    ) -> Box<dyn Future<Output = Sent> + Send> {
        drop(fut);
        let rules = self.rules.clone();
        let chain = self.chain.clone();
        let self_origin = self.self_origin;
        Box::new(async move {
            // wasmtime-wasi-http gives a relative URL the default scheme and an empty host.
            let uri = request.uri().clone();
            let is_self = uri.host().is_none_or(|h| h.is_empty() || h == "self.alt");
            if is_self {
                if !rules.hosts.allows_self() {
                    tracing::warn!(component = %rules.component, "{}", rules.hosts.self_denial());
                    return Err(ErrorCode::HttpRequestDenied.into());
                }
                let origin = self_origin.ok_or(ErrorCode::HttpRequestUriInvalid)?;
                let authority: Authority = origin
                    .to_string()
                    .parse()
                    .map_err(|_| ErrorCode::HttpRequestUriInvalid)?;
                let mut parts = uri.into_parts();
                parts.scheme = Some(Scheme::HTTP);
                parts.authority = Some(authority);
                *request.uri_mut() =
                    http::Uri::from_parts(parts).map_err(|_| ErrorCode::HttpRequestUriInvalid)?;
            } else {
                let scheme = uri.scheme_str().unwrap_or("https");
                let host = uri.host().unwrap_or_default();
                if !rules.allows(scheme, host, uri.port_u16()) {
                    return Err(ErrorCode::HttpRequestDenied.into());
                }
                if let Some(component) = host.strip_suffix(".spin.internal") {
                    let trigger = chain
                        .as_ref()
                        .and_then(Weak::upgrade)
                        .ok_or(ErrorCode::DestinationNotFound)?;
                    let response =
                        trigger
                            .handle_chained(component, request)
                            .await
                            .map_err(|e| {
                                tracing::error!("service chaining to `{component}` failed: {e:#}");
                                ErrorCode::InternalError(Some(e.to_string()))
                            })?;
                    return Ok((response, done()));
                }
            }
            // Some servers (nginx) reject a host header next to the authority.
            request.headers_mut().remove(http::header::HOST);
            let (response, io) = default_send_request(request, options).await?;
            Ok((
                response.map(BodyExt::boxed_unsync),
                Box::new(io) as Box<dyn Future<Output = _> + Send>,
            ))
        })
    }
}

fn done() -> Box<dyn Future<Output = Result<(), ErrorCode>> + Send> {
    Box::new(async { Ok(()) })
}
