//! Campaigns in the store: created by vendors and admins, listed and shown to anyone in
//! the tenant, joined by signed-in users, and failed by the sweep once they end below
//! their minimum. The rows and their SQL are in `store`, the events a campaign emits in
//! `events`.

mod events;
mod store;

use crate::join::{JoinRefusal, JoinRequest, join_refusal, reaches_minimum};
use crate::new_campaign::NewCampaign;
use crate::status::CampaignStatus;
use crate::{CampaignError, Position};
use contracts::CampaignParticipant;
use kit::db::{Db, DbError, transaction};
use kit::outbox::enqueue;
use kit::pagination::{Page, PageParams};
use serde::Serialize;
use store::participants_of;

/// A campaign as DESIGN §3 shapes it, with its creation and last change times.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Campaign {
    pub id: String,
    pub name: String,
    pub sku: String,
    /// The campaign price in minor units of `currency`.
    pub price: i64,
    pub original_price: i64,
    pub currency: String,
    /// Participants needed for the campaign to succeed.
    pub min_participants: u32,
    /// Places: no join beyond them.
    pub max_participants: u32,
    /// Participants so far.
    pub participants: u32,
    pub starts_at: String,
    pub ends_at: String,
    pub status: CampaignStatus,
    pub created_at: String,
    pub updated_at: String,
}

/// The answer to a join: the caller's place and the campaign after the join.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Joined {
    pub participant_id: String,
    pub campaign: Campaign,
}

/// The answer to `POST /api/v1/campaigns/sweep` (see `fail_ended_campaigns`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct CampaignSweep {
    /// Campaigns that ended below their minimum and are now `failed`, in every tenant.
    pub failed: u64,
}

/// `POST /api/v1/campaigns` at `now` (the stored time form): the campaign, `active`
/// with no participants, and `campaign.created` in one transaction.
pub async fn create_campaign<D: Db>(
    db: &D,
    tenant: &str,
    created_by: &str,
    correlation_id: &str,
    new: &NewCampaign,
    now: &str,
) -> Result<Campaign, CampaignError> {
    let valid = new.validate_at(now).map_err(CampaignError::Invalid)?;
    transaction(db, async |db| {
        let created = store::insert_campaign(db, tenant, created_by, &valid, now).await?;
        let event = events::campaign_created(tenant, correlation_id, created_by, &created);
        enqueue(db, &event).await?;
        Ok(created)
    })
    .await
}

/// The tenant's campaign `id`.
pub async fn get_campaign<D: Db>(
    db: &D,
    tenant: &str,
    id: &str,
) -> Result<Campaign, CampaignError> {
    store::select_campaign(db, tenant, id)
        .await?
        .ok_or(CampaignError::NotFound)
}

/// A page of the tenant's campaigns, newest first, only those in `status` when given.
pub async fn list_campaigns<D: Db>(
    db: &D,
    tenant: &str,
    status: Option<CampaignStatus>,
    page: &PageParams<Position>,
) -> Result<Page<Campaign>, CampaignError> {
    Ok(store::select_page(db, tenant, status, page).await?)
}

/// `POST /api/v1/campaigns/{id}/join` by `customer_id` at `now`, in one transaction:
/// the participant row (once per customer), then one conditional UPDATE that counts it
/// only while the campaign takes joins — the count is that column, so it and the
/// participant rows never disagree, and the row's lock (PostgreSQL) or the write lock
/// (SQLite) orders concurrent joins. When the UPDATE finds no row, the participant is
/// rolled back and the campaign's state names the reason (404 or a 409 refusal).
///
/// Enqueues `campaign.joined`, and exactly when this join reached the minimum the
/// `campaign.successful` events naming every participant so far, in parts.
pub async fn join_campaign<D: Db>(
    db: &D,
    tenant: &str,
    campaign_id: &str,
    customer_id: &str,
    correlation_id: &str,
    join: &JoinRequest,
    now: &str,
) -> Result<Joined, CampaignError> {
    let participant = CampaignParticipant {
        participant_id: uuid::Uuid::now_v7().to_string(),
        customer_id: customer_id.to_owned(),
        shipping_address: join.shipping_address.to_contract(),
        payment_token: join.payment.token.clone(),
    };
    transaction(db, async |db| {
        if !store::insert_participant(db, tenant, campaign_id, &participant, now).await? {
            // Campaigns are never deleted, so an earlier participant row means the
            // campaign exists.
            return Err(CampaignError::Refused(JoinRefusal::AlreadyJoined));
        }
        let Some(joined) = store::count_join(db, tenant, campaign_id, now).await? else {
            let current = get_campaign(db, tenant, campaign_id).await?;
            return Err(match join_refusal(&current, now) {
                Some(refusal) => CampaignError::Refused(refusal),
                // Counts only grow and failure is final, so the state that refused the
                // UPDATE still refuses; should it not, a retry decides.
                None => CampaignError::Db(DbError::Busy(format!(
                    "campaign {campaign_id} changed during the join"
                ))),
            });
        };
        let event = events::campaign_joined(tenant, correlation_id, &joined, &participant);
        enqueue(db, &event).await?;
        if reaches_minimum(joined.participants, joined.min_participants) {
            let participants = participants_of(db, tenant, campaign_id).await?;
            events::enqueue_successful(db, tenant, correlation_id, &joined, participants).await?;
        }
        Ok(Joined {
            participant_id: participant.participant_id.clone(),
            campaign: joined,
        })
    })
    .await
}

/// `POST /api/v1/campaigns/sweep` at `now`: every active campaign of every tenant that
/// has ended below its minimum becomes `failed` (one conditional UPDATE, so a join that
/// reached the minimum first keeps its campaign successful) and emits its
/// `campaign.failed` events (its customers in parts) under its tenant, in one
/// transaction. Returns how many failed.
pub async fn fail_ended_campaigns<D: Db>(
    db: &D,
    correlation_id: &str,
    now: &str,
) -> Result<u64, CampaignError> {
    transaction(db, async |db| {
        let failed = store::fail_ended(db, now).await?;
        for ended in &failed {
            let customer_ids = participants_of(db, &ended.tenant, &ended.id)
                .await?
                .into_iter()
                .map(|participant| participant.customer_id)
                .collect();
            events::enqueue_failed(db, correlation_id, ended, customer_ids).await?;
        }
        Ok(failed.len() as u64)
    })
    .await
}

#[cfg(test)]
mod tests;
