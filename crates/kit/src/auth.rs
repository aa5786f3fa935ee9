//! Bearer JWT (HS256) authentication. Every route gets a [`Caller`] from the token — its
//! tenant included — so no query can forget whose rows it touches.

use crate::problem::Problem;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use http::{HeaderMap, header};
use serde::{Deserialize, Serialize};
use sha2::Sha256;
use std::fmt;
use std::str::FromStr;

/// The header naming the tenant: register/login read it; afterwards it must agree with
/// the token.
pub const TENANT_HEADER: &str = "x-tenant-id";
pub const DEFAULT_TENANT: &str = "default";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    Customer,
    Vendor,
    Admin,
    /// A component reading on the platform's behalf (notifications reading a
    /// customer's email): never a user's role, and refused by every route but the few
    /// that name it.
    Service,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Customer => "customer",
            Role::Vendor => "vendor",
            Role::Admin => "admin",
            Role::Service => "service",
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Role {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "customer" => Ok(Role::Customer),
            "vendor" => Ok(Role::Vendor),
            "admin" => Ok(Role::Admin),
            "service" => Ok(Role::Service),
            other => Err(format!(
                "unknown role {other:?}; expected customer, vendor or admin"
            )),
        }
    }
}

/// The token's claims. Times are Unix seconds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claims {
    pub sub: String,
    pub role: Role,
    pub tenant: String,
    pub iat: i64,
    pub exp: i64,
    /// The user's token version when the token was issued ([`TokenVersions`]); tokens
    /// from before the claim existed read as 0.
    #[serde(default)]
    pub ver: i64,
}

impl Claims {
    /// Claims valid from `now` for `ttl_seconds`.
    pub fn new(
        sub: impl Into<String>,
        role: Role,
        tenant: impl Into<String>,
        now: i64,
        ttl_seconds: i64,
    ) -> Self {
        Self {
            sub: sub.into(),
            role,
            tenant: tenant.into(),
            iat: now,
            exp: now.saturating_add(ttl_seconds),
            ver: 0,
        }
    }

    /// The same claims, issued at the user's token version `ver`.
    pub fn with_version(self, ver: i64) -> Self {
        Self { ver, ..self }
    }
}

impl From<Claims> for Caller {
    fn from(claims: Claims) -> Self {
        Caller {
            user_id: claims.sub,
            role: claims.role,
            tenant: claims.tenant,
        }
    }
}

/// Each user's token version: a counter (absent = 0) that every change of the user's
/// role or password bumps. A token carries the version it was issued at and is refused
/// once the counter has moved past it, so such a change revokes every earlier token at
/// once instead of after their hour. Checking costs one key-value read per request.
#[allow(async_fn_in_trait)] // components are single-threaded wasm; no `Send` bound wanted
pub trait TokenVersions {
    /// The user's current token version.
    async fn token_version(&self, tenant: &str, user_id: &str) -> Result<i64, String>;
    /// Bumps the user's token version: every token issued before stops working.
    async fn revoke_tokens(&self, tenant: &str, user_id: &str) -> Result<(), String>;
}

/// Where a user's token version is kept in the key-value store.
pub fn token_version_key(tenant: &str, user_id: &str) -> String {
    format!("token-version\n{tenant}\n{user_id}")
}

/// Versions in memory, for native tests.
impl TokenVersions for std::cell::RefCell<std::collections::HashMap<String, i64>> {
    async fn token_version(&self, tenant: &str, user_id: &str) -> Result<i64, String> {
        let key = token_version_key(tenant, user_id);
        Ok(self.borrow().get(&key).copied().unwrap_or(0))
    }

    async fn revoke_tokens(&self, tenant: &str, user_id: &str) -> Result<(), String> {
        *self
            .borrow_mut()
            .entry(token_version_key(tenant, user_id))
            .or_default() += 1;
        Ok(())
    }
}

/// Who is calling: the token's subject, role and tenant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    pub user_id: String,
    pub role: Role,
    pub tenant: String,
}

impl Caller {
    /// 403 unless the caller has one of `roles`.
    pub fn require_role(&self, roles: &[Role]) -> Result<(), Problem> {
        if roles.contains(&self.role) {
            Ok(())
        } else {
            Err(Problem::forbidden(format!(
                "the {} role may not do this",
                self.role
            )))
        }
    }
}

