//! Campaigns in the store: created by vendors and admins, listed and shown to anyone in
//! the tenant, joined by signed-in users, and failed by the sweep once they end below
//! their minimum.

use crate::join::{JoinRefusal, JoinRequest, join_refusal, reaches_minimum};
use crate::new_campaign::NewCampaign;
use crate::parts::{Part, split};
use crate::status::CampaignStatus;
use crate::{CampaignError, EVENT_SOURCE, Position};
use contracts::{
    Address, CampaignCreated, CampaignFailed, CampaignJoined, CampaignParticipant,
    CampaignSuccessful, Envelope, Event,
};
use kit::db::{Db, DbError, Row, SqlValue, transaction};
use kit::outbox::enqueue;
use kit::pagination::{ListOrder, Page, PageParams};
use serde::Serialize;

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

const COLUMNS: &str = "id, name, sku, price, original_price, currency, min_participants, \
     max_participants, participants, starts_at, ends_at, status, created_at, updated_at";

fn count(row: &Row, i: usize) -> Result<u32, DbError> {
    let n = row.get_i64(i)?;
    u32::try_from(n).map_err(|_| DbError::Other(format!("column {i}: {n} is not a count")))
}

fn stored_status(name: &str) -> Result<CampaignStatus, DbError> {
    CampaignStatus::parse(name)
        .ok_or_else(|| DbError::Other(format!("stored campaign status {name:?} is unknown")))
}

/// A campaign from a row of [`COLUMNS`].
fn campaign(row: &Row) -> Result<Campaign, DbError> {
    Ok(Campaign {
        id: row.get_str(0)?.to_owned(),
        name: row.get_str(1)?.to_owned(),
        sku: row.get_str(2)?.to_owned(),
        price: row.get_i64(3)?,
        original_price: row.get_i64(4)?,
        currency: row.get_str(5)?.to_owned(),
        min_participants: count(row, 6)?,
        max_participants: count(row, 7)?,
        participants: count(row, 8)?,
        starts_at: row.get_str(9)?.to_owned(),
        ends_at: row.get_str(10)?.to_owned(),
        status: stored_status(row.get_str(11)?)?,
        created_at: row.get_str(12)?.to_owned(),
        updated_at: row.get_str(13)?.to_owned(),
    })
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
        let rows = db
            .query(
                &format!(
                    "INSERT INTO campaigns (id, tenant, name, sku, price, original_price, \
                     currency, min_participants, max_participants, participants, starts_at, \
                     ends_at, status, created_by, created_at, updated_at) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, 0, $10, $11, $12, $13, $14, $14) \
                     RETURNING {COLUMNS}"
                ),
                &[
                    uuid::Uuid::now_v7().to_string().into(),
                    tenant.into(),
                    valid.name.as_str().into(),
                    valid.sku.as_str().into(),
                    valid.price.into(),
                    valid.original_price.into(),
                    valid.currency.as_str().into(),
                    i64::from(valid.min_participants).into(),
                    i64::from(valid.max_participants).into(),
                    valid.starts_at.as_str().into(),
                    valid.ends_at.as_str().into(),
                    CampaignStatus::Active.as_str().into(),
                    created_by.into(),
                    now.into(),
                ],
            )
            .await?;
        let created = rows
            .first()
            .map(campaign)
            .transpose()?
            .ok_or_else(|| DbError::Other("INSERT … RETURNING gave no row".into()))?;
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
        enqueue(
            db,
            &Envelope::new(EVENT_SOURCE, tenant, correlation_id, data),
        )
        .await?;
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
    let rows = db
        .query(
            &format!("SELECT {COLUMNS} FROM campaigns WHERE tenant = $1 AND id = $2"),
            &[tenant.into(), id.into()],
        )
        .await?;
    rows.first()
        .map(campaign)
        .transpose()?
        .ok_or(CampaignError::NotFound)
}

