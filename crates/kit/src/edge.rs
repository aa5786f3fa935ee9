//! The edge every HTTP API component stands behind: CORS, security headers, a token
//! bucket per caller, `Idempotency-Key` on POST, and `ETag` / `If-None-Match` on GET. The
//! rules are pure and tested natively; [`serve`] (wasm only) applies them around a
//! component's handler.

mod idempotency;
mod rate_limit;
#[cfg(target_arch = "wasm32")]
mod serve;
mod validators;

pub use idempotency::{
    Claim, ClaimedKey, IDEMPOTENCY_MIGRATION, KEY_HEADER, REPLAYED_HEADER, StoredResponse, claim,
    complete, expire, fingerprint, idempotency_key, mark_committed, release, scope,
};
pub use rate_limit::{Decision, RateLimit, WindowPosition};
#[cfg(target_arch = "wasm32")]
pub use serve::{Edge, serve};
pub use validators::{entity_tag, none_match, validate};

use crate::auth::JwtKey;
use crate::http::Response;
use http::{HeaderMap, HeaderValue, StatusCode, header};
use std::net::SocketAddr;

/// The header the host sets to the caller's socket address.
pub const CLIENT_ADDR_HEADER: &str = "spin-client-addr";
/// The client address fusion-host and Spin give requests a component sent to
/// `http://<component>.spin.internal`: a call from inside the app, not from a client.
const CHAINED_CLIENT_ADDR: &str = "0.0.0.0:0";

/// Whether the request came from another component of the app (service chaining).
pub fn is_chained(headers: &HeaderMap) -> bool {
    headers
        .get(CLIENT_ADDR_HEADER)
        .is_some_and(|addr| addr.as_bytes() == CHAINED_CLIENT_ADDR.as_bytes())
}

/// Who is calling, as far as the edge can tell without the handler's rules.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Requester {
    /// The verified token's tenant; `None` without a valid token.
    pub tenant: Option<String>,
    /// `user:<sub>` of a valid token, else `addr:<client ip>`.
    pub subject: String,
}

impl Requester {
    /// The caller by its token when `key` verifies it (and any `x-tenant-id` agrees),
    /// else by its client address. An invalid token never names the subject, so forged
    /// tokens cannot mint fresh rate-limit buckets.
    pub fn from_headers(headers: &HeaderMap, key: Option<&JwtKey>, now: i64) -> Self {
        let caller = headers
            .contains_key(header::AUTHORIZATION)
            .then_some(key)
            .flatten()
            .and_then(|key| key.authenticate(headers, now).ok());
        match caller {
            Some(caller) => Self {
                tenant: Some(caller.tenant),
                subject: format!("user:{}", caller.user_id),
            },
            None => Self {
                tenant: None,
                subject: format!("addr:{}", client_ip(headers)),
            },
        }
    }

    /// The key of the caller's token bucket. Without a token the tenant is `default`
    /// whatever `x-tenant-id` says, so an anonymous client has one bucket per address.
    pub fn rate_limit_key(&self) -> String {
        let tenant = self
            .tenant
            .as_deref()
            .unwrap_or(crate::auth::DEFAULT_TENANT);
        format!("ratelimit:{tenant}:{}", self.subject)
    }
}

/// The client's IP without the port (each connection has its own port); `unknown`
/// when the host did not say.
pub fn client_ip(headers: &HeaderMap) -> String {
    let addr = headers
        .get(CLIENT_ADDR_HEADER)
        .and_then(|addr| addr.to_str().ok())
        .unwrap_or("unknown");
    addr.parse::<SocketAddr>()
        .map_or_else(|_| addr.to_owned(), |addr| addr.ip().to_string())
}

/// The request headers a browser may send cross-origin.
const ALLOWED_HEADERS: &str =
    "authorization, content-type, idempotency-key, x-request-id, x-tenant-id";
const ALLOWED_METHODS: &str = "GET, POST, PUT, PATCH, DELETE, OPTIONS";
/// The response headers a cross-origin script may read.
const EXPOSED_HEADERS: &str = "x-request-id, location, retry-after, idempotency-replayed";
/// Seconds a browser may cache a preflight answer.
const PREFLIGHT_MAX_AGE: &str = "600";

/// Which browser origins may call the API, from the `cors_allowed_origins` variable.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum CorsPolicy {
    /// No origin (the variable is empty or absent).
    #[default]
    None,
    /// `*`: any origin, echoed back (never the literal `*`, so `vary: origin` holds).
    Any,
    /// Exact origins, e.g. `https://shop.example`.
    Origins(Vec<String>),
}

impl CorsPolicy {
    /// Comma-separated exact origins, or `*`; blanks and trailing slashes are ignored.
    pub fn from_variable(value: &str) -> Self {
        let origins: Vec<String> = value
            .split(',')
            .map(|origin| origin.trim().trim_end_matches('/'))
            .filter(|origin| !origin.is_empty())
            .map(str::to_owned)
            .collect();
        if origins.iter().any(|origin| origin == "*") {
            CorsPolicy::Any
        } else if origins.is_empty() {
            CorsPolicy::None
        } else {
            CorsPolicy::Origins(origins)
        }
    }

