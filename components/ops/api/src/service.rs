//! The Spin handler: health, and every context's outbox (wasm only: it calls Spin's
//! interfaces). The dead-letter replay and the sweep dispatch the contexts they touch.

use crate::routes::{
    ContextDeadLetter, EVENT_CONTEXTS, Endpoint, MAX_RELAY_CLAIM, ROUTES, RelayClaim, RelayClaimed,
    RelayDeadLetter, RelayDeadLettered, RelaySettle, STORE_CONTEXTS, relay_context,
};
use http::StatusCode;
use kit::Problem;
use kit::auth::{Caller, Role};
use kit::db::Migration;
use kit::events::{DispatchSummary, check_signature, dispatch_after_commit, sweep};
use kit::http::{Response, health, json};
use kit::outbox::{self, Replay, Retention, now_ms};
use kit::pagination::{Page, PageParams};
use kit::service::Call;
use kit::spin::key_value::Store;
use kit::spin::{SpinDb, open_store};
use serde_json::json;

/// The outbox tables, which ops may be first to touch in a context that has not served
/// a request yet.
const OUTBOX_MIGRATIONS: &[Migration] = &[
    outbox::MIGRATION,
    outbox::DELIVERIES_MIGRATION,
    outbox::COUNTERS_MIGRATION,
];
/// The tables the retention pass trims: every context's idempotency records, and the
/// outbox of those with events.
const IDEMPOTENCY_MIGRATIONS: &[Migration] = &[kit::edge::IDEMPOTENCY_MIGRATION];
const RETAINED_MIGRATIONS: &[Migration] = &[
    outbox::MIGRATION,
    outbox::DELIVERIES_MIGRATION,
    outbox::COUNTERS_MIGRATION,
    kit::edge::IDEMPOTENCY_MIGRATION,
];

// Ops keeps no store of its own: it reads and dispatches every other context's outbox.
kit::api_component!(stateless "ops", ROUTES, serve);

async fn serve(endpoint: Endpoint, call: &Call) -> Result<Response, Problem> {
    let request_id = call.request_id();
    match endpoint {
        Endpoint::Health => Ok(health_checks(request_id).await),
        Endpoint::Metrics => outbox_metrics(call).await,
        Endpoint::ListDeadLetters => list_dead_letters(call).await,
        Endpoint::ReplayDeadLetter => replay_dead_letter(call).await,
        Endpoint::Sweep => sweep_outboxes(call).await,
        Endpoint::RelayClaim => relay_claim(call).await,
        Endpoint::RelaySettle => relay_settle(call).await,
        Endpoint::RelayDeadLetter => relay_dead_letter(call).await,
    }
}

async fn health_checks(request_id: &str) -> Response {
    let mut checks = Vec::with_capacity(STORE_CONTEXTS.len() + 2);
    for &context in STORE_CONTEXTS {
        checks.push((context, database_answers(context).await));
    }
    checks.push(("key_value", key_value_answers().await));
    checks.push(("payment_provider", payment_provider_set().await));
    health(&checks, request_id)
}

