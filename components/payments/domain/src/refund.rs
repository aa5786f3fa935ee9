//! Refunds: an admin's full or partial refund, the refund of a cancelled order or of a
//! received return, and the guard that keeps concurrent refunds within the captured
//! amount.

use crate::provider::{Provider, Refund};
use crate::status::{PaymentStatus, RefundAmountError, refund_amount, status_after_refund};
use crate::store::{
    Cause, RefundStatus, Stored, derived_id, find, find_by_order, lock_order, refund_status,
};
use crate::{Payment, PaymentError, get_payment};
use contracts::{
    Envelope, OrderCancelled, PaymentRefundRequested, PaymentRefunded, ReturnReceived, now_rfc3339,
};
use kit::db::{Db, transaction};
use kit::outbound::Outbound;
use kit::outbox::{HandlerError, enqueue};
use kit::status::Machine;
use serde::Deserialize;

const API_SOURCE: &str = "/components/payments";
const CANCELLATION_SOURCE: &str = "/components/payments-on-order-cancelled";
const RETURN_SOURCE: &str = "/components/payments-on-return-received";
const REFUND_SOURCE: &str = "/components/payments-on-payment-refund-requested";

/// `POST /api/v1/payments/{id}/refund`: `amount` in minor units, absent for
/// everything not refunded yet.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RefundBody {
    #[serde(default)]
    #[schema(minimum = 1)]
    pub amount: Option<i64>,
}

/// The amount a refund of `requested` takes from `payment`: 422 naming `amount` when
/// it is not positive or more than remains, 409 naming both states when the payment's
/// status allows no refund.
fn checked_amount(payment: &Payment, requested: Option<i64>) -> Result<i64, PaymentError> {
    let invalid = |error: RefundAmountError| PaymentError::invalid("amount", error.to_string());
    if let Some(amount) = requested
        && amount <= 0
    {
        return Err(invalid(RefundAmountError::NotPositive));
    }
    let target = status_after_refund(
        payment.amount,
        payment.refunded_amount + requested.unwrap_or(payment.amount),
    );
    payment
        .status
        .check(target)
        .map_err(PaymentError::Conflict)?;
    refund_amount(payment.amount, payment.refunded_amount, requested).map_err(invalid)
}

/// Refunds `requested` (or the rest) of the tenant's payment `id`: takes the amount
/// under the guard and records the refund as requested, with `payment.refund_requested`
/// in the same transaction; the provider is called by that event's handler
/// ([`refund_through_provider`]), outside any transaction, and `payment.refunded`
/// follows once it has. The answer is the payment with the refund taken.
pub async fn refund_payment<D: Db>(
    db: &D,
    tenant: &str,
    request_id: &str,
    id: &str,
    body: &RefundBody,
) -> Result<Payment, PaymentError> {
    transaction(db, async |db| {
        let stored = find(db, tenant, id).await?.ok_or(PaymentError::NotFound)?;
        let amount = checked_amount(&stored.payment, body.amount)?;
        let cause = Cause::request(API_SOURCE, tenant, request_id);
        let refund_id = uuid::Uuid::now_v7().to_string();
        request_refund(db, &stored, amount, &refund_id, None, &cause).await
    })
    .await
}

/// What [`refund_order`] did or found.
enum OrderRefund {
    /// The refund is requested now.
    Requested,
    /// The refund was requested before (its id is recorded): a redelivery.
    AlreadyRequested,
    /// The order has no payment.
    NoPayment,
    /// The order's payment allows no refund (pending, failed, refunded whole).
    Unrefundable {
        payment_id: String,
        status: PaymentStatus,
    },
}

