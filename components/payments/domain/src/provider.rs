//! The payment providers the `payment_provider` variable chooses between: `test`
//! (Stripe's test-token behaviour, no network) and `stripe` (the PaymentIntents API,
//! see [`crate::stripe`]).

use crate::stripe::Stripe;
use kit::outbound::Outbound;
use kit::variables::Variables;
use std::fmt;

pub const TEST: &str = "test";
pub const STRIPE: &str = "stripe";
/// The provider of a free order's payment: none was asked, and none refunds it.
pub const FREE: &str = "none";

/// One charge: `amount` minor units of `currency` with the customer's `token`.
/// `payment_id` is the provider's idempotency key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Charge<'a> {
    pub payment_id: &'a str,
    pub order_id: &'a str,
    pub amount: i64,
    pub currency: &'a str,
    pub token: &'a str,
}

/// What the provider made of a charge.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChargeOutcome {
    Succeeded {
        reference: String,
    },
    Declined {
        /// The provider's charge id, when it made one.
        reference: Option<String>,
        reason: String,
        decline_code: Option<String>,
    },
    /// Not final yet (Stripe `processing`, `requires_action`): a webhook finishes it.
    Pending {
        reference: String,
    },
}

/// One refund of a captured charge; `refund_id` is the provider's idempotency key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refund<'a> {
    pub refund_id: &'a str,
    /// The provider's charge id.
    pub charge_reference: &'a str,
    pub amount: i64,
}

/// Why a provider call did not go through.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProviderError {
    /// Down, overloaded, unreachable or not configured: worth retrying later.
    Unavailable(String),
    /// The provider refused the request itself; retrying cannot help.
    Refused(String),
}

impl fmt::Display for ProviderError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ProviderError::Unavailable(reason) => {
                write!(f, "the payment provider is unavailable: {reason}")
            }
            ProviderError::Refused(reason) => {
                write!(f, "the payment provider refused: {reason}")
            }
        }
    }
}

impl std::error::Error for ProviderError {}

/// The configured provider; `T` sends Stripe's HTTP requests.
pub enum Provider<T> {
    Test,
    Stripe(Stripe<T>),
}

/// The provider the variables choose — `payment_provider` (`test` | `stripe`),
/// `stripe_api_url`, `stripe_secret_key` — calling Stripe through `outbound`. `Err`
/// describes a misconfiguration (an unknown provider, or Stripe without a secret key).
pub async fn configured_provider<T: Outbound>(
    variables: &impl Variables,
    outbound: T,
) -> Result<Provider<T>, String> {
    match variables.text("payment_provider").await?.as_str() {
        "" => Err(format!(
            "payment_provider is not set: set it to {TEST} or {STRIPE}"
        )),
        TEST => Ok(Provider::Test),
        STRIPE => {
            let secret_key = variables.text("stripe_secret_key").await?;
            if secret_key.is_empty() {
                return Err("payment_provider is stripe but stripe_secret_key is empty".into());
            }
            let api_url = match variables.text("stripe_api_url").await? {
                url if url.is_empty() => "https://api.stripe.com".to_owned(),
                url => url,
            };
            Ok(Provider::Stripe(Stripe {
                api_url,
                secret_key,
                outbound,
            }))
        }
        other => Err(format!(
            "payment_provider must be {TEST} or {STRIPE}, not {other:?}"
        )),
    }
}

impl<T: Outbound> Provider<T> {
    /// The name stored on payments and carried by their events.
    pub fn name(&self) -> &'static str {
        match self {
            Provider::Test => TEST,
            Provider::Stripe(_) => STRIPE,
        }
    }

    pub async fn charge(&self, charge: &Charge<'_>) -> Result<ChargeOutcome, ProviderError> {
        match self {
            Provider::Test => Ok(test_charge(charge.payment_id, charge.token)),
            Provider::Stripe(stripe) => stripe.charge(charge).await,
        }
    }

    /// Refunds through the provider that took the payment (`charged_by`): `test`
    /// payments refund without a call whatever is configured now; a Stripe payment
    /// needs the Stripe provider configured.
    pub async fn refund(&self, charged_by: &str, refund: &Refund<'_>) -> Result<(), ProviderError> {
        match (self, charged_by) {
            (_, TEST) => Ok(()),
            (Provider::Stripe(stripe), STRIPE) => stripe.refund(refund).await,
            _ => Err(ProviderError::Unavailable(format!(
                "the payment was made with {charged_by:?} but the configured provider is {}",
                self.name()
            ))),
        }
    }
}

