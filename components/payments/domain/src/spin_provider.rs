//! The provider as the Spin variables configure it (wasm only), shared by the API and
//! both handler components: `payment_provider` (`test` | `stripe`), `stripe_api_url`,
//! `stripe_secret_key`; Stripe's requests go out through Spin's outbound HTTP.

use crate::provider::{Provider, STRIPE, TEST};
use crate::stripe::{FormPoster, Reply, Stripe};
use http::header;
use kit::spin::variable;

/// Posts Stripe's forms with `spin_sdk::http::send`.
pub struct SpinPoster;

impl FormPoster for SpinPoster {
    async fn post_form(
        &self,
        url: &str,
        secret_key: &str,
        idempotency_key: &str,
        form: String,
    ) -> Result<Reply, String> {
        let request = http::Request::post(url)
            .header(header::AUTHORIZATION, format!("Bearer {secret_key}"))
            .header("idempotency-key", idempotency_key)
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(form.into_bytes())
            .map_err(|error| format!("building the request to {url}: {error}"))?;
        let answer = kit::spin::http::send(request).await?;
        Ok(Reply {
            status: answer.status.as_u16(),
            body: answer.body.to_vec(),
        })
    }
}

async fn text_variable(name: &str) -> Result<String, String> {
    Ok(variable(name).await?.unwrap_or_default())
}

/// The provider the variables choose; `Err` describes a misconfiguration (an unknown
/// provider, or Stripe without a secret key).
pub async fn configured_provider() -> Result<Provider<SpinPoster>, String> {
    match text_variable("payment_provider").await?.as_str() {
        "" | TEST => Ok(Provider::Test),
        STRIPE => {
            let secret_key = text_variable("stripe_secret_key").await?;
            if secret_key.is_empty() {
                return Err("payment_provider is stripe but stripe_secret_key is empty".into());
            }
            let api_url = match text_variable("stripe_api_url").await? {
                url if url.is_empty() => "https://api.stripe.com".to_owned(),
                url => url,
            };
            Ok(Provider::Stripe(Stripe {
                api_url,
                secret_key,
                poster: SpinPoster,
            }))
        }
        other => Err(format!(
            "payment_provider must be {TEST} or {STRIPE}, not {other:?}"
        )),
    }
}
