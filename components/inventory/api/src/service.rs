//! The Spin handler: each endpoint's tenant, body and domain call.

use crate::routes::{Endpoint, ROUTES, STOCK_KEEPERS};
use http::{StatusCode, header};
use inventory_domain::{Adjustment, AvailabilityQuery, SetOnHand};
use kit::Problem;
use kit::auth::tenant_from_headers;
use kit::http::{Response, created, json};
use kit::pagination::PageParams;
use kit::service::Call;

kit::api_component!(inventory_domain, ROUTES, serve);

async fn serve(endpoint: Endpoint, call: &Call) -> Result<Response, Problem> {
    let tenant = tenant(endpoint, call).await?;
    let (sku, request_id) = (call.capture(), call.request_id());
    match endpoint {
        Endpoint::CheckAvailability => {
            let query: AvailabilityQuery = call.json()?;
            let availability =
                inventory_domain::check_availability(call.db().await?, &tenant, &query)
                    .await
                    .map_err(|error| call.domain(error))?;
            Ok(json(StatusCode::OK, &availability, request_id))
        }
        Endpoint::SetOnHand => {
            let body: SetOnHand = call.json()?;
            let written = inventory_domain::set_on_hand(call.db().await?, &tenant, sku, &body)
                .await
                .map_err(|error| call.domain(error))?;
            if !written.created {
                return Ok(json(StatusCode::OK, &written.stock, request_id));
            }
            let location = format!("/api/v1/inventory/{sku}");
            Ok(created(&written.stock, &location, request_id))
        }
        Endpoint::GetStock => {
            let stock = inventory_domain::get_stock(call.db().await?, &tenant, sku)
                .await
                .map_err(|error| call.domain(error))?;
            Ok(json(StatusCode::OK, &stock, request_id))
        }
        Endpoint::AdjustStock => {
            let adjustment: Adjustment = call.json()?;
            let stock = inventory_domain::adjust_stock(call.db().await?, &tenant, sku, &adjustment)
                .await
                .map_err(|error| call.domain(error))?;
            Ok(json(StatusCode::OK, &stock, request_id))
        }
        Endpoint::ListMovements => {
            let page = PageParams::from_query(call.query())?;
            let movements = inventory_domain::list_movements(call.db().await?, &tenant, sku, &page)
                .await
                .map_err(|error| call.domain(error))?;
            Ok(json(StatusCode::OK, &movements, request_id))
        }
    }
}

/// The tenant a request acts for. Stock keepers' endpoints need a valid token of an
/// admin (401, 403). The public availability check takes the token's tenant when a
/// token is sent (a bad one is still 401), else the `x-tenant-id` header's.
async fn tenant(endpoint: Endpoint, call: &Call) -> Result<String, Problem> {
    if !endpoint.needs_stock_keeper() && !call.headers().contains_key(header::AUTHORIZATION) {
        return tenant_from_headers(call.headers());
    }
    let caller = call.caller().await?;
    if endpoint.needs_stock_keeper() {
        caller.require_role(STOCK_KEEPERS)?;
    }
    Ok(caller.tenant)
}
