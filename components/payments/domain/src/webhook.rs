//! Stripe's webhook: the `Stripe-Signature` check (pure) and applying each Stripe event
//! once to the payment it is about.

use crate::PaymentError;
use crate::charge::{apply_outcome, settle};
use crate::provider::ChargeOutcome;
use crate::store::{Cause, derived_id, find, find_by_provider_reference, lock_order};
use crate::stripe::StripeError;
use contracts::now_rfc3339;
use kit::db::{Db, transaction};
use serde::{Deserialize, Serialize};

const SOURCE: &str = "/components/payments";

/// What the webhook did with an event: `applied` (the payment changed), `duplicate`
/// (applied before) or `ignored` (not an event acted on, about no payment known, or too
/// late to change it).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum WebhookOutcome {
    /// The payment changed.
    Applied,
    /// The event was applied before.
    Duplicate,
    /// Not an event we act on, about no payment we know, or too late to change it.
    Ignored,
}

/// The webhook's answer to a verified event: Stripe needs only the 2xx, `outcome` says
/// what was done with it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct WebhookReceipt {
    /// Always `true`.
    pub received: bool,
    pub outcome: WebhookOutcome,
}

impl From<WebhookOutcome> for WebhookReceipt {
    fn from(outcome: WebhookOutcome) -> Self {
        Self {
            received: true,
            outcome,
        }
    }
}

/// The parts of a Stripe event we read.
#[derive(Debug, Deserialize)]
struct StripeEvent {
    id: String,
    #[serde(rename = "type")]
    event_type: String,
    data: EventData,
}

#[derive(Debug, Deserialize)]
struct EventData {
    object: serde_json::Value,
}

#[derive(Debug, Deserialize)]
struct PaymentIntent {
    id: String,
    #[serde(default)]
    last_payment_error: Option<StripeError>,
}

