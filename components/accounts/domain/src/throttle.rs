//! Login throttling: after [`MAX_FAILURES`] failed logins within [`WINDOW_MS`] for one
//! email of a tenant, further attempts are refused (429) until the oldest failure leaves
//! the window. Unknown emails are throttled alike, so the answer tells nothing about
//! which emails exist.
//!
//! An attempt is recorded *before* the password is checked and counted with the others,
//! so a burst of concurrent guesses cannot slip past the limit; a refused attempt removes
//! its record, so hammering a throttled account does not extend its lock; a successful
//! login clears the email's record.

use crate::AccountError;
use kit::db::{Db, DbError};

/// Failed logins allowed per email within [`WINDOW_MS`].
pub const MAX_FAILURES: i64 = 5;
/// The throttling window: 15 minutes.
pub const WINDOW_MS: i64 = 15 * 60 * 1000;

/// A recorded attempt, cleared by [`succeeded`] when the password was right.
pub(crate) struct Attempt {
    tenant: String,
    email: String,
}

/// Records an attempt for `email`, or refuses it with the seconds until one of the
/// window's failures expires.
pub(crate) async fn admit<D: Db>(
    db: &D,
    tenant: &str,
    email: &str,
    now_ms: i64,
) -> Result<Attempt, AccountError> {
    let window_start = now_ms - WINDOW_MS;
    db.execute(
        "DELETE FROM login_failures WHERE tenant = $1 AND email = $2 AND failed_at <= $3",
        &[tenant.into(), email.into(), window_start.into()],
    )
    .await?;
    let id = uuid::Uuid::now_v7().to_string();
    db.execute(
        "INSERT INTO login_failures (id, tenant, email, failed_at) VALUES ($1, $2, $3, $4)",
        &[
            id.as_str().into(),
            tenant.into(),
            email.into(),
            now_ms.into(),
        ],
    )
    .await?;
    let rows = db
        .query(
            "SELECT COUNT(*), MIN(failed_at) FROM login_failures \
             WHERE tenant = $1 AND email = $2 AND failed_at > $3 AND id <> $4",
            &[
                tenant.into(),
                email.into(),
                window_start.into(),
                id.as_str().into(),
            ],
        )
        .await?;
    let row = rows
        .first()
        .ok_or_else(|| DbError::Other("COUNT returned no row".into()))?;
    let earlier_failures = row.get_i64(0)?;
    if earlier_failures < MAX_FAILURES {
        return Ok(Attempt {
            tenant: tenant.to_owned(),
            email: email.to_owned(),
        });
    }
    db.execute(
        "DELETE FROM login_failures WHERE id = $1",
        &[id.as_str().into()],
    )
    .await?;
    let oldest = row.get_i64(1)?;
    Err(AccountError::Throttled {
        retry_after_secs: retry_after_secs(oldest, now_ms),
    })
}

/// The password was right: the email's failures are forgiven.
pub(crate) async fn succeeded<D: Db>(db: &D, attempt: Attempt) -> Result<(), DbError> {
    db.execute(
        "DELETE FROM login_failures WHERE tenant = $1 AND email = $2",
        &[attempt.tenant.into(), attempt.email.into()],
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
