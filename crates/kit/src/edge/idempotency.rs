//! `Idempotency-Key` on POST: the first response to a key is kept for 24 h and replayed
//! to a retry with the same request; the same key with another request is refused.
//!
//! The claim lives in the context's own database, not in key-value: Spin's key-value
//! interface has no compare-and-swap, while `INSERT … ON CONFLICT DO NOTHING` lets
//! exactly one of two concurrent requests with one key proceed.

use crate::db::{Db, DbError, Migration, Row};
use crate::http::{Body, Response};
use crate::problem::Problem;
use crate::request_id;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use bytes::Bytes;
use http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use sha2::{Digest, Sha256};
use std::fmt::Write;

pub const KEY_HEADER: &str = "idempotency-key";
/// Set on a replayed response, so a client can tell it did not run again.
pub const REPLAYED_HEADER: &str = "idempotency-replayed";
const MAX_KEY_LEN: usize = 255;
/// How long a key's first response is replayed.
const RETAIN_MS: i64 = 24 * 60 * 60 * 1000;
/// A claim still in progress after this long belongs to a request that died (a trap,
/// a lost instance) before completing or releasing it; a retry may take it over.
const ABANDONED_AFTER_MS: i64 = 5 * 60 * 1000;
const IN_PROGRESS: &str = "in_progress";
/// In progress, and a transaction of the request has committed: the request changed
/// something, so it must never run again, even when it dies before answering.
const COMMITTED: &str = "committed";
const COMPLETED: &str = "completed";

const CREATE_IDEMPOTENCY_KEYS: &str = "\
CREATE TABLE idempotency_keys (
    scope TEXT NOT NULL,
    key TEXT NOT NULL,
    fingerprint TEXT NOT NULL,
    state TEXT NOT NULL,
    status BIGINT,
    content_type TEXT,
    location TEXT,
    body TEXT,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (scope, key)
);
";

/// The `idempotency_keys` table; every context with an API lists it in its migrations,
/// so a claim lives in the store the handler writes.
pub const IDEMPOTENCY_MIGRATION: Migration = Migration {
    name: "kit_0003_idempotency",
    sqlite: CREATE_IDEMPOTENCY_KEYS,
    postgres: CREATE_IDEMPOTENCY_KEYS,
};

/// The request's `Idempotency-Key`: `None` when absent, 400 unless it is 1–255 visible
/// ASCII characters.
pub fn idempotency_key(headers: &HeaderMap) -> Result<Option<String>, Problem> {
    let Some(value) = headers.get(KEY_HEADER) else {
        return Ok(None);
    };
    let key = value.to_str().unwrap_or_default();
    if (1..=MAX_KEY_LEN).contains(&key.len()) && key.bytes().all(|b| b.is_ascii_graphic()) {
        Ok(Some(key.to_owned()))
    } else {
        Err(Problem::bad_request(
            "Idempotency-Key must be 1-255 visible ASCII characters",
        ))
    }
}

/// Whose keys a key is among: `<tenant>:<subject>:<METHOD> <path>`, so one key used by
/// two callers, or on two routes, names two requests.
pub fn scope(tenant: &str, subject: &str, method: &Method, path: &str) -> String {
    format!("{tenant}:{subject}:{method} {path}")
}

/// SHA-256 (hex) of what makes two requests the same: method, path and query, body.
/// Neither method nor path can hold a newline, so the framing is unambiguous.
pub fn fingerprint(method: &Method, path_and_query: &str, body: &[u8]) -> String {
    let digest = Sha256::new()
        .chain_update(method.as_str())
        .chain_update(b"\n")
        .chain_update(path_and_query)
        .chain_update(b"\n")
        .chain_update(body)
        .finalize();
    digest
        .iter()
        .fold(String::with_capacity(64), |mut hex, byte| {
            let _ = write!(hex, "{byte:02x}");
            hex
        })
}

/// What is kept of a first response to replay it: status, body and the headers a
/// client acts on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredResponse {
    pub status: u16,
    pub content_type: Option<String>,
    pub location: Option<String>,
    pub body: Bytes,
}

impl StoredResponse {
    pub fn capture(status: StatusCode, headers: &HeaderMap, body: Bytes) -> Self {
        let header = |name| {
            headers
                .get(name)
                .and_then(|value: &HeaderValue| value.to_str().ok())
                .map(str::to_owned)
        };
        Self {
            status: status.as_u16(),
            content_type: header(header::CONTENT_TYPE),
            location: header(header::LOCATION),
            body,
        }
    }

