//! Stripe's webhook: the `Stripe-Signature` check (pure) and applying each Stripe event
//! once to the payment it is about.

use crate::PaymentError;
use crate::charge::{apply_outcome, settle};
use crate::provider::ChargeOutcome;
use crate::store::{Cause, derived_id, find, find_by_provider_reference, lock_order};
use contracts::now_rfc3339;
use hmac::{Hmac, Mac};
use kit::db::{Db, transaction};
use serde::{Deserialize, Serialize};
use sha2::Sha256;
use std::fmt;
use subtle::ConstantTimeEq;

/// How far a signature's timestamp may be from now, either way (Stripe's default).
pub const TOLERANCE_SECONDS: i64 = 300;

const SOURCE: &str = "/components/payments";

/// Why a webhook request is not Stripe's (each a 400).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignatureError {
    /// No signing secret is configured, so nothing can be verified.
    NoSecret,
    /// The header is absent or not `t=<unix>,v1=<hex>[,v1=<hex>...]`.
    Malformed,
    /// No `v1` signature matches.
    Mismatch,
    /// The timestamp is more than [`TOLERANCE_SECONDS`] away from now.
    OutsideTolerance,
}

impl fmt::Display for SignatureError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            SignatureError::NoSecret => "webhooks are not accepted: no signing secret is set",
            SignatureError::Malformed => {
                "the Stripe-Signature header is missing or not t=<timestamp>,v1=<signature>"
            }
            SignatureError::Mismatch => "the Stripe-Signature does not match the payload",
            SignatureError::OutsideTolerance => {
                "the Stripe-Signature timestamp is more than 5 minutes from now"
            }
        })
    }
}

impl std::error::Error for SignatureError {}

/// Verifies Stripe's `Stripe-Signature` header over the raw `payload`: some `v1` is the
/// HMAC-SHA256 under `secret` of `"<t>.<payload>"` (compared in constant time), and
/// `t` is within [`TOLERANCE_SECONDS`] of `now` (Unix seconds).
pub fn verify_signature(
    secret: &str,
    header: Option<&str>,
    payload: &[u8],
    now: i64,
) -> Result<(), SignatureError> {
    if secret.is_empty() {
        return Err(SignatureError::NoSecret);
    }
    let header = header.ok_or(SignatureError::Malformed)?;
    let mut timestamp = None;
    let mut signatures = Vec::new();
    for part in header.split(',') {
        let (key, value) = part
            .trim()
            .split_once('=')
            .ok_or(SignatureError::Malformed)?;
        match key {
            "t" if timestamp.is_none() => {
                timestamp = Some(
                    value
                        .parse::<i64>()
                        .map_err(|_| SignatureError::Malformed)?,
                );
            }
            "t" => return Err(SignatureError::Malformed),
            // A v1 that is not hex cannot match; other schemes (v0) are not ours.
            "v1" => signatures.extend(decode_hex(value)),
            _ => {}
        }
    }
    let timestamp = timestamp.ok_or(SignatureError::Malformed)?;
    if signatures.is_empty() && !header.contains("v1=") {
        return Err(SignatureError::Malformed);
    }
    let mut mac =
        Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC takes keys of any length");
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(payload);
    let expected = mac.finalize().into_bytes();
    let matched = signatures
        .iter()
        .fold(subtle::Choice::from(0), |found, signature| {
            found | expected.as_slice().ct_eq(signature.as_slice())
        });
    if !bool::from(matched) {
        return Err(SignatureError::Mismatch);
    }
    if (now - timestamp).abs() > TOLERANCE_SECONDS {
        return Err(SignatureError::OutsideTolerance);
    }
    Ok(())
}

fn decode_hex(text: &str) -> Option<Vec<u8>> {
    if !text.len().is_multiple_of(2) {
        return None;
    }
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(text.get(i..i + 2)?, 16).ok())
        .collect()
}

/// What the webhook did with an event.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum WebhookOutcome {
    /// The payment changed.
    Applied,
    /// The event was applied before.
    Duplicate,
    /// Not an event we act on, about no payment we know, or too late to change it.
    Ignored,
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
    last_payment_error: Option<LastPaymentError>,
}

#[derive(Debug, Default, Deserialize)]
struct LastPaymentError {
    #[serde(default)]
    code: Option<String>,
    #[serde(default)]
    decline_code: Option<String>,
    #[serde(default)]
    message: Option<String>,
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
            ChargeOutcome::Declined {
                reference: Some(intent.id.clone()),
                reason: error
                    .message
                    .unwrap_or_else(|| "The payment failed.".to_owned()),
                decline_code: error.decline_code.or(error.code),
            }
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

