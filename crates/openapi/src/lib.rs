//! FusionCommerce's HTTP API as an OpenAPI 3.1 document, built from what serves it:
//! each context's route table (`ROUTES` of its API component) gives the paths and
//! methods, its `describe` (one arm per endpoint, so a new endpoint does not compile
//! undescribed) says who may call it, what it takes and what it answers, and the schemas
//! are derived from the request and response types themselves (`utoipa::ToSchema`).
//!
//! `cargo run -p openapi > web/openapi.json` writes the document the `site` component
//! serves at `/openapi.json`; a test fails when the checked-in copy is stale or when a
//! route of `spin.toml` is missing from it.

mod accounts;
mod campaigns;
mod cart;
mod catalog;
mod events;
mod examples;
mod inventory;
mod notifications;
mod operation;
mod ops;
mod orders;
mod payments;
mod shipping;
mod site;

use operation::Schemas;
pub(crate) use operation::{Access, Described, Op, from_table, keyed};
use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::tag::TagBuilder;
use utoipa::openapi::{
    ComponentsBuilder, InfoBuilder, LicenseBuilder, OpenApi, OpenApiBuilder, Paths,
};

/// The document's tags, one per context, in the order a reader meets them.
const TAGS: &[(&str, &str)] = &[
    (
        "accounts",
        "Registration, login, tokens, users and tenants.",
    ),
    (
        "catalog",
        "Products, categories and search. Reads are public and tenant-scoped (`x-tenant-id`, default `default`).",
    ),
    ("cart", "The caller's cart and its checkout."),
    (
        "orders",
        "Checkout, orders, cancellation, fraud review, promotions and returns.",
    ),
    ("inventory", "Stock levels, adjustments and movements."),
    (
        "payments",
        "Payments, refunds and the payment provider's webhook.",
    ),
    ("shipping", "Shipments, labels and public tracking."),
    (
        "campaigns",
        "Group buying: campaigns, joins and their progress.",
    ),
    ("notifications", "The caller's notifications."),
    (
        "ops",
        "Health, dead letters, the outbox sweep and the event bridge's relay.",
    ),
    (
        "events",
        "Event handlers: each takes the deliveries of its event type, signed by the app's dispatcher or the event bridge (`fusion-signature`). Exposed so the `http` transport can deliver to the app's public origin and the bridge can deliver from a broker.",
    ),
    ("site", "This document and its reference page."),
];

/// The whole document.
pub fn document() -> OpenApi {
    let mut schemas = Schemas::default();
    let mut paths = Paths::new();
    let described = [
        accounts::operations(),
        catalog::operations(),
        cart::operations(),
        orders::operations(),
        inventory::operations(),
        payments::operations(),
        shipping::operations(),
        campaigns::operations(),
        notifications::operations(),
        ops::operations(),
        events::operations(),
        site::operations(),
    ];
    for operation in described.into_iter().flatten() {
        let (path, method, operation) = operation.build(&mut schemas);
        paths.add_path_operation(path, vec![method], operation);
    }
    // Every operation may answer a problem.
    schemas.add::<kit::Problem>();
    let components = ComponentsBuilder::new()
        .schemas_from_iter(schemas.into_sorted())
        .security_scheme(
            Access::BEARER,
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .description(Some("An access token from `POST /api/v1/auth/login`."))
                    .build(),
            ),
        )
        .security_scheme(
            Access::OPERATOR_KEY,
            SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::with_description(
                kit::auth::OPERATOR_KEY_HEADER,
                "The `operator_key` variable: what a platform operator presents to create \
                 tenants (empty: tenant creation is off).",
            ))),
        )
        .security_scheme(
            Access::SWEEP_KEY,
            SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::with_description(
                kit::auth::SWEEP_KEY_HEADER,
                "The `sweep_key` variable: what a scheduler presents to drive the outbox sweep.",
            ))),
        )
        .security_scheme(
            Access::METRICS_KEY,
            SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::with_description(
                kit::auth::METRICS_KEY_HEADER,
                "The `metrics_key` variable: what a metrics scraper (Prometheus) presents to \
                 read the outbox metrics (empty: admins only).",
            ))),
        )
        .security_scheme(
            Access::SIGNATURE,
            SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::with_description(
                kit::signature::SIGNATURE_HEADER,
                "`t=<unix seconds>,v1=<hex HMAC-SHA256 of \"<t>.<body>\">` under the \
                 `event_signing_key` variable; older than 5 minutes is refused.",
            ))),
        )
        .security_scheme(
            Access::WEBHOOK,
            SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::with_description(
                "stripe-signature",
                "Stripe's webhook signature under the `stripe_webhook_secret` variable.",
            ))),
        )
        .build();
    OpenApiBuilder::new()
        .info(
            InfoBuilder::new()
                .title("FusionCommerce")
                .version(env!("CARGO_PKG_VERSION"))
                .description(Some(
                    "An event-driven commerce backend of WebAssembly components on Spin. \
                     Errors are `application/problem+json` (RFC 9457) with a stable `type` \
                     and, for invalid fields, `errors` naming each. Lists are pages: \
                     `items` and `next_cursor`, passed back as `cursor`.",
                ))
                .license(Some(LicenseBuilder::new().name("Apache-2.0").build()))
                .build(),
        )
        .tags(Some(TAGS.iter().map(|(name, description)| {
            TagBuilder::new()
                .name(*name)
                .description(Some(*description))
                .build()
        })))
        .paths(paths)
        .components(Some(components))
        .build()
}

/// The document as the app serves it: pretty JSON with a final newline.
pub fn document_json() -> String {
    let mut json = document()
        .to_pretty_json()
        .expect("an OpenAPI document is always JSON");
    json.push('\n');
    json
}
