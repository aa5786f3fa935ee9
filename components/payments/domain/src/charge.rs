//! Charging an order on `inventory.reserved`, and settling a pending payment (from the
//! charge's answer or, later, from Stripe's webhook).

use crate::PaymentError;
use crate::provider::{Charge, ChargeOutcome, FREE, Provider, ProviderError};
use crate::refund::request_refund;
use crate::status::PaymentStatus;
use crate::store::{
    Cause, Stored, derived_id, find, is_cancelled, lock_order, payment_id_for_order,
};
use contracts::{Envelope, InventoryReserved, PaymentFailed, PaymentSucceeded, now_rfc3339};
use kit::db::{Db, DbError};
use kit::outbound::Outbound;
use kit::outbox::{HandlerError, enqueue};
use kit::status::Machine;

const SOURCE: &str = "/components/payments-on-inventory-reserved";

/// What charging an order leaves to record, once the provider has answered.
#[derive(Debug)]
pub enum ChargeAnswer {
    /// Nothing to record: the order was cancelled before it was charged, or its payment
    /// is settled already (a repeated event).
    Nothing,
    /// A free order (total 0): it takes no payment.
    Free,
    /// The answer of the provider (named) about the order's payment.
    Charged {
        provider: &'static str,
        outcome: ChargeOutcome,
    },
}

/// Charges the reserved order's total with its payment token — the first half of the
/// `inventory.reserved` handler, run outside any transaction so that no lock is held
/// while the provider answers; [`record_charge`] records the answer. Reads only: an
/// order cancelled first, or whose payment is settled, is not charged. The payment's id
/// is derived from the order and is Stripe's Idempotency-Key, so a call repeated after
/// a failure or a crash before the record is the same charge. A provider that is
/// unavailable makes the event retry; one that refuses our request dead-letters it.
pub async fn charge_order<D: Db, T: Outbound>(
    db: &D,
    provider: &Provider<T>,
    event: &Envelope<InventoryReserved>,
) -> Result<ChargeAnswer, HandlerError> {
    let order = &event.data;
    let tenant = &event.tenant;
    if order.total < 0 {
        return Err(HandlerError::Refuse(format!(
            "order {} has a negative total ({})",
            order.order_id, order.total
        )));
    }
    if order.total == 0 {
        return Ok(ChargeAnswer::Free);
    }
    if is_cancelled(db, tenant, &order.order_id).await? {
        eprintln!(
            "payments: order {} was cancelled before it was reserved; not charging",
            order.order_id
        );
        return Ok(ChargeAnswer::Nothing);
    }
    let payment_id = payment_id_for_order(tenant, &order.order_id);
    if let Some(stored) = find(db, tenant, &payment_id).await?
        && stored.payment.status != PaymentStatus::Pending
    {
        eprintln!(
            "payments: order {} already has a settled payment; not charging again",
            order.order_id
        );
        return Ok(ChargeAnswer::Nothing);
    }
    let charge = Charge {
        payment_id: &payment_id,
        order_id: &order.order_id,
        amount: order.total,
        currency: &order.currency,
        token: &order.payment_token,
    };
    let outcome = provider
        .charge(&charge)
        .await
        .map_err(|error| match error {
            ProviderError::Unavailable(_) => HandlerError::Retry(error.to_string()),
            ProviderError::Refused(_) => HandlerError::Refuse(error.to_string()),
        })?;
    Ok(ChargeAnswer::Charged {
        provider: provider.name(),
        outcome,
    })
}

