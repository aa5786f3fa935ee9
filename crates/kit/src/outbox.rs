//! The transactional outbox and the inbox of applied events.
//!
//! An event is a row of `outbox` written in the same transaction as the change that
//! causes it, together with one `outbox_deliveries` row per subscriber (see
//! [`crate::wiring::SUBSCRIPTIONS`]). A dispatcher claims due deliveries ([`claim_due`]), sends them and
//! records the outcome ([`record_delivered`], [`record_failure`]): failures are retried
//! with [`backoff`] and after [`MAX_ATTEMPTS`] become dead letters, which an admin lists
//! ([`dead_letters`]) and replays ([`replay`]). A handler applies an event through
//! [`apply_once`], which records the event id in the same transaction as the effect,
//! so a redelivery changes nothing.

use crate::db::{Db, DbError, Dialect, Migration, Row, SqlValue, transaction};
use crate::wiring::subscribers;
use contracts::Envelope;
use serde::Serialize;

const CREATE_OUTBOX: &str = "\
CREATE TABLE IF NOT EXISTS outbox (
    id TEXT PRIMARY KEY,
    topic TEXT NOT NULL,
    tenant TEXT NOT NULL,
    payload TEXT NOT NULL,
    created_at TEXT NOT NULL,
    attempts BIGINT NOT NULL DEFAULT 0,
    next_attempt_at TEXT NOT NULL,
    status TEXT NOT NULL DEFAULT 'pending',
    last_error TEXT
);
CREATE INDEX IF NOT EXISTS outbox_due ON outbox (status, next_attempt_at);
";

/// The `outbox` table; each context lists it in its own migrations, so the table lives
/// beside the context's tables (same SQLite label / Postgres schema, same transaction).
pub const MIGRATION: Migration = Migration {
    name: "kit_0001_outbox",
    sqlite: CREATE_OUTBOX,
    postgres: CREATE_OUTBOX,
};

/// Delivery state moves from the event to one row per subscriber, so one subscriber's
/// failure neither holds back nor repeats another's delivery. Times are Unix
/// milliseconds, which compare as numbers in both dialects.
const CREATE_DELIVERIES: &str = "\
DROP INDEX IF EXISTS outbox_due;
ALTER TABLE outbox DROP COLUMN attempts;
ALTER TABLE outbox DROP COLUMN next_attempt_at;
ALTER TABLE outbox DROP COLUMN status;
ALTER TABLE outbox DROP COLUMN last_error;
CREATE TABLE outbox_deliveries (
    id TEXT PRIMARY KEY,
    event_id TEXT NOT NULL,
    position BIGINT NOT NULL,
    subscriber TEXT NOT NULL,
    topic TEXT NOT NULL,
    tenant TEXT NOT NULL,
    payload TEXT NOT NULL,
    status TEXT NOT NULL,
    attempts BIGINT NOT NULL,
    next_attempt_at BIGINT NOT NULL,
    last_error TEXT,
    updated_at BIGINT NOT NULL,
    UNIQUE (event_id, subscriber)
);
CREATE INDEX outbox_deliveries_due ON outbox_deliveries (status, next_attempt_at);
CREATE TABLE applied_events (
    subscriber TEXT NOT NULL,
    event_id TEXT NOT NULL,
    applied_at BIGINT NOT NULL,
    PRIMARY KEY (subscriber, event_id)
);
";

/// Per-subscriber deliveries and the inbox of applied events; listed after
/// [`MIGRATION`] by every context that emits or handles events.
pub const DELIVERIES_MIGRATION: Migration = Migration {
    name: "kit_0002_deliveries",
    sqlite: CREATE_DELIVERIES,
    postgres: CREATE_DELIVERIES,
};

/// Counters of the outbox that outlive the rows they count (retention trims those):
/// `retried`, the failed attempts that were tried again.
pub const COUNTERS_MIGRATION: Migration = Migration {
    name: "kit_0003_outbox_counters",
    sqlite: CREATE_COUNTERS,
    postgres: CREATE_COUNTERS,
};

const CREATE_COUNTERS: &str = "\
CREATE TABLE outbox_counters (
    name TEXT PRIMARY KEY,
    value BIGINT NOT NULL
);
";

/// A context's outbox at a glance, for its metrics.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Gauges {
    /// Deliveries waiting (the bus's included).
    pub pending: i64,
    /// When the oldest waiting delivery's event was written (Unix milliseconds, from its
    /// UUIDv7 id).
    pub oldest_pending_ms: Option<i64>,
    pub dead: i64,
    /// Failed attempts tried again, ever.
    pub retried: i64,
}

/// When the event of UUIDv7 `id` was written, in Unix milliseconds.
fn written_at_ms(id: &str) -> Option<i64> {
    let (seconds, nanos) = uuid::Uuid::parse_str(id).ok()?.get_timestamp()?.to_unix();
    i64::try_from(seconds)
        .ok()?
        .checked_mul(1_000)?
        .checked_add(i64::from(nanos / 1_000_000))
}

pub async fn gauges<D: Db>(db: &D) -> Result<Gauges, DbError> {
    let rows = db
        .query(
            "SELECT (SELECT COUNT(*) FROM outbox_deliveries WHERE status = 'pending'), \
             (SELECT MIN(event_id) FROM outbox_deliveries WHERE status = 'pending'), \
             (SELECT COUNT(*) FROM outbox_deliveries WHERE status = 'dead'), \
             (SELECT COALESCE(MAX(value), 0) FROM outbox_counters WHERE name = 'retried')",
            &[],
        )
        .await?;
    let row = rows
        .first()
        .ok_or_else(|| DbError::Other("the gauges query answered no row".into()))?;
    Ok(Gauges {
        pending: row.get_i64(0)?,
        oldest_pending_ms: row.get_opt_str(1)?.and_then(written_at_ms),
        dead: row.get_i64(2)?,
        retried: row.get_i64(3)?,
    })
}

/// How events leave their context (the `event_transport` variable).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transport {
    /// `http`, the embedded default: a delivery per subscriber, dispatched by the writer
    /// after its commit to `http://<subscriber>.spin.internal`.
    Http,
    /// `kafka` or `redis` (Streams): one delivery per event, to [`BUS`]; the bridge
    /// process claims it through the ops relay, publishes the event to its topic, and the
    /// bus's consumer groups (one per handler) deliver it.
    Bus,
}