    /// The stored response again, marked as a replay and carrying this request's id.
    pub fn replay(&self, request_id: &str) -> Response {
        let mut response = http::Response::new(Body::new(self.body.clone()));
        *response.status_mut() =
            StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let headers = response.headers_mut();
        for (name, value) in [
            (header::CONTENT_TYPE, &self.content_type),
            (header::LOCATION, &self.location),
        ] {
            if let Some(value) = value.as_deref().and_then(|v| HeaderValue::from_str(v).ok()) {
                headers.insert(name, value);
            }
        }
        headers.insert(REPLAYED_HEADER, HeaderValue::from_static("true"));
        if let Ok(id) = HeaderValue::from_str(request_id) {
            headers.insert(request_id::HEADER, id);
        }
        response
    }

    fn from_row(row: &Row) -> Result<Self, DbError> {
        let body = STANDARD
            .decode(row.get_opt_str(5)?.unwrap_or_default())
            .map_err(|error| DbError::Other(format!("stored response body: {error}")))?;
        Ok(Self {
            status: u16::try_from(row.get_i64(2)?)
                .map_err(|_| DbError::Other("stored response status out of range".into()))?,
            content_type: row.get_opt_str(3)?.map(str::to_owned),
            location: row.get_opt_str(4)?.map(str::to_owned),
            body: body.into(),
        })
    }
}

/// The outcome of claiming a key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Claim {
    /// The key is new (or its record expired): run the request, then [`complete`] or
    /// [`release`].
    Proceed,
    /// The same request completed before: answer with its response.
    Replay(StoredResponse),
    /// The key was used for another request (422).
    Mismatch,
    /// The same key is being served right now (409).
    InProgress,
    /// The request with this key changed something and then died before answering:
    /// its answer is lost and it must not run again (409, for 24 h).
    Interrupted,
}

/// A key the request claimed: kept with the request, so that its store marks it as
/// [`mark_committed`] in each transaction the handler commits.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClaimedKey {
    pub scope: String,
    pub key: String,
}

/// Notes, inside the caller's transaction, that the request holding `claimed` changed
/// something: from then on the claim is never taken over as abandoned.
pub async fn mark_committed<D: Db>(db: &D, claimed: &ClaimedKey) -> Result<(), DbError> {
    db.execute(
        "UPDATE idempotency_keys SET state = $3 WHERE scope = $1 AND key = $2 AND state = $4",
        &[
            claimed.scope.as_str().into(),
            claimed.key.as_str().into(),
            COMMITTED.into(),
            IN_PROGRESS.into(),
        ],
    )
    .await
    .map(drop)
}

/// Removes the records older than 24 h, which no retry may replay any more; how many.
pub async fn expire<D: Db>(db: &D, now_ms: i64) -> Result<u64, DbError> {
    db.execute(
        "DELETE FROM idempotency_keys WHERE created_at <= $1",
        &[(now_ms - RETAIN_MS).into()],
    )
    .await
}

/// Claims `key` in `scope` for the request `fingerprint` at `now_ms`: exactly one of
/// concurrent claimants proceeds. A record older than 24 h, or a claim abandoned for
/// five minutes before its request committed anything, is replaced (and [`expire`]
/// removes records nobody retried); an abandoned claim whose request did commit is
/// [`Claim::Interrupted`].
pub async fn claim<D: Db>(
    db: &D,
    scope: &str,
    key: &str,
    fingerprint: &str,
    now_ms: i64,
) -> Result<Claim, DbError> {
    db.execute(
        "DELETE FROM idempotency_keys WHERE scope = $1 AND key = $2 \
         AND (created_at <= $3 OR (state = $4 AND created_at <= $5))",
        &[
            scope.into(),
            key.into(),
            (now_ms - RETAIN_MS).into(),
            IN_PROGRESS.into(),
            (now_ms - ABANDONED_AFTER_MS).into(),
        ],
    )
    .await?;
    // A claim released between our insert and our read leaves nothing to read; the next
    // attempt takes the key over.
    for _ in 0..3 {
        let inserted = db
            .execute(
                "INSERT INTO idempotency_keys (scope, key, fingerprint, state, created_at) \
                 VALUES ($1, $2, $3, $4, $5) ON CONFLICT (scope, key) DO NOTHING",
                &[
                    scope.into(),
                    key.into(),
                    fingerprint.into(),
                    IN_PROGRESS.into(),
                    now_ms.into(),
                ],
            )
            .await?;
        if inserted == 1 {
            return Ok(Claim::Proceed);
        }
        let rows = db
            .query(
                "SELECT fingerprint, state, status, content_type, location, body, created_at \
                 FROM idempotency_keys WHERE scope = $1 AND key = $2",
                &[scope.into(), key.into()],
            )
            .await?;
        if let Some(row) = rows.first() {
            return if row.get_str(0)? != fingerprint {
                Ok(Claim::Mismatch)
            } else if row.get_str(1)? == COMPLETED {
                StoredResponse::from_row(row).map(Claim::Replay)
            } else if row.get_str(1)? == COMMITTED && row.get_i64(6)? <= now_ms - ABANDONED_AFTER_MS
            {
                Ok(Claim::Interrupted)
            } else {
                Ok(Claim::InProgress)
            };
        }
    }
    Ok(Claim::InProgress)
}

