//! How one route is described ([`Op`]), and the schemas its description refers to.

use http::Method;
use kit::route::Route;
use std::collections::BTreeMap;
use utoipa::openapi::extensions::ExtensionsBuilder;
use utoipa::openapi::path::{
    HttpMethod, Operation, OperationBuilder, ParameterBuilder, ParameterIn,
};
use utoipa::openapi::request_body::RequestBodyBuilder;
use utoipa::openapi::response::ResponseBuilder;
use utoipa::openapi::schema::{ArrayBuilder, ObjectBuilder, Schema, Type};
use utoipa::openapi::security::SecurityRequirement;
use utoipa::openapi::{Content, Ref, RefOr, Required};
use utoipa::{PartialSchema, ToSchema};

use crate::examples::Example;

/// The schemas of `#/components/schemas`, by name.
#[derive(Default)]
pub(crate) struct Schemas(BTreeMap<String, RefOr<Schema>>);

/// `T`'s schema under `name`, and the schemas it refers to, into `found`.
fn collect<T: ToSchema>(name: String, found: &mut Vec<(String, RefOr<Schema>)>) {
    found.push((name, T::schema()));
    T::schemas(found);
}

impl Schemas {
    /// Registers `T`'s schema and those it refers to.
    pub(crate) fn add<T: ToSchema>(&mut self) {
        let mut found = Vec::new();
        collect::<T>(T::name().into_owned(), &mut found);
        for (name, schema) in found {
            self.insert(name, schema);
        }
    }

    /// Two types of one name (say each context's `Status`) would share one schema: the
    /// second is refused, to be renamed with `#[schema(as = ...)]`.
    fn insert(&mut self, name: String, schema: RefOr<Schema>) {
        if let Some(known) = self.0.get(&name) {
            assert!(
                *known == schema,
                "two types are both named {name} in the API document: rename one"
            );
        }
        self.0.insert(name, schema);
    }

    pub(crate) fn into_sorted(self) -> impl Iterator<Item = (String, RefOr<Schema>)> {
        self.0.into_iter()
    }
}

/// Who may call a route.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Access {
    /// Anyone.
    Public,
    /// Anyone: with a bearer token the token's tenant and role decide what is seen,
    /// without one the tenant is `x-tenant-id` (default `default`).
    PublicOrBearer,
    /// A valid bearer token.
    Bearer,
    /// A bearer token of one of these roles (403 otherwise).
    Roles(&'static str),
    /// The `x-sweep-key` header, or an admin's bearer token.
    SweepKeyOrAdmin,
    /// The `x-metrics-key` header, or an admin's bearer token.
    MetricsKeyOrAdmin,
    /// The `x-operator-key` header: a platform operator's, not a tenant user's.
    OperatorKey,
    /// A body signed under `event_signing_key` (`fusion-signature`).
    Signature,
    /// A body signed by the payment provider (`stripe-signature`); 400 when it does not
    /// verify.
    Webhook,
}

impl Access {
    pub(crate) const BEARER: &str = "bearer";
    pub(crate) const SWEEP_KEY: &str = "sweep_key";
    pub(crate) const METRICS_KEY: &str = "metrics_key";
    pub(crate) const OPERATOR_KEY: &str = "operator_key";
    pub(crate) const SIGNATURE: &str = "event_signature";
    pub(crate) const WEBHOOK: &str = "webhook_signature";

    /// The operation's security requirements (an empty one: may be anonymous).
    fn requirements(self) -> Vec<SecurityRequirement> {
        let scheme = |name: &str| SecurityRequirement::new(name, Vec::<String>::new());
        match self {
            Access::Public => vec![SecurityRequirement::default()],
            Access::PublicOrBearer => vec![SecurityRequirement::default(), scheme(Self::BEARER)],
            Access::Bearer | Access::Roles(_) => vec![scheme(Self::BEARER)],
            Access::SweepKeyOrAdmin => vec![scheme(Self::SWEEP_KEY), scheme(Self::BEARER)],
            Access::MetricsKeyOrAdmin => vec![scheme(Self::METRICS_KEY), scheme(Self::BEARER)],
            Access::OperatorKey => vec![scheme(Self::OPERATOR_KEY)],
            Access::Signature => vec![scheme(Self::SIGNATURE)],
            Access::Webhook => vec![scheme(Self::WEBHOOK)],
        }
    }