impl Transport {
    /// The `event_transport` variable's value; empty is the default, `http`.
    pub fn from_variable(value: &str) -> Result<Self, String> {
        match value.trim() {
            "" | "http" => Ok(Transport::Http),
            "kafka" | "redis" => Ok(Transport::Bus),
            other => Err(format!(
                "event_transport is {other:?}; it must be http, kafka or redis"
            )),
        }
    }
}

/// Where the `http` transport sends a delivery (the `event_handlers_origin` variable),
/// which components also list in `allowed_outbound_hosts`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HandlerOrigin {
    /// `http://*.spin.internal`, the default: service chaining, each handler at
    /// `http://<handler>.spin.internal/`.
    Chaining,
    /// `http://self` or `https://self`: the app's own origin (a Spin "self" request, to
    /// `http://self.alt`), at the handler's signed `/events/<handler>` route.
    SelfRequest,
    /// An absolute origin (`https://shop.example`): the app as the world reaches it, at
    /// `<origin>/events/<handler>` — for platforms without service chaining.
    Public(String),
}

impl HandlerOrigin {
    const CHAINING: &str = "http://*.spin.internal";

    pub fn from_variable(value: &str) -> Result<Self, String> {
        let value = value.trim().trim_end_matches('/');
        match value {
            "" | Self::CHAINING => return Ok(HandlerOrigin::Chaining),
            "http://self" | "https://self" => return Ok(HandlerOrigin::SelfRequest),
            _ => {}
        }
        let refused = || {
            format!(
                "event_handlers_origin is {value:?}; it must be {}, http(s)://self, \
                or the app's origin (scheme://host[:port], no path)",
                Self::CHAINING
            )
        };
        let (scheme, authority) = value.split_once("://").ok_or_else(refused)?;
        let plain_authority = !authority.is_empty()
            && !authority.contains(['/', '?', '#', '*', '@'])
            && !authority.contains(char::is_whitespace);
        if !["http", "https"].contains(&scheme) || !plain_authority {
            return Err(refused());
        }
        Ok(HandlerOrigin::Public(value.to_owned()))
    }

    /// The URL a delivery to `handler` is posted to.
    pub fn url(&self, handler: &str) -> String {
        match self {
            HandlerOrigin::Chaining => format!("http://{handler}.spin.internal/"),
            // Spin's name for the app itself: a relative URL would have no authority,
            // which wasi-http refuses.
            HandlerOrigin::SelfRequest => format!("http://self.alt/events/{handler}"),
            HandlerOrigin::Public(origin) => format!("{origin}/events/{handler}"),
        }
    }
}

/// The content type of one event's delivery to a handler (CloudEvents structured mode).
pub const EVENT_CONTENT_TYPE: &str = "application/cloudevents+json";

/// The content type of a batch delivery to a handler (the CloudEvents HTTP binding's
/// batched mode): a JSON array of events, applied in order, each once and in its own
/// transaction, the whole signed as one body. The first event that fails ends the batch
/// with that event's answer (503 or 422); those before it stay applied, so a sender may
/// deliver the batch again, or its events one by one, without applying any twice.
pub const BATCH_CONTENT_TYPE: &str = "application/cloudevents-batch+json";

/// The recipient of an event's one delivery under [`Transport::Bus`]: the bridge's
/// relay, which publishes it (to its topic, whether or not a handler of ours reads it).
pub const BUS: &str = "bus";

/// Whether a subscriber's HTTP `status` refuses the event itself, so retrying cannot
/// help (a dead letter at once): a 4xx, except a timeout, a rate limit, and a refused
/// signature (a key being rotated is the deployment's fault, not the event's).
pub fn refuses_the_event(status: u16) -> bool {
    (400..500).contains(&status) && ![401, 408, 429].contains(&status)
}

/// Failed attempts after which a delivery becomes a dead letter.
pub const MAX_ATTEMPTS: i64 = 8;

/// How long a claimed delivery is reserved for its dispatcher; a dispatcher that dies
/// mid-send leaves it to the next sweep after this long.
pub const LEASE_MS: i64 = 30_000;

/// The wait before the next attempt after `failures` failed ones: 250 ms, 1 s, 4 s,
/// 16 s, ... (×4 each time), at most an hour. The first two retries are quick enough
/// for the dispatcher to wait for them in the same request.
pub fn backoff(failures: i64) -> i64 {
    let exponent = u32::try_from(failures.clamp(1, 12) - 1).unwrap_or(0);
    (250_i64 * 4_i64.pow(exponent)).min(3_600_000)
}

/// Milliseconds since the Unix epoch.
pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |elapsed| {
            i64::try_from(elapsed.as_millis()).unwrap_or(i64::MAX)
        })
}

/// Writes `envelope` to the outbox with a due delivery per subscriber of its type.
/// Call it inside the `transaction` that makes the change, so neither exists without
/// the other. An envelope without a trace context gets the one being served.
pub async fn enqueue<D: Db, T: Serialize>(db: &D, envelope: &Envelope<T>) -> Result<(), DbError> {
    let transport = db.transport().await?;
    let recipients = match transport {
        Transport::Http => subscribers(&envelope.event_type),
        Transport::Bus => &[BUS],
    };
    let payload = match &envelope.traceparent {
        Some(_) => serde_json::to_string(envelope),
        None => serde_json::to_string(&Traced {
            envelope,
            context: crate::trace::current(),
        }),
    }
    .map_err(|error| {
        DbError::Other(format!("event {} does not serialize: {error}", envelope.id))
    })?;
    db.execute(
        "INSERT INTO outbox (id, topic, tenant, payload, created_at) VALUES ($1, $2, $3, $4, $5)",
        &[
            envelope.id.as_str().into(),
            envelope.event_type.as_str().into(),
            envelope.tenant.as_str().into(),
            payload.as_str().into(),
            envelope.time.as_str().into(),
        ],
    )
    .await?;
    let now = now_ms();
    for (position, subscriber) in (0_i64..).zip(recipients) {
        db.execute(
            "INSERT INTO outbox_deliveries (id, event_id, position, subscriber, topic, tenant, \
             payload, status, attempts, next_attempt_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, 'pending', 0, $8, $8)",
            &[
                uuid::Uuid::now_v7().to_string().into(),
                envelope.id.as_str().into(),
                position.into(),
                (*subscriber).into(),
                envelope.event_type.as_str().into(),
                envelope.tenant.as_str().into(),
                payload.as_str().into(),
                now.into(),
            ],
        )
        .await?;
    }
    if transport == Transport::Http && !recipients.is_empty() {
        db.deliveries_enqueued();
    }
    Ok(())
}

