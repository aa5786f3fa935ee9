//! The orders' storage: the order counter, the `orders` and `order_lines` rows and their
//! SQL, the recent-orders count the fraud rules use, and the held payment token.

use super::Order;
use crate::promotions::{Discount, DiscountLine};
use crate::status::Status;
use contracts::{Address, OrderLine};
use kit::db::{Db, DbError, Row, SqlValue, query_i64};

/// Bumps the tenant's order counter; concurrent orders queue on its row.
pub(super) async fn next_order_number<D: Db>(db: &D, tenant: &str) -> Result<i64, DbError> {
    query_i64(
        db,
        "INSERT INTO order_numbers (tenant, last_number) VALUES ($1, 1) \
         ON CONFLICT (tenant) DO UPDATE SET last_number = order_numbers.last_number + 1 \
         RETURNING last_number",
        &[tenant.into()],
    )
    .await
}

/// The customer's orders created at or after `since`.
pub(super) async fn count_orders_since<D: Db>(
    db: &D,
    tenant: &str,
    customer_id: &str,
    since: &str,
) -> Result<i64, DbError> {
    query_i64(
        db,
        "SELECT COUNT(*) FROM orders WHERE tenant = $1 AND customer_id = $2 \
         AND created_at >= $3",
        &[tenant.into(), customer_id.into(), since.into()],
    )
    .await
}

/// Stores `order` with its lines; `false` when its campaign seat (`campaign_id`,
/// `participant_id`) already has an order, and nothing was stored. `held_token` is
/// kept only for an order in review.
pub(super) async fn insert_order<D: Db>(
    db: &D,
    tenant: &str,
    order: &Order,
    participant_id: Option<&str>,
    held_token: Option<&str>,
) -> Result<bool, DbError> {
    let address = &order.shipping_address;
    let inserted = db
        .execute(
            "INSERT INTO orders (id, tenant, order_number, customer_id, status, status_reason, \
             subtotal, tax, shipping, total, currency, ship_name, ship_line1, ship_city, \
             ship_postal_code, ship_country, created_at, updated_at, review_reasons, \
             held_payment_token, campaign_id, participant_id, discount) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, \
             $17, $18, $19, $20, $21, $22, $23) \
             ON CONFLICT (tenant, campaign_id, participant_id) DO NOTHING",
            &[
                order.id.as_str().into(),
                tenant.into(),
                order.order_number.as_str().into(),
                order.customer_id.as_str().into(),
                order.status.as_str().into(),
                order.status_reason.as_deref().into(),
                order.subtotal.into(),
                order.tax.into(),
                order.shipping.into(),
                order.total.into(),
                order.currency.as_str().into(),
                address.name.as_str().into(),
                address.line1.as_str().into(),
                address.city.as_str().into(),
                address.postal_code.as_str().into(),
                address.country.as_str().into(),
                order.created_at.as_str().into(),
                order.updated_at.as_str().into(),
                order.review_reasons.join(",").into(),
                held_token.into(),
                order.campaign_id.as_deref().into(),
                participant_id.into(),
                order.discount.into(),
            ],
        )
        .await?;
    if inserted == 0 {
        return Ok(false);
    }
    // One statement for every line: a checkout has up to 100.
    let mut lines: Vec<SqlValue> = Vec::with_capacity(order.items.len() * 8);
    for (position, line) in (0_i64..).zip(&order.items) {
        lines.extend([
            order.id.as_str().into(),
            position.into(),
            tenant.into(),
            line.sku.as_str().into(),
            line.name.as_str().into(),
            i64::from(line.quantity).into(),
            line.unit_price.into(),
            line.line_total.into(),
        ]);
    }
    insert_rows(
        db,
        "order_lines (order_id, position, tenant, sku, name, quantity, unit_price, line_total)",
        8,
        lines,
    )
    .await?;
    let mut discounts: Vec<SqlValue> = Vec::new();
    let discount_lines = order
        .discounts
        .iter()
        .flat_map(|discount| discount.lines.iter().map(move |line| (discount, line)));
    for (position, (discount, line)) in (0_i64..).zip(discount_lines) {
        discounts.extend([
            tenant.into(),
            order.id.as_str().into(),
            position.into(),
            discount.promotion_id.as_str().into(),
            discount.name.as_str().into(),
            discount.code.as_deref().into(),
            line.sku.as_str().into(),
            line.amount.into(),
        ]);
    }
    insert_rows(
        db,
        "order_discounts (tenant, order_id, position, promotion_id, name, code, sku, amount)",
        8,
        discounts,
    )
    .await?;
    Ok(true)
}

pub(super) const ORDER_COLUMNS: &str = "id, order_number, status, status_reason, customer_id, subtotal, \
     tax, shipping, total, currency, ship_name, ship_line1, ship_city, ship_postal_code, \
     ship_country, created_at, updated_at, review_reasons, campaign_id, discount";

