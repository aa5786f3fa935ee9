//! The ops routes: health, the dead letters of every context, the outbox sweep, and the
//! relay the event bridge calls.
//!
//! Some answers are built ad hoc by the component (health's by `kit::http::health`, and
//! those carrying a `kit::events::DispatchSummary`, which exists only in wasm), so their
//! schemas are built here, from the same store and context lists the component walks.

use crate::{Access, Described, Op, from_table};
use kit::outbox::Retained;
use ops_api::routes::{
    ContextDeadLetter, EVENT_CONTEXTS, Endpoint, ROUTES, RelayClaim, RelayClaimed, RelayDeadLetter,
    RelayDeadLettered, RelaySettle, STORE_CONTEXTS,
};
use utoipa::PartialSchema;
use utoipa::openapi::RefOr;
use utoipa::openapi::schema::{ObjectBuilder, Schema, Type};

const ADMINS: Access = Access::Roles("admin");
const JSON: &str = "application/json";

pub(crate) fn operations() -> Vec<Described> {
    from_table("ops", ROUTES, describe)
}

fn describe(endpoint: Endpoint) -> Op {
    match endpoint {
        Endpoint::Health => Op::new("Health", Access::Public)
            .describe(
                "Whether every context's database and the key-value store answer, and the \
                 payment provider is set (until it is, orders are refused).",
            )
            .answers_raw(200, "Every check passed.", JSON, health(true))
            .also_answers_raw(
                503,
                "A check failed; the body names it.",
                JSON,
                health(false),
            ),
        Endpoint::Metrics => Op::new("Outbox metrics", Access::MetricsKeyOrAdmin)
            .describe(
                "Every context's outbox in Prometheus' text format: deliveries waiting \
                 (`fusion_outbox_pending`), the age of the oldest \
                 (`fusion_outbox_oldest_pending_seconds`), dead letters \
                 (`fusion_outbox_dead_letters`) and failed attempts tried again \
                 (`fusion_outbox_deliveries_retried_total`). fusion-host's admin listener \
                 (`--admin-listen`) serves them with its own at `/metrics`.",
            )
            .answers_raw(
                200,
                "The metrics.",
                ops_api::routes::PROMETHEUS_TEXT,
                RefOr::T(Schema::Object(
                    ObjectBuilder::new().schema_type(Type::String).build(),
                )),
            ),
        Endpoint::ListDeadLetters => Op::new("List dead letters", ADMINS)
            .describe(
                "The caller's tenant's deliveries that gave up, of every context, oldest \
                 first (by id).",
            )
            .paged()
            .answers_page::<ContextDeadLetter>("A page of dead letters.")
            .problems(&[422]),
        Endpoint::ReplayDeadLetter => Op::new("Replay a dead letter", ADMINS)
            .describe(
                "Makes the dead letter due again with a fresh attempt count and dispatches \
                 its context at once; the answer says what that dispatch did (the event may \
                 fail again and stay pending, or die again). A dead letter older than the \
                 replay window (`retention_applied_days` less a day) is 409: its subscriber \
                 may no longer know whether it applied the event.",
            )
            .answers_raw(200, "Replayed.", JSON, replayed())
            .problems(&[404, 409]),
        Endpoint::Sweep => Op::new("Sweep the outboxes", Access::SweepKeyOrAdmin)
            .describe(
                "Dispatches whatever is due in every context's outbox, then trims every \
                 store of what it no longer needs (delivered deliveries and their events, \
                 old applied-event and idempotency records). For a scheduler.",
            )
            .answers_raw(200, "What was dispatched and removed.", JSON, swept()),
        Endpoint::RelayClaim => Op::new("Claim events for the bus", Access::Signature)
            .describe(
                "The event bridge takes up to `limit` due deliveries of `context`, each \
                 leased to it for a while; it settles them afterwards. An unknown context \
                 or a limit outside 1 to 1,000 is 422.",
            )
            .body::<RelayClaim>()
            .answers::<RelayClaimed>(200, "The claimed deliveries (maybe none)."),
        Endpoint::RelaySettle => Op::new("Settle claimed events", Access::Signature)
            .describe(
                "The event bridge reports which claimed deliveries the bus took (done) and \
                 which it did not (retried with backoff, a dead letter after the last try \
                 or at once when `permanent`). A delivery whose lease ran out and was \
                 claimed again is left alone: a claim lost.",
            )
            .body::<RelaySettle>()
            .answers_raw(200, "What was recorded.", JSON, settled()),
        Endpoint::RelayDeadLetter => {
            Op::new("Report a dead letter from the bus", Access::Signature)
                .describe(
                    "The event bridge reports a handler that gave up on an event it read from \
                 the bus: a dead letter of the handler's context, listed and replayed like \
                 the others. 422 unless `handler` is a handler of the event's type and the \
                 event has an `id`, `type` and `tenant`.",
                )
                .body::<RelayDeadLetter>()
                .answers::<RelayDeadLettered>(200, "Recorded, or already a dead letter.")
        }
    }
}

