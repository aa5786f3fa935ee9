//! The app under test: `fusion-host up` — or, when `SPIN_BIN` names a Spin CLI, that real
//! `spin up` — serving the repo's spin.toml from a fresh state directory, on SQLite or on
//! a fresh PostgreSQL database.

use std::path::Path;
use std::process::Command;
use std::sync::RwLock;

use serde_json::{Value, json};
use testing::{Reply, Request, ScratchDatabase, Server, toml_path, workspace_dir};

pub const JWT_SECRET: &str = "acceptance-tests-signing-key-0123456789";
/// The `event_signing_key` the app under test signs and checks its deliveries with.
pub const EVENT_SIGNING_KEY: &str = "acceptance-tests-event-signing-key";
pub const ADMIN_EMAIL: &str = "admin@shop.test";
pub const ADMIN_PASSWORD: &str = "admin-password-42";
/// The platform operator's key, which creates tenants.
pub const OPERATOR_KEY: &str = "acceptance-operator-key";
/// The password of every customer [`Client::register_customer`] makes.
pub const CUSTOMER_PASSWORD: &str = "correct horse battery";
/// The service a traced shop's spans name (see [`Shop::start_traced`]).
pub const SERVICE_NAME: &str = "fusion-commerce-under-test";

pub(crate) use kit::wiring::{EVENT_CONTEXTS, STORE_CONTEXTS};

/// Which store the app's contexts use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Store {
    Sqlite,
    Postgres,
}

/// A running app with state of its own; stopped and cleaned up when dropped. It may be
/// killed and restarted on the same state (see [`Shop::kill`]), so the running server
/// is replaceable while callers hold the shop.
pub struct Shop {
    // Fields drop in order: the host stops before its database and its state go.
    server: RwLock<Server>,
    database: Option<ScratchDatabase>,
    state: tempfile::TempDir,
    /// The environment beyond the defaults (app variables as `SPIN_VARIABLE_*`), kept
    /// for a restart.
    environment: Vec<(String, String)>,
}

impl Shop {
    pub fn start(store: Store) -> Shop {
        Shop::start_with(store, &[])
    }

    /// A shop whose key-value store is the local Redis (`infra/runtime-config/redis.toml`'s
    /// production shape), started when none answers.
    pub fn start_on_redis(store: Store) -> Shop {
        testing::ensure_redis();
        Shop::launch(scratch_database(store), environment(&[]), KeyValue::Redis)
    }

    /// A shop whose app variables `variables` (name, value) override the defaults.
    pub fn start_with(store: Store, variables: &[(&str, &str)]) -> Shop {
        Shop::launch(
            scratch_database(store),
            environment(variables),
            KeyValue::File,
        )
    }

    /// A shop exporting its traces to the OTLP/HTTP `collector` (an `http://` origin),
    /// in batches at most 200 ms apart, with app `variables`.
    pub fn start_traced(store: Store, collector: &str, variables: &[(&str, &str)]) -> Shop {
        let mut environment = environment(variables);
        environment.extend([
            (
                "OTEL_EXPORTER_OTLP_ENDPOINT".to_owned(),
                collector.to_owned(),
            ),
            ("OTEL_BSP_SCHEDULE_DELAY".to_owned(), "200".to_owned()),
            ("OTEL_SERVICE_NAME".to_owned(), SERVICE_NAME.to_owned()),
        ]);
        Shop::launch(scratch_database(store), environment, KeyValue::File)
    }

    /// A shop whose edge lets one client send as much as it likes: for suites that send
    /// thousands of requests from one address, which the rate limit would answer 429.
    pub fn start_unthrottled(store: Store) -> Shop {
        Shop::start_with(
            store,
            &[
                ("rate_limit_per_second", "1000000"),
                ("rate_limit_burst", "1000000"),
            ],
        )
    }

    /// A PostgreSQL shop whose database lives on the server at `addr` (host:port) rather
    /// than the shared one, e.g. a [`testing::PostgresCluster`] a test restarts.
    pub fn start_on_postgres_at(addr: &str, variables: &[(&str, &str)]) -> Shop {
        let database = ScratchDatabase::create_on(addr);
        Shop::launch(Some(database), environment(variables), KeyValue::File)
    }

