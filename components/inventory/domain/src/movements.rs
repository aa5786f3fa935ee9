//! Movements: the ledger of every change of a stock row, newest first per SKU.

use crate::InventoryError;
use crate::stock::find_stock;
use kit::db::{Db, DbError, Row, SqlValue};
use kit::pagination::{ListOrder, Page, PageParams, Position};
use serde::Serialize;

/// Why a stock row changed: an admin `set` or `adjust`ed the level; an order's line was
/// `reserve`d, `commit`ted once paid, `release`d (payment failed, order cancelled) or
/// came back on hand (`restock`: a paid order cancelled); a customer's return came back
/// (`returned`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum MovementReason {
    /// An admin set the level on hand.
    Set,
    /// An admin adjusted the level on hand by a delta, with a note why.
    Adjust,
    /// An order's line was reserved.
    Reserve,
    /// A paid order's reservation left the shelf.
    Commit,
    /// A held reservation was let go (payment failed, order cancelled).
    Release,
    /// A committed reservation came back on hand (a paid order was cancelled).
    Restock,
    /// Goods a customer returned came back on hand.
    Returned,
}

impl MovementReason {
    pub const ALL: [MovementReason; 7] = [
        MovementReason::Set,
        MovementReason::Adjust,
        MovementReason::Reserve,
        MovementReason::Commit,
        MovementReason::Release,
        MovementReason::Restock,
        MovementReason::Returned,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            MovementReason::Set => "set",
            MovementReason::Adjust => "adjust",
            MovementReason::Reserve => "reserve",
            MovementReason::Commit => "commit",
            MovementReason::Release => "release",
            MovementReason::Restock => "restock",
            MovementReason::Returned => "returned",
        }
    }

    fn from_db(value: &str) -> Result<Self, DbError> {
        Self::ALL
            .into_iter()
            .find(|reason| reason.as_str() == value)
            .ok_or_else(|| DbError::Other(format!("movements.reason {value:?} is unknown")))
    }
}

/// One change of a stock row, as the API shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Movement {
    pub id: String,
    pub sku: String,
    pub on_hand_delta: i64,
    pub reserved_delta: i64,
    pub reason: MovementReason,
    /// The order whose reservation moved (`reserve`, `commit`, `release`, `restock`), or
    /// whose goods were returned (`returned`).
    pub order_id: Option<String>,
    /// An adjustment's reason (`adjust`), or the return (`returned`).
    pub note: Option<String>,
    pub created_at: String,
}

/// A change about to be applied to one stock row, and recorded as a movement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct StockChange<'a> {
    pub sku: &'a str,
    pub on_hand_delta: i64,
    pub reserved_delta: i64,
    pub reason: MovementReason,
    pub order_id: Option<&'a str>,
    pub note: Option<&'a str>,
}

impl<'a> StockChange<'a> {
    pub fn new(sku: &'a str, reason: MovementReason) -> Self {
        Self {
            sku,
            on_hand_delta: 0,
            reserved_delta: 0,
            reason,
            order_id: None,
            note: None,
        }
    }

    pub fn on_hand(self, on_hand_delta: i64) -> Self {
        Self {
            on_hand_delta,
            ..self
        }
    }

    pub fn reserved(self, reserved_delta: i64) -> Self {
        Self {
            reserved_delta,
            ..self
        }
    }

    pub fn order(self, order_id: &'a str) -> Self {
        Self {
            order_id: Some(order_id),
            ..self
        }
    }

    pub fn note(self, note: &'a str) -> Self {
        Self {
            note: Some(note),
            ..self
        }
    }
}

/// Records `change` as a movement; call it in the transaction that changed the row.
pub(crate) async fn record_movement<D: Db>(
    db: &D,
    tenant: &str,
    change: &StockChange<'_>,
    now: &str,
) -> Result<(), DbError> {
    db.execute(
        "INSERT INTO movements (id, tenant, sku, on_hand_delta, reserved_delta, reason, \
         order_id, note, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        &[
            uuid::Uuid::now_v7().to_string().into(),
            tenant.into(),
            change.sku.into(),
            change.on_hand_delta.into(),
            change.reserved_delta.into(),
            change.reason.as_str().into(),
            change.order_id.into(),
            change.note.into(),
            now.into(),
        ],
    )
    .await
    .map(drop)
}

fn movement_from_row(row: &Row) -> Result<Movement, DbError> {
    Ok(Movement {
        id: row.get_str(0)?.to_owned(),
        sku: row.get_str(1)?.to_owned(),
        on_hand_delta: row.get_i64(2)?,
        reserved_delta: row.get_i64(3)?,
        reason: MovementReason::from_db(row.get_str(4)?)?,
        order_id: row.get_opt_str(5)?.map(str::to_owned),
        note: row.get_opt_str(6)?.map(str::to_owned),
        created_at: row.get_str(7)?.to_owned(),
    })
}

