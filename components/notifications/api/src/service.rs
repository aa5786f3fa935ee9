//! The Spin handler: the caller's own messages.

use crate::routes::{Endpoint, ROUTES, list_query};
use http::StatusCode;
use kit::Problem;
use kit::http::{Response, json};
use kit::service::Call;

kit::api_component!(notifications_domain, ROUTES, serve);

/// The caller's own messages, newest first: 401 without a valid token.
async fn serve(Endpoint::ListOwn: Endpoint, call: &Call) -> Result<Response, Problem> {
    let caller = call.caller().await?;
    let page = list_query(call.query())?;
    let notifications = notifications_domain::list_notifications(
        call.db().await?,
        &caller.tenant,
        &caller.user_id,
        &page,
    )
    .await
    .map_err(|error| call.domain(error))?;
    Ok(json(StatusCode::OK, &notifications, call.request_id()))
}
