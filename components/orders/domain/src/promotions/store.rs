//! The promotions' SQL: their rows, the running ones, the conditional use count, and the
//! uses each order holds.

use super::Promotion;
use kit::db::{Db, DbError, Row, SqlValue, query_i64};
use kit::pagination::{ListOrder, Page, PageParams, Position};

const COLUMNS: &str = "id, name, code, percentage, amount_off, currency, skus, category_ids, \
     starts_at, ends_at, min_subtotal, usage_limit, per_customer_limit, combinable, active, \
     uses, created_at";

/// Whether a promotion runs at `$n` (its text time): active, started, not ended.
fn running_at(n: usize) -> String {
    format!(
        "active = 1 AND (starts_at IS NULL OR starts_at <= ${n}) \
         AND (ends_at IS NULL OR ends_at > ${n})"
    )
}

fn list_text(values: &[String]) -> String {
    values.join("\n")
}

fn list_of(text: &str) -> Vec<String> {
    text.lines().map(str::to_owned).collect()
}

fn from_row(row: &Row) -> Result<Promotion, DbError> {
    Ok(Promotion {
        id: row.get_str(0)?.to_owned(),
        name: row.get_str(1)?.to_owned(),
        code: row.get_opt_str(2)?.map(str::to_owned),
        percentage: row.get_opt_i64(3)?,
        amount_off: row.get_opt_i64(4)?,
        currency: row.get_opt_str(5)?.map(str::to_owned),
        skus: list_of(row.get_str(6)?),
        category_ids: list_of(row.get_str(7)?),
        starts_at: row.get_opt_str(8)?.map(str::to_owned),
        ends_at: row.get_opt_str(9)?.map(str::to_owned),
        min_subtotal: row.get_i64(10)?,
        usage_limit: row.get_opt_i64(11)?,
        per_customer_limit: row.get_opt_i64(12)?,
        combinable: row.get_i64(13)? != 0,
        active: row.get_i64(14)? != 0,
        uses: row.get_i64(15)?,
        created_at: row.get_str(16)?.to_owned(),
    })
}

pub(super) async fn insert<D: Db>(db: &D, tenant: &str, p: &Promotion) -> Result<(), DbError> {
    db.execute(
        &format!(
            "INSERT INTO promotions (tenant, {COLUMNS}) VALUES \
             ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18)"
        ),
        &[
            tenant.into(),
            p.id.as_str().into(),
            p.name.as_str().into(),
            p.code.as_deref().into(),
            p.percentage.into(),
            p.amount_off.into(),
            p.currency.as_deref().into(),
            list_text(&p.skus).into(),
            list_text(&p.category_ids).into(),
            p.starts_at.as_deref().into(),
            p.ends_at.as_deref().into(),
            p.min_subtotal.into(),
            p.usage_limit.into(),
            p.per_customer_limit.into(),
            i64::from(p.combinable).into(),
            i64::from(p.active).into(),
            p.uses.into(),
            p.created_at.as_str().into(),
        ],
    )
    .await
    .map(drop)
}

async fn one<D: Db>(
    db: &D,
    condition: &str,
    params: &[SqlValue],
) -> Result<Option<Promotion>, DbError> {
    let rows = db
        .query(
            &format!("SELECT {COLUMNS} FROM promotions WHERE tenant = $1 AND {condition}"),
            params,
        )
        .await?;
    rows.first().map(from_row).transpose()
}

pub(super) async fn find<D: Db>(
    db: &D,
    tenant: &str,
    id: &str,
) -> Result<Option<Promotion>, DbError> {
    one(db, "id = $2", &[tenant.into(), id.into()]).await
}

pub(super) async fn find_by_code<D: Db>(
    db: &D,
    tenant: &str,
    code: &str,
) -> Result<Option<Promotion>, DbError> {
    one(db, "code = $2", &[tenant.into(), code.into()]).await
}

