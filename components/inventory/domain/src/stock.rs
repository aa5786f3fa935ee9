//! Stock levels: set, read, adjust, and the availability check carts and the shop ask.

use crate::InventoryError;
use crate::movements::{MovementReason, StockChange, record_movement};
use contracts::now_rfc3339;
use kit::FieldError;
use kit::db::{Db, DbError, Row, SqlValue, transaction};
use kit::json::{FieldErrors, Validate};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The catalog's SKU rule: 1–64 of letters, digits, `.`, `_` and `-`.
pub const MAX_SKU_CHARS: usize = 64;
/// The most units one request may name: a set level, an adjustment or a checked line.
/// Far below `i64::MAX`, so sums of them never overflow in SQL.
pub const MAX_QUANTITY: i64 = 1_000_000_000;
pub const MAX_REASON_CHARS: usize = 200;
/// Lines per availability check.
pub const MAX_AVAILABILITY_LINES: usize = 100;

/// `Ok` when `sku` is a SKU the catalog could have issued.
pub fn check_sku(sku: &str) -> Result<(), &'static str> {
    let well_formed = sku
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'));
    match sku.len() {
        0 => Err("must not be empty"),
        n if n > MAX_SKU_CHARS => Err("must be at most 64 characters"),
        _ if !well_formed => Err("may contain only letters, digits, '.', '_' and '-'"),
        _ => Ok(()),
    }
}

/// A SKU's stock as the API shows it: `available` is what orders may still reserve.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct StockLevel {
    pub sku: String,
    pub on_hand: i64,
    pub reserved: i64,
    pub available: i64,
    /// One more with every change of `on_hand` or `reserved`.
    pub version: i64,
}

/// The columns [`stock_from_row`] reads, in its order.
const STOCK_COLUMNS: &str = "sku, on_hand, reserved, version";

fn stock_from_row(row: &Row) -> Result<StockLevel, DbError> {
    let on_hand = row.get_i64(1)?;
    let reserved = row.get_i64(2)?;
    Ok(StockLevel {
        sku: row.get_str(0)?.to_owned(),
        on_hand,
        reserved,
        available: on_hand - reserved,
        version: row.get_i64(3)?,
    })
}

/// `PUT /api/v1/inventory/{sku}`: the units on hand, as counted.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SetOnHand {
    pub on_hand: i64,
}

impl Validate for SetOnHand {
    fn validate(&self) -> Result<(), Vec<FieldError>> {
        let mut errors = FieldErrors::new();
        errors.check(
            (0..=MAX_QUANTITY).contains(&self.on_hand),
            "on_hand",
            "must be an integer from 0 to 1000000000",
        );
        errors.into_result()
    }
}

/// What [`set_on_hand`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StockWrite {
    pub stock: StockLevel,
    /// The SKU had no stock row before.
    pub created: bool,
}

