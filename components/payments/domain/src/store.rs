//! Payments as stored: the row, its refunds, reads and keyset-paginated lists, the
//! derived ids, and what caused a change (for the events it emits).

use crate::PaymentError;
use crate::status::PaymentStatus;
use contracts::{Address, Envelope, Event};
use kit::db::{Db, DbError, Row, SqlValue};
use kit::pagination::{ListOrder, Page, PageParams, Position};
use serde::Serialize;
use uuid::Uuid;

/// A payment as the API shows it. Amounts are minor units of `currency`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Payment {
    pub id: String,
    pub order_id: String,
    pub customer_id: String,
    pub amount: i64,
    pub currency: String,
    pub status: PaymentStatus,
    /// `test` or `stripe`.
    pub provider: String,
    /// The provider's charge id (Stripe's PaymentIntent id).
    pub provider_reference: Option<String>,
    pub refunded_amount: i64,
    /// Why a `failed` payment failed.
    pub failure_reason: Option<String>,
    /// The provider's decline code, when a `failed` payment has one.
    pub decline_code: Option<String>,
    /// Oldest first.
    pub refunds: Vec<RefundRecord>,
    pub created_at: String,
    pub updated_at: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct RefundRecord {
    pub id: String,
    pub amount: i64,
    pub status: RefundStatus,
    pub created_at: String,
}

/// A refund is taken from the payment when it is `requested`, and `completed` once the
/// provider has made it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum RefundStatus {
    Requested,
    Completed,
}

impl RefundStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            RefundStatus::Requested => "requested",
            RefundStatus::Completed => "completed",
        }
    }

    fn parse(text: &str) -> Result<Self, DbError> {
        match text {
            "requested" => Ok(RefundStatus::Requested),
            "completed" => Ok(RefundStatus::Completed),
            other => Err(DbError::Other(format!("unknown refund status {other:?}"))),
        }
    }
}

/// The status of the tenant's refund `id`, `None` when there is none.
pub(crate) async fn refund_status<D: Db>(
    db: &D,
    tenant: &str,
    id: &str,
) -> Result<Option<RefundStatus>, DbError> {
    let rows = db
        .query(
            "SELECT status FROM refunds WHERE tenant = $1 AND id = $2",
            &[tenant.into(), id.into()],
        )
        .await?;
    rows.first()
        .map(|row| RefundStatus::parse(row.get_str(0)?))
        .transpose()
}

/// A payment with what only this context needs: its tenant, the address a later
/// `payment.succeeded` carries, and the flow it belongs to.
#[derive(Debug, Clone)]
pub(crate) struct Stored {
    pub payment: Payment,
    pub tenant: String,
    pub shipping_address: String,
    pub correlation_id: String,
}

impl Stored {
    pub fn shipping_address(&self) -> Result<Address, DbError> {
        serde_json::from_str(&self.shipping_address)
            .map_err(|error| DbError::Other(format!("stored shipping address: {error}")))
    }
}

/// List filter (`?order_id=`); `None` lists every payment of the tenant.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PaymentFilter {
    pub order_id: Option<String>,
}

const COLUMNS: &str = "id, order_id, customer_id, amount, currency, status, provider, \
    provider_reference, refunded_amount, failure_reason, decline_code, created_at, \
    updated_at, tenant, shipping_address, correlation_id";

fn stored(row: &Row) -> Result<Stored, DbError> {
    let text = |i| row.get_str(i).map(str::to_owned);
    let optional = |i| row.get_opt_str(i).map(|s| s.map(str::to_owned));
    Ok(Stored {
        payment: Payment {
            id: text(0)?,
            order_id: text(1)?,
            customer_id: text(2)?,
            amount: row.get_i64(3)?,
            currency: text(4)?,
            status: PaymentStatus::stored(row.get_str(5)?)?,
            provider: text(6)?,
            provider_reference: optional(7)?,
            refunded_amount: row.get_i64(8)?,
            failure_reason: optional(9)?,
            decline_code: optional(10)?,
            refunds: Vec::new(),
            created_at: text(11)?,
            updated_at: text(12)?,
        },
        tenant: text(13)?,
        shipping_address: text(14)?,
        correlation_id: text(15)?,
    })
}

async fn find_where<D: Db>(
    db: &D,
    condition: &str,
    params: &[SqlValue],
) -> Result<Option<Stored>, DbError> {
    let rows = db
        .query(
            &format!("SELECT {COLUMNS} FROM payments WHERE {condition}"),
            params,
        )
        .await?;
    rows.first().map(stored).transpose()
}

pub(crate) async fn find<D: Db>(db: &D, tenant: &str, id: &str) -> Result<Option<Stored>, DbError> {
    find_where(db, "tenant = $1 AND id = $2", &[tenant.into(), id.into()]).await
}

