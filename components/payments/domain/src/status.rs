//! The payment status machine and the refund arithmetic, as pure functions.
//!
//! ```text
//! pending ──▶ succeeded ──▶ partially_refunded ──▶ refunded
//!    │            └──────────────────┴──────────────▲
//!    └──▶ failed
//! ```
//! A partially refunded payment may be partially refunded again.

use std::fmt;

kit::status_machine! {
    /// A payment's status: `pending` until the provider's answer is final, then `succeeded`
    /// or `failed`; refunds make a succeeded payment `partially_refunded` or `refunded`.
    pub enum PaymentStatus: "a payment" {
        /// Created, the provider's answer not final yet (Stripe `processing`,
        /// `requires_action`): the webhook finishes it.
        Pending = "pending",
        Succeeded = "succeeded",
        Failed = "failed",
        Refunded = "refunded",
        PartiallyRefunded = "partially_refunded",
    }
    moves {
        Pending => Succeeded | Failed,
        Succeeded => PartiallyRefunded | Refunded,
        PartiallyRefunded => PartiallyRefunded | Refunded,
    }
}

/// A move the payment machine refuses (a 409).
pub type IllegalTransition = kit::status::IllegalTransition<PaymentStatus>;

impl PaymentStatus {
    /// Captured money remains to refund only in these states.
    pub fn is_refundable(self) -> bool {
        matches!(
            self,
            PaymentStatus::Succeeded | PaymentStatus::PartiallyRefunded
        )
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
    use kit::status::Machine;

    #[test]
    fn a_payment_is_refunded_in_parts_until_nothing_is_left() {
        assert_eq!(
            PaymentStatus::sources_of(Refunded),
            vec![Succeeded, PartiallyRefunded]
        );
        assert!(PartiallyRefunded.can_become(PartiallyRefunded));
        assert!(Refunded.is_final() && Failed.is_final());
        assert_eq!(
            Refunded.check(Succeeded).unwrap_err().to_string(),
            "a payment cannot move from refunded to succeeded"
        );
    }

    #[test]
    fn refundable_states() {
        let refundable: Vec<_> = PaymentStatus::ALL
            .iter()
            .copied()
            .filter(|s| s.is_refundable())
            .collect();
        assert_eq!(refundable, [Succeeded, PartiallyRefunded]);
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
