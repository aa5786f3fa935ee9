//! The Spin handler: authentication and the store around the domain's inbox query.

use crate::routes::{Endpoint, ROUTES, list_query};
use http::StatusCode;
use kit::Problem;
use kit::edge::Edge;
use kit::http::{Request, Response, json, respond};
use kit::spin::{SpinDb, authenticate, open_store};
use kit::{request_id, route};
use notifications_domain::{CONTEXT, MIGRATIONS};

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
    let outcome = match route::find(ROUTES, request.method(), request.uri().path()) {
        Ok((Endpoint::ListOwn, _)) => list_own(&request, &request_id).await,
        Err(no_route) => {
            return no_route.to_response(request.method(), request.uri().path(), &request_id);
        }
    };
    respond(outcome, &request_id)
}

/// The context's store for this request (503 when it cannot be opened or migrated).
async fn store(request_id: &str) -> Result<SpinDb, Problem> {
    open_store(CONTEXT, MIGRATIONS, request_id).await
}

/// The caller's own messages, newest first: 401 without a valid token.
async fn list_own(request: &Request, request_id: &str) -> Result<Response, Problem> {
    let caller = authenticate(request.headers()).await?;
    let page = list_query(request.uri().query().unwrap_or_default())?;
    let db = store(request_id).await?;
    let notifications =
        notifications_domain::list_notifications(&db, &caller.tenant, &caller.user_id, &page)
            .await
            .map_err(|error| {
                eprintln!("[{request_id}] notifications: {error}");
                Problem::from(error)
            })?;
    Ok(json(StatusCode::OK, &notifications, request_id))
}