/// Sets the units on hand of `sku`, creating its stock row when there is none. A level
/// below what orders hold reserved is a conflict; setting the level it already has
/// changes nothing (no movement, same version).
pub async fn set_on_hand<D: Db>(
    db: &D,
    tenant: &str,
    sku: &str,
    request: &SetOnHand,
) -> Result<StockWrite, InventoryError> {
    check_sku(sku).map_err(|message| InventoryError::invalid("sku", message))?;
    request.validate().map_err(InventoryError::Invalid)?;
    let on_hand = request.on_hand;
    transaction(db, async |db| {
        let now = now_rfc3339();
        if let Some(stock) = create_stock(db, tenant, sku, on_hand, &now).await? {
            let change = StockChange::new(sku, MovementReason::Set).on_hand(on_hand);
            record_movement(db, tenant, &change, &now).await?;
            return Ok(StockWrite {
                stock,
                created: true,
            });
        }
        // A write that changes nothing, to lock the row (PostgreSQL; SQLite's writer
        // already holds the database) so the level read here is the one replaced.
        let locked = db
            .query(
                &format!(
                    "UPDATE stock SET version = version WHERE tenant = $1 AND sku = $2 \
                     RETURNING {STOCK_COLUMNS}"
                ),
                &[tenant.into(), sku.into()],
            )
            .await?;
        let current = locked
            .first()
            .map(stock_from_row)
            .transpose()?
            .ok_or_else(|| InventoryError::UnknownSku(sku.to_owned()))?;
        if on_hand < current.reserved {
            return Err(InventoryError::Conflict(format!(
                "on_hand {on_hand} is below the {} units of {sku} reserved for orders",
                current.reserved
            )));
        }
        if on_hand == current.on_hand {
            return Ok(StockWrite {
                stock: current,
                created: false,
            });
        }
        let updated = db
            .query(
                &format!(
                    "UPDATE stock SET on_hand = $3, version = version + 1, updated_at = $4 \
                     WHERE tenant = $1 AND sku = $2 RETURNING {STOCK_COLUMNS}"
                ),
                &[
                    tenant.into(),
                    sku.into(),
                    on_hand.into(),
                    now.as_str().into(),
                ],
            )
            .await?;
        let change = StockChange::new(sku, MovementReason::Set).on_hand(on_hand - current.on_hand);
        record_movement(db, tenant, &change, &now).await?;
        Ok(StockWrite {
            stock: updated
                .first()
                .map(stock_from_row)
                .transpose()?
                .ok_or_else(|| InventoryError::UnknownSku(sku.to_owned()))?,
            created: false,
        })
    })
    .await
}

/// Creates the stock row of `sku` with `on_hand` units, unless the tenant has one: the
/// new level, or `None`. The write is the check, so of two creators racing on
/// PostgreSQL one creates and the other sees the row. Records no movement.
pub(crate) async fn create_stock<D: Db>(
    db: &D,
    tenant: &str,
    sku: &str,
    on_hand: i64,
    now: &str,
) -> Result<Option<StockLevel>, DbError> {
    db.query(
        &format!(
            "INSERT INTO stock (tenant, sku, on_hand, reserved, version, updated_at) \
             VALUES ($1, $2, $3, 0, 1, $4) ON CONFLICT (tenant, sku) DO NOTHING \
             RETURNING {STOCK_COLUMNS}"
        ),
        &[tenant.into(), sku.into(), on_hand.into(), now.into()],
    )
    .await?
    .first()
    .map(stock_from_row)
    .transpose()
}

/// The stock of `sku`; 404 when the tenant has none.
pub async fn get_stock<D: Db>(
    db: &D,
    tenant: &str,
    sku: &str,
) -> Result<StockLevel, InventoryError> {
    find_stock(db, tenant, sku)
        .await?
        .ok_or_else(|| InventoryError::UnknownSku(sku.to_owned()))
}

pub(crate) async fn find_stock<D: Db>(
    db: &D,
    tenant: &str,
    sku: &str,
) -> Result<Option<StockLevel>, DbError> {
    db.query(
        &format!("SELECT {STOCK_COLUMNS} FROM stock WHERE tenant = $1 AND sku = $2"),
        &[tenant.into(), sku.into()],
    )
    .await?
    .first()
    .map(stock_from_row)
    .transpose()
}

/// `POST /api/v1/inventory/{sku}/adjust`: units found (positive) or lost (negative),
/// and why.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Adjustment {
    /// Not 0; at most 1,000,000,000 either way.
    #[schema(minimum = -1_000_000_000, maximum = 1_000_000_000)]
    pub delta: i64,
    #[schema(min_length = 1, max_length = 200)]
    pub reason: String,
}

impl Validate for Adjustment {
    fn validate(&self) -> Result<(), Vec<FieldError>> {
        let mut errors = FieldErrors::new();
        errors
            .check(self.delta != 0, "delta", "must not be 0")
            .check(
                self.delta.unsigned_abs() <= MAX_QUANTITY.unsigned_abs(),
                "delta",
                "must be between -1000000000 and 1000000000",
            );
        let reason = self.reason.trim();
        errors
            .check(!reason.is_empty(), "reason", "must not be empty")
            .check(
                reason.chars().count() <= MAX_REASON_CHARS,
                "reason",
                "must be at most 200 characters",
            );
        errors.into_result()
    }
}

