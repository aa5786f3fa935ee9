//! Login throttling: after [`MAX_FAILURES`] failed logins within [`WINDOW_MS`] for one
//! email of a tenant, further attempts are refused (429) until the oldest failure leaves
//! the window. Unknown emails are throttled alike, so the answer tells nothing about
//! which emails exist. A refused attempt checks no password and is not recorded, so
//! hammering a throttled account does not extend its lock; a successful login clears the
//! email's failures.
//!
//! Failures are counted once their password check failed, so a user logging in from
//! several devices at once is never throttled by their own successful logins; a burst of
//! concurrent wrong guesses can pass the limit by the burst's width, which the edge's
//! per-address rate limit bounds.

use crate::AccountError;
use kit::db::{Db, DbError};

/// Failed logins allowed per email within [`WINDOW_MS`].
pub const MAX_FAILURES: i64 = 5;
/// The throttling window: 15 minutes.
pub const WINDOW_MS: i64 = 15 * 60 * 1000;

/// Refuses an attempt for `email` when it already failed [`MAX_FAILURES`] times within
/// the window, with the seconds until the oldest of those failures expires.
pub(crate) async fn admit<D: Db>(
    db: &D,
    tenant: &str,
    email: &str,
    now_ms: i64,
) -> Result<(), AccountError> {
    let rows = db
        .query(
            "SELECT COUNT(*), MIN(failed_at) FROM login_failures \
             WHERE tenant = $1 AND email = $2 AND failed_at > $3",
            &[tenant.into(), email.into(), (now_ms - WINDOW_MS).into()],
        )
        .await?;
    let row = rows
        .first()
        .ok_or_else(|| DbError::Other("COUNT returned no row".into()))?;
    if row.get_i64(0)? < MAX_FAILURES {
        return Ok(());
    }
    Err(AccountError::Throttled {
        retry_after_secs: retry_after_secs(row.get_i64(1)?, now_ms),
    })
}

/// The password check failed: one more failure for `email` (older ones that left the
/// window are dropped on the way).
pub(crate) async fn failed<D: Db>(
    db: &D,
    tenant: &str,
    email: &str,
    now_ms: i64,
) -> Result<(), DbError> {
    db.execute(
        "DELETE FROM login_failures WHERE tenant = $1 AND email = $2 AND failed_at <= $3",
        &[tenant.into(), email.into(), (now_ms - WINDOW_MS).into()],
    )
    .await?;
    db.execute(
        "INSERT INTO login_failures (id, tenant, email, failed_at) VALUES ($1, $2, $3, $4)",
        &[
            uuid::Uuid::now_v7().to_string().into(),
            tenant.into(),
            email.into(),
            now_ms.into(),
        ],
    )
    .await
    .map(drop)
}

/// The password was right: the email's failures are forgiven.
pub(crate) async fn succeeded<D: Db>(db: &D, tenant: &str, email: &str) -> Result<(), DbError> {
    db.execute(
        "DELETE FROM login_failures WHERE tenant = $1 AND email = $2",
        &[tenant.into(), email.into()],
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
