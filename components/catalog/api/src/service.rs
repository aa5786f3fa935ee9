//! The Spin handler: authentication, bodies and the store around each domain call.

use crate::routes::{Endpoint, ROUTES, SearchQuery, WRITERS, product_list_query, sees_inactive};
use catalog_domain::{CONTEXT, CatalogError, MIGRATIONS, NewCategory, NewProduct, ProductPatch};
use http::{HeaderMap, HeaderValue, StatusCode, header};
use kit::Problem;
use kit::auth::{Caller, tenant_from_headers};
use kit::edge::Edge;
use kit::http::Request;
use kit::http::{Response, empty, json, respond};
use kit::json::read_json;
use kit::pagination::Page;
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
    let (endpoint, id) = match route::find(ROUTES, request.method(), request.uri().path()) {
        Ok((endpoint, captures)) => (endpoint, captures.first().map(|id| (*id).to_owned())),
        Err(no_route) => {
            return no_route.to_response(request.method(), request.uri().path(), &request_id);
        }
    };
    let id = id.unwrap_or_default();
    let outcome = match endpoint {
        Endpoint::ListProducts => list_products(&request, &request_id).await,
        Endpoint::CreateProduct => create_product(request, &request_id).await,
        Endpoint::GetProduct => get_product(&request, &id, &request_id).await,
        Endpoint::UpdateProduct => update_product(request, &id, &request_id).await,
        Endpoint::DeactivateProduct => deactivate_product(&request, &id, &request_id).await,
        Endpoint::ListCategories => list_categories(&request, &request_id).await,
        Endpoint::CreateCategory => create_category(request, &request_id).await,
        Endpoint::Search => search(&request, &request_id).await,
    };
    respond(outcome, &request_id)
}

/// Who reads: the tenant to read from, and whether inactive products are visible.
struct Reader {
    tenant: String,
    sees_inactive: bool,
}

/// A read is public: with a bearer token the token decides (and a bad token is still
/// 401), without one the tenant is `x-tenant-id`.
async fn reader(headers: &HeaderMap) -> Result<Reader, Problem> {
    if headers.contains_key(header::AUTHORIZATION) {
        let caller = authenticate(headers).await?;
        Ok(Reader {
            sees_inactive: sees_inactive(Some(caller.role)),
            tenant: caller.tenant,
        })
    } else {
        Ok(Reader {
            tenant: tenant_from_headers(headers)?,
            sees_inactive: sees_inactive(None),
        })
    }
}

/// The caller of a write: 401 without a valid token, 403 unless admin or vendor.
async fn writer(headers: &HeaderMap) -> Result<Caller, Problem> {
    let caller = authenticate(headers).await?;
    caller.require_role(WRITERS)?;
    Ok(caller)
}

/// The context's store for this request (503 when it cannot be opened or migrated).
async fn store(request_id: &str) -> Result<SpinDb, Problem> {
    open_store(CONTEXT, MIGRATIONS, request_id).await
}

/// The domain's answer as a problem; a database failure is logged, then a bare 500.
fn domain_problem(request_id: &str) -> impl Fn(CatalogError) -> Problem + '_ {
    move |error| {
        if let CatalogError::Db(cause) = &error {
            eprintln!("[{request_id}] catalog: {cause}");
        }
        error.into()
    }
}

fn query(request: &Request) -> &str {
    request.uri().query().unwrap_or_default()
}

async fn list_products(request: &Request, request_id: &str) -> Result<Response, Problem> {
    let reader = reader(request.headers()).await?;
    let (filter, page) = product_list_query(query(request), reader.sees_inactive)?;
    let db = store(request_id).await?;
    let products = catalog_domain::list_products(&db, &reader.tenant, &filter, &page)
        .await
        .map_err(domain_problem(request_id))?;
    Ok(json(StatusCode::OK, &products, request_id))
}

async fn create_product(request: Request, request_id: &str) -> Result<Response, Problem> {
    let caller = writer(request.headers()).await?;
    let new: NewProduct = read_json(request).await?;
    let db = store(request_id).await?;
    let product = catalog_domain::create_product(&db, &caller.tenant, request_id, &new)
        .await
        .map_err(domain_problem(request_id))?;
    let mut response = json(StatusCode::CREATED, &product, request_id);
    if let Ok(location) = HeaderValue::from_str(&format!("/api/v1/products/{}", product.id)) {
        response.headers_mut().insert(header::LOCATION, location);
    }
    Ok(response)
}

/// An inactive product is 404 to readers who may not see it, like an unknown id.
async fn get_product(request: &Request, id: &str, request_id: &str) -> Result<Response, Problem> {
    let reader = reader(request.headers()).await?;
    let db = store(request_id).await?;
    let product = catalog_domain::get_product(&db, &reader.tenant, id)
        .await
        .and_then(|product| match product.active || reader.sees_inactive {
            true => Ok(product),
            false => Err(CatalogError::NotFound),
        })
        .map_err(domain_problem(request_id))?;
    Ok(json(StatusCode::OK, &product, request_id))
}

async fn update_product(request: Request, id: &str, request_id: &str) -> Result<Response, Problem> {
    let caller = writer(request.headers()).await?;
    let patch: ProductPatch = read_json(request).await?;
    let db = store(request_id).await?;
    let product = catalog_domain::update_product(&db, &caller.tenant, request_id, id, &patch)
        .await
        .map_err(domain_problem(request_id))?;
    Ok(json(StatusCode::OK, &product, request_id))
}

/// DELETE is a soft delete (the product turns inactive), answered 204 also when the
/// product already was inactive.
async fn deactivate_product(
    request: &Request,
    id: &str,
    request_id: &str,
) -> Result<Response, Problem> {
    let caller = writer(request.headers()).await?;
    let db = store(request_id).await?;
    catalog_domain::deactivate_product(&db, &caller.tenant, request_id, id)
        .await
        .map_err(domain_problem(request_id))?;
    Ok(empty(StatusCode::NO_CONTENT, request_id))
}

async fn list_categories(request: &Request, request_id: &str) -> Result<Response, Problem> {
    let reader = reader(request.headers()).await?;
    let page = kit::pagination::PageParams::from_query(query(request))?;
    let db = store(request_id).await?;
    let categories = catalog_domain::list_categories(&db, &reader.tenant, &page)
        .await
        .map_err(domain_problem(request_id))?;
    Ok(json(StatusCode::OK, &categories, request_id))
}

async fn create_category(request: Request, request_id: &str) -> Result<Response, Problem> {
    let caller = writer(request.headers()).await?;
    let new: NewCategory = read_json(request).await?;
    let db = store(request_id).await?;
    let category = catalog_domain::create_category(&db, &caller.tenant, &new)
        .await
        .map_err(domain_problem(request_id))?;
    Ok(json(StatusCode::CREATED, &category, request_id))
}

/// Ranked results as one page (`next_cursor` always null), the shape of every list.
async fn search(request: &Request, request_id: &str) -> Result<Response, Problem> {
    let reader = reader(request.headers()).await?;
    let search = SearchQuery::from_query(query(request))?;
    let db = store(request_id).await?;
    let items = catalog_domain::search(&db, &reader.tenant, &search.q, search.limit)
        .await
        .map_err(domain_problem(request_id))?;
    let page = Page {
        items,
        next_cursor: None,
    };
    Ok(json(StatusCode::OK, &page, request_id))
}