    pub fn allows(&self, origin: &str) -> bool {
        match self {
            CorsPolicy::None => false,
            CorsPolicy::Any => true,
            CorsPolicy::Origins(origins) => origins.iter().any(|allowed| allowed == origin),
        }
    }

    /// `origin` (the request's `Origin` header) when this policy allows it.
    fn allowed<'a>(&self, origin: Option<&'a HeaderValue>) -> Option<&'a HeaderValue> {
        origin.filter(|origin| origin.to_str().is_ok_and(|origin| self.allows(origin)))
    }

    /// The answer to a preflight: 204, with the CORS grant only for an allowed origin
    /// (a browser reads a bare 204 as a refusal).
    pub fn preflight(&self, origin: Option<&HeaderValue>, request_id: &str) -> Response {
        let mut response = crate::http::empty(StatusCode::NO_CONTENT, request_id);
        if let Some(origin) = self.allowed(origin) {
            let grant = response.headers_mut();
            grant.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, origin.clone());
            grant.insert(
                header::ACCESS_CONTROL_ALLOW_METHODS,
                HeaderValue::from_static(ALLOWED_METHODS),
            );
            grant.insert(
                header::ACCESS_CONTROL_ALLOW_HEADERS,
                HeaderValue::from_static(ALLOWED_HEADERS),
            );
            grant.insert(
                header::ACCESS_CONTROL_MAX_AGE,
                HeaderValue::from_static(PREFLIGHT_MAX_AGE),
            );
            grant.append(header::VARY, HeaderValue::from_static("origin"));
        }
        response
    }

    /// Lets an allowed `origin` read `response` (and the headers clients need).
    pub fn grant(&self, origin: Option<&HeaderValue>, response: &mut Response) {
        if let Some(origin) = self.allowed(origin) {
            let headers = response.headers_mut();
            headers.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, origin.clone());
            headers.insert(
                header::ACCESS_CONTROL_EXPOSE_HEADERS,
                HeaderValue::from_static(EXPOSED_HEADERS),
            );
            headers.append(header::VARY, HeaderValue::from_static("origin"));
        }
    }
}

/// A CORS preflight: `OPTIONS` naming the method it asks for.
pub fn is_preflight(method: &http::Method, headers: &HeaderMap) -> bool {
    method == http::Method::OPTIONS && headers.contains_key(header::ACCESS_CONTROL_REQUEST_METHOD)
}

/// The headers every response carries: no MIME sniffing, no referrer, no framing, not
/// cached unless the handler said otherwise, and no `server` banner.
pub fn secure(response: &mut Response) {
    let headers = response.headers_mut();
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers
        .entry(header::CACHE_CONTROL)
        .or_insert(HeaderValue::from_static("no-store"));
    headers.remove(header::SERVER);
}