/// Why a token was refused; every case is a 401.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TokenError {
    Malformed,
    UnsupportedAlgorithm,
    BadSignature,
    Expired,
}

impl fmt::Display for TokenError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            TokenError::Malformed => "the bearer token is not a well-formed JWT",
            TokenError::UnsupportedAlgorithm => "the bearer token is not signed with HS256",
            TokenError::BadSignature => "the bearer token's signature is invalid",
            TokenError::Expired => "the bearer token has expired",
        })
    }
}

impl std::error::Error for TokenError {}

impl From<TokenError> for Problem {
    fn from(error: TokenError) -> Self {
        Problem::unauthorized(error.to_string())
    }
}

/// The HS256 key, from the `jwt_secret` variable.
#[derive(Clone)]
pub struct JwtKey(Vec<u8>);

impl JwtKey {
    /// A key from the secret; an empty secret is a configuration error.
    pub fn new(secret: impl Into<Vec<u8>>) -> Result<Self, String> {
        let secret = secret.into();
        if secret.is_empty() {
            return Err("the JWT secret is empty".to_owned());
        }
        Ok(Self(secret))
    }

    fn mac(&self, signing_input: &str) -> Hmac<Sha256> {
        let mut mac =
            Hmac::<Sha256>::new_from_slice(&self.0).expect("HMAC accepts keys of any length");
        mac.update(signing_input.as_bytes());
        mac
    }

    /// A signed compact JWT for `claims`.
    pub fn issue(&self, claims: &Claims) -> String {
        let header = URL_SAFE_NO_PAD.encode(br#"{"alg":"HS256","typ":"JWT"}"#);
        let payload = URL_SAFE_NO_PAD.encode(serde_json::to_vec(claims).unwrap_or_default());
        let signing_input = format!("{header}.{payload}");
        let signature = URL_SAFE_NO_PAD.encode(self.mac(&signing_input).finalize().into_bytes());
        format!("{signing_input}.{signature}")
    }

    /// The claims of a token signed with this key (HS256 only — `none` and every other
    /// `alg` are refused) that has not expired at `now`.
    pub fn verify(&self, token: &str, now: i64) -> Result<Claims, TokenError> {
        let (signing_input, signature) = token.rsplit_once('.').ok_or(TokenError::Malformed)?;
        let (header, payload) = signing_input
            .split_once('.')
            .filter(|(_, payload)| !payload.contains('.'))
            .ok_or(TokenError::Malformed)?;

        #[derive(Deserialize)]
        struct Header {
            alg: String,
        }
        let header: Header = decode_part(header)?;
        if header.alg != "HS256" {
            return Err(TokenError::UnsupportedAlgorithm);
        }

        let signature = URL_SAFE_NO_PAD
            .decode(signature)
            .map_err(|_| TokenError::Malformed)?;
        // `verify_slice` compares in constant time.
        self.mac(signing_input)
            .verify_slice(&signature)
            .map_err(|_| TokenError::BadSignature)?;

        let claims: Claims = decode_part(payload)?;
        if claims.exp <= now {
            return Err(TokenError::Expired);
        }
        Ok(claims)
    }

    /// The caller of a request: 401 without a valid `Authorization: Bearer` token, 403
    /// when an `x-tenant-id` header names another tenant than the token.
    pub fn authenticate(&self, headers: &HeaderMap, now: i64) -> Result<Caller, Problem> {
        self.request_claims(headers, now).map(Caller::from)
    }

    /// The claims of the request's valid bearer token (see [`JwtKey::authenticate`]).
    pub fn request_claims(&self, headers: &HeaderMap, now: i64) -> Result<Claims, Problem> {
        let token = headers
            .get(header::AUTHORIZATION)
            .ok_or_else(|| Problem::unauthorized("a bearer token is required"))?
            .to_str()
            .ok()
            .and_then(|value| {
                let (scheme, token) = value.split_once(' ')?;
                scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
            })
            .ok_or_else(|| {
                Problem::unauthorized("the Authorization header must be `Bearer <token>`")
            })?;
        let claims = self.verify(token, now)?;
        if let Some(tenant) = headers.get(TENANT_HEADER)
            && tenant.as_bytes() != claims.tenant.as_bytes()
        {
            return Err(Problem::forbidden(
                "the x-tenant-id header does not match the token's tenant",
            ));
        }
        Ok(claims)
    }
}

impl fmt::Debug for JwtKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("JwtKey(..)")
    }
}

