//! The orders context's Spin side (wasm only), one copy for orders-api and the handler
//! components alike: the shop's variables, the catalog over service chaining, and the
//! campaign handlers with both wired in.

use crate::OrderSettings;
use crate::campaigns::{self, CampaignTerms};
use crate::fraud::FraudRules;
use crate::pricing::{CatalogProduct, Rates, catalog_products_url, parse_catalog_reply};
use contracts::{CampaignJoined, CampaignSuccessful, Envelope};
use kit::auth::TENANT_HEADER;
use kit::outbox::HandlerError;
use kit::request_id;
use kit::spin::{SpinDb, variable};

/// The settings from the component's variables `tax_rate_bps`, `shipping_fee`,
/// `fraud_max_total`, `fraud_max_orders` and `fraud_allowed_countries`. The error names
/// the variable that is wrong: a deployment error.
pub async fn order_settings() -> Result<OrderSettings, String> {
    let tax_rate_bps = variable("tax_rate_bps").await?;
    let shipping_fee = variable("shipping_fee").await?;
    let max_total = variable("fraud_max_total").await?;
    let max_orders = variable("fraud_max_orders").await?;
    let allowed_countries = variable("fraud_allowed_countries").await?;
    Ok(OrderSettings {
        rates: Rates::from_variables(tax_rate_bps.as_deref(), shipping_fee.as_deref())?,
        fraud: FraudRules::from_variables(
            max_total.as_deref(),
            max_orders.as_deref(),
            allowed_countries.as_deref(),
        )?,
    })
}

/// The catalog's active products among `skus`, read as an anonymous reader of `tenant`
/// (so inactive products stay unknown). The error says what went wrong.
pub async fn catalog_products(
    tenant: &str,
    skus: impl IntoIterator<Item = &str>,
    request_id: &str,
) -> Result<Vec<CatalogProduct>, String> {
    let request = http::Request::get(catalog_products_url(skus))
        .header(TENANT_HEADER, tenant)
        .header(request_id::HEADER, request_id)
        .body(Vec::new())
        .map_err(|error| format!("building the request: {error}"))?;
    let answer = kit::spin::http::send(request).await?;
    if !answer.status.is_success() {
        return Err(format!("answered HTTP {}", answer.status.as_u16()));
    }
    parse_catalog_reply(&answer.body).map_err(|error| error.to_string())
}

/// The settings and the catalog's name for `sku`. Bad settings are retried (a fixed
/// deployment lets the event through, at worst by replaying its dead letter); a catalog
/// that does not answer only costs the line its name.
///
/// `kit::event_handler!` runs this inside the handler's transaction: one short GET to
/// another context's store, made only for events that place orders.
async fn campaign_terms(
    tenant: &str,
    sku: &str,
    request_id: &str,
) -> Result<CampaignTerms, HandlerError> {
    let settings = order_settings()
        .await
        .map_err(|error| HandlerError::Retry(format!("orders configuration: {error}")))?;
    let product_name = match catalog_products(tenant, [sku], request_id).await {
        Ok(products) => products
            .into_iter()
            .find(|product| product.sku == sku && product.active)
            .map(|product| product.name),
        Err(error) => {
            eprintln!("[{request_id}] catalog: {error}; the campaign line is named by its sku");
            None
        }
    };
    Ok(CampaignTerms {
        settings,
        product_name,
    })
}

/// `orders-on-campaign-successful`: [`campaigns::on_campaign_successful`] with the
/// terms from the variables and the catalog.
pub async fn on_campaign_successful(
    db: &SpinDb,
    event: &Envelope<CampaignSuccessful>,
) -> Result<(), HandlerError> {
    campaigns::on_campaign_successful(db, event, async |sku| {
        campaign_terms(&event.tenant, sku, &event.correlationid).await
    })
    .await
}

/// `orders-on-campaign-joined`: [`campaigns::on_campaign_joined`] with the terms from
/// the variables and the catalog.
pub async fn on_campaign_joined(
    db: &SpinDb,
    event: &Envelope<CampaignJoined>,
) -> Result<(), HandlerError> {
    campaigns::on_campaign_joined(db, event, async |sku| {
        campaign_terms(&event.tenant, sku, &event.correlationid).await
    })
    .await
}