/// An envelope with the trace context it lacked.
#[derive(Serialize)]
struct Traced<'a, T> {
    #[serde(flatten)]
    envelope: &'a Envelope<T>,
    #[serde(flatten)]
    context: crate::trace::TraceContext,
}

/// One event on its way to one subscriber. The bridge's relay gets these as JSON, and
/// names them back by their claim alone (`id`, `attempts`, `lease_until`: all that
/// recording an outcome reads), so a settle stays small whatever the events weigh.
#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct Delivery {
    pub id: String,
    #[serde(default)]
    pub event_id: String,
    #[serde(default)]
    pub subscriber: String,
    #[serde(default)]
    pub topic: String,
    /// The CloudEvents envelope as JSON text, sent as the request body.
    #[serde(default)]
    pub payload: String,
    /// Failed attempts so far.
    pub attempts: i64,
    /// The end of this claim's lease (Unix ms): it names the claim, so an outcome is
    /// recorded only while no later claim replaced it.
    pub lease_until: i64,
}

const DELIVERY_COLUMNS: &str =
    "id, event_id, subscriber, topic, payload, attempts, next_attempt_at, position";

fn delivery(row: &Row) -> Result<(Delivery, i64), DbError> {
    Ok((
        Delivery {
            id: row.get_str(0)?.to_owned(),
            event_id: row.get_str(1)?.to_owned(),
            subscriber: row.get_str(2)?.to_owned(),
            topic: row.get_str(3)?.to_owned(),
            payload: row.get_str(4)?.to_owned(),
            attempts: row.get_i64(5)?,
            lease_until: row.get_i64(6)?,
        },
        row.get_i64(7)?,
    ))
}

/// Claims up to `limit` due deliveries to handlers for [`LEASE_MS`], oldest event first
/// and each event's subscribers in [`crate::wiring::SUBSCRIPTIONS`] order. Two concurrent
/// dispatchers claim disjoint sets: on PostgreSQL the candidates are locked with `SKIP
/// LOCKED`, so concurrent claims pass each other instead of deadlocking on rows they
/// lock in different orders; SQLite runs one writer at a time.
pub async fn claim_due<D: Db>(db: &D, now: i64, limit: i64) -> Result<Vec<Delivery>, DbError> {
    claim(db, &format!("subscriber <> '{BUS}'"), now, limit).await
}

/// [`claim_due`] for the bridge's relay: every due delivery, those to [`BUS`] (which it
/// publishes) and those to a handler (which it hands to the handler itself): a replayed
/// dead letter, or one left by the `http` transport before a switch to a bus.
pub async fn claim_for_bus<D: Db>(db: &D, now: i64, limit: i64) -> Result<Vec<Delivery>, DbError> {
    claim(db, "TRUE", now, limit).await
}

async fn claim<D: Db>(
    db: &D,
    recipients: &str,
    now: i64,
    limit: i64,
) -> Result<Vec<Delivery>, DbError> {
    let due = format!(
        "FROM outbox_deliveries WHERE status = 'pending' AND next_attempt_at <= $2 \
         AND {recipients} ORDER BY next_attempt_at, event_id, position LIMIT $3"
    );
    let sql = match db.dialect() {
        // The candidates are chosen and locked once, then updated by their rows'
        // addresses. Against `id IN (<locked subquery>)` a planner whose statistics
        // predate a backlog (a table analyzed while small) ran the subquery again for
        // every due row: seconds per claim, and more rows claimed than the limit.
        Dialect::Postgres => format!(
            "UPDATE outbox_deliveries SET next_attempt_at = $1, updated_at = $2 \
             WHERE ctid = ANY(ARRAY(SELECT ctid {due} FOR UPDATE SKIP LOCKED)) \
             RETURNING {DELIVERY_COLUMNS}"
        ),
        // One writer at a time: the statement is the claim.
        Dialect::Sqlite => format!(
            "UPDATE outbox_deliveries SET next_attempt_at = $1, updated_at = $2 \
             WHERE id IN (SELECT id {due}) RETURNING {DELIVERY_COLUMNS}"
        ),
    };
    let rows = db
        .query(&sql, &[(now + LEASE_MS).into(), now.into(), limit.into()])
        .await?;
    let mut claimed = rows.iter().map(delivery).collect::<Result<Vec<_>, _>>()?;
    claimed.sort_by(|(a, a_position), (b, b_position)| {
        (&a.event_id, a_position).cmp(&(&b.event_id, b_position))
    });
    Ok(claimed.into_iter().map(|(delivery, _)| delivery).collect())
}

/// The subscribers took these deliveries: each is recorded unless its claim was lost
/// (its lease ran out and another dispatcher claimed the delivery, whose outcome
/// stands). One statement per claim (deliveries claimed together share their lease);
/// returns the deliveries whose claim was lost.
pub async fn record_delivered<'a, D: Db>(
    db: &D,
    delivered: &[&'a Delivery],
    now: i64,
) -> Result<Vec<&'a Delivery>, DbError> {
    let mut leases: Vec<i64> = delivered.iter().map(|d| d.lease_until).collect();
    leases.sort_unstable();
    leases.dedup();
    let mut recorded = std::collections::HashSet::new();
    for lease_until in leases {
        let ids: Vec<&str> = delivered
            .iter()
            .filter(|d| d.lease_until == lease_until)
            .map(|d| d.id.as_str())
            .collect();
        let placeholders = (3..ids.len() + 3)
            .map(|n| format!("${n}"))
            .collect::<Vec<_>>()
            .join(", ");
        let mut params: Vec<SqlValue> = vec![now.into(), lease_until.into()];
        params.extend(ids.iter().map(|&id| id.into()));
        let rows = db
            .query(
                &format!(
                    "UPDATE outbox_deliveries SET status = 'delivered', last_error = NULL, \
                     updated_at = $1 WHERE status = 'pending' AND next_attempt_at = $2 \
                     AND id IN ({placeholders}) RETURNING id"
                ),
                &params,
            )
            .await?;
        for row in &rows {
            recorded.insert(row.get_str(0)?.to_owned());
        }
    }
    Ok(delivered
        .iter()
        .copied()
        .filter(|d| !recorded.contains(&d.id))
        .collect())
}

/// What became of a failed delivery.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AfterFailure {
    /// Pending again, due at this Unix millisecond.
    RetryAt(i64),
    /// A dead letter: permanently refused, or out of attempts.
    Dead,
    /// Not recorded: the claim was lost to a later one, whose outcome stands.
    ClaimLost,
}