fn decode_part<T: serde::de::DeserializeOwned>(part: &str) -> Result<T, TokenError> {
    let json = URL_SAFE_NO_PAD
        .decode(part)
        .map_err(|_| TokenError::Malformed)?;
    serde_json::from_slice(&json).map_err(|_| TokenError::Malformed)
}

/// The tenant of an unauthenticated request (register, login): the `x-tenant-id`
/// header, `default` when absent; 400 unless it is a tenant id ([`check_tenant_id`]).
pub fn tenant_from_headers(headers: &HeaderMap) -> Result<String, Problem> {
    let Some(value) = headers.get(TENANT_HEADER) else {
        return Ok(DEFAULT_TENANT.to_owned());
    };
    let tenant = value.to_str().unwrap_or_default();
    match check_tenant_id(tenant) {
        Ok(()) => Ok(tenant.to_owned()),
        Err(message) => Err(Problem::bad_request(format!("x-tenant-id {message}"))),
    }
}

/// A tenant id is 1–64 of `[A-Za-z0-9_-]`; the error says so.
pub fn check_tenant_id(tenant: &str) -> Result<(), &'static str> {
    let valid = (1..=64).contains(&tenant.len())
        && tenant
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    if valid {
        Ok(())
    } else {
        Err("must be 1-64 letters, digits, '-' or '_'")
    }
}

/// The header a scheduler (a cron, a Kubernetes CronJob) sends to run a sweep.
pub const SWEEP_KEY_HEADER: &str = "x-sweep-key";
/// The header a metrics scraper (Prometheus) sends to read the outbox metrics.
pub const METRICS_KEY_HEADER: &str = "x-metrics-key";
/// The header a platform operator sends to create tenants.
pub const OPERATOR_KEY_HEADER: &str = "x-operator-key";

/// Whether a presented key (the sweep key, the operator key) is the configured one. An
/// empty configured key turns that way in off; the comparison takes the same time
/// wherever the keys differ.
pub fn key_matches(configured: &str, presented: &str) -> bool {
    use subtle::ConstantTimeEq;
    !configured.is_empty() && bool::from(configured.as_bytes().ct_eq(presented.as_bytes()))
}

