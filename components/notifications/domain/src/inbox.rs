//! The `notifications` table: messages stored once per customer per event, and each
//! customer's inbox, newest first.

use crate::messages::{Kind, Message, Notify};
use contracts::{Envelope, now_rfc3339};
use kit::db::{Db, DbError, Row, SqlValue};
use kit::pagination::{ListOrder, Page, PageParams, Position};
use serde::Serialize;

/// A stored message, as its customer reads it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Notification {
    pub id: String,
    /// Whose message it is; implied by the inbox it is read from.
    #[serde(skip_serializing)]
    #[schema(ignore)]
    pub customer_id: String,
    pub kind: Kind,
    pub subject: String,
    pub body: String,
    pub created_at: String,
    /// The event the message tells of.
    pub event_id: String,
}

const COLUMNS: &str = "id, customer_id, kind, subject, body, created_at, event_id";

fn notification(row: &Row) -> Result<Notification, DbError> {
    let kind = row.get_str(2)?;
    Ok(Notification {
        id: row.get_str(0)?.to_owned(),
        customer_id: row.get_str(1)?.to_owned(),
        kind: Kind::parse(kind).ok_or_else(|| {
            DbError::Other(format!("stored notification kind {kind:?} is unknown"))
        })?,
        subject: row.get_str(3)?.to_owned(),
        body: row.get_str(4)?.to_owned(),
        created_at: row.get_str(5)?.to_owned(),
        event_id: row.get_str(6)?.to_owned(),
    })
}

/// The messages `event` renders that have a customer to go to. A message naming no
/// customer has no inbox; it is logged and dropped.
fn addressed_messages<E: Notify>(event: &Envelope<E>) -> Vec<Message> {
    let mut messages = event.data.messages();
    messages.retain(|message| {
        let addressed = !message.customer_id.trim().is_empty();
        if !addressed {
            eprintln!(
                "notifications: {} {} names no customer for a {} message; not stored",
                event.event_type,
                event.id,
                message.kind.as_str()
            );
        }
        addressed
    });
    messages
}

/// The messages of `event` not stored yet: what is still to be emailed.
pub async fn new_messages<D: Db, E: Notify>(
    db: &D,
    event: &Envelope<E>,
) -> Result<Vec<Message>, DbError> {
    let mut new = Vec::new();
    for message in addressed_messages(event) {
        let stored = db
            .query(
                "SELECT 1 FROM notifications WHERE tenant = $1 AND event_id = $2 \
                 AND customer_id = $3",
                &[
                    event.tenant.as_str().into(),
                    event.id.as_str().into(),
                    message.customer_id.as_str().into(),
                ],
            )
            .await?;
        if stored.is_empty() {
            new.push(message);
        }
    }
    Ok(new)
}

/// Stores the messages `event` renders, for its tenant, and returns those stored now: a
/// customer who already has this event's message (a redelivery past the inbox of applied
/// events) is skipped, so nothing is stored twice. Call it in the handler's transaction.
pub async fn store_messages<D: Db, E: Notify>(
    db: &D,
    event: &Envelope<E>,
) -> Result<Vec<Notification>, DbError> {
    let mut stored = Vec::new();
    for message in addressed_messages(event) {
        let rows = db
            .query(
                &format!(
                    "INSERT INTO notifications (id, tenant, customer_id, kind, subject, body, \
                     event_id, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) \
                     ON CONFLICT (tenant, event_id, customer_id) DO NOTHING RETURNING {COLUMNS}"
                ),
                &[
                    uuid::Uuid::now_v7().to_string().into(),
                    event.tenant.as_str().into(),
                    message.customer_id.as_str().into(),
                    message.kind.as_str().into(),
                    message.subject.as_str().into(),
                    message.body.as_str().into(),
                    event.id.as_str().into(),
                    now_rfc3339().into(),
                ],
            )
            .await?;
        if let Some(row) = rows.first() {
            stored.push(notification(row)?);
        }
    }
    Ok(stored)
}

/// A page of `customer_id`'s messages in `tenant`, newest first.
pub async fn list_notifications<D: Db>(
    db: &D,
    tenant: &str,
    customer_id: &str,
    page: &PageParams<Position>,
) -> Result<Page<Notification>, DbError> {
    let mut sql =
        format!("SELECT {COLUMNS} FROM notifications WHERE tenant = $1 AND customer_id = $2");
    let mut params: Vec<SqlValue> = vec![tenant.into(), customer_id.into()];
    page.finish_query(&mut sql, &mut params, ListOrder::NewestFirst, None);
    let rows = db.query(&sql, &params).await?;
    let items = rows
        .iter()
        .map(notification)
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Page::from_rows(items, page.limit, |notification| {
        Position::of(&notification.created_at, &notification.id)
    }))
}
