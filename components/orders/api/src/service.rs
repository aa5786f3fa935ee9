//! The Spin handler: authentication, bodies, the settings, the catalog call and the
//! store around each domain call.

use crate::routes::{Endpoint, REVIEWERS, ROUTES, order_list_query, viewer};
use http::{HeaderValue, StatusCode, header};
use kit::auth::Caller;
use kit::edge::Edge;
use kit::events::dispatch_after_commit;
use kit::http::Request;
use kit::http::{Response, json, respond};
use kit::json::{Validate, parse_valid, read_body, read_json, require_json_content_type};
use kit::spin::{SpinDb, authenticate, open_store};
use kit::{Problem, request_id, route};
use orders_domain::{
    ApproveRequest, CONTEXT, CancelRequest, CatalogProduct, MIGRATIONS, NewOrder, OrderError,
    OrderSettings,
};
use serde::de::DeserializeOwned;

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
        Ok((endpoint, captures)) => (endpoint, captures.first().map(|id| (*id).to_owned())),
        Err(no_route) => {
            return no_route.to_response(request.method(), request.uri().path(), &request_id);
        }
    };
    let id = id.unwrap_or_default();
    let outcome = match authenticate(request.headers()).await {
        Ok(caller) => match endpoint {
            Endpoint::ListOrders => list_orders(&request, &caller, &request_id).await,
            Endpoint::CreateOrder => create_order(request, &caller, &request_id).await,
            Endpoint::GetOrder => get_order(&caller, &id, &request_id).await,
            Endpoint::CancelOrder => cancel_order(request, &caller, &id, &request_id).await,
            Endpoint::ApproveOrder => approve_order(request, &caller, &id, &request_id).await,
            Endpoint::RejectOrder => reject_order(request, &caller, &id, &request_id).await,
        },
        Err(problem) => Err(problem),
    };
    respond(outcome, &request_id)
}

/// The context's store for this request (503 when it cannot be opened or migrated).
async fn store(request_id: &str) -> Result<SpinDb, Problem> {
    open_store(CONTEXT, MIGRATIONS, request_id).await
}

/// The domain's answer as a problem; a database failure is logged, then a bare 500.
fn domain_problem(request_id: &str) -> impl Fn(OrderError) -> Problem + '_ {
    move |error| {
        if let OrderError::Db(cause) = &error {
            eprintln!("[{request_id}] orders: {cause}");
        }
        error.into()
    }
}

/// Tax, shipping and the fraud thresholds from the component's variables; a bad value
/// is a deployment error: logged, then a bare 500.
async fn settings(request_id: &str) -> Result<OrderSettings, Problem> {
    orders_domain::spin::order_settings()
        .await
        .map_err(|error| {
            eprintln!("[{request_id}] orders configuration: {error}");
            Problem::internal()
        })
}

/// The catalog's active products among `skus`. Any failure is 503: the order cannot be
/// priced now, and the client may retry.
async fn catalog_products(
    tenant: &str,
    skus: impl IntoIterator<Item = &str>,
    request_id: &str,
) -> Result<Vec<CatalogProduct>, Problem> {
    orders_domain::spin::catalog_products(tenant, skus, request_id)
        .await
        .map_err(|cause| {
            eprintln!("[{request_id}] catalog: {cause}");
            Problem::unavailable("the catalog is unavailable, so the order cannot be priced")
        })
}

async fn create_order(
    request: Request,
    caller: &Caller,
    request_id: &str,
) -> Result<Response, Problem> {
    let new: NewOrder = read_json(request).await?;
    new.validate().map_err(Problem::validation)?;
    let settings = settings(request_id).await?;
    let skus = new.items.iter().map(|item| item.sku.as_str());
    let products = catalog_products(&caller.tenant, skus, request_id).await?;
    let priced =
        orders_domain::price(&new.items, &products, settings.rates).map_err(Problem::validation)?;
    let db = store(request_id).await?;
    let order = orders_domain::create_order(
        &db,
        &caller.tenant,
        &caller.user_id,
        request_id,
        &new,
        priced,
        &settings.fraud,
    )
    .await
    .map_err(domain_problem(request_id))?;
    let mut response = json(StatusCode::CREATED, &order, request_id);
    if let Ok(location) = HeaderValue::from_str(&format!("/api/v1/orders/{}", order.id)) {
        response.headers_mut().insert(header::LOCATION, location);
    }
    dispatch_after_commit(CONTEXT, db).await;
    Ok(response)
}

async fn list_orders(
    request: &Request,
    caller: &Caller,
    request_id: &str,
) -> Result<Response, Problem> {
    let (status, page) = order_list_query(request.uri().query().unwrap_or_default())?;
    let db = store(request_id).await?;
    let orders = orders_domain::list_orders(&db, viewer(caller), status, &page)
        .await
        .map_err(domain_problem(request_id))?;
    Ok(json(StatusCode::OK, &orders, request_id))
}

async fn get_order(caller: &Caller, id: &str, request_id: &str) -> Result<Response, Problem> {
    let db = store(request_id).await?;
    let order = orders_domain::get_order(&db, viewer(caller), id)
        .await
        .map_err(domain_problem(request_id))?;
    Ok(json(StatusCode::OK, &order, request_id))
}

/// An optional JSON body: none (or only whitespace) is `T::default()`.
async fn optional_body<T: DeserializeOwned + Validate + Default>(
    request: Request,
) -> Result<T, Problem> {
    let (parts, body) = request.into_parts();
    let body = read_body(body).await?;
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(T::default());
    }
    require_json_content_type(&parts.headers)?;
    parse_valid::<T>(body)
}

/// The body is optional: none cancels without a reason.
async fn cancel_order(
    request: Request,
    caller: &Caller,
    id: &str,
    request_id: &str,
) -> Result<Response, Problem> {
    let cancel: CancelRequest = optional_body(request).await?;
    let db = store(request_id).await?;
    let order = orders_domain::cancel_order(&db, viewer(caller), request_id, id, &cancel)
        .await
        .map_err(domain_problem(request_id))?;
    let response = json(StatusCode::OK, &order, request_id);
    dispatch_after_commit(CONTEXT, db).await;
    Ok(response)
}

/// Releases an order held in fraud review: its `order.created` goes out now.
async fn approve_order(
    request: Request,
    caller: &Caller,
    id: &str,
    request_id: &str,
) -> Result<Response, Problem> {
    caller.require_role(REVIEWERS)?;
    let _: ApproveRequest = optional_body(request).await?;
    let db = store(request_id).await?;
    let order = orders_domain::approve_order(&db, viewer(caller), request_id, id)
        .await
        .map_err(domain_problem(request_id))?;
    let response = json(StatusCode::OK, &order, request_id);
    dispatch_after_commit(CONTEXT, db).await;
    Ok(response)
}

/// Cancels an order held in fraud review; the body (`{reason?}`) is optional.
async fn reject_order(
    request: Request,
    caller: &Caller,
    id: &str,
    request_id: &str,
) -> Result<Response, Problem> {
    caller.require_role(REVIEWERS)?;
    let reject: CancelRequest = optional_body(request).await?;
    let db = store(request_id).await?;
    let order = orders_domain::reject_order(&db, viewer(caller), request_id, id, &reject)
        .await
        .map_err(domain_problem(request_id))?;
    let response = json(StatusCode::OK, &order, request_id);
    dispatch_after_commit(CONTEXT, db).await;
    Ok(response)
}