/// Adds `delta` to the units on hand of `sku`, unless that would leave fewer on hand
/// than are reserved (409). The condition is in the UPDATE, so a concurrent
/// reservation cannot slip between a check and the write.
pub async fn adjust_stock<D: Db>(
    db: &D,
    tenant: &str,
    sku: &str,
    adjustment: &Adjustment,
) -> Result<StockLevel, InventoryError> {
    adjustment.validate().map_err(InventoryError::Invalid)?;
    let delta = adjustment.delta;
    transaction(db, async |db| {
        let now = now_rfc3339();
        let adjusted = db
            .query(
                &format!(
                    "UPDATE stock SET on_hand = on_hand + $3, version = version + 1, \
                     updated_at = $4 WHERE tenant = $1 AND sku = $2 AND on_hand + $3 >= reserved \
                     RETURNING {STOCK_COLUMNS}"
                ),
                &[tenant.into(), sku.into(), delta.into(), now.as_str().into()],
            )
            .await?;
        let Some(row) = adjusted.first() else {
            return Err(match find_stock(db, tenant, sku).await? {
                None => InventoryError::UnknownSku(sku.to_owned()),
                Some(current) => InventoryError::Conflict(format!(
                    "adjusting {sku} by {delta} would leave {} on hand, below the {} reserved \
                     for orders",
                    current.on_hand + delta,
                    current.reserved
                )),
            });
        };
        let change = StockChange::new(sku, MovementReason::Adjust)
            .on_hand(delta)
            .note(adjustment.reason.trim());
        record_movement(db, tenant, &change, &now).await?;
        Ok(stock_from_row(row)?)
    })
    .await
}

/// `POST /api/v1/inventory/check-availability`.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AvailabilityQuery {
    pub items: Vec<AvailabilityLine>,
}

/// One line to check: `quantity` units of `sku`.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AvailabilityLine {
    pub sku: String,
    pub quantity: i64,
}

impl Validate for AvailabilityQuery {
    fn validate(&self) -> Result<(), Vec<FieldError>> {
        let mut errors = FieldErrors::new();
        errors
            .check(!self.items.is_empty(), "items", "must not be empty")
            .check(
                self.items.len() <= MAX_AVAILABILITY_LINES,
                "items",
                "must have at most 100 lines",
            );
        for (i, line) in self.items.iter().enumerate() {
            if let Err(message) = check_sku(&line.sku) {
                errors.push(format!("items[{i}].sku"), message);
            }
            errors.check(
                (1..=MAX_QUANTITY).contains(&line.quantity),
                &format!("items[{i}].quantity"),
                "must be an integer from 1 to 1000000000",
            );
        }
        errors.into_result()
    }
}

/// The answer: each line as asked, and whether it can be had.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Availability {
    pub items: Vec<LineAvailability>,
}

/// A line as asked; `available` when the SKU's lines together can be had.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct LineAvailability {
    pub sku: String,
    pub quantity: i64,
    pub available: bool,
}