    /// The roles whose bearer token passes, where the check names them: the document's
    /// `x-roles`, which the access matrix (tests/tests/matrix.rs) holds the app to.
    fn roles(self) -> Option<Vec<&'static str>> {
        match self {
            Access::Roles(roles) => Some(roles.split(", ").collect()),
            Access::SweepKeyOrAdmin | Access::MetricsKeyOrAdmin => Some(vec!["admin"]),
            _ => None,
        }
    }

    /// The problems the access check itself answers.
    fn problems(self) -> &'static [u16] {
        match self {
            Access::Public => &[],
            // A token of another tenant than `x-tenant-id` names, or a service's, is 403.
            // And without a token, an `x-tenant-id` that names no tenant is 400.
            Access::PublicOrBearer => &[400, 401, 403],
            Access::Bearer => &[401, 403],
            Access::OperatorKey | Access::Signature => &[401],
            // As Stripe expects: a signature that does not verify is 400, not 401.
            Access::Webhook => &[400],
            Access::Roles(_) | Access::SweepKeyOrAdmin | Access::MetricsKeyOrAdmin => &[401, 403],
        }
    }

    fn note(self) -> Option<String> {
        match self {
            Access::Roles(roles) => Some(format!("Roles: {roles}.")),
            Access::SweepKeyOrAdmin => Some("The sweep key, or an admin's token.".into()),
            Access::MetricsKeyOrAdmin => Some("The metrics key, or an admin's token.".into()),
            _ => None,
        }
    }
}

/// A request or response body: its content type and schema.
struct Body {
    content_type: &'static str,
    schema: RefOr<Schema>,
}

impl Body {
    fn new(content_type: &'static str, schema: RefOr<Schema>) -> Self {
        Self {
            content_type,
            schema,
        }
    }

    fn json(schema: RefOr<Schema>) -> Self {
        Self::new("application/json", schema)
    }
}

/// One route's description, built by its context's `describe`.
pub(crate) struct Op {
    summary: String,
    description: Option<&'static str>,
    access: Access,
    query: Vec<(&'static str, RefOr<Schema>, bool, &'static str)>,
    request: Option<(RequestBodyBuilder, bool)>,
    /// The successes: the main one first (set by `answers*`), then any further one
    /// (`also_answers*`, say a 201 beside the 200).
    successes: Vec<(u16, &'static str, Option<Body>)>,
    problems: Vec<u16>,
    schemas: Vec<(String, RefOr<Schema>)>,
    /// Reads the `x-tenant-id` header without a token (as [`Access::PublicOrBearer`] does).
    tenant_header: bool,
    /// Takes an `Idempotency-Key` (see [`keyed`]).
    idempotency_key: bool,
}

impl Op {
    /// An operation answering 200 with no body until told otherwise.
    pub(crate) fn new(summary: impl Into<String>, access: Access) -> Self {
        Self {
            summary: summary.into(),
            description: None,
            access,
            query: Vec::new(),
            request: None,
            successes: vec![(200, "OK", None)],
            problems: Vec::new(),
            schemas: Vec::new(),
            tenant_header: false,
            idempotency_key: false,
        }
    }

    /// A longer explanation under the summary (Markdown).
    pub(crate) fn describe(mut self, description: &'static str) -> Self {
        self.description = Some(description);
        self
    }

    /// A query parameter of type `T`.
    pub(crate) fn query<T: PartialSchema>(
        mut self,
        name: &'static str,
        required: bool,
        description: &'static str,
    ) -> Self {
        self.query.push((name, T::schema(), required, description));
        self
    }

    /// The optional `x-tenant-id` header naming the tenant acted in (a public route of a
    /// tenant's, such as register and login); 400 when it is no tenant id.
    pub(crate) fn tenant_header(mut self) -> Self {
        self.tenant_header = true;
        self.problems.push(400);
        self
    }

