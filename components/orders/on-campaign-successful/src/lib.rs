//! The `orders-on-campaign-successful` component: `campaign.successful` places one order
//! per participant it names (one part of the campaign's) — the campaign's sku × 1 at the
//! campaign price, named from the catalog, taxed and shipped from the variables, scored
//! by the fraud rules — each with its `order.created` carrying the campaign id. A
//! participant who already has an order for the campaign gets no second one; see
//! `orders_domain::on_campaign_successful`.

#[cfg(target_arch = "wasm32")]
use kit::spin::Spin;

kit::event_handler!(
    "orders-on-campaign-successful",
    orders_domain,
    contracts::CampaignSuccessful,
    async |db, event| {
        orders_domain::on_campaign_successful(db, event, async |sku| {
            let (tenant, request_id) = (&event.tenant, &event.correlationid);
            orders_domain::campaign_terms(&Spin, &Spin, tenant, sku, request_id).await
        })
        .await
    }
);
