//! Joining a campaign: the body of `POST /api/v1/campaigns/{id}/join` and its rules, and
//! the pure decisions around the join's SQL — why a join was refused, and whether a join
//! is the one that made the campaign successful.

use crate::campaigns::Campaign;
use kit::FieldError;
use kit::checkout::check_shipping_and_payment;
pub use kit::checkout::{MAX_ADDRESS_CHARS, MAX_TOKEN_CHARS, Payment, ShippingAddress};
use kit::json::{FieldErrors, Validate};
use serde::Deserialize;
use std::fmt;

/// `POST /api/v1/campaigns/{id}/join`: where to ship and how to pay once the campaign
/// succeeds. The customer is the caller.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct JoinRequest {
    pub shipping_address: ShippingAddress,
    pub payment: Payment,
}

/// The same rules as the orders checkout's address and payment, since the participant's
/// order is placed with them.
impl Validate for JoinRequest {
    fn validate(&self) -> Result<(), Vec<FieldError>> {
        let mut errors = FieldErrors::new();
        check_shipping_and_payment(&self.shipping_address, &self.payment, &mut errors);
        errors.into_result()
    }
}

/// Why a campaign refused a join (a 409 whose detail is this text).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JoinRefusal {
    AlreadyJoined,
    Failed,
    NotStarted { starts_at: String },
    Ended { ends_at: String },
    Full { max_participants: u32 },
}

impl fmt::Display for JoinRefusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            JoinRefusal::AlreadyJoined => f.write_str("you have already joined this campaign"),
            JoinRefusal::Failed => {
                f.write_str("the campaign has failed: it ended below its minimum")
            }
            JoinRefusal::NotStarted { starts_at } => {
                write!(
                    f,
                    "the campaign is not active yet: it starts at {starts_at}"
                )
            }
            JoinRefusal::Ended { ends_at } => write!(f, "the campaign has ended at {ends_at}"),
            JoinRefusal::Full { max_participants } => write!(
                f,
                "the campaign is full: all {max_participants} places are taken"
            ),
        }
    }
}

/// Why `campaign` refuses a join at `now` (the stored time form), or `None` when it
/// takes one. Mirrors the conditions of the join's UPDATE, so when that UPDATE finds no
/// row this names the reason; a failed campaign is named as such even though it has
/// also ended.
pub fn join_refusal(campaign: &Campaign, now: &str) -> Option<JoinRefusal> {
    if !campaign.status.takes_joins() {
        return Some(JoinRefusal::Failed);
    }
    if campaign.starts_at.as_str() > now {
        return Some(JoinRefusal::NotStarted {
            starts_at: campaign.starts_at.clone(),
        });
    }
    if campaign.ends_at.as_str() <= now {
        return Some(JoinRefusal::Ended {
            ends_at: campaign.ends_at.clone(),
        });
    }
    if campaign.participants >= campaign.max_participants {
        return Some(JoinRefusal::Full {
            max_participants: campaign.max_participants,
        });
    }
    None
}

