//! The `orders-on-campaign-joined` component: a `campaign.joined` whose campaign is
//! already `successful` places that participant's order at once, as
//! `orders-on-campaign-successful` does for everyone before; while the campaign is
//! `active` it does nothing (the success event will carry the participant). See
//! `orders_domain::on_campaign_joined`.

kit::event_handler!(
    "orders-on-campaign-joined",
    orders_domain,
    contracts::CampaignJoined,
    orders_domain::spin::on_campaign_joined
);
