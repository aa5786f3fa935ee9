//! The notifications context: what a customer sees of the saga, of returns and of group
//! buying.
//!
//! It listens to the saga's `payment.succeeded`, `payment.failed`, `shipment.in_transit`,
//! `shipment.delivered`, `order.cancelled` and `payment.refunded`, to the returns'
//! `return.requested`, `return.approved`, `return.rejected`, `return.received` and
//! `return.refunded`, and to group buying's `campaign.successful` and `campaign.failed`.
//! Each event renders, from a template per [`Kind`], one message per customer it concerns
//! ([`Notify`]); a `payment.refunded` that pays a return back renders none, as its
//! `return.refunded` tells the customer. The handler first — when the `email_api_url`
//! variable is set, and outside any transaction — emails those not stored yet through a
//! Postmark-style API with the address read from accounts ([`email()`]), then stores them
//! in `notifications` in its transaction, once per customer and event ([`record`]).
//! Customers read their own messages, newest first ([`list_notifications`]). Every query
//! is scoped to the event's or the token's tenant.

pub mod email;
mod inbox;
mod messages;
pub mod template;

pub use email::{EmailSettings, email, email_new_messages, record};
pub use inbox::{Notification, list_notifications, new_messages, store_messages};
pub use kit::pagination::Position;
pub use messages::{Kind, Message, Notify, Template};

use kit::db::Migration;

/// The context's name: its SQLite database label and PostgreSQL schema.
pub const CONTEXT: &str = "notifications";

/// The notifications schema, the outbox tables every context carries, and the edge's
/// idempotency records, in order, for `kit::db::migrate(db, CONTEXT, MIGRATIONS)`.
pub const MIGRATIONS: &[Migration] = &[
    kit::migration!("0001_init"),
    kit::outbox::MIGRATION,
    kit::outbox::DELIVERIES_MIGRATION,
    kit::outbox::COUNTERS_MIGRATION,
    kit::edge::IDEMPOTENCY_MIGRATION,
];

#[cfg(test)]
mod tests;