    /// The `limit` and `cursor` of a paginated list.
    pub(crate) fn paged(self) -> Self {
        self.query::<u32>("limit", false, "Items per page, 1 to 100 (default 20).")
            .query::<String>(
                "cursor",
                false,
                "The `next_cursor` of the previous page; absent: the first page.",
            )
    }

    /// A JSON request body of type `T`, required.
    pub(crate) fn body<T: Example>(mut self) -> Self {
        let example = T::example();
        if let Err(error) = serde_json::from_value::<T>(example.clone()) {
            panic!("the example of {} is not one: {error}", T::name());
        }
        let mut json = Content::new(Some(self.refer::<T>()));
        json.example = Some(example);
        self.request = Some((
            RequestBodyBuilder::new().content("application/json", json),
            true,
        ));
        self.problems.extend([400, 422]);
        self
    }

    /// A JSON request body of type `T` that may be left out.
    pub(crate) fn optional_body<T: Example>(self) -> Self {
        self.body::<T>().optional()
    }

    fn optional(mut self) -> Self {
        if let Some((_, required)) = &mut self.request {
            *required = false;
        }
        self
    }

    /// A delivery of `E` events: one CloudEvent, or a batch of them.
    pub(crate) fn event_body<E: contracts::Event + ToSchema>(mut self) -> Self {
        // The envelope refers to its data's schema without registering it.
        self.refer::<E>();
        let event = self.refer_as::<contracts::Envelope<E>>(format!("{}Event", E::name()));
        self.request = Some((
            RequestBodyBuilder::new()
                .description(Some(format!("A `{}` event (CloudEvents 1.0, structured mode), or a batch of them applied in order.", E::TYPE)))
                .content(
                    kit::outbox::EVENT_CONTENT_TYPE,
                    Content::new(Some(event.clone())),
                )
                .content(
                    kit::outbox::BATCH_CONTENT_TYPE,
                    Content::new(Some(ArrayBuilder::new().items(event))),
                ),
            true,
        ));
        self.problems.push(400);
        self
    }

    /// A request body given as a content type and schema (not JSON of a Rust type).
    pub(crate) fn raw_body(mut self, content_type: &'static str, schema: RefOr<Schema>) -> Self {
        self.request = Some((content(Body::new(content_type, schema)), true));
        self.problems.push(400);
        self
    }

    /// Answers `status` with a JSON `T`.
    pub(crate) fn answers<T: ToSchema>(mut self, status: u16, description: &'static str) -> Self {
        let schema = self.refer::<T>();
        self.successes[0] = (status, description, Some(Body::json(schema)));
        self
    }

    /// Answers 200 with a page of `T` (`kit::pagination::Page`).
    pub(crate) fn answers_page<T: ToSchema>(mut self, description: &'static str) -> Self {
        self.refer::<T>();
        let page = <kit::pagination::Page<T> as PartialSchema>::schema();
        self.successes[0] = (200, description, Some(Body::json(page)));
        self
    }

    /// Answers `status` with a body of `content_type` shaped as `schema`.
    pub(crate) fn answers_raw(
        mut self,
        status: u16,
        description: &'static str,
        content_type: &'static str,
        schema: RefOr<Schema>,
    ) -> Self {
        self.successes[0] = (status, description, Some(Body::new(content_type, schema)));
        self
    }

    /// Answers `status` with no body.
    pub(crate) fn answers_empty(mut self, status: u16, description: &'static str) -> Self {
        self.successes[0] = (status, description, None);
        self
    }

    /// Also answers `status` with a JSON `T`: a second success besides the main one.
    pub(crate) fn also_answers<T: ToSchema>(
        mut self,
        status: u16,
        description: &'static str,
    ) -> Self {
        let schema = self.refer::<T>();
        self.successes
            .push((status, description, Some(Body::json(schema))));
        self
    }

