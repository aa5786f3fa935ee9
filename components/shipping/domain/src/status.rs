//! The shipment status machine (DESIGN §3): `label_created → in_transit → delivered`,
//! and `failed` from either of the first two; `cancelled` (the label voided) from
//! `label_created` only, when the order is cancelled. `delivered`, `failed` and
//! `cancelled` are final.

use serde::{Deserialize, Serialize};
use std::fmt;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ShipmentStatus {
    LabelCreated,
    InTransit,
    Delivered,
    Failed,
    Cancelled,
}

impl ShipmentStatus {
    pub const ALL: [ShipmentStatus; 5] = [
        ShipmentStatus::LabelCreated,
        ShipmentStatus::InTransit,
        ShipmentStatus::Delivered,
        ShipmentStatus::Failed,
        ShipmentStatus::Cancelled,
    ];

    /// The name stored and shown, e.g. `in_transit`.
    pub fn as_str(self) -> &'static str {
        match self {
            ShipmentStatus::LabelCreated => "label_created",
            ShipmentStatus::InTransit => "in_transit",
            ShipmentStatus::Delivered => "delivered",
            ShipmentStatus::Failed => "failed",
            ShipmentStatus::Cancelled => "cancelled",
        }
    }

    /// The status named `name`, as [`ShipmentStatus::as_str`] spells it.
    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|status| status.as_str() == name)
    }
}

impl fmt::Display for ShipmentStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A change the machine forbids, naming both states (a 409).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IllegalTransition {
    pub from: ShipmentStatus,
    pub to: ShipmentStatus,
}

impl fmt::Display for IllegalTransition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "a shipment cannot move from {} to {}",
            self.from, self.to
        )
    }
}

/// Whether a shipment in `from` may move to `to`. Staying in the same status is not a
/// move: repeating it is refused like any other transition outside the machine.
pub fn transition(from: ShipmentStatus, to: ShipmentStatus) -> Result<(), IllegalTransition> {
    use ShipmentStatus::{Cancelled, Delivered, Failed, InTransit, LabelCreated};
    match (from, to) {
        (LabelCreated, InTransit | Failed | Cancelled) | (InTransit, Delivered | Failed) => Ok(()),
        _ => Err(IllegalTransition { from, to }),
    }
}

#[cfg(test)]
mod tests {
    use super::ShipmentStatus::{Cancelled, Delivered, Failed, InTransit, LabelCreated};
    use super::*;

    #[test]
    fn every_pair_is_legal_exactly_when_the_machine_has_the_edge() {
        let legal = [
            (LabelCreated, InTransit),
            (LabelCreated, Failed),
            (LabelCreated, Cancelled),
            (InTransit, Delivered),
            (InTransit, Failed),
        ];
        for from in ShipmentStatus::ALL {
            for to in ShipmentStatus::ALL {
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
    fn the_refusal_names_both_states() {
        let refusal = transition(Delivered, InTransit).unwrap_err();
        assert_eq!(
            refusal.to_string(),
            "a shipment cannot move from delivered to in_transit"
        );
    }

    #[test]
    fn names_round_trip_in_text_and_json() {
        for status in ShipmentStatus::ALL {
            assert_eq!(ShipmentStatus::parse(status.as_str()), Some(status));
            assert_eq!(
                serde_json::to_value(status).unwrap(),
                serde_json::Value::from(status.as_str())
            );
        }
        assert_eq!(ShipmentStatus::parse("lost"), None);
        assert_eq!(ShipmentStatus::parse("InTransit"), None);
    }
}
