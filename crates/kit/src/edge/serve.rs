//! The edge's Spin adapter (wasm32 only): [`serve`] runs a component's handler behind
//! CORS, the rate limit and idempotency, tags its GET answers for revalidation, and
//! decorates every response.

use super::{
    Claim, ClaimedKey, CorsPolicy, Decision, RateLimit, Requester, StoredResponse, claim, complete,
    fingerprint, idempotency_key, is_chained, is_preflight, release, scope, secure,
    too_many_requests, validate,
};
use crate::auth::{tenant_from_headers, unix_now};
use crate::db::Migration;
use crate::http::{Body, Request, Response};
use crate::outbox::now_ms;
use crate::problem::Problem;
use crate::request_id;
use crate::spin::http::{read_body, request_parts};
use crate::spin::key_value::Store;
use crate::spin::{SpinDb, jwt_key, open_migrated, variable};
use http::{Method, StatusCode, header, request};
use http_body_util::BodyExt;
use spin_sdk::http::IncomingRequest;

/// What the edge needs of a component: the context whose store keeps its idempotency
/// records (`None`: the component takes no `Idempotency-Key`) and that context's
/// migrations (which list [`super::IDEMPOTENCY_MIGRATION`]).
pub struct Edge {
    pub context: Option<&'static str>,
    pub migrations: &'static [Migration],
}

/// Serves `request` with `handler` behind the edge: a CORS preflight is answered here;
/// otherwise the caller's token bucket is charged (429 when empty), the body is read
/// once (413 over 1 MiB) and, for a POST with `Idempotency-Key`, the key is claimed
/// first and the handler's response kept for replays. Calls from other components of
/// the app skip CORS and the rate limit, and so do requests signed by the event bridge
/// whose signature verifies (one that does not is charged, then refused with 401). A 200
/// answer to a GET gets an `ETag`, and is a 304 when `If-None-Match` names it. Every
/// response gets the security headers.
pub async fn serve(
    request: IncomingRequest,
    edge: &Edge,
    handler: impl AsyncFnOnce(Request) -> Response,
) -> Response {
    let mut parts = request_parts(&request);
    crate::trace::serve(&parts.headers);
    let request_id = request_id::from_headers(&parts.headers);
    // The handler sees the same id (a generated one included), so its logs and the
    // edge's name one request.
    if let Ok(id) = http::HeaderValue::from_str(&request_id) {
        parts.headers.insert(request_id::HEADER, id);
    }
    let chained = is_chained(&parts.headers);
    let cors = if chained {
        CorsPolicy::None
    } else {
        cors_policy(&request_id).await
    };
    let origin = parts.headers.get(header::ORIGIN).cloned();
    let mut response = if !chained && is_preflight(&parts.method, &parts.headers) {
        cors.preflight(origin.as_ref(), &request_id)
    } else {
        let method = parts.method.clone();
        let if_none_match = parts.headers.get(header::IF_NONE_MATCH).cloned();
        let mut response = guarded(parts, request, edge, chained, &request_id, handler)
            .await
            .unwrap_or_else(|problem| problem.to_response(&request_id));
        // Components calling each other never revalidate: no tag to compute for them.
        if !chained {
            response = validate(&method, if_none_match.as_ref(), response);
        }
        cors.grant(origin.as_ref(), &mut response);
        response
    };
    secure(&mut response);
    response
}

async fn guarded(
    parts: request::Parts,
    body: IncomingRequest,
    edge: &Edge,
    chained: bool,
    request_id: &str,
    handler: impl AsyncFnOnce(Request) -> Response,
) -> Result<Response, Problem> {
    // A token that does not verify (or a missing `jwt_secret`) leaves the caller known
    // by address; the handler answers 401/500 for it as before.
    let key = if parts.headers.contains_key(header::AUTHORIZATION) {
        jwt_key().await.ok()
    } else {
        None
    };
    let requester = Requester::from_headers(&parts.headers, key.as_ref(), unix_now());
    // The event bridge signs its calls: a signed request is verified here, before its
    // handler, and then is the app's own traffic, like a chained call; one whose
    // signature fails is charged like any other request before its 401.
    let signed = parts.headers.contains_key(crate::events::SIGNATURE_HEADER);
    if !chained
        && !signed
        && let Decision::Limited { retry_after } = take_token(&requester, request_id).await?
    {
        return Ok(too_many_requests(retry_after, request_id));
    }

    // Spin's incoming body cannot be rebuilt once read, so the handler gets the request
    // again over the bytes read here.
    let body = read_body(body).await?;
    if signed && let Err(refused) = crate::events::check_signature(&parts.headers, &body).await {
        if !chained
            && let Decision::Limited { retry_after } = take_token(&requester, request_id).await?
        {
            return Ok(too_many_requests(retry_after, request_id));
        }
        return Err(refused);
    }
    let idempotency = match edge.context {
        Some(context) if parts.method == Method::POST => {
            idempotency_key(&parts.headers)?.map(|key| (context, key))
        }
        _ => None,
    };
    let Some((context, key)) = idempotency else {
        return Ok(handler(Request::from_parts(parts, Body::new(body))).await);
    };

    let tenant = match requester.tenant {
        Some(tenant) => tenant,
        None => tenant_from_headers(&parts.headers)?,
    };
    let scope = scope(&tenant, &requester.subject, &parts.method, parts.uri.path());
    let target = parts
        .uri
        .path_and_query()
        .map_or("/", |target| target.as_str());
    let fingerprint = fingerprint(&parts.method, target, &body);
    let records = Records {
        context,
        migrations: edge.migrations,
        request_id,
    };
    let claimed = claim(&records.open().await?, &scope, &key, &fingerprint, now_ms()).await;
    match claimed.map_err(|error| records.unavailable(&error))? {
        Claim::Proceed => {}
        Claim::Replay(stored) => return Ok(stored.replay(request_id)),
        Claim::Mismatch => {
            return Err(Problem::unprocessable(
                "this Idempotency-Key was used with another request",
            ));
        }
        Claim::InProgress => {
            return Err(Problem::conflict(
                "a request with this Idempotency-Key is in progress; retry later",
            ));
        }
        Claim::Interrupted => {
            return Err(Problem::conflict(
                "the request with this Idempotency-Key made its change but was cut off before \
                 answering, so it will not run again: look the result up instead",
            ));
        }
    }
    // The claim's connection is closed while the handler runs: it opens its own, and
    // holding two per request would halve what a pool serves. The handler's store marks
    // the claim in each transaction it commits (see `mark_committed`).
    let mut parts = parts;
    parts.extensions.insert(ClaimedKey {
        scope: scope.clone(),
        key: key.clone(),
    });
    let response = handler(Request::from_parts(parts, Body::new(body))).await;
    Ok(records.settle(&scope, &key, response).await)
}

