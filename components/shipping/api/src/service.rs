//! The Spin handler: authentication, bodies and the store around each domain call.

use crate::routes::{Endpoint, MANAGERS, ROUTES, shipment_list_query};
use http::{HeaderMap, StatusCode};
use kit::Problem;
use kit::auth::Caller;
use kit::edge::Edge;
use kit::events::dispatch_after_commit;
use kit::http::Request;
use kit::http::{Response, json, respond, with_body};
use kit::json::{Validate, read_json};
use kit::spin::{SpinDb, authenticate, open_store, reader_tenant};
use kit::{request_id, route};
use shipping_domain::{CONTEXT, MIGRATIONS, ShippingError, StatusChange};

const PLAIN_TEXT: &str = "text/plain; charset=utf-8";

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
    let (endpoint, capture) = match route::find(ROUTES, request.method(), request.uri().path()) {
        Ok((endpoint, captures)) => (endpoint, captures.first().map(|c| (*c).to_owned())),
        Err(no_route) => {
            return no_route.to_response(request.method(), request.uri().path(), &request_id);
        }
    };
    let capture = capture.unwrap_or_default();
    let outcome = match endpoint {
        Endpoint::ListShipments => list_shipments(&request, &request_id).await,
        Endpoint::GetShipment => get_shipment(&request, &capture, &request_id).await,
        Endpoint::GetLabel => get_label(&request, &capture, &request_id).await,
        Endpoint::UpdateStatus => update_status(request, &capture, &request_id).await,
        Endpoint::Track => track(&request, &capture, &request_id).await,
    };
    respond(outcome, &request_id)
}

/// The caller of a shipment route: 401 without a valid token, 403 unless admin.
async fn manager(headers: &HeaderMap) -> Result<Caller, Problem> {
    let caller = authenticate(headers).await?;
    caller.require_role(MANAGERS)?;
    Ok(caller)
}

/// The context's store for this request (503 when it cannot be opened or migrated).
async fn store(request_id: &str) -> Result<SpinDb, Problem> {
    open_store(CONTEXT, MIGRATIONS, request_id).await
}

/// The domain's answer as a problem; a database failure is logged, then a bare 500.
fn domain_problem(request_id: &str) -> impl Fn(ShippingError) -> Problem + '_ {
    move |error| {
        if let ShippingError::Db(cause) = &error {
            eprintln!("[{request_id}] shipping: {cause}");
        }
        error.into()
    }
}

async fn list_shipments(request: &Request, request_id: &str) -> Result<Response, Problem> {
    let caller = manager(request.headers()).await?;
    let (order_id, page) = shipment_list_query(request.uri().query().unwrap_or_default())?;
    let db = store(request_id).await?;
    let shipments =
        shipping_domain::list_shipments(&db, &caller.tenant, order_id.as_deref(), &page)
            .await
            .map_err(domain_problem(request_id))?;
    Ok(json(StatusCode::OK, &shipments, request_id))
}

async fn get_shipment(request: &Request, id: &str, request_id: &str) -> Result<Response, Problem> {
    let caller = manager(request.headers()).await?;
    let db = store(request_id).await?;
    let shipment = shipping_domain::get_shipment(&db, &caller.tenant, id)
        .await
        .map_err(domain_problem(request_id))?;
    Ok(json(StatusCode::OK, &shipment, request_id))
}

async fn get_label(request: &Request, id: &str, request_id: &str) -> Result<Response, Problem> {
    let caller = manager(request.headers()).await?;
    let db = store(request_id).await?;
    let shipment = shipping_domain::get_shipment(&db, &caller.tenant, id)
        .await
        .map_err(domain_problem(request_id))?;
    let label = shipping_domain::label_text(&shipment);
    Ok(with_body(StatusCode::OK, PLAIN_TEXT, label, request_id))
}

/// The change and its log entry and event commit together; the event is dispatched
/// after the response is built.
async fn update_status(request: Request, id: &str, request_id: &str) -> Result<Response, Problem> {
    let caller = manager(request.headers()).await?;
    let change: StatusChange = read_json(request).await?;
    change.validate().map_err(Problem::validation)?;
    let db = store(request_id).await?;
    let shipment = shipping_domain::update_status(&db, &caller.tenant, id, &change)
        .await
        .map_err(domain_problem(request_id))?;
    let response = json(StatusCode::OK, &shipment, request_id);
    dispatch_after_commit(CONTEXT, db).await;
    Ok(response)
}

async fn track(
    request: &Request,
    tracking_number: &str,
    request_id: &str,
) -> Result<Response, Problem> {
    let tenant = reader_tenant(request.headers()).await?;
    let db = store(request_id).await?;
    let tracking = shipping_domain::track(&db, &tenant, tracking_number)
        .await
        .map_err(domain_problem(request_id))?;
    Ok(json(StatusCode::OK, &tracking, request_id))
}