pub(crate) async fn find_by_order<D: Db>(
    db: &D,
    tenant: &str,
    order_id: &str,
) -> Result<Option<Stored>, DbError> {
    find_where(
        db,
        "tenant = $1 AND order_id = $2",
        &[tenant.into(), order_id.into()],
    )
    .await
}

/// The payment whose provider charge is `reference`, in whichever tenant: Stripe's ids
/// are unique across Stripe, and the webhook that asks carries no tenant of its own.
pub(crate) async fn find_by_provider_reference<D: Db>(
    db: &D,
    reference: &str,
) -> Result<Option<Stored>, DbError> {
    find_where(db, "provider_reference = $1", &[reference.into()]).await
}

/// Fills in each payment's refunds, oldest first, in one query.
async fn with_refunds<D: Db>(
    db: &D,
    tenant: &str,
    mut payments: Vec<Payment>,
) -> Result<Vec<Payment>, DbError> {
    if payments.is_empty() {
        return Ok(payments);
    }
    let mut params: Vec<SqlValue> = vec![tenant.into()];
    let placeholders: Vec<String> = payments
        .iter()
        .map(|payment| {
            params.push(payment.id.as_str().into());
            format!("${}", params.len())
        })
        .collect();
    let rows = db
        .query(
            &format!(
                "SELECT payment_id, id, amount, status, created_at FROM refunds \
                 WHERE tenant = $1 AND payment_id IN ({}) ORDER BY created_at, id",
                placeholders.join(", ")
            ),
            &params,
        )
        .await?;
    for row in &rows {
        let payment_id = row.get_str(0)?;
        if let Some(payment) = payments.iter_mut().find(|p| p.id == payment_id) {
            payment.refunds.push(RefundRecord {
                id: row.get_str(1)?.to_owned(),
                amount: row.get_i64(2)?,
                status: RefundStatus::parse(row.get_str(3)?)?,
                created_at: row.get_str(4)?.to_owned(),
            });
        }
    }
    Ok(payments)
}

/// The tenant's payment `id` with its refunds; [`PaymentError::NotFound`] when unknown.
pub async fn get_payment<D: Db>(db: &D, tenant: &str, id: &str) -> Result<Payment, PaymentError> {
    let stored = find(db, tenant, id).await?.ok_or(PaymentError::NotFound)?;
    let mut payments = with_refunds(db, tenant, vec![stored.payment]).await?;
    Ok(payments.remove(0))
}

/// One page of the tenant's payments, oldest first, optionally of one order.
pub async fn list_payments<D: Db>(
    db: &D,
    tenant: &str,
    filter: &PaymentFilter,
    page: &PageParams<Position>,
) -> Result<Page<Payment>, PaymentError> {
    let mut sql = format!("SELECT {COLUMNS} FROM payments WHERE tenant = $1");
    let mut params: Vec<SqlValue> = vec![tenant.into()];
    if let Some(order_id) = &filter.order_id {
        params.push(order_id.as_str().into());
        sql.push_str(&format!(" AND order_id = ${}", params.len()));
    }
    page.finish_query(&mut sql, &mut params, ListOrder::OldestFirst, None);
    let rows = db.query(&sql, &params).await?;
    let payments = rows
        .iter()
        .map(|row| stored(row).map(|stored| stored.payment))
        .collect::<Result<Vec<_>, _>>()?;
    let page = Page::from_rows(payments, page.limit, |payment| {
        Position::of(&payment.created_at, &payment.id)
    });
    Ok(Page {
        items: with_refunds(db, tenant, page.items).await?,
        next_cursor: page.next_cursor,
    })
}

/// The namespace of the ids this context derives (a UUIDv5 namespace of its own).
const ID_NAMESPACE: Uuid = Uuid::from_u128(0x6f1e_2b8c_4d3a_4e59_9a07_1c5d_8e2f_0b64);

/// A UUIDv5 over `kind`, the tenant and `key`: the same inputs always give the same
/// id. Used where the id is also the provider's Idempotency-Key, so that an attempt
/// rolled back after the provider acted repeats with the same key instead of charging
/// or refunding twice. Tenants never contain a newline, so the parts cannot run together.
pub(crate) fn derived_id(kind: &str, tenant: &str, key: &str) -> String {
    Uuid::new_v5(&ID_NAMESPACE, format!("{kind}\n{tenant}\n{key}").as_bytes()).to_string()
}

/// The id of the one payment of an order: a UUIDv5 over the tenant and the order id
/// (see [`derived_id`]), identical on every redelivery of `inventory.reserved`, so
/// Stripe's Idempotency-Key (= the payment id) makes a repeated charge harmless.
pub fn payment_id_for_order(tenant: &str, order_id: &str) -> String {
    derived_id("payment", tenant, order_id)
}

