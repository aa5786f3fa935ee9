//! Reservations as stored: the order's first outcome in `order_outcomes`, the
//! `reservations` rows, the savepoint an all-or-none reservation runs in, and the SQL
//! that moves units on the `stock` rows.

use super::{OrderOutcome, ReservationStatus};
use crate::movements::StockChange;
use contracts::StockLine;
use kit::db::{Db, DbError};

/// Records `outcome` as the order's first; `false` when the order already has one. The
/// write is the check (primary key, `ON CONFLICT DO NOTHING`), so two deliveries racing
/// on PostgreSQL cannot both win.
pub(super) async fn claim_outcome<D: Db>(
    db: &D,
    tenant: &str,
    order_id: &str,
    outcome: OrderOutcome,
    now: &str,
) -> Result<bool, DbError> {
    let claimed = db
        .execute(
            "INSERT INTO order_outcomes (tenant, order_id, outcome, recorded_at) \
             VALUES ($1, $2, $3, $4) ON CONFLICT (tenant, order_id) DO NOTHING",
            &[
                tenant.into(),
                order_id.into(),
                outcome.as_str().into(),
                now.into(),
            ],
        )
        .await?;
    Ok(claimed == 1)
}

/// Replaces the order's recorded outcome with `outcome`.
pub(super) async fn set_outcome<D: Db>(
    db: &D,
    tenant: &str,
    order_id: &str,
    outcome: OrderOutcome,
) -> Result<(), DbError> {
    db.execute(
        "UPDATE order_outcomes SET outcome = $3 WHERE tenant = $1 AND order_id = $2",
        &[tenant.into(), order_id.into(), outcome.as_str().into()],
    )
    .await?;
    Ok(())
}

/// Opens the savepoint an order's lines are reserved in.
pub(super) async fn begin_reservation<D: Db>(db: &D) -> Result<(), DbError> {
    db.execute("SAVEPOINT reserve_order", &[]).await?;
    Ok(())
}

/// Undoes the lines reserved since [`begin_reservation`] and closes its savepoint.
pub(super) async fn undo_reservation<D: Db>(db: &D) -> Result<(), DbError> {
    db.execute("ROLLBACK TO SAVEPOINT reserve_order", &[])
        .await?;
    db.execute("RELEASE SAVEPOINT reserve_order", &[]).await?;
    Ok(())
}

/// Keeps the lines reserved since [`begin_reservation`] and closes its savepoint.
pub(super) async fn keep_reservation<D: Db>(db: &D) -> Result<(), DbError> {
    db.execute("RELEASE SAVEPOINT reserve_order", &[]).await?;
    Ok(())
}

/// Reserves `line` on its stock row if enough of it is available; whether it was.
pub(super) async fn reserve_line<D: Db>(
    db: &D,
    tenant: &str,
    line: &StockLine,
    now: &str,
) -> Result<bool, DbError> {
    let reserved = db
        .execute(
            "UPDATE stock SET reserved = reserved + $3, version = version + 1, \
             updated_at = $4 WHERE tenant = $1 AND sku = $2 AND on_hand - reserved >= $3",
            &[
                tenant.into(),
                line.sku.as_str().into(),
                i64::from(line.quantity).into(),
                now.into(),
            ],
        )
        .await?;
    Ok(reserved != 0)
}

/// The order's `held` reservation of `quantity` units of `sku`.
pub(super) async fn insert_reservation<D: Db>(
    db: &D,
    tenant: &str,
    order_id: &str,
    sku: &str,
    quantity: i64,
    now: &str,
) -> Result<(), DbError> {
    db.execute(
        "INSERT INTO reservations (tenant, order_id, sku, quantity, status, created_at, \
         updated_at) VALUES ($1, $2, $3, $4, $5, $6, $6)",
        &[
            tenant.into(),
            order_id.into(),
            sku.into(),
            quantity.into(),
            ReservationStatus::Held.as_str().into(),
            now.into(),
        ],
    )
    .await?;
    Ok(())
}

/// Moves the order's reservations in `from` to `to`; the SKU and quantity of each
/// moved, in no particular order.
pub(super) async fn move_reservations<D: Db>(
    db: &D,
    tenant: &str,
    order_id: &str,
    from: ReservationStatus,
    to: ReservationStatus,
    now: &str,
) -> Result<Vec<(String, i64)>, DbError> {
    let rows = db
        .query(
            "UPDATE reservations SET status = $4, updated_at = $5 \
             WHERE tenant = $1 AND order_id = $2 AND status = $3 RETURNING sku, quantity",
            &[
                tenant.into(),
                order_id.into(),
                from.as_str().into(),
                to.as_str().into(),
                now.into(),
            ],
        )
        .await?;
    rows.iter()
        .map(|row| Ok((row.get_str(0)?.to_owned(), row.get_i64(1)?)))
        .collect::<Result<Vec<_>, DbError>>()
}

/// Adds `change`'s deltas to its stock row; whether there was one.
pub(super) async fn change_stock<D: Db>(
    db: &D,
    tenant: &str,
    change: &StockChange<'_>,
    now: &str,
) -> Result<bool, DbError> {
    let changed = db
        .execute(
            "UPDATE stock SET on_hand = on_hand + $3, reserved = reserved + $4, \
             version = version + 1, updated_at = $5 WHERE tenant = $1 AND sku = $2",
            &[
                tenant.into(),
                change.sku.into(),
                change.on_hand_delta.into(),
                change.reserved_delta.into(),
                now.into(),
            ],
        )
        .await?;
    Ok(changed != 0)
}