/// 429 with `Retry-After`.
pub fn too_many_requests(retry_after: u64, request_id: &str) -> Response {
    let mut response = crate::Problem::too_many_requests(format!(
        "the rate limit is reached; retry in {retry_after} s"
    ))
    .to_response(request_id);
    response
        .headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from(retry_after));
    response
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::{Claims, Role};

    const NOW: i64 = 1_750_000_000;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut headers = HeaderMap::new();
        for (name, value) in pairs {
            headers.insert(*name, HeaderValue::from_str(value).unwrap());
        }
        headers
    }

    fn shop() -> CorsPolicy {
        CorsPolicy::from_variable(" https://shop.example/, https://admin.example ,")
    }

    #[test]
    fn cors_policy_reads_the_variable() {
        assert_eq!(CorsPolicy::from_variable(""), CorsPolicy::None);
        assert_eq!(CorsPolicy::from_variable(" , "), CorsPolicy::None);
        assert_eq!(CorsPolicy::from_variable("*"), CorsPolicy::Any);
        assert_eq!(
            shop(),
            CorsPolicy::Origins(vec![
                "https://shop.example".into(),
                "https://admin.example".into()
            ])
        );
        assert!(shop().allows("https://shop.example"));
        assert!(!shop().allows("https://shop.example.evil"));
        assert!(!shop().allows("http://shop.example"));
        assert!(CorsPolicy::Any.allows("https://anything.example"));
        assert!(!CorsPolicy::None.allows("https://shop.example"));
    }

    #[test]
    fn preflight_grants_an_allowed_origin_only() {
        let asked = headers(&[
            ("origin", "https://shop.example"),
            ("access-control-request-method", "POST"),
        ]);
        assert!(is_preflight(&http::Method::OPTIONS, &asked));
        assert!(!is_preflight(&http::Method::OPTIONS, &HeaderMap::new()));
        assert!(!is_preflight(&http::Method::POST, &asked));

        let granted = shop().preflight(asked.get("origin"), "r1");
        assert_eq!(granted.status(), 204);
        let h = granted.headers();
        assert_eq!(h["access-control-allow-origin"], "https://shop.example");
        assert!(
            h["access-control-allow-methods"]
                .to_str()
                .unwrap()
                .contains("PATCH")
        );
        assert_eq!(h["access-control-allow-headers"], ALLOWED_HEADERS);
        assert_eq!(h["access-control-max-age"], "600");
        assert_eq!(h["vary"], "origin");
        assert_eq!(h["x-request-id"], "r1");

        let evil = headers(&[
            ("origin", "https://evil.example"),
            ("access-control-request-method", "POST"),
        ]);
        let refused = shop().preflight(evil.get("origin"), "r2");
        assert_eq!(refused.status(), 204);
        assert!(
            !refused
                .headers()
                .keys()
                .any(|name| name.as_str().starts_with("access-control-"))
        );
    }

    #[test]
    fn responses_expose_headers_to_an_allowed_origin() {
        let mut response = crate::http::empty(StatusCode::OK, "r");
        let admin = HeaderValue::from_static("https://admin.example");
        shop().grant(Some(&admin), &mut response);
        let h = response.headers();
        assert_eq!(h["access-control-allow-origin"], "https://admin.example");
        assert_eq!(h["access-control-expose-headers"], EXPOSED_HEADERS);
        assert_eq!(h["vary"], "origin");

        for origin in [Some(HeaderValue::from_static("https://evil.example")), None] {
            let mut response = crate::http::empty(StatusCode::OK, "r");
            shop().grant(origin.as_ref(), &mut response);
            assert!(
                !response
                    .headers()
                    .contains_key("access-control-allow-origin")
            );
            assert!(!response.headers().contains_key("vary"));
        }
    }

    #[test]
    fn every_response_gets_the_security_headers() {
        let mut response = crate::http::empty(StatusCode::OK, "r");
        response
            .headers_mut()
            .insert(header::SERVER, HeaderValue::from_static("fusion/1"));
        secure(&mut response);
        let h = response.headers();
        assert_eq!(h["x-content-type-options"], "nosniff");
        assert_eq!(h["referrer-policy"], "no-referrer");
        assert_eq!(h["x-frame-options"], "DENY");
        assert_eq!(h["cache-control"], "no-store");
        assert!(!h.contains_key(header::SERVER));

        let mut cached = crate::http::empty(StatusCode::OK, "r");
        cached.headers_mut().insert(
            header::CACHE_CONTROL,
            HeaderValue::from_static("max-age=60"),
        );
        secure(&mut cached);
        assert_eq!(cached.headers()["cache-control"], "max-age=60");
    }

    #[test]
    fn chained_calls_are_told_by_their_client_address() {
        assert!(is_chained(&headers(&[(CLIENT_ADDR_HEADER, "0.0.0.0:0")])));
        assert!(!is_chained(&headers(&[(
            CLIENT_ADDR_HEADER,
            "10.0.0.7:5100"
        )])));
        assert!(!is_chained(&HeaderMap::new()));
    }

    #[test]
    fn the_requester_is_the_verified_token_else_the_client_ip() {
        let key = JwtKey::new("edge-test-secret").unwrap();
        let token = key.issue(&Claims::new("u-1", Role::Customer, "acme", NOW, 60));
        let bearer = format!("Bearer {token}");
        let with_token = headers(&[
            ("authorization", &bearer),
            (CLIENT_ADDR_HEADER, "10.0.0.7:5100"),
        ]);
        let requester = Requester::from_headers(&with_token, Some(&key), NOW);
        assert_eq!(requester.tenant.as_deref(), Some("acme"));
        assert_eq!(requester.subject, "user:u-1");
        assert_eq!(requester.rate_limit_key(), "ratelimit:acme:user:u-1");

        // Expired, forged or unverifiable tokens count as no token.
        for (key, now) in [
            (Some(&key), NOW + 60),
            (Some(&JwtKey::new("other").unwrap()), NOW),
            (None, NOW),
        ] {
            let requester = Requester::from_headers(&with_token, key, now);
            assert_eq!(requester.tenant, None);
            assert_eq!(requester.subject, "addr:10.0.0.7");
        }

        let anonymous = headers(&[
            (CLIENT_ADDR_HEADER, "[::1]:6000"),
            ("x-tenant-id", "globex"),
        ]);
        let requester = Requester::from_headers(&anonymous, Some(&key), NOW);
        assert_eq!(requester.rate_limit_key(), "ratelimit:default:addr:::1");
        assert_eq!(
            Requester::from_headers(&HeaderMap::new(), None, NOW).subject,
            "addr:unknown"
        );
    }

    #[test]
    fn rate_limited_answers_say_when_to_retry() {
        let response = too_many_requests(3, "r");
        assert_eq!(response.status(), 429);
        assert_eq!(response.headers()[header::RETRY_AFTER], "3");
        assert_eq!(
            response.headers()[header::CONTENT_TYPE],
            crate::problem::CONTENT_TYPE
        );
    }
}