/// Applies a verified Stripe event (`payload`, its raw body) once:
/// `payment_intent.succeeded` makes the pending payment with that PaymentIntent
/// succeeded (`payment.succeeded`) — or, when its order was cancelled meanwhile,
/// succeeded and at once refunded (`payment.refunded` only, so nothing ships);
/// `payment_intent.payment_failed` fails it (`payment.failed`). The event id is
/// recorded in `webhook_events` in the same transaction, so a replay changes nothing.
/// Other event types and unknown PaymentIntents are ignored, and not recorded: an
/// intent not stored yet may be known at Stripe's next attempt.
pub async fn apply_stripe_event<D: Db>(
    db: &D,
    payload: &[u8],
) -> Result<WebhookOutcome, PaymentError> {
    let event: StripeEvent = serde_json::from_slice(payload)
        .map_err(|error| PaymentError::Malformed(format!("not a Stripe event: {error}")))?;
    let succeeded = match event.event_type.as_str() {
        "payment_intent.succeeded" => true,
        "payment_intent.payment_failed" => false,
        _ => return Ok(WebhookOutcome::Ignored),
    };
    let intent: PaymentIntent = serde_json::from_value(event.data.object).map_err(|error| {
        PaymentError::Malformed(format!("data.object is not a PaymentIntent: {error}"))
    })?;
    transaction(db, async |db| {
        let Some(found) = find_by_provider_reference(db, &intent.id).await? else {
            return Ok(WebhookOutcome::Ignored);
        };
        let tenant = found.tenant.clone();
        lock_order(db, &tenant, &found.payment.order_id).await?;
        // Read again under the lock: a cancellation may have committed meanwhile.
        let stored = find(db, &tenant, &found.payment.id)
            .await?
            .ok_or(PaymentError::NotFound)?;
        let recorded = db
            .execute(
                "INSERT INTO webhook_events (event_id, tenant, event_type, received_at) \
                 VALUES ($1, $2, $3, $4) ON CONFLICT (event_id) DO NOTHING",
                &[
                    event.id.as_str().into(),
                    tenant.as_str().into(),
                    event.event_type.as_str().into(),
                    now_rfc3339().into(),
                ],
            )
            .await?;
        if recorded == 0 {
            return Ok(WebhookOutcome::Duplicate);
        }
        let cause = Cause::request(SOURCE, &tenant, &stored.correlation_id);
        let error = intent.last_payment_error.unwrap_or_default();
        let outcome = if succeeded {
            ChargeOutcome::Succeeded {
                reference: intent.id.clone(),
            }
        } else {
            error.declined(Some(intent.id.clone()), || "The payment failed.".to_owned())
        };
        let Some(settled) = apply_outcome(db, &stored, outcome).await? else {
            return Ok(WebhookOutcome::Ignored);
        };
        let refund_id = derived_id("refund", &tenant, &event.id);
        settle(db, &settled, &refund_id, &cause).await?;
        Ok(WebhookOutcome::Applied)
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stripe::tests::stripe;
    use crate::test_support::*;
    use crate::{PaymentStatus, Provider, get_payment, payment_id_for_order};
    use futures::executor::block_on;
    use kit::db::NativeSqlite;

    fn pending_stripe_payment(db: &NativeSqlite, order_id: &str, intent: &'static str) {
        let body: &'static str = match intent {
            "pi_1" => r#"{"id":"pi_1","status":"processing"}"#,
            _ => r#"{"id":"pi_2","status":"requires_action"}"#,
        };
        let provider = Provider::Stripe(stripe(vec![(200, body)]));
        deliver_reserved(db, &provider, &reserved(order_id, 1000, "tok_visa")).unwrap();
    }

    fn apply(db: &NativeSqlite, payload: &str) -> Result<WebhookOutcome, PaymentError> {
        block_on(apply_stripe_event(db, payload.as_bytes()))
    }

    fn status_of(db: &NativeSqlite, order_id: &str) -> PaymentStatus {
        let id = payment_id_for_order(TENANT, order_id);
        block_on(get_payment(db, TENANT, &id)).unwrap().status
    }

    const SUCCEEDED: &str = r#"{"id":"evt_1","object":"event","type":"payment_intent.succeeded",
        "data":{"object":{"id":"pi_1","object":"payment_intent","status":"succeeded"}}}"#;

    #[test]
    fn intent_succeeded_applies_once() {
        let db = database();
        pending_stripe_payment(&db, "order-1", "pi_1");
        assert_eq!(apply(&db, SUCCEEDED).unwrap(), WebhookOutcome::Applied);
        assert_eq!(status_of(&db, "order-1"), PaymentStatus::Succeeded);
        assert_eq!(apply(&db, SUCCEEDED).unwrap(), WebhookOutcome::Duplicate);
        let events = events(&db);
        assert_eq!(events.len(), 1);
        assert_eq!(events[0].0, "payment.succeeded");
        assert_eq!(events[0].1["provider_reference"], "pi_1");
        assert_eq!(events[0].1["shipping_address"]["postal_code"], "N1 9GU");
        // Another event about the same, now settled, intent changes nothing.
        let again = SUCCEEDED.replace("evt_1", "evt_2");
        assert_eq!(apply(&db, &again).unwrap(), WebhookOutcome::Ignored);
        assert_eq!(crate::test_support::events(&db).len(), 1);
    }

    #[test]
    fn the_receipt_says_received_and_the_outcome() {
        let receipt = WebhookReceipt::from(WebhookOutcome::Duplicate);
        assert_eq!(
            serde_json::to_value(receipt).unwrap(),
            serde_json::json!({ "received": true, "outcome": "duplicate" })
        );
    }

    #[test]
    fn intent_failed_fails_the_payment() {
        let db = database();
        pending_stripe_payment(&db, "order-1", "pi_2");
        let failed = r#"{"id":"evt_9","type":"payment_intent.payment_failed",
            "data":{"object":{"id":"pi_2","last_payment_error":{"code":"card_declined",
            "decline_code":"stolen_card","message":"Your card was declined."}}}}"#;
        assert_eq!(apply(&db, failed).unwrap(), WebhookOutcome::Applied);
        let id = payment_id_for_order(TENANT, "order-1");
        let payment = block_on(get_payment(&db, TENANT, &id)).unwrap();
        assert_eq!(payment.status, PaymentStatus::Failed);
        assert_eq!(payment.decline_code.as_deref(), Some("stolen_card"));
        assert_eq!(
            payment.failure_reason.as_deref(),
            Some("Your card was declined.")
        );
        let events = events(&db);
        assert_eq!(events[0].0, "payment.failed");
        assert_eq!(events[0].1["decline_code"], "stolen_card");
    }

    #[test]
    fn other_types_unknown_intents_and_junk() {
        let db = database();
        pending_stripe_payment(&db, "order-1", "pi_1");
        let charge = r#"{"id":"evt_3","type":"charge.refunded","data":{"object":{"id":"ch_1"}}}"#;
        assert_eq!(apply(&db, charge).unwrap(), WebhookOutcome::Ignored);
        let unknown = SUCCEEDED.replace("pi_1", "pi_unknown");
        assert_eq!(apply(&db, &unknown).unwrap(), WebhookOutcome::Ignored);
        assert_eq!(status_of(&db, "order-1"), PaymentStatus::Pending);
        for junk in [
            "",
            "{}",
            r#"{"id":"e","type":"payment_intent.succeeded","data":{"object":{}}}"#,
        ] {
            assert!(
                matches!(apply(&db, junk), Err(PaymentError::Malformed(_))),
                "{junk:?}"
            );
        }
        assert!(events(&db).is_empty());
    }

    #[test]
    fn success_after_cancellation_is_refunded_not_shipped() {
        let db = database();
        pending_stripe_payment(&db, "order-1", "pi_1");
        deliver_cancelled(&db, &cancelled("order-1")).unwrap();
        assert_eq!(apply(&db, SUCCEEDED).unwrap(), WebhookOutcome::Applied);
        assert_eq!(status_of(&db, "order-1"), PaymentStatus::Refunded);
        let provider =
            Provider::Stripe(stripe(vec![(200, r#"{"id":"re_1","status":"succeeded"}"#)]));
        deliver_refund_requests(&db, &provider).unwrap();
        let topics: Vec<String> = events(&db).into_iter().map(|(topic, _)| topic).collect();
        assert_eq!(topics, ["payment.refunded"]);
    }
}
