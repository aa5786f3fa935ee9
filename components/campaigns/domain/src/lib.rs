//! The campaigns context's rules and SQL: group-buying campaigns (a sku at a campaign
//! price between a minimum and a maximum of participants, open from `starts_at` until
//! `ends_at`), their status machine, joins that count participants with one conditional
//! UPDATE so the success is announced exactly once, and the sweep that fails the
//! campaigns that ended below their minimum. Events go to the outbox in the same
//! transaction as the change; a success or failure is announced in parts of at most
//! [`PARTICIPANTS_PER_EVENT`] participants, so no event outgrows a delivery. Every function takes the tenant and touches only that
//! tenant's rows, except the sweep, which visits every tenant and emits each campaign's
//! event under its own tenant.

mod campaigns;
mod join;
mod new_campaign;
mod parts;
mod status;

pub use campaigns::{
    Campaign, CampaignSweep, Joined, create_campaign, fail_ended_campaigns, get_campaign,
    join_campaign, list_campaigns,
};
pub use join::{
    JoinRefusal, JoinRequest, MAX_ADDRESS_CHARS, MAX_TOKEN_CHARS, Payment, ShippingAddress,
    join_refusal, reaches_minimum,
};
pub use new_campaign::{
    MAX_NAME_CHARS, MAX_PARTICIPANTS, MAX_SKU_CHARS, NewCampaign, ValidCampaign,
};
pub use parts::PARTICIPANTS_PER_EVENT;
pub use status::CampaignStatus;

use kit::db::{DbError, Migration};
use kit::{FieldError, Problem};
use std::fmt;

/// The context's name: its SQLite database label and PostgreSQL schema.
pub const CONTEXT: &str = "campaigns";

/// The `source` of the events the HTTP component emits (its id in `spin.toml`).
pub const EVENT_SOURCE: &str = "/components/campaigns";

/// The campaigns schema, its outbox and the edge's idempotency records, in order, for
/// `kit::db::migrate(db, CONTEXT, MIGRATIONS)`.
pub const MIGRATIONS: &[Migration] = &[
    kit::migration!("0001_init"),
    kit::outbox::MIGRATION,
    kit::outbox::DELIVERIES_MIGRATION,
    kit::outbox::COUNTERS_MIGRATION,
    kit::edge::IDEMPOTENCY_MIGRATION,
];

pub use kit::pagination::Position;

#[derive(Debug)]
pub enum CampaignError {
    /// The new campaign breaks a rule; every broken field named (422).
    Invalid(Vec<FieldError>),
    /// No such campaign in this tenant (404).
    NotFound,
    /// The campaign does not take this join (409, the reason in `detail`).
    Refused(JoinRefusal),
    Db(DbError),
}

impl From<DbError> for CampaignError {
    fn from(error: DbError) -> Self {
        CampaignError::Db(error)
    }
}

impl fmt::Display for CampaignError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CampaignError::Invalid(errors) => {
                let fields: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
                write!(f, "invalid campaign: {}", fields.join(", "))
            }
            CampaignError::NotFound => f.write_str("no such campaign"),
            CampaignError::Refused(refusal) => refusal.fmt(f),
            CampaignError::Db(error) => error.fmt(f),
        }
    }
}

impl std::error::Error for CampaignError {}

/// The HTTP answer. A database error becomes a bare 500 (503 when busy): the caller
/// logs it first.
impl From<CampaignError> for Problem {
    fn from(error: CampaignError) -> Self {
        match error {
            CampaignError::Invalid(errors) => Problem::validation(errors),
            CampaignError::NotFound => Problem::not_found(error.to_string()),
            CampaignError::Refused(refusal) => Problem::conflict(refusal.to_string()),
            CampaignError::Db(error) => error.into(),
        }
    }
}

/// The API logs a database failure before its bare answer.
impl kit::DomainError for CampaignError {
    fn db_cause(&self) -> Option<&dyn std::fmt::Display> {
        match self {
            CampaignError::Db(cause) => Some(cause),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_map_to_their_statuses() {
        let invalid = Problem::from(CampaignError::Invalid(vec![FieldError::new(
            "sku",
            "must not be empty",
        )]));
        assert_eq!(invalid.status, 422);
        assert_eq!(invalid.errors[0].field, "sku");
        assert_eq!(Problem::from(CampaignError::NotFound).status, 404);
        let full = Problem::from(CampaignError::Refused(JoinRefusal::Full {
            max_participants: 30,
        }));
        assert_eq!(full.status, 409);
        assert!(full.detail.contains("full"), "{}", full.detail);
        let joined = Problem::from(CampaignError::Refused(JoinRefusal::AlreadyJoined));
        assert!(
            joined.detail.contains("already joined"),
            "{}",
            joined.detail
        );
        let busy = CampaignError::Db(DbError::Busy("locked".into()));
        assert_eq!(Problem::from(busy).status, 503);
        let db = CampaignError::Db(DbError::Other("disk full".into()));
        assert_eq!(Problem::from(db).status, 500);
    }
}