fn text(description: &'static str) -> ObjectBuilder {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .description(Some(description))
}

/// `kit::http::health`'s body for ops' checks (every store, the key-value store and the
/// payment provider), when they all passed (`healthy`) or not.
fn health(healthy: bool) -> RefOr<Schema> {
    let states: &[&str] = if healthy {
        &["ok"]
    } else {
        &["ok", "unavailable"]
    };
    let checks = STORE_CONTEXTS
        .iter()
        .copied()
        .map(|store| (store, "This context's database."))
        .chain([
            ("key_value", "The key-value store."),
            (
                "payment_provider",
                "Whether the `payment_provider` variable is set.",
            ),
        ])
        .fold(ObjectBuilder::new(), |checks, (name, description)| {
            checks
                .property(
                    name,
                    text(description).enum_values(Some(states.iter().copied())),
                )
                .required(name)
        });
    let status = if healthy { "ok" } else { "unavailable" };
    ObjectBuilder::new()
        .property(
            "status",
            text("`ok` when every check is, else `unavailable`.").enum_values(Some([status])),
        )
        .required("status")
        .property("checks", checks)
        .required("checks")
        .into()
}

/// `kit::events::DispatchSummary`: what one dispatch did.
fn dispatch_summary(description: &'static str) -> ObjectBuilder {
    [
        ("delivered", "Deliveries the subscribers took."),
        ("retrying", "Deliveries that failed and will be retried."),
        (
            "dead",
            "Deliveries that failed for the last time: dead letters.",
        ),
    ]
    .into_iter()
    .fold(
        ObjectBuilder::new().description(Some(description)),
        |summary, (name, description)| summary.property(name, count(description)).required(name),
    )
}

fn count(description: &'static str) -> ObjectBuilder {
    ObjectBuilder::new()
        .schema_type(Type::Integer)
        .format(Some(utoipa::openapi::SchemaFormat::KnownFormat(
            utoipa::openapi::KnownFormat::Int64,
        )))
        .minimum(Some(0))
        .description(Some(description))
}

/// A context with an outbox.
fn context(description: &'static str) -> ObjectBuilder {
    text(description).enum_values(Some(EVENT_CONTEXTS.iter().copied()))
}

fn replayed() -> RefOr<Schema> {
    ObjectBuilder::new()
        .property("id", text("The dead letter's id."))
        .required("id")
        .property("context", context("The context whose outbox held it."))
        .required("context")
        .property(
            "dispatch",
            dispatch_summary("What dispatching the context did at once."),
        )
        .required("dispatch")
        .into()
}

fn swept() -> RefOr<Schema> {
    let contexts = EVENT_CONTEXTS.iter().fold(
        ObjectBuilder::new().description(Some("Each context's dispatch.")),
        |contexts, name| {
            contexts
                .property(*name, dispatch_summary("What the context's dispatch did."))
                .required(*name)
        },
    );
    let retention = STORE_CONTEXTS.iter().copied().fold(
        ObjectBuilder::new().description(Some("What each store's retention pass removed.")),
        |retention, name| {
            let outbox: RefOr<Schema> = if EVENT_CONTEXTS.contains(&name) {
                Retained::schema()
            } else {
                ObjectBuilder::new()
                    .schema_type(Type::Null)
                    .description(Some("This context keeps no outbox."))
                    .into()
            };
            let removed = ObjectBuilder::new()
                .property(
                    "idempotency_keys",
                    count("Idempotency records past their retention."),
                )
                .required("idempotency_keys")
                .property("outbox", outbox)
                .required("outbox");
            retention.property(name, removed).required(name)
        },
    );
    ObjectBuilder::new()
        .property("contexts", contexts)
        .required("contexts")
        .property("retention", retention)
        .required("retention")
        .into()
}

fn settled() -> RefOr<Schema> {
    ObjectBuilder::new()
        .property(
            "settled",
            dispatch_summary(
                "`delivered`: published deliveries recorded; `retrying` and `dead`: the \
                 failed ones.",
            ),
        )
        .required("settled")
        .property(
            "claims_lost",
            count("Published deliveries whose claim was lost: another claim's outcome stands."),
        )
        .required("claims_lost")
        .into()
}