/// Whether each line can be had now. Lines naming the same SKU count together, as an
/// order of them would reserve: each is available only when their sum is. An unknown
/// SKU is never available.
pub async fn check_availability<D: Db>(
    db: &D,
    tenant: &str,
    query: &AvailabilityQuery,
) -> Result<Availability, InventoryError> {
    query.validate().map_err(InventoryError::Invalid)?;
    let mut wanted: BTreeMap<&str, i64> = BTreeMap::new();
    for line in &query.items {
        *wanted.entry(line.sku.as_str()).or_default() += line.quantity;
    }
    let placeholders: Vec<String> = (2..wanted.len() + 2).map(|n| format!("${n}")).collect();
    let mut params: Vec<SqlValue> = vec![tenant.into()];
    params.extend(wanted.keys().map(|sku| (*sku).into()));
    let rows = db
        .query(
            &format!(
                "SELECT sku, on_hand - reserved FROM stock WHERE tenant = $1 AND sku IN ({})",
                placeholders.join(", ")
            ),
            &params,
        )
        .await?;
    let mut free: BTreeMap<String, i64> = BTreeMap::new();
    for row in &rows {
        free.insert(row.get_str(0)?.to_owned(), row.get_i64(1)?);
    }
    let items = query
        .items
        .iter()
        .map(|line| LineAvailability {
            sku: line.sku.clone(),
            quantity: line.quantity,
            available: free.get(&line.sku).copied().unwrap_or(0) >= wanted[line.sku.as_str()],
        })
        .collect();
    Ok(Availability { items })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::{TENANT, count, database, level, stock};
    use futures::executor::block_on;
    use kit::db::NativeSqlite;

    fn fields(error: InventoryError) -> Vec<String> {
        match error {
            InventoryError::Invalid(errors) => errors.into_iter().map(|e| e.field).collect(),
            other => panic!("expected invalid fields, got {other}"),
        }
    }

    fn set(
        db: &NativeSqlite,
        tenant: &str,
        sku: &str,
        on_hand: i64,
    ) -> Result<StockWrite, InventoryError> {
        block_on(set_on_hand(db, tenant, sku, &SetOnHand { on_hand }))
    }

    fn adjust(
        db: &NativeSqlite,
        sku: &str,
        delta: i64,
        reason: &str,
    ) -> Result<StockLevel, InventoryError> {
        let adjustment = Adjustment {
            delta,
            reason: reason.into(),
        };
        block_on(adjust_stock(db, TENANT, sku, &adjustment))
    }

    fn hold(db: &NativeSqlite, sku: &str, reserved: i64) {
        block_on(db.execute(
            "UPDATE stock SET reserved = $3 WHERE tenant = $1 AND sku = $2",
            &[TENANT.into(), sku.into(), reserved.into()],
        ))
        .unwrap();
    }

    fn movements(db: &NativeSqlite, sku: &str) -> Vec<(String, i64, Option<String>)> {
        block_on(db.query(
            "SELECT reason, on_hand_delta, note FROM movements WHERE tenant = $1 AND sku = $2 \
             ORDER BY created_at, id",
            &[TENANT.into(), sku.into()],
        ))
        .unwrap()
        .iter()
        .map(|row| {
            (
                row.get_str(0).unwrap().to_owned(),
                row.get_i64(1).unwrap(),
                row.get_opt_str(2).unwrap().map(str::to_owned),
            )
        })
        .collect()
    }

    #[test]
    fn skus_follow_the_catalog_rule() {
        for good in ["MUG-1", "a.b_c", &"x".repeat(64)] {
            assert!(check_sku(good).is_ok(), "{good}");
        }
        for bad in ["", "MUG 1", "mug/1", "ü", &"x".repeat(65)] {
            assert!(check_sku(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn set_creates_then_replaces_the_level_with_a_movement_each() {
        let db = database();
        let created = set(&db, TENANT, "MUG", 10).unwrap();
        assert!(created.created);
        assert_eq!(
            created.stock,
            StockLevel {
                sku: "MUG".into(),
                on_hand: 10,
                reserved: 0,
                available: 10,
                version: 1
            }
        );
        let replaced = set(&db, TENANT, "MUG", 4).unwrap();
        assert!(!replaced.created);
        assert_eq!((replaced.stock.on_hand, replaced.stock.version), (4, 2));
        assert_eq!(
            movements(&db, "MUG"),
            [("set".into(), 10, None), ("set".into(), -6, None)]
        );
    }

    #[test]
    fn setting_the_same_level_changes_nothing() {
        let db = database();
        stock(&db, "MUG", 7);
        let again = set(&db, TENANT, "MUG", 7).unwrap();
        assert_eq!((again.stock.on_hand, again.stock.version), (7, 1));
        assert_eq!(movements(&db, "MUG").len(), 1);
    }

    #[test]
    fn set_below_reserved_is_a_conflict_and_changes_nothing() {
        let db = database();
        stock(&db, "MUG", 10);
        hold(&db, "MUG", 6);
        let error = set(&db, TENANT, "MUG", 5).unwrap_err();
        assert!(
            matches!(&error, InventoryError::Conflict(detail) if detail.contains("6 units")),
            "{error}"
        );
        assert_eq!(level(&db, "MUG").on_hand, 10);
        assert_eq!(level(&db, "MUG").version, 1);
        let at_reserved = set(&db, TENANT, "MUG", 6).unwrap().stock;
        assert_eq!((at_reserved.available, at_reserved.version), (0, 2));
    }

    #[test]
    fn set_validates_the_sku_and_the_level() {
        let db = database();
        assert_eq!(fields(set(&db, TENANT, "MUG 1", 1).unwrap_err()), ["sku"]);
        assert_eq!(
            fields(set(&db, TENANT, "MUG", -1).unwrap_err()),
            ["on_hand"]
        );
        assert_eq!(
            fields(set(&db, TENANT, "MUG", MAX_QUANTITY + 1).unwrap_err()),
            ["on_hand"]
        );
        assert_eq!(count(&db, "SELECT COUNT(*) FROM stock"), 0);
    }

    #[test]
    fn get_shows_available_and_404s_an_unknown_sku() {
        let db = database();
        stock(&db, "MUG", 10);
        hold(&db, "MUG", 3);
        assert_eq!(level(&db, "MUG").available, 7);
        let error = block_on(get_stock(&db, TENANT, "CUP")).unwrap_err();
        assert!(matches!(error, InventoryError::UnknownSku(ref sku) if sku == "CUP"));
    }

    #[test]
    fn adjust_adds_and_removes_with_the_reason_as_note() {
        let db = database();
        stock(&db, "MUG", 10);
        let found = adjust(&db, "MUG", 5, " found in the back ").unwrap();
        assert_eq!((found.on_hand, found.version), (15, 2));
        let broken = adjust(&db, "MUG", -15, "dropped").unwrap();
        assert_eq!(
            (broken.on_hand, broken.available, broken.version),
            (0, 0, 3)
        );
        assert_eq!(
            movements(&db, "MUG")[1..],
            [
                ("adjust".into(), 5, Some("found in the back".into())),
                ("adjust".into(), -15, Some("dropped".into()))
            ]
        );
    }

    #[test]
    fn adjust_never_goes_below_reserved() {
        let db = database();
        stock(&db, "MUG", 10);
        hold(&db, "MUG", 4);
        let error = adjust(&db, "MUG", -7, "count").unwrap_err();
        assert!(
            matches!(&error, InventoryError::Conflict(detail) if detail.contains("leave 3 on hand")),
            "{error}"
        );
        assert_eq!(level(&db, "MUG").on_hand, 10);
        assert_eq!(adjust(&db, "MUG", -6, "count").unwrap().on_hand, 4);
        assert_eq!(movements(&db, "MUG").len(), 2);
    }

    #[test]
    fn adjust_validates_and_404s_an_unknown_sku() {
        let db = database();
        stock(&db, "MUG", 10);
        assert_eq!(fields(adjust(&db, "MUG", 0, "x").unwrap_err()), ["delta"]);
        assert_eq!(
            fields(adjust(&db, "MUG", -MAX_QUANTITY - 1, "x").unwrap_err()),
            ["delta"]
        );
        assert_eq!(fields(adjust(&db, "MUG", 1, "  ").unwrap_err()), ["reason"]);
        assert_eq!(
            fields(adjust(&db, "MUG", 1, &"r".repeat(201)).unwrap_err()),
            ["reason"]
        );
        assert!(adjust(&db, "MUG", 1, &"r".repeat(200)).is_ok());
        assert!(matches!(
            adjust(&db, "CUP", 1, "x").unwrap_err(),
            InventoryError::UnknownSku(_)
        ));
    }

    #[test]
    fn bodies_refuse_unknown_fields() {
        let problem =
            kit::json::parse::<Adjustment>(&br#"{"delta": 1, "reason": "x", "by": "me"}"#[..])
                .unwrap_err();
        assert_eq!(problem.errors[0].field, "by");
        let problem = kit::json::parse::<SetOnHand>(&br#"{"on_hand": "7"}"#[..]).unwrap_err();
        assert_eq!(problem.errors[0].field, "on_hand");
        let problem = kit::json::parse::<AvailabilityQuery>(
            &br#"{"items": [{"sku": "MUG", "quantity": 1, "price": 3}]}"#[..],
        )
        .unwrap_err();
        assert_eq!(problem.errors[0].field, "items[0].price");
    }

    fn query(lines: &[(&str, i64)]) -> AvailabilityQuery {
        AvailabilityQuery {
            items: lines
                .iter()
                .map(|(sku, quantity)| AvailabilityLine {
                    sku: (*sku).into(),
                    quantity: *quantity,
                })
                .collect(),
        }
    }

    fn available(db: &NativeSqlite, tenant: &str, lines: &[(&str, i64)]) -> Vec<bool> {
        block_on(check_availability(db, tenant, &query(lines)))
            .unwrap()
            .items
            .iter()
            .map(|line| line.available)
            .collect()
    }

    #[test]
    fn availability_counts_what_is_not_reserved() {
        let db = database();
        stock(&db, "MUG", 5);
        hold(&db, "MUG", 2);
        stock(&db, "CUP", 0);
        let answer = block_on(check_availability(
            &db,
            TENANT,
            &query(&[("MUG", 3), ("CUP", 1), ("NEW", 1)]),
        ))
        .unwrap();
        assert_eq!(
            answer.items[0],
            LineAvailability {
                sku: "MUG".into(),
                quantity: 3,
                available: true
            }
        );
        assert_eq!(
            available(&db, TENANT, &[("MUG", 3), ("CUP", 1), ("NEW", 1)]),
            [true, false, false]
        );
        assert_eq!(available(&db, TENANT, &[("MUG", 4)]), [false]);
    }

    #[test]
    fn availability_sums_lines_of_one_sku() {
        let db = database();
        stock(&db, "MUG", 5);
        assert_eq!(
            available(&db, TENANT, &[("MUG", 2), ("MUG", 3)]),
            [true, true]
        );
        assert_eq!(
            available(&db, TENANT, &[("MUG", 2), ("MUG", 4)]),
            [false, false]
        );
    }

    #[test]
    fn availability_validates_every_line() {
        let db = database();
        let check = |lines: &[(&str, i64)]| {
            fields(block_on(check_availability(&db, TENANT, &query(lines))).unwrap_err())
        };
        assert_eq!(check(&[]), ["items"]);
        assert_eq!(check(&[("MUG", 1); 101]), ["items"]);
        assert_eq!(
            check(&[("MUG", 0), ("bad sku", 1), ("CUP", MAX_QUANTITY + 1)]),
            ["items[0].quantity", "items[1].sku", "items[2].quantity"]
        );
        assert_eq!(available(&db, TENANT, &[("MUG", 1); 100]).len(), 100);
    }

    #[test]
    fn tenants_never_see_each_others_stock() {
        let db = database();
        stock(&db, "MUG", 5);
        assert!(matches!(
            block_on(get_stock(&db, "globex", "MUG")).unwrap_err(),
            InventoryError::UnknownSku(_)
        ));
        assert_eq!(available(&db, "globex", &[("MUG", 1)]), [false]);
        let theirs = set(&db, "globex", "MUG", 1).unwrap();
        assert!(theirs.created);
        assert_eq!(level(&db, "MUG").on_hand, 5);
        let adjustment = Adjustment {
            delta: -1,
            reason: "x".into(),
        };
        block_on(adjust_stock(&db, "globex", "MUG", &adjustment)).unwrap();
        assert_eq!(level(&db, "MUG").on_hand, 5);
    }

    #[test]
    fn the_database_refuses_oversell_and_negative_stock() {
        let db = database();
        stock(&db, "MUG", 5);
        for sql in [
            "UPDATE stock SET reserved = 6 WHERE sku = 'MUG'",
            "UPDATE stock SET on_hand = 4, reserved = 5 WHERE sku = 'MUG'",
            "UPDATE stock SET on_hand = -1 WHERE sku = 'MUG'",
            "UPDATE stock SET reserved = -1 WHERE sku = 'MUG'",
        ] {
            let error = block_on(db.execute(sql, &[])).unwrap_err();
            assert!(
                error.to_string().contains("CHECK constraint failed"),
                "{sql}: {error}"
            );
        }
        assert_eq!(level(&db, "MUG"), stock(&db, "MUG", 5));
    }
}
