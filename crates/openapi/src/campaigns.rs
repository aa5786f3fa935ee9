//! The campaigns' routes: group buying, its joins, and the sweep that fails expired
//! campaigns.

use crate::{Access, Described, Op, from_table, keyed};
use campaigns_api::routes::{Endpoint, ROUTES};
use campaigns_domain::{Campaign, CampaignStatus, CampaignSweep, JoinRequest, Joined, NewCampaign};

/// `CREATORS` of the API component.
const CREATORS: Access = Access::Roles("admin, vendor");

pub(crate) fn operations() -> Vec<Described> {
    keyed(from_table("campaigns", ROUTES, describe))
}

fn describe(endpoint: Endpoint) -> Op {
    match endpoint {
        Endpoint::ListCampaigns => Op::new("List campaigns", Access::PublicOrBearer)
            .describe("The tenant's campaigns, newest first.")
            .query::<CampaignStatus>("status", false, "Only the campaigns in this status.")
            .paged()
            .answers_page::<Campaign>("A page of campaigns.")
            .problems(&[422]),
        Endpoint::CreateCampaign => Op::new("Create a campaign", CREATORS)
            .describe(
                "The campaign starts `active` with no participants, announced by \
                 `campaign.created`. Times are stored in UTC.",
            )
            .body::<NewCampaign>()
            .answers::<Campaign>(201, "Created; `Location` names it."),
        Endpoint::Sweep => Op::new("Fail expired campaigns", Access::SweepKeyOrAdmin)
            .describe(
                "Every active campaign of every tenant that ended below its minimum becomes \
                 `failed` and announces `campaign.failed` (for a scheduler).",
            )
            .answers::<CampaignSweep>(200, "How many campaigns failed."),
        Endpoint::GetCampaign => Op::new("Read a campaign", Access::PublicOrBearer)
            .answers::<Campaign>(200, "The campaign.")
            .problems(&[404]),
        Endpoint::Join => Op::new("Join a campaign", Access::Bearer)
            .describe(
                "The caller joins once, giving where to ship and how to pay when the \
                 campaign succeeds (their order is placed with them then). The join that \
                 reaches the minimum makes the campaign `successful`; joins stay open until \
                 it is full or ends. 409 when the caller already joined, or the campaign \
                 has failed, has not started, has ended or is full (`detail` says which).",
            )
            .body::<JoinRequest>()
            .answers::<Joined>(201, "Joined: the caller's place and the campaign now.")
            .problems(&[404, 409]),
    }
}
