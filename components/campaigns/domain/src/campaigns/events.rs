//! The events a campaign emits: `campaign.created`, `campaign.joined`, and its outcome,
//! `campaign.successful` or `campaign.failed`, announced in parts (see [`crate::parts`]).

use super::Campaign;
use super::store::EndedCampaign;
use crate::EVENT_SOURCE;
use crate::parts::{Part, split};
use contracts::{
    CampaignCreated, CampaignFailed, CampaignJoined, CampaignParticipant, CampaignSuccessful,
    Envelope, Event,
};
use kit::db::{Db, DbError};
use kit::outbox::enqueue;

/// `campaign.created` for `created`, by `created_by`.
pub(super) fn campaign_created(
    tenant: &str,
    correlation_id: &str,
    created_by: &str,
    created: &Campaign,
) -> Envelope<CampaignCreated> {
    let data = CampaignCreated {
        campaign_id: created.id.clone(),
        name: created.name.clone(),
        sku: created.sku.clone(),
        price: created.price,
        original_price: created.original_price,
        currency: created.currency.clone(),
        min_participants: created.min_participants,
        max_participants: created.max_participants,
        starts_at: created.starts_at.clone(),
        ends_at: created.ends_at.clone(),
        created_by: created_by.to_owned(),
    };
    Envelope::new(EVENT_SOURCE, tenant, correlation_id, data)
}

/// `campaign.joined` for `participant`'s join, `joined` being the campaign after it.
pub(super) fn campaign_joined(
    tenant: &str,
    correlation_id: &str,
    joined: &Campaign,
    participant: &CampaignParticipant,
) -> Envelope<CampaignJoined> {
    let data = CampaignJoined {
        campaign_id: joined.id.clone(),
        sku: joined.sku.clone(),
        price: joined.price,
        currency: joined.currency.clone(),
        participant: participant.clone(),
        participants: joined.participants,
        campaign_status: joined.status.as_str().to_owned(),
    };
    Envelope::new(EVENT_SOURCE, tenant, correlation_id, data)
}

/// Enqueues the `campaign.successful` events of `joined`, naming `participants` in parts.
pub(super) async fn enqueue_successful<D: Db>(
    db: &D,
    tenant: &str,
    correlation_id: &str,
    joined: &Campaign,
    participants: Vec<CampaignParticipant>,
) -> Result<(), DbError> {
    enqueue_in_parts(db, tenant, correlation_id, participants, |part| {
        CampaignSuccessful {
            campaign_id: joined.id.clone(),
            name: joined.name.clone(),
            sku: joined.sku.clone(),
            price: joined.price,
            currency: joined.currency.clone(),
            part: part.part,
            parts: part.parts,
            participants: part.members,
        }
    })
    .await
}

/// Enqueues the `campaign.failed` events of `ended` under its tenant, naming
/// `customer_ids` in parts.
pub(super) async fn enqueue_failed<D: Db>(
    db: &D,
    correlation_id: &str,
    ended: &EndedCampaign,
    customer_ids: Vec<String>,
) -> Result<(), DbError> {
    let reason = format!(
        "ended with {} of {} participants",
        ended.participants, ended.min_participants
    );
    enqueue_in_parts(db, &ended.tenant, correlation_id, customer_ids, |part| {
        CampaignFailed {
            campaign_id: ended.id.clone(),
            name: ended.name.clone(),
            sku: ended.sku.clone(),
            part: part.part,
            parts: part.parts,
            customer_ids: part.members,
            reason: reason.clone(),
        }
    })
    .await
}

/// One event per part of `members` (see [`crate::parts`]), each made by `event`.
async fn enqueue_in_parts<D: Db, T, E: Event>(
    db: &D,
    tenant: &str,
    correlation_id: &str,
    members: Vec<T>,
    event: impl Fn(Part<T>) -> E,
) -> Result<(), DbError> {
    for part in split(members) {
        let envelope = Envelope::new(EVENT_SOURCE, tenant, correlation_id, event(part));
        enqueue(db, &envelope).await?;
    }
    Ok(())
}
