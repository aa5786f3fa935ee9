//! The `notifications-on-campaign-failed` component: `campaign.failed` tells each
//! customer it names (one part of the campaign's) it failed and nobody was charged. The
//! message is rendered from its template and stored once per customer and event; when
//! `email_api_url` is set it is also emailed (see `notifications_domain::email`; email
//! is at-least-once).

#[cfg(target_arch = "wasm32")]
use kit::spin::Spin;

kit::event_handler!(
    "notifications-on-campaign-failed",
    notifications_domain,
    contracts::CampaignFailed,
    call_out: async |db, event| notifications_domain::email(db, event, &Spin, &Spin).await,
    record: notifications_domain::record,
);