/// An order row without its lines.
pub(super) fn order_from_row(row: &Row) -> Result<Order, DbError> {
    Ok(Order {
        id: row.get_str(0)?.to_owned(),
        order_number: row.get_str(1)?.to_owned(),
        status: Status::stored(row.get_str(2)?)?,
        status_reason: row.get_opt_str(3)?.map(str::to_owned),
        review_reasons: row
            .get_str(17)?
            .split(',')
            .filter(|name| !name.is_empty())
            .map(str::to_owned)
            .collect(),
        customer_id: row.get_str(4)?.to_owned(),
        items: Vec::new(),
        subtotal: row.get_i64(5)?,
        tax: row.get_i64(6)?,
        shipping: row.get_i64(7)?,
        total: row.get_i64(8)?,
        currency: row.get_str(9)?.to_owned(),
        shipping_address: Address {
            name: row.get_str(10)?.to_owned(),
            line1: row.get_str(11)?.to_owned(),
            city: row.get_str(12)?.to_owned(),
            postal_code: row.get_str(13)?.to_owned(),
            country: row.get_str(14)?.to_owned(),
        },
        campaign_id: row.get_opt_str(18)?.map(str::to_owned),
        discount: row.get_i64(19)?,
        discounts: Vec::new(),
        created_at: row.get_str(15)?.to_owned(),
        updated_at: row.get_str(16)?.to_owned(),
    })
}

/// Fills in the lines and the discounts of `orders` (of one tenant), a query each.
pub(super) async fn attach_lines<D: Db>(
    db: &D,
    tenant: &str,
    orders: &mut [Order],
) -> Result<(), DbError> {
    if orders.is_empty() {
        return Ok(());
    }
    let mut params: Vec<SqlValue> = vec![tenant.into()];
    params.extend(orders.iter().map(|order| order.id.as_str().into()));
    let rows = rows_of(
        db,
        "order_id, sku, name, quantity, unit_price, line_total FROM order_lines",
        "order_id",
        &params,
    )
    .await?;
    for row in &rows {
        let order_id = row.get_str(0)?;
        let line = OrderLine {
            sku: row.get_str(1)?.to_owned(),
            name: row.get_str(2)?.to_owned(),
            quantity: stored_quantity(row.get_i64(3)?)?,
            unit_price: row.get_i64(4)?,
            line_total: row.get_i64(5)?,
        };
        if let Some(order) = orders.iter_mut().find(|order| order.id == order_id) {
            order.items.push(line);
        }
    }
    let rows = rows_of(
        db,
        "order_id, promotion_id, name, code, sku, amount FROM order_discounts",
        "order_id",
        &params,
    )
    .await?;
    for row in &rows {
        let order_id = row.get_str(0)?;
        let Some(order) = orders.iter_mut().find(|order| order.id == order_id) else {
            continue;
        };
        let promotion_id = row.get_str(1)?;
        let line = DiscountLine {
            sku: row.get_str(4)?.to_owned(),
            amount: row.get_i64(5)?,
        };
        match order
            .discounts
            .iter_mut()
            .find(|discount| discount.promotion_id == promotion_id)
        {
            Some(discount) => {
                discount.amount += line.amount;
                discount.lines.push(line);
            }
            None => order.discounts.push(Discount {
                promotion_id: promotion_id.to_owned(),
                name: row.get_str(2)?.to_owned(),
                code: row.get_opt_str(3)?.map(str::to_owned),
                amount: line.amount,
                lines: vec![line],
            }),
        }
    }
    Ok(())
}

/// `SELECT {columns_from}` (a table keyed by `key` and `position`: an order's or a
/// return's lines) for the keys in `params` (`$1` the tenant, then the keys), each
/// key's rows in position order.
pub(crate) async fn rows_of<D: Db>(
    db: &D,
    columns_from: &str,
    key: &str,
    params: &[SqlValue],
) -> Result<Vec<Row>, DbError> {
    let placeholders: Vec<String> = (2..=params.len()).map(|n| format!("${n}")).collect();
    db.query(
        &format!(
            "SELECT {columns_from} WHERE tenant = $1 AND {key} IN ({}) \
             ORDER BY {key}, position",
            placeholders.join(", ")
        ),
        params,
    )
    .await
}

/// A stored count of units as the checks let it in: within `u32`.
pub(crate) fn stored_quantity(quantity: i64) -> Result<u32, DbError> {
    u32::try_from(quantity)
        .map_err(|_| DbError::Other(format!("stored quantity {quantity} is invalid")))
}

/// INSERTs of the rows in `params` (each `width` values) into `into`, a table and its
/// columns, up to 500 rows a statement; nothing when there are none.
pub(crate) async fn insert_rows<D: Db>(
    db: &D,
    into: &str,
    width: usize,
    params: Vec<SqlValue>,
) -> Result<(), DbError> {
    // Far below SQLite's 32,766 and PostgreSQL's 65,535 parameters a statement may bind,
    // however many discount lines the promotions of an order make.
    const ROWS_PER_STATEMENT: usize = 500;
    for chunk in params.chunks(width * ROWS_PER_STATEMENT) {
        let rows: Vec<String> = (0..chunk.len() / width)
            .map(|row| {
                let values: Vec<String> = (1..=width)
                    .map(|column| format!("${}", row * width + column))
                    .collect();
                format!("({})", values.join(", "))
            })
            .collect();
        db.execute(
            &format!("INSERT INTO {into} VALUES {}", rows.join(", ")),
            chunk,
        )
        .await?;
    }
    Ok(())
}

pub(super) async fn held_payment_token<D: Db>(
    db: &D,
    tenant: &str,
    id: &str,
) -> Result<Option<String>, DbError> {
    let rows = db
        .query(
            "SELECT held_payment_token FROM orders WHERE tenant = $1 AND id = $2",
            &[tenant.into(), id.into()],
        )
        .await?;
    match rows.first() {
        Some(row) => Ok(row.get_opt_str(0)?.map(str::to_owned)),
        None => Ok(None),
    }
}
