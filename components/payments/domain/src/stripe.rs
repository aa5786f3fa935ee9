//! Stripe's PaymentIntents and Refunds APIs: the requests we send and what we make of
//! the replies. They go out through an [`Outbound`] (Spin's outbound HTTP in the
//! components, a scripted stub in tests).

use crate::provider::{Charge, ChargeOutcome, ProviderError, Refund};
use http::header;
use kit::outbound::{Answer, Outbound};
use serde::Deserialize;

/// Stripe at `api_url` (`https://api.stripe.com`, or a stub in tests).
pub struct Stripe<T> {
    pub api_url: String,
    pub secret_key: String,
    pub outbound: T,
}

impl<T: Outbound> Stripe<T> {
    /// Creates and confirms a PaymentIntent, idempotent on the payment id.
    pub async fn charge(&self, charge: &Charge<'_>) -> Result<ChargeOutcome, ProviderError> {
        let reply = self
            .post(
                "/v1/payment_intents",
                charge.payment_id,
                charge_form(charge),
            )
            .await?;
        charge_outcome(reply.status().as_u16(), reply.body())
    }

    /// Refunds part or all of a PaymentIntent, idempotent on the refund id.
    pub async fn refund(&self, refund: &Refund<'_>) -> Result<(), ProviderError> {
        let reply = self
            .post("/v1/refunds", refund.refund_id, refund_form(refund))
            .await?;
        refund_result(reply.status().as_u16(), reply.body())
    }

    async fn post(
        &self,
        path: &str,
        idempotency_key: &str,
        form: String,
    ) -> Result<Answer, ProviderError> {
        let url = format!("{}{path}", self.api_url.trim_end_matches('/'));
        let request = form_request(&url, &self.secret_key, idempotency_key, form)
            .map_err(ProviderError::Unavailable)?;
        self.outbound
            .send(request)
            .await
            .map_err(ProviderError::Unavailable)
    }
}

/// A form-encoded POST to `url` with Stripe's headers (`Authorization: Bearer
/// <secret_key>`, `Idempotency-Key`).
fn form_request(
    url: &str,
    secret_key: &str,
    idempotency_key: &str,
    form: String,
) -> Result<http::Request<Vec<u8>>, String> {
    http::Request::post(url)
        .header(header::AUTHORIZATION, format!("Bearer {secret_key}"))
        .header("idempotency-key", idempotency_key)
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(form.into_bytes())
        .map_err(|error| format!("building the request to {url}: {error}"))
}

/// The body of `POST /v1/payment_intents`: confirmed at once with the card token.
pub fn charge_form(charge: &Charge<'_>) -> String {
    form_urlencoded::Serializer::new(String::new())
        .append_pair("amount", &charge.amount.to_string())
        .append_pair("currency", &charge.currency.to_ascii_lowercase())
        .append_pair("confirm", "true")
        .append_pair("payment_method_data[type]", "card")
        .append_pair("payment_method_data[card][token]", charge.token)
        .append_pair("metadata[order_id]", charge.order_id)
        .append_pair("metadata[payment_id]", charge.payment_id)
        .finish()
}

/// The body of `POST /v1/refunds`.
pub fn refund_form(refund: &Refund<'_>) -> String {
    form_urlencoded::Serializer::new(String::new())
        .append_pair("payment_intent", refund.charge_reference)
        .append_pair("amount", &refund.amount.to_string())
        .finish()
}

/// Stripe's error object, as much of it as we use (also a PaymentIntent's
/// `last_payment_error`, in replies and in webhook events).
#[derive(Debug, Default, Deserialize)]
pub(crate) struct StripeError {
    #[serde(default)]
    code: Option<String>,
    #[serde(default)]
    decline_code: Option<String>,
    #[serde(default)]
    message: Option<String>,
    #[serde(default)]
    payment_intent: Option<IntentRef>,
}

#[derive(Debug, Deserialize)]
struct IntentRef {
    id: String,
}

#[derive(Debug, Deserialize)]
struct ErrorReply {
    error: StripeError,
}

/// A PaymentIntent or a Refund: both have an id and a status.
#[derive(Debug, Deserialize)]
struct ObjectReply {
    id: String,
    status: String,
    #[serde(default)]
    last_payment_error: Option<StripeError>,
}