    fn launch(
        database: Option<ScratchDatabase>,
        environment: Vec<(String, String)>,
        key_value: KeyValue,
    ) -> Shop {
        check_components_built(&workspace_dir().join("spin.toml"));
        let state = tempfile::Builder::new()
            .prefix("fusion-shop-")
            .tempdir()
            .expect("create the shop's state dir");
        write_runtime_config(state.path(), key_value);
        let server = Server::start(up(state.path(), database.as_ref(), &environment));
        Shop {
            server: RwLock::new(server),
            database,
            state,
            environment,
        }
    }

    /// Kills the app with SIGKILL, as a crash or the OOM killer does: no graceful
    /// shutdown, requests in flight cut off, its store left as it was at that instant.
    pub fn kill(&self) {
        self.server().kill();
    }

    /// Starts the app again on the same state, database and variables (after
    /// [`Shop::kill`]); callers holding this shop reach the new instance (its address
    /// may differ).
    pub fn restart(&self) {
        self.kill();
        let fresh = Server::start(up(
            self.state.path(),
            self.database.as_ref(),
            &self.environment,
        ));
        let killed = std::mem::replace(
            &mut *self.server.write().unwrap_or_else(|e| e.into_inner()),
            fresh,
        );
        drop(killed);
    }

    /// Everything the app logged so far: the host's output (fusion-host passes on its
    /// guests' stderr), and the component logs Spin writes under its state directory.
    pub fn logs(&self) -> String {
        let mut logs = self.server().output();
        let spin_logs = std::fs::read_dir(self.state.path().join("spin").join("logs"));
        for entry in spin_logs.into_iter().flatten().flatten() {
            logs.push_str(&std::fs::read_to_string(entry.path()).unwrap_or_default());
        }
        logs
    }

    /// Where fusion-host serves its metrics (`--admin-listen`); `None` on Spin, which has
    /// no such listener.
    pub fn host_metrics_url(&self) -> Option<String> {
        let output = self.server().output();
        let line = output
            .lines()
            .find(|line| line.starts_with("fusion-host: metrics on "))?;
        Some(line.rsplit(' ').next()?.to_owned())
    }

