//! The payment status machine and the refund arithmetic, as pure functions.
//!
//! ```text
//! pending ──▶ succeeded ──▶ partially_refunded ──▶ refunded
//!    │            └──────────────────┴──────────────▲
//!    └──▶ failed
//! ```
//! A partially refunded payment may be partially refunded again.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// A payment's status: `pending` until the provider's answer is final, then `succeeded`
/// or `failed`; refunds make a succeeded payment `partially_refunded` or `refunded`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum PaymentStatus {
    /// Created, the provider's answer not final yet (Stripe `processing`,
    /// `requires_action`): the webhook finishes it.
    Pending,
    Succeeded,
    Failed,
    Refunded,
    PartiallyRefunded,
}

pub const ALL_STATUSES: [PaymentStatus; 5] = [
    PaymentStatus::Pending,
    PaymentStatus::Succeeded,
    PaymentStatus::Failed,
    PaymentStatus::Refunded,
    PaymentStatus::PartiallyRefunded,
];

/// A change the machine does not allow (409).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IllegalTransition {
    pub from: PaymentStatus,
    pub to: PaymentStatus,
}

impl fmt::Display for IllegalTransition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "a {} payment cannot become {}", self.from, self.to)
    }
}

impl std::error::Error for IllegalTransition {}

impl PaymentStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            PaymentStatus::Pending => "pending",
            PaymentStatus::Succeeded => "succeeded",
            PaymentStatus::Failed => "failed",
            PaymentStatus::Refunded => "refunded",
            PaymentStatus::PartiallyRefunded => "partially_refunded",
        }
    }

    /// Whether the machine allows `self → next`.
    pub fn can_become(self, next: PaymentStatus) -> bool {
        use PaymentStatus::*;
        matches!(
            (self, next),
            (Pending, Succeeded)
                | (Pending, Failed)
                | (Succeeded | PartiallyRefunded, PartiallyRefunded | Refunded)
        )
    }

    /// `next` when the machine allows it.
    pub fn transition(self, next: PaymentStatus) -> Result<PaymentStatus, IllegalTransition> {
        if self.can_become(next) {
            Ok(next)
        } else {
            Err(IllegalTransition {
                from: self,
                to: next,
            })
        }
    }

    /// Captured money remains to refund only in these states.
    pub fn is_refundable(self) -> bool {
        matches!(
            self,
            PaymentStatus::Succeeded | PaymentStatus::PartiallyRefunded
        )
    }
}

impl fmt::Display for PaymentStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for PaymentStatus {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        ALL_STATUSES
            .into_iter()
            .find(|status| status.as_str() == s)
            .ok_or_else(|| format!("unknown payment status {s:?}"))
    }
}

/// The status of a payment of `amount` once `refunded_total` of it is refunded.
pub fn status_after_refund(amount: i64, refunded_total: i64) -> PaymentStatus {
    if refunded_total >= amount {
        PaymentStatus::Refunded
    } else {
        PaymentStatus::PartiallyRefunded
    }
}

/// Why a refund amount is refused (422 on `amount`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RefundAmountError {
    NotPositive,
    MoreThanRefundable { refundable: i64 },
}

impl fmt::Display for RefundAmountError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RefundAmountError::NotPositive => {
                f.write_str("must be a positive integer amount of minor units")
            }
            RefundAmountError::MoreThanRefundable { refundable } => write!(
                f,
                "must be at most {refundable}, what remains of the captured amount"
            ),
        }
    }
}

/// The amount to refund from a payment of `amount` with `refunded` already refunded:
/// `requested`, or everything left when absent.
pub fn refund_amount(
    amount: i64,
    refunded: i64,
    requested: Option<i64>,
) -> Result<i64, RefundAmountError> {
    let refundable = amount - refunded;
    match requested.unwrap_or(refundable) {
        n if n <= 0 => Err(RefundAmountError::NotPositive),
        n if n > refundable => Err(RefundAmountError::MoreThanRefundable { refundable }),
        n => Ok(n),
    }
}

#[cfg(test)]
mod tests {
    use super::PaymentStatus::*;
    use super::*;

    #[test]
    fn every_transition_is_legal_or_illegal_as_drawn() {
        let legal = [
            (Pending, Succeeded),
            (Pending, Failed),
            (Succeeded, PartiallyRefunded),
            (Succeeded, Refunded),
            (PartiallyRefunded, PartiallyRefunded),
            (PartiallyRefunded, Refunded),
        ];
        for from in ALL_STATUSES {
            for to in ALL_STATUSES {
                let expected = legal.contains(&(from, to));
                assert_eq!(from.can_become(to), expected, "{from} -> {to}");
                match from.transition(to) {
                    Ok(next) => assert_eq!(next, to),
                    Err(error) => {
                        assert!(!expected);
                        assert_eq!(error, IllegalTransition { from, to });
                        let message = error.to_string();
                        assert!(message.contains(from.as_str()) && message.contains(to.as_str()));
                    }
                }
            }
        }
    }

    #[test]
    fn refundable_states() {
        let refundable: Vec<_> = ALL_STATUSES
            .into_iter()
            .filter(|s| s.is_refundable())
            .collect();
        assert_eq!(refundable, [Succeeded, PartiallyRefunded]);
    }

    #[test]
    fn statuses_print_and_parse_as_the_api_spells_them() {
        for status in ALL_STATUSES {
            assert_eq!(status.as_str().parse::<PaymentStatus>(), Ok(status));
            assert_eq!(
                serde_json::to_value(status).unwrap(),
                serde_json::json!(status.as_str())
            );
        }
        assert_eq!(PartiallyRefunded.as_str(), "partially_refunded");
        assert!("paid".parse::<PaymentStatus>().is_err());
    }

    #[test]
    fn refund_math() {
        assert_eq!(refund_amount(1000, 0, None), Ok(1000));
        assert_eq!(refund_amount(1000, 300, None), Ok(700));
        assert_eq!(refund_amount(1000, 300, Some(700)), Ok(700));
        assert_eq!(refund_amount(1000, 300, Some(1)), Ok(1));
        assert_eq!(
            refund_amount(1000, 300, Some(701)),
            Err(RefundAmountError::MoreThanRefundable { refundable: 700 })
        );
        for bad in [0, -5] {
            assert_eq!(
                refund_amount(1000, 0, Some(bad)),
                Err(RefundAmountError::NotPositive)
            );
        }
        // Nothing left: the rest is zero, which is no refund at all.
        assert_eq!(
            refund_amount(1000, 1000, None),
            Err(RefundAmountError::NotPositive)
        );

        assert_eq!(status_after_refund(1000, 999), PartiallyRefunded);
        assert_eq!(status_after_refund(1000, 1000), Refunded);
    }
}
