//! What each event tells whom: the kinds of message, their templates, and for each
//! event the customers it concerns with the fields its template reads.

use crate::template::{format_money, render};
use contracts::{
    CampaignFailed, CampaignSuccessful, Event, OrderCancelled, PaymentFailed, PaymentRefunded,
    PaymentSucceeded, ShipmentDelivered, ShipmentInTransit,
};
use serde::Serialize;

/// The kinds of message, one per event the context listens to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
#[schema(as = NotificationKind)]
pub enum Kind {
    OrderConfirmed,
    PaymentFailed,
    Shipped,
    Delivered,
    OrderCancelled,
    PaymentRefunded,
    CampaignSuccessful,
    CampaignFailed,
}

impl Kind {
    pub const ALL: [Kind; 8] = [
        Kind::OrderConfirmed,
        Kind::PaymentFailed,
        Kind::Shipped,
        Kind::Delivered,
        Kind::OrderCancelled,
        Kind::PaymentRefunded,
        Kind::CampaignSuccessful,
        Kind::CampaignFailed,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Kind::OrderConfirmed => "order_confirmed",
            Kind::PaymentFailed => "payment_failed",
            Kind::Shipped => "shipped",
            Kind::Delivered => "delivered",
            Kind::OrderCancelled => "order_cancelled",
            Kind::PaymentRefunded => "payment_refunded",
            Kind::CampaignSuccessful => "campaign_successful",
            Kind::CampaignFailed => "campaign_failed",
        }
    }

    pub fn parse(name: &str) -> Option<Kind> {
        Kind::ALL.into_iter().find(|kind| kind.as_str() == name)
    }

    /// The kind's subject and body templates.
    pub fn template(self) -> Template {
        match self {
            Kind::OrderConfirmed => ORDER_CONFIRMED,
            Kind::PaymentFailed => PAYMENT_FAILED,
            Kind::Shipped => SHIPPED,
            Kind::Delivered => DELIVERED,
            Kind::OrderCancelled => ORDER_CANCELLED,
            Kind::PaymentRefunded => PAYMENT_REFUNDED,
            Kind::CampaignSuccessful => CAMPAIGN_SUCCESSFUL,
            Kind::CampaignFailed => CAMPAIGN_FAILED,
        }
    }

    /// This kind's message for `customer_id`, rendered from `fields`.
    pub fn render(self, customer_id: &str, fields: &[(&str, &str)]) -> Message {
        let template = self.template();
        Message {
            customer_id: customer_id.to_owned(),
            kind: self,
            subject: render(template.subject, fields),
            body: render(template.body, fields),
        }
    }
}

/// A message's subject and (plain-text) body with `{{placeholders}}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Template {
    pub subject: &'static str,
    pub body: &'static str,
}

pub const ORDER_CONFIRMED: Template = Template {
    subject: "Your order is confirmed",
    body: "Thank you! We received your payment of {{amount}} for order {{order_id}}. \
           Your order is confirmed and we are preparing it for shipment.",
};

pub const PAYMENT_FAILED: Template = Template {
    subject: "Payment failed for your order",
    body: "We could not charge {{amount}} for order {{order_id}}, so the order could not \
           be completed; please order again with another payment method. \
           The payment provider said: {{reason}}",
};

pub const SHIPPED: Template = Template {
    subject: "Your order has shipped",
    body: "Your order {{order_id}} is on its way with {{carrier}}. \
           Tracking number: {{tracking_number}}.",
};

pub const DELIVERED: Template = Template {
    subject: "Your order has been delivered",
    body: "Your order {{order_id}} was delivered at {{delivered_at}} \
           ({{carrier}}, tracking number {{tracking_number}}). Enjoy!",
};

pub const ORDER_CANCELLED: Template = Template {
    subject: "Your order was cancelled",
    body: "Your order {{order_id}} of {{total}} was cancelled; if you were charged, \
           the refund follows shortly. Reason: {{reason}}",
};

pub const PAYMENT_REFUNDED: Template = Template {
    subject: "Refund of {{amount}} for your order",
    body: "We refunded {{amount}} for order {{order_id}}. \
           Refunded so far: {{total_refunded}}. It may take a few days to show on your statement.",
};

pub const CAMPAIGN_SUCCESSFUL: Template = Template {
    subject: "Group deal \"{{campaign_name}}\" succeeded",
    body: "The group deal \"{{campaign_name}}\" reached its minimum. \
           Your order of {{sku}} at {{price}} is being placed now.",
};