    /// Also answers `status` with a body of `content_type` shaped as `schema`.
    pub(crate) fn also_answers_raw(
        mut self,
        status: u16,
        description: &'static str,
        content_type: &'static str,
        schema: RefOr<Schema>,
    ) -> Self {
        let body = Body::new(content_type, schema);
        self.successes.push((status, description, Some(body)));
        self
    }

    /// Problems this operation answers besides its access check's and its body's.
    pub(crate) fn problems(mut self, statuses: &[u16]) -> Self {
        self.problems.extend_from_slice(statuses);
        self
    }

    /// A `$ref` to `T`'s schema, registering it (and what it refers to).
    fn refer<T: ToSchema>(&mut self) -> RefOr<Schema> {
        self.refer_as::<T>(T::name().into_owned())
    }

    /// [`Op::refer`] under `name` (a generic type's instance, which `T::name` does not
    /// tell apart from the others).
    fn refer_as<T: ToSchema>(&mut self, name: String) -> RefOr<Schema> {
        collect::<T>(name.clone(), &mut self.schemas);
        Ref::from_schema_name(name).into()
    }
}

fn content(body: Body) -> RequestBodyBuilder {
    RequestBodyBuilder::new().content(body.content_type, Content::new(Some(body.schema)))
}

/// An [`Op`] placed on its route: built into the document by [`crate::document`].
pub(crate) struct Described {
    tag: &'static str,
    method: Method,
    path: String,
    operation_id: String,
    op: Op,
}

/// The routes of a component whose edge keeps idempotency records (a context with a
/// store): each POST takes an `Idempotency-Key`.
pub(crate) fn keyed(described: Vec<Described>) -> Vec<Described> {
    described
        .into_iter()
        .map(|mut route| {
            route.op.idempotency_key = route.method == Method::POST;
            route
        })
        .collect()
}

/// Each route of `routes` described by `describe`, under `tag`.
pub(crate) fn from_table<E: Copy + std::fmt::Debug>(
    tag: &'static str,
    routes: &[Route<E>],
    describe: impl Fn(E) -> Op,
) -> Vec<Described> {
    routes
        .iter()
        .map(|route| Described {
            tag,
            method: route.method.clone(),
            path: route.pattern.to_owned(),
            operation_id: operation_id(tag, &format!("{:?}", route.endpoint)),
            op: describe(route.endpoint),
        })
        .collect()
}

impl Described {
    /// One route that is not in a route table (a component serving one path).
    pub(crate) fn route(
        tag: &'static str,
        method: Method,
        path: impl Into<String>,
        name: &str,
        op: Op,
    ) -> Self {
        Self {
            tag,
            method,
            path: path.into(),
            operation_id: operation_id(tag, name),
            op,
        }
    }

