//! The shipping context's rules and SQL: a shipment per paid order (created on
//! `payment.succeeded` with a tracking number and a label, announced by
//! `shipping.label.created`), its status machine with a delivery log entry per move and
//! `shipment.in_transit` / `shipment.delivered` events written to the outbox in the same
//! transaction, keyset-paginated lists and the public tracking view. Every function takes
//! the tenant (or reads it from the event) and touches only that tenant's rows. A
//! cancelled order's label is voided (`cancelled`), whichever of `payment.succeeded` and
//! `order.cancelled` reaches shipping first.

mod shipments;
mod status;
pub mod tracking_number;

pub use shipments::{
    DeliveryEvent, MAX_LOCATION_CHARS, MAX_NOTE_CHARS, Shipment, StatusChange, Tracking,
    change_status_from, create_label, get_shipment, label_url, list_shipments, printable_label,
    track, update_status, void_cancelled_order,
};
pub use status::{IllegalTransition, ShipmentStatus};

use kit::Problem;
use kit::db::{DbError, Migration};
use std::fmt;

/// The context's name: its SQLite database label and PostgreSQL schema.
pub const CONTEXT: &str = "shipping";

/// The `source` of the events the HTTP component emits (its id in `spin.toml`).
pub const API_SOURCE: &str = "/components/shipping";
/// The `source` of `shipping.label.created`, emitted by the payment.succeeded handler.
pub const LABEL_SOURCE: &str = "/components/shipping-on-payment-succeeded";
/// The note of the log entry that voids a cancelled order's label.
pub const VOID_NOTE: &str = "label voided: the order was cancelled";

/// The Spin variable naming the carrier printed on labels, and its default.
pub const CARRIER_VARIABLE: &str = "shipping_carrier";
pub const DEFAULT_CARRIER: &str = "FusionPost";

/// The carrier for new labels: the configured name, or [`DEFAULT_CARRIER`] when the
/// variable is absent or blank.
pub fn carrier_name(configured: Option<String>) -> String {
    configured
        .map(|name| name.trim().to_owned())
        .filter(|name| !name.is_empty())
        .unwrap_or_else(|| DEFAULT_CARRIER.to_owned())
}

/// The shipping schema and its outbox, in order, for
/// `kit::db::migrate(db, CONTEXT, MIGRATIONS)`.
pub const MIGRATIONS: &[Migration] = &[
    kit::migration!("0001_init"),
    kit::outbox::MIGRATION,
    kit::outbox::DELIVERIES_MIGRATION,
    kit::outbox::COUNTERS_MIGRATION,
    kit::edge::IDEMPOTENCY_MIGRATION,
    kit::migration!("0002_cancelled_orders"),
];

pub use kit::pagination::Position;

#[derive(Debug)]
pub enum ShippingError {
    /// No such shipment in this tenant (404).
    NotFound,
    /// The machine has no such move (409).
    Illegal(IllegalTransition),
    /// The label was voided when the order was cancelled: it must not be printed (409).
    Voided,
    /// The shipment left `expected` before this change applied (409): another change
    /// won the race.
    Stale {
        expected: ShipmentStatus,
        current: ShipmentStatus,
    },
    Db(DbError),
}

impl From<DbError> for ShippingError {
    fn from(error: DbError) -> Self {
        ShippingError::Db(error)
    }
}

impl From<IllegalTransition> for ShippingError {
    fn from(illegal: IllegalTransition) -> Self {
        ShippingError::Illegal(illegal)
    }
}

impl fmt::Display for ShippingError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ShippingError::NotFound => f.write_str("no such shipment"),
            ShippingError::Illegal(illegal) => illegal.fmt(f),
            ShippingError::Voided => {
                f.write_str("this shipment's label was voided: its order was cancelled")
            }
            ShippingError::Stale { expected, current } => write!(
                f,
                "the shipment moved from {expected} to {current} meanwhile; reload it and retry"
            ),
            ShippingError::Db(error) => error.fmt(f),
        }
    }
}

impl std::error::Error for ShippingError {}

/// The HTTP answer. A database error becomes a bare 500: the caller logs it first.
impl From<ShippingError> for Problem {
    fn from(error: ShippingError) -> Self {
        match error {
            ShippingError::NotFound => Problem::not_found(error.to_string()),
            ShippingError::Illegal(_) | ShippingError::Voided | ShippingError::Stale { .. } => {
                Problem::conflict(error.to_string())
            }
            ShippingError::Db(error) => error.into(),
        }
    }
}

/// The API logs a database failure before its bare answer.
impl kit::DomainError for ShippingError {
    fn db_cause(&self) -> Option<&dyn std::fmt::Display> {
        match self {
            ShippingError::Db(cause) => Some(cause),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use kit::status::Machine;

    #[test]
    fn the_carrier_defaults_when_unset_or_blank() {
        assert_eq!(carrier_name(None), "FusionPost");
        assert_eq!(carrier_name(Some("  ".into())), "FusionPost");
        assert_eq!(carrier_name(Some(" DHL ".into())), "DHL");
    }

    #[test]
    fn errors_map_to_their_statuses() {
        let illegal = ShipmentStatus::Delivered
            .check(ShipmentStatus::Failed)
            .unwrap_err();
        let problem = Problem::from(ShippingError::from(illegal));
        assert_eq!(problem.status, 409);
        assert!(problem.detail.contains("delivered") && problem.detail.contains("failed"));
        let stale = Problem::from(ShippingError::Stale {
            expected: ShipmentStatus::LabelCreated,
            current: ShipmentStatus::InTransit,
        });
        assert_eq!(stale.status, 409);
        assert!(stale.detail.contains("label_created") && stale.detail.contains("in_transit"));
        assert_eq!(Problem::from(ShippingError::NotFound).status, 404);
        assert_eq!(Problem::from(ShippingError::Voided).status, 409);
        let db = ShippingError::Db(DbError::Other("disk full".into()));
        assert_eq!(Problem::from(db).status, 500);
    }
}
