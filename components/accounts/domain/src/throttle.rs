//! Login throttling, per client address: after [`MAX_FAILURES`] failed logins within
//! [`WINDOW_MS`] for one email of a tenant from one address, further attempts for that
//! email from that address are refused (429) until the oldest failure leaves the
//! window; after [`MAX_ADDRESS_FAILURES`] failures from one address (any emails, any
//! tenants), every attempt from it is. The owner logging in from another address is
//! never refused for someone else's guesses, while guessing stays throttled: five
//! guesses per email and address, and a bounded number per address. Unknown emails are
//! throttled alike, so the answer tells nothing about which emails exist. A refused
//! attempt checks no password and is not recorded, so hammering does not extend a
//! lock; a successful login clears its email's failures from that address only.
//!
//! Failures are counted once their password check failed, so a user logging in from
//! several devices at once is never throttled by their own successful logins; a burst of
//! concurrent wrong guesses can pass the limit by the burst's width, which the edge's
//! per-address rate limit bounds. Behind a proxy every client has the proxy's address
//! (see the README): the per-address limit then applies to all of them together.

use crate::AccountError;
use kit::db::{Db, DbError};

/// Failed logins allowed per email and client address within [`WINDOW_MS`].
pub const MAX_FAILURES: i64 = 5;
/// Failed logins allowed per client address within [`WINDOW_MS`], whatever the emails.
pub const MAX_ADDRESS_FAILURES: i64 = 30;
/// The throttling window: 15 minutes.
pub const WINDOW_MS: i64 = 15 * 60 * 1000;

/// One login attempt: the tenant and email it is for, the client address it came from.
#[derive(Debug, Clone, Copy)]
pub struct Attempt<'a> {
    pub tenant: &'a str,
    pub email: &'a str,
    pub client: &'a str,
    pub now_ms: i64,
}

/// Refuses `attempt` when its email failed [`MAX_FAILURES`] times from its address
/// within the window, or its address [`MAX_ADDRESS_FAILURES`] times, with the seconds
/// until the oldest of those failures expires.
pub(crate) async fn admit<D: Db>(db: &D, attempt: &Attempt<'_>) -> Result<(), AccountError> {
    let since = attempt.now_ms - WINDOW_MS;
    let by_email = db
        .query(
            "SELECT COUNT(*), MIN(failed_at) FROM login_failures \
             WHERE tenant = $1 AND email = $2 AND client = $3 AND failed_at > $4",
            &[
                attempt.tenant.into(),
                attempt.email.into(),
                attempt.client.into(),
                since.into(),
            ],
        )
        .await?;
    refuse_past(&by_email, MAX_FAILURES, attempt.now_ms)?;
    let by_address = db
        .query(
            "SELECT COUNT(*), MIN(failed_at) FROM login_failures \
             WHERE client = $1 AND failed_at > $2",
            &[attempt.client.into(), since.into()],
        )
        .await?;
    refuse_past(&by_address, MAX_ADDRESS_FAILURES, attempt.now_ms)
}

/// 429 when the counted failures (`COUNT(*), MIN(failed_at)`) reached `limit`.
fn refuse_past(counted: &[kit::db::Row], limit: i64, now_ms: i64) -> Result<(), AccountError> {
    let row = counted
        .first()
        .ok_or_else(|| DbError::Other("COUNT returned no row".into()))?;
    if row.get_i64(0)? < limit {
        return Ok(());
    }
    Err(AccountError::Throttled {
        retry_after_secs: retry_after_secs(row.get_i64(1)?, now_ms),
    })
}

/// The password check failed: one more failure for the attempt's email and address.
/// Failures that left the window, anyone's, go on the way, so the table holds at most
/// one window of failures.
pub(crate) async fn failed<D: Db>(db: &D, attempt: &Attempt<'_>) -> Result<(), DbError> {
    db.execute(
        "DELETE FROM login_failures WHERE failed_at <= $1",
        &[(attempt.now_ms - WINDOW_MS).into()],
    )
    .await?;
    db.execute(
        "INSERT INTO login_failures (id, tenant, email, client, failed_at) \
         VALUES ($1, $2, $3, $4, $5)",
        &[
            uuid::Uuid::now_v7().to_string().into(),
            attempt.tenant.into(),
            attempt.email.into(),
            attempt.client.into(),
            attempt.now_ms.into(),
        ],
    )
    .await
    .map(drop)
}

/// The password was right: the email's failures from this address are forgiven (not
/// other addresses' guesses, nor the address's failures for other emails).
pub(crate) async fn succeeded<D: Db>(db: &D, attempt: &Attempt<'_>) -> Result<(), DbError> {
    db.execute(
        "DELETE FROM login_failures WHERE tenant = $1 AND email = $2 AND client = $3",
        &[
            attempt.tenant.into(),
            attempt.email.into(),
            attempt.client.into(),
        ],
    )
    .await
    .map(drop)
}

/// Whole seconds until the failure at `oldest_ms` leaves the window; at least 1.
fn retry_after_secs(oldest_ms: i64, now_ms: i64) -> i64 {
    let remaining_ms = oldest_ms + WINDOW_MS - now_ms;
    ((remaining_ms + 999) / 1000).max(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_rounds_up_to_whole_seconds() {
        assert_eq!(retry_after_secs(0, 0), 900);
        assert_eq!(retry_after_secs(0, WINDOW_MS - 1), 1);
        assert_eq!(retry_after_secs(0, WINDOW_MS - 1_001), 2);
        assert_eq!(retry_after_secs(0, WINDOW_MS + 5_000), 1);
    }
}