/// Records what [`charge_order`] got, inside the handler's transaction (with the
/// event's id, so once), under the order's lock: the payment stored (once per order)
/// with the provider's answer applied, unless a webhook settled it first, then
/// `payment.succeeded` or `payment.failed` — or, when the order was cancelled while the
/// charge was under way, a refund of all of it. A free order gets `payment.succeeded`
/// (amount 0, provider [`FREE`]) with no payment stored, so it ships and its
/// cancellation finds nothing to refund — unless it was cancelled first.
pub async fn record_charge<D: Db>(
    db: &D,
    event: &Envelope<InventoryReserved>,
    answer: ChargeAnswer,
) -> Result<(), HandlerError> {
    let order = &event.data;
    let tenant = &event.tenant;
    let cause = Cause::event(SOURCE, event);
    lock_order(db, tenant, &order.order_id).await?;
    match answer {
        ChargeAnswer::Nothing => Ok(()),
        ChargeAnswer::Free if is_cancelled(db, tenant, &order.order_id).await? => Ok(()),
        ChargeAnswer::Free => {
            let free = PaymentSucceeded {
                payment_id: payment_id_for_order(tenant, &order.order_id),
                order_id: order.order_id.clone(),
                customer_id: order.customer_id.clone(),
                amount: 0,
                currency: order.currency.clone(),
                provider: FREE.to_owned(),
                provider_reference: String::new(),
                shipping_address: order.shipping_address.clone(),
            };
            enqueue(db, &cause.envelope(free)).await?;
            Ok(())
        }
        ChargeAnswer::Charged { provider, outcome } => {
            let payment_id = store_pending(db, provider, event).await?;
            let stored = find(db, tenant, &payment_id)
                .await?
                .ok_or_else(|| HandlerError::Retry(format!("payment {payment_id} vanished")))?;
            if let Some(settled) = apply_outcome(db, &stored, outcome).await? {
                let refund_id = derived_id("refund", tenant, &event.id);
                settle(db, &settled, &refund_id, &cause).await?;
            }
            Ok(())
        }
    }
}

/// Stores the order's payment, taken by `provider`, as pending unless it exists; its id.
async fn store_pending<D: Db>(
    db: &D,
    provider: &str,
    event: &Envelope<InventoryReserved>,
) -> Result<String, DbError> {
    let order = &event.data;
    let tenant = &event.tenant;
    let payment_id = payment_id_for_order(tenant, &order.order_id);
    let address = serde_json::to_string(&order.shipping_address)
        .map_err(|error| DbError::Other(format!("shipping address: {error}")))?;
    db.execute(
        "INSERT INTO payments (id, tenant, order_id, customer_id, amount, currency, status, \
         provider, refunded_amount, shipping_address, correlation_id, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 0, $9, $10, $11, $11) \
         ON CONFLICT (tenant, order_id) DO NOTHING",
        &[
            payment_id.as_str().into(),
            tenant.as_str().into(),
            order.order_id.as_str().into(),
            order.customer_id.as_str().into(),
            order.total.into(),
            order.currency.as_str().into(),
            PaymentStatus::Pending.as_str().into(),
            provider.into(),
            address.into(),
            event.correlationid.as_str().into(),
            now_rfc3339().into(),
        ],
    )
    .await?;
    Ok(payment_id)
}

/// Says what became of a payment that just settled: `payment.succeeded` or
/// `payment.failed` — but a charge that succeeded for an order cancelled meanwhile is
/// refunded whole at once (as `refund_id`), and only `payment.refunded` is said, so
/// nothing ships.
pub(crate) async fn settle<D: Db>(
    db: &D,
    settled: &Stored,
    refund_id: &str,
    cause: &Cause,
) -> Result<(), PaymentError> {
    let payment = &settled.payment;
    if payment.status == PaymentStatus::Succeeded
        && is_cancelled(db, &settled.tenant, &payment.order_id).await?
    {
        request_refund(db, settled, payment.amount, refund_id, None, cause).await?;
        return Ok(());
    }
    Ok(announce(db, settled, cause).await?)
}

