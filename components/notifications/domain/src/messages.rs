//! What each event tells whom: the kinds of message, their templates, and for each
//! event the customers it concerns with the fields its template reads. A
//! `payment.refunded` that pays a return back tells nothing: its `return.refunded` tells
//! the customer instead, so they hear of the refund once. A return worth nothing hears
//! only `return.received`, which says so.

use crate::template::{format_money, render};
use contracts::{
    CampaignFailed, CampaignSuccessful, Event, OrderCancelled, PaymentFailed, PaymentRefunded,
    PaymentSucceeded, ReturnApproved, ReturnLine, ReturnReceived, ReturnRefunded, ReturnRejected,
    ReturnRequested, ReturnSummary, ShipmentDelivered, ShipmentInTransit,
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
    ReturnRequested,
    ReturnApproved,
    ReturnRejected,
    ReturnReceived,
    ReturnRefunded,
    CampaignSuccessful,
    CampaignFailed,
}

impl Kind {
    pub const ALL: [Kind; 13] = [
        Kind::OrderConfirmed,
        Kind::PaymentFailed,
        Kind::Shipped,
        Kind::Delivered,
        Kind::OrderCancelled,
        Kind::PaymentRefunded,
        Kind::ReturnRequested,
        Kind::ReturnApproved,
        Kind::ReturnRejected,
        Kind::ReturnReceived,
        Kind::ReturnRefunded,
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
            Kind::ReturnRequested => "return_requested",
            Kind::ReturnApproved => "return_approved",
            Kind::ReturnRejected => "return_rejected",
            Kind::ReturnReceived => "return_received",
            Kind::ReturnRefunded => "return_refunded",
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
            Kind::ReturnRequested => RETURN_REQUESTED,
            Kind::ReturnApproved => RETURN_APPROVED,
            Kind::ReturnRejected => RETURN_REJECTED,
            Kind::ReturnReceived => RETURN_RECEIVED,
            Kind::ReturnRefunded => RETURN_REFUNDED,
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

pub const RETURN_REQUESTED: Template = Template {
    subject: "Your return request for order {{order_number}}",
    body: "We received your request to return {{items}} from order {{order_number}}, \
           worth a refund of {{amount}}. We will review it and let you know shortly.",
};

pub const RETURN_APPROVED: Template = Template {
    subject: "Your return for order {{order_number}} was approved",
    body: "Your return for order {{order_number}} was approved: please send the items \
           back; we will refund {{amount}} once they arrive.",
};

pub const RETURN_REJECTED: Template = Template {
    subject: "Your return for order {{order_number}} was not accepted",
    body: "We could not accept your return for order {{order_number}}, so the {{amount}} \
           will not be refunded. Reason: {{reason}}",
};

/// `{{refund}}` is [`REFUND_FOLLOWS`], or [`NOTHING_TO_REFUND`] for a return worth 0.
pub const RETURN_RECEIVED: Template = Template {
    subject: "We received your returned items for order {{order_number}}",
    body: "Your returned items from order {{order_number}} arrived: {{items}}. {{refund}}",
};

pub const REFUND_FOLLOWS: &str =
    "We are refunding {{amount}} now and will tell you once it is done.";

pub const NOTHING_TO_REFUND: &str = "They were worth no refund, so your return is complete.";

/// `{{refunded}}` is what the refund gave back, which may be less than `{{amount}}`.
pub const RETURN_REFUNDED: Template = Template {
    subject: "Refund of {{refunded}} for your return",
    body: "We refunded {{refunded}} for the items you returned from order {{order_number}}. \
           It may take a few days to show on your statement.",
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
        vec![Kind::OrderCancelled.render(
            &self.customer_id,
            &[
                ("order_id", &self.order_id),
                ("total", &total),
                ("reason", reason_or_none(self.reason.as_deref())),
            ],
        )]
    }
}

impl Notify for PaymentRefunded {
    /// Nothing for a refund that pays a return back: its `return.refunded` tells.
    fn messages(&self) -> Vec<Message> {
        if self.return_id.is_some() {
            return Vec::new();
        }
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

impl Notify for ReturnRequested {
    fn messages(&self) -> Vec<Message> {
        let items = item_list(&self.items);
        return_message(Kind::ReturnRequested, &self.summary, &[("items", &items)])
    }
}

impl Notify for ReturnApproved {
    fn messages(&self) -> Vec<Message> {
        return_message(Kind::ReturnApproved, &self.summary, &[])
    }
}

impl Notify for ReturnRejected {
    fn messages(&self) -> Vec<Message> {
        let reason = reason_or_none(self.reason.as_deref());
        return_message(Kind::ReturnRejected, &self.summary, &[("reason", reason)])
    }
}

impl Notify for ReturnReceived {
    fn messages(&self) -> Vec<Message> {
        let summary = &self.summary;
        let items = item_list(&self.items);
        let refund = if summary.amount > 0 {
            let amount = format_money(summary.amount, &summary.currency);
            render(REFUND_FOLLOWS, &[("amount", &amount)])
        } else {
            NOTHING_TO_REFUND.to_owned()
        };
        let fields = [("items", items.as_str()), ("refund", &refund)];
        return_message(Kind::ReturnReceived, summary, &fields)
    }
}

impl Notify for ReturnRefunded {
    /// Nothing for a return worth 0, closed without a refund: its `return.received`
    /// said so.
    fn messages(&self) -> Vec<Message> {
        if self.refund_id.is_none() {
            return Vec::new();
        }
        let refunded = format_money(self.refunded_amount, &self.summary.currency);
        return_message(
            Kind::ReturnRefunded,
            &self.summary,
            &[("refunded", &refunded)],
        )
    }
}

/// A return event's one message, to its customer: `kind` with the return's
/// `order_number` and what it is worth (`amount`), and the event's own `fields`.
fn return_message(kind: Kind, summary: &ReturnSummary, fields: &[(&str, &str)]) -> Vec<Message> {
    let amount = format_money(summary.amount, &summary.currency);
    let shared = [
        ("order_number", summary.order_number.as_str()),
        ("amount", amount.as_str()),
    ];
    vec![kind.render(&summary.customer_id, &[&shared, fields].concat())]
}

/// Returned lines as a customer reads them: `2 × Tea (TEA-1), 1 × Mug (MUG-1)`.
fn item_list(items: &[ReturnLine]) -> String {
    if items.is_empty() {
        return "your items".to_owned();
    }
    items
        .iter()
        .map(|line| format!("{} × {} ({})", line.quantity, line.name, line.sku))
        .collect::<Vec<_>>()
        .join(", ")
}

/// A reason as given, or `none given` when there is none or it is blank.
fn reason_or_none(reason: Option<&str>) -> &str {
    reason
        .map(str::trim)
        .filter(|reason| !reason.is_empty())
        .unwrap_or("none given")
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
    pub const ORDER_NUMBER: &str = "FC-000012";

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
            return_id: None,
        }
    }