/// Under the order's lock (see [`lock_order`]), requests refund `refund_id` (paying back
/// `return_id`, if any) of `amount(payment)` from order `order_id`'s payment, unless
/// that refund is recorded already or the payment allows none: what was found then,
/// for the caller to judge. An admin's refund (which takes no lock of the order) may
/// take part of what was read as remaining: the retry reads the payment again.
async fn refund_order<D: Db>(
    db: &D,
    tenant: &str,
    order_id: &str,
    refund_id: &str,
    return_id: Option<&str>,
    cause: &Cause,
    amount: impl FnOnce(&Payment) -> Result<i64, HandlerError>,
) -> Result<OrderRefund, HandlerError> {
    lock_order(db, tenant, order_id).await?;
    // Before the status: this very refund may have left the payment fully refunded.
    if refund_status(db, tenant, refund_id).await?.is_some() {
        return Ok(OrderRefund::AlreadyRequested);
    }
    let Some(stored) = find_by_order(db, tenant, order_id).await? else {
        return Ok(OrderRefund::NoPayment);
    };
    let payment = &stored.payment;
    if !payment.status.is_refundable() {
        return Ok(OrderRefund::Unrefundable {
            payment_id: payment.id.clone(),
            status: payment.status,
        });
    }
    let amount = amount(payment)?;
    request_refund(db, &stored, amount, refund_id, return_id, cause)
        .await
        .map_err(|error| match error {
            PaymentError::Invalid(_) | PaymentError::Conflict(_) => {
                HandlerError::Retry(error.to_string())
            }
            other => other.into(),
        })?;
    Ok(OrderRefund::Requested)
}

/// Refunds what remains of a cancelled order's captured payment. A payment not made
/// yet, or still pending, is marked cancelled instead: a later charge does nothing,
/// and a pending charge that succeeds after all is refunded when it settles. Failed
/// and refunded payments need nothing. The refund id is derived from the cancellation
/// event, so the provider sees one Idempotency-Key however often it is asked.
pub async fn refund_cancelled_order<D: Db>(
    db: &D,
    event: &Envelope<OrderCancelled>,
) -> Result<(), HandlerError> {
    let tenant = &event.tenant;
    let order_id = &event.data.order_id;
    let refund_id = derived_id("refund", tenant, &event.id);
    let cause = Cause::event(CANCELLATION_SOURCE, event);
    let rest = |payment: &Payment| Ok(payment.amount - payment.refunded_amount);
    match refund_order(db, tenant, order_id, &refund_id, None, &cause, rest).await? {
        OrderRefund::Requested | OrderRefund::AlreadyRequested => {}
        OrderRefund::Unrefundable { status, .. } if status != PaymentStatus::Pending => {
            eprintln!(
                "payments: order {order_id} cancelled; its payment is {status}, nothing to refund"
            );
        }
        OrderRefund::NoPayment | OrderRefund::Unrefundable { .. } => {
            db.execute(
                "INSERT INTO cancelled_orders (tenant, order_id, cancelled_at) VALUES ($1, $2, $3) \
                 ON CONFLICT (tenant, order_id) DO NOTHING",
                &[
                    tenant.as_str().into(),
                    order_id.as_str().into(),
                    now_rfc3339().into(),
                ],
            )
            .await?;
        }
    }
    Ok(())
}

