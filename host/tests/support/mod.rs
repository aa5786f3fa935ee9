//! Shared harness of the fusion-host conformance tests: writes an application (spin.toml and
//! runtime config) into a temporary directory, runs the real `fusion-host up` binary on a free
//! loopback port, and talks to it over HTTP. The components are the fixtures in
//! `host/fixtures/` (built by `scripts/build-fixtures`).

// Every test file compiles this module; each uses a different part of it.
#![allow(dead_code)]

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::Value;

/// How long a host may take to compile its components and start listening (a cold compile of
/// the probe in an unoptimized test build of the host takes a while on two cores).
const STARTUP_TIMEOUT: Duration = Duration::from_secs(120);
const EXIT_TIMEOUT: Duration = Duration::from_secs(30);
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

pub const POSTGRES_ADDR: &str = "127.0.0.1:5432";
pub const POSTGRES_URL: &str = "postgres://fusion:fusion@127.0.0.1:5432/fusion";
pub const REDIS_ADDR: &str = "127.0.0.1:6379";
pub const REDIS_URL: &str = "redis://127.0.0.1:6379";

fn workspace_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("host/ has a parent: the workspace")
        .to_path_buf()
}

/// A fixture component's wasm, from `$CARGO_TARGET_DIR` or the workspace's `target/`.
fn fixture_wasm(file_stem: &str) -> PathBuf {
    let workspace = workspace_dir();
    let relative = Path::new("wasm32-wasip2/release").join(format!("{file_stem}.wasm"));
    let mut candidates = Vec::new();
    if let Some(dir) = std::env::var_os("CARGO_TARGET_DIR") {
        candidates.push(workspace.join(dir).join(&relative));
    }
    candidates.push(workspace.join("target").join(&relative));
    if let Some(found) = candidates.iter().find(|p| p.is_file()) {
        return found.clone();
    }
    panic!(
        "fixture component {file_stem}.wasm not found (looked at {}); build the fixtures first \
         with `scripts/build-fixtures`",
        candidates
            .iter()
            .map(|p| p.display().to_string())
            .collect::<Vec<_>>()
            .join(", ")
    )
}

pub fn probe_wasm() -> PathBuf {
    fixture_wasm("fixture_probe")
}

pub fn subscriber_wasm() -> PathBuf {
    fixture_wasm("fixture_subscriber")
}

/// A manifest: the `[application]` header plus `body`. In `body`, `{probe}` and
/// `{subscriber}` stand for the fixtures' wasm paths.
pub fn manifest(body: &str) -> String {
    let body = body
        .replace("{probe}", &toml_path(&probe_wasm()))
        .replace("{subscriber}", &toml_path(&subscriber_wasm()));
    format!("spin_manifest_version = 2\n\n[application]\nname = \"fixture-app\"\n\n{body}")
}

/// A probe component with `FIXTURE_NAME` set to its id, so echoes tell which one answered.
/// `extra` is more TOML for the component's table (keys first, then its sub-tables).
pub fn probe_component(id: &str, extra: &str) -> String {
    format!(
        "[component.{id}]\nsource = {}\nenvironment = {{ FIXTURE_NAME = \"{id}\" }}\n{extra}\n",
        toml_path(&probe_wasm())
    )
}

/// A path as a TOML literal string (paths here never contain a single quote).
pub fn toml_path(path: &Path) -> String {
    format!("'{}'", path.display())
}

/// A name no other test run uses, for tables, keys and channels on shared servers.
pub fn unique_name(prefix: &str) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or_default();
    format!("{prefix}_{}_{nanos}", std::process::id())
}

/// An application directory holding spin.toml and, optionally, a runtime-config file.
pub struct App {
    dir: tempfile::TempDir,
    runtime_config: Option<PathBuf>,
}

impl App {
    pub fn new(manifest_toml: &str) -> App {
        let dir = tempfile::Builder::new()
            .prefix("fusion-host-test-")
            .tempdir()
            .expect("create a temporary app dir");
        std::fs::write(dir.path().join("spin.toml"), manifest_toml).expect("write spin.toml");
        App {
            dir,
            runtime_config: None,
        }
    }

    /// Writes `runtime-config.toml`; `{dir}` in the text stands for the app directory.
    pub fn with_runtime_config(mut self, toml: &str) -> App {
        let path = self.dir.path().join("runtime-config.toml");
        let text = toml.replace("{dir}", &self.dir.path().display().to_string());
        std::fs::write(&path, text).expect("write runtime-config.toml");
        self.runtime_config = Some(path);
        self
    }

    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    pub fn manifest_path(&self) -> PathBuf {
        self.dir.path().join("spin.toml")
    }

    pub fn runtime_config_path(&self) -> Option<&Path> {
        self.runtime_config.as_deref()
    }

