//! The Spin handler: each endpoint's caller, body and domain call.

use crate::routes::{CREATORS, Endpoint, ROUTES, campaign_list_query};
use campaigns_domain::{CampaignSweep, JoinRequest, NewCampaign};
use contracts::now_rfc3339;
use http::StatusCode;
use kit::Problem;
use kit::http::{Response, created, json};
use kit::json::Validate;
use kit::service::Call;

kit::api_component!(campaigns_domain, ROUTES, serve);

async fn serve(endpoint: Endpoint, call: &Call) -> Result<Response, Problem> {
    let request_id = call.request_id();
    match endpoint {
        Endpoint::ListCampaigns => {
            let tenant = call.reader_tenant().await?;
            let (status, page) = campaign_list_query(call.query())?;
            let campaigns =
                campaigns_domain::list_campaigns(call.db().await?, &tenant, status, &page)
                    .await
                    .map_err(|error| call.domain(error))?;
            Ok(json(StatusCode::OK, &campaigns, request_id))
        }
        Endpoint::GetCampaign => {
            let tenant = call.reader_tenant().await?;
            let campaign =
                campaigns_domain::get_campaign(call.db().await?, &tenant, call.capture())
                    .await
                    .map_err(|error| call.domain(error))?;
            Ok(json(StatusCode::OK, &campaign, request_id))
        }
        // The campaign and `campaign.created` commit together.
        Endpoint::CreateCampaign => {
            let caller = call.caller().await?;
            caller.require_role(CREATORS)?;
            let new: NewCampaign = call.json()?;
            let campaign = campaigns_domain::create_campaign(
                call.db().await?,
                &caller.tenant,
                &caller.user_id,
                request_id,
                &new,
                &now_rfc3339(),
            )
            .await
            .map_err(|error| call.domain(error))?;
            let location = format!("/api/v1/campaigns/{}", campaign.id);
            Ok(created(&campaign, &location, request_id))
        }
        // Any signed-in user joins for themself.
        Endpoint::Join => {
            let caller = call.caller().await?;
            let join: JoinRequest = call.json()?;
            join.validate().map_err(Problem::validation)?;
            let joined = campaigns_domain::join_campaign(
                call.db().await?,
                &caller.tenant,
                call.capture(),
                &caller.user_id,
                request_id,
                &join,
                &now_rfc3339(),
            )
            .await
            .map_err(|error| call.domain(error))?;
            Ok(json(StatusCode::CREATED, &joined, request_id))
        }
        // Fails every ended campaign below its minimum, in every tenant: an admin's
        // call, or a scheduler's with the `x-sweep-key` the `sweep_key` variable holds.
        Endpoint::Sweep => {
            kit::spin::authorize_sweep(call.headers()).await?;
            let failed = campaigns_domain::fail_ended_campaigns(
                call.db().await?,
                request_id,
                &now_rfc3339(),
            )
            .await
            .map_err(|error| call.domain(error))?;
            Ok(json(StatusCode::OK, &CampaignSweep { failed }, request_id))
        }
    }
}