pub(super) async fn list<D: Db>(
    db: &D,
    tenant: &str,
    page: &PageParams<Position>,
) -> Result<Page<Promotion>, DbError> {
    let mut sql = format!("SELECT {COLUMNS} FROM promotions WHERE tenant = $1");
    let mut params: Vec<SqlValue> = vec![tenant.into()];
    page.finish_query(&mut sql, &mut params, ListOrder::NewestFirst, None);
    let rows = db.query(&sql, &params).await?;
    let promotions = rows.iter().map(from_row).collect::<Result<Vec<_>, _>>()?;
    Ok(Page::from_rows(promotions, page.limit, |promotion| {
        Position::of(&promotion.created_at, &promotion.id)
    }))
}

/// Whether the promotion exists (and now has `active`).
pub(super) async fn set_active<D: Db>(
    db: &D,
    tenant: &str,
    id: &str,
    active: bool,
) -> Result<bool, DbError> {
    let changed = db
        .execute(
            "UPDATE promotions SET active = $3 WHERE tenant = $1 AND id = $2",
            &[tenant.into(), id.into(), i64::from(active).into()],
        )
        .await?;
    Ok(changed == 1)
}

/// The promotions running at `now` that apply by themselves, and the one of `code`,
/// oldest first (the order they apply in).
pub(super) async fn running<D: Db>(
    db: &D,
    tenant: &str,
    code: Option<&str>,
    now: &str,
) -> Result<Vec<Promotion>, DbError> {
    let rows = db
        .query(
            &format!(
                "SELECT {COLUMNS} FROM promotions WHERE tenant = $1 AND {} \
                 AND (code IS NULL OR code = $3) ORDER BY created_at, id",
                running_at(2)
            ),
            &[tenant.into(), now.into(), code.into()],
        )
        .await?;
    rows.iter().map(from_row).collect()
}

/// Counts a use of the promotion if it still runs at `now` and is under its limit.
pub(super) async fn take_use<D: Db>(
    db: &D,
    tenant: &str,
    id: &str,
    now: &str,
) -> Result<bool, DbError> {
    let taken = db
        .execute(
            &format!(
                "UPDATE promotions SET uses = uses + 1 WHERE tenant = $1 AND id = $2 AND {} \
                 AND (usage_limit IS NULL OR uses < usage_limit)",
                running_at(3)
            ),
            &[tenant.into(), id.into(), now.into()],
        )
        .await?;
    Ok(taken == 1)
}

/// The uses `customer_id`'s orders hold of the promotion.
pub(super) async fn customer_uses<D: Db>(
    db: &D,
    tenant: &str,
    id: &str,
    customer_id: &str,
) -> Result<i64, DbError> {
    query_i64(
        db,
        "SELECT COUNT(*) FROM promotion_uses \
         WHERE tenant = $1 AND promotion_id = $2 AND customer_id = $3",
        &[tenant.into(), id.into(), customer_id.into()],
    )
    .await
}

pub(super) async fn record_use<D: Db>(
    db: &D,
    tenant: &str,
    id: &str,
    order_id: &str,
    customer_id: &str,
    now: &str,
) -> Result<(), DbError> {
    db.execute(
        "INSERT INTO promotion_uses (tenant, promotion_id, order_id, customer_id, used_at) \
         VALUES ($1, $2, $3, $4, $5)",
        &[
            tenant.into(),
            id.into(),
            order_id.into(),
            customer_id.into(),
            now.into(),
        ],
    )
    .await
    .map(drop)
}

/// Gives back each use order `order_id` holds: its promotions' counts go down by one and
/// its use rows go.
pub(super) async fn release<D: Db>(db: &D, tenant: &str, order_id: &str) -> Result<(), DbError> {
    db.execute(
        "UPDATE promotions SET uses = uses - 1 WHERE tenant = $1 AND id IN \
         (SELECT promotion_id FROM promotion_uses WHERE tenant = $1 AND order_id = $2)",
        &[tenant.into(), order_id.into()],
    )
    .await?;
    db.execute(
        "DELETE FROM promotion_uses WHERE tenant = $1 AND order_id = $2",
        &[tenant.into(), order_id.into()],
    )
    .await
    .map(drop)
}