/// Statuses after which the same request may succeed later: Stripe down or
/// rate-limiting (5xx, 429), or a concurrent request with the same idempotency key (409).
fn retryable(status: u16) -> bool {
    status >= 500 || matches!(status, 409 | 429)
}

/// Our secret key refused (401/403): no retry helps until an operator fixes the key, so
/// the delivery becomes a dead letter at once, to be replayed after the fix.
fn credentials_refused(status: u16, error: &StripeError) -> Option<ProviderError> {
    matches!(status, 401 | 403).then(|| {
        ProviderError::Refused(format!(
            "Stripe refused our credentials (HTTP {status}): {}",
            error.message.as_deref().unwrap_or("no message")
        ))
    })
}

fn error_of(body: &[u8]) -> StripeError {
    serde_json::from_slice::<ErrorReply>(body)
        .map(|reply| reply.error)
        .unwrap_or_default()
}

fn unavailable(status: u16, error: &StripeError) -> ProviderError {
    ProviderError::Unavailable(format!(
        "Stripe answered HTTP {status}: {}",
        error.message.as_deref().unwrap_or("no message")
    ))
}

fn declined(reference: Option<String>, error: StripeError, status: u16) -> ChargeOutcome {
    error.declined(reference, || {
        format!("Stripe declined the payment (HTTP {status})")
    })
}

impl StripeError {
    /// The decline this error tells of: Stripe's message (else `fallback`'s) and its
    /// decline code (else its error code).
    pub(crate) fn declined(
        self,
        reference: Option<String>,
        fallback: impl FnOnce() -> String,
    ) -> ChargeOutcome {
        ChargeOutcome::Declined {
            reference,
            reason: self.message.unwrap_or_else(fallback),
            decline_code: self.decline_code.or(self.code),
        }
    }
}

/// What a reply to `POST /v1/payment_intents` means. A 402 (card error) or other
/// client error is a decline with Stripe's message and decline code; 5xx, 429 and
/// network trouble are worth retrying.
pub fn charge_outcome(status: u16, body: &[u8]) -> Result<ChargeOutcome, ProviderError> {
    if (200..300).contains(&status) {
        let intent: ObjectReply = serde_json::from_slice(body).map_err(|error| {
            ProviderError::Unavailable(format!("unreadable PaymentIntent from Stripe: {error}"))
        })?;
        return Ok(match intent.status.as_str() {
            "succeeded" => ChargeOutcome::Succeeded {
                reference: intent.id,
            },
            "requires_payment_method" | "canceled" => declined(
                Some(intent.id),
                intent.last_payment_error.unwrap_or_default(),
                status,
            ),
            // processing, requires_action, ...: the webhook brings the outcome.
            _ => ChargeOutcome::Pending {
                reference: intent.id,
            },
        });
    }
    let error = error_of(body);
    if let Some(refused) = credentials_refused(status, &error) {
        return Err(refused);
    }
    if retryable(status) {
        return Err(unavailable(status, &error));
    }
    let reference = error
        .payment_intent
        .as_ref()
        .map(|intent| intent.id.clone());
    Ok(declined(reference, error, status))
}