    /// The refund of [`return_refunded`]'s return, which `return.refunded` tells of.
    pub fn refunded_for_return() -> PaymentRefunded {
        PaymentRefunded {
            amount: 1250,
            total_refunded: 1250,
            return_id: Some("ret-1".into()),
            ..refunded()
        }
    }

    fn summary() -> ReturnSummary {
        ReturnSummary {
            return_id: "ret-1".into(),
            order_id: ORDER.into(),
            order_number: ORDER_NUMBER.into(),
            customer_id: ADA.into(),
            amount: 1250,
            currency: "EUR".into(),
        }
    }

    fn return_lines() -> Vec<ReturnLine> {
        vec![
            ReturnLine {
                sku: "TEA-1".into(),
                name: "Tea".into(),
                quantity: 2,
                amount: 800,
            },
            ReturnLine {
                sku: "MUG-1".into(),
                name: "Mug".into(),
                quantity: 1,
                amount: 450,
            },
        ]
    }

    pub fn return_requested() -> ReturnRequested {
        ReturnRequested {
            summary: summary(),
            items: return_lines(),
            reason: Some("too strong".into()),
        }
    }

    pub fn return_approved() -> ReturnApproved {
        ReturnApproved { summary: summary() }
    }

    pub fn return_rejected(reason: Option<&str>) -> ReturnRejected {
        ReturnRejected {
            summary: summary(),
            reason: reason.map(str::to_owned),
        }
    }

    pub fn return_received() -> ReturnReceived {
        ReturnReceived {
            summary: summary(),
            items: return_lines(),
        }
    }

    /// Less than the return's 12.50 remained of the payment: 10.00 came back.
    pub fn return_refunded() -> ReturnRefunded {
        ReturnRefunded {
            summary: summary(),
            refund_id: Some("r2".into()),
            refunded_amount: 1000,
        }
    }

