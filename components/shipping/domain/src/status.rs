//! The shipment status machine (DESIGN §3): `label_created → in_transit → delivered`,
//! and `failed` from either of the first two; `cancelled` (the label voided) from
//! `label_created` only, when the order is cancelled. `delivered`, `failed` and
//! `cancelled` are final.

kit::status_machine! {
    /// A shipment's status.
    pub enum ShipmentStatus: "a shipment" {
        LabelCreated = "label_created",
        InTransit = "in_transit",
        Delivered = "delivered",
        Failed = "failed",
        Cancelled = "cancelled",
    }
    moves {
        LabelCreated => InTransit | Failed | Cancelled,
        InTransit => Delivered | Failed,
    }
}

/// A move the shipment machine refuses (a 409).
pub type IllegalTransition = kit::status::IllegalTransition<ShipmentStatus>;

#[cfg(test)]
mod tests {
    use super::ShipmentStatus::*;
    use kit::status::Machine;

    #[test]
    fn a_shipment_ends_delivered_failed_or_cancelled_and_only_a_label_is_voided() {
        for status in [Delivered, Failed, Cancelled] {
            assert!(status.is_final(), "{status}");
        }
        assert!(!InTransit.is_final());
        assert_eq!(
            super::ShipmentStatus::sources_of(Cancelled),
            vec![LabelCreated]
        );
        assert_eq!(
            Delivered.check(InTransit).unwrap_err().to_string(),
            "a shipment cannot move from delivered to in_transit"
        );
    }
}