    fn server(&self) -> std::sync::RwLockReadGuard<'_, Server> {
        self.server.read().unwrap_or_else(|e| e.into_inner())
    }

    /// Runs `sql` directly in `context`'s database, behind the app's back (to stage what a
    /// crash would leave, or to read what the API does not show). Rows come back one per
    /// line, columns separated by `|`.
    pub fn sql(&self, context: &str, sql: &str) -> String {
        self.try_sql(context, sql)
            .unwrap_or_else(|e| panic!("{context}: {sql}: {e}"))
    }

    /// How many deliveries match `condition` in each context's outbox; a context no
    /// request has opened yet has none.
    pub fn deliveries_where(&self, condition: &str) -> Vec<(&'static str, i64)> {
        let sql = format!("SELECT COUNT(*) FROM outbox_deliveries WHERE {condition}");
        EVENT_CONTEXTS
            .iter()
            .map(|context| {
                let count = match self.try_sql(context, &sql) {
                    Ok(count) => count
                        .trim()
                        .parse()
                        .unwrap_or_else(|_| panic!("{context}: {sql}: not a count: {count}")),
                    Err(error) if never_opened(&error) => 0,
                    Err(error) => panic!("{context}: {sql}: {error}"),
                };
                (*context, count)
            })
            .collect()
    }

    fn try_sql(&self, context: &str, sql: &str) -> Result<String, String> {
        match &self.database {
            Some(database) => database.sql(&format!("SET search_path TO {context}; {sql}")),
            None => sqlite(&self.state.path().join(format!("{context}.db")), sql)
                .map_err(|e| e.to_string()),
        }
    }

    /// Waits until no delivery awaits its first attempt in any outbox: every event so far
    /// was taken by its handlers, whose own events were too. An answer comes after its
    /// request's dispatch, but DESIGN lets the saga run on after it (clients poll), and a
    /// delivery whose first send failed is retried later. Deliveries that failed and wait
    /// for a retry are left alone (some tests keep a subscriber failing on purpose).
    /// Panics after 20 s, naming what is still pending.
    pub fn settle(&self) {
        self.settle_deliveries("");
    }

    /// [`Shop::settle`] for the events that name the order `order_id` only (a test may
    /// hold another order's saga on purpose).
    pub fn settle_order(&self, order_id: &str) {
        assert!(
            !order_id.is_empty()
                && order_id
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-'),
            "not an order id: {order_id:?}"
        );
        self.settle_deliveries(&format!(" AND payload LIKE '%{order_id}%'"));
    }

    fn settle_deliveries(&self, filter: &str) {
        let condition = format!("status = 'pending' AND attempts = 0{filter}");
        let pending = || {
            self.deliveries_where(&condition)
                .into_iter()
                .filter(|(_, count)| *count > 0)
                .map(|(context, count)| format!("{context}: {count}"))
                .collect::<Vec<_>>()
        };
        crate::eventually(
            || format!("deliveries still pending after 20 s: {:?}", pending()),
            || pending().is_empty().then_some(()),
        );
    }

    pub fn url(&self, path: &str) -> String {
        self.server().url(path)
    }

    /// Drops the PostgreSQL database under the running app (closing its connections), to
    /// see how the app answers when its store is gone.
    pub fn lose_database(&mut self) {
        let database = self.database.take();
        drop(database.expect("only a PostgreSQL shop has a database to lose"));
    }

    /// A caller without a token, in the default tenant.
    pub fn anonymous(&self) -> Client<'_> {
        Client {
            shop: self,
            token: None,
            tenant: None,
        }
    }

    /// A caller presenting `token` (valid or not).
    pub fn with_token(&self, token: &str) -> Client<'_> {
        Client {
            token: Some(token.to_owned()),
            ..self.anonymous()
        }
    }

    /// The first admin of the default tenant, logged in.
    pub fn admin(&self) -> Client<'_> {
        self.anonymous().login(ADMIN_EMAIL, ADMIN_PASSWORD)
    }

    /// The first admin of `tenant`, logged in; the tenant is created (as the platform
    /// operator does) when it does not exist yet, with that admin.
    pub fn admin_of(&self, tenant: &str) -> Client<'_> {
        let created = self.create_tenant(tenant);
        assert!(
            [201, 409].contains(&created.status),
            "creating tenant {tenant}: {} {}",
            created.status,
            created.body
        );
        self.anonymous()
            .in_tenant(tenant)
            .login(ADMIN_EMAIL, ADMIN_PASSWORD)
    }

    /// `POST /api/v1/auth/login` in the default tenant from the loopback address `source`
    /// (say 127.0.0.2, another client than the tests' usual 127.0.0.1): HTTP/1.0 over a
    /// socket bound to it, so the answer ends with the connection. Only status and body.
    pub fn login_from(&self, source: std::net::Ipv4Addr, email: &str, password: &str) -> Reply {
        use socket2::{Domain, Socket, Type};
        use std::io::{Read, Write};
        let body = json!({ "email": email, "password": password }).to_string();
        let url = self.url("/api/v1/auth/login");
        let server = url
            .trim_start_matches("http://")
            .split('/')
            .next()
            .expect("the app's address");
        let address: std::net::SocketAddr = server.parse().expect("an ip:port");
        let socket = Socket::new(Domain::IPV4, Type::STREAM, None).expect("a socket");
        socket
            .bind(&std::net::SocketAddr::from((source, 0)).into())
            .expect("binding the source address");
        socket
            .connect(&address.into())
            .expect("connecting to the app");
        let mut stream: std::net::TcpStream = socket.into();
        write!(
            stream,
            "POST /api/v1/auth/login HTTP/1.0\r\nHost: {server}\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n{body}",
            body.len()
        )
        .expect("sending the login");
        let mut answer = String::new();
        stream
            .read_to_string(&mut answer)
            .expect("reading the answer");
        let (head, body) = answer.split_once("\r\n\r\n").unwrap_or((&answer, ""));
        let status = head
            .split_whitespace()
            .nth(1)
            .and_then(|code| code.parse().ok())
            .unwrap_or_else(|| panic!("no status line in {answer:?}"));
        Reply {
            status,
            headers: Default::default(),
            body: body.to_owned(),
        }
    }

    /// `POST /api/v1/tenants` as the platform operator: `tenant`, with the test admin.
    pub fn create_tenant(&self, tenant: &str) -> Reply {
        let admin =
            json!({ "email": ADMIN_EMAIL, "password": ADMIN_PASSWORD, "name": "Administrator" });
        self.anonymous()
            .request("POST", "/api/v1/tenants")
            .header("x-operator-key", OPERATOR_KEY)
            .json(&json!({ "id": tenant, "admin": admin }))
            .send()
    }

    /// A newly registered customer of the default tenant, logged in.
    pub fn customer(&self) -> Account<'_> {
        self.anonymous().register_customer()
    }
}