/// Records a failed attempt of `delivery`, unless its claim was lost (see
/// [`record_delivered`]). A `permanent` failure (the subscriber refused the event
/// itself, a 4xx) is dead at once; others retry after [`backoff`] until
/// [`MAX_ATTEMPTS`].
pub async fn record_failure<D: Db>(
    db: &D,
    delivery: &Delivery,
    error: &str,
    permanent: bool,
    now: i64,
) -> Result<AfterFailure, DbError> {
    let attempts = delivery.attempts + 1;
    let outcome = if permanent || attempts >= MAX_ATTEMPTS {
        AfterFailure::Dead
    } else {
        AfterFailure::RetryAt(now + backoff(attempts))
    };
    let (status, next_attempt_at) = match outcome {
        AfterFailure::RetryAt(at) => ("pending", at),
        _ => ("dead", now),
    };
    // The outcome and the retry it counts commit together: a busy store retries both.
    crate::db::transaction(db, async |db| {
        let changed = db
            .execute(
                "UPDATE outbox_deliveries SET status = $2, attempts = $3, next_attempt_at = $4, \
                 last_error = $5, updated_at = $6 \
                 WHERE id = $1 AND status = 'pending' AND next_attempt_at = $7",
                &[
                    delivery.id.as_str().into(),
                    status.into(),
                    attempts.into(),
                    next_attempt_at.into(),
                    error.into(),
                    now.into(),
                    delivery.lease_until.into(),
                ],
            )
            .await?;
        if changed != 1 {
            return Ok(AfterFailure::ClaimLost);
        }
        if let AfterFailure::RetryAt(_) = outcome {
            db.execute(
                "INSERT INTO outbox_counters (name, value) VALUES ('retried', 1) \
                 ON CONFLICT (name) DO UPDATE SET value = outbox_counters.value + 1",
                &[],
            )
            .await?;
        }
        Ok(outcome)
    })
    .await
}

/// Records that `handler` gave up on `event` (the CloudEvent as JSON text, of type
/// `topic` and tenant `tenant`) on the bus, after `attempts` tries, as a dead letter of
/// the handler's own store, where the dead-letter list and replay find it; replayed, the
/// relay hands it to the handler alone. `false` when the same event is already a dead
/// letter (or replayed) for that handler: a bridge that reports twice records once.
pub async fn record_bus_dead_letter<D: Db>(
    db: &D,
    event: &BusEvent<'_>,
    handler: &str,
    error: &str,
    attempts: i64,
    now: i64,
) -> Result<bool, DbError> {
    let position = subscribers(event.topic)
        .iter()
        .position(|known| *known == handler)
        .and_then(|position| i64::try_from(position).ok())
        .unwrap_or(0);
    let recorded = db
        .execute(
            "INSERT INTO outbox_deliveries (id, event_id, position, subscriber, topic, tenant, \
             payload, status, attempts, next_attempt_at, last_error, updated_at) \
             SELECT $1, $2, $3, $4, $5, $6, $7, 'dead', $8, $9, $10, $9 \
             WHERE NOT EXISTS (SELECT 1 FROM outbox_deliveries \
                 WHERE event_id = $2 AND subscriber = $4 AND status IN ('dead', 'pending'))",
            &[
                uuid::Uuid::now_v7().to_string().into(),
                event.id.into(),
                position.into(),
                handler.into(),
                event.topic.into(),
                event.tenant.into(),
                event.payload.into(),
                attempts.into(),
                now.into(),
                error.into(),
            ],
        )
        .await?;
    Ok(recorded == 1)
}

/// An event as the bus carried it: what a dead letter of it records.
#[derive(Debug, Clone, Copy)]
pub struct BusEvent<'a> {
    pub id: &'a str,
    pub topic: &'a str,
    pub tenant: &'a str,
    /// The CloudEvent, structured, as JSON text.
    pub payload: &'a str,
}

/// A delivery that gave up, as the admin API shows it.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct DeadLetter {
    pub id: String,
    pub event_id: String,
    pub topic: String,
    pub subscriber: String,
    pub attempts: i64,
    pub last_error: Option<String>,
    /// Unix milliseconds of the last attempt.
    pub failed_at: i64,
    /// The event as it was sent.
    #[schema(value_type = Object)]
    pub event: serde_json::Value,
}

/// The tenant's dead letters with ids after `after`, in id order, at most `limit`.
pub async fn dead_letters<D: Db>(
    db: &D,
    tenant: &str,
    after: Option<&str>,
    limit: i64,
) -> Result<Vec<DeadLetter>, DbError> {
    let rows = db
        .query(
            "SELECT id, event_id, topic, subscriber, attempts, last_error, updated_at, payload \
             FROM outbox_deliveries WHERE status = 'dead' AND tenant = $1 AND id > $2 \
             ORDER BY id LIMIT $3",
            &[
                tenant.into(),
                after.unwrap_or_default().into(),
                limit.into(),
            ],
        )
        .await?;
    rows.iter()
        .map(|row| {
            Ok(DeadLetter {
                id: row.get_str(0)?.to_owned(),
                event_id: row.get_str(1)?.to_owned(),
                topic: row.get_str(2)?.to_owned(),
                subscriber: row.get_str(3)?.to_owned(),
                attempts: row.get_i64(4)?,
                last_error: row.get_opt_str(5)?.map(str::to_owned),
                failed_at: row.get_i64(6)?,
                event: serde_json::from_str(row.get_str(7)?)
                    .map_err(|error| DbError::Other(format!("stored event: {error}")))?,
            })
        })
        .collect()
}

/// Makes the tenant's dead letter `id` due again with a fresh attempt count; `false`
/// when there is no such dead letter.
pub async fn replay<D: Db>(
    db: &D,
    tenant: &str,
    id: &str,
    now: i64,
    retention: &Retention,
) -> Result<Replay, DbError> {
    let changed = db
        .execute(
            "UPDATE outbox_deliveries SET status = 'pending', attempts = 0, next_attempt_at = $3, \
             updated_at = $3 WHERE id = $1 AND tenant = $2 AND status = 'dead' AND updated_at > $4",
            &[
                id.into(),
                tenant.into(),
                now.into(),
                (now - retention.replay_window_ms()).into(),
            ],
        )
        .await?;
    if changed == 1 {
        return Ok(Replay::Replayed);
    }
    let dead = db
        .query(
            "SELECT 1 FROM outbox_deliveries WHERE id = $1 AND tenant = $2 AND status = 'dead'",
            &[id.into(), tenant.into()],
        )
        .await?;
    Ok(if dead.is_empty() {
        Replay::NoSuchDeadLetter
    } else {
        Replay::TooOld
    })
}