    fn command(&self, listen: SocketAddr, env: &[(&str, &str)]) -> Command {
        let mut command = Command::new(env!("CARGO_BIN_EXE_fusion-host"));
        command
            .arg("up")
            .arg("--from")
            .arg(self.manifest_path())
            .arg("--listen")
            .arg(listen.to_string());
        if let Some(runtime_config) = &self.runtime_config {
            command.arg("--runtime-config-file").arg(runtime_config);
        }
        command
            .current_dir(self.dir.path())
            .envs(env.iter().copied())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        command
    }

    /// Starts the host on a free port and waits until it accepts connections.
    pub fn start(&self) -> Host {
        self.start_with_env(&[])
    }

    pub fn start_with_env(&self, env: &[(&str, &str)]) -> Host {
        // Port 0: the host binds a free port itself and announces it, so parallel tests
        // never race for a port picked in advance.
        let any_port: SocketAddr = "127.0.0.1:0".parse().expect("address");
        let mut child = self
            .command(any_port, env)
            .spawn()
            .expect("spawn fusion-host");
        let output = capture_output(&mut child);
        let addr = wait_for_announced_address(&mut child, &output);
        Host {
            child,
            addr,
            output,
        }
    }

    /// Runs the host with `listen` and expects it to exit by itself (bad input).
    pub fn run_expecting_exit(&self, listen: SocketAddr, env: &[(&str, &str)]) -> Exited {
        let mut child = self
            .command(listen, env)
            .spawn()
            .expect("spawn fusion-host");
        let output = capture_output(&mut child);
        let status = wait_with_timeout(&mut child, STARTUP_TIMEOUT).unwrap_or_else(|| {
            let _ = child.kill();
            let _ = child.wait();
            panic!(
                "fusion-host kept running although it should have exited; output:\n{}",
                output.lock().unwrap()
            )
        });
        // The reader threads finish once the pipes close; give them a moment.
        std::thread::sleep(Duration::from_millis(100));
        let output = output.lock().unwrap().clone();
        Exited { status, output }
    }
}

/// How a host that exited by itself ended.
pub struct Exited {
    pub status: ExitStatus,
    /// stdout and stderr, interleaved.
    pub output: String,
}

impl Exited {
    pub fn code(&self) -> Option<i32> {
        self.status.code()
    }
}

/// A running `fusion-host up`; killed when dropped.
pub struct Host {
    child: Child,
    pub addr: SocketAddr,
    output: Arc<Mutex<String>>,
}

impl Host {
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// Everything the host (and its guests) printed so far.
    pub fn output(&self) -> String {
        self.output.lock().unwrap().clone()
    }

    pub fn request(&self, method: &str, path: &str, body: Option<&str>) -> Reply {
        send(method, &self.url(path), body)
    }

    pub fn get(&self, path: &str) -> Reply {
        self.request("GET", path, None)
    }

    pub fn post_json(&self, path: &str, body: &Value) -> Reply {
        self.request("POST", path, Some(&body.to_string()))
    }

    /// GET that must answer 200 with JSON.
    pub fn get_json(&self, path: &str) -> Value {
        self.get(path).expect_ok()
    }

    /// Sends SIGTERM and waits for the exit.
    pub fn terminate(mut self) -> ExitStatus {
        let pid = self.child.id().to_string();
        let sent = Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .expect("run kill");
        assert!(sent.success(), "kill -TERM {pid} failed");
        wait_with_timeout(&mut self.child, EXIT_TIMEOUT).unwrap_or_else(|| {
            panic!(
                "fusion-host did not exit within {EXIT_TIMEOUT:?} of SIGTERM; output:\n{}",
                self.output()
            )
        })
    }
}

impl Drop for Host {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// An HTTP response as the tests look at it.
#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub body: String,
}

impl Reply {
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body)
            .unwrap_or_else(|e| panic!("response body is not JSON ({e}): {:?}", self.body))
    }

    /// The JSON body of a 200 response.
    pub fn expect_ok(&self) -> Value {
        assert_eq!(self.status, 200, "unexpected status, body: {}", self.body);
        self.json()
    }

    /// The `error` variant of a failed probe operation, checking the status too.
    pub fn expect_error(&self, status: u16) -> (String, String) {
        assert_eq!(
            self.status, status,
            "unexpected status, body: {}",
            self.body
        );
        let json = self.json();
        let text = |key: &str| json[key].as_str().unwrap_or_default().to_owned();
        (text("error"), text("detail"))
    }
}

/// One HTTP/1.1 request on a fresh connection (no pooling, so a host shutting down is not
/// kept busy by idle keep-alive connections of the tests).
pub fn send(method: &str, url: &str, body: Option<&str>) -> Reply {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(REQUEST_TIMEOUT))
        .max_idle_connections(0)
        .build()
        .into();
    let request = ureq::http::Request::builder()
        .method(method)
        .uri(url)
        .header("content-type", "application/json")
        .body(body.unwrap_or_default().to_owned())
        .expect("a valid request");
    let mut response = agent
        .run(request)
        .unwrap_or_else(|e| panic!("{method} {url} failed: {e}"));
    let status = response.status().as_u16();
    let body = response
        .body_mut()
        .read_to_string()
        .unwrap_or_else(|e| panic!("reading the body of {method} {url}: {e}"));
    Reply { status, body }
}