/// Serialises the handlers of one order (charge, cancellation, webhook) for the rest
/// of the transaction, so a cancellation never misses a charge committed beside it.
pub(crate) async fn lock_order<D: Db>(db: &D, tenant: &str, order_id: &str) -> Result<(), DbError> {
    kit::db::lock_key(db, &format!("payments\n{tenant}\n{order_id}")).await
}

/// Whether `order.cancelled` came before any charge of the order.
pub(crate) async fn is_cancelled<D: Db>(
    db: &D,
    tenant: &str,
    order_id: &str,
) -> Result<bool, DbError> {
    let rows = db
        .query(
            "SELECT 1 FROM cancelled_orders WHERE tenant = $1 AND order_id = $2",
            &[tenant.into(), order_id.into()],
        )
        .await?;
    Ok(!rows.is_empty())
}

/// What caused a change, for the events it emits: the emitting component, the tenant,
/// the flow (correlation id) and the causing event, if any.
pub(crate) struct Cause {
    pub source: &'static str,
    pub tenant: String,
    pub correlation_id: String,
    pub causation_id: Option<String>,
}

impl Cause {
    pub fn event<C>(source: &'static str, event: &Envelope<C>) -> Self {
        Self {
            source,
            tenant: event.tenant.clone(),
            correlation_id: event.correlationid.clone(),
            causation_id: Some(event.id.clone()),
        }
    }

    /// A change made by a request or a webhook, in the flow `correlation_id`.
    pub fn request(source: &'static str, tenant: &str, correlation_id: &str) -> Self {
        Self {
            source,
            tenant: tenant.to_owned(),
            correlation_id: correlation_id.to_owned(),
            causation_id: None,
        }
    }

    pub fn envelope<T: Event>(&self, data: T) -> Envelope<T> {
        Envelope {
            causationid: self.causation_id.clone(),
            ..Envelope::new(self.source, &self.tenant, &self.correlation_id, data)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::*;
    use futures::executor::block_on;

    #[test]
    fn payment_ids_are_derived_from_tenant_and_order() {
        let id = payment_id_for_order("acme", "order-1");
        assert_eq!(id, payment_id_for_order("acme", "order-1"));
        assert_ne!(id, payment_id_for_order("acme", "order-2"));
        assert_ne!(id, payment_id_for_order("globex", "order-1"));
        assert_ne!(id, derived_id("refund", "acme", "order-1"));
        assert_eq!(Uuid::parse_str(&id).unwrap().get_version_num(), 5);
    }

    #[test]
    fn get_and_list_are_tenant_scoped_and_paginated() {
        let db = database();
        let ids: Vec<String> = (0..3)
            .map(|i| charged(&db, &format!("order-{i}"), 1000 + i, "tok_visa").id)
            .collect();

        let first = block_on(list_payments(
            &db,
            TENANT,
            &PaymentFilter::default(),
            &PageParams {
                limit: 2,
                after: None,
            },
        ))
        .unwrap();
        assert_eq!(first.items.len(), 2);
        let after = kit::pagination::decode_cursor(first.next_cursor.as_deref().unwrap()).unwrap();
        let second = block_on(list_payments(
            &db,
            TENANT,
            &PaymentFilter::default(),
            &PageParams {
                limit: 2,
                after: Some(after),
            },
        ))
        .unwrap();
        assert_eq!(second.next_cursor, None);
        let mut listed: Vec<String> = first
            .items
            .iter()
            .chain(&second.items)
            .map(|p| p.id.clone())
            .collect();
        listed.sort();
        let mut expected = ids.clone();
        expected.sort();
        assert_eq!(listed, expected);

        let by_order = block_on(list_payments(
            &db,
            TENANT,
            &PaymentFilter {
                order_id: Some("order-1".into()),
            },
            &PageParams {
                limit: 20,
                after: None,
            },
        ))
        .unwrap();
        assert_eq!(by_order.items.len(), 1);
        assert_eq!(by_order.items[0].amount, 1001);

        let other_tenant = block_on(list_payments(
            &db,
            "globex",
            &PaymentFilter::default(),
            &PageParams {
                limit: 20,
                after: None,
            },
        ))
        .unwrap();
        assert!(other_tenant.items.is_empty());
        assert!(matches!(
            block_on(get_payment(&db, "globex", &ids[0])),
            Err(PaymentError::NotFound)
        ));
        assert!(matches!(
            block_on(get_payment(&db, TENANT, "nope")),
            Err(PaymentError::NotFound)
        ));
    }
}