/// Seconds since the Unix epoch, for `iat`/`exp`.
pub fn unix_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |elapsed| elapsed.as_secs() as i64)
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;

    const NOW: i64 = 1_750_000_000;

    fn key() -> JwtKey {
        JwtKey::new("test-secret-at-least-32-bytes-long!").unwrap()
    }

    fn token(role: Role) -> String {
        key().issue(&Claims::new("user-1", role, "acme", NOW, 3600))
    }

    fn bearer(token: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(
            header::AUTHORIZATION,
            HeaderValue::from_str(&format!("Bearer {token}")).unwrap(),
        );
        headers
    }

    #[test]
    fn issued_tokens_verify() {
        let claims = key().verify(&token(Role::Vendor), NOW + 10).unwrap();
        assert_eq!(claims.sub, "user-1");
        assert_eq!(claims.role, Role::Vendor);
        assert_eq!(claims.tenant, "acme");
        assert_eq!(claims.exp, NOW + 3600);
    }

    #[test]
    fn expired_tokens_are_refused() {
        let err = key()
            .verify(&token(Role::Customer), NOW + 3600)
            .unwrap_err();
        assert_eq!(err, TokenError::Expired);
    }

    #[test]
    fn tampered_tokens_are_refused() {
        let token = token(Role::Customer);
        let (signing_input, _) = token.rsplit_once('.').unwrap();
        let (header, _) = signing_input.split_once('.').unwrap();
        let forged_claims = URL_SAFE_NO_PAD.encode(
            serde_json::to_vec(&Claims::new("user-1", Role::Admin, "acme", NOW, 3600)).unwrap(),
        );
        let original_signature = token.rsplit('.').next().unwrap();
        let forged = format!("{header}.{forged_claims}.{original_signature}");
        assert_eq!(
            key().verify(&forged, NOW).unwrap_err(),
            TokenError::BadSignature
        );

        let other_key = JwtKey::new("another-secret").unwrap();
        assert_eq!(
            other_key.verify(&token, NOW).unwrap_err(),
            TokenError::BadSignature
        );

        for junk in ["", "abc", "a.b", "a.b.c.d", "!!.??.**"] {
            assert_eq!(
                key().verify(junk, NOW).unwrap_err(),
                TokenError::Malformed,
                "{junk}"
            );
        }
    }

    #[test]
    fn alg_none_and_others_are_refused() {
        let claims = URL_SAFE_NO_PAD.encode(
            serde_json::to_vec(&Claims::new("user-1", Role::Admin, "acme", NOW, 3600)).unwrap(),
        );
        for alg in ["none", "None", "HS512", "RS256"] {
            let header = URL_SAFE_NO_PAD.encode(format!(r#"{{"alg":"{alg}","typ":"JWT"}}"#));
            let unsigned = format!("{header}.{claims}.");
            assert_eq!(
                key().verify(&unsigned, NOW).unwrap_err(),
                TokenError::UnsupportedAlgorithm,
                "{alg}"
            );
        }
    }

    #[test]
    fn authenticate_maps_to_401_and_403() {
        let caller = key()
            .authenticate(&bearer(&token(Role::Customer)), NOW)
            .unwrap();
        assert_eq!(
            caller,
            Caller {
                user_id: "user-1".into(),
                role: Role::Customer,
                tenant: "acme".into()
            }
        );
        assert_eq!(
            caller
                .require_role(&[Role::Admin, Role::Vendor])
                .unwrap_err()
                .status,
            403
        );
        assert!(caller.require_role(&[Role::Customer]).is_ok());

        assert_eq!(
            key()
                .authenticate(&HeaderMap::new(), NOW)
                .unwrap_err()
                .status,
            401
        );
        let mut basic = HeaderMap::new();
        basic.insert(
            header::AUTHORIZATION,
            HeaderValue::from_static("Basic dXNlcjpwdw=="),
        );
        assert_eq!(key().authenticate(&basic, NOW).unwrap_err().status, 401);
        assert_eq!(
            key()
                .authenticate(&bearer("x.y.z"), NOW)
                .unwrap_err()
                .status,
            401
        );
        let expired = key().authenticate(&bearer(&token(Role::Admin)), NOW + 7200);
        assert_eq!(expired.unwrap_err().status, 401);
    }

    #[test]
    fn tenant_header_must_agree_with_the_token() {
        let mut headers = bearer(&token(Role::Admin));
        headers.insert(TENANT_HEADER, HeaderValue::from_static("acme"));
        assert!(key().authenticate(&headers, NOW).is_ok());
        headers.insert(TENANT_HEADER, HeaderValue::from_static("globex"));
        assert_eq!(key().authenticate(&headers, NOW).unwrap_err().status, 403);
    }

    #[test]
    fn unauthenticated_tenant_defaults_and_is_checked() {
        assert_eq!(tenant_from_headers(&HeaderMap::new()).unwrap(), "default");
        let mut headers = HeaderMap::new();
        headers.insert(TENANT_HEADER, HeaderValue::from_static("acme-2"));
        assert_eq!(tenant_from_headers(&headers).unwrap(), "acme-2");
        headers.insert(TENANT_HEADER, HeaderValue::from_static("a b"));
        assert_eq!(tenant_from_headers(&headers).unwrap_err().status, 400);
    }

    #[test]
    fn roles_parse_and_print() {
        for role in [Role::Customer, Role::Vendor, Role::Admin] {
            assert_eq!(role.as_str().parse::<Role>().unwrap(), role);
        }
        assert!("root".parse::<Role>().is_err());
        assert!(JwtKey::new("").is_err());
    }

    #[test]
    fn the_sweep_key_must_be_configured_and_equal() {
        assert!(key_matches("s3cret", "s3cret"));
        assert!(!key_matches("s3cret", "s3cre"));
        assert!(!key_matches("s3cret", "S3CRET"));
        assert!(!key_matches("", ""), "an empty key turns it off");
        assert!(!key_matches("", "anything"));
    }
}
