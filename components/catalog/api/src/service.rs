//! The Spin handler: each endpoint's caller, body and domain call.

use crate::routes::{
    Endpoint, PUBLIC_READ_CACHE_CONTROL, PUBLIC_READ_VARY, ROUTES, SearchQuery, WRITERS, is_read,
    product_list_query, sees_inactive,
};
use catalog_domain::{CatalogError, NewCategory, NewProduct, ProductPatch};
use http::{HeaderValue, StatusCode, header};
use kit::Problem;
use kit::auth::{Caller, tenant_from_headers};
use kit::http::{Response, created, empty, json};
use kit::pagination::{Page, PageParams};
use kit::service::Call;

kit::api_component!(catalog_domain, ROUTES, serve_cacheable);

/// Marks an anonymous read cacheable (see [`PUBLIC_READ_CACHE_CONTROL`]); a reader with a
/// token keeps the edge's `no-store`.
async fn serve_cacheable(endpoint: Endpoint, call: &Call) -> Result<Response, Problem> {
    let mut response = serve(endpoint, call).await?;
    if is_read(endpoint)
        && response.status() == StatusCode::OK
        && !call.headers().contains_key(header::AUTHORIZATION)
    {
        let headers = response.headers_mut();
        headers.insert(
            header::CACHE_CONTROL,
            HeaderValue::from_static(PUBLIC_READ_CACHE_CONTROL),
        );
        headers.insert(header::VARY, HeaderValue::from_static(PUBLIC_READ_VARY));
    }
    Ok(response)
}

async fn serve(endpoint: Endpoint, call: &Call) -> Result<Response, Problem> {
    let request_id = call.request_id();
    match endpoint {
        Endpoint::ListProducts => {
            let reader = reader(call).await?;
            let (filter, page) = product_list_query(call.query(), reader.sees_inactive)?;
            let products =
                catalog_domain::list_products(call.db().await?, &reader.tenant, &filter, &page)
                    .await
                    .map_err(|error| call.domain(error))?;
            Ok(json(StatusCode::OK, &products, request_id))
        }
        Endpoint::CreateProduct => {
            let caller = writer(call).await?;
            let new: NewProduct = call.json()?;
            let product =
                catalog_domain::create_product(call.db().await?, &caller.tenant, request_id, &new)
                    .await
                    .map_err(|error| call.domain(error))?;
            let location = format!("/api/v1/products/{}", product.id);
            Ok(created(&product, &location, request_id))
        }
        // An inactive product is 404 to readers who may not see it, like an unknown id.
        Endpoint::GetProduct => {
            let reader = reader(call).await?;
            let product =
                catalog_domain::get_product(call.db().await?, &reader.tenant, call.capture())
                    .await
                    .and_then(|product| match product.active || reader.sees_inactive {
                        true => Ok(product),
                        false => Err(CatalogError::NotFound),
                    })
                    .map_err(|error| call.domain(error))?;
            Ok(json(StatusCode::OK, &product, request_id))
        }
        Endpoint::UpdateProduct => {
            let caller = writer(call).await?;
            let patch: ProductPatch = call.json()?;
            let product = catalog_domain::update_product(
                call.db().await?,
                &caller.tenant,
                request_id,
                call.capture(),
                &patch,
            )
            .await
            .map_err(|error| call.domain(error))?;
            Ok(json(StatusCode::OK, &product, request_id))
        }
        // DELETE is a soft delete (the product turns inactive), answered 204 also when
        // the product already was inactive.
        Endpoint::DeactivateProduct => {
            let caller = writer(call).await?;
            catalog_domain::deactivate_product(
                call.db().await?,
                &caller.tenant,
                request_id,
                call.capture(),
            )
            .await
            .map_err(|error| call.domain(error))?;
            Ok(empty(StatusCode::NO_CONTENT, request_id))
        }
        Endpoint::ListCategories => {
            let reader = reader(call).await?;
            let page = PageParams::from_query(call.query())?;
            let categories =
                catalog_domain::list_categories(call.db().await?, &reader.tenant, &page)
                    .await
                    .map_err(|error| call.domain(error))?;
            Ok(json(StatusCode::OK, &categories, request_id))
        }
        Endpoint::CreateCategory => {
            let caller = writer(call).await?;
            let new: NewCategory = call.json()?;
            let category = catalog_domain::create_category(call.db().await?, &caller.tenant, &new)
                .await
                .map_err(|error| call.domain(error))?;
            Ok(json(StatusCode::CREATED, &category, request_id))
        }
        // Ranked results as one page (`next_cursor` always null), the shape of every list.
        Endpoint::Search => {
            let reader = reader(call).await?;
            let search = SearchQuery::from_query(call.query())?;
            let items =
                catalog_domain::search(call.db().await?, &reader.tenant, &search.q, search.limit)
                    .await
                    .map_err(|error| call.domain(error))?;
            let page = Page {
                items,
                next_cursor: None,
            };
            Ok(json(StatusCode::OK, &page, request_id))
        }
    }
}

/// Who reads: the tenant to read from, and whether inactive products are visible.
struct Reader {
    tenant: String,
    sees_inactive: bool,
}

/// A read is public: with a bearer token the token decides (and a bad token is still
/// 401), without one the tenant is `x-tenant-id`.
async fn reader(call: &Call) -> Result<Reader, Problem> {
    if call.headers().contains_key(header::AUTHORIZATION) {
        let caller = call.caller().await?;
        Ok(Reader {
            sees_inactive: sees_inactive(Some(caller.role)),
            tenant: caller.tenant,
        })
    } else {
        Ok(Reader {
            tenant: tenant_from_headers(call.headers())?,
            sees_inactive: sees_inactive(None),
        })
    }
}

/// The caller of a write: 401 without a valid token, 403 unless admin or vendor.
async fn writer(call: &Call) -> Result<Caller, Problem> {
    let caller = call.caller().await?;
    caller.require_role(WRITERS)?;
    Ok(caller)
}