/// What a replay did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Replay {
    /// Pending again, due now.
    Replayed,
    /// No dead letter of that id in this tenant and store.
    NoSuchDeadLetter,
    /// Dead longer than [`Retention::replay_window_ms`]: its subscriber may no longer
    /// remember whether it applied the event, so a replay could apply it twice.
    TooOld,
}

const DAY_MS: i64 = 24 * 60 * 60 * 1000;

/// How long a context's store keeps outbox rows it no longer needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Retention {
    /// Delivered deliveries, and events none of whose deliveries is left.
    pub delivered_ms: i64,
    /// Applied-event records, which make a redelivery a no-op. Dead letters replay only
    /// within this span less a day (a delivery dies within two hours of its event), so
    /// no replay outlives the record of its event.
    pub applied_ms: i64,
}

impl Retention {
    pub const DEFAULT: Retention = Retention {
        delivered_ms: 7 * DAY_MS,
        applied_ms: 30 * DAY_MS,
    };

    /// The periods in days from the variables `retention_delivered_days` and
    /// `retention_applied_days` (empty: the default); the error names the variable.
    pub fn from_days(delivered: Option<&str>, applied: Option<&str>) -> Result<Self, String> {
        let days = |name: &str, value: Option<&str>, default_ms: i64, least: i64| match value
            .map(str::trim)
            .filter(|value| !value.is_empty())
        {
            None => Ok(default_ms),
            Some(value) => match value.parse::<i64>() {
                Ok(days) if days >= least => Ok(days * DAY_MS),
                _ => Err(format!(
                    "{name} must be a whole number of days, at least {least}"
                )),
            },
        };
        Ok(Self {
            delivered_ms: days(
                "retention_delivered_days",
                delivered,
                Self::DEFAULT.delivered_ms,
                1,
            )?,
            applied_ms: days(
                "retention_applied_days",
                applied,
                Self::DEFAULT.applied_ms,
                2,
            )?,
        })
    }

    /// How long a dead letter may still be replayed.
    pub fn replay_window_ms(&self) -> i64 {
        self.applied_ms - DAY_MS
    }
}

/// What a retention pass removed from one store.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Retained {
    pub deliveries: u64,
    pub events: u64,
    pub applied_events: u64,
}

/// Removes what the store no longer needs (see [`Retention`]): delivered deliveries
/// and the events they carried, and old applied-event records. Pending and dead
/// deliveries stay, and so do their events.
pub async fn retain<D: Db>(db: &D, now: i64, retention: &Retention) -> Result<Retained, DbError> {
    let delivered_before = now - retention.delivered_ms;
    let deliveries = db
        .execute(
            "DELETE FROM outbox_deliveries WHERE status = 'delivered' AND updated_at < $1",
            &[delivered_before.into()],
        )
        .await?;
    let events = db
        .execute(
            "DELETE FROM outbox WHERE created_at < $1 AND NOT EXISTS \
             (SELECT 1 FROM outbox_deliveries WHERE outbox_deliveries.event_id = outbox.id)",
            &[contracts::rfc3339_at_ms(delivered_before).into()],
        )
        .await?;
    let applied_events = db
        .execute(
            "DELETE FROM applied_events WHERE applied_at < $1",
            &[(now - retention.applied_ms).into()],
        )
        .await?;
    Ok(Retained {
        deliveries,
        events,
        applied_events,
    })
}

/// Why an event handler did not apply an event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HandlerError {
    /// Worth retrying later (a store or a provider unavailable): answered 503.
    Retry(String),
    /// The event can never be applied (it names nothing this context knows): answered
    /// 422, which the dispatcher dead-letters at once.
    Refuse(String),
}

impl From<DbError> for HandlerError {
    fn from(error: DbError) -> Self {
        HandlerError::Retry(error.to_string())
    }
}

/// Runs `effect` in a transaction that also records `event_id` as applied by
/// `subscriber`; when it already was, nothing runs and the answer is `None`. The record
/// and the effect commit or roll back together, so redelivery is a no-op and a failed
/// effect stays retryable.
pub async fn apply_once<D: Db, T, E: From<DbError>>(
    db: &D,
    subscriber: &str,
    event_id: &str,
    effect: impl AsyncFnOnce(&D) -> Result<T, E>,
) -> Result<Option<T>, E> {
    transaction(db, async |db| {
        let recorded = db
            .execute(
                "INSERT INTO applied_events (subscriber, event_id, applied_at) VALUES ($1, $2, $3) \
                 ON CONFLICT (subscriber, event_id) DO NOTHING",
                &[
                    subscriber.into(),
                    event_id.into(),
                    SqlValue::Integer(now_ms()),
                ],
            )
            .await?;
        if recorded == 0 {
            return Ok(None);
        }
        effect(db).await.map(Some)
    })
    .await
}

/// [`apply_once`] for a handler that calls out (a payment provider) before it can
/// record: `call_out` runs first, outside any transaction, so no lock is held while the
/// other side answers; then `record` applies its answer once, in one transaction with
/// the event's id. A redelivery of an applied event does neither. `call_out` may run
/// again for the same event (a retry after a failure, or a crash before `record`), so
/// it must be safe to repeat: its own writes idempotent, its calls carrying the same
/// idempotency key.
pub async fn apply_once_calling_out<D: Db, P, T, E: From<DbError>>(
    db: &D,
    subscriber: &str,
    event_id: &str,
    call_out: impl AsyncFnOnce(&D) -> Result<P, E>,
    record: impl AsyncFnOnce(&D, P) -> Result<T, E>,
) -> Result<Option<T>, E> {
    let applied = db
        .query(
            "SELECT 1 FROM applied_events WHERE subscriber = $1 AND event_id = $2",
            &[subscriber.into(), event_id.into()],
        )
        .await?;
    if !applied.is_empty() {
        return Ok(None);
    }
    let answer = call_out(db).await?;
    apply_once(db, subscriber, event_id, async |db| {
        record(db, answer).await
    })
    .await
}

#[cfg(all(test, feature = "native-sqlite"))]
mod tests {
    use super::*;
    use crate::db::{NativeSqlite, migrate};
    use contracts::topics;
    use contracts::{OrderCancelled, ProductCreated};
    use futures::executor::block_on;

    /// A store whose events go to the bus (`event_transport` = `kafka`).
    struct BusStore(NativeSqlite);

