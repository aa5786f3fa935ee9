//! Spin adapters (wasm32 only), the one home of every component's Spin glue: variables,
//! the caller, a context's store ([`db`]), key-value with atomics ([`key_value`]), HTTP
//! in and out ([`http`]), the API skeleton ([`service`]), and [`Spin`], through which
//! domain code reads variables and calls out. Built on spin-sdk 5.2 (`spin:up@3.6.0`, WASIp2), so every
//! component links on Spin 3.6, SpinKube's shim and Spin 4.

pub mod db;
pub mod http;
pub mod key_value;
pub mod service;

use crate::auth::{JwtKey, TokenVersions, token_version_key};
use crate::outbound::{Answer, Outbound};
use crate::problem::Problem;
use crate::variables::Variables;
pub use db::{SpinDb, open_for_context, open_migrated, open_store};
pub use service::{RequestStore, serve_api};
use spin_sdk::variables;

/// Spin's host, as domain code sees it: its variables and outbound HTTP.
#[derive(Debug, Clone, Copy)]
pub struct Spin;

impl Variables for Spin {
    async fn variable(&self, name: &str) -> Result<Option<String>, String> {
        variable(name).await
    }
}

/// Token versions live in the `default` key-value store, which every API component
/// declares, as counters: `increment` is exact on every Spin backend.
impl TokenVersions for Spin {
    async fn token_version(&self, tenant: &str, user_id: &str) -> Result<i64, String> {
        key_value::Store::open_default()?.counter(&token_version_key(tenant, user_id))
    }

    async fn revoke_tokens(&self, tenant: &str, user_id: &str) -> Result<(), String> {
        key_value::Store::open_default()?
            .increment(&token_version_key(tenant, user_id), 1)
            .map(drop)
    }
}

impl Outbound for Spin {
    async fn send(&self, request: ::http::Request<Vec<u8>>) -> Result<Answer, String> {
        let http::Answer { status, body } = http::send(request).await?;
        let mut answer = Answer::new(body.to_vec());
        *answer.status_mut() = status;
        Ok(answer)
    }
}

/// The `event_transport` variable (see [`crate::outbox::Transport`]).
pub async fn event_transport() -> Result<crate::outbox::Transport, crate::db::DbError> {
    let value = variable("event_transport")
        .await
        .map_err(crate::db::DbError::Other)?
        .unwrap_or_default();
    crate::outbox::Transport::from_variable(&value).map_err(crate::db::DbError::Other)
}

/// A component variable; `None` when the component does not define it.
pub async fn variable(name: &str) -> Result<Option<String>, String> {
    match variables::get(name) {
        Ok(value) => Ok(Some(value)),
        Err(variables::Error::Undefined(_)) => Ok(None),
        Err(error) => Err(format!("variable {name}: {error:?}")),
    }
}

/// The HS256 key from the `jwt_secret` variable; its absence is a deployment error,
/// answered as a 500 problem.
pub async fn jwt_key() -> Result<JwtKey, Problem> {
    let secret = variable("jwt_secret")
        .await
        .ok()
        .flatten()
        .unwrap_or_default();
    JwtKey::new(secret).map_err(|error| {
        eprintln!("jwt_secret: {error}");
        Problem::internal()
    })
}

/// The caller of a request: 401 without a valid bearer token, 403 when `x-tenant-id`
/// names another tenant than the token (see [`JwtKey::authenticate`]).
pub async fn authenticate(headers: &::http::HeaderMap) -> Result<crate::auth::Caller, Problem> {
    let caller = authenticate_service_too(headers).await?;
    if caller.role == crate::auth::Role::Service {
        return Err(Problem::forbidden(
            "a service token reads users only (GET /api/v1/users/{id})",
        ));
    }
    Ok(caller)
}

/// Like [`authenticate`], also admitting a component's service token: for the routes
/// that name [`crate::auth::Role::Service`] among their callers.
pub async fn authenticate_service_too(
    headers: &::http::HeaderMap,
) -> Result<crate::auth::Caller, Problem> {
    let claims = jwt_key()
        .await?
        .request_claims(headers, crate::auth::unix_now())?;
    // A service token belongs to no user, so no user's change revokes it.
    if claims.role != crate::auth::Role::Service {
        let current = Spin
            .token_version(&claims.tenant, &claims.sub)
            .await
            .map_err(|error| {
                eprintln!("token version of {}: {error}", claims.sub);
                Problem::unavailable("the token cannot be checked right now")
            })?;
        if claims.ver < current {
            return Err(Problem::unauthorized(
                "the bearer token was revoked: the account's role or password changed; log in again",
            ));
        }
    }
    Ok(claims.into())
}

/// The tenant a public read acts for: the token's when a bearer token is sent (a bad one
/// is still 401), else the `x-tenant-id` header's (default `default`).
pub async fn reader_tenant(headers: &::http::HeaderMap) -> Result<String, Problem> {
    if headers.contains_key(::http::header::AUTHORIZATION) {
        Ok(authenticate(headers).await?.tenant)
    } else {
        crate::auth::tenant_from_headers(headers)
    }
}

/// Who may run a sweep: a scheduler presenting `x-sweep-key` equal to the non-empty
/// `sweep_key` variable, or an admin's token.
pub async fn authorize_sweep(headers: &::http::HeaderMap) -> Result<(), Problem> {
    match presented_key(headers, crate::auth::SWEEP_KEY_HEADER, "sweep_key").await {
        Some(verdict) => verdict,
        None => authenticate(headers)
            .await?
            .require_role(&[crate::auth::Role::Admin]),
    }
}

/// Who may read the outbox metrics: the host's admin listener (a chained request), a
/// scraper presenting `x-metrics-key` equal to the `metrics_key` variable, or an admin.
pub async fn authorize_metrics(headers: &::http::HeaderMap) -> Result<(), Problem> {
    if crate::edge::is_chained(headers) {
        return Ok(());
    }
    match presented_key(headers, crate::auth::METRICS_KEY_HEADER, "metrics_key").await {
        Some(verdict) => verdict,
        None => authenticate(headers)
            .await?
            .require_role(&[crate::auth::Role::Admin]),
    }
}

/// Who may create tenants: a platform operator presenting `x-operator-key` equal to the
/// non-empty `operator_key` variable (401 without it or with another).
pub async fn authorize_operator(headers: &::http::HeaderMap) -> Result<(), Problem> {
    let header = crate::auth::OPERATOR_KEY_HEADER;
    presented_key(headers, header, "operator_key")
        .await
        .unwrap_or_else(|| Err(Problem::unauthorized(format!("{header} is required"))))
}

/// The verdict on the key in `header`, checked against the variable `configured_by`;
/// `None` when the request presents none.
async fn presented_key(
    headers: &::http::HeaderMap,
    header: &str,
    configured_by: &str,
) -> Option<Result<(), Problem>> {
    let presented = headers.get(header)?.to_str().unwrap_or_default();
    let configured = variable(configured_by)
        .await
        .ok()
        .flatten()
        .unwrap_or_default();
    Some(if crate::auth::key_matches(&configured, presented) {
        Ok(())
    } else {
        Err(Problem::unauthorized(format!(
            "the {header} is not the configured one"
        )))
    })
}
