//! The order status machine (DESIGN §3): which status may follow which. Pure; every
//! write of a status asks it first and then writes conditionally on the status it read.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// An order's status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
#[schema(as = OrderStatus)]
pub enum Status {
    Pending,
    /// A fraud hold before payment (issue 6 moves orders in and out of it).
    Review,
    Reserved,
    /// Stock was short.
    Rejected,
    Paid,
    PaymentFailed,
    Shipped,
    Delivered,
    Cancelled,
    Refunded,
}

impl Status {
    pub const ALL: [Status; 10] = [
        Status::Pending,
        Status::Review,
        Status::Reserved,
        Status::Rejected,
        Status::Paid,
        Status::PaymentFailed,
        Status::Shipped,
        Status::Delivered,
        Status::Cancelled,
        Status::Refunded,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Status::Pending => "pending",
            Status::Review => "review",
            Status::Reserved => "reserved",
            Status::Rejected => "rejected",
            Status::Paid => "paid",
            Status::PaymentFailed => "payment_failed",
            Status::Shipped => "shipped",
            Status::Delivered => "delivered",
            Status::Cancelled => "cancelled",
            Status::Refunded => "refunded",
        }
    }

    /// Whether the machine lets an order move from `self` to `next`.
    pub fn can_become(self, next: Status) -> bool {
        use Status::*;
        matches!(
            (self, next),
            // A payment outcome may overtake the reservation's delivery to orders.
            (
                Pending,
                Reserved | Rejected | Review | Cancelled | Paid | PaymentFailed
            ) | (Review, Pending | Cancelled)
                | (Reserved, Paid | PaymentFailed | Cancelled)
                | (Paid, Shipped | Cancelled | Refunded)
                | (Shipped, Delivered)
                | (Cancelled, Refunded)
        )
    }

    /// The statuses from which an order may move to `next`.
    pub fn sources_of(next: Status) -> Vec<Status> {
        Status::ALL
            .into_iter()
            .filter(|status| status.can_become(next))
            .collect()
    }

    /// No status follows this one.
    pub fn is_terminal(self) -> bool {
        Status::ALL.into_iter().all(|next| !self.can_become(next))
    }

    /// `Ok` when the machine allows `self → next`, else the illegal transition.
    pub fn check(self, next: Status) -> Result<(), IllegalTransition> {
        if self.can_become(next) {
            Ok(())
        } else {
            Err(IllegalTransition {
                from: self,
                to: next,
            })
        }
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Status {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Status::ALL
            .into_iter()
            .find(|status| status.as_str() == s)
            .ok_or_else(|| {
                let names: Vec<&str> = Status::ALL.iter().map(|status| status.as_str()).collect();
                format!("must be one of {}", names.join(", "))
            })
    }
}

/// A move the machine does not allow (409).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IllegalTransition {
    pub from: Status,
    pub to: Status,
}

impl fmt::Display for IllegalTransition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "the order is {}; it cannot become {}",
            self.from, self.to
        )
    }
}

impl std::error::Error for IllegalTransition {}

#[cfg(test)]
mod tests {
    use super::*;
    use Status::*;

    /// The machine of DESIGN §3 as a table, checked against `can_become` for every pair.
    const LEGAL: &[(Status, Status)] = &[
        (Pending, Reserved),
        (Pending, Rejected),
        (Pending, Review),
        (Pending, Cancelled),
        (Pending, Paid),
        (Pending, PaymentFailed),
        (Review, Pending),
        (Review, Cancelled),
        (Reserved, Paid),
        (Reserved, PaymentFailed),
        (Reserved, Cancelled),
        (Paid, Shipped),
        (Paid, Cancelled),
        (Paid, Refunded),
        (Shipped, Delivered),
        (Cancelled, Refunded),
    ];

    #[test]
    fn every_pair_is_legal_exactly_when_listed() {
        for from in Status::ALL {
            for to in Status::ALL {
                let listed = LEGAL.contains(&(from, to));
                assert_eq!(from.can_become(to), listed, "{from} -> {to}");
                assert_eq!(from.check(to).is_ok(), listed, "{from} -> {to}");
            }
        }
    }

    #[test]
    fn terminal_statuses() {
        let terminal: Vec<Status> = Status::ALL
            .into_iter()
            .filter(|s| s.is_terminal())
            .collect();
        assert_eq!(terminal, [Rejected, PaymentFailed, Delivered, Refunded]);
    }

    #[test]
    fn sources_come_from_the_machine() {
        assert_eq!(Status::sources_of(Paid), [Pending, Reserved]);
        assert_eq!(Status::sources_of(Refunded), [Paid, Cancelled]);
        assert_eq!(
            Status::sources_of(Cancelled),
            [Pending, Review, Reserved, Paid]
        );
        assert!(Status::sources_of(Pending).contains(&Review));
    }

    #[test]
    fn illegal_transitions_name_both_statuses() {
        let error = Shipped.check(Cancelled).unwrap_err();
        assert_eq!(
            error.to_string(),
            "the order is shipped; it cannot become cancelled"
        );
    }

    #[test]
    fn names_round_trip_as_text_and_json() {
        for status in Status::ALL {
            assert_eq!(status.as_str().parse::<Status>(), Ok(status));
            assert_eq!(
                serde_json::to_value(status).unwrap(),
                serde_json::Value::from(status.as_str())
            );
        }
        assert_eq!(PaymentFailed.to_string(), "payment_failed");
        let error = "Paid".parse::<Status>().unwrap_err();
        assert!(error.contains("payment_failed"), "{error}");
    }
}
