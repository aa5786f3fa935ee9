//! The payments context's rules and SQL: one payment per order, charged on
//! `inventory.reserved` through the configured provider ([`Provider`]: `test` or
//! `stripe`), refunded by an admin, on `order.cancelled` or on `return.received` (the
//! return's amount), finished by Stripe's signed webhook when the charge was not final
//! at once. Every change and the event it causes (`payment.succeeded|failed|refunded`,
//! and `payment.refund_requested`, which only payments hears) commit in one
//! transaction. The provider is never called inside a transaction: a charge calls it
//! first (reading only) and records the payment with its answer after, and a refund is
//! requested in one transaction and made by the handler of `payment.refund_requested`;
//! so a stalled provider holds no lock that other orders, refunds or webhooks wait on.

mod charge;
pub mod provider;
mod refund;
pub mod status;
mod store;
pub mod stripe;
pub mod webhook;

pub use charge::{ChargeAnswer, charge_order, record_charge};
pub use kit::pagination::Position;
pub use provider::{Charge, ChargeOutcome, Provider, ProviderError, Refund, configured_provider};
pub use refund::{
    RefundBody, record_refund, refund_cancelled_order, refund_payment, refund_returned_items,
    refund_through_provider,
};
pub use status::{IllegalTransition, PaymentStatus};
pub use store::{
    Payment, PaymentFilter, RefundRecord, RefundStatus, get_payment, list_payments,
    payment_id_for_order,
};
pub use webhook::{WebhookOutcome, WebhookReceipt, apply_stripe_event};

use kit::db::{DbError, Migration};
use kit::outbox::HandlerError;
use kit::{FieldError, Problem};
use std::fmt;

/// The context's name: its SQLite database label and PostgreSQL schema.
pub const CONTEXT: &str = "payments";

/// The payments schema and its outbox, in order, for
/// `kit::db::migrate(db, CONTEXT, MIGRATIONS)`.
pub const MIGRATIONS: &[Migration] = &[
    kit::migration!("0001_init"),
    kit::migration!("0002_refund_status"),
    kit::outbox::MIGRATION,
    kit::outbox::DELIVERIES_MIGRATION,
    kit::outbox::COUNTERS_MIGRATION,
    kit::edge::IDEMPOTENCY_MIGRATION,
];

#[derive(Debug)]
pub enum PaymentError {
    /// The input breaks a rule, the field named (422).
    Invalid(Vec<FieldError>),
    /// The request cannot be read as what it claims to be (400).
    Malformed(String),
    /// No such payment in this tenant (404).
    NotFound,
    /// The payment's status forbids the change (409).
    Conflict(IllegalTransition),
    /// The provider did not do it (503 when worth retrying, else 502).
    Provider(ProviderError),
    Db(DbError),
}

impl PaymentError {
    fn invalid(field: &str, message: impl Into<String>) -> Self {
        PaymentError::Invalid(vec![FieldError::new(field, message)])
    }
}

impl From<DbError> for PaymentError {
    fn from(error: DbError) -> Self {
        PaymentError::Db(error)
    }
}

impl From<ProviderError> for PaymentError {
    fn from(error: ProviderError) -> Self {
        PaymentError::Provider(error)
    }
}

impl fmt::Display for PaymentError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PaymentError::Invalid(errors) => {
                let fields: Vec<String> = errors
                    .iter()
                    .map(|e| format!("{} {}", e.field, e.message))
                    .collect();
                write!(f, "invalid: {}", fields.join("; "))
            }
            PaymentError::Malformed(detail) => f.write_str(detail),
            PaymentError::NotFound => f.write_str("payment not found"),
            PaymentError::Conflict(transition) => transition.fmt(f),
            PaymentError::Provider(error) => error.fmt(f),
            PaymentError::Db(error) => error.fmt(f),
        }
    }
}

impl std::error::Error for PaymentError {}

/// The HTTP answer. A database error becomes a bare 500: the caller logs it first.
impl From<PaymentError> for Problem {
    fn from(error: PaymentError) -> Self {
        match error {
            PaymentError::Invalid(errors) => Problem::validation(errors),
            PaymentError::Malformed(detail) => Problem::bad_request(detail),
            PaymentError::NotFound => Problem::not_found("no such payment"),
            PaymentError::Conflict(transition) => Problem::conflict(transition.to_string()),
            PaymentError::Provider(error @ ProviderError::Unavailable(_)) => {
                Problem::unavailable(error.to_string())
            }
            PaymentError::Provider(error @ ProviderError::Refused(_)) => Problem::new(
                http::StatusCode::BAD_GATEWAY,
                "provider-refused",
                error.to_string(),
            ),
            PaymentError::Db(error) => error.into(),
        }
    }
}

/// The API logs a database failure before its bare answer.
impl kit::DomainError for PaymentError {
    fn db_cause(&self) -> Option<&dyn std::fmt::Display> {
        match self {
            PaymentError::Db(cause) => Some(cause),
            _ => None,
        }
    }
}

/// For event handlers: what may work later is retried, the rest dead-lettered.
impl From<PaymentError> for HandlerError {
    fn from(error: PaymentError) -> Self {
        match error {
            PaymentError::Db(_) | PaymentError::Provider(ProviderError::Unavailable(_)) => {
                HandlerError::Retry(error.to_string())
            }
            other => HandlerError::Refuse(other.to_string()),
        }
    }
}

