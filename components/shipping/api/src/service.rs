//! The Spin handler: each endpoint's caller, body and domain call.

use crate::routes::{Endpoint, MANAGERS, ROUTES, shipment_list_query};
use http::StatusCode;
use kit::Problem;
use kit::auth::Caller;
use kit::http::{Response, json, with_body};
use kit::json::Validate;
use kit::service::Call;
use shipping_domain::StatusChange;

const PLAIN_TEXT: &str = "text/plain; charset=utf-8";

kit::api_component!(shipping_domain, ROUTES, serve);

async fn serve(endpoint: Endpoint, call: &Call) -> Result<Response, Problem> {
    let request_id = call.request_id();
    match endpoint {
        Endpoint::ListShipments => {
            let caller = manager(call).await?;
            let (order_id, page) = shipment_list_query(call.query())?;
            let shipments = shipping_domain::list_shipments(
                call.db().await?,
                &caller.tenant,
                order_id.as_deref(),
                &page,
            )
            .await
            .map_err(|error| call.domain(error))?;
            Ok(json(StatusCode::OK, &shipments, request_id))
        }
        Endpoint::GetShipment => {
            let caller = manager(call).await?;
            let shipment =
                shipping_domain::get_shipment(call.db().await?, &caller.tenant, call.capture())
                    .await
                    .map_err(|error| call.domain(error))?;
            Ok(json(StatusCode::OK, &shipment, request_id))
        }
        Endpoint::GetLabel => {
            let caller = manager(call).await?;
            let label =
                shipping_domain::printable_label(call.db().await?, &caller.tenant, call.capture())
                    .await
                    .map_err(|error| call.domain(error))?;
            Ok(with_body(StatusCode::OK, PLAIN_TEXT, label, request_id))
        }
        // The change, its log entry and its event commit together.
        Endpoint::UpdateStatus => {
            let caller = manager(call).await?;
            let change: StatusChange = call.json()?;
            change.validate().map_err(Problem::validation)?;
            let shipment = shipping_domain::update_status(
                call.db().await?,
                &caller.tenant,
                call.capture(),
                &change,
            )
            .await
            .map_err(|error| call.domain(error))?;
            Ok(json(StatusCode::OK, &shipment, request_id))
        }
        Endpoint::Track => {
            let tenant = call.reader_tenant().await?;
            let tracking = shipping_domain::track(call.db().await?, &tenant, call.capture())
                .await
                .map_err(|error| call.domain(error))?;
            Ok(json(StatusCode::OK, &tracking, request_id))
        }
    }
}

/// The caller of a shipment route: 401 without a valid token, 403 unless admin.
async fn manager(call: &Call) -> Result<Caller, Problem> {
    let caller = call.caller().await?;
    caller.require_role(MANAGERS)?;
    Ok(caller)
}
