//! The Spin handler: each endpoint's caller (or the webhook's signature), body and
//! domain call.

use crate::routes::{ADMINS, Endpoint, ROUTES, SIGNATURE_HEADER, payment_list_query, refund_body};
use http::StatusCode;
use kit::Problem;
use kit::auth::{Caller, unix_now};
use kit::http::{Response, json};
use kit::json::require_json_content_type;
use kit::service::Call;
use kit::signature;
use kit::spin::Spin;
use kit::variables::Variables;

kit::api_component!(payments_domain, ROUTES, serve);

async fn serve(endpoint: Endpoint, call: &Call) -> Result<Response, Problem> {
    let request_id = call.request_id();
    match endpoint {
        Endpoint::ListPayments => {
            let caller = admin(call).await?;
            let (filter, page) = payment_list_query(call.query())?;
            let payments =
                payments_domain::list_payments(call.db().await?, &caller.tenant, &filter, &page)
                    .await
                    .map_err(|error| call.domain(error))?;
            Ok(json(StatusCode::OK, &payments, request_id))
        }
        Endpoint::GetPayment => {
            let caller = admin(call).await?;
            let payment =
                payments_domain::get_payment(call.db().await?, &caller.tenant, call.capture())
                    .await
                    .map_err(|error| call.domain(error))?;
            Ok(json(StatusCode::OK, &payment, request_id))
        }
        Endpoint::RefundPayment => {
            let caller = admin(call).await?;
            require_json_content_type(call.headers())?;
            let body = refund_body(call.body())?;
            let payment = payments_domain::refund_payment(
                call.db().await?,
                &caller.tenant,
                request_id,
                call.capture(),
                &body,
            )
            .await
            .map_err(|error| call.domain(error))?;
            Ok(json(StatusCode::OK, &payment, request_id))
        }
        Endpoint::StripeWebhook => stripe_webhook(call).await,
    }
}

/// 401 without a valid token, 403 unless admin.
async fn admin(call: &Call) -> Result<Caller, Problem> {
    let caller = call.caller().await?;
    caller.require_role(ADMINS)?;
    Ok(caller)
}

/// Stripe's webhook: 400 and no change unless the `Stripe-Signature` verifies; then
/// each Stripe event is applied once (a replay answers 200 and changes nothing).
async fn stripe_webhook(call: &Call) -> Result<Response, Problem> {
    let request_id = call.request_id();
    let secret = Spin
        .variable("stripe_webhook_secret")
        .await
        .map_err(|error| {
            eprintln!("[{request_id}] {error}");
            Problem::internal()
        })?
        .unwrap_or_default();
    let signature = call
        .headers()
        .get(SIGNATURE_HEADER)
        .and_then(|value| value.to_str().ok());
    signature::verify(&secret, signature, call.body(), unix_now())
        .map_err(|error| Problem::bad_request(error.describe("webhooks", "Stripe-Signature")))?;
    let outcome = payments_domain::apply_stripe_event(call.db().await?, call.body())
        .await
        .map_err(|error| call.domain(error))?;
    Ok(json(
        StatusCode::OK,
        &payments_domain::WebhookReceipt::from(outcome),
        request_id,
    ))
}
