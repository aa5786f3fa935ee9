//! The handlers' effect on Spin (wasm only), shared by every handler component: the
//! email settings from the variables and [`Outbound`] over Spin's outbound HTTP.

use crate::email::{EmailSettings, Outbound, Reply, notify};
use crate::messages::Notify;
use contracts::Envelope;
use kit::auth::unix_now;
use kit::outbox::HandlerError;
use kit::spin::{SpinDb, variable};
use std::time::Duration;

/// Spin's outbound HTTP (the hosts are allowed in `spin.toml`) and its timer.
pub struct SpinOutbound;

impl Outbound for SpinOutbound {
    async fn send(&self, request: http::Request<String>) -> Result<Reply, String> {
        let answer = kit::spin::http::send(request.map(String::into_bytes)).await?;
        Ok(Reply {
            status: answer.status.as_u16(),
            body: answer.body.to_vec(),
        })
    }

    async fn sleep(&self, delay: Duration) {
        // Nothing else runs in the instance meanwhile: the request waits for this retry.
        std::thread::sleep(delay);
    }
}

/// The email settings the variables make; `None` when `email_api_url` is empty.
pub async fn configured_email() -> Result<Option<EmailSettings>, String> {
    let api_url = variable("email_api_url").await?;
    if api_url.as_deref().unwrap_or_default().trim().is_empty() {
        return Ok(None);
    }
    EmailSettings::from_variables(
        api_url,
        variable("email_api_token").await?,
        variable("email_from").await?,
        variable("jwt_secret").await?,
    )
}

/// The effect of every notifications handler: store the event's messages and email them
/// when email is on (see [`notify`]). Unreadable settings are retried: the event waits
/// for the fix rather than going unannounced.
pub async fn deliver<E: Notify>(db: &SpinDb, event: &Envelope<E>) -> Result<(), HandlerError> {
    let settings = configured_email().await.map_err(HandlerError::Retry)?;
    notify(db, event, &SpinOutbound, settings.as_ref(), unix_now()).await
}
