//! Email through a Postmark-style HTTP API, and the handler flow around it: when
//! `email_api_url` is set, look up the address of each customer an event has a new
//! message for in accounts and post the message there; then store the event's messages.
//!
//! The outside world comes in through kit's [`Variables`] and [`Outbound`] (Spin's in
//! the handler components, fakes in tests), so the whole flow is tested natively.
//!
//! Delivery is at-least-once. Emails go out before the handler's transaction, so no lock
//! is held while accounts or the email API answer: when one still fails after its retries
//! the handler answers [`HandlerError::Retry`], nothing is stored and the dispatcher
//! redelivers the event later — and the emails already sent for that event (the other
//! participants of a campaign, say) are sent again then, as is every email of an event
//! whose commit fails after the send. A message once stored is never emailed again.

use crate::inbox::{new_messages, store_messages};
use crate::messages::{Message, Notify};
use contracts::Envelope;
use contracts::clients::{accounts, describe};
use http::header;
use kit::auth::{Claims, JwtKey, Role, unix_now};
use kit::db::Db;
use kit::outbound::Outbound;
use kit::outbox::HandlerError;
use kit::variables::Variables;
use serde::Serialize;
use std::time::Duration;

/// The sender when the `email_from` variable is blank.
pub const DEFAULT_FROM: &str = "shop@fusion.example";
/// The `sub` of the tokens this context mints to read users.
pub const SERVICE_SUBJECT: &str = "notifications";
/// How long such a token lives: it is used at once.
pub const SERVICE_TOKEN_TTL_SECONDS: i64 = 60;
/// The waits before the second and the third (last) attempt to post an email.
pub const SEND_RETRY_DELAYS: [Duration; 2] =
    [Duration::from_millis(100), Duration::from_millis(400)];
/// Postmark's stream for transactional email.
pub const MESSAGE_STREAM: &str = "outbound";
pub const SERVER_TOKEN_HEADER: &str = "X-Postmark-Server-Token";
const JSON: &str = "application/json";

/// Where and as whom email goes out, from the `email_api_url`, `email_api_token`,
/// `email_from` and `jwt_secret` variables.
#[derive(Debug, Clone)]
pub struct EmailSettings {
    pub api_url: String,
    pub api_token: String,
    pub from: String,
    /// Signs the tokens that read customers' addresses from accounts.
    pub jwt_key: JwtKey,
}

impl EmailSettings {
    /// `None` when `api_url` is blank or absent (email is off); an error when email is on
    /// but no `jwt_secret` is there to read addresses with.
    pub fn from_variables(
        api_url: Option<String>,
        api_token: Option<String>,
        from: Option<String>,
        jwt_secret: Option<String>,
    ) -> Result<Option<Self>, String> {
        let api_url = api_url.unwrap_or_default().trim().to_owned();
        if api_url.is_empty() {
            return Ok(None);
        }
        let jwt_key = JwtKey::new(jwt_secret.unwrap_or_default())
            .map_err(|error| format!("email is on but {error}"))?;
        let from = from
            .map(|from| from.trim().to_owned())
            .filter(|from| !from.is_empty())
            .unwrap_or_else(|| DEFAULT_FROM.to_owned());
        Ok(Some(Self {
            api_url,
            api_token: api_token.unwrap_or_default(),
            from,
            jwt_key,
        }))
    }
}

impl EmailSettings {
    /// The settings the component's variables make; `None` when `email_api_url` is
    /// empty.
    pub async fn configured(variables: &impl Variables) -> Result<Option<Self>, String> {
        let api_url = variables.variable("email_api_url").await?;
        if api_url.as_deref().unwrap_or_default().trim().is_empty() {
            return Ok(None);
        }
        Self::from_variables(
            api_url,
            variables.variable("email_api_token").await?,
            variables.variable("email_from").await?,
            variables.variable("jwt_secret").await?,
        )
    }
}

/// A short-lived service token of `tenant` for this context, to read users from
/// accounts (`GET /api/v1/users/{id}`, the one route a service token opens).
pub fn service_token(key: &JwtKey, tenant: &str, now: i64) -> String {
    key.issue(&Claims::new(
        SERVICE_SUBJECT,
        Role::Service,
        tenant,
        now,
        SERVICE_TOKEN_TTL_SECONDS,
    ))
}

/// The JSON body of one email, as Postmark's `POST /email` takes it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct PostmarkEmail<'a> {
    pub from: &'a str,
    pub to: &'a str,
    pub subject: &'a str,
    pub text_body: &'a str,
    pub message_stream: &'a str,
}

impl<'a> PostmarkEmail<'a> {
    pub fn new(from: &'a str, to: &'a str, message: &'a Message) -> Self {
        Self {
            from,
            to,
            subject: &message.subject,
            text_body: &message.body,
            message_stream: MESSAGE_STREAM,
        }
    }
}

