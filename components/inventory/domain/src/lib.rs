//! The inventory context's rules and SQL: stock per SKU (on hand, reserved, version),
//! a movement for every change, and the saga's side of stock — reserving an order's
//! lines all or none on `order.created`, committing them on `payment.succeeded`,
//! releasing them on `payment.failed` and `order.cancelled` — and a customer's returned
//! goods put back on hand on `return.received`.
//!
//! Oversell is refused twice: every write that could oversell is a conditional UPDATE
//! (`... WHERE on_hand - reserved >= $q`), and the `stock` table's CHECK refuses any
//! row with `reserved > on_hand` or a negative count. Every function takes the tenant
//! (from the token, or the event's envelope) and touches only that tenant's rows.

mod movements;
mod reservations;
mod returns;
mod stock;

pub use kit::pagination::Position;
pub use movements::{Movement, MovementReason, list_movements};
pub use reservations::{
    OrderOutcome, ReservationStatus, Settlement, SettlementEffect, commit_for_payment,
    release_for_cancelled_order, release_for_failed_payment, reserve_for_order, settle,
};
pub use returns::restock_returned_items;
pub use stock::{
    Adjustment, Availability, AvailabilityLine, AvailabilityQuery, LineAvailability,
    MAX_AVAILABILITY_LINES, MAX_QUANTITY, MAX_REASON_CHARS, MAX_SKU_CHARS, SetOnHand, StockLevel,
    StockWrite, adjust_stock, check_availability, check_sku, get_stock, set_on_hand,
};

use kit::db::{DbError, Migration};
use kit::{FieldError, Problem};
use std::fmt;

/// The context's name: its SQLite database label and PostgreSQL schema.
pub const CONTEXT: &str = "inventory";

/// The inventory schema and its outbox, in order, for
/// `kit::db::migrate(db, CONTEXT, MIGRATIONS)`. One SQL file serves both dialects.
pub const MIGRATIONS: &[Migration] = &[
    kit::migration!("0001_init"),
    kit::outbox::MIGRATION,
    kit::outbox::DELIVERIES_MIGRATION,
    kit::outbox::COUNTERS_MIGRATION,
    kit::edge::IDEMPOTENCY_MIGRATION,
    kit::migration!("0002_returned_movements", per_dialect),
];

#[derive(Debug)]
pub enum InventoryError {
    /// The input breaks a rule; every broken field named (422).
    Invalid(Vec<FieldError>),
    /// The tenant has no stock row for this SKU (404).
    UnknownSku(String),
    /// The change would leave less on hand than is reserved (409).
    Conflict(String),
    Db(DbError),
}

impl InventoryError {
    fn invalid(field: &str, message: impl Into<String>) -> Self {
        InventoryError::Invalid(vec![FieldError::new(field, message)])
    }
}

impl From<DbError> for InventoryError {
    fn from(error: DbError) -> Self {
        InventoryError::Db(error)
    }
}

impl fmt::Display for InventoryError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            InventoryError::Invalid(errors) => {
                let fields: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
                write!(f, "invalid fields: {}", fields.join(", "))
            }
            InventoryError::UnknownSku(sku) => write!(f, "no stock for sku {sku:?}"),
            InventoryError::Conflict(detail) => f.write_str(detail),
            InventoryError::Db(error) => error.fmt(f),
        }
    }
}

impl std::error::Error for InventoryError {}

/// The HTTP answer. A database error becomes a bare 500: the caller logs it before
/// converting.
impl From<InventoryError> for Problem {
    fn from(error: InventoryError) -> Self {
        match error {
            InventoryError::Invalid(errors) => Problem::validation(errors),
            InventoryError::UnknownSku(_) => Problem::not_found(error.to_string()),
            InventoryError::Conflict(detail) => Problem::conflict(detail),
            InventoryError::Db(error) => error.into(),
        }
    }
}

/// The API logs a database failure before its bare answer.
impl kit::DomainError for InventoryError {
    fn db_cause(&self) -> Option<&dyn std::fmt::Display> {
        match self {
            InventoryError::Db(cause) => Some(cause),
            _ => None,
        }
    }
}

#[cfg(test)]
mod test_support {
    use contracts::Envelope;
    use kit::db::{Db, NativeSqlite, migrate};
    use kit::outbox::{HandlerError, apply_once};

    pub const TENANT: &str = "acme";

    pub fn database() -> NativeSqlite {
        let db = NativeSqlite::open_in_memory().unwrap();
        futures::executor::block_on(migrate(&db, crate::CONTEXT, crate::MIGRATIONS)).unwrap();
        db
    }

    /// The first column of the first row of `sql`, an integer.
    pub fn count(db: &NativeSqlite, sql: &str) -> i64 {
        futures::executor::block_on(db.query(sql, &[])).unwrap()[0]
            .get_i64(0)
            .unwrap()
    }

    /// Sets `sku` of [`TENANT`] to `on_hand` units.
    pub fn stock(db: &NativeSqlite, sku: &str, on_hand: i64) -> crate::StockLevel {
        let request = crate::SetOnHand { on_hand };
        futures::executor::block_on(crate::set_on_hand(db, TENANT, sku, &request))
            .unwrap()
            .stock
    }

    /// The stock of `sku` of [`TENANT`].
    pub fn level(db: &NativeSqlite, sku: &str) -> crate::StockLevel {
        futures::executor::block_on(crate::get_stock(db, TENANT, sku)).unwrap()
    }

    /// Applies `event` as the subscriber `subscriber` would: once per event id.
    pub fn deliver<E>(
        db: &NativeSqlite,
        subscriber: &str,
        event: &Envelope<E>,
        handler: impl AsyncFnOnce(&NativeSqlite, &Envelope<E>) -> Result<(), HandlerError>,
    ) -> Result<Option<()>, HandlerError> {
        futures::executor::block_on(apply_once(db, subscriber, &event.id, async |db| {
            handler(db, event).await
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_map_to_their_statuses() {
        let cases = [
            (
                InventoryError::invalid("on_hand", "must be zero or more"),
                422,
            ),
            (InventoryError::UnknownSku("MUG".into()), 404),
            (InventoryError::Conflict("below reserved".into()), 409),
            (InventoryError::Db(DbError::Other("disk".into())), 500),
        ];
        for (error, status) in cases {
            let problem = Problem::from(error);
            assert_eq!(problem.status, status, "{problem}");
        }
        let problem = Problem::from(InventoryError::invalid("delta", "must not be 0"));
        assert_eq!(problem.errors[0].field, "delta");
    }
}