impl Drop for Shop {
    fn drop(&mut self) {
        // A failing test shows what the host and the components logged.
        if std::thread::panicking() {
            eprintln!("--- app output ---\n{}", self.server().output());
        }
    }
}

/// Someone calling the app: an optional bearer token and an optional `x-tenant-id`.
#[derive(Clone)]
pub struct Client<'a> {
    shop: &'a Shop,
    token: Option<String>,
    tenant: Option<String>,
}

impl<'a> Client<'a> {
    /// The same caller, sending `x-tenant-id: tenant`.
    pub fn in_tenant(self, tenant: &str) -> Client<'a> {
        Client {
            tenant: Some(tenant.to_owned()),
            ..self
        }
    }

    /// The shop this caller calls.
    pub fn shop(&self) -> &'a Shop {
        self.shop
    }

    pub fn token(&self) -> &str {
        self.token.as_deref().expect("this client has a token")
    }

    /// A request carrying this caller's token and tenant.
    pub fn request(&self, method: &str, path: &str) -> Request {
        let mut request = Request::new(method, &self.shop.url(path));
        if let Some(token) = &self.token {
            request = request.header("authorization", &format!("Bearer {token}"));
        }
        if let Some(tenant) = &self.tenant {
            request = request.header("x-tenant-id", tenant);
        }
        request
    }

    pub fn get(&self, path: &str) -> Reply {
        self.request("GET", path).send()
    }

    pub fn delete(&self, path: &str) -> Reply {
        self.request("DELETE", path).send()
    }

    pub fn post(&self, path: &str, body: &Value) -> Reply {
        self.request("POST", path).json(body).send()
    }

    pub fn patch(&self, path: &str, body: &Value) -> Reply {
        self.request("PATCH", path).json(body).send()
    }

    /// `POST /api/v1/auth/login` in this caller's tenant.
    pub fn try_login(&self, email: &str, password: &str) -> Reply {
        self.post(
            "/api/v1/auth/login",
            &json!({ "email": email, "password": password }),
        )
    }

    /// Logs in (which must succeed) and returns this caller with the new token.
    pub fn login(&self, email: &str, password: &str) -> Client<'a> {
        let reply = self.try_login(email, password);
        let body = reply.expect_ok();
        assert_eq!(body["token_type"], "Bearer", "login answer: {body}");
        assert!(
            body["expires_in"]
                .as_i64()
                .is_some_and(|seconds| seconds > 0),
            "login answer without a positive expires_in: {body}"
        );
        let token = body["access_token"]
            .as_str()
            .unwrap_or_else(|| panic!("login answer without access_token: {body}"));
        Client {
            token: Some(token.to_owned()),
            ..self.clone()
        }
    }

    /// `POST /api/v1/auth/register` in this caller's tenant.
    pub fn register(&self, email: &str, password: &str, name: &str) -> Reply {
        self.post(
            "/api/v1/auth/register",
            &json!({ "email": email, "password": password, "name": name }),
        )
    }

    /// Registers a customer with a fresh email in this caller's tenant and logs them in.
    pub fn register_customer(&self) -> Account<'a> {
        let email = format!("{}@shop.test", testing::unique_name("customer"));
        let password = CUSTOMER_PASSWORD.to_owned();
        let reply = self.register(&email, &password, "Casey Customer");
        assert_eq!(reply.status, 201, "register: {}", reply.body);
        let client = self.login(&email, &password);
        let me = client.get("/api/v1/users/me").expect_ok();
        Account {
            id: crate::text(&me, "id"),
            email,
            password,
            client,
        }
    }
}