/// Applies a provider's answer to a pending payment: the payment as it now is, or
/// `None` when it is no longer pending (a stale answer, which changes nothing).
pub(crate) async fn apply_outcome<D: Db>(
    db: &D,
    stored: &Stored,
    outcome: ChargeOutcome,
) -> Result<Option<Stored>, DbError> {
    let payment = &stored.payment;
    let (next, reference, reason, decline_code) = match outcome {
        ChargeOutcome::Succeeded { reference } => {
            (PaymentStatus::Succeeded, Some(reference), None, None)
        }
        ChargeOutcome::Declined {
            reference,
            reason,
            decline_code,
        } => (PaymentStatus::Failed, reference, Some(reason), decline_code),
        ChargeOutcome::Pending { reference } => {
            (PaymentStatus::Pending, Some(reference), None, None)
        }
    };
    if next != PaymentStatus::Pending && !payment.status.can_become(next) {
        return Ok(None);
    }
    let now = now_rfc3339();
    let changed = db
        .execute(
            "UPDATE payments SET status = $3, provider_reference = COALESCE($4, provider_reference), \
             failure_reason = $5, decline_code = $6, updated_at = $7 \
             WHERE tenant = $1 AND id = $2 AND status = $8",
            &[
                stored.tenant.as_str().into(),
                payment.id.as_str().into(),
                next.as_str().into(),
                reference.clone().into(),
                reason.clone().into(),
                decline_code.clone().into(),
                now.as_str().into(),
                payment.status.as_str().into(),
            ],
        )
        .await?;
    if changed == 0 {
        return Ok(None);
    }
    let mut settled = stored.clone();
    settled.payment.status = next;
    settled.payment.provider_reference = reference.or(settled.payment.provider_reference);
    settled.payment.failure_reason = reason;
    settled.payment.decline_code = decline_code;
    settled.payment.updated_at = now;
    Ok(Some(settled))
}

