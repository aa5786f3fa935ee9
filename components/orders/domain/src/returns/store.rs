//! The returns' storage: the `returns` and `return_lines` rows and their SQL.

use super::{Return, ReturnFilter, ReturnStatus};
use crate::orders::{Viewer, insert_rows};
use contracts::ReturnLine;
use kit::db::{Db, DbError, Row, SqlValue};
use kit::pagination::{ListOrder, PageParams, Position};
use std::collections::HashMap;

/// Stores `returned` with its lines.
pub(super) async fn insert_return<D: Db>(
    db: &D,
    tenant: &str,
    returned: &Return,
) -> Result<(), DbError> {
    db.execute(
        "INSERT INTO returns (id, tenant, order_id, order_number, customer_id, status, reason, \
         rejection_reason, amount, currency, refund_id, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)",
        &[
            returned.id.as_str().into(),
            tenant.into(),
            returned.order_id.as_str().into(),
            returned.order_number.as_str().into(),
            returned.customer_id.as_str().into(),
            returned.status.as_str().into(),
            returned.reason.as_deref().into(),
            returned.rejection_reason.as_deref().into(),
            returned.amount.into(),
            returned.currency.as_str().into(),
            returned.refund_id.as_deref().into(),
            returned.created_at.as_str().into(),
            returned.updated_at.as_str().into(),
        ],
    )
    .await?;
    let mut lines: Vec<SqlValue> = Vec::with_capacity(returned.items.len() * 7);
    for (position, line) in (0_i64..).zip(&returned.items) {
        lines.extend([
            tenant.into(),
            returned.id.as_str().into(),
            position.into(),
            line.sku.as_str().into(),
            line.name.as_str().into(),
            i64::from(line.quantity).into(),
            line.amount.into(),
        ]);
    }
    insert_rows(
        db,
        "return_lines (tenant, return_id, position, sku, name, quantity, amount)",
        7,
        lines,
    )
    .await
}

/// Writes `returned`'s move to `next` (its `updated_at` already the move's time), with
/// the rejection's reason or the refund's id when the move has one. Conditional on the
/// status it had: the caller's transaction read it, so a concurrent move fails here.
pub(super) async fn set_status<D: Db>(
    db: &D,
    tenant: &str,
    returned: &Return,
    next: ReturnStatus,
    rejection_reason: Option<&str>,
    refund_id: Option<&str>,
) -> Result<(), DbError> {
    let changed = db
        .execute(
            "UPDATE returns SET status = $3, updated_at = $4, \
             rejection_reason = COALESCE($5, rejection_reason), \
             refund_id = COALESCE($6, refund_id) \
             WHERE tenant = $1 AND id = $2 AND status = $7",
            &[
                tenant.into(),
                returned.id.as_str().into(),
                next.as_str().into(),
                returned.updated_at.as_str().into(),
                rejection_reason.into(),
                refund_id.into(),
                returned.status.as_str().into(),
            ],
        )
        .await?;
    if changed == 1 {
        Ok(())
    } else {
        Err(DbError::Other(format!(
            "return {} changed while moving it to {next}",
            returned.id
        )))
    }
}

/// The units of each SKU of the order in its returns that are not rejected.
pub(super) async fn returned_so_far<D: Db>(
    db: &D,
    tenant: &str,
    order_id: &str,
) -> Result<HashMap<String, u32>, DbError> {
    let rows = db
        .query(
            "SELECT l.sku, CAST(SUM(l.quantity) AS BIGINT) FROM return_lines l \
             JOIN returns r ON r.tenant = l.tenant AND r.id = l.return_id \
             WHERE r.tenant = $1 AND r.order_id = $2 AND r.status <> $3 GROUP BY l.sku",
            &[
                tenant.into(),
                order_id.into(),
                ReturnStatus::Rejected.as_str().into(),
            ],
        )
        .await?;
    rows.iter()
        .map(|row| {
            Ok((
                row.get_str(0)?.to_owned(),
                stored_quantity(row.get_i64(1)?)?,
            ))
        })
        .collect()
}

fn stored_quantity(quantity: i64) -> Result<u32, DbError> {
    u32::try_from(quantity)
        .map_err(|_| DbError::Other(format!("stored quantity {quantity} is invalid")))
}

const RETURN_COLUMNS: &str = "id, order_id, order_number, customer_id, status, reason, \
     rejection_reason, amount, currency, refund_id, created_at, updated_at";

/// One page (plus one row) of the returns `viewer` sees through `filter`, newest first,
/// without their lines.
pub(super) async fn list_query<D: Db>(
    db: &D,
    viewer: Viewer<'_>,
    filter: ReturnFilter<'_>,
    page: &PageParams<Position>,
) -> Result<Vec<Return>, DbError> {
    let mut sql = format!("SELECT {RETURN_COLUMNS} FROM returns WHERE tenant = $1");
    let mut params: Vec<SqlValue> = vec![viewer.tenant.into()];
    let conditions = [
        ("customer_id", viewer.only_customer()),
        ("order_id", filter.order_id),
        ("status", filter.status.map(ReturnStatus::as_str)),
        ("id", filter.id),
    ];
    for (column, value) in conditions {
        if let Some(value) = value {
            params.push(value.into());
            sql.push_str(&format!(" AND {column} = ${}", params.len()));
        }
    }
    page.finish_query(&mut sql, &mut params, ListOrder::NewestFirst, None);
    let rows = db.query(&sql, &params).await?;
    rows.iter().map(return_from_row).collect()
}

fn return_from_row(row: &Row) -> Result<Return, DbError> {
    let status = row.get_str(4)?;
    Ok(Return {
        id: row.get_str(0)?.to_owned(),
        order_id: row.get_str(1)?.to_owned(),
        order_number: row.get_str(2)?.to_owned(),
        customer_id: row.get_str(3)?.to_owned(),
        status: status
            .parse()
            .map_err(|_| DbError::Other(format!("stored return status {status:?} is unknown")))?,
        reason: row.get_opt_str(5)?.map(str::to_owned),
        rejection_reason: row.get_opt_str(6)?.map(str::to_owned),
        items: Vec::new(),
        amount: row.get_i64(7)?,
        currency: row.get_str(8)?.to_owned(),
        refund_id: row.get_opt_str(9)?.map(str::to_owned),
        created_at: row.get_str(10)?.to_owned(),
        updated_at: row.get_str(11)?.to_owned(),
    })
}

/// Fills in the lines of `returns` (of one tenant), one query.
pub(super) async fn load_lines<D: Db>(
    db: &D,
    tenant: &str,
    returns: &mut [Return],
) -> Result<(), DbError> {
    if returns.is_empty() {
        return Ok(());
    }
    let mut params: Vec<SqlValue> = vec![tenant.into()];
    params.extend(returns.iter().map(|returned| returned.id.as_str().into()));
    let placeholders: Vec<String> = (2..=params.len()).map(|n| format!("${n}")).collect();
    let rows = db
        .query(
            &format!(
                "SELECT return_id, sku, name, quantity, amount FROM return_lines \
                 WHERE tenant = $1 AND return_id IN ({}) ORDER BY return_id, position",
                placeholders.join(", ")
            ),
            &params,
        )
        .await?;
    for row in &rows {
        let return_id = row.get_str(0)?;
        if let Some(returned) = returns.iter_mut().find(|returned| returned.id == return_id) {
            returned.items.push(ReturnLine {
                sku: row.get_str(1)?.to_owned(),
                name: row.get_str(2)?.to_owned(),
                quantity: stored_quantity(row.get_i64(3)?)?,
                amount: row.get_i64(4)?,
            });
        }
    }
    Ok(())
}