pub const CAMPAIGN_FAILED: Template = Template {
    subject: "Group deal \"{{campaign_name}}\" did not take place",
    body: "The group deal \"{{campaign_name}}\" for {{sku}} ended without enough \
           participants ({{reason}}). You have not been charged.",
};

/// One rendered message for one customer, before it is stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    pub customer_id: String,
    pub kind: Kind,
    pub subject: String,
    pub body: String,
}

/// An event payload that tells customers something: the messages it renders, one per
/// customer it concerns.
pub trait Notify: Event {
    fn messages(&self) -> Vec<Message>;
}

impl Notify for PaymentSucceeded {
    fn messages(&self) -> Vec<Message> {
        let amount = format_money(self.amount, &self.currency);
        vec![Kind::OrderConfirmed.render(
            &self.customer_id,
            &[("order_id", &self.order_id), ("amount", &amount)],
        )]
    }
}

impl Notify for PaymentFailed {
    fn messages(&self) -> Vec<Message> {
        let amount = format_money(self.amount, &self.currency);
        vec![Kind::PaymentFailed.render(
            &self.customer_id,
            &[
                ("order_id", &self.order_id),
                ("amount", &amount),
                ("reason", &self.reason),
            ],
        )]
    }
}

impl Notify for ShipmentInTransit {
    fn messages(&self) -> Vec<Message> {
        let shipment = &self.shipment;
        vec![Kind::Shipped.render(
            &shipment.customer_id,
            &[
                ("order_id", &shipment.order_id),
                ("carrier", &shipment.carrier),
                ("tracking_number", &shipment.tracking_number),
            ],
        )]
    }
}

impl Notify for ShipmentDelivered {
    fn messages(&self) -> Vec<Message> {
        let shipment = &self.shipment;
        vec![Kind::Delivered.render(
            &shipment.customer_id,
            &[
                ("order_id", &shipment.order_id),
                ("carrier", &shipment.carrier),
                ("tracking_number", &shipment.tracking_number),
                ("delivered_at", &self.delivered_at),
            ],
        )]
    }
}

impl Notify for OrderCancelled {
    fn messages(&self) -> Vec<Message> {
        let total = format_money(self.total, &self.currency);
        let reason = self
            .reason
            .as_deref()
            .map(str::trim)
            .filter(|reason| !reason.is_empty())
            .unwrap_or("none given");
        vec![Kind::OrderCancelled.render(
            &self.customer_id,
            &[
                ("order_id", &self.order_id),
                ("total", &total),
                ("reason", reason),
            ],
        )]
    }
}

impl Notify for PaymentRefunded {
    fn messages(&self) -> Vec<Message> {
        let amount = format_money(self.amount, &self.currency);
        let total_refunded = format_money(self.total_refunded, &self.currency);
        vec![Kind::PaymentRefunded.render(
            &self.customer_id,
            &[
                ("order_id", &self.order_id),
                ("amount", &amount),
                ("total_refunded", &total_refunded),
            ],
        )]
    }
}

impl Notify for CampaignSuccessful {
    fn messages(&self) -> Vec<Message> {
        let price = format_money(self.price, &self.currency);
        let fields = [
            ("campaign_name", self.name.as_str()),
            ("sku", &self.sku),
            ("price", &price),
        ];
        once_each(self.participants.iter().map(|p| p.customer_id.as_str()))
            .map(|customer_id| Kind::CampaignSuccessful.render(customer_id, &fields))
            .collect()
    }
}

impl Notify for CampaignFailed {
    fn messages(&self) -> Vec<Message> {
        let fields = [
            ("campaign_name", self.name.as_str()),
            ("sku", &self.sku),
            ("reason", &self.reason),
        ];
        once_each(self.customer_ids.iter().map(String::as_str))
            .map(|customer_id| Kind::CampaignFailed.render(customer_id, &fields))
            .collect()
    }
}

