//! Harness of the fusion-host conformance tests: writes an application (spin.toml and runtime
//! config) into a temporary directory, runs the real `fusion-host up` binary on a free
//! loopback port, and talks to it over HTTP. The components are the fixtures in
//! `host/fixtures/` (built by `scripts/build-fixtures`). The generic parts (processes, HTTP,
//! services) live in the `testing` crate.

// Every test file compiles this module, including its re-exports of the `testing` crate;
// each uses a different part of it.
#![allow(dead_code, unused_imports)]

mod tls_postgres;

pub use tls_postgres::TlsPostgres;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

pub use testing::{
    Exited, POSTGRES_URL, REDIS_URL, Reply, Server as Host, ensure_postgres, ensure_redis,
    eventually, free_port, send, toml_path, unique_name,
};

/// A fixture component's wasm, built by `scripts/build-fixtures`.
fn fixture_wasm(file_stem: &str) -> PathBuf {
    testing::built_artifact(
        Path::new("wasm32-wasip2/release").join(format!("{file_stem}.wasm")),
        "scripts/build-fixtures",
    )
}

pub fn probe_wasm() -> PathBuf {
    fixture_wasm("fixture_probe")
}

pub fn subscriber_wasm() -> PathBuf {
    fixture_wasm("fixture_subscriber")
}

/// The WASIp2 probe (spin-sdk 5.2, `spin:up@3.6.0`).
pub fn probe_p2_wasm() -> PathBuf {
    fixture_wasm("fixture_probe_p2")
}

/// The WASIp2 Redis subscriber (spin-sdk 5.2 `#[redis_component]`).
pub fn subscriber_p2_wasm() -> PathBuf {
    fixture_wasm("fixture_subscriber_p2")
}

/// A spin-sdk 5.2 component importing Spin's LLM interface, which the host does not link.
pub fn unlinked_p2_wasm() -> PathBuf {
    fixture_wasm("fixture_unlinked_p2")
}

/// A manifest: the `[application]` header plus `body`. In `body`, `{probe}`,
/// `{subscriber}`, `{probe_p2}`, `{subscriber_p2}` and `{unlinked_p2}` stand for the
/// fixtures' wasm paths.
pub fn manifest(body: &str) -> String {
    let mut body = body.to_owned();
    for (placeholder, wasm) in [
        ("{probe}", probe_wasm as fn() -> PathBuf),
        ("{subscriber}", subscriber_wasm),
        ("{probe_p2}", probe_p2_wasm),
        ("{subscriber_p2}", subscriber_p2_wasm),
        ("{unlinked_p2}", unlinked_p2_wasm),
    ] {
        if body.contains(placeholder) {
            body = body.replace(placeholder, &toml_path(&wasm()));
        }
    }
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

/// Like [`probe_component`], for the WASIp2 probe.
pub fn probe_p2_component(id: &str, extra: &str) -> String {
    format!(
        "[component.{id}]\nsource = {}\nenvironment = {{ FIXTURE_NAME = \"{id}\" }}\n{extra}\n",
        toml_path(&probe_p2_wasm())
    )
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
            .envs(env.iter().copied());
        command
    }

    /// Starts the host on a free port and waits until it accepts connections.
    pub fn start(&self) -> Host {
        self.start_with_env(&[])
    }

    pub fn start_with_env(&self, env: &[(&str, &str)]) -> Host {
        // Port 0: the host binds a free port itself and announces it.
        let any_port: SocketAddr = "127.0.0.1:0".parse().expect("address");
        Host::start(self.command(any_port, env))
    }

    /// Starts the host with extra command-line `args` (say `--shutdown-timeout 1`).
    pub fn start_with_args(&self, args: &[&str]) -> Host {
        let any_port: SocketAddr = "127.0.0.1:0".parse().expect("address");
        let mut command = self.command(any_port, &[]);
        command.args(args);
        Host::start(command)
    }

    /// Runs the host with `listen` and expects it to exit by itself (bad input).
    pub fn run_expecting_exit(&self, listen: SocketAddr, env: &[(&str, &str)]) -> Exited {
        testing::run_to_exit(self.command(listen, env))
    }
}

/// The probe's answer to a failed operation: `{ error, detail }` with an HTTP status.
pub trait ProbeReply {
    /// The `error` variant and the `detail` of a failed probe operation, checking the status.
    fn expect_error(&self, status: u16) -> (String, String);
}

impl ProbeReply for Reply {
    fn expect_error(&self, status: u16) -> (String, String) {
        let json = self.expect_json(status);
        let text = |key: &str| json[key].as_str().unwrap_or_default().to_owned();
        (text("error"), text("detail"))
    }
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

/// A server on loopback that reads a request's head, writes `answer` (may be empty) and then
/// neither answers more nor closes, until the client gives up: it stands for a stalled
/// upstream in the outbound-timeout tests and lives as long as the test process.
pub fn stalled_upstream(answer: &'static str) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind the stalled upstream");
    let addr = listener.local_addr().expect("local address");
    std::thread::spawn(move || {
        for mut stream in listener.incoming().flatten() {
            std::thread::spawn(move || {
                let mut head = Vec::new();
                let mut byte = [0u8; 1];
                while !head.ends_with(b"\r\n\r\n") {
                    match stream.read(&mut byte) {
                        Ok(1) => head.push(byte[0]),
                        _ => return,
                    }
                }
                let _ = stream.write_all(answer.as_bytes());
                // Hold the connection open until the client closes it.
                while matches!(stream.read(&mut byte), Ok(1)) {}
            });
        }
    });
    addr
}

/// A synchronous connection to the test Redis, for checking what guests did.
pub fn redis_connection() -> redis::Connection {
    redis::Client::open(testing::REDIS_URL)
        .and_then(|client| client.get_connection_with_timeout(Duration::from_secs(5)))
        .expect("connect to Redis on 127.0.0.1:6379")
}
