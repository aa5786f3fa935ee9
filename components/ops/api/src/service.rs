//! The `#[http_service]` handler (wasm only: it calls Spin's interfaces).

use crate::routes::{ContextDeadLetter, EVENT_CONTEXTS, Endpoint, ROUTES, STORES};
use http::{HeaderMap, StatusCode};
use kit::Problem;
use kit::auth::{Caller, Role};
use kit::db::Migration;
use kit::edge::Edge;
use kit::events::{DispatchSummary, dispatch_after_commit, sweep};
use kit::http::Request;
use kit::http::{Response, health, json, respond};
use kit::outbox::{self, now_ms};
use kit::pagination::{Page, PageParams};
use kit::spin::key_value::Store;
use kit::spin::{SpinDb, authenticate, open_store};
use kit::{request_id, route};
use serde_json::json;

/// The outbox tables, which ops may be first to touch in a context that has not served
/// a request yet.
const OUTBOX_MIGRATIONS: &[Migration] = &[outbox::MIGRATION, outbox::DELIVERIES_MIGRATION];

kit::api_component!(
    Edge {
        context: None,
        migrations: &[],
    },
    handle_request
);

/// The routes, behind the edge (CORS, rate limit, idempotency, security headers).
async fn handle_request(request: Request) -> Response {
    let request_id = request_id::from_headers(request.headers());
    let (endpoint, captures) = match route::find(ROUTES, request.method(), request.uri().path()) {
        Ok(found) => found,
        Err(no_route) => {
            return no_route.to_response(request.method(), request.uri().path(), &request_id);
        }
    };
    let id = captures.first().copied().unwrap_or_default().to_owned();
    let outcome = match endpoint {
        Endpoint::Health => Ok(health_checks(&request_id).await),
        Endpoint::ListDeadLetters => list_dead_letters(&request, &request_id).await,
        Endpoint::ReplayDeadLetter => replay_dead_letter(&request, &id, &request_id).await,
        Endpoint::Sweep => sweep_outboxes(&request, &request_id).await,
    };
    respond(outcome, &request_id)
}

async fn health_checks(request_id: &str) -> Response {
    let mut checks = Vec::with_capacity(STORES.len() + 1);
    for context in STORES {
        checks.push((*context, database_answers(context).await));
    }
    checks.push(("key_value", key_value_answers().await));
    health(&checks, request_id)
}

async fn database_answers(context: &str) -> bool {
    match kit::spin::open_for_context(context).await {
        Ok(db) => kit::db::ping(&db).await.is_ok(),
        Err(error) => {
            eprintln!("health: {context}: {error}");
            false
        }
    }
}

async fn key_value_answers() -> bool {
    match Store::open_default().and_then(|store| store.get("health")) {
        Ok(_) => true,
        Err(error) => {
            eprintln!("health: key-value: {error}");
            false
        }
    }
}

async fn admin(headers: &HeaderMap) -> Result<Caller, Problem> {
    let caller = authenticate(headers).await?;
    caller.require_role(&[Role::Admin])?;
    Ok(caller)
}

async fn outbox_store(context: &str, request_id: &str) -> Result<SpinDb, Problem> {
    open_store(context, OUTBOX_MIGRATIONS, request_id).await
}

fn store_failure(context: &str, request_id: &str) -> impl Fn(kit::db::DbError) -> Problem {
    move |error| {
        eprintln!("[{request_id}] {context} outbox: {error}");
        Problem::internal()
    }
}

/// The caller's tenant's dead letters of every context, in id (= time) order.
async fn list_dead_letters(request: &Request, request_id: &str) -> Result<Response, Problem> {
    let caller = admin(request.headers()).await?;
    let page = PageParams::<String>::from_query(request.uri().query().unwrap_or_default())?;
    let mut letters = Vec::new();
    for context in EVENT_CONTEXTS {
        let db = outbox_store(context, request_id).await?;
        let found = outbox::dead_letters(
            &db,
            &caller.tenant,
            page.after.as_deref(),
            page.fetch_limit(),
        )
        .await
        .map_err(store_failure(context, request_id))?;
        letters.extend(
            found
                .into_iter()
                .map(|letter| ContextDeadLetter { context, letter }),
        );
    }
    letters.sort_by(|a, b| a.letter.id.cmp(&b.letter.id));
    let page = Page::from_rows(letters, page.limit, |last| last.letter.id.clone());
    Ok(json(StatusCode::OK, &page, request_id))
}

/// Makes a dead letter due again and dispatches it at once; answers what the dispatch
/// did (it may fail again and stay pending, or be dead again).
async fn replay_dead_letter(
    request: &Request,
    id: &str,
    request_id: &str,
) -> Result<Response, Problem> {
    let caller = admin(request.headers()).await?;
    for context in EVENT_CONTEXTS {
        let db = outbox_store(context, request_id).await?;
        let replayed = outbox::replay(&db, &caller.tenant, id, now_ms())
            .await
            .map_err(store_failure(context, request_id))?;
        if replayed {
            let dispatched = dispatch_after_commit(context, db).await;
            return Ok(json(
                StatusCode::OK,
                &json!({ "id": id, "context": context, "dispatch": dispatched }),
                request_id,
            ));
        }
    }
    Err(Problem::not_found(format!("no dead letter {id}")))
}

/// Dispatches everything due in every context: an admin's call, or a scheduler's with
/// the `x-sweep-key` the `sweep_key` variable holds.
async fn sweep_outboxes(request: &Request, request_id: &str) -> Result<Response, Problem> {
    kit::spin::authorize_sweep(request.headers()).await?;
    let mut summaries = serde_json::Map::new();
    for context in EVENT_CONTEXTS {
        // The tables must exist before the sweep reads them.
        drop(outbox_store(context, request_id).await?);
        let summary: DispatchSummary = sweep(context)
            .await
            .map_err(store_failure(context, request_id))?;
        summaries.insert((*context).to_owned(), json!(summary));
    }
    Ok(json(
        StatusCode::OK,
        &json!({ "contexts": summaries }),
        request_id,
    ))
}