/// Stripe's test tokens: `tok_visa`, `tok_mastercard` and `tok_amex` succeed,
/// `tok_chargeDeclined` and `tok_chargeDeclinedInsufficientFunds` decline, and any
/// other token is declined as invalid.
pub fn test_charge(payment_id: &str, token: &str) -> ChargeOutcome {
    let declined = |reason: &str, code: &str| ChargeOutcome::Declined {
        reference: None,
        reason: reason.to_owned(),
        decline_code: Some(code.to_owned()),
    };
    match token {
        "tok_visa" | "tok_mastercard" | "tok_amex" => ChargeOutcome::Succeeded {
            reference: format!("pi_test_{}", payment_id.replace('-', "")),
        },
        "tok_chargeDeclined" => declined("Your card was declined.", "card_declined"),
        "tok_chargeDeclinedInsufficientFunds" => {
            declined("Your card has insufficient funds.", "insufficient_funds")
        }
        _ => declined(
            "The payment token is not one the test provider knows.",
            "invalid_token",
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stripe::tests::{ScriptedStripe, stripe};
    use futures::executor::block_on;

    const PAYMENT_ID: &str = "0190a0b0-c0d0-7e00-8000-000000000001";

    fn decline_code(outcome: ChargeOutcome) -> Option<String> {
        match outcome {
            ChargeOutcome::Declined { decline_code, .. } => decline_code,
            other => panic!("expected a decline, got {other:?}"),
        }
    }

    #[test]
    fn test_tokens_behave_like_stripes() {
        for token in ["tok_visa", "tok_mastercard", "tok_amex"] {
            assert_eq!(
                test_charge(PAYMENT_ID, token),
                ChargeOutcome::Succeeded {
                    reference: "pi_test_0190a0b0c0d07e008000000000000001".into()
                },
                "{token}"
            );
        }
        assert_eq!(
            test_charge(PAYMENT_ID, "tok_chargeDeclined"),
            ChargeOutcome::Declined {
                reference: None,
                reason: "Your card was declined.".into(),
                decline_code: Some("card_declined".into()),
            }
        );
        assert_eq!(
            decline_code(test_charge(
                PAYMENT_ID,
                "tok_chargeDeclinedInsufficientFunds"
            ))
            .as_deref(),
            Some("insufficient_funds")
        );
        for token in ["", "tok_unknown", "TOK_VISA", "4242424242424242"] {
            assert_eq!(
                decline_code(test_charge(PAYMENT_ID, token)).as_deref(),
                Some("invalid_token"),
                "{token:?}"
            );
        }
    }

    #[test]
    fn refunds_go_through_the_provider_that_charged() {
        let test: Provider<ScriptedStripe> = Provider::Test;
        let refund = Refund {
            refund_id: "r1",
            charge_reference: "pi_1",
            amount: 100,
        };
        assert_eq!(block_on(test.refund(TEST, &refund)), Ok(()));
        assert!(matches!(
            block_on(test.refund(STRIPE, &refund)),
            Err(ProviderError::Unavailable(_))
        ));

        let stripe = Provider::Stripe(stripe(vec![(200, r#"{"id":"re_1","status":"succeeded"}"#)]));
        assert_eq!(block_on(stripe.refund(TEST, &refund)), Ok(()));
        assert_eq!(block_on(stripe.refund(STRIPE, &refund)), Ok(()));
        let Provider::Stripe(client) = &stripe else {
            unreachable!()
        };
        assert_eq!(
            client.outbound.sent().len(),
            1,
            "the test refund made no call"
        );
    }

    #[test]
    fn the_variables_choose_the_provider() {
        use std::collections::HashMap;
        let configured = |variables: &[(&'static str, &'static str)]| {
            block_on(configured_provider(
                &HashMap::from_iter(variables.iter().copied()),
                stripe(vec![]).outbound,
            ))
        };
        assert!(matches!(
            configured(&[("payment_provider", "test")]),
            Ok(Provider::Test)
        ));
        let Ok(Provider::Stripe(client)) = configured(&[
            ("payment_provider", "stripe"),
            ("stripe_secret_key", "sk_live_1"),
        ]) else {
            panic!("stripe with a key is stripe");
        };
        assert_eq!(client.api_url, "https://api.stripe.com");
        assert_eq!(client.secret_key, "sk_live_1");
        let error = |variables| configured(variables).err().unwrap();
        assert!(error(&[("payment_provider", "stripe")]).contains("stripe_secret_key"));
        assert!(error(&[("payment_provider", "paypal")]).contains("paypal"));
        // No default: an unset provider is a misconfiguration, never the test provider.
        assert!(error(&[]).contains("not set"));
        assert!(error(&[("payment_provider", "")]).contains("not set"));
    }
}
