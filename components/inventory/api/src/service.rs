//! The Spin handler: authentication, bodies and the store around each domain call.

use crate::routes::{Endpoint, ROUTES, STOCK_KEEPERS};
use http::{HeaderMap, HeaderValue, StatusCode, header};
use inventory_domain::{
    Adjustment, AvailabilityQuery, CONTEXT, InventoryError, MIGRATIONS, SetOnHand,
};
use kit::Problem;
use kit::auth::tenant_from_headers;
use kit::edge::Edge;
use kit::http::Request;
use kit::http::{Response, json, respond};
use kit::json::read_json;
use kit::pagination::PageParams;
use kit::spin::{SpinDb, authenticate, open_store};
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
    let (endpoint, sku) = match route::find(ROUTES, request.method(), request.uri().path()) {
        Ok((endpoint, captures)) => (
            endpoint,
            captures
                .first()
                .map(|sku| (*sku).to_owned())
                .unwrap_or_default(),
        ),
        Err(no_route) => {
            return no_route.to_response(request.method(), request.uri().path(), &request_id);
        }
    };
    let outcome = serve(endpoint, request, &sku, &request_id).await;
    respond(outcome, &request_id)
}

async fn serve(
    endpoint: Endpoint,
    request: Request,
    sku: &str,
    request_id: &str,
) -> Result<Response, Problem> {
    let tenant = tenant(endpoint, request.headers()).await?;
    match endpoint {
        Endpoint::CheckAvailability => {
            let query: AvailabilityQuery = read_json(request).await?;
            let db = store(request_id).await?;
            let availability = inventory_domain::check_availability(&db, &tenant, &query)
                .await
                .map_err(domain_problem(request_id))?;
            Ok(json(StatusCode::OK, &availability, request_id))
        }
        Endpoint::SetOnHand => {
            let body: SetOnHand = read_json(request).await?;
            let db = store(request_id).await?;
            let written = inventory_domain::set_on_hand(&db, &tenant, sku, &body)
                .await
                .map_err(domain_problem(request_id))?;
            if !written.created {
                return Ok(json(StatusCode::OK, &written.stock, request_id));
            }
            let mut response = json(StatusCode::CREATED, &written.stock, request_id);
            if let Ok(location) = HeaderValue::from_str(&format!("/api/v1/inventory/{sku}")) {
                response.headers_mut().insert(header::LOCATION, location);
            }
            Ok(response)
        }
        Endpoint::GetStock => {
            let db = store(request_id).await?;
            let stock = inventory_domain::get_stock(&db, &tenant, sku)
                .await
                .map_err(domain_problem(request_id))?;
            Ok(json(StatusCode::OK, &stock, request_id))
        }
        Endpoint::AdjustStock => {
            let adjustment: Adjustment = read_json(request).await?;
            let db = store(request_id).await?;
            let stock = inventory_domain::adjust_stock(&db, &tenant, sku, &adjustment)
                .await
                .map_err(domain_problem(request_id))?;
            Ok(json(StatusCode::OK, &stock, request_id))
        }
        Endpoint::ListMovements => {
            let page = PageParams::from_query(request.uri().query().unwrap_or_default())?;
            let db = store(request_id).await?;
            let movements = inventory_domain::list_movements(&db, &tenant, sku, &page)
                .await
                .map_err(domain_problem(request_id))?;
            Ok(json(StatusCode::OK, &movements, request_id))
        }
    }
}

/// The tenant a request acts for. Stock keepers' endpoints need a valid token of an
/// admin (401, 403). The public availability check takes the token's tenant when a
/// token is sent (a bad one is still 401), else the `x-tenant-id` header's.
async fn tenant(endpoint: Endpoint, headers: &HeaderMap) -> Result<String, Problem> {
    if !endpoint.needs_stock_keeper() && !headers.contains_key(header::AUTHORIZATION) {
        return tenant_from_headers(headers);
    }
    let caller = authenticate(headers).await?;
    if endpoint.needs_stock_keeper() {
        caller.require_role(STOCK_KEEPERS)?;
    }
    Ok(caller.tenant)
}

/// The context's store for this request (503 when it cannot be opened or migrated).
async fn store(request_id: &str) -> Result<SpinDb, Problem> {
    open_store(CONTEXT, MIGRATIONS, request_id).await
}

/// The domain's answer as a problem; a database failure is logged, then a bare 500.
fn domain_problem(request_id: &str) -> impl Fn(InventoryError) -> Problem + '_ {
    move |error| {
        if let InventoryError::Db(cause) = &error {
            eprintln!("[{request_id}] inventory: {cause}");
        }
        error.into()
    }
}