    impl Db for BusStore {
        fn dialect(&self) -> Dialect {
            self.0.dialect()
        }
        async fn execute(&self, sql: &str, params: &[SqlValue]) -> Result<u64, DbError> {
            self.0.execute(sql, params).await
        }
        async fn query(&self, sql: &str, params: &[SqlValue]) -> Result<Vec<Row>, DbError> {
            self.0.query(sql, params).await
        }
        fn deliveries_enqueued(&self) {
            panic!("nothing is dispatched over HTTP on a bus");
        }
        async fn transport(&self) -> Result<Transport, DbError> {
            Ok(Transport::Bus)
        }
    }

    #[test]
    fn on_a_bus_every_event_is_one_delivery_to_the_relay() {
        let db = BusStore(store());
        let cancelled = cancelled();
        let unsubscribed = product_created();
        block_on(enqueue(&db, &cancelled)).unwrap();
        block_on(enqueue(&db, &unsubscribed)).unwrap();
        assert_eq!(count(&db.0, "SELECT COUNT(*) FROM outbox_deliveries"), 2);
        assert!(block_on(claim_due(&db, now_ms(), 10)).unwrap().is_empty());
        let relayed = block_on(claim_for_bus(&db, now_ms(), 10)).unwrap();
        let topics: Vec<&str> = relayed.iter().map(|d| d.topic.as_str()).collect();
        assert_eq!(topics, ["order.cancelled", "product.created"]);
        assert!(relayed.iter().all(|d| d.subscriber == BUS));
        // The relay also takes deliveries to handlers (left by `http` before a switch
        // to a bus, or replayed dead letters), and hands them to the handlers itself.
        let http = store();
        block_on(enqueue(&http, &cancelled)).unwrap();
        let relayed = block_on(claim_for_bus(&http, now_ms(), 10)).unwrap();
        assert_eq!(relayed.len(), 4);
        assert!(relayed.iter().all(|d| d.subscriber != BUS));
    }

    #[test]
    fn a_handler_giving_up_on_the_bus_is_a_dead_letter_once_and_replays_to_it_alone() {
        let db = BusStore(store());
        let event = cancelled();
        let payload = serde_json::to_string(&event).unwrap();
        let on_the_bus = BusEvent {
            id: &event.id,
            topic: &event.event_type,
            tenant: &event.tenant,
            payload: &payload,
        };
        let handler = "payments-on-order-cancelled";
        let now = now_ms();
        let record = || record_bus_dead_letter(&db, &on_the_bus, handler, "HTTP 422", 1, now);
        assert!(block_on(record()).unwrap());
        assert!(
            !block_on(record()).unwrap(),
            "a second report records nothing"
        );
        let letters = block_on(dead_letters(&db, "acme", None, 10)).unwrap();
        assert_eq!(letters.len(), 1);
        assert_eq!(
            (
                letters[0].subscriber.as_str(),
                letters[0].last_error.as_deref()
            ),
            (handler, Some("HTTP 422"))
        );
        assert_eq!(letters[0].event["id"], event.id);
        let replayed = replay(&db, "acme", &letters[0].id, now, &Retention::DEFAULT);
        assert_eq!(block_on(replayed).unwrap(), Replay::Replayed);
        assert!(!block_on(record()).unwrap(), "nor while it is replayed");
        let claimed = block_on(claim_for_bus(&db, now_ms(), 10)).unwrap();
        let to: Vec<&str> = claimed.iter().map(|d| d.subscriber.as_str()).collect();
        assert_eq!(to, [handler]);
    }

    #[test]
    fn the_transport_variable_names_http_or_kafka() {
        assert_eq!(Transport::from_variable(""), Ok(Transport::Http));
        assert_eq!(Transport::from_variable("http"), Ok(Transport::Http));
        assert_eq!(Transport::from_variable(" kafka "), Ok(Transport::Bus));
        assert_eq!(Transport::from_variable("redis"), Ok(Transport::Bus));
        let refused = Transport::from_variable("nats").unwrap_err();
        assert!(refused.contains("http, kafka or redis"), "{refused}");
    }

    #[test]
    fn a_handler_is_reached_by_chaining_by_the_apps_own_origin_or_its_public_one() {
        let url = |value: &str| HandlerOrigin::from_variable(value).map(|o| o.url("h"));
        assert_eq!(url(""), Ok("http://h.spin.internal/".to_owned()));
        assert_eq!(
            url("http://*.spin.internal"),
            Ok("http://h.spin.internal/".to_owned())
        );
        assert_eq!(
            url("https://self"),
            Ok("http://self.alt/events/h".to_owned())
        );
        assert_eq!(
            url(" https://shop.example:8443/ "),
            Ok("https://shop.example:8443/events/h".to_owned())
        );
        for refused in [
            "shop.example",
            "ftp://shop.example",
            "https://",
            "https://shop.example/api",
            "https://*.example",
            "https://user@shop.example",
        ] {
            let error = url(refused).unwrap_err();
            assert!(
                error.contains("event_handlers_origin"),
                "{refused}: {error}"
            );
        }
    }

    #[test]
    fn only_a_refusal_of_the_event_itself_is_permanent() {
        for status in [400, 404, 409, 422] {
            assert!(refuses_the_event(status), "{status}");
        }
        for status in [200, 401, 408, 429, 500, 503] {
            assert!(!refuses_the_event(status), "{status}");
        }
    }

    /// An event no handler of ours subscribes to.
    fn product_created() -> Envelope<ProductCreated> {
        let product = contracts::Product {
            id: "p1".into(),
            sku: "S".into(),
            name: "N".into(),
            slug: "n".into(),
            description: String::new(),
            price: 1,
            currency: "EUR".into(),
            category_id: None,
            brand: None,
            image_url: None,
            attributes_json: "{}".into(),
            active: true,
            created_at: "t".into(),
            updated_at: "t".into(),
            options: Vec::new(),
            variants: Vec::new(),
        };
        Envelope::new(
            "/components/catalog",
            "acme",
            "req-1",
            ProductCreated { product },
        )
    }

    fn cancelled() -> Envelope<OrderCancelled> {
        Envelope::new(
            "/components/orders-api",
            "acme",
            "req-1",
            OrderCancelled {
                order_id: "o1".into(),
                customer_id: "u1".into(),
                items: vec![],
                total: 100,
                currency: "EUR".into(),
                previous_status: "paid".into(),
                cancelled_by: "u1".into(),
                reason: None,
            },
        )
    }

    fn store() -> NativeSqlite {
        let db = NativeSqlite::open_in_memory().unwrap();
        let migrations = [MIGRATION, DELIVERIES_MIGRATION, COUNTERS_MIGRATION];
        block_on(migrate(&db, "orders", &migrations)).unwrap();
        db
    }