/// Enqueues the event of a payment that just settled: `payment.succeeded` or
/// `payment.failed`; a payment still pending has nothing to say yet.
async fn announce<D: Db>(db: &D, settled: &Stored, cause: &Cause) -> Result<(), DbError> {
    let payment = &settled.payment;
    match payment.status {
        PaymentStatus::Succeeded => {
            let succeeded = PaymentSucceeded {
                payment_id: payment.id.clone(),
                order_id: payment.order_id.clone(),
                customer_id: payment.customer_id.clone(),
                amount: payment.amount,
                currency: payment.currency.clone(),
                provider: payment.provider.clone(),
                provider_reference: payment.provider_reference.clone().unwrap_or_default(),
                shipping_address: settled.shipping_address()?,
            };
            enqueue(db, &cause.envelope(succeeded)).await
        }
        PaymentStatus::Failed => {
            let failed = PaymentFailed {
                payment_id: payment.id.clone(),
                order_id: payment.order_id.clone(),
                customer_id: payment.customer_id.clone(),
                amount: payment.amount,
                currency: payment.currency.clone(),
                provider: payment.provider.clone(),
                reason: payment.failure_reason.clone().unwrap_or_default(),
                decline_code: payment.decline_code.clone(),
            };
            enqueue(db, &cause.envelope(failed)).await
        }
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use crate::stripe::tests::stripe;
    use crate::test_support::*;
    use crate::{
        PaymentError, PaymentStatus, Provider, charge_order, get_payment, payment_id_for_order,
        record_charge,
    };
    use futures::executor::block_on;
    use kit::outbox::{HandlerError, apply_once};

    #[test]
    fn tok_visa_succeeds_and_emits_payment_succeeded() {
        let db = database();
        let payment = charged(&db, "order-1", 2599, "tok_visa");
        assert_eq!(payment.id, payment_id_for_order(TENANT, "order-1"));
        assert_eq!(payment.status, PaymentStatus::Succeeded);
        assert_eq!(payment.amount, 2599);
        assert_eq!(payment.currency, "EUR");
        assert_eq!(payment.provider, "test");
        assert_eq!(payment.customer_id, "cust-1");
        let reference = format!("pi_test_{}", payment.id.replace('-', ""));
        assert_eq!(
            payment.provider_reference.as_deref(),
            Some(reference.as_str())
        );
        assert_eq!(payment.refunded_amount, 0);

        let events = events(&db);
        assert_eq!(events.len(), 1);
        assert_eq!(events[0].0, "payment.succeeded");
        let data = &events[0].1;
        assert_eq!(data["payment_id"], payment.id.as_str());
        assert_eq!(data["order_id"], "order-1");
        assert_eq!(data["amount"], 2599);
        assert_eq!(data["provider_reference"], reference.as_str());
        assert_eq!(data["shipping_address"]["city"], "London");
    }

    #[test]
    fn a_free_order_takes_no_payment_and_ships() {
        let db = database();
        let provider = Provider::Stripe(stripe(vec![]));
        deliver_reserved(&db, &provider, &reserved("order-1", 0, "tok_visa")).unwrap();
        let Provider::Stripe(stripe) = &provider else {
            unreachable!()
        };
        assert!(stripe.outbound.sent().is_empty(), "Stripe was called");
        let id = payment_id_for_order(TENANT, "order-1");
        let stored = block_on(get_payment(&db, TENANT, &id));
        assert!(matches!(stored, Err(PaymentError::NotFound)), "{stored:?}");
        let events = events(&db);
        assert_eq!(events.len(), 1);
        assert_eq!(events[0].0, "payment.succeeded");
        assert_eq!(events[0].1["amount"], 0);
        assert_eq!(events[0].1["provider"], crate::provider::FREE);
        assert_eq!(events[0].1["shipping_address"]["city"], "London");
        deliver_cancelled(&db, &cancelled("order-1")).unwrap();
        assert_eq!(
            crate::test_support::events(&db).len(),
            1,
            "nothing refunded"
        );
    }

    #[test]
    fn declines_fail_the_payment_with_the_reason() {
        let db = database();
        for (order, token, code) in [
            ("order-1", "tok_chargeDeclined", "card_declined"),
            (
                "order-2",
                "tok_chargeDeclinedInsufficientFunds",
                "insufficient_funds",
            ),
            ("order-3", "tok_bogus", "invalid_token"),
        ] {
            let payment = charged(&db, order, 1000, token);
            assert_eq!(payment.status, PaymentStatus::Failed, "{token}");
            assert_eq!(payment.decline_code.as_deref(), Some(code));
            assert!(payment.failure_reason.is_some());
            assert_eq!(payment.provider_reference, None);
        }
        let events = events(&db);
        assert_eq!(events.len(), 3);
        assert!(events.iter().all(|(topic, _)| topic == "payment.failed"));
        assert_eq!(events[0].1["reason"], "Your card was declined.");
        assert_eq!(events[1].1["decline_code"], "insufficient_funds");
    }

    #[test]
    fn redelivery_and_a_second_event_for_the_order_charge_once() {
        let db = database();
        let provider = test_provider();
        let event = reserved("order-1", 1000, "tok_visa");
        assert_eq!(deliver_reserved(&db, &provider, &event), Ok(Some(())));
        assert_eq!(deliver_reserved(&db, &provider, &event), Ok(None));
        // Another event about the same order (e.g. re-sent by inventory) finds the payment.
        let again = reserved("order-1", 1000, "tok_chargeDeclined");
        assert_eq!(deliver_reserved(&db, &provider, &again), Ok(Some(())));
        let id = payment_id_for_order(TENANT, "order-1");
        let payment = block_on(get_payment(&db, TENANT, &id)).unwrap();
        assert_eq!(payment.status, PaymentStatus::Succeeded);
        assert_eq!(events(&db).len(), 1);
    }

    #[test]
    fn a_cancellation_while_the_provider_charges_ends_refunded_not_shipped() {
        let db = database();
        let provider = test_provider();
        let event = reserved("order-1", 1000, "tok_visa");
        let answer = block_on(charge_order(&db, &provider, &event)).unwrap();
        // Recorded while the charge was out: the payment was pending.
        deliver_cancelled(&db, &cancelled("order-1")).unwrap();
        let recorded = block_on(apply_once(
            &db,
            "payments-on-inventory-reserved",
            &event.id,
            async |db| record_charge(db, &event, answer).await,
        ));
        assert_eq!(recorded, Ok(Some(())));
        let id = payment_id_for_order(TENANT, "order-1");
        let payment = block_on(get_payment(&db, TENANT, &id)).unwrap();
        assert_eq!(payment.status, PaymentStatus::Refunded);
        assert!(
            events(&db).is_empty(),
            "no payment.succeeded: nothing ships"
        );
        deliver_refund_requests(&db, &provider).unwrap();
        let topics: Vec<String> = events(&db).into_iter().map(|(topic, _)| topic).collect();
        assert_eq!(topics, ["payment.refunded"]);
    }

    #[test]
    fn a_free_order_cancelled_first_does_not_ship() {
        let db = database();
        deliver_cancelled(&db, &cancelled("order-1")).unwrap();
        deliver_reserved(&db, &test_provider(), &reserved("order-1", 0, "tok_visa")).unwrap();
        assert!(events(&db).is_empty(), "no payment.succeeded");
    }

    #[test]
    fn an_order_cancelled_first_is_not_charged() {
        let db = database();
        let provider = test_provider();
        deliver_cancelled(&db, &cancelled("order-1")).unwrap();
        deliver_reserved(&db, &provider, &reserved("order-1", 1000, "tok_visa")).unwrap();
        let id = payment_id_for_order(TENANT, "order-1");
        assert!(block_on(get_payment(&db, TENANT, &id)).is_err());
        assert!(events(&db).is_empty());
    }

    #[test]
    fn an_unavailable_provider_retries_with_the_same_idempotency_key() {
        let db = database();
        let provider = Provider::Stripe(stripe(vec![
            (503, r#"{"error":{"message":"down"}}"#),
            (0, ""),
            (200, r#"{"id":"pi_42","status":"succeeded"}"#),
        ]));
        let event = reserved("order-1", 1000, "tok_visa");
        for _ in 0..2 {
            assert!(matches!(
                deliver_reserved(&db, &provider, &event),
                Err(HandlerError::Retry(_))
            ));
        }
        let id = payment_id_for_order(TENANT, "order-1");
        assert!(
            block_on(get_payment(&db, TENANT, &id)).is_err(),
            "nothing recorded until the provider answers"
        );
        assert_eq!(deliver_reserved(&db, &provider, &event), Ok(Some(())));
        let payment = block_on(get_payment(&db, TENANT, &id)).unwrap();
        assert_eq!(payment.status, PaymentStatus::Succeeded);
        assert_eq!(payment.provider, "stripe");
        assert_eq!(payment.provider_reference.as_deref(), Some("pi_42"));
        let Provider::Stripe(client) = &provider else {
            unreachable!()
        };
        let keys: Vec<String> = client
            .outbound
            .sent()
            .into_iter()
            .map(|sent| sent.idempotency_key)
            .collect();
        assert_eq!(keys, [id.clone(), id.clone(), id]);
    }

    #[test]
    fn a_charge_not_final_yet_stays_pending() {
        let db = database();
        let provider = Provider::Stripe(stripe(vec![(
            200,
            r#"{"id":"pi_7","status":"processing"}"#,
        )]));
        deliver_reserved(&db, &provider, &reserved("order-1", 1000, "tok_visa")).unwrap();
        let id = payment_id_for_order(TENANT, "order-1");
        let payment = block_on(get_payment(&db, TENANT, &id)).unwrap();
        assert_eq!(payment.status, PaymentStatus::Pending);
        assert_eq!(payment.provider_reference.as_deref(), Some("pi_7"));
        assert!(events(&db).is_empty());
    }

    #[test]
    fn a_negative_total_is_refused() {
        let db = database();
        let outcome = deliver_reserved(&db, &test_provider(), &reserved("order-1", -1, "tok_visa"));
        assert!(matches!(outcome, Err(HandlerError::Refuse(_))));
    }
}