/// The variable's origins; an unreadable variable allows none.
async fn cors_policy(request_id: &str) -> CorsPolicy {
    match variable("cors_allowed_origins").await {
        Ok(origins) => CorsPolicy::from_variable(&origins.unwrap_or_default()),
        Err(error) => {
            eprintln!("[{request_id}] {error}");
            CorsPolicy::None
        }
    }
}

/// Counts the request against the caller's limit in key-value store `default` (see
/// [`RateLimit`]): exact under concurrency, as counters only change by `increment`.
async fn take_token(requester: &Requester, request_id: &str) -> Result<Decision, Problem> {
    let misconfigured = |error: String| {
        eprintln!("[{request_id}] rate limit configuration: {error}");
        Problem::internal()
    };
    let per_second = variable("rate_limit_per_second")
        .await
        .map_err(misconfigured)?;
    let burst = variable("rate_limit_burst").await.map_err(misconfigured)?;
    let Some(limit) = RateLimit::from_variables(per_second.as_deref(), burst.as_deref())
        .map_err(misconfigured)?
    else {
        return Ok(Decision::Allowed);
    };

    let unavailable = |error: String| {
        eprintln!("[{request_id}] rate limit store: {error}");
        Problem::unavailable("the rate limit store is unavailable")
    };
    let store = Store::open_default().map_err(unavailable)?;
    let caller = requester.rate_limit_key();
    let position = limit.position(now_ms());
    let window_key = |window: i64| format!("{caller}:{window}");
    let current_key = window_key(position.window);
    let current = store.increment(&current_key, 1).map_err(unavailable)?;
    if current == 1 {
        // The first request of a window retires the window before the previous one,
        // so a caller keeps at most three counters.
        if let Err(error) = store.delete(&window_key(position.window - 2)) {
            eprintln!("[{request_id}] rate limit store: {error}");
        }
    }
    let previous = store
        .counter(&window_key(position.window - 1))
        .map_err(unavailable)?;
    let decision = limit.decide(position, previous, current);
    if decision != Decision::Allowed {
        // A refused request does not count against the caller.
        store.increment(&current_key, -1).map_err(unavailable)?;
    }
    Ok(decision)
}

/// Where a component's idempotency records live.
struct Records<'a> {
    context: &'static str,
    migrations: &'static [Migration],
    request_id: &'a str,
}

impl Records<'_> {
    async fn open(&self) -> Result<SpinDb, Problem> {
        open_migrated(self.context, self.migrations)
            .await
            .map_err(|error| self.unavailable(&error))
    }

    fn unavailable(&self, error: &dyn std::fmt::Display) -> Problem {
        eprintln!(
            "[{}] idempotency records of {}: {error}",
            self.request_id, self.context
        );
        Problem::unavailable("the idempotency store is unavailable")
    }

    /// Keeps the handler's response for replays, or — after a 5xx or a 429, which a
    /// retry may not meet again — releases the key so the retry runs. The response goes
    /// out either way: the effect (if any) happened, and a record that failed to save
    /// only leaves the key claimed until it is abandoned.
    async fn settle(&self, scope: &str, key: &str, response: Response) -> Response {
        let (parts, body) = response.into_parts();
        let Ok(body) = body.collect().await.map(|collected| collected.to_bytes());
        let retry_may_differ =
            parts.status.is_server_error() || parts.status == StatusCode::TOO_MANY_REQUESTS;
        // A store that does not open is logged by `open`.
        if let Ok(db) = self.open().await {
            let saved = if retry_may_differ {
                release(&db, scope, key).await
            } else {
                let stored = StoredResponse::capture(parts.status, &parts.headers, body.clone());
                complete(&db, scope, key, &stored).await
            };
            if let Err(error) = saved {
                self.unavailable(&error);
            }
        }
        http::Response::from_parts(parts, Body::new(body))
    }
}