/// Keeps `response` as the answer to `key`, for replays.
pub async fn complete<D: Db>(
    db: &D,
    scope: &str,
    key: &str,
    response: &StoredResponse,
) -> Result<(), DbError> {
    db.execute(
        "UPDATE idempotency_keys SET state = $3, status = $4, content_type = $5, \
         location = $6, body = $7 WHERE scope = $1 AND key = $2",
        &[
            scope.into(),
            key.into(),
            COMPLETED.into(),
            i64::from(response.status).into(),
            response.content_type.clone().into(),
            response.location.clone().into(),
            STANDARD.encode(&response.body).into(),
        ],
    )
    .await
    .map(drop)
}

/// Gives up a claim that did not complete (the request failed in a way a retry may
/// fix), so the next request with the key runs.
pub async fn release<D: Db>(db: &D, scope: &str, key: &str) -> Result<(), DbError> {
    db.execute(
        "DELETE FROM idempotency_keys WHERE scope = $1 AND key = $2 AND state = $3",
        &[scope.into(), key.into(), IN_PROGRESS.into()],
    )
    .await
    .map(drop)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_visible_ascii_of_bounded_length() {
        let with = |value: &str| {
            let mut headers = HeaderMap::new();
            headers.insert(KEY_HEADER, HeaderValue::from_str(value).unwrap());
            idempotency_key(&headers)
        };
        assert_eq!(idempotency_key(&HeaderMap::new()).unwrap(), None);
        assert_eq!(with("order-7f3a").unwrap().as_deref(), Some("order-7f3a"));
        assert!(with(&"k".repeat(255)).unwrap().is_some());
        for bad in ["", "has space", &"k".repeat(256)] {
            assert_eq!(with(bad).unwrap_err().status, 400, "{bad:?}");
        }
        let mut headers = HeaderMap::new();
        headers.insert(KEY_HEADER, HeaderValue::from_bytes(b"caf\xc3\xa9").unwrap());
        assert_eq!(idempotency_key(&headers).unwrap_err().status, 400);
    }

    #[test]
    fn fingerprints_differ_by_method_target_and_body() {
        let base = fingerprint(&Method::POST, "/api/v1/orders", b"{}");
        assert_eq!(base.len(), 64);
        assert!(base.bytes().all(|b| b.is_ascii_hexdigit()));
        assert_eq!(base, fingerprint(&Method::POST, "/api/v1/orders", b"{}"));
        assert_ne!(base, fingerprint(&Method::PUT, "/api/v1/orders", b"{}"));
        assert_ne!(
            base,
            fingerprint(&Method::POST, "/api/v1/orders?x=1", b"{}")
        );
        assert_ne!(base, fingerprint(&Method::POST, "/api/v1/orders", b"{ }"));
        // Framed as "POST\n/\n" plus the (empty) body.
        assert_eq!(
            fingerprint(&Method::POST, "/", b""),
            "34328eb739983cd49311d0247d3d36a504ff22d7954f86b0992ae0c4c805c774"
        );
    }

    #[test]
    fn scopes_name_tenant_subject_and_route() {
        assert_eq!(
            scope("acme", "user:u1", &Method::POST, "/api/v1/orders"),
            "acme:user:u1:POST /api/v1/orders"
        );
    }

    #[test]
    fn replays_carry_status_headers_body_and_the_new_request_id() {
        let mut headers = HeaderMap::new();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        headers.insert(
            header::LOCATION,
            HeaderValue::from_static("/api/v1/orders/o1"),
        );
        let stored = StoredResponse::capture(
            StatusCode::CREATED,
            &headers,
            Bytes::from_static(b"{\"id\":\"o1\"}"),
        );
        let response = stored.replay("req-2");
        assert_eq!(response.status(), 201);
        let h = response.headers();
        assert_eq!(h[header::CONTENT_TYPE], "application/json");
        assert_eq!(h[header::LOCATION], "/api/v1/orders/o1");
        assert_eq!(h[REPLAYED_HEADER], "true");
        assert_eq!(h[request_id::HEADER], "req-2");
        assert_eq!(crate::http::tests::body_json(response)["id"], "o1");
    }

    #[cfg(feature = "native-sqlite")]
    mod records {
        use super::super::*;
        use crate::db::{NativeSqlite, migrate};
        use futures::executor::block_on;

        const T0: i64 = 1_750_000_000_000;
        const SCOPE: &str = "acme:user:u1:POST /api/v1/orders";

        fn store() -> NativeSqlite {
            let db = NativeSqlite::open_in_memory().unwrap();
            block_on(migrate(&db, "orders", &[IDEMPOTENCY_MIGRATION])).unwrap();
            db
        }

        fn created() -> StoredResponse {
            StoredResponse {
                status: 201,
                content_type: Some("application/json".into()),
                location: Some("/api/v1/orders/o1".into()),
                body: Bytes::from_static(b"{\"id\":\"o1\"}\xff"),
            }
        }

        fn claim_at(db: &NativeSqlite, scope: &str, fingerprint: &str, now: i64) -> Claim {
            block_on(claim(db, scope, "k1", fingerprint, now)).unwrap()
        }

        #[test]
        fn the_first_claim_proceeds_and_a_concurrent_one_waits() {
            let db = store();
            assert_eq!(claim_at(&db, SCOPE, "f1", T0), Claim::Proceed);
            assert_eq!(claim_at(&db, SCOPE, "f1", T0 + 10), Claim::InProgress);
            assert_eq!(claim_at(&db, SCOPE, "f2", T0 + 10), Claim::Mismatch);
        }

        #[test]
        fn a_completed_request_is_replayed_to_the_same_request_only() {
            let db = store();
            assert_eq!(claim_at(&db, SCOPE, "f1", T0), Claim::Proceed);
            block_on(complete(&db, SCOPE, "k1", &created())).unwrap();
            assert_eq!(
                claim_at(&db, SCOPE, "f1", T0 + 1000),
                Claim::Replay(created())
            );
            assert_eq!(claim_at(&db, SCOPE, "f2", T0 + 1000), Claim::Mismatch);
        }

        #[test]
        fn a_released_claim_lets_the_retry_run() {
            let db = store();
            assert_eq!(claim_at(&db, SCOPE, "f1", T0), Claim::Proceed);
            block_on(release(&db, SCOPE, "k1")).unwrap();
            assert_eq!(claim_at(&db, SCOPE, "f2", T0 + 10), Claim::Proceed);
            // Release never drops a completed record.
            block_on(complete(&db, SCOPE, "k1", &created())).unwrap();
            block_on(release(&db, SCOPE, "k1")).unwrap();
            assert!(matches!(
                claim_at(&db, SCOPE, "f2", T0 + 20),
                Claim::Replay(_)
            ));
        }

        #[test]
        fn records_expire_after_a_day_and_abandoned_claims_after_five_minutes() {
            let db = store();
            assert_eq!(claim_at(&db, SCOPE, "f1", T0), Claim::Proceed);
            assert_eq!(
                claim_at(&db, SCOPE, "f1", T0 + ABANDONED_AFTER_MS - 1),
                Claim::InProgress
            );
            assert_eq!(
                claim_at(&db, SCOPE, "f2", T0 + ABANDONED_AFTER_MS),
                Claim::Proceed
            );
            let later = T0 + ABANDONED_AFTER_MS;
            block_on(complete(&db, SCOPE, "k1", &created())).unwrap();
            assert!(matches!(
                claim_at(&db, SCOPE, "f2", later + RETAIN_MS - 1),
                Claim::Replay(_)
            ));
            assert_eq!(
                claim_at(&db, SCOPE, "f3", later + RETAIN_MS),
                Claim::Proceed
            );
        }

        #[test]
        fn a_claim_abandoned_after_its_request_committed_is_never_taken_over() {
            let db = store();
            assert_eq!(claim_at(&db, SCOPE, "f1", T0), Claim::Proceed);
            let claimed = ClaimedKey {
                scope: SCOPE.into(),
                key: "k1".into(),
            };
            block_on(mark_committed(&db, &claimed)).unwrap();
            // Still running, as far as anyone can tell; then dead, its answer lost.
            assert_eq!(claim_at(&db, SCOPE, "f1", T0 + 10), Claim::InProgress);
            let abandoned = T0 + ABANDONED_AFTER_MS;
            assert_eq!(claim_at(&db, SCOPE, "f1", abandoned), Claim::Interrupted);
            assert_eq!(
                claim_at(&db, SCOPE, "f1", abandoned + 60_000),
                Claim::Interrupted
            );
            // The request's own answer, had it come, still completes the record.
            block_on(complete(&db, SCOPE, "k1", &created())).unwrap();
            assert!(matches!(
                claim_at(&db, SCOPE, "f1", abandoned),
                Claim::Replay(_)
            ));
        }

        #[test]
        fn one_key_in_two_scopes_names_two_requests() {
            let db = store();
            let other = "acme:user:u2:POST /api/v1/orders";
            assert_eq!(claim_at(&db, SCOPE, "f1", T0), Claim::Proceed);
            assert_eq!(claim_at(&db, other, "f2", T0), Claim::Proceed);
            block_on(complete(&db, SCOPE, "k1", &created())).unwrap();
            assert_eq!(claim_at(&db, other, "f2", T0 + 1), Claim::InProgress);
        }
    }
}