/// The email API's request for `email`.
pub fn postmark_request(
    settings: &EmailSettings,
    email: &PostmarkEmail,
) -> Result<http::Request<Vec<u8>>, String> {
    let body = serde_json::to_vec(email).map_err(|error| format!("email body: {error}"))?;
    http::Request::post(&settings.api_url)
        .header(header::CONTENT_TYPE, JSON)
        .header(header::ACCEPT, JSON)
        .header(SERVER_TOKEN_HEADER, &settings.api_token)
        .body(body)
        .map_err(|error| format!("building the request to {}: {error}", settings.api_url))
}

/// The address of `customer_id`, read from accounts with a fresh service token.
async fn customer_email<O: Outbound>(
    outbound: &O,
    settings: &EmailSettings,
    tenant: &str,
    customer_id: &str,
    now: i64,
) -> Result<Option<String>, String> {
    let token = service_token(&settings.jwt_key, tenant, now);
    let request = accounts::user_request(customer_id, &token)?;
    let answer = outbound
        .send(request)
        .await
        .map_err(|error| format!("accounts: {error}"))?;
    accounts::read_email(&answer)
}

/// Posts `email`, trying again after each of [`SEND_RETRY_DELAYS`] while it fails.
async fn post_with_retries<O: Outbound>(
    outbound: &O,
    settings: &EmailSettings,
    email: &PostmarkEmail<'_>,
) -> Result<(), String> {
    let mut last_failure = String::new();
    let waits = std::iter::once(None).chain(SEND_RETRY_DELAYS.into_iter().map(Some));
    for wait in waits {
        if let Some(delay) = wait {
            outbound.pause(delay).await;
        }
        match outbound.send(postmark_request(settings, email)?).await {
            Ok(answer) if answer.status().is_success() => return Ok(()),
            Ok(answer) => last_failure = describe(&answer),
            Err(error) => last_failure = error,
        }
    }
    Err(format!(
        "the email API failed {} times, last with {last_failure}",
        SEND_RETRY_DELAYS.len() + 1
    ))
}

/// Emails each of `messages` (of `tenant`) to its customer. An unknown customer gets no
/// email; an address that cannot be read or an email that cannot be sent is
/// [`HandlerError::Retry`].
pub async fn email_messages<O: Outbound>(
    outbound: &O,
    settings: &EmailSettings,
    tenant: &str,
    messages: &[Message],
    now: i64,
) -> Result<(), HandlerError> {
    for message in messages {
        let customer = &message.customer_id;
        let to = customer_email(outbound, settings, tenant, customer, now)
            .await
            .map_err(|error| HandlerError::Retry(format!("emailing {customer}: {error}")))?;
        let Some(to) = to else {
            eprintln!(
                "notifications: no user {customer} in tenant {tenant}; {} message not emailed",
                message.kind.as_str()
            );
            continue;
        };
        let email = PostmarkEmail::new(&settings.from, &to, message);
        post_with_retries(outbound, settings, &email)
            .await
            .map_err(|error| HandlerError::Retry(format!("emailing {customer}: {error}")))?;
    }
    Ok(())
}

/// The first half of every notifications handler, outside any transaction: when email
/// is on (`settings`), emails the messages `event` renders that are not stored yet.
pub async fn email_new_messages<D: Db, E: Notify, O: Outbound>(
    db: &D,
    event: &Envelope<E>,
    outbound: &O,
    settings: Option<&EmailSettings>,
    now: i64,
) -> Result<(), HandlerError> {
    let Some(settings) = settings else {
        return Ok(());
    };
    let new = new_messages(db, event).await?;
    email_messages(outbound, settings, &event.tenant, &new, now).await
}

/// [`email_new_messages`] with the settings the variables make. Unreadable settings are
/// retried: the event waits for the fix rather than going unannounced. An event that
/// renders no message (a `payment.refunded` its return's `return.refunded` tells of)
/// reads no settings and sends nothing.
pub async fn email<D: Db, E: Notify>(
    db: &D,
    event: &Envelope<E>,
    variables: &impl Variables,
    outbound: &impl Outbound,
) -> Result<(), HandlerError> {
    if event.data.messages().is_empty() {
        return Ok(());
    }
    let settings = EmailSettings::configured(variables)
        .await
        .map_err(HandlerError::Retry)?;
    email_new_messages(db, event, outbound, settings.as_ref(), unix_now()).await
}

/// The second half, in the handler's transaction (with the event's id): stores the
/// messages `event` renders — none for an event that renders none, which is still
/// acknowledged.
pub async fn record<D: Db, E: Notify>(
    db: &D,
    event: &Envelope<E>,
    _emailed: (),
) -> Result<(), HandlerError> {
    store_messages(db, event).await?;
    Ok(())
}
