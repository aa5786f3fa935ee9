//! The campaign status machine (DESIGN §3): `active → successful` when a join reaches
//! the minimum, `active → failed` when the sweep finds it ended below the minimum.
//! `successful` and `failed` are final; a successful campaign still takes joins until it
//! is full or ends, without changing status.

kit::status_machine! {
    /// A campaign's status.
    pub enum CampaignStatus: "a campaign" {
        Active = "active",
        Successful = "successful",
        Failed = "failed",
    }
    moves {
        Active => Successful | Failed,
    }
}

impl CampaignStatus {
    /// Whether a campaign in this status takes participants (time and places allowing).
    pub fn takes_joins(self) -> bool {
        matches!(self, CampaignStatus::Active | CampaignStatus::Successful)
    }
}

#[cfg(test)]
mod tests {
    use super::CampaignStatus::{Active, Failed, Successful};
    use kit::status::Machine;

    #[test]
    fn successful_and_failed_are_final() {
        assert!(Successful.is_final() && Failed.is_final() && !Active.is_final());
        assert_eq!(
            Failed.check(Active).unwrap_err().to_string(),
            "a campaign cannot move from failed to active"
        );
    }

    #[test]
    fn only_active_and_successful_campaigns_take_joins() {
        assert!(Active.takes_joins());
        assert!(Successful.takes_joins());
        assert!(!Failed.takes_joins());
    }
}