    /// The path, its method and the operation, its schemas added to `schemas`.
    pub(crate) fn build(self, schemas: &mut crate::Schemas) -> (String, HttpMethod, Operation) {
        let Described {
            tag,
            method,
            path,
            operation_id,
            mut op,
        } = self;
        for (name, schema) in op.schemas {
            schemas.insert(name, schema);
        }
        let mut operation = OperationBuilder::new()
            .tag(tag)
            .summary(Some(op.summary))
            .operation_id(Some(operation_id))
            .securities(Some(op.access.requirements()));
        if let Some(roles) = op.access.roles() {
            operation =
                operation.extensions(Some(ExtensionsBuilder::new().add("x-roles", roles).build()));
        }
        let description = [op.description.map(str::to_owned), op.access.note()]
            .into_iter()
            .flatten()
            .collect::<Vec<_>>()
            .join("\n\n");
        if !description.is_empty() {
            operation = operation.description(Some(description));
        }
        for name in captures(&path) {
            operation = operation.parameter(
                ParameterBuilder::new()
                    .name(name)
                    .parameter_in(ParameterIn::Path)
                    .required(Required::True)
                    .schema(Some(String::schema())),
            );
        }
        for (name, schema, required, description) in op.query {
            operation = operation.parameter(
                ParameterBuilder::new()
                    .name(name)
                    .parameter_in(ParameterIn::Query)
                    .required(if required {
                        Required::True
                    } else {
                        Required::False
                    })
                    .description(Some(description))
                    .schema(Some(schema)),
            );
        }
        if op.access == Access::PublicOrBearer || op.tenant_header {
            operation = operation.parameter(
                ParameterBuilder::new()
                    .name("x-tenant-id")
                    .parameter_in(ParameterIn::Header)
                    .required(Required::False)
                    .description(Some("The tenant read without a token (default `default`)."))
                    .schema(Some(String::schema())),
            );
        }
        if op.idempotency_key {
            operation = operation.parameter(
                ParameterBuilder::new()
                    .name(kit::edge::KEY_HEADER)
                    .parameter_in(ParameterIn::Header)
                    .required(Required::False)
                    .description(Some(
                        "A retry with the same key (1 to 255 visible ASCII characters) gets \
                         the first answer again instead of a second write; 409 while the \
                         first is in progress, 422 when the key came with another request.",
                    ))
                    .schema(Some(
                        ObjectBuilder::new()
                            .schema_type(Type::String)
                            .min_length(Some(1))
                            .max_length(Some(255))
                            .pattern(Some("^[!-~]+$")),
                    )),
            );
            op.problems.extend([400, 409, 422]);
        }
        if let Some((body, required)) = op.request {
            let required = if required {
                Required::True
            } else {
                Required::False
            };
            operation = operation.request_body(Some(body.required(Some(required)).build()));
        }
        for (status, description, body) in op.successes {
            let mut success = ResponseBuilder::new().description(description);
            if let Some(body) = body {
                success = success.content(body.content_type, Content::new(Some(body.schema)));
            }
            operation = operation.response(status.to_string(), success.build());
        }
        let mut problems: Vec<u16> = op.access.problems().to_vec();
        problems.extend(op.problems);
        problems.sort_unstable();
        problems.dedup();
        for status in problems {
            let example = (status == 422).then(validation_example);
            operation = operation.response(status.to_string(), problem(reason(status), example));
        }
        // Every operation may also answer 405, 413, 429, 500 or 503 (a store down).
        operation = operation.response("default", problem("A problem (RFC 9457).", None));
        (path, http_method(&method), operation.build())
    }
}

fn problem(description: &str, example: Option<serde_json::Value>) -> utoipa::openapi::Response {
    let mut content = Content::new(Some(Ref::from_schema_name(
        <kit::Problem as ToSchema>::name(),
    )));
    content.example = example;
    ResponseBuilder::new()
        .description(description)
        .content(kit::problem::CONTENT_TYPE, content)
        .build()
}

/// A 422 as the app writes one (kit's own constructor, so the example cannot drift).
fn validation_example() -> serde_json::Value {
    let problem = kit::Problem::validation(vec![kit::FieldError::new(
        "shipping_address.city",
        "must not be empty",
    )]);
    serde_json::to_value(problem).expect("a problem serializes")
}

fn reason(status: u16) -> &'static str {
    http::StatusCode::from_u16(status)
        .ok()
        .and_then(|status| status.canonical_reason())
        .unwrap_or("Error")
}

fn http_method(method: &Method) -> HttpMethod {
    match *method {
        Method::GET => HttpMethod::Get,
        Method::POST => HttpMethod::Post,
        Method::PUT => HttpMethod::Put,
        Method::PATCH => HttpMethod::Patch,
        Method::DELETE => HttpMethod::Delete,
        Method::HEAD => HttpMethod::Head,
        Method::OPTIONS => HttpMethod::Options,
        _ => HttpMethod::Trace,
    }
}

/// The `{name}` captures of a route pattern.
fn captures(pattern: &str) -> impl Iterator<Item = &str> {
    pattern
        .split('/')
        .filter_map(|segment| segment.strip_prefix('{')?.strip_suffix('}'))
}

/// `catalog` and `ListProducts` → `catalog.listProducts`.
fn operation_id(tag: &str, endpoint: &str) -> String {
    let mut chars = endpoint.chars();
    let first = chars.next().map(|c| c.to_ascii_lowercase());
    format!(
        "{tag}.{}{}",
        first.into_iter().collect::<String>(),
        chars.as_str()
    )
}