/// A registered user and their logged-in client.
pub struct Account<'a> {
    pub id: String,
    pub email: String,
    pub password: String,
    pub client: Client<'a>,
}

/// Whether `error` says the store or its outbox does not exist yet (no request has
/// opened that context): SQLite's file or table, PostgreSQL's schema or relation.
fn never_opened(error: &str) -> bool {
    [
        "unable to open database file",
        "no such table",
        "does not exist",
    ]
    .iter()
    .any(|sign| error.contains(sign))
}

fn sqlite(path: &Path, sql: &str) -> rusqlite::Result<String> {
    // Never creates the file: a context the app has not opened yet has no database.
    let flags =
        rusqlite::OpenFlags::SQLITE_OPEN_READ_WRITE | rusqlite::OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let connection = rusqlite::Connection::open_with_flags(path, flags)?;
    connection.busy_timeout(std::time::Duration::from_secs(10))?;
    let mut statement = connection.prepare(sql)?;
    let columns = statement.column_count();
    let mut rows = statement.query([])?;
    let mut out = String::new();
    while let Some(row) = rows.next()? {
        let values = (0..columns)
            .map(|i| {
                Ok(match row.get_ref(i)? {
                    rusqlite::types::ValueRef::Null => String::new(),
                    rusqlite::types::ValueRef::Integer(n) => n.to_string(),
                    rusqlite::types::ValueRef::Real(x) => x.to_string(),
                    rusqlite::types::ValueRef::Text(t) | rusqlite::types::ValueRef::Blob(t) => {
                        String::from_utf8_lossy(t).into_owned()
                    }
                })
            })
            .collect::<rusqlite::Result<Vec<_>>>()?;
        out.push_str(&values.join("|"));
        out.push('\n');
    }
    Ok(out)
}

/// The runtime config of one shop: its SQLite databases and key-value store under `state`.
/// Where the app's `default` key-value store lives.
#[derive(Clone, Copy)]
enum KeyValue {
    /// A SQLite file in the shop's state directory (the embedded default).
    File,
    /// The Redis on loopback that `scripts/services redis` provides.
    Redis,
}

/// The runtime config's file name in a shop's state directory.
const RUNTIME_CONFIG: &str = "runtime-config.toml";

fn write_runtime_config(state: &Path, key_value: KeyValue) {
    let mut toml = String::new();
    for database in STORE_CONTEXTS {
        toml.push_str(&format!(
            "[sqlite_database.{database}]\ntype = \"spin\"\npath = {}\n\n",
            toml_path(&state.join(format!("{database}.db")))
        ));
    }
    toml.push_str(&match key_value {
        KeyValue::File => format!(
            "[key_value_store.default]\ntype = \"spin\"\npath = {}\n",
            toml_path(&state.join("key_value.db"))
        ),
        KeyValue::Redis => format!(
            "[key_value_store.default]\ntype = \"redis\"\nurl = \"{}\"\n",
            testing::REDIS_URL
        ),
    });
    std::fs::write(state.join(RUNTIME_CONFIG), toml).expect("write the runtime config");
}

/// A PostgreSQL database of its own on the shared server for a `Postgres` shop.
fn scratch_database(store: Store) -> Option<ScratchDatabase> {
    (store == Store::Postgres).then(ScratchDatabase::create)
}

