//! Campaigns as stored: the `campaigns` rows and their participants in
//! `campaign_participants`, and the SQL that reads and writes them, including the
//! conditional UPDATEs that count a join and fail the ended campaigns.

use super::Campaign;
use crate::Position;
use crate::new_campaign::ValidCampaign;
use crate::status::CampaignStatus;
use contracts::{Address, CampaignParticipant};
use kit::db::{Db, DbError, Row, SqlValue};
use kit::pagination::{ListOrder, Page, PageParams};

const COLUMNS: &str = "id, name, sku, price, original_price, currency, min_participants, \
     max_participants, participants, starts_at, ends_at, status, created_at, updated_at";

fn count(row: &Row, i: usize) -> Result<u32, DbError> {
    let n = row.get_i64(i)?;
    u32::try_from(n).map_err(|_| DbError::Other(format!("column {i}: {n} is not a count")))
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
        status: CampaignStatus::stored(row.get_str(11)?)?,
        created_at: row.get_str(12)?.to_owned(),
        updated_at: row.get_str(13)?.to_owned(),
    })
}

/// Inserts `valid` as the tenant's new campaign, `active` with no participants.
pub(super) async fn insert_campaign<D: Db>(
    db: &D,
    tenant: &str,
    created_by: &str,
    valid: &ValidCampaign,
    now: &str,
) -> Result<Campaign, DbError> {
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
    rows.first()
        .map(campaign)
        .transpose()?
        .ok_or_else(|| DbError::Other("INSERT … RETURNING gave no row".into()))
}

/// The tenant's campaign `id`, if there is one.
pub(super) async fn select_campaign<D: Db>(
    db: &D,
    tenant: &str,
    id: &str,
) -> Result<Option<Campaign>, DbError> {
    let rows = db
        .query(
            &format!("SELECT {COLUMNS} FROM campaigns WHERE tenant = $1 AND id = $2"),
            &[tenant.into(), id.into()],
        )
        .await?;
    rows.first().map(campaign).transpose()
}

/// A page of the tenant's campaigns, newest first, only those in `status` when given.
pub(super) async fn select_page<D: Db>(
    db: &D,
    tenant: &str,
    status: Option<CampaignStatus>,
    page: &PageParams<Position>,
) -> Result<Page<Campaign>, DbError> {
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

/// Inserts `participant` into the tenant's campaign `campaign_id` at `now`; `false` when
/// that customer had joined it already.
pub(super) async fn insert_participant<D: Db>(
    db: &D,
    tenant: &str,
    campaign_id: &str,
    participant: &CampaignParticipant,
    now: &str,
) -> Result<bool, DbError> {
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
                participant.customer_id.as_str().into(),
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
    Ok(!inserted.is_empty())
}

/// Counts one more participant of the tenant's campaign `campaign_id` at `now`, making
/// it `successful` when that reaches its minimum, only while it takes joins (`active`
/// or `successful`, a place left, started and not ended); the campaign after the join,
/// `None` when no row took it.
pub(super) async fn count_join<D: Db>(
    db: &D,
    tenant: &str,
    campaign_id: &str,
    now: &str,
) -> Result<Option<Campaign>, DbError> {
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
    rows.first().map(campaign).transpose()
}

/// Everyone who joined the tenant's campaign, in the order they joined.
pub(super) async fn participants_of<D: Db>(
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

/// A campaign [`fail_ended`] failed, with its counts when it ended.
pub(super) struct EndedCampaign {
    pub tenant: String,
    pub id: String,
    pub name: String,
    pub sku: String,
    pub participants: i64,
    pub min_participants: i64,
}

/// Fails every active campaign of every tenant that has ended by `now` below its
/// minimum (one conditional UPDATE, so a join that reached the minimum first keeps its
/// campaign successful); the campaigns it failed.
pub(super) async fn fail_ended<D: Db>(db: &D, now: &str) -> Result<Vec<EndedCampaign>, DbError> {
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
    failed
        .iter()
        .map(|row| {
            Ok(EndedCampaign {
                tenant: row.get_str(0)?.to_owned(),
                id: row.get_str(1)?.to_owned(),
                name: row.get_str(2)?.to_owned(),
                sku: row.get_str(3)?.to_owned(),
                participants: row.get_i64(4)?,
                min_participants: row.get_i64(5)?,
            })
        })
        .collect()
}