    fn count(db: &NativeSqlite, sql: &str) -> i64 {
        block_on(db.query(sql, &[])).unwrap()[0].get_i64(0).unwrap()
    }

    #[test]
    fn an_event_is_one_outbox_row_and_a_due_delivery_per_subscriber() {
        let db = store();
        let envelope = cancelled();
        block_on(transaction(&db, async |db| enqueue(db, &envelope).await)).unwrap();
        let rows =
            block_on(db.query("SELECT id, topic, tenant, payload FROM outbox", &[])).unwrap();
        assert_eq!(rows.len(), 1);
        assert_eq!(rows[0].get_str(0).unwrap(), envelope.id);
        let stored =
            Envelope::<OrderCancelled>::from_json(rows[0].get_str(3).unwrap().as_bytes()).unwrap();
        // Written in the trace being served (a new one here: no request came with one).
        let trace = crate::trace::current();
        assert_eq!(stored.traceparent.as_ref(), Some(&trace.traceparent));
        assert_eq!(
            stored,
            Envelope {
                traceparent: Some(trace.traceparent),
                ..envelope.clone()
            }
        );

        let claimed = block_on(claim_due(&db, now_ms(), 10)).unwrap();
        let order: Vec<_> = claimed.iter().map(|d| d.subscriber.as_str()).collect();
        assert_eq!(order, subscribers(topics::ORDER_CANCELLED));
        assert!(
            claimed
                .iter()
                .all(|d| d.event_id == envelope.id && d.attempts == 0)
        );
    }

    #[test]
    fn an_event_without_subscribers_is_only_recorded() {
        let db = store();
        let envelope = product_created();
        block_on(transaction(&db, async |db| enqueue(db, &envelope).await)).unwrap();
        assert_eq!(count(&db, "SELECT COUNT(*) FROM outbox"), 1);
        assert_eq!(count(&db, "SELECT COUNT(*) FROM outbox_deliveries"), 0);
    }

    #[test]
    fn a_rolled_back_transaction_leaves_no_event() {
        let db = store();
        let outcome: Result<(), DbError> = block_on(transaction(&db, async |db| {
            enqueue(db, &cancelled()).await?;
            Err(DbError::Other("the state change failed".into()))
        }));
        assert!(outcome.is_err());
        assert_eq!(count(&db, "SELECT COUNT(*) FROM outbox"), 0);
        assert_eq!(count(&db, "SELECT COUNT(*) FROM outbox_deliveries"), 0);
    }

    #[test]
    fn a_claimed_delivery_is_not_claimed_again_until_its_lease_ends() {
        let db = store();
        block_on(transaction(&db, async |db| enqueue(db, &cancelled()).await)).unwrap();
        let now = now_ms();
        let every_subscriber = subscribers(topics::ORDER_CANCELLED).len();
        assert_eq!(
            block_on(claim_due(&db, now, 10)).unwrap().len(),
            every_subscriber
        );
        assert!(block_on(claim_due(&db, now + 1, 10)).unwrap().is_empty());
        assert_eq!(
            block_on(claim_due(&db, now + LEASE_MS, 10)).unwrap().len(),
            every_subscriber
        );
    }

    #[test]
    fn delivered_deliveries_are_never_claimed_again() {
        let db = store();
        block_on(transaction(&db, async |db| enqueue(db, &cancelled()).await)).unwrap();
        let now = now_ms();
        let claimed = block_on(claim_due(&db, now, 10)).unwrap();
        let every_one: Vec<&Delivery> = claimed.iter().collect();
        assert!(
            block_on(record_delivered(&db, &every_one, now))
                .unwrap()
                .is_empty()
        );
        assert!(
            block_on(claim_due(&db, now + 10 * LEASE_MS, 10))
                .unwrap()
                .is_empty()
        );
    }

    #[test]
    fn failures_back_off_then_become_dead_letters_that_replay() {
        let db = store();
        block_on(transaction(&db, async |db| enqueue(db, &cancelled()).await)).unwrap();
        let mut now = now_ms();
        let first = block_on(claim_due(&db, now, 1)).unwrap().remove(0);
        let mut delivery = first.clone();
        for failures in 1..MAX_ATTEMPTS {
            let outcome = block_on(record_failure(&db, &delivery, "HTTP 503", false, now)).unwrap();
            assert_eq!(outcome, AfterFailure::RetryAt(now + backoff(failures)));
            assert!(
                block_on(claim_due(&db, now + backoff(failures) - 1, 1))
                    .unwrap()
                    .iter()
                    .all(|d| d.id != first.id)
            );
            now += backoff(failures);
            delivery = block_on(claim_due(&db, now, 10))
                .unwrap()
                .into_iter()
                .find(|d| d.id == first.id)
                .unwrap();
            assert_eq!(delivery.attempts, failures);
        }
        let outcome = block_on(record_failure(&db, &delivery, "HTTP 503", false, now)).unwrap();
        assert_eq!(outcome, AfterFailure::Dead);
        // The metrics: every failure but the last was retried; the other subscribers'
        // deliveries still wait, since the event was written.
        let measured = block_on(gauges(&db)).unwrap();
        assert_eq!((measured.retried, measured.dead), (MAX_ATTEMPTS - 1, 1));
        let subscribers = i64::try_from(subscribers(topics::ORDER_CANCELLED).len()).unwrap();
        assert_eq!(measured.pending, subscribers - 1);
        let written = measured.oldest_pending_ms.expect("deliveries wait");
        assert!((written - now_ms()).abs() < 60_000 * 60, "{written}");

        let dead = block_on(dead_letters(&db, "acme", None, 10)).unwrap();
        assert_eq!(dead.len(), 1);
        assert_eq!(dead[0].id, first.id);
        assert_eq!(dead[0].attempts, MAX_ATTEMPTS);
        assert_eq!(dead[0].last_error.as_deref(), Some("HTTP 503"));
        assert_eq!(dead[0].event["type"], "order.cancelled");
        assert!(
            block_on(dead_letters(&db, "other-tenant", None, 10))
                .unwrap()
                .is_empty()
        );

        let replay_now =
            |tenant| block_on(replay(&db, tenant, &first.id, now, &Retention::DEFAULT));
        assert_eq!(
            replay_now("other-tenant").unwrap(),
            Replay::NoSuchDeadLetter
        );
        assert_eq!(replay_now("acme").unwrap(), Replay::Replayed);
        assert_eq!(
            replay_now("acme").unwrap(),
            Replay::NoSuchDeadLetter,
            "only dead letters replay"
        );
        let again = block_on(claim_due(&db, now, 10)).unwrap();
        assert_eq!(again.iter().find(|d| d.id == first.id).unwrap().attempts, 0);
    }

