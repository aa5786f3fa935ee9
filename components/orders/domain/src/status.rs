//! The order status machine (DESIGN §3): which status may follow which. Pure; every
//! write of a status asks it first and then writes conditionally on the status it read.

kit::status_machine! {
    /// An order's status.
    #[schema(as = OrderStatus)]
    pub enum Status: "an order" {
        Pending = "pending",
        /// A fraud hold before payment (issue 6 moves orders in and out of it).
        Review = "review",
        Reserved = "reserved",
        /// Stock was short.
        Rejected = "rejected",
        Paid = "paid",
        PaymentFailed = "payment_failed",
        Shipped = "shipped",
        Delivered = "delivered",
        Cancelled = "cancelled",
        Refunded = "refunded",
    }
    moves {
        // A payment outcome may overtake the reservation's delivery to orders.
        Pending => Reserved | Rejected | Review | Cancelled | Paid | PaymentFailed,
        Review => Pending | Cancelled,
        Reserved => Paid | PaymentFailed | Cancelled,
        Paid => Shipped | Cancelled | Refunded,
        Shipped => Delivered,
        // Everything refunded after delivery: returns and an admin's refund of the rest.
        Delivered => Refunded,
        Cancelled => Refunded,
    }
}

/// A move the order machine refuses (a 409).
pub type IllegalTransition = kit::status::IllegalTransition<Status>;

#[cfg(test)]
mod tests {
    use super::*;
    use Status::*;
    use kit::status::Machine;

    #[test]
    fn final_statuses() {
        let terminal: Vec<Status> = Status::ALL
            .iter()
            .copied()
            .filter(|s| s.is_final())
            .collect();
        assert_eq!(terminal, [Rejected, PaymentFailed, Refunded]);
    }

    #[test]
    fn sources_come_from_the_machine() {
        assert_eq!(Status::sources_of(Paid), [Pending, Reserved]);
        assert_eq!(Status::sources_of(Refunded), [Paid, Delivered, Cancelled]);
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
            "an order cannot move from shipped to cancelled"
        );
    }

    #[test]
    fn a_filter_names_every_status_when_it_names_none() {
        assert_eq!("payment_failed".parse::<Status>(), Ok(PaymentFailed));
        let error = "Paid".parse::<Status>().unwrap_err();
        assert!(error.contains("payment_failed"), "{error}");
    }
}