    /// A return worth nothing.
    fn worthless(summary: ReturnSummary) -> ReturnSummary {
        ReturnSummary {
            amount: 0,
            ..summary
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
    fn a_refund_for_a_return_is_told_by_the_return_only() {
        assert!(refunded_for_return().messages().is_empty());
        let message = one(return_refunded().messages());
        assert_eq!(message.customer_id, ADA);
        assert_eq!(message.kind, Kind::ReturnRefunded);
    }

    #[test]
    fn return_requested_lists_the_items() {
        let message = one(return_requested().messages());
        assert_eq!(message.customer_id, ADA);
        assert_eq!(message.kind, Kind::ReturnRequested);
        assert_eq!(message.subject, "Your return request for order FC-000012");
        assert_eq!(
            message.body,
            "We received your request to return 2 × Tea (TEA-1), 1 × Mug (MUG-1) from order \
             FC-000012, worth a refund of 12.50 EUR. We will review it and let you know shortly."
        );
        let mut nothing_listed = return_requested();
        nothing_listed.items.clear();
        assert!(
            one(nothing_listed.messages())
                .body
                .starts_with("We received your request to return your items from order")
        );
    }

    #[test]
    fn return_approved_asks_for_the_items() {
        let message = one(return_approved().messages());
        assert_eq!(message.kind, Kind::ReturnApproved);
        assert_eq!(
            message.subject,
            "Your return for order FC-000012 was approved"
        );
        assert_eq!(
            message.body,
            "Your return for order FC-000012 was approved: please send the items back; we \
             will refund 12.50 EUR once they arrive."
        );
    }

    #[test]
    fn return_rejected_gives_the_reason_or_says_there_was_none() {
        let message = one(return_rejected(Some("worn")).messages());
        assert_eq!(message.kind, Kind::ReturnRejected);
        assert_eq!(
            message.subject,
            "Your return for order FC-000012 was not accepted"
        );
        assert_eq!(
            message.body,
            "We could not accept your return for order FC-000012, so the 12.50 EUR will not \
             be refunded. Reason: worn"
        );
        for reason in [None, Some(" ")] {
            let message = one(return_rejected(reason).messages());
            assert!(message.body.ends_with("Reason: none given"), "{reason:?}");
        }
    }

    #[test]
    fn a_return_worth_nothing_is_told_it_is_complete_once() {
        let received = ReturnReceived {
            summary: worthless(summary()),
            items: return_lines(),
        };
        let message = one(received.messages());
        assert_eq!(
            message.body,
            "Your returned items from order FC-000012 arrived: 2 × Tea (TEA-1), 1 × Mug \
             (MUG-1). They were worth no refund, so your return is complete."
        );
        let closed = ReturnRefunded {
            summary: worthless(summary()),
            refund_id: None,
            refunded_amount: 0,
        };
        assert!(closed.messages().is_empty());
    }

    #[test]
    fn return_received_lists_what_arrived() {
        let message = one(return_received().messages());
        assert_eq!(message.kind, Kind::ReturnReceived);
        assert_eq!(
            message.subject,
            "We received your returned items for order FC-000012"
        );
        assert_eq!(
            message.body,
            "Your returned items from order FC-000012 arrived: 2 × Tea (TEA-1), 1 × Mug \
             (MUG-1). We are refunding 12.50 EUR now and will tell you once it is done."
        );
    }

    #[test]
    fn return_refunded_shows_what_was_refunded() {
        let message = one(return_refunded().messages());
        assert_eq!(message.kind, Kind::ReturnRefunded);
        assert_eq!(message.subject, "Refund of 10.00 EUR for your return");
        assert_eq!(
            message.body,
            "We refunded 10.00 EUR for the items you returned from order FC-000012. It may \
             take a few days to show on your statement."
        );
    }

    #[test]
    fn every_return_message_names_the_order_number_and_an_amount() {
        let rendered = [
            return_requested().messages(),
            return_approved().messages(),
            return_rejected(None).messages(),
            return_received().messages(),
            return_refunded().messages(),
        ]
        .concat();
        let kinds: Vec<Kind> = rendered.iter().map(|m| m.kind).collect();
        assert_eq!(
            kinds,
            [
                Kind::ReturnRequested,
                Kind::ReturnApproved,
                Kind::ReturnRejected,
                Kind::ReturnReceived,
                Kind::ReturnRefunded
            ]
        );
        for message in &rendered {
            assert_eq!(message.customer_id, ADA);
            let text = format!("{} {}", message.subject, message.body);
            // What the return is worth; for the refund, what it gave back.
            let amount = match message.kind {
                Kind::ReturnRefunded => "10.00 EUR",
                _ => "12.50 EUR",
            };
            assert!(
                text.contains(ORDER_NUMBER) && text.contains(amount),
                "{message:?}"
            );
        }
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
            return_requested().messages(),
            return_approved().messages(),
            return_rejected(None).messages(),
            return_received().messages(),
            return_refunded().messages(),
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
        let names: Vec<&str> = Kind::ALL.iter().map(|kind| kind.as_str()).collect();
        for name in [
            "return_requested",
            "return_approved",
            "return_rejected",
            "return_received",
            "return_refunded",
        ] {
            assert!(names.contains(&name), "{name} missing from Kind::ALL");
        }
        let mut unique = names.clone();
        unique.sort_unstable();
        unique.dedup();
        assert_eq!(unique.len(), names.len(), "{names:?}");
    }
}