    #[test]
    fn an_outcome_recorded_after_the_claim_was_lost_changes_nothing() {
        let db = store();
        block_on(transaction(&db, async |db| enqueue(db, &cancelled()).await)).unwrap();
        let now = now_ms();
        let stale = block_on(claim_due(&db, now, 10)).unwrap().remove(0);
        // The first dispatcher outlived its lease: a sweep claims the delivery again and
        // delivers it.
        let later = now + LEASE_MS;
        let fresh = block_on(claim_due(&db, later, 10))
            .unwrap()
            .into_iter()
            .find(|d| d.id == stale.id)
            .unwrap();
        assert!(
            block_on(record_delivered(&db, &[&fresh], later))
                .unwrap()
                .is_empty()
        );
        // The first dispatcher's late failure, or late success, must not undo that.
        let outcome = block_on(record_failure(&db, &stale, "timed out", false, later + 1));
        assert_eq!(outcome.unwrap(), AfterFailure::ClaimLost);
        let lost = block_on(record_delivered(&db, &[&stale], later + 1)).unwrap();
        assert_eq!(lost.len(), 1);
        assert!(
            block_on(claim_due(&db, later + 10 * LEASE_MS, 10))
                .unwrap()
                .iter()
                .all(|d| d.id != stale.id),
            "the delivered row was flipped back to pending"
        );
        let status = block_on(db.query(
            "SELECT status FROM outbox_deliveries WHERE id = $1",
            &[stale.id.as_str().into()],
        ))
        .unwrap();
        assert_eq!(status[0].get_str(0).unwrap(), "delivered");
    }

    #[test]
    fn retention_keeps_what_is_pending_or_dead_and_what_a_replay_needs() {
        let db = store();
        let retention = Retention::DEFAULT;
        block_on(transaction(&db, async |db| enqueue(db, &cancelled()).await)).unwrap();
        let now = now_ms();
        let claimed = block_on(claim_due(&db, now, 10)).unwrap();
        let (delivered, others) = claimed.split_first().unwrap();
        assert!(
            block_on(record_delivered(&db, &[delivered], now))
                .unwrap()
                .is_empty()
        );
        let dead = &others[0];
        block_on(record_failure(&db, dead, "HTTP 400", true, now)).unwrap();
        block_on(apply_once(&db, "a-on-x", "e1", async |_| {
            Ok::<_, HandlerError>(())
        }))
        .unwrap();

        // Within the periods nothing goes.
        let soon = block_on(retain(&db, now + DAY_MS, &retention)).unwrap();
        assert_eq!(soon, Retained::default());
        // After them, the delivered delivery and the old applied record go; the event
        // stays while its other deliveries (dead, pending) do.
        let later = now + retention.applied_ms + 60_000;
        let swept = block_on(retain(&db, later, &retention)).unwrap();
        assert_eq!(
            (swept.deliveries, swept.events, swept.applied_events),
            (1, 0, 1)
        );
        assert_eq!(count(&db, "SELECT COUNT(*) FROM outbox"), 1);
        // A dead letter older than the replay window is not replayed: its subscriber
        // may have forgotten applying it.
        let too_old = block_on(replay(&db, "acme", &dead.id, later, &retention)).unwrap();
        assert_eq!(too_old, Replay::TooOld);
        let in_time = now + retention.replay_window_ms() - 1;
        let replayed = block_on(replay(&db, "acme", &dead.id, in_time, &retention)).unwrap();
        assert_eq!(replayed, Replay::Replayed);
        // Once nothing of an event is left, the event goes too.
        block_on(db.execute("DELETE FROM outbox_deliveries", &[])).unwrap();
        let last = block_on(retain(&db, later, &retention)).unwrap();
        assert_eq!(last.events, 1);
    }

    #[test]
    fn retention_periods_come_from_whole_days() {
        assert_eq!(
            Retention::from_days(None, Some(" ")),
            Ok(Retention::DEFAULT)
        );
        let set = Retention::from_days(Some("2"), Some("3")).unwrap();
        assert_eq!((set.delivered_ms, set.applied_ms), (2 * DAY_MS, 3 * DAY_MS));
        assert!(
            Retention::from_days(Some("0"), None)
                .unwrap_err()
                .contains("retention_delivered_days")
        );
        assert!(
            Retention::from_days(None, Some("1"))
                .unwrap_err()
                .contains("retention_applied_days")
        );
        assert!(Retention::from_days(Some("x"), None).is_err());
    }

    #[test]
    fn a_permanent_failure_is_dead_at_once() {
        let db = store();
        block_on(transaction(&db, async |db| enqueue(db, &cancelled()).await)).unwrap();
        let delivery = block_on(claim_due(&db, now_ms(), 1)).unwrap().remove(0);
        let outcome = block_on(record_failure(&db, &delivery, "HTTP 400", true, now_ms())).unwrap();
        assert_eq!(outcome, AfterFailure::Dead);
    }

    #[test]
    fn backoff_grows_fourfold_to_an_hour() {
        assert_eq!(backoff(1), 250);
        assert_eq!(backoff(2), 1_000);
        assert_eq!(backoff(3), 4_000);
        assert_eq!(backoff(12), 3_600_000);
        assert_eq!(backoff(40), 3_600_000);
    }

    #[test]
    fn an_event_applies_once_per_subscriber() {
        let db = store();
        block_on(db.execute("CREATE TABLE effects (n BIGINT)", &[])).unwrap();
        let apply = |subscriber: &'static str| {
            block_on(apply_once(&db, subscriber, "e1", async |db| {
                db.execute("INSERT INTO effects (n) VALUES (1)", &[]).await
            }))
            .unwrap()
        };
        assert_eq!(apply("a-on-x"), Some(1));
        assert_eq!(apply("a-on-x"), None);
        assert_eq!(apply("b-on-x"), Some(1));
        assert_eq!(count(&db, "SELECT COUNT(*) FROM effects"), 2);
    }

    #[test]
    fn a_failed_effect_leaves_the_event_unapplied() {
        let db = store();
        let failed: Result<Option<()>, DbError> =
            block_on(apply_once(&db, "a-on-x", "e1", async |_| {
                Err(DbError::Other("provider down".into()))
            }));
        assert!(failed.is_err());
        let retried: Result<Option<()>, DbError> =
            block_on(apply_once(&db, "a-on-x", "e1", async |_| Ok(())));
        assert_eq!(retried.unwrap(), Some(()));
    }
}