/// A page of the tenant's campaigns, newest first, only those in `status` when given.
pub async fn list_campaigns<D: Db>(
    db: &D,
    tenant: &str,
    status: Option<CampaignStatus>,
    page: &PageParams<Position>,
) -> Result<Page<Campaign>, CampaignError> {
    let mut sql = format!("SELECT {COLUMNS} FROM campaigns WHERE tenant = $1");
    let mut params: Vec<SqlValue> = vec![tenant.into()];
    if let Some(status) = status {
        params.push(status.as_str().into());
        sql.push_str(&format!(" AND status = ${}", params.len()));
    }
    page.finish_query(&mut sql, &mut params, ListOrder::NewestFirst, None);
    let rows = db.query(&sql, &params).await?;
    let campaigns = rows.iter().map(campaign).collect::<Result<Vec<_>, _>>()?;
    Ok(Page::from_rows(campaigns, page.limit, |campaign| {
        Position::of(&campaign.created_at, &campaign.id)
    }))
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
        let address = &participant.shipping_address;
        // DO NOTHING keeps the transaction usable on PostgreSQL, where a failed
        // statement would abort it.
        let inserted = db
            .query(
                "INSERT INTO campaign_participants (id, tenant, campaign_id, customer_id, \
                 address_name, address_line1, address_city, address_postal_code, \
                 address_country, payment_token, joined_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) \
                 ON CONFLICT (tenant, campaign_id, customer_id) DO NOTHING RETURNING id",
                &[
                    participant.participant_id.as_str().into(),
                    tenant.into(),
                    campaign_id.into(),
                    customer_id.into(),
                    address.name.as_str().into(),
                    address.line1.as_str().into(),
                    address.city.as_str().into(),
                    address.postal_code.as_str().into(),
                    address.country.as_str().into(),
                    participant.payment_token.as_str().into(),
                    now.into(),
                ],
            )
            .await?;
        if inserted.is_empty() {
            // Campaigns are never deleted, so an earlier participant row means the
            // campaign exists.
            return Err(CampaignError::Refused(JoinRefusal::AlreadyJoined));
        }
        let rows = db
            .query(
                &format!(
                    "UPDATE campaigns SET participants = participants + 1, \
                     status = CASE WHEN participants + 1 >= min_participants THEN $4 \
                     ELSE status END, updated_at = $3 \
                     WHERE tenant = $1 AND id = $2 AND status IN ($5, $4) \
                     AND participants < max_participants AND starts_at <= $3 AND ends_at > $3 \
                     RETURNING {COLUMNS}"
                ),
                &[
                    tenant.into(),
                    campaign_id.into(),
                    now.into(),
                    CampaignStatus::Successful.as_str().into(),
                    CampaignStatus::Active.as_str().into(),
                ],
            )
            .await?;
        let Some(row) = rows.first() else {
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
        let joined = campaign(row)?;
        let data = CampaignJoined {
            campaign_id: joined.id.clone(),
            sku: joined.sku.clone(),
            price: joined.price,
            currency: joined.currency.clone(),
            participant: participant.clone(),
            participants: joined.participants,
            campaign_status: joined.status.as_str().to_owned(),
        };
        enqueue(
            db,
            &Envelope::new(EVENT_SOURCE, tenant, correlation_id, data),
        )
        .await?;
        if reaches_minimum(joined.participants, joined.min_participants) {
            let participants = participants_of(db, tenant, campaign_id).await?;
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
            .await?;
        }
        Ok(Joined {
            participant_id: participant.participant_id.clone(),
            campaign: joined,
        })
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

/// Everyone who joined the tenant's campaign, in the order they joined.
async fn participants_of<D: Db>(
    db: &D,
    tenant: &str,
    campaign_id: &str,
) -> Result<Vec<CampaignParticipant>, DbError> {
    let rows = db
        .query(
            "SELECT id, customer_id, address_name, address_line1, address_city, \
             address_postal_code, address_country, payment_token FROM campaign_participants \
             WHERE tenant = $1 AND campaign_id = $2 ORDER BY joined_at, id",
            &[tenant.into(), campaign_id.into()],
        )
        .await?;
    rows.iter()
        .map(|row| {
            Ok(CampaignParticipant {
                participant_id: row.get_str(0)?.to_owned(),
                customer_id: row.get_str(1)?.to_owned(),
                shipping_address: Address {
                    name: row.get_str(2)?.to_owned(),
                    line1: row.get_str(3)?.to_owned(),
                    city: row.get_str(4)?.to_owned(),
                    postal_code: row.get_str(5)?.to_owned(),
                    country: row.get_str(6)?.to_owned(),
                },
                payment_token: row.get_str(7)?.to_owned(),
            })
        })
        .collect()
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
        let failed = db
            .query(
                "UPDATE campaigns SET status = $2, updated_at = $1 \
                 WHERE status = $3 AND ends_at <= $1 AND participants < min_participants \
                 RETURNING tenant, id, name, sku, participants, min_participants",
                &[
                    now.into(),
                    CampaignStatus::Failed.as_str().into(),
                    CampaignStatus::Active.as_str().into(),
                ],
            )
            .await?;
        for row in &failed {
            let tenant = row.get_str(0)?;
            let campaign_id = row.get_str(1)?;
            let customer_ids = participants_of(db, tenant, campaign_id)
                .await?
                .into_iter()
                .map(|participant| participant.customer_id)
                .collect();
            let (name, sku) = (row.get_str(2)?, row.get_str(3)?);
            let reason = format!(
                "ended with {} of {} participants",
                row.get_i64(4)?,
                row.get_i64(5)?
            );
            enqueue_in_parts(db, tenant, correlation_id, customer_ids, |part| {
                CampaignFailed {
                    campaign_id: campaign_id.to_owned(),
                    name: name.to_owned(),
                    sku: sku.to_owned(),
                    part: part.part,
                    parts: part.parts,
                    customer_ids: part.members,
                    reason: reason.clone(),
                }
            })
            .await?;
        }
        Ok(failed.len() as u64)
    })
    .await
}

#[cfg(test)]
mod tests;