/// Whether `payment_provider` is set: until it is, orders are refused (503).
async fn payment_provider_set() -> bool {
    match kit::spin::variable("payment_provider").await {
        Ok(Some(provider)) if !provider.trim().is_empty() => true,
        Ok(_) => {
            eprintln!("health: payment_provider is not set: no order is taken until it is");
            false
        }
        Err(error) => {
            eprintln!("health: payment_provider: {error}");
            false
        }
    }
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

/// Every context's outbox as Prometheus gauges and counters: for the host's admin
/// listener (a chained call), a scraper with the metrics key, or an admin.
async fn outbox_metrics(call: &Call) -> Result<Response, Problem> {
    let request_id = call.request_id();
    kit::spin::authorize_metrics(call.headers()).await?;
    let now = now_ms();
    let mut gauges = Vec::with_capacity(EVENT_CONTEXTS.len());
    for context in EVENT_CONTEXTS {
        let db = outbox_store(context, request_id).await?;
        let found = outbox::gauges(&db)
            .await
            .map_err(store_failure(context, request_id))?;
        gauges.push((*context, found));
    }
    Ok(kit::http::with_body(
        StatusCode::OK,
        crate::routes::PROMETHEUS_TEXT,
        crate::routes::prometheus_text(&gauges, now),
        request_id,
    ))
}

async fn admin(call: &Call) -> Result<Caller, Problem> {
    let caller = call.caller().await?;
    caller.require_role(&[Role::Admin])?;
    Ok(caller)
}

async fn outbox_store(context: &str, request_id: &str) -> Result<SpinDb, Problem> {
    open_store(context, OUTBOX_MIGRATIONS, request_id).await
}

/// Logs a store's failure; a busy or unreachable store is 503 (retry), the rest 500.
fn store_failure(context: &str, request_id: &str) -> impl Fn(kit::db::DbError) -> Problem {
    move |error| {
        eprintln!("[{request_id}] {context} outbox: {error}");
        error.into()
    }
}

/// The caller's tenant's dead letters of every context, in id (= time) order.
async fn list_dead_letters(call: &Call) -> Result<Response, Problem> {
    let request_id = call.request_id();
    let caller = admin(call).await?;
    let page = PageParams::<String>::from_query(call.query())?;
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
async fn replay_dead_letter(call: &Call) -> Result<Response, Problem> {
    let (id, request_id) = (call.capture(), call.request_id());
    let caller = admin(call).await?;
    let retention = retention(request_id).await?;
    for context in EVENT_CONTEXTS {
        let db = outbox_store(context, request_id).await?;
        let replayed = outbox::replay(&db, &caller.tenant, id, now_ms(), &retention)
            .await
            .map_err(store_failure(context, request_id))?;
        match replayed {
            Replay::Replayed => {
                let dispatched = dispatch_after_commit(context, db).await;
                return Ok(json(
                    StatusCode::OK,
                    &json!({ "id": id, "context": context, "dispatch": dispatched }),
                    request_id,
                ));
            }
            Replay::TooOld => {
                return Err(Problem::conflict(format!(
                    "dead letter {id} is older than the replay window (retention_applied_days \
                     less a day): its subscriber may no longer know whether it applied the \
                     event, so a replay could apply it twice"
                )));
            }
            Replay::NoSuchDeadLetter => {}
        }
    }
    Err(Problem::not_found(format!("no dead letter {id}")))
}

/// Dispatches everything due in every context: an admin's call, or a scheduler's with
/// the `x-sweep-key` the `sweep_key` variable holds.
async fn sweep_outboxes(call: &Call) -> Result<Response, Problem> {
    let request_id = call.request_id();
    kit::spin::authorize_sweep(call.headers()).await?;
    let mut summaries = serde_json::Map::new();
    for context in EVENT_CONTEXTS {
        // The tables must exist before the sweep reads them.
        drop(outbox_store(context, request_id).await?);
        let summary: DispatchSummary = sweep(context)
            .await
            .map_err(store_failure(context, request_id))?;
        summaries.insert((*context).to_owned(), json!(summary));
    }
    let retained = retain_everywhere(request_id).await?;
    Ok(json(
        StatusCode::OK,
        &json!({ "contexts": summaries, "retention": retained }),
        request_id,
    ))
}

/// The bridge claims a context's due events for the bus (signed like a delivery).
async fn relay_claim(call: &Call) -> Result<Response, Problem> {
    let request_id = call.request_id();
    check_signature(call.headers(), call.body()).await?;
    let claim: RelayClaim = kit::json::parse(call.body().clone())?;
    let context = relay_context(&claim.context).map_err(Problem::unprocessable)?;
    if !(1..=MAX_RELAY_CLAIM).contains(&claim.limit) {
        return Err(Problem::unprocessable(format!(
            "limit must be 1 to {MAX_RELAY_CLAIM}"
        )));
    }
    let db = outbox_store(context, request_id).await?;
    let deliveries = outbox::claim_for_bus(&db, now_ms(), claim.limit)
        .await
        .map_err(store_failure(context, request_id))?;
    Ok(json(
        StatusCode::OK,
        &RelayClaimed { deliveries },
        request_id,
    ))
}

/// The bridge says which claimed events the bus took and which it could not: the first
/// are done, the others retry with backoff (dead letters after the last try).
async fn relay_settle(call: &Call) -> Result<Response, Problem> {
    let request_id = call.request_id();
    check_signature(call.headers(), call.body()).await?;
    let settle: RelaySettle = kit::json::parse(call.body().clone())?;
    let context = relay_context(&settle.context).map_err(Problem::unprocessable)?;
    let db = outbox_store(context, request_id).await?;
    let failure = store_failure(context, request_id);
    let now = now_ms();
    let published: Vec<&outbox::Delivery> = settle.published.iter().collect();
    let lost = outbox::record_delivered(&db, &published, now)
        .await
        .map_err(&failure)?;
    let mut summary = DispatchSummary {
        delivered: u64::try_from(published.len() - lost.len()).unwrap_or(0),
        ..DispatchSummary::default()
    };
    for failed in &settle.failed {
        let after =
            outbox::record_failure(&db, &failed.delivery, &failed.error, failed.permanent, now)
                .await
                .map_err(&failure)?;
        match after {
            outbox::AfterFailure::RetryAt(_) => summary.retrying += 1,
            outbox::AfterFailure::Dead => summary.dead += 1,
            outbox::AfterFailure::ClaimLost => {}
        }
    }
    Ok(json(
        StatusCode::OK,
        &json!({ "settled": summary, "claims_lost": lost.len() }),
        request_id,
    ))
}

/// The bridge reports a handler that gave up on an event from the bus: a dead letter of
/// the handler's context, listed and replayed like the others.
async fn relay_dead_letter(call: &Call) -> Result<Response, Problem> {
    let request_id = call.request_id();
    check_signature(call.headers(), call.body()).await?;
    let report: RelayDeadLetter = kit::json::parse(call.body().clone())?;
    let payload = report.event.to_string();
    let (context, event) = report.check(&payload).map_err(Problem::unprocessable)?;
    let db = outbox_store(context, request_id).await?;
    let recorded = outbox::record_bus_dead_letter(
        &db,
        &event,
        &report.handler,
        &report.error,
        report.attempts,
        now_ms(),
    )
    .await
    .map_err(store_failure(context, request_id))?;
    Ok(json(
        StatusCode::OK,
        &RelayDeadLettered { context, recorded },
        request_id,
    ))
}

/// The retention periods from the variables; a bad value is a deployment error (500).
async fn retention(request_id: &str) -> Result<Retention, Problem> {
    let delivered = kit::spin::variable("retention_delivered_days").await;
    let applied = kit::spin::variable("retention_applied_days").await;
    let (Ok(delivered), Ok(applied)) = (delivered, applied) else {
        eprintln!("[{request_id}] the retention variables cannot be read");
        return Err(Problem::internal());
    };
    Retention::from_days(delivered.as_deref(), applied.as_deref()).map_err(|error| {
        eprintln!("[{request_id}] {error}");
        Problem::internal()
    })
}

/// Trims every store of what it no longer needs (see [`Retention`] and
/// `kit::edge::expire`), so its tables stay bounded; what went, per context.
async fn retain_everywhere(request_id: &str) -> Result<serde_json::Value, Problem> {
    let retention = retention(request_id).await?;
    let now = now_ms();
    let mut removed = serde_json::Map::new();
    for &context in STORE_CONTEXTS {
        let has_events = EVENT_CONTEXTS.contains(&context);
        let migrations = if has_events {
            RETAINED_MIGRATIONS
        } else {
            IDEMPOTENCY_MIGRATIONS
        };
        let db = open_store(context, migrations, request_id).await?;
        let failure = store_failure(context, request_id);
        let keys = kit::edge::expire(&db, now).await.map_err(&failure)?;
        let outbox = if has_events {
            Some(
                outbox::retain(&db, now, &retention)
                    .await
                    .map_err(&failure)?,
            )
        } else {
            None
        };
        removed.insert(
            (*context).to_owned(),
            json!({ "idempotency_keys": keys, "outbox": outbox }),
        );
    }
    Ok(serde_json::Value::Object(removed))
}
