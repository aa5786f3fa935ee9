//! The transactional outbox: events are rows written in the same transaction as the
//! change that causes them; a dispatcher (with the order saga) delivers them later.

use crate::db::{Db, DbError, Migration};
use contracts::Envelope;
use serde::Serialize;

const CREATE_OUTBOX: &str = "\
CREATE TABLE IF NOT EXISTS outbox (
    id TEXT PRIMARY KEY,
    topic TEXT NOT NULL,
    tenant TEXT NOT NULL,
    payload TEXT NOT NULL,
    created_at TEXT NOT NULL,
    attempts BIGINT NOT NULL DEFAULT 0,
    next_attempt_at TEXT NOT NULL,
    status TEXT NOT NULL DEFAULT 'pending',
    last_error TEXT
);
CREATE INDEX IF NOT EXISTS outbox_due ON outbox (status, next_attempt_at);
";

/// The `outbox` table; each context lists it in its own migrations, so the table lives
/// beside the context's tables (same SQLite label / Postgres schema, same transaction).
pub const MIGRATION: Migration = Migration {
    name: "kit_0001_outbox",
    sqlite: CREATE_OUTBOX,
    postgres: CREATE_OUTBOX,
};

/// Writes `envelope` as a pending outbox row, due at once. Call it inside the
/// `transaction` that makes the change, so neither exists without the other.
pub async fn enqueue<D: Db, T: Serialize>(db: &D, envelope: &Envelope<T>) -> Result<(), DbError> {
    let payload = serde_json::to_string(envelope).map_err(|error| {
        DbError::Other(format!("event {} does not serialize: {error}", envelope.id))
    })?;
    db.execute(
        "INSERT INTO outbox (id, topic, tenant, payload, created_at, attempts, next_attempt_at, status) \
         VALUES ($1, $2, $3, $4, $5, 0, $5, 'pending')",
        &[
            envelope.id.as_str().into(),
            envelope.event_type.as_str().into(),
            envelope.tenant.as_str().into(),
            payload.into(),
            envelope.time.as_str().into(),
        ],
    )
    .await
    .map(drop)
}

#[cfg(all(test, feature = "native-sqlite"))]
mod tests {
    use super::*;
    use crate::db::{NativeSqlite, migrate, transaction};
    use contracts::{CampaignFailed, topics};
    use futures::executor::block_on;

    fn event() -> Envelope<CampaignFailed> {
        Envelope::new(
            "/components/campaigns",
            "acme",
            "req-1",
            CampaignFailed {
                campaign_id: "c1".into(),
                name: "Mugs".into(),
                sku: "MUG-1".into(),
                customer_ids: vec!["u1".into()],
                reason: "below minimum".into(),
            },
        )
    }

    fn outbox_rows(db: &NativeSqlite) -> Vec<crate::db::Row> {
        block_on(db.query(
            "SELECT id, topic, tenant, payload, status, attempts, created_at, next_attempt_at FROM outbox",
            &[],
        ))
        .unwrap()
    }

    #[test]
    fn committed_events_are_pending_rows() {
        let db = NativeSqlite::open_in_memory().unwrap();
        block_on(migrate(&db, "campaigns", &[MIGRATION])).unwrap();
        let envelope = event();
        block_on(transaction(&db, async |db| enqueue(db, &envelope).await)).unwrap();
        let rows = outbox_rows(&db);
        assert_eq!(rows.len(), 1);
        let row = &rows[0];
        assert_eq!(row.get_str(0).unwrap(), envelope.id);
        assert_eq!(row.get_str(1).unwrap(), topics::CAMPAIGN_FAILED);
        assert_eq!(row.get_str(2).unwrap(), "acme");
        let stored =
            Envelope::<CampaignFailed>::from_json(row.get_str(3).unwrap().as_bytes()).unwrap();
        assert_eq!(stored, envelope);
        assert_eq!(row.get_str(4).unwrap(), "pending");
        assert_eq!(row.get_i64(5).unwrap(), 0);
        assert_eq!(row.get_str(6).unwrap(), row.get_str(7).unwrap());
    }

    #[test]
    fn a_rolled_back_transaction_leaves_no_event() {
        let db = NativeSqlite::open_in_memory().unwrap();
        block_on(migrate(&db, "campaigns", &[MIGRATION])).unwrap();
        let outcome: Result<(), DbError> = block_on(transaction(&db, async |db| {
            enqueue(db, &event()).await?;
            Err(DbError::Other("the state change failed".into()))
        }));
        assert!(outcome.is_err());
        assert!(outbox_rows(&db).is_empty());
    }
}
