//! The backing services on loopback, as `scripts/services` provides them: PostgreSQL
//! (database `fusion`, user `fusion` / `fusion`) and Redis.

use std::net::{SocketAddr, TcpStream};
use std::process::Command;
use std::sync::Mutex;
use std::time::Duration;

use crate::{unique_name, workspace_dir};

pub const POSTGRES_ADDR: &str = "127.0.0.1:5432";
pub const POSTGRES_URL: &str = "postgres://fusion:fusion@127.0.0.1:5432/fusion";
pub const REDIS_ADDR: &str = "127.0.0.1:6379";
pub const REDIS_URL: &str = "redis://127.0.0.1:6379";
/// A Kafka-protocol broker (tansu on an S3 store).
pub const KAFKA_ADDR: &str = "127.0.0.1:9092";

/// Redis as the broker of `event_transport = redis` (appending every write before it
/// answers), apart from the key-value Redis.
pub const STREAMS_ADDR: &str = "127.0.0.1:6380";
pub const STREAMS_URL: &str = "redis://127.0.0.1:6380";

/// Starts PostgreSQL (`scripts/services postgres`) unless something answers on 5432.
pub fn ensure_postgres() {
    ensure_service("postgres", POSTGRES_ADDR);
}

/// Starts Redis (`scripts/services redis`) unless something answers on 6379.
pub fn ensure_redis() {
    ensure_service("redis", REDIS_ADDR);
}

/// Starts the Kafka-protocol broker (`scripts/services kafka`) unless something answers
/// on 9092.
pub fn ensure_kafka() {
    ensure_service("kafka", KAFKA_ADDR);
}

/// Restarts the broker process `scripts/services kafka` started (its store stays up).
pub fn restart_kafka() {
    run_services("kafka-restart");
}

/// Starts the Streams broker (`scripts/services streams`) unless something answers on
/// 6380.
pub fn ensure_streams() {
    ensure_service("streams", STREAMS_ADDR);
}

/// Kills the Streams broker as a crash does, and starts it again on its files.
pub fn restart_streams() {
    run_services("streams-restart");
}

fn ensure_service(name: &str, addr: &str) {
    // Tests of one binary run in parallel; one of them starts the service, the others wait.
    static STARTING: Mutex<()> = Mutex::new(());
    let _guard = STARTING.lock().unwrap_or_else(|e| e.into_inner());
    let addr: SocketAddr = addr.parse().expect("a socket address");
    if TcpStream::connect_timeout(&addr, Duration::from_secs(1)).is_ok() {
        return;
    }
    run_services(name);
}

fn run_services(name: &str) {
    let script = workspace_dir().join("scripts/services");
    let output = Command::new(&script)
        .arg(name)
        .output()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", script.display()));
    assert!(
        output.status.success(),
        "`scripts/services {name}` failed ({}):\n{}{}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

/// A fresh PostgreSQL database owned by `fusion`, so a test never sees another's rows;
/// dropped (with whatever connections remain) when this value is dropped.
pub struct ScratchDatabase {
    /// The server's host:port.
    server: String,
    name: String,
    /// The tests' own connection, made at the first [`ScratchDatabase::sql`].
    client: Mutex<Option<postgres::Client>>,
}

impl ScratchDatabase {
    /// Creates `fusion_test_<unique>` on the local PostgreSQL, starting it when needed; the
    /// `fusion` role may create databases (`scripts/services postgres` grants it).
    pub fn create() -> ScratchDatabase {
        ensure_postgres();
        ScratchDatabase::create_on(POSTGRES_ADDR)
    }

    /// Creates `fusion_test_<unique>` on the PostgreSQL at `server` (host:port), whose
    /// `fusion` role (password `fusion`) may create databases.
    pub fn create_on(server: &str) -> ScratchDatabase {
        let name = unique_name("fusion_test");
        if let Err(refusal) = run_sql(
            &mut connect(server, "fusion"),
            &format!("CREATE DATABASE {name}"),
        ) {
            panic!(
                "cannot create the test database {name} on {server}: {refusal}\n\
                 the fusion role needs CREATEDB (`ALTER ROLE fusion CREATEDB`), which \
                 `scripts/services postgres` grants on a cluster it sets up"
            );
        }
        ScratchDatabase {
            server: server.to_owned(),
            name,
            client: Mutex::new(None),
        }
    }

    /// The URL the app connects with.
    pub fn url(&self) -> String {
        format!("postgres://fusion:fusion@{}/{}", self.server, self.name)
    }

    /// The server's host:port (what the app must be allowed to reach).
    pub fn server(&self) -> &str {
        &self.server
    }

    /// Runs `sql` (one or more statements) in this database; its rows as psql's
    /// unaligned output gives them (a line each, columns separated by `|`, NULL empty),
    /// or the server's message.
    pub fn sql(&self, sql: &str) -> Result<String, String> {
        let mut client = self.client.lock().unwrap_or_else(|e| e.into_inner());
        let client = client.get_or_insert_with(|| connect(&self.server, &self.name));
        run_sql(client, sql)
    }
}

impl Drop for ScratchDatabase {
    fn drop(&mut self) {
        // Our own connection first: FORCE would end it anyway, with a noise in the log.
        drop(self.client.get_mut().map(Option::take));
        let drop_sql = format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name);
        if let Err(refusal) = run_sql(&mut connect(&self.server, "fusion"), &drop_sql) {
            eprintln!("could not drop the test database {}: {refusal}", self.name);
        }
    }
}

/// A connection as `fusion` to `database` of `server` (host:port).
fn connect(server: &str, database: &str) -> postgres::Client {
    let (host, port) = server.split_once(':').expect("host:port");
    postgres::Config::new()
        .host(host)
        .port(port.parse().expect("a port"))
        .user("fusion")
        .password("fusion")
        .dbname(database)
        .connect_timeout(Duration::from_secs(5))
        .connect(postgres::NoTls)
        .unwrap_or_else(|e| panic!("cannot connect to {database} on {server}: {e}"))
}

/// Runs `sql` in the simple query protocol (several statements, no parameters); its rows
/// in psql's unaligned form, or the server's message.
fn run_sql(client: &mut postgres::Client, sql: &str) -> Result<String, String> {
    let messages = client
        .simple_query(sql)
        .map_err(|error| match error.as_db_error() {
            Some(db) => format!("ERROR:  {}", db.message()),
            None => error.to_string(),
        })?;
    let mut out = String::new();
    for message in messages {
        if let postgres::SimpleQueryMessage::Row(row) = message {
            let columns: Vec<&str> = (0..row.len()).map(|i| row.get(i).unwrap_or("")).collect();
            out.push_str(&columns.join("|"));
            out.push('\n');
        }
    }
    Ok(out)
}