/// What a reply to `POST /v1/refunds` means: a refund Stripe accepted (even
/// `pending`) is done; a client error or a `failed` refund is refused.
pub fn refund_result(status: u16, body: &[u8]) -> Result<(), ProviderError> {
    if (200..300).contains(&status) {
        let refund: ObjectReply = serde_json::from_slice(body).map_err(|error| {
            ProviderError::Unavailable(format!("unreadable Refund from Stripe: {error}"))
        })?;
        return match refund.status.as_str() {
            "failed" | "canceled" => Err(ProviderError::Refused(format!(
                "Stripe refund {} is {}",
                refund.id, refund.status
            ))),
            _ => Ok(()),
        };
    }
    let error = error_of(body);
    if let Some(refused) = credentials_refused(status, &error) {
        return Err(refused);
    }
    if retryable(status) {
        return Err(unavailable(status, &error));
    }
    Err(ProviderError::Refused(format!(
        "Stripe answered HTTP {status}: {}",
        error.message.as_deref().unwrap_or("no message")
    )))
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use futures::executor::block_on;
    use std::cell::RefCell;

    /// A request Stripe was sent.
    #[derive(Debug, Clone, PartialEq, Eq)]
    pub struct Sent {
        pub url: String,
        pub secret_key: String,
        pub idempotency_key: String,
        pub form: String,
    }

    /// Answers with scripted replies in order; status 0 stands for a network failure.
    pub struct ScriptedStripe {
        replies: RefCell<Vec<(u16, &'static str)>>,
        sent: RefCell<Vec<Sent>>,
    }

    impl ScriptedStripe {
        pub fn sent(&self) -> Vec<Sent> {
            self.sent.borrow().clone()
        }
    }

    impl Outbound for ScriptedStripe {
        async fn send(&self, request: http::Request<Vec<u8>>) -> Result<Answer, String> {
            let header = |name| request.headers()[name].to_str().unwrap().to_owned();
            let url = request.uri().to_string();
            self.sent.borrow_mut().push(Sent {
                secret_key: header("authorization")
                    .strip_prefix("Bearer ")
                    .unwrap()
                    .to_owned(),
                idempotency_key: header("idempotency-key"),
                form: String::from_utf8(request.body().clone()).unwrap(),
                url: url.clone(),
            });
            assert_eq!(header("content-type"), "application/x-www-form-urlencoded");
            let mut replies = self.replies.borrow_mut();
            assert!(!replies.is_empty(), "an unscripted request to {url}");
            match replies.remove(0) {
                (0, _) => Err("connection refused".to_owned()),
                (status, body) => Ok(http::Response::builder()
                    .status(status)
                    .body(body.as_bytes().to_vec())
                    .unwrap()),
            }
        }
    }

    pub fn stripe(replies: Vec<(u16, &'static str)>) -> Stripe<ScriptedStripe> {
        Stripe {
            api_url: "http://stripe.test/".into(),
            secret_key: "sk_test_123".into(),
            outbound: ScriptedStripe {
                replies: RefCell::new(replies),
                sent: RefCell::new(Vec::new()),
            },
        }
    }

    const CHARGE: Charge<'static> = Charge {
        payment_id: "pay-1",
        order_id: "order 1",
        amount: 2599,
        currency: "EUR",
        token: "tok_visa",
    };

    fn pairs(form: &str) -> Vec<(String, String)> {
        form_urlencoded::parse(form.as_bytes())
            .into_owned()
            .collect()
    }

    #[test]
    fn charge_form_is_a_confirmed_payment_intent() {
        let form = charge_form(&CHARGE);
        let expected: Vec<(String, String)> = [
            ("amount", "2599"),
            ("currency", "eur"),
            ("confirm", "true"),
            ("payment_method_data[type]", "card"),
            ("payment_method_data[card][token]", "tok_visa"),
            ("metadata[order_id]", "order 1"),
            ("metadata[payment_id]", "pay-1"),
        ]
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
        assert_eq!(pairs(&form), expected);
        assert!(form.contains("payment_method_data%5Bcard%5D%5Btoken%5D=tok_visa"));
        assert!(form.contains("metadata%5Border_id%5D=order+1"));
    }

    #[test]
    fn refund_form_names_the_intent_and_amount() {
        let form = refund_form(&Refund {
            refund_id: "r1",
            charge_reference: "pi_123",
            amount: 500,
        });
        assert_eq!(form, "payment_intent=pi_123&amount=500");
    }

    #[test]
    fn charge_replies() {
        assert_eq!(
            charge_outcome(200, br#"{"id":"pi_1","status":"succeeded","amount":2599}"#),
            Ok(ChargeOutcome::Succeeded {
                reference: "pi_1".into()
            })
        );
        for pending in ["processing", "requires_action"] {
            let body = format!(r#"{{"id":"pi_2","status":"{pending}"}}"#);
            assert_eq!(
                charge_outcome(200, body.as_bytes()),
                Ok(ChargeOutcome::Pending {
                    reference: "pi_2".into()
                })
            );
        }
        assert_eq!(
            charge_outcome(
                200,
                br#"{"id":"pi_3","status":"requires_payment_method",
                    "last_payment_error":{"code":"card_declined","decline_code":"do_not_honor","message":"Declined."}}"#
            ),
            Ok(ChargeOutcome::Declined {
                reference: Some("pi_3".into()),
                reason: "Declined.".into(),
                decline_code: Some("do_not_honor".into()),
            })
        );
        assert!(matches!(
            charge_outcome(200, b"<html>"),
            Err(ProviderError::Unavailable(_))
        ));
    }

    #[test]
    fn card_errors_are_declines() {
        let body = br#"{"error":{"type":"card_error","code":"card_declined",
            "decline_code":"insufficient_funds","message":"Your card has insufficient funds.",
            "payment_intent":{"id":"pi_9","status":"requires_payment_method"}}}"#;
        assert_eq!(
            charge_outcome(402, body),
            Ok(ChargeOutcome::Declined {
                reference: Some("pi_9".into()),
                reason: "Your card has insufficient funds.".into(),
                decline_code: Some("insufficient_funds".into()),
            })
        );
        // Without a decline code, the error code stands in; without a body, the status.
        let body = br#"{"error":{"code":"resource_missing","message":"No such token: 'tok_x'"}}"#;
        assert_eq!(
            charge_outcome(400, body),
            Ok(ChargeOutcome::Declined {
                reference: None,
                reason: "No such token: 'tok_x'".into(),
                decline_code: Some("resource_missing".into()),
            })
        );
        assert!(matches!(
            charge_outcome(402, b""),
            Ok(ChargeOutcome::Declined { reason, decline_code: None, .. }) if reason.contains("402")
        ));
    }

    #[test]
    fn outages_are_retried() {
        for status in [500, 502, 503, 429, 409] {
            let outcome = charge_outcome(status, br#"{"error":{"message":"busy"}}"#);
            assert!(
                matches!(&outcome, Err(ProviderError::Unavailable(m)) if m.contains("busy")),
                "{status}: {outcome:?}"
            );
            assert!(matches!(
                refund_result(status, b""),
                Err(ProviderError::Unavailable(_))
            ));
        }
    }

    #[test]
    fn refused_credentials_are_not_retried() {
        for status in [401, 403] {
            let body = br#"{"error":{"message":"Invalid API Key provided"}}"#;
            assert!(matches!(
                charge_outcome(status, body),
                Err(ProviderError::Refused(m)) if m.contains("credentials")
            ));
            assert!(matches!(
                refund_result(status, body),
                Err(ProviderError::Refused(_))
            ));
        }
    }

    #[test]
    fn refund_replies() {
        for status in ["succeeded", "pending"] {
            let body = format!(r#"{{"id":"re_1","status":"{status}"}}"#);
            assert_eq!(refund_result(200, body.as_bytes()), Ok(()));
        }
        assert!(matches!(
            refund_result(200, br#"{"id":"re_1","status":"failed"}"#),
            Err(ProviderError::Refused(_))
        ));
        let body = br#"{"error":{"code":"charge_already_refunded","message":"Charge pi_1 has already been refunded."}}"#;
        assert!(matches!(
            refund_result(400, body),
            Err(ProviderError::Refused(m)) if m.contains("already been refunded")
        ));
    }

    #[test]
    fn requests_carry_stripes_headers_and_idempotency_keys() {
        let client = stripe(vec![
            (200, r#"{"id":"pi_1","status":"succeeded"}"#),
            (200, r#"{"id":"re_1","status":"succeeded"}"#),
            (0, ""),
        ]);
        assert_eq!(
            block_on(client.charge(&CHARGE)),
            Ok(ChargeOutcome::Succeeded {
                reference: "pi_1".into()
            })
        );
        let refund = Refund {
            refund_id: "refund-1",
            charge_reference: "pi_1",
            amount: 100,
        };
        assert_eq!(block_on(client.refund(&refund)), Ok(()));
        assert!(matches!(
            block_on(client.refund(&refund)),
            Err(ProviderError::Unavailable(m)) if m.contains("connection refused")
        ));
        let sent = client.outbound.sent();
        assert_eq!(sent[0].url, "http://stripe.test/v1/payment_intents");
        assert_eq!(sent[0].idempotency_key, "pay-1");
        assert_eq!(sent[0].secret_key, "sk_test_123");
        assert_eq!(sent[0].form, charge_form(&CHARGE));
        assert_eq!(sent[1].url, "http://stripe.test/v1/refunds");
        assert_eq!(sent[1].idempotency_key, "refund-1");
    }
}