    const SECRET: &str = "whsec_test_secret";
    const NOW: i64 = 1_750_000_000;
    const PAYLOAD: &[u8] = br#"{"id":"evt_1","type":"payment_intent.succeeded"}"#;

    fn sign(secret: &str, timestamp: i64, payload: &[u8]) -> String {
        let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).unwrap();
        mac.update(format!("{timestamp}.").as_bytes());
        mac.update(payload);
        mac.finalize()
            .into_bytes()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect()
    }

    fn verify(header: &str) -> Result<(), SignatureError> {
        verify_signature(SECRET, Some(header), PAYLOAD, NOW)
    }

    #[test]
    fn a_good_signature_verifies() {
        let good = sign(SECRET, NOW, PAYLOAD);
        assert_eq!(verify(&format!("t={NOW},v1={good}")), Ok(()));
        // Within the tolerance either way, spaces, and unknown schemes alongside.
        let at = NOW - 300;
        let old = sign(SECRET, at, PAYLOAD);
        assert_eq!(verify(&format!("t={at}, v1={old}, v0=abcd")), Ok(()));
        let at = NOW + 300;
        let early = sign(SECRET, at, PAYLOAD);
        assert_eq!(verify(&format!("t={at},v1={early}")), Ok(()));
    }

    #[test]
    fn any_of_several_v1_signatures_may_match() {
        let good = sign(SECRET, NOW, PAYLOAD);
        let other = sign("whsec_rotated_out", NOW, PAYLOAD);
        assert_eq!(verify(&format!("t={NOW},v1={other},v1={good}")), Ok(()));
        assert_eq!(verify(&format!("t={NOW},v1=zz,v1={good}")), Ok(()));
        assert_eq!(
            verify(&format!("t={NOW},v1={other},v1={other}")),
            Err(SignatureError::Mismatch)
        );
    }

    #[test]
    fn bad_signatures_are_refused() {
        let good = sign(SECRET, NOW, PAYLOAD);
        let wrong_key = sign("whsec_other", NOW, PAYLOAD);
        assert_eq!(
            verify(&format!("t={NOW},v1={wrong_key}")),
            Err(SignatureError::Mismatch)
        );
        // The payload or the timestamp changed after signing.
        assert_eq!(
            verify_signature(SECRET, Some(&format!("t={NOW},v1={good}")), b"{}", NOW),
            Err(SignatureError::Mismatch)
        );
        let later = NOW + 1;
        assert_eq!(
            verify_signature(SECRET, Some(&format!("t={later},v1={good}")), PAYLOAD, NOW),
            Err(SignatureError::Mismatch)
        );
        assert_eq!(
            verify(&format!("t={NOW},v1={}", &good[..63])),
            Err(SignatureError::Mismatch)
        );
        assert_eq!(
            verify(&format!(
                "t={NOW},v1={}",
                good.to_uppercase().replace('A', "G")
            )),
            Err(SignatureError::Mismatch)
        );
    }

    #[test]
    fn stale_and_future_timestamps_are_refused() {
        for at in [NOW - 301, NOW + 301, 0] {
            let signature = sign(SECRET, at, PAYLOAD);
            assert_eq!(
                verify(&format!("t={at},v1={signature}")),
                Err(SignatureError::OutsideTolerance),
                "{at}"
            );
        }
    }

    #[test]
    fn malformed_headers_and_no_secret_are_refused() {
        let good = sign(SECRET, NOW, PAYLOAD);
        for header in [
            String::new(),
            "garbage".into(),
            format!("v1={good}"),
            format!("t={NOW}"),
            format!("t=soon,v1={good}"),
            format!("t={NOW},t={NOW},v1={good}"),
            format!("t={NOW},v0={good}"),
        ] {
            assert_eq!(
                verify(&header),
                Err(SignatureError::Malformed),
                "{header:?}"
            );
        }
        assert_eq!(
            verify_signature(SECRET, None, PAYLOAD, NOW),
            Err(SignatureError::Malformed)
        );
        assert_eq!(
            verify_signature("", Some(&format!("t={NOW},v1={good}")), PAYLOAD, NOW),
            Err(SignatureError::NoSecret)
        );
    }

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
