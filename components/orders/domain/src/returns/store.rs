//! The returns' storage: the `returns` and `return_lines` rows and their SQL.

use super::{Held, HeldLine, Return, ReturnFilter, ReturnStatus};
use crate::orders::{Viewer, insert_rows, rows_of, stored_quantity};
use contracts::ReturnLine;
use kit::db::{Db, DbError, Row, SqlValue};
use kit::pagination::{ListOrder, PageParams, Position};

/// Stores `returned` with its lines, each with the part of its amount that is tax
/// (`taxes`, in line order).
pub(super) async fn insert_return<D: Db>(
    db: &D,
    tenant: &str,
    returned: &Return,
    taxes: &[i64],
) -> Result<(), DbError> {
    db.execute(
        "INSERT INTO returns (id, tenant, order_id, order_number, customer_id, status, reason, \
         rejection_reason, amount, currency, refund_id, refunded_amount, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)",
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
            returned.refunded_amount.into(),
            returned.created_at.as_str().into(),
            returned.updated_at.as_str().into(),
        ],
    )
    .await?;
    let mut lines: Vec<SqlValue> = Vec::with_capacity(returned.items.len() * 8);
    for ((position, line), tax) in (0_i64..).zip(&returned.items).zip(taxes) {
        lines.extend([
            tenant.into(),
            returned.id.as_str().into(),
            position.into(),
            line.sku.as_str().into(),
            line.name.as_str().into(),
            i64::from(line.quantity).into(),
            line.amount.into(),
            (*tax).into(),
        ]);
    }
    insert_rows(
        db,
        "return_lines (tenant, return_id, position, sku, name, quantity, amount, tax)",
        8,
        lines,
    )
    .await
}

/// Writes `returned` as moved from status `from`: its status, `updated_at`, rejection
/// reason and refund. Conditional on `from`: `false` when the return is no longer in
/// it, and nothing was written.
pub(super) async fn write_move<D: Db>(
    db: &D,
    tenant: &str,
    returned: &Return,
    from: ReturnStatus,
) -> Result<bool, DbError> {
    let changed = db
        .execute(
            "UPDATE returns SET status = $3, updated_at = $4, rejection_reason = $5, \
             refund_id = $6, refunded_amount = $7 \
             WHERE tenant = $1 AND id = $2 AND status = $8",
            &[
                tenant.into(),
                returned.id.as_str().into(),
                returned.status.as_str().into(),
                returned.updated_at.as_str().into(),
                returned.rejection_reason.as_deref().into(),
                returned.refund_id.as_deref().into(),
                returned.refunded_amount.into(),
                from.as_str().into(),
            ],
        )
        .await?;
    Ok(changed == 1)
}

/// The status of the tenant's return `id`; `None` when there is no such return.
pub(super) async fn status_of<D: Db>(
    db: &D,
    tenant: &str,
    id: &str,
) -> Result<Option<ReturnStatus>, DbError> {
    let rows = db
        .query(
            "SELECT status FROM returns WHERE tenant = $1 AND id = $2",
            &[tenant.into(), id.into()],
        )
        .await?;
    rows.first()
        .map(|row| ReturnStatus::stored(row.get_str(0)?))
        .transpose()
}

/// What the order's returns that are not rejected hold: each SKU's units and goods
/// (amount less tax), and their tax.
pub(super) async fn held_by_returns<D: Db>(
    db: &D,
    tenant: &str,
    order_id: &str,
) -> Result<Held, DbError> {
    let rows = db
        .query(
            "SELECT l.sku, CAST(SUM(l.quantity) AS BIGINT), CAST(SUM(l.amount - l.tax) AS BIGINT), \
             CAST(SUM(l.tax) AS BIGINT) FROM return_lines l \
             JOIN returns r ON r.tenant = l.tenant AND r.id = l.return_id \
             WHERE r.tenant = $1 AND r.order_id = $2 AND r.status <> $3 GROUP BY l.sku",
            &[
                tenant.into(),
                order_id.into(),
                ReturnStatus::Rejected.as_str().into(),
            ],
        )
        .await?;
    let mut held = Held::default();
    for row in &rows {
        let line = HeldLine {
            units: stored_quantity(row.get_i64(1)?)?,
            goods: row.get_i64(2)?,
        };
        held.lines.insert(row.get_str(0)?.to_owned(), line);
        held.tax += row.get_i64(3)?;
    }
    Ok(held)
}

const RETURN_COLUMNS: &str = "id, order_id, order_number, customer_id, status, reason, \
     rejection_reason, amount, currency, refund_id, refunded_amount, created_at, updated_at";

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
    Ok(Return {
        id: row.get_str(0)?.to_owned(),
        order_id: row.get_str(1)?.to_owned(),
        order_number: row.get_str(2)?.to_owned(),
        customer_id: row.get_str(3)?.to_owned(),
        status: ReturnStatus::stored(row.get_str(4)?)?,
        reason: row.get_opt_str(5)?.map(str::to_owned),
        rejection_reason: row.get_opt_str(6)?.map(str::to_owned),
        items: Vec::new(),
        amount: row.get_i64(7)?,
        currency: row.get_str(8)?.to_owned(),
        refund_id: row.get_opt_str(9)?.map(str::to_owned),
        refunded_amount: row.get_opt_i64(10)?,
        created_at: row.get_str(11)?.to_owned(),
        updated_at: row.get_str(12)?.to_owned(),
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
    let rows = rows_of(
        db,
        "return_id, sku, name, quantity, amount FROM return_lines",
        "return_id",
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
