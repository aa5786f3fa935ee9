//! The Spin handler: authentication, the webhook's signature, bodies, the provider and
//! the store around each domain call.

use crate::routes::{ADMINS, Endpoint, ROUTES, SIGNATURE_HEADER, payment_list_query, refund_body};
use http::{HeaderMap, StatusCode};
use kit::Problem;
use kit::auth::{Caller, unix_now};
use kit::edge::Edge;
use kit::events::dispatch_after_commit;
use kit::http::Request;
use kit::http::{Response, json, respond};
use kit::json::{read_body, require_json_content_type};
use kit::spin::{SpinDb, authenticate, open_store, variable};
use kit::{request_id, route};
use payments_domain::webhook::verify_signature;
use payments_domain::{
    CONTEXT, MIGRATIONS, PaymentError, Provider, SpinPoster, WebhookOutcome, configured_provider,
};

kit::api_component!(
    Edge {
        context: Some(CONTEXT),
        migrations: MIGRATIONS,
    },
    handle_request
);

/// The routes, behind the edge (CORS, rate limit, idempotency, security headers).
async fn handle_request(request: Request) -> Response {
    let request_id = request_id::from_headers(request.headers());
    let (endpoint, id) = match route::find(ROUTES, request.method(), request.uri().path()) {
        Ok((endpoint, captures)) => (endpoint, captures.first().map(|id| (*id).to_owned())),
        Err(no_route) => {
            return no_route.to_response(request.method(), request.uri().path(), &request_id);
        }
    };
    let id = id.unwrap_or_default();
    let outcome = match endpoint {
        Endpoint::ListPayments => list_payments(&request, &request_id).await,
        Endpoint::GetPayment => get_payment(&request, &id, &request_id).await,
        Endpoint::RefundPayment => refund_payment(request, &id, &request_id).await,
        Endpoint::StripeWebhook => stripe_webhook(request, &request_id).await,
    };
    respond(outcome, &request_id)
}

/// 401 without a valid token, 403 unless admin.
async fn admin(headers: &HeaderMap) -> Result<Caller, Problem> {
    let caller = authenticate(headers).await?;
    caller.require_role(ADMINS)?;
    Ok(caller)
}

/// The context's store for this request (503 when it cannot be opened or migrated).
async fn store(request_id: &str) -> Result<SpinDb, Problem> {
    open_store(CONTEXT, MIGRATIONS, request_id).await
}

/// The configured provider; a misconfiguration is a deployment error (500, logged).
async fn provider(request_id: &str) -> Result<Provider<SpinPoster>, Problem> {
    configured_provider().await.map_err(|error| {
        eprintln!("[{request_id}] payment provider: {error}");
        Problem::internal()
    })
}

/// The domain's answer as a problem; a database failure is logged, then a bare 500.
fn domain_problem(request_id: &str) -> impl Fn(PaymentError) -> Problem + '_ {
    move |error| {
        if let PaymentError::Db(cause) = &error {
            eprintln!("[{request_id}] payments: {cause}");
        }
        error.into()
    }
}

async fn list_payments(request: &Request, request_id: &str) -> Result<Response, Problem> {
    let caller = admin(request.headers()).await?;
    let (filter, page) = payment_list_query(request.uri().query().unwrap_or_default())?;
    let db = store(request_id).await?;
    let payments = payments_domain::list_payments(&db, &caller.tenant, &filter, &page)
        .await
        .map_err(domain_problem(request_id))?;
    Ok(json(StatusCode::OK, &payments, request_id))
}

async fn get_payment(request: &Request, id: &str, request_id: &str) -> Result<Response, Problem> {
    let caller = admin(request.headers()).await?;
    let db = store(request_id).await?;
    let payment = payments_domain::get_payment(&db, &caller.tenant, id)
        .await
        .map_err(domain_problem(request_id))?;
    Ok(json(StatusCode::OK, &payment, request_id))
}

async fn refund_payment(request: Request, id: &str, request_id: &str) -> Result<Response, Problem> {
    let caller = admin(request.headers()).await?;
    require_json_content_type(request.headers())?;
    let body = refund_body(&read_body(request.into_body()).await?)?;
    let provider = provider(request_id).await?;
    let db = store(request_id).await?;
    let payment =
        payments_domain::refund_payment(&db, &provider, &caller.tenant, request_id, id, &body)
            .await
            .map_err(domain_problem(request_id))?;
    let response = json(StatusCode::OK, &payment, request_id);
    dispatch_after_commit(CONTEXT, db).await;
    Ok(response)
}

/// Stripe's webhook: 400 and no change unless the `Stripe-Signature` verifies; then
/// each Stripe event is applied once (a replay answers 200 and changes nothing).
async fn stripe_webhook(request: Request, request_id: &str) -> Result<Response, Problem> {
    let secret = variable("stripe_webhook_secret")
        .await
        .map_err(|error| {
            eprintln!("[{request_id}] {error}");
            Problem::internal()
        })?
        .unwrap_or_default();
    let signature = request
        .headers()
        .get(SIGNATURE_HEADER)
        .and_then(|value| value.to_str().ok())
        .map(str::to_owned);
    let payload = read_body(request.into_body()).await?;
    verify_signature(&secret, signature.as_deref(), &payload, unix_now())
        .map_err(|error| Problem::bad_request(error.to_string()))?;
    let provider = provider(request_id).await?;
    let db = store(request_id).await?;
    let outcome = payments_domain::apply_stripe_event(&db, &provider, &payload)
        .await
        .map_err(domain_problem(request_id))?;
    let response = json(
        StatusCode::OK,
        &serde_json::json!({ "received": true, "outcome": outcome }),
        request_id,
    );
    if outcome == WebhookOutcome::Applied {
        dispatch_after_commit(CONTEXT, db).await;
    }
    Ok(response)
}