/// `return.received`: requests the refund of the return's `summary.amount` from the
/// order's payment, as `derived_id("return", tenant, return_id)`: one refund per
/// return however often it is announced, and one Idempotency-Key at the provider. A
/// return worth more than remains of the capture (an admin refunded part by hand)
/// refunds what remains; one worth 0 needs nothing (orders closes it itself). A missing
/// or unrefundable payment, or one in another currency, is refused: a dead letter an
/// admin settles by hand.
pub async fn refund_returned_items<D: Db>(
    db: &D,
    event: &Envelope<ReturnReceived>,
) -> Result<(), HandlerError> {
    let summary = &event.data.summary;
    let tenant = &event.tenant;
    let (return_id, order_id) = (&summary.return_id, &summary.order_id);
    let refuse = |why: String| {
        HandlerError::Refuse(format!("return {return_id} of order {order_id}: {why}"))
    };
    if summary.amount == 0 {
        eprintln!("payments: return {return_id} of order {order_id} is worth 0; nothing to refund");
        return Ok(());
    }
    if summary.amount < 0 {
        return Err(refuse(format!("a negative amount ({})", summary.amount)));
    }
    let refund_id = derived_id("return", tenant, return_id);
    let cause = Cause::event(RETURN_SOURCE, event);
    let amount = |payment: &Payment| {
        if payment.currency != summary.currency {
            return Err(refuse(format!(
                "the return is in {} but its payment {} is in {}",
                summary.currency, payment.id, payment.currency
            )));
        }
        let rest = payment.amount - payment.refunded_amount;
        if summary.amount > rest {
            eprintln!(
                "payments: return {return_id} is worth {} but only {rest} of payment {} \
                 remains; refunding {rest}",
                summary.amount, payment.id
            );
        }
        Ok(summary.amount.min(rest))
    };
    let found = refund_order(
        db,
        tenant,
        order_id,
        &refund_id,
        Some(return_id),
        &cause,
        amount,
    )
    .await?;
    match found {
        OrderRefund::Requested => Ok(()),
        OrderRefund::AlreadyRequested => {
            eprintln!("payments: return {return_id} already has its refund {refund_id}; no change");
            Ok(())
        }
        OrderRefund::NoPayment => Err(refuse("the order has no payment to refund".into())),
        OrderRefund::Unrefundable { payment_id, status } => Err(refuse(format!(
            "its payment {payment_id} is {status}, nothing can be refunded"
        ))),
    }
}

/// Takes `amount` from the payment with a conditional UPDATE (`refunded_amount +
/// amount <= amount`, so concurrent refunds never exceed the capture), moves the
/// status, records the refund as requested and enqueues `payment.refund_requested`
/// (naming `return_id`, the return it pays back, if any). Runs inside the caller's
/// transaction; calls nobody.
pub(crate) async fn request_refund<D: Db>(
    db: &D,
    stored: &Stored,
    amount: i64,
    refund_id: &str,
    return_id: Option<&str>,
    cause: &Cause,
) -> Result<Payment, PaymentError> {
    let payment = &stored.payment;
    let now = now_rfc3339();
    let guarded = db
        .query(
            "UPDATE payments SET refunded_amount = refunded_amount + $3, updated_at = $4 \
             WHERE tenant = $1 AND id = $2 AND status IN ($5, $6) \
             AND refunded_amount + $3 <= amount \
             RETURNING refunded_amount, status",
            &[
                stored.tenant.as_str().into(),
                payment.id.as_str().into(),
                amount.into(),
                now.as_str().into(),
                PaymentStatus::Succeeded.as_str().into(),
                PaymentStatus::PartiallyRefunded.as_str().into(),
            ],
        )
        .await?;
    let Some(row) = guarded.first() else {
        // Another refund got there first: explain against the payment as it is now.
        let current = find(db, &stored.tenant, &payment.id)
            .await?
            .ok_or(PaymentError::NotFound)?;
        checked_amount(&current.payment, Some(amount))?;
        return Err(PaymentError::invalid(
            "amount",
            "exceeds what remains of the captured amount",
        ));
    };
    let total_refunded = row.get_i64(0)?;
    let from = PaymentStatus::stored(row.get_str(1)?)?;
    let next = status_after_refund(payment.amount, total_refunded);
    from.check(next).map_err(PaymentError::Conflict)?;
    db.execute(
        "UPDATE payments SET status = $3 WHERE tenant = $1 AND id = $2",
        &[
            stored.tenant.as_str().into(),
            payment.id.as_str().into(),
            next.as_str().into(),
        ],
    )
    .await?;
    db.execute(
        "INSERT INTO refunds (id, tenant, payment_id, amount, status, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6)",
        &[
            refund_id.into(),
            stored.tenant.as_str().into(),
            payment.id.as_str().into(),
            amount.into(),
            RefundStatus::Requested.as_str().into(),
            now.into(),
        ],
    )
    .await?;
    let requested = PaymentRefundRequested {
        payment_id: payment.id.clone(),
        refund_id: refund_id.to_owned(),
        order_id: payment.order_id.clone(),
        customer_id: payment.customer_id.clone(),
        amount,
        total_refunded,
        currency: payment.currency.clone(),
        fully_refunded: next == PaymentStatus::Refunded,
        return_id: return_id.map(str::to_owned),
    };
    enqueue(db, &cause.envelope(requested)).await?;
    get_payment(db, &stored.tenant, &payment.id).await
}