#[cfg(test)]
mod test_support {
    use crate::stripe::tests::ScriptedStripe;
    use crate::{Provider, payment_id_for_order};
    use contracts::{
        Address, Envelope, InventoryReserved, OrderCancelled, PaymentRefundRequested, StockLine,
    };
    use kit::db::{NativeSqlite, migrate};
    use kit::outbox::{HandlerError, apply_once, apply_once_calling_out};

    pub const TENANT: &str = "acme";

    pub fn database() -> NativeSqlite {
        let db = NativeSqlite::open_in_memory().unwrap();
        futures::executor::block_on(migrate(&db, crate::CONTEXT, crate::MIGRATIONS)).unwrap();
        db
    }

    pub fn test_provider() -> Provider<ScriptedStripe> {
        Provider::Test
    }

    pub fn address() -> Address {
        Address {
            name: "Ada Lovelace".into(),
            line1: "1 Analytical Way".into(),
            city: "London".into(),
            postal_code: "N1 9GU".into(),
            country: "GB".into(),
        }
    }

    pub fn reserved(order_id: &str, total: i64, token: &str) -> Envelope<InventoryReserved> {
        Envelope::new(
            "/components/inventory-on-order-created",
            TENANT,
            "corr-1",
            InventoryReserved {
                order_id: order_id.into(),
                customer_id: "cust-1".into(),
                items: vec![StockLine {
                    sku: "MUG-1".into(),
                    quantity: 2,
                }],
                total,
                currency: "EUR".into(),
                payment_token: token.into(),
                shipping_address: address(),
            },
        )
    }

    pub fn cancelled(order_id: &str) -> Envelope<OrderCancelled> {
        Envelope::new(
            "/components/orders-api",
            TENANT,
            "corr-2",
            OrderCancelled {
                order_id: order_id.into(),
                customer_id: "cust-1".into(),
                items: vec![],
                total: 0,
                currency: "EUR".into(),
                previous_status: "paid".into(),
                cancelled_by: "cust-1".into(),
                reason: None,
            },
        )
    }

    /// Applies the charge handler to `event` as `serve_event_calling_out` would.
    pub fn deliver_reserved(
        db: &NativeSqlite,
        provider: &Provider<ScriptedStripe>,
        event: &Envelope<InventoryReserved>,
    ) -> Result<Option<()>, HandlerError> {
        futures::executor::block_on(apply_once_calling_out(
            db,
            "payments-on-inventory-reserved",
            &event.id,
            async |db| crate::charge_order(db, provider, event).await,
            async |db, answer| crate::record_charge(db, event, answer).await,
        ))
    }

    pub fn deliver_cancelled(
        db: &NativeSqlite,
        event: &Envelope<OrderCancelled>,
    ) -> Result<Option<()>, HandlerError> {
        futures::executor::block_on(apply_once(
            db,
            "payments-on-order-cancelled",
            &event.id,
            async |db| crate::refund_cancelled_order(db, event).await,
        ))
    }

    /// Delivers every `payment.refund_requested` in the outbox to its handler, oldest
    /// first, as the dispatcher would: the first failure, if any.
    pub fn deliver_refund_requests(
        db: &NativeSqlite,
        provider: &Provider<ScriptedStripe>,
    ) -> Result<(), HandlerError> {
        use kit::db::Db;
        let rows = futures::executor::block_on(db.query(
            "SELECT payload FROM outbox WHERE topic = 'payment.refund_requested' \
             ORDER BY created_at, id",
            &[],
        ))
        .unwrap();
        for row in &rows {
            let event =
                Envelope::<PaymentRefundRequested>::from_json(row.get_str(0).unwrap().as_bytes())
                    .unwrap();
            futures::executor::block_on(apply_once_calling_out(
                db,
                "payments-on-payment-refund-requested",
                &event.id,
                async |db| crate::refund_through_provider(db, provider, &event).await,
                async |db, ()| crate::record_refund(db, &event).await,
            ))?;
        }
        Ok(())
    }

    /// The payment of `order_id`, charged with `token` through the test provider.
    pub fn charged(db: &NativeSqlite, order_id: &str, total: i64, token: &str) -> crate::Payment {
        deliver_reserved(db, &test_provider(), &reserved(order_id, total, token)).unwrap();
        let id = payment_id_for_order(TENANT, order_id);
        futures::executor::block_on(crate::get_payment(db, TENANT, &id)).unwrap()
    }

    /// The outbox's events other contexts hear as (type, data), oldest first
    /// (`payment.refund_requested` is payments' own).
    pub fn events(db: &NativeSqlite) -> Vec<(String, serde_json::Value)> {
        use kit::db::Db;
        let rows = futures::executor::block_on(db.query(
            "SELECT topic, payload FROM outbox WHERE topic <> 'payment.refund_requested' \
             ORDER BY created_at, id",
            &[],
        ))
        .unwrap();
        rows.iter()
            .map(|row| {
                let envelope: serde_json::Value =
                    serde_json::from_str(row.get_str(1).unwrap()).unwrap();
                (row.get_str(0).unwrap().to_owned(), envelope["data"].clone())
            })
            .collect()
    }
}
