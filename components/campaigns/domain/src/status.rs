//! The campaign status machine (DESIGN §3): `active → successful` when a join reaches
//! the minimum, `active → failed` when the sweep finds it ended below the minimum.
//! `successful` and `failed` are final; a successful campaign still takes joins until it
//! is full or ends, without changing status.

use serde::{Deserialize, Serialize};
use std::fmt;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum CampaignStatus {
    Active,
    Successful,
    Failed,
}

impl CampaignStatus {
    pub const ALL: [CampaignStatus; 3] = [
        CampaignStatus::Active,
        CampaignStatus::Successful,
        CampaignStatus::Failed,
    ];

    /// The name stored and shown, e.g. `successful`.
    pub fn as_str(self) -> &'static str {
        match self {
            CampaignStatus::Active => "active",
            CampaignStatus::Successful => "successful",
            CampaignStatus::Failed => "failed",
        }
    }

    /// The status named `name`, as [`CampaignStatus::as_str`] spells it.
    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|status| status.as_str() == name)
    }

    /// Whether a campaign in this status takes participants (time and places allowing).
    pub fn takes_joins(self) -> bool {
        matches!(self, CampaignStatus::Active | CampaignStatus::Successful)
    }
}

impl fmt::Display for CampaignStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A change the machine forbids, naming both states.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IllegalTransition {
    pub from: CampaignStatus,
    pub to: CampaignStatus,
}

impl fmt::Display for IllegalTransition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "a campaign cannot move from {} to {}",
            self.from, self.to
        )
    }
}

/// Whether a campaign in `from` may move to `to`. Staying put is not a move.
pub fn transition(from: CampaignStatus, to: CampaignStatus) -> Result<(), IllegalTransition> {
    use CampaignStatus::{Active, Failed, Successful};
    match (from, to) {
        (Active, Successful | Failed) => Ok(()),
        _ => Err(IllegalTransition { from, to }),
    }
}

#[cfg(test)]
mod tests {
    use super::CampaignStatus::{Active, Failed, Successful};
    use super::*;

    #[test]
    fn every_pair_is_legal_exactly_when_the_machine_has_the_edge() {
        let legal = [(Active, Successful), (Active, Failed)];
        for from in CampaignStatus::ALL {
            for to in CampaignStatus::ALL {
                let outcome = transition(from, to);
                if legal.contains(&(from, to)) {
                    assert_eq!(outcome, Ok(()), "{from} -> {to}");
                } else {
                    assert_eq!(
                        outcome,
                        Err(IllegalTransition { from, to }),
                        "{from} -> {to}"
                    );
                }
            }
        }
    }

    #[test]
    fn successful_and_failed_are_final() {
        for terminal in [Successful, Failed] {
            assert!(
                CampaignStatus::ALL
                    .into_iter()
                    .all(|to| transition(terminal, to).is_err())
            );
        }
        assert_eq!(
            transition(Failed, Active).unwrap_err().to_string(),
            "a campaign cannot move from failed to active"
        );
    }

    #[test]
    fn only_active_and_successful_campaigns_take_joins() {
        assert!(Active.takes_joins());
        assert!(Successful.takes_joins());
        assert!(!Failed.takes_joins());
    }

    #[test]
    fn names_round_trip_in_text_and_json() {
        for status in CampaignStatus::ALL {
            assert_eq!(CampaignStatus::parse(status.as_str()), Some(status));
            assert_eq!(
                serde_json::to_value(status).unwrap(),
                serde_json::Value::from(status.as_str())
            );
        }
        assert_eq!(CampaignStatus::parse("Active"), None);
        assert_eq!(CampaignStatus::parse("ended"), None);
    }
}