/// The first half of the `payment.refund_requested` handler, outside any transaction:
/// refunds through the provider that took the payment, with the refund's id as the
/// Idempotency-Key, unless the refund is completed already. A provider that is
/// unavailable makes the event retry; one that refuses dead-letters it, to be replayed
/// once the cause is fixed (the payment shows the refund as `requested` meanwhile).
pub async fn refund_through_provider<D: Db, T: Outbound>(
    db: &D,
    provider: &Provider<T>,
    event: &Envelope<PaymentRefundRequested>,
) -> Result<(), HandlerError> {
    let request = &event.data;
    let Some(status) = refund_status(db, &event.tenant, &request.refund_id).await? else {
        return Err(HandlerError::Refuse(format!(
            "refund {} is not recorded",
            request.refund_id
        )));
    };
    if status == RefundStatus::Completed {
        return Ok(());
    }
    let stored = find(db, &event.tenant, &request.payment_id)
        .await?
        .ok_or_else(|| HandlerError::Refuse(format!("no payment {}", request.payment_id)))?;
    let payment = &stored.payment;
    let refund = Refund {
        refund_id: &request.refund_id,
        charge_reference: payment.provider_reference.as_deref().unwrap_or_default(),
        amount: request.amount,
    };
    provider
        .refund(&payment.provider, &refund)
        .await
        .map_err(|error| PaymentError::Provider(error).into())
}

