//! The payments' routes.

use crate::{Access, Described, Op, from_table, keyed};
use payments_api::routes::{Endpoint, ROUTES};
use payments_domain::{Payment, RefundBody, WebhookReceipt};
use utoipa::openapi::RefOr;
use utoipa::openapi::schema::{ObjectBuilder, Schema, Type};

/// `ADMINS` of the API component.
const ADMINS: Access = Access::Roles("admin");

pub(crate) fn operations() -> Vec<Described> {
    keyed(from_table("payments", ROUTES, describe))
}

fn describe(endpoint: Endpoint) -> Op {
    match endpoint {
        Endpoint::ListPayments => Op::new("List payments", ADMINS)
            .describe("The tenant's payments, oldest first.")
            .query::<String>("order_id", false, "The payment of this order (not empty).")
            .paged()
            .answers_page::<Payment>("A page of payments.")
            .problems(&[422]),
        Endpoint::GetPayment => Op::new("Read a payment", ADMINS)
            .answers::<Payment>(200, "The payment, with its refunds.")
            .problems(&[404]),
        Endpoint::RefundPayment => Op::new("Refund a payment", ADMINS)
            .describe(
                "Refunds `amount`, or everything not refunded yet when it is absent (an \
                 empty body too). The refund is taken at once and shows as `requested`; \
                 the provider makes it afterwards (`completed`, then `payment.refunded`). \
                 A payment that is not `succeeded` or `partially_refunded` is 409; an \
                 amount not positive or over what remains is 422.",
            )
            .optional_body::<RefundBody>()
            .answers::<Payment>(200, "The payment with the refund taken.")
            .problems(&[404, 409]),
        Endpoint::StripeWebhook => Op::new("Stripe's webhook", Access::Webhook)
            .describe(
                "Called by Stripe, signed under `stripe_webhook_secret` over the raw body; \
                 400 and no change unless the signature verifies (within 5 minutes) and \
                 the body is a Stripe event. `payment_intent.succeeded` and \
                 `payment_intent.payment_failed` finish the pending payment of their \
                 PaymentIntent, each event once (a replay answers `duplicate`); other \
                 events and unknown PaymentIntents are `ignored`.",
            )
            .raw_body("application/json", stripe_event())
            .answers::<WebhookReceipt>(200, "Received; what was done with the event."),
    }
}

/// The parts of a Stripe event the webhook reads; Stripe sends more, all accepted.
fn stripe_event() -> RefOr<Schema> {
    let text = |description: &'static str| {
        ObjectBuilder::new()
            .schema_type(Type::String)
            .description(Some(description))
    };
    let payment_error = ObjectBuilder::new()
        .description(Some(
            "A failed PaymentIntent's error: the payment's failure.",
        ))
        .property(
            "code",
            text("Taken as the decline code when there is none."),
        )
        .property("decline_code", text("The payment's `decline_code`."))
        .property("message", text("The payment's `failure_reason`."));
    let object = ObjectBuilder::new()
        .description(Some(
            "The event's object: for the `payment_intent.*` events acted on, a \
             PaymentIntent, which must have an `id`.",
        ))
        .property(
            "id",
            text("The PaymentIntent's id (the payment's `provider_reference`)."),
        )
        .property("last_payment_error", payment_error);
    let data = ObjectBuilder::new()
        .property("object", object)
        .required("object");
    ObjectBuilder::new()
        .description(Some(
            "A Stripe event (`https://docs.stripe.com/api/events/object`), of which these \
             fields are read.",
        ))
        .property("id", text("The event's id: each is applied once."))
        .property(
            "type",
            text("`payment_intent.succeeded` or `payment_intent.payment_failed`; others are ignored."),
        )
        .required("id")
        .required("type")
        .property("data", data)
        .required("data")
        .into()
}
