//! The Spin handler: each endpoint's caller, body and domain call, with the settings
//! and the catalog's prices for checkout.

use crate::routes::{
    Endpoint, PROMOTERS, RETURN_HANDLERS, REVIEWERS, ROUTES, ReturnListQuery, order_list_query,
    viewer,
};
use http::StatusCode;
use kit::Problem;
use kit::auth::Caller;
use kit::http::{Response, created, json};
use kit::json::Validate;
use kit::pagination::PageParams;
use kit::service::Call;
use kit::spin::Spin;
use kit::variables::Variables;
use orders_domain::{
    ApproveRequest, CancelRequest, CatalogProduct, NewOrder, NewPromotion, NewReturn,
    OrderSettings, PromotionChange, ReturnFilter, ReturnStep, ReturnWindow,
};

kit::api_component!(orders_domain, ROUTES, serve);

/// Every route needs a bearer token.
async fn serve(endpoint: Endpoint, call: &Call) -> Result<Response, Problem> {
    let caller = call.caller().await?;
    let (id, request_id) = (call.capture(), call.request_id());
    let order = match endpoint {
        Endpoint::CreateOrder => return create_order(call, &caller).await,
        Endpoint::ListPromotions
        | Endpoint::CreatePromotion
        | Endpoint::GetPromotion
        | Endpoint::ChangePromotion => return promotions(endpoint, call, &caller).await,
        Endpoint::RequestReturn
        | Endpoint::ListReturns
        | Endpoint::GetReturn
        | Endpoint::ApproveReturn
        | Endpoint::RejectReturn
        | Endpoint::ReceiveReturn => return returns(endpoint, call, &caller).await,
        Endpoint::ListOrders => {
            let (status, page) = order_list_query(call.query())?;
            let orders =
                orders_domain::list_orders(call.db().await?, viewer(&caller), status, &page)
                    .await
                    .map_err(|error| call.domain(error))?;
            return Ok(json(StatusCode::OK, &orders, request_id));
        }
        Endpoint::GetOrder => orders_domain::get_order(call.db().await?, viewer(&caller), id).await,
        // The body is optional: none cancels without a reason.
        Endpoint::CancelOrder => {
            let cancel: CancelRequest = call.optional_json()?;
            let db = call.db().await?;
            orders_domain::cancel_order(db, viewer(&caller), request_id, id, &cancel).await
        }
        // Releases an order held in fraud review: its `order.created` goes out now.
        Endpoint::ApproveOrder => {
            caller.require_role(REVIEWERS)?;
            let _: ApproveRequest = call.optional_json()?;
            let db = call.db().await?;
            orders_domain::approve_order(db, viewer(&caller), request_id, id).await
        }
        // Cancels an order held in fraud review; the body (`{reason?}`) is optional.
        Endpoint::RejectOrder => {
            caller.require_role(REVIEWERS)?;
            let reject: CancelRequest = call.optional_json()?;
            let db = call.db().await?;
            orders_domain::reject_order(db, viewer(&caller), request_id, id, &reject).await
        }
    };
    let order = order.map_err(|error| call.domain(error))?;
    Ok(json(StatusCode::OK, &order, request_id))
}

async fn create_order(call: &Call, caller: &Caller) -> Result<Response, Problem> {
    let request_id = call.request_id();
    let new: NewOrder = call.json()?;
    new.validate().map_err(Problem::validation)?;
    let settings = settings(request_id).await?;
    if !settings.takes_payments {
        return Err(Problem::unavailable(orders_domain::NO_PAYMENT_PROVIDER));
    }
    let skus = new.items.iter().map(|item| item.sku.as_str());
    let products = catalog_products(&caller.tenant, skus, request_id).await?;
    let priced =
        orders_domain::price(&new.items, &products, settings.rates).map_err(Problem::validation)?;
    let db = call.db().await?;
    let discounts = orders_domain::offered_discounts(
        db,
        &caller.tenant,
        &caller.user_id,
        new.code.as_deref(),
        &priced,
        &products,
    )
    .await
    .map_err(|error| call.domain(error))?;
    let priced = priced
        .with_discounts(discounts, settings.rates)
        .map_err(Problem::validation)?;
    let order = orders_domain::create_order(
        db,
        &caller.tenant,
        &caller.user_id,
        request_id,
        &new,
        priced,
        &settings.fraud,
    )
    .await
    .map_err(|error| call.domain(error))?;
    let location = format!("/api/v1/orders/{}", order.id);
    Ok(created(&order, &location, request_id))
}

