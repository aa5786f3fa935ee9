//! The Spin handler: authentication, bodies and the store around each domain call.

use crate::routes::{CREATORS, Endpoint, ROUTES, campaign_list_query};
use campaigns_domain::{CONTEXT, CampaignError, JoinRequest, MIGRATIONS, NewCampaign};
use contracts::now_rfc3339;
use http::StatusCode;
use kit::Problem;
use kit::edge::Edge;
use kit::events::dispatch_after_commit;
use kit::http::{Request, Response, json, respond};
use kit::json::{Validate, read_json};
use kit::spin::{SpinDb, authenticate, open_store, reader_tenant};
use kit::{request_id, route};

kit::api_component!(
    Edge {
        context: Some(CONTEXT),
        migrations: MIGRATIONS,
    },
    handle_request
);

/// The routes, behind the edge (CORS, rate limit, idempotency, security headers).
async fn handle_request(request: Request) -> Response {
    let request_id = request_id::from_headers(request.headers());
    let (endpoint, id) = match route::find(ROUTES, request.method(), request.uri().path()) {
        Ok((endpoint, captures)) => (endpoint, captures.first().map(|c| (*c).to_owned())),
        Err(no_route) => {
            return no_route.to_response(request.method(), request.uri().path(), &request_id);
        }
    };
    let id = id.unwrap_or_default();
    let outcome = match endpoint {
        Endpoint::ListCampaigns => list_campaigns(&request, &request_id).await,
        Endpoint::CreateCampaign => create_campaign(request, &request_id).await,
        Endpoint::Sweep => sweep(&request, &request_id).await,
        Endpoint::GetCampaign => get_campaign(&request, &id, &request_id).await,
        Endpoint::Join => join_campaign(request, &id, &request_id).await,
    };
    respond(outcome, &request_id)
}

/// The context's store for this request (503 when it cannot be opened or migrated).
async fn store(request_id: &str) -> Result<SpinDb, Problem> {
    open_store(CONTEXT, MIGRATIONS, request_id).await
}

/// The domain's answer as a problem; a database failure is logged first.
fn domain_problem(request_id: &str) -> impl Fn(CampaignError) -> Problem + '_ {
    move |error| {
        if let CampaignError::Db(cause) = &error {
            eprintln!("[{request_id}] campaigns: {cause}");
        }
        error.into()
    }
}

async fn list_campaigns(request: &Request, request_id: &str) -> Result<Response, Problem> {
    let tenant = reader_tenant(request.headers()).await?;
    let (status, page) = campaign_list_query(request.uri().query().unwrap_or_default())?;
    let db = store(request_id).await?;
    let campaigns = campaigns_domain::list_campaigns(&db, &tenant, status, &page)
        .await
        .map_err(domain_problem(request_id))?;
    Ok(json(StatusCode::OK, &campaigns, request_id))
}

async fn get_campaign(request: &Request, id: &str, request_id: &str) -> Result<Response, Problem> {
    let tenant = reader_tenant(request.headers()).await?;
    let db = store(request_id).await?;
    let campaign = campaigns_domain::get_campaign(&db, &tenant, id)
        .await
        .map_err(domain_problem(request_id))?;
    Ok(json(StatusCode::OK, &campaign, request_id))
}

/// The campaign and `campaign.created` commit together; the event is dispatched after
/// the response is built.
async fn create_campaign(request: Request, request_id: &str) -> Result<Response, Problem> {
    let caller = authenticate(request.headers()).await?;
    caller.require_role(CREATORS)?;
    let new: NewCampaign = read_json(request).await?;
    let db = store(request_id).await?;
    let campaign = campaigns_domain::create_campaign(
        &db,
        &caller.tenant,
        &caller.user_id,
        request_id,
        &new,
        &now_rfc3339(),
    )
    .await
    .map_err(domain_problem(request_id))?;
    let response = json(StatusCode::CREATED, &campaign, request_id);
    dispatch_after_commit(CONTEXT, db).await;
    Ok(response)
}

/// Any signed-in user joins for themself.
async fn join_campaign(request: Request, id: &str, request_id: &str) -> Result<Response, Problem> {
    let caller = authenticate(request.headers()).await?;
    let join: JoinRequest = read_json(request).await?;
    join.validate().map_err(Problem::validation)?;
    let db = store(request_id).await?;
    let joined = campaigns_domain::join_campaign(
        &db,
        &caller.tenant,
        id,
        &caller.user_id,
        request_id,
        &join,
        &now_rfc3339(),
    )
    .await
    .map_err(domain_problem(request_id))?;
    let response = json(StatusCode::CREATED, &joined, request_id);
    dispatch_after_commit(CONTEXT, db).await;
    Ok(response)
}

/// Fails every ended campaign below its minimum, in every tenant: an admin's call, or a
/// scheduler's with the `x-sweep-key` the `sweep_key` variable holds.
async fn sweep(request: &Request, request_id: &str) -> Result<Response, Problem> {
    kit::spin::authorize_sweep(request.headers()).await?;
    let db = store(request_id).await?;
    let failed = campaigns_domain::fail_ended_campaigns(&db, request_id, &now_rfc3339())
        .await
        .map_err(domain_problem(request_id))?;
    let response = json(
        StatusCode::OK,
        &serde_json::json!({ "failed": failed }),
        request_id,
    );
    dispatch_after_commit(CONTEXT, db).await;
    Ok(response)
}