/// The movements of `sku`, newest first, a page after `page.after`; 404 when the
/// tenant has no stock of `sku`.
pub async fn list_movements<D: Db>(
    db: &D,
    tenant: &str,
    sku: &str,
    page: &PageParams<Position>,
) -> Result<Page<Movement>, InventoryError> {
    if find_stock(db, tenant, sku).await?.is_none() {
        return Err(InventoryError::UnknownSku(sku.to_owned()));
    }
    let mut sql = "SELECT id, sku, on_hand_delta, reserved_delta, reason, order_id, note, \
                   created_at FROM movements WHERE tenant = $1 AND sku = $2"
        .to_owned();
    let mut params: Vec<SqlValue> = vec![tenant.into(), sku.into()];
    page.finish_query(&mut sql, &mut params, ListOrder::NewestFirst, None);
    let movements = db
        .query(&sql, &params)
        .await?
        .iter()
        .map(movement_from_row)
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Page::from_rows(movements, page.limit, |last| {
        Position::of(&last.created_at, &last.id)
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::{TENANT, database, stock};
    use crate::{Adjustment, adjust_stock};
    use futures::executor::block_on;
    use kit::db::NativeSqlite;

    fn page(
        db: &NativeSqlite,
        tenant: &str,
        limit: u32,
        after: Option<Position>,
    ) -> Result<Page<Movement>, InventoryError> {
        block_on(list_movements(
            db,
            tenant,
            "MUG",
            &PageParams { limit, after },
        ))
    }

    #[test]
    fn movements_page_newest_first() {
        let db = database();
        stock(&db, "MUG", 10);
        for delta in 1..=4 {
            let adjustment = Adjustment {
                delta,
                reason: format!("found {delta}"),
            };
            block_on(adjust_stock(&db, TENANT, "MUG", &adjustment)).unwrap();
        }
        let mut deltas = Vec::new();
        let mut after = None;
        let mut pages = 0;
        loop {
            let page = page(&db, TENANT, 2, after).unwrap();
            pages += 1;
            deltas.extend(page.items.iter().map(|m| m.on_hand_delta));
            match page.next_cursor {
                Some(cursor) => after = Some(kit::pagination::decode_cursor(&cursor).unwrap()),
                None => break,
            }
        }
        assert_eq!(pages, 3);
        assert_eq!(deltas, [4, 3, 2, 1, 10]);

        let newest = &page(&db, TENANT, 1, None).unwrap().items[0];
        assert_eq!(newest.reason, MovementReason::Adjust);
        assert_eq!(newest.note.as_deref(), Some("found 4"));
        assert_eq!(newest.order_id, None);
        assert_eq!(newest.reserved_delta, 0);
        let json = serde_json::to_value(newest).unwrap();
        assert_eq!(json["reason"], "adjust");
        assert_eq!(json["sku"], "MUG");
    }

    #[test]
    fn movements_of_an_unknown_sku_or_another_tenant_are_404() {
        let db = database();
        assert!(matches!(
            page(&db, TENANT, 20, None).unwrap_err(),
            InventoryError::UnknownSku(_)
        ));
        stock(&db, "MUG", 1);
        assert_eq!(page(&db, TENANT, 20, None).unwrap().items.len(), 1);
        assert!(matches!(
            page(&db, "globex", 20, None).unwrap_err(),
            InventoryError::UnknownSku(_)
        ));
    }

    #[test]
    fn the_migration_to_returned_keeps_the_ledger() {
        let db = NativeSqlite::open_in_memory().unwrap();
        let (before, after) = crate::MIGRATIONS.split_at(crate::MIGRATIONS.len() - 1);
        assert_eq!(after[0].name, "0002_returned_movements");
        block_on(kit::db::migrate(&db, crate::CONTEXT, before)).unwrap();
        stock(&db, "MUG", 3);
        block_on(kit::db::migrate(&db, crate::CONTEXT, crate::MIGRATIONS)).unwrap();
        let kept = page(&db, TENANT, 20, None).unwrap().items;
        assert_eq!(kept.len(), 1);
        assert_eq!(
            (kept[0].reason, kept[0].on_hand_delta),
            (MovementReason::Set, 3)
        );
        let returned = StockChange::new("MUG", MovementReason::Returned).on_hand(1);
        block_on(record_movement(
            &db,
            TENANT,
            &returned,
            "2025-01-01T00:00:00.000Z",
        ))
        .unwrap();
        let theft = "INSERT INTO movements (id, tenant, sku, on_hand_delta, reserved_delta, \
                     reason, created_at) VALUES ('m', 'acme', 'MUG', -1, 0, 'theft', 'now')";
        assert!(block_on(db.execute(theft, &[])).is_err());
    }

    #[test]
    fn reasons_round_trip_through_the_database() {
        for reason in MovementReason::ALL {
            assert_eq!(MovementReason::from_db(reason.as_str()).unwrap(), reason);
            assert_eq!(
                serde_json::to_value(reason).unwrap(),
                serde_json::Value::from(reason.as_str())
            );
        }
        assert!(MovementReason::from_db("theft").is_err());
    }
}