/// A loopback address nothing listens on right now.
pub fn free_port() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind an ephemeral port");
    listener.local_addr().expect("local address")
}

/// Waits for the host's "serving <app> on http://ADDR" line and returns ADDR.
fn wait_for_announced_address(child: &mut Child, output: &Arc<Mutex<String>>) -> SocketAddr {
    let deadline = Instant::now() + STARTUP_TIMEOUT;
    loop {
        let announced = output.lock().unwrap().lines().find_map(|line| {
            let (_, rest) = line.split_once(" on http://")?;
            rest.split_whitespace().next()?.parse::<SocketAddr>().ok()
        });
        if let Some(addr) = announced {
            return addr;
        }
        if let Ok(Some(status)) = child.try_wait() {
            std::thread::sleep(Duration::from_millis(100));
            panic!(
                "fusion-host exited ({status}) before listening; output:\n{}",
                output.lock().unwrap()
            );
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!(
                "fusion-host did not listen within {STARTUP_TIMEOUT:?}; output:\n{}",
                output.lock().unwrap()
            );
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn capture_output(child: &mut Child) -> Arc<Mutex<String>> {
    let output = Arc::new(Mutex::new(String::new()));
    let streams: [Option<Box<dyn Read + Send>>; 2] = [
        child
            .stdout
            .take()
            .map(|s| Box::new(s) as Box<dyn Read + Send>),
        child
            .stderr
            .take()
            .map(|s| Box::new(s) as Box<dyn Read + Send>),
    ];
    for mut stream in streams.into_iter().flatten() {
        let output = output.clone();
        std::thread::spawn(move || {
            let mut buf = [0u8; 4096];
            while let Ok(n) = stream.read(&mut buf) {
                if n == 0 {
                    break;
                }
                output
                    .lock()
                    .unwrap()
                    .push_str(&String::from_utf8_lossy(&buf[..n]));
            }
        });
    }
    output
}

fn wait_with_timeout(child: &mut Child, timeout: Duration) -> Option<ExitStatus> {
    let deadline = Instant::now() + timeout;
    while Instant::now() < deadline {
        if let Some(status) = child.try_wait().expect("wait for fusion-host") {
            return Some(status);
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    None
}

/// A plain HTTP server on loopback that answers every request with 200 and `body`; it stands
/// for an external host in the outbound-HTTP tests and lives as long as the test process.
pub fn stub_upstream(body: &'static str) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind the stub upstream");
    let addr = listener.local_addr().expect("local address");
    std::thread::spawn(move || {
        for mut stream in listener.incoming().flatten() {
            let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
            // Read the request head before answering, so closing does not reset the connection.
            let mut head = Vec::new();
            let mut byte = [0u8; 1];
            while !head.ends_with(b"\r\n\r\n") {
                match stream.read(&mut byte) {
                    Ok(1) => head.push(byte[0]),
                    _ => break,
                }
            }
            let response = format!(
                "HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                body.len()
            );
            let _ = stream.write_all(response.as_bytes());
        }
    });
    addr
}

/// Starts PostgreSQL (`scripts/services postgres`) unless something answers on 5432.
pub fn ensure_postgres() {
    ensure_service("postgres", POSTGRES_ADDR);
}

/// Starts Redis (`scripts/services redis`) unless something answers on 6379.
pub fn ensure_redis() {
    ensure_service("redis", REDIS_ADDR);
}

fn ensure_service(name: &str, addr: &str) {
    // Tests of one binary run in parallel; one of them starts the service, the others wait.
    static STARTING: Mutex<()> = Mutex::new(());
    let _guard = STARTING.lock().unwrap_or_else(|e| e.into_inner());
    let addr: SocketAddr = addr.parse().expect("a socket address");
    if TcpStream::connect_timeout(&addr, Duration::from_secs(1)).is_ok() {
        return;
    }
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

/// A synchronous connection to the test Redis, for checking what guests did.
pub fn redis_connection() -> redis::Connection {
    redis::Client::open(REDIS_URL)
        .and_then(|client| client.get_connection_with_timeout(Duration::from_secs(5)))
        .expect("connect to Redis on 127.0.0.1:6379")
}

/// Polls `check` every 100 ms until it returns `Some`, or panics after `timeout`.
pub fn eventually<T>(what: &str, timeout: Duration, mut check: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(value) = check() {
            return value;
        }
        assert!(
            Instant::now() < deadline,
            "timed out after {timeout:?} waiting for {what}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}