/// The command that serves the repo's app from `state` (its runtime config written
/// there), on `database` when given (else SQLite), with the tests' variables and then
/// `environment`.
fn up(
    state: &Path,
    database: Option<&ScratchDatabase>,
    environment: &[(String, String)],
) -> Command {
    let mut command = up_command(state);
    command
        .arg("--from")
        .arg(workspace_dir().join("spin.toml"))
        .arg("--runtime-config-file")
        .arg(state.join(RUNTIME_CONFIG))
        .current_dir(state)
        .env("SPIN_VARIABLE_JWT_SECRET", JWT_SECRET)
        .env("SPIN_VARIABLE_EVENT_SIGNING_KEY", EVENT_SIGNING_KEY)
        .env("SPIN_VARIABLE_ADMIN_EMAIL", ADMIN_EMAIL)
        .env("SPIN_VARIABLE_ADMIN_PASSWORD", ADMIN_PASSWORD)
        .env("SPIN_VARIABLE_PAYMENT_PROVIDER", "test")
        .env("SPIN_VARIABLE_OPERATOR_KEY", OPERATOR_KEY);
    match database {
        Some(database) => command
            .env("SPIN_VARIABLE_DB_DRIVER", "postgres")
            .env("SPIN_VARIABLE_DB_URL", database.url())
            .env("SPIN_VARIABLE_DB_HOST", database.server()),
        None => command.env("SPIN_VARIABLE_DB_DRIVER", "sqlite"),
    };
    // Rate limits are the edge tests' subject; elsewhere they would only make a busy
    // test flaky. A test's own variables come later and win.
    command
        .env("SPIN_VARIABLE_RATE_LIMIT_PER_SECOND", "100000")
        .env("SPIN_VARIABLE_RATE_LIMIT_BURST", "100000");
    command.envs(environment.iter().map(|(name, value)| (name, value)));
    command
}

/// App `variables` (name, value) as the environment that sets them.
fn environment(variables: &[(&str, &str)]) -> Vec<(String, String)> {
    variables
        .iter()
        .map(|(name, value)| {
            (
                format!("SPIN_VARIABLE_{}", name.to_uppercase()),
                (*value).to_owned(),
            )
        })
        .collect()
}

/// `up` on the runtime under test: the real Spin CLI that `SPIN_BIN` names (parity runs,
/// see `scripts/test`), else fusion-host. fusion-host binds a free port itself and says
/// which; Spin says the address it was given, so a free port is picked for it.
fn up_command(state: &Path) -> Command {
    match std::env::var_os("SPIN_BIN").filter(|spin| !spin.is_empty()) {
        Some(spin) => {
            let port = std::net::TcpListener::bind("127.0.0.1:0")
                .and_then(|listener| listener.local_addr())
                .expect("find a free port")
                .port();
            let mut command = Command::new(spin);
            command
                .args(["up", "--listen", &format!("127.0.0.1:{port}")])
                .arg("--state-dir")
                .arg(state.join("spin"));
            command
        }
        None => {
            let mut command = Command::new(testing::built_artifact(
                "debug/fusion-host",
                "scripts/setup",
            ));
            command.args(["up", "--listen", "127.0.0.1:0"]);
            // Its metrics, the app's outbox included, as `scripts/up` serves them.
            command.args([
                "--admin-listen",
                "127.0.0.1:0",
                "--app-metrics",
                "/api/v1/admin/metrics",
            ]);
            command
        }
    }
}

/// Every component `source` in the manifest must exist, or the host would fail later with
/// a less helpful message.
fn check_components_built(manifest: &Path) {
    let text = std::fs::read_to_string(manifest)
        .unwrap_or_else(|e| panic!("read {}: {e}", manifest.display()));
    let table: toml::Table = text
        .parse()
        .unwrap_or_else(|e| panic!("parse {}: {e}", manifest.display()));
    let app_dir = manifest.parent().expect("the manifest lies in a directory");
    let components = table
        .get("component")
        .and_then(toml::Value::as_table)
        .into_iter()
        .flatten();
    for (id, component) in components {
        let Some(source) = component.get("source").and_then(toml::Value::as_str) else {
            continue;
        };
        let wasm = app_dir.join(source);
        assert!(
            wasm.is_file(),
            "component {id}: {} is missing; build the app first with `scripts/setup`",
            wasm.display()
        );
    }
}
