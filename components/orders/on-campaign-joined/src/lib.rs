//! The `orders-on-campaign-joined` component: a `campaign.joined` whose campaign is
//! already `successful` places that participant's order at once, as
//! `orders-on-campaign-successful` does for everyone before; while the campaign is
//! `active` it does nothing (the success event will carry the participant). See
//! `orders_domain::on_campaign_joined`.

#[cfg(target_arch = "wasm32")]
use kit::spin::Spin;

kit::event_handler!(
    "orders-on-campaign-joined",
    orders_domain,
    contracts::CampaignJoined,
    async |db, event| {
        orders_domain::on_campaign_joined(db, event, async |sku| {
            let (tenant, request_id) = (&event.tenant, &event.correlationid);
            orders_domain::campaign_terms(&Spin, &Spin, tenant, sku, request_id).await
        })
        .await
    }
);