/// The second half, in the handler's transaction: the refund completed and
/// `payment.refunded` enqueued, once.
pub async fn record_refund<D: Db>(
    db: &D,
    event: &Envelope<PaymentRefundRequested>,
) -> Result<(), HandlerError> {
    let request = &event.data;
    let completed = db
        .execute(
            "UPDATE refunds SET status = $3 WHERE tenant = $1 AND id = $2 AND status = $4",
            &[
                event.tenant.as_str().into(),
                request.refund_id.as_str().into(),
                RefundStatus::Completed.as_str().into(),
                RefundStatus::Requested.as_str().into(),
            ],
        )
        .await?;
    if completed == 0 {
        return Ok(());
    }
    let refunded = PaymentRefunded {
        payment_id: request.payment_id.clone(),
        refund_id: request.refund_id.clone(),
        order_id: request.order_id.clone(),
        customer_id: request.customer_id.clone(),
        amount: request.amount,
        total_refunded: request.total_refunded,
        currency: request.currency.clone(),
        fully_refunded: request.fully_refunded,
        return_id: request.return_id.clone(),
    };
    enqueue(db, &Cause::event(REFUND_SOURCE, event).envelope(refunded)).await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::find;
    use crate::stripe::tests::stripe;
    use crate::test_support::*;
    use futures::executor::block_on;
    use kit::db::NativeSqlite;

    /// An admin's refund, made through the test provider as the dispatcher would.
    fn refund(db: &NativeSqlite, id: &str, amount: Option<i64>) -> Result<Payment, PaymentError> {
        let requested = block_on(refund_payment(
            db,
            TENANT,
            "req-1",
            id,
            &RefundBody { amount },
        ))?;
        deliver_refund_requests(db, &test_provider()).unwrap();
        Ok(requested)
    }

    fn invalid_field(result: Result<Payment, PaymentError>) -> String {
        match result {
            Err(PaymentError::Invalid(errors)) => errors[0].field.clone(),
            other => panic!("expected a 422, got {other:?}"),
        }
    }

    #[test]
    fn partial_then_full_refund() {
        let db = database();
        let payment = charged(&db, "order-1", 1000, "tok_visa");

        let after = refund(&db, &payment.id, Some(300)).unwrap();
        assert_eq!(after.status, PaymentStatus::PartiallyRefunded);
        assert_eq!(after.refunded_amount, 300);
        assert_eq!(after.refunds.len(), 1);
        assert_eq!(after.refunds[0].amount, 300);

        let after = refund(&db, &payment.id, None).unwrap();
        assert_eq!(after.status, PaymentStatus::Refunded);
        assert_eq!(after.refunded_amount, 1000);
        assert_eq!(after.refunds.len(), 2);
        assert_eq!(after.refunds[1].amount, 700);

        let events = events(&db);
        let refunds: Vec<_> = events
            .iter()
            .filter(|(topic, _)| topic == "payment.refunded")
            .map(|(_, data)| data)
            .collect();
        assert_eq!(refunds.len(), 2);
        assert_eq!(refunds[0]["amount"], 300);
        assert_eq!(refunds[0]["total_refunded"], 300);
        assert_eq!(refunds[0]["fully_refunded"], false);
        assert_eq!(refunds[1]["amount"], 700);
        assert_eq!(refunds[1]["total_refunded"], 1000);
        assert_eq!(refunds[1]["fully_refunded"], true);
        assert_eq!(refunds[1]["refund_id"], after.refunds[1].id.as_str());
        assert_eq!(refunds[1]["return_id"], serde_json::Value::Null);
    }

    #[test]
    fn bad_amounts_and_states() {
        let db = database();
        let payment = charged(&db, "order-1", 1000, "tok_visa");
        for amount in [0, -1] {
            assert_eq!(
                invalid_field(refund(&db, &payment.id, Some(amount))),
                "amount"
            );
        }
        assert_eq!(
            invalid_field(refund(&db, &payment.id, Some(1001))),
            "amount"
        );
        refund(&db, &payment.id, Some(600)).unwrap();
        assert_eq!(invalid_field(refund(&db, &payment.id, Some(401))), "amount");
        refund(&db, &payment.id, None).unwrap();
        // Fully refunded: nothing remains, in whatever amount asked.
        for amount in [None, Some(1)] {
            match refund(&db, &payment.id, amount) {
                Err(PaymentError::Conflict(transition)) => {
                    assert_eq!(transition.from, PaymentStatus::Refunded);
                }
                other => panic!("expected a 409, got {other:?}"),
            }
        }

        let failed = charged(&db, "order-2", 1000, "tok_chargeDeclined");
        let message = match refund(&db, &failed.id, None) {
            Err(PaymentError::Conflict(transition)) => transition.to_string(),
            other => panic!("expected a 409, got {other:?}"),
        };
        assert!(
            message.contains("failed") && message.contains("refunded"),
            "{message}"
        );
        assert!(matches!(
            refund(&db, "no-such-id", None),
            Err(PaymentError::NotFound)
        ));
        // A refused payment changed nothing.
        let unchanged = block_on(get_payment(&db, TENANT, &failed.id)).unwrap();
        assert_eq!(unchanged, failed);
    }

    #[test]
    fn the_guard_refuses_what_a_concurrent_refund_took() {
        let db = database();
        let payment = charged(&db, "order-1", 1000, "tok_visa");
        let stale = block_on(find(&db, TENANT, &payment.id)).unwrap().unwrap();
        // Two refunds of 600 each read the payment before either wrote.
        let cause = Cause::request(API_SOURCE, TENANT, "req");
        let first = block_on(request_refund(&db, &stale, 600, "r1", None, &cause));
        assert_eq!(first.unwrap().refunded_amount, 600);
        let second = block_on(request_refund(&db, &stale, 600, "r2", None, &cause));
        assert_eq!(invalid_field(second), "amount");
        let payment = block_on(get_payment(&db, TENANT, &payment.id)).unwrap();
        assert_eq!(payment.refunded_amount, 600);
        assert_eq!(payment.refunds.len(), 1);
        // Within what remains, the stale read does not matter.
        let third = block_on(request_refund(&db, &stale, 400, "r3", None, &cause));
        assert_eq!(third.unwrap().status, PaymentStatus::Refunded);
    }

    #[test]
    fn a_refund_the_provider_fails_is_retried_then_dead_and_completes_on_replay() {
        let db = database();
        let provider = Provider::Stripe(stripe(vec![
            (200, r#"{"id":"pi_1","status":"succeeded"}"#),
            (503, ""),
            (400, r#"{"error":{"message":"nope"}}"#),
            (200, r#"{"id":"re_1","status":"succeeded"}"#),
        ]));
        deliver_reserved(&db, &provider, &reserved("order-1", 1000, "tok_visa")).unwrap();
        let id = crate::payment_id_for_order(TENANT, "order-1");
        let body = RefundBody { amount: None };
        // Taken from the payment at once, without calling the provider.
        let requested = block_on(refund_payment(&db, TENANT, "r", &id, &body)).unwrap();
        assert_eq!(requested.status, PaymentStatus::Refunded);
        assert_eq!(requested.refunds[0].status, RefundStatus::Requested);
        let Provider::Stripe(client) = &provider else {
            unreachable!()
        };
        assert_eq!(client.outbound.sent().len(), 1, "only the charge so far");

        assert!(matches!(
            deliver_refund_requests(&db, &provider),
            Err(HandlerError::Retry(_))
        ));
        assert!(matches!(
            deliver_refund_requests(&db, &provider),
            Err(HandlerError::Refuse(_))
        ));
        let payment = block_on(get_payment(&db, TENANT, &id)).unwrap();
        assert_eq!(payment.refunds[0].status, RefundStatus::Requested);
        assert_eq!(events(&db).len(), 1, "only payment.succeeded");

        // The dead letter replayed once the cause is fixed: made, recorded, said once.
        deliver_refund_requests(&db, &provider).unwrap();
        deliver_refund_requests(&db, &provider).unwrap();
        let payment = block_on(get_payment(&db, TENANT, &id)).unwrap();
        assert_eq!(payment.refunds[0].status, RefundStatus::Completed);
        let events = events(&db);
        assert_eq!(events.len(), 2);
        assert_eq!(events[1].0, "payment.refunded");
        let keys: Vec<String> = client.outbound.sent()[1..]
            .iter()
            .map(|sent| sent.idempotency_key.clone())
            .collect();
        assert_eq!(keys, vec![payment.refunds[0].id.clone(); 3]);
    }

    #[test]
    fn cancelling_a_paid_order_refunds_the_rest_once() {
        let db = database();
        let provider = test_provider();
        let payment = charged(&db, "order-1", 1000, "tok_visa");
        refund(&db, &payment.id, Some(250)).unwrap();
        let event = cancelled("order-1");
        assert_eq!(deliver_cancelled(&db, &event), Ok(Some(())));
        assert_eq!(deliver_cancelled(&db, &event), Ok(None));
        deliver_refund_requests(&db, &provider).unwrap();
        let payment = block_on(get_payment(&db, TENANT, &payment.id)).unwrap();
        assert_eq!(payment.status, PaymentStatus::Refunded);
        assert_eq!(payment.refunded_amount, 1000);
        assert_eq!(payment.refunds[1].amount, 750);
        let last = events(&db).pop().unwrap();
        assert_eq!(last.0, "payment.refunded");
        assert_eq!(last.1["amount"], 750);
        assert_eq!(last.1["fully_refunded"], true);
        assert_eq!(last.1["return_id"], serde_json::Value::Null);
        // Another cancellation event for the same order finds nothing left.
        assert_eq!(deliver_cancelled(&db, &cancelled("order-1")), Ok(Some(())));
        deliver_refund_requests(&db, &provider).unwrap();
        assert_eq!(events(&db).len(), 3);
    }

    #[test]
    fn cancelling_a_failed_or_unpaid_order_refunds_nothing() {
        let db = database();
        charged(&db, "order-1", 1000, "tok_chargeDeclined");
        deliver_cancelled(&db, &cancelled("order-1")).unwrap();
        deliver_cancelled(&db, &cancelled("order-2")).unwrap();
        let events = events(&db);
        assert_eq!(events.len(), 1, "only payment.failed: {events:?}");
        assert!(block_on(crate::store::is_cancelled(&db, TENANT, "order-2")).unwrap());
        assert!(!block_on(crate::store::is_cancelled(&db, TENANT, "order-1")).unwrap());
    }

    #[test]
    fn a_retried_cancellation_refund_reuses_its_idempotency_key() {
        let db = database();
        let provider = Provider::Stripe(stripe(vec![
            (200, r#"{"id":"pi_1","status":"succeeded"}"#),
            (0, ""),
            (200, r#"{"id":"re_1","status":"succeeded"}"#),
        ]));
        deliver_reserved(&db, &provider, &reserved("order-1", 1000, "tok_visa")).unwrap();
        assert_eq!(deliver_cancelled(&db, &cancelled("order-1")), Ok(Some(())));
        assert!(matches!(
            deliver_refund_requests(&db, &provider),
            Err(HandlerError::Retry(_))
        ));
        deliver_refund_requests(&db, &provider).unwrap();
        let Provider::Stripe(client) = &provider else {
            unreachable!()
        };
        let sent = client.outbound.sent();
        assert_eq!(sent[1].idempotency_key, sent[2].idempotency_key);
        assert_eq!(sent[2].form, "payment_intent=pi_1&amount=1000");
        let id = crate::payment_id_for_order(TENANT, "order-1");
        let payment = block_on(get_payment(&db, TENANT, &id)).unwrap();
        assert_eq!(payment.refunds[0].id, sent[2].idempotency_key);
    }

    fn return_received(order_id: &str, amount: i64, currency: &str) -> Envelope<ReturnReceived> {
        Envelope::new(
            "/components/orders",
            TENANT,
            "corr-3",
            ReturnReceived {
                summary: contracts::ReturnSummary {
                    return_id: "ret-1".into(),
                    order_id: order_id.into(),
                    order_number: "FC-1001".into(),
                    customer_id: "cust-1".into(),
                    amount,
                    currency: currency.into(),
                },
                items: vec![contracts::ReturnLine {
                    sku: "MUG-1".into(),
                    name: "Mug".into(),
                    quantity: 1,
                    amount,
                }],
            },
        )
    }

    fn deliver_return(
        db: &NativeSqlite,
        event: &Envelope<ReturnReceived>,
    ) -> Result<Option<()>, HandlerError> {
        block_on(kit::outbox::apply_once(
            db,
            "payments-on-return-received",
            &event.id,
            async |db| refund_returned_items(db, event).await,
        ))
    }

    /// The `payment.refund_requested` events in the outbox, oldest first.
    fn refund_requests(db: &NativeSqlite) -> Vec<PaymentRefundRequested> {
        block_on(db.query(
            "SELECT payload FROM outbox WHERE topic = 'payment.refund_requested' \
             ORDER BY created_at, id",
            &[],
        ))
        .unwrap()
        .iter()
        .map(|row| {
            Envelope::<PaymentRefundRequested>::from_json(row.get_str(0).unwrap().as_bytes())
                .unwrap()
                .data
        })
        .collect()
    }

    fn refused(outcome: Result<Option<()>, HandlerError>) -> String {
        match outcome {
            Err(HandlerError::Refuse(reason)) => reason,
            other => panic!("expected a refusal, got {other:?}"),
        }
    }

    #[test]
    fn a_received_return_is_refunded_once_under_its_own_refund_id() {
        let db = database();
        let provider = Provider::Stripe(stripe(vec![
            (200, r#"{"id":"pi_1","status":"succeeded"}"#),
            (200, r#"{"id":"re_1","status":"succeeded"}"#),
        ]));
        deliver_reserved(&db, &provider, &reserved("order-1", 1000, "tok_visa")).unwrap();
        let event = return_received("order-1", 400, "EUR");
        assert_eq!(deliver_return(&db, &event), Ok(Some(())));
        assert_eq!(deliver_return(&db, &event), Ok(None));
        // The same return announced again by another event is not refunded twice.
        let again = return_received("order-1", 400, "EUR");
        assert_eq!(deliver_return(&db, &again), Ok(Some(())));

        let refund_id = derived_id("return", TENANT, "ret-1");
        let id = crate::payment_id_for_order(TENANT, "order-1");
        let payment = block_on(get_payment(&db, TENANT, &id)).unwrap();
        assert_eq!(payment.status, PaymentStatus::PartiallyRefunded);
        assert_eq!(payment.refunded_amount, 400);
        assert_eq!(payment.refunds.len(), 1);
        assert_eq!(payment.refunds[0].id, refund_id);
        let [requested] = refund_requests(&db).try_into().unwrap();
        assert_eq!(requested.refund_id, refund_id);
        assert_eq!(requested.return_id.as_deref(), Some("ret-1"));
        assert_eq!((requested.amount, requested.fully_refunded), (400, false));

        deliver_refund_requests(&db, &provider).unwrap();
        let Provider::Stripe(client) = &provider else {
            unreachable!()
        };
        let sent = client.outbound.sent();
        assert_eq!(sent[1].idempotency_key, refund_id);
        assert_eq!(sent[1].form, "payment_intent=pi_1&amount=400");
        let (topic, refunded) = events(&db).pop().unwrap();
        assert_eq!(topic, "payment.refunded");
        assert_eq!(refunded["refund_id"], refund_id.as_str());
        assert_eq!(refunded["return_id"], "ret-1");
        assert_eq!(refunded["amount"], 400);
    }

    #[test]
    fn a_return_worth_more_than_remains_refunds_what_remains() {
        let db = database();
        let payment = charged(&db, "order-1", 1000, "tok_visa");
        refund(&db, &payment.id, Some(800)).unwrap();
        deliver_return(&db, &return_received("order-1", 500, "EUR")).unwrap();
        deliver_refund_requests(&db, &test_provider()).unwrap();
        let payment = block_on(get_payment(&db, TENANT, &payment.id)).unwrap();
        assert_eq!(payment.status, PaymentStatus::Refunded);
        assert_eq!(payment.refunds[1].amount, 200);
        let (_, refunded) = events(&db).pop().unwrap();
        assert_eq!(refunded["amount"], 200);
        assert_eq!(refunded["fully_refunded"], true);
        assert_eq!(refunded["return_id"], "ret-1");
    }

    #[test]
    fn a_return_worth_nothing_refunds_nothing() {
        let db = database();
        charged(&db, "order-1", 1000, "tok_visa");
        let event = return_received("order-1", 0, "EUR");
        assert_eq!(deliver_return(&db, &event), Ok(Some(())));
        assert!(refund_requests(&db).is_empty());
    }

    #[test]
    fn a_return_of_a_failed_or_missing_payment_is_refused() {
        let db = database();
        let failed = charged(&db, "order-1", 1000, "tok_chargeDeclined");
        let reason = refused(deliver_return(&db, &return_received("order-1", 300, "EUR")));
        assert!(
            reason.contains("ret-1") && reason.contains("is failed"),
            "{reason}"
        );
        let reason = refused(deliver_return(&db, &return_received("order-2", 300, "EUR")));
        assert!(reason.contains("no payment"), "{reason}");
        assert_eq!(
            block_on(get_payment(&db, TENANT, &failed.id)).unwrap(),
            failed
        );
        assert!(refund_requests(&db).is_empty());
    }

    #[test]
    fn a_return_in_another_currency_is_refused() {
        let db = database();
        let payment = charged(&db, "order-1", 1000, "tok_visa");
        let reason = refused(deliver_return(&db, &return_received("order-1", 300, "USD")));
        assert!(reason.contains("USD") && reason.contains("EUR"), "{reason}");
        assert_eq!(
            block_on(get_payment(&db, TENANT, &payment.id)).unwrap(),
            payment
        );
        assert!(refund_requests(&db).is_empty());
    }
}