/// The promotions' endpoints, an admin's.
async fn promotions(endpoint: Endpoint, call: &Call, caller: &Caller) -> Result<Response, Problem> {
    caller.require_role(PROMOTERS)?;
    let (tenant, id, request_id) = (&caller.tenant, call.capture(), call.request_id());
    let db = call.db().await?;
    let answer = match endpoint {
        Endpoint::CreatePromotion => {
            let new: NewPromotion = call.json()?;
            new.validate().map_err(Problem::validation)?;
            let promotion = orders_domain::create_promotion(db, tenant, &new)
                .await
                .map_err(|error| call.domain(error))?;
            let location = format!("/api/v1/promotions/{}", promotion.id);
            return Ok(created(&promotion, &location, request_id));
        }
        Endpoint::ChangePromotion => {
            let change: PromotionChange = call.json()?;
            orders_domain::change_promotion(db, tenant, id, &change)
                .await
                .map(|promotion| json(StatusCode::OK, &promotion, request_id))
        }
        Endpoint::GetPromotion => orders_domain::get_promotion(db, tenant, id)
            .await
            .map(|promotion| json(StatusCode::OK, &promotion, request_id)),
        // ListPromotions, the one left (`serve` sends only these four here).
        _ => {
            let page = PageParams::from_query(call.query())?;
            orders_domain::list_promotions(db, tenant, &page)
                .await
                .map(|promotions| json(StatusCode::OK, &promotions, request_id))
        }
    };
    answer.map_err(|error| call.domain(error))
}

/// The returns' endpoints: customers ask for and read their own, admins every one of
/// the tenant's and move them on.
async fn returns(endpoint: Endpoint, call: &Call, caller: &Caller) -> Result<Response, Problem> {
    let (id, request_id) = (call.capture(), call.request_id());
    let viewer = viewer(caller);
    match endpoint {
        Endpoint::RequestReturn => {
            let new: NewReturn = call.json()?;
            new.validate().map_err(Problem::validation)?;
            let window = return_window(request_id).await?;
            let db = call.db().await?;
            let returned = orders_domain::request_return(
                db,
                viewer,
                request_id,
                id,
                &new,
                window,
                chrono::Utc::now(),
            )
            .await
            .map_err(|error| call.domain(error))?;
            let location = format!("/api/v1/returns/{}", returned.id);
            return Ok(created(&returned, &location, request_id));
        }
        Endpoint::ListReturns => {
            let query = ReturnListQuery::parse(call.query())?;
            let filter = ReturnFilter::new(query.order_id.as_deref(), query.status);
            let db = call.db().await?;
            let returns = orders_domain::list_returns(db, viewer, filter, &query.page)
                .await
                .map_err(|error| call.domain(error))?;
            return Ok(json(StatusCode::OK, &returns, request_id));
        }
        Endpoint::GetReturn => {
            let returned = orders_domain::get_return(call.db().await?, viewer, id)
                .await
                .map_err(|error| call.domain(error))?;
            return Ok(json(StatusCode::OK, &returned, request_id));
        }
        _ => {}
    };
    caller.require_role(RETURN_HANDLERS)?;
    let step = match endpoint {
        Endpoint::ApproveReturn => {
            let _: ApproveRequest = call.optional_json()?;
            ReturnStep::Approve
        }
        Endpoint::ReceiveReturn => {
            let _: ApproveRequest = call.optional_json()?;
            ReturnStep::Receive
        }
        // RejectReturn, the one left (`serve` sends only the returns' endpoints here).
        _ => {
            let reject: CancelRequest = call.optional_json()?;
            ReturnStep::Reject {
                reason: reject.reason(),
            }
        }
    };
    let db = call.db().await?;
    let returned = orders_domain::advance_return(db, viewer, request_id, id, step)
        .await
        .map_err(|error| call.domain(error))?;
    Ok(json(StatusCode::OK, &returned, request_id))
}

/// The `return_window_days` variable; a bad value is a deployment error: logged, then
/// a bare 500.
async fn return_window(request_id: &str) -> Result<ReturnWindow, Problem> {
    let text = Spin.variable("return_window_days").await;
    text.and_then(|text| ReturnWindow::parse(text.as_deref()))
        .map_err(|error| {
            eprintln!("[{request_id}] orders configuration: {error}");
            Problem::internal()
        })
}

/// Tax, shipping and the fraud thresholds from the component's variables; a bad value
/// is a deployment error: logged, then a bare 500.
async fn settings(request_id: &str) -> Result<OrderSettings, Problem> {
    OrderSettings::from_variables(&Spin).await.map_err(|error| {
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
    orders_domain::catalog_products(&Spin, tenant, skus, request_id)
        .await
        .map_err(|cause| {
            eprintln!("[{request_id}] catalog: {cause}");
            Problem::unavailable("the catalog is unavailable, so the order cannot be priced")
        })
}
