//! The API skeleton on Spin: [`serve_api`] runs a component's handler behind the edge
//! with the request's [`Call`], whose caller and store come from Spin, then dispatches
//! the deliveries the request enqueued.

use super::{SpinDb, authenticate, authenticate_service_too, open_store, reader_tenant};
use crate::auth::Caller;
use crate::db::{Db, DbError, Dialect, Row, SqlValue};
use crate::edge::{ClaimedKey, Edge, mark_committed, serve};
use crate::events::dispatch_after_commit;
use crate::http::{Response, respond};
use crate::json::read_body;
use crate::outbox::Transport;
use crate::problem::Problem;
use crate::service::{Api, Call};
use spin_sdk::http::IncomingRequest;
use std::cell::{Cell, OnceCell};

/// A context's store opened for one request, noting whether the request enqueued
/// deliveries (see [`Db::deliveries_enqueued`]), so they are dispatched after it, and
/// marking the request's `Idempotency-Key`, if it claimed one, in every transaction it
/// commits (see [`Db::before_commit`]).
pub struct RequestStore {
    db: SpinDb,
    enqueued: Cell<bool>,
    claimed: Option<ClaimedKey>,
    /// Read from `event_transport` when the request first enqueues an event.
    transport: OnceCell<Transport>,
}

impl RequestStore {
    pub(crate) fn new(db: SpinDb, claimed: Option<ClaimedKey>) -> Self {
        RequestStore {
            db,
            enqueued: Cell::new(false),
            claimed,
            transport: OnceCell::new(),
        }
    }

    /// The store, when the request enqueued deliveries to dispatch after it.
    pub(crate) fn into_enqueued(self) -> Option<SpinDb> {
        self.enqueued.get().then_some(self.db)
    }
}

impl Db for RequestStore {
    fn dialect(&self) -> Dialect {
        self.db.dialect()
    }

    async fn execute(&self, sql: &str, params: &[SqlValue]) -> Result<u64, DbError> {
        self.db.execute(sql, params).await
    }

    async fn query(&self, sql: &str, params: &[SqlValue]) -> Result<Vec<Row>, DbError> {
        self.db.query(sql, params).await
    }

    fn deliveries_enqueued(&self) {
        self.enqueued.set(true);
    }

    /// A bad `event_transport` refuses the write (500, logged): events must not go
    /// where no one reads them.
    async fn transport(&self) -> Result<Transport, DbError> {
        if let Some(transport) = self.transport.get() {
            return Ok(*transport);
        }
        let transport = super::event_transport().await?;
        Ok(*self.transport.get_or_init(|| transport))
    }

    async fn before_commit(&self) -> Result<(), DbError> {
        match &self.claimed {
            Some(claimed) => mark_committed(&self.db, claimed).await,
            None => Ok(()),
        }
    }
}

impl Call {
    /// The caller: 401 without a valid bearer token, 403 when `x-tenant-id` names
    /// another tenant than the token.
    pub async fn caller(&self) -> Result<Caller, Problem> {
        let caller = authenticate(self.headers()).await;
        caller.inspect(|caller| crate::log::note_tenant(&caller.tenant))
    }

    /// The caller, a component's service token included (see
    /// [`authenticate_service_too`]).
    pub async fn caller_or_service(&self) -> Result<Caller, Problem> {
        let caller = authenticate_service_too(self.headers()).await;
        caller.inspect(|caller| crate::log::note_tenant(&caller.tenant))
    }

    /// The tenant a public read acts for (see [`reader_tenant`]).
    pub async fn reader_tenant(&self) -> Result<String, Problem> {
        let tenant = reader_tenant(self.headers()).await;
        tenant.inspect(|tenant| crate::log::note_tenant(tenant))
    }

    /// The context's store, opened (and migrated) on first use; 503 when it cannot be.
    pub async fn db(&self) -> Result<&RequestStore, Problem> {
        if let Some(db) = self.db.get() {
            return Ok(db);
        }
        let Some(migrations) = self.store else {
            eprintln!(
                "[{}] {} keeps no SQL store",
                self.request_id(),
                self.context()
            );
            return Err(Problem::internal());
        };
        let db = open_store(self.context(), migrations, self.request_id()).await?;
        let claimed = self.extensions().get::<ClaimedKey>().cloned();
        Ok(self.db.get_or_init(|| RequestStore::new(db, claimed)))
    }
}

/// Serves `request` with the API's routes behind the edge (CORS, rate limit,
/// idempotency when the context keeps a store, security headers): no route is 404 or
/// 405, otherwise `handler` answers for its endpoint. Deliveries the request enqueued
/// are dispatched before the answer goes out: the client's wait is what keeps the
/// saga's work in flight bounded by the clients' concurrency (see
/// `benches/results/profile.md`).
pub async fn serve_api<E: Clone>(
    request: IncomingRequest,
    api: &Api<E>,
    handler: impl AsyncFn(E, &Call) -> Result<Response, Problem>,
) -> Response {
    let edge = Edge {
        context: api.store.map(|_| api.context),
        migrations: api.store.unwrap_or_default(),
    };
    let started = std::time::Instant::now();
    let (method, path) = (request.method(), request.path_with_query());
    let path = path.as_deref().unwrap_or("/");
    let path = path
        .split_once('?')
        .map_or(path, |(path, _)| path)
        .to_owned();
    let response = serve(request, &edge, async |request| {
        let (parts, body) = request.into_parts();
        let request_id = crate::request_id::from_headers(&parts.headers);
        let body = match read_body(body).await {
            Ok(body) => body,
            Err(problem) => return problem.to_response(&request_id),
        };
        let (endpoint, call) = match api.call(parts, body) {
            Ok(found) => found,
            Err(no_route) => return *no_route,
        };
        let response = respond(handler(endpoint, &call).await, &request_id);
        if let Some(db) = call.db.into_inner().and_then(RequestStore::into_enqueued) {
            dispatch_after_commit(api.context, db).await;
        }
        response
    })
    .await;
    let request_id = response
        .headers()
        .get(crate::request_id::HEADER)
        .and_then(|id| id.to_str().ok())
        .unwrap_or_default();
    let fields = crate::log::RequestFields {
        component: api.context,
        method: &method.to_string(),
        path: &path,
        request_id,
    };
    crate::log::request(&fields, response.status().as_u16(), started);
    response
}