/// Whether the join that left `participants` in the campaign is the one that reached
/// its minimum: counts move by one under the row's lock, so exactly one join sees it.
pub fn reaches_minimum(participants: u32, min_participants: u32) -> bool {
    participants == min_participants
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::status::CampaignStatus;
    use serde_json::{Value, json};

    fn campaign(status: CampaignStatus, participants: u32) -> Campaign {
        Campaign {
            id: "c1".into(),
            name: "Espresso".into(),
            sku: "ESPRESSO-1".into(),
            price: 100,
            original_price: 200,
            currency: "EUR".into(),
            min_participants: 2,
            max_participants: 3,
            participants,
            starts_at: "2030-01-01T00:00:00.000000Z".into(),
            ends_at: "2030-01-08T00:00:00.000000Z".into(),
            status,
            created_at: "2029-12-01T00:00:00.000000Z".into(),
            updated_at: "2029-12-01T00:00:00.000000Z".into(),
        }
    }

    const DURING: &str = "2030-01-03T00:00:00.000000Z";

    #[test]
    fn an_open_campaign_with_places_takes_the_join() {
        assert_eq!(
            join_refusal(&campaign(CampaignStatus::Active, 0), DURING),
            None
        );
        assert_eq!(
            join_refusal(&campaign(CampaignStatus::Successful, 2), DURING),
            None,
            "joins stay open after success"
        );
        assert_eq!(
            join_refusal(
                &campaign(CampaignStatus::Active, 0),
                "2030-01-01T00:00:00.000000Z"
            ),
            None,
            "from its first instant"
        );
    }

    #[test]
    fn each_refusal_has_its_reason() {
        let failed = join_refusal(&campaign(CampaignStatus::Failed, 1), DURING).unwrap();
        assert_eq!(failed, JoinRefusal::Failed);
        assert!(failed.to_string().contains("failed"));

        let early = join_refusal(
            &campaign(CampaignStatus::Active, 0),
            "2029-12-31T23:59:59.999999Z",
        )
        .unwrap();
        assert!(matches!(early, JoinRefusal::NotStarted { .. }));
        assert!(early.to_string().contains("not active yet"));

        let late = join_refusal(
            &campaign(CampaignStatus::Successful, 2),
            "2030-01-08T00:00:00.000000Z",
        )
        .unwrap();
        assert!(matches!(late, JoinRefusal::Ended { .. }));
        assert!(late.to_string().contains("ended"));

        let full = join_refusal(&campaign(CampaignStatus::Successful, 3), DURING).unwrap();
        assert_eq!(
            full,
            JoinRefusal::Full {
                max_participants: 3
            }
        );
        assert!(full.to_string().contains("full"));

        assert!(
            JoinRefusal::AlreadyJoined
                .to_string()
                .contains("already joined")
        );
    }

    #[test]
    fn a_failed_campaign_says_failed_rather_than_ended() {
        let after_end = "2030-02-01T00:00:00.000000Z";
        assert_eq!(
            join_refusal(&campaign(CampaignStatus::Failed, 1), after_end),
            Some(JoinRefusal::Failed)
        );
    }

    #[test]
    fn exactly_the_join_that_reaches_the_minimum_succeeds_the_campaign() {
        let min = 3;
        let reaching: Vec<u32> = (1..=10).filter(|&n| reaches_minimum(n, min)).collect();
        assert_eq!(reaching, [3]);
    }

    fn body() -> Value {
        json!({
            "shipping_address": {
                "name": "Ada Lovelace", "line1": "12 St James's Square", "city": "London",
                "postal_code": "SW1Y 4JH", "country": "GB"
            },
            "payment": {"token": "tok_visa"}
        })
    }

    fn fields(body: &Value) -> Vec<String> {
        match kit::json::parse_valid::<JoinRequest>(body.to_string().as_bytes()) {
            Ok(_) => Vec::new(),
            Err(problem) => {
                assert_eq!(problem.status, 422, "{problem}");
                problem.errors.into_iter().map(|e| e.field).collect()
            }
        }
    }

    fn with(change: impl FnOnce(&mut Value)) -> Value {
        let mut body = body();
        change(&mut body);
        body
    }

    #[test]
    fn a_valid_join_is_trimmed_for_the_contract() {
        let body = with(|b| b["shipping_address"]["city"] = json!("  London "));
        let join = kit::json::parse_valid::<JoinRequest>(body.to_string().as_bytes()).unwrap();
        assert_eq!(join.shipping_address.to_contract().city, "London");
        assert_eq!(join.payment.token, "tok_visa");
    }

    #[test]
    fn address_fields_are_1_to_200_characters() {
        for field in ["name", "line1", "city", "postal_code"] {
            assert_eq!(
                fields(&with(|b| b["shipping_address"][field] = json!("  "))),
                [format!("shipping_address.{field}")]
            );
            assert_eq!(
                fields(&with(
                    |b| b["shipping_address"][field] = json!("x".repeat(201))
                )),
                [format!("shipping_address.{field}")]
            );
        }
    }

    #[test]
    fn the_country_is_two_upper_case_letters() {
        for country in ["gb", "GBR", "G", "", "1A"] {
            assert_eq!(
                fields(&with(|b| b["shipping_address"]["country"] = json!(country))),
                ["shipping_address.country"],
                "{country}"
            );
        }
    }

    #[test]
    fn the_payment_token_is_1_to_255_characters() {
        assert_eq!(
            fields(&with(|b| b["payment"]["token"] = json!(""))),
            ["payment.token"]
        );
        assert_eq!(
            fields(&with(|b| b["payment"]["token"] = json!("t".repeat(256)))),
            ["payment.token"]
        );
        assert!(fields(&with(|b| b["payment"]["token"] = json!("t".repeat(255)))).is_empty());
    }

    #[test]
    fn the_body_shape_is_strict() {
        assert_eq!(fields(&with(|b| b["quantity"] = json!(2))), ["quantity"]);
        assert_eq!(
            fields(&with(|b| {
                b.as_object_mut().unwrap().remove("payment");
            })),
            ["payment"]
        );
        assert_eq!(
            fields(&with(|b| b["payment"]["card"] = json!("4242"))),
            ["payment.card"]
        );
    }
}