/// Each customer id once, in first-seen order: a customer listed twice gets one message.
fn once_each<'a>(customer_ids: impl Iterator<Item = &'a str>) -> impl Iterator<Item = &'a str> {
    let mut seen: Vec<&str> = Vec::new();
    customer_ids.filter(move |id| {
        let first = !seen.contains(id);
        if first {
            seen.push(id);
        }
        first
    })
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use contracts::{Address, CampaignParticipant, ShipmentRef, StockLine};

    pub const ADA: &str = "0190a1b2-0000-7000-8000-0000000000aa";
    pub const BOB: &str = "0190a1b2-0000-7000-8000-0000000000bb";
    pub const ORDER: &str = "0190a1b2-0000-7000-8000-000000000001";

    fn address() -> Address {
        Address {
            name: "Ada Lovelace".into(),
            line1: "12 St James's Square".into(),
            city: "London".into(),
            postal_code: "SW1Y 4JH".into(),
            country: "GB".into(),
        }
    }

    pub fn payment_succeeded(customer_id: &str) -> PaymentSucceeded {
        PaymentSucceeded {
            payment_id: "p1".into(),
            order_id: ORDER.into(),
            customer_id: customer_id.into(),
            amount: 1250,
            currency: "EUR".into(),
            provider: "test".into(),
            provider_reference: "ch_1".into(),
            shipping_address: address(),
        }
    }

    pub fn payment_failed() -> PaymentFailed {
        PaymentFailed {
            payment_id: "p1".into(),
            order_id: ORDER.into(),
            customer_id: ADA.into(),
            amount: 3000,
            currency: "EUR".into(),
            provider: "test".into(),
            reason: "Your card was declined.".into(),
            decline_code: Some("card_declined".into()),
        }
    }

    fn shipment() -> ShipmentRef {
        ShipmentRef {
            shipment_id: "s1".into(),
            order_id: ORDER.into(),
            customer_id: ADA.into(),
            carrier: "FusionPost".into(),
            tracking_number: "FP3K7QW9ZC1M4T".into(),
        }
    }

    pub fn in_transit() -> ShipmentInTransit {
        ShipmentInTransit {
            shipment: shipment(),
            location: Some("Leipzig hub".into()),
        }
    }

    pub fn delivered() -> ShipmentDelivered {
        ShipmentDelivered {
            shipment: shipment(),
            delivered_at: "2025-06-01T10:00:00.000000Z".into(),
        }
    }

    pub fn cancelled(reason: Option<&str>) -> OrderCancelled {
        OrderCancelled {
            order_id: ORDER.into(),
            customer_id: ADA.into(),
            items: vec![StockLine {
                sku: "MUG-1".into(),
                quantity: 2,
            }],
            total: 3000,
            currency: "EUR".into(),
            previous_status: "paid".into(),
            cancelled_by: ADA.into(),
            reason: reason.map(str::to_owned),
        }
    }

    pub fn refunded() -> PaymentRefunded {
        PaymentRefunded {
            payment_id: "p1".into(),
            refund_id: "r1".into(),
            order_id: ORDER.into(),
            customer_id: ADA.into(),
            amount: 1000,
            total_refunded: 2500,
            currency: "EUR".into(),
            fully_refunded: false,
        }
    }

    fn participant(customer_id: &str) -> CampaignParticipant {
        CampaignParticipant {
            participant_id: format!("part-{customer_id}"),
            customer_id: customer_id.into(),
            shipping_address: address(),
            payment_token: "tok_visa".into(),
        }
    }

    pub fn campaign_successful() -> CampaignSuccessful {
        CampaignSuccessful {
            campaign_id: "c1".into(),
            name: "Mugs for all".into(),
            sku: "MUG-1".into(),
            price: 999,
            currency: "EUR".into(),
            part: 1,
            parts: 1,
            participants: vec![participant(ADA), participant(BOB)],
        }
    }

    pub fn campaign_failed() -> CampaignFailed {
        CampaignFailed {
            campaign_id: "c1".into(),
            name: "Mugs for all".into(),
            sku: "MUG-1".into(),
            part: 1,
            parts: 1,
            customer_ids: vec![ADA.into(), BOB.into(), ADA.into()],
            reason: "2 of 10 participants by the end time".into(),
        }
    }

    fn one(messages: Vec<Message>) -> Message {
        assert_eq!(messages.len(), 1, "{messages:?}");
        messages.into_iter().next().unwrap()
    }

    #[test]
    fn payment_succeeded_confirms_the_order() {
        let message = one(payment_succeeded(ADA).messages());
        assert_eq!(message.customer_id, ADA);
        assert_eq!(message.kind, Kind::OrderConfirmed);
        assert_eq!(message.subject, "Your order is confirmed");
        assert_eq!(
            message.body,
            format!(
                "Thank you! We received your payment of 12.50 EUR for order {ORDER}. \
                 Your order is confirmed and we are preparing it for shipment."
            )
        );
    }

    #[test]
    fn payment_failed_names_the_reason() {
        let message = one(payment_failed().messages());
        assert_eq!(message.kind, Kind::PaymentFailed);
        assert_eq!(message.subject, "Payment failed for your order");
        assert!(
            message
                .body
                .starts_with("We could not charge 30.00 EUR for order")
        );
        assert!(
            message
                .body
                .ends_with("The payment provider said: Your card was declined.")
        );
    }

    #[test]
    fn shipped_names_carrier_and_tracking_number() {
        let message = one(in_transit().messages());
        assert_eq!(message.kind, Kind::Shipped);
        assert_eq!(message.subject, "Your order has shipped");
        assert_eq!(
            message.body,
            format!(
                "Your order {ORDER} is on its way with FusionPost. \
                 Tracking number: FP3K7QW9ZC1M4T."
            )
        );
    }

    #[test]
    fn delivered_says_when() {
        let message = one(delivered().messages());
        assert_eq!(message.kind, Kind::Delivered);
        assert!(message.body.contains("2025-06-01T10:00:00.000000Z"));
        assert!(
            message
                .body
                .contains("FusionPost, tracking number FP3K7QW9ZC1M4T")
        );
    }

    #[test]
    fn cancelled_gives_the_reason_or_says_there_was_none() {
        let message = one(cancelled(Some("changed my mind")).messages());
        assert_eq!(message.kind, Kind::OrderCancelled);
        assert_eq!(message.subject, "Your order was cancelled");
        assert_eq!(
            message.body,
            format!(
                "Your order {ORDER} of 30.00 EUR was cancelled; if you were charged, the \
                 refund follows shortly. Reason: changed my mind"
            )
        );
        for reason in [None, Some("  ")] {
            let message = one(cancelled(reason).messages());
            assert!(message.body.ends_with("Reason: none given"), "{reason:?}");
        }
    }

    #[test]
    fn refunded_shows_this_refund_and_the_total() {
        let message = one(refunded().messages());
        assert_eq!(message.kind, Kind::PaymentRefunded);
        assert_eq!(message.subject, "Refund of 10.00 EUR for your order");
        assert!(message.body.contains("Refunded so far: 25.00 EUR."));
    }

    #[test]
    fn campaign_successful_tells_every_participant() {
        let messages = campaign_successful().messages();
        let customers: Vec<&str> = messages.iter().map(|m| m.customer_id.as_str()).collect();
        assert_eq!(customers, [ADA, BOB]);
        for message in &messages {
            assert_eq!(message.kind, Kind::CampaignSuccessful);
            assert_eq!(message.subject, "Group deal \"Mugs for all\" succeeded");
            assert!(message.body.contains("Your order of MUG-1 at 9.99 EUR"));
        }
    }

    #[test]
    fn campaign_failed_tells_each_customer_once() {
        let messages = campaign_failed().messages();
        let customers: Vec<&str> = messages.iter().map(|m| m.customer_id.as_str()).collect();
        assert_eq!(customers, [ADA, BOB]);
        assert!(messages.iter().all(|m| m.kind == Kind::CampaignFailed
            && m.body.contains("(2 of 10 participants by the end time)")));
    }

    #[test]
    fn every_template_is_filled_completely() {
        let rendered: Vec<Message> = [
            payment_succeeded(ADA).messages(),
            payment_failed().messages(),
            in_transit().messages(),
            delivered().messages(),
            cancelled(None).messages(),
            refunded().messages(),
            campaign_successful().messages(),
            campaign_failed().messages(),
        ]
        .concat();
        for kind in Kind::ALL {
            assert!(
                rendered.iter().any(|m| m.kind == kind),
                "{kind:?} unrendered"
            );
        }
        for message in &rendered {
            assert!(
                !message.subject.contains("{{") && !message.body.contains("{{"),
                "{message:?}"
            );
        }
    }

    #[test]
    fn kinds_round_trip_through_their_names() {
        for kind in Kind::ALL {
            assert_eq!(Kind::parse(kind.as_str()), Some(kind));
            assert_eq!(
                serde_json::to_value(kind).unwrap(),
                serde_json::Value::from(kind.as_str())
            );
        }
        assert_eq!(Kind::parse("spam"), None);
    }
}
