//! Test support shared by the host's conformance tests (`host/tests`) and the black-box
//! acceptance tests (`tests/`): a server run as a child process that announces its address,
//! HTTP calls and their replies, the backing services (PostgreSQL, Redis) and where the
//! workspace keeps its build output.

mod cluster;
mod http;
pub mod otlp;
mod server;
mod services;

pub use cluster::{PostgresCluster, bindir as postgres_bindir, running_as_root};
pub use http::{Reply, Request, send};
pub use server::{Exited, Server, run_to_exit};
pub use services::{
    KAFKA_ADDR, POSTGRES_ADDR, POSTGRES_URL, REDIS_ADDR, REDIS_URL, STREAMS_ADDR, STREAMS_URL,
    ScratchDatabase, ensure_kafka, ensure_postgres, ensure_redis, ensure_streams, restart_kafka,
    restart_streams,
};

use std::net::{SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// The workspace root (this crate lives in `crates/testing`).
pub fn workspace_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .ancestors()
        .nth(2)
        .expect("crates/testing lies two levels below the workspace root")
        .to_path_buf()
}

/// The target directory: `$CARGO_TARGET_DIR` (relative to the workspace) when set, else
/// the workspace's `target/`.
pub fn target_dir() -> PathBuf {
    let workspace = workspace_dir();
    match std::env::var_os("CARGO_TARGET_DIR") {
        Some(dir) => workspace.join(dir),
        None => workspace.join("target"),
    }
}

/// A build output, `relative` to the [`target_dir`], or else to the workspace's
/// `target/`. Panics naming `build_command` when it is absent.
pub fn built_artifact(relative: impl AsRef<Path>, build_command: &str) -> PathBuf {
    let mut candidates = vec![target_dir().join(relative.as_ref())];
    let default = workspace_dir().join("target").join(relative.as_ref());
    if candidates[0] != default {
        candidates.push(default);
    }
    if let Some(found) = candidates.iter().find(|path| path.is_file()) {
        return found.clone();
    }
    panic!(
        "{} not found (looked at {}); build it first with `{build_command}`",
        relative.as_ref().display(),
        candidates
            .iter()
            .map(|path| path.display().to_string())
            .collect::<Vec<_>>()
            .join(", ")
    )
}

/// A path as a TOML literal string (paths here never contain a single quote).
pub fn toml_path(path: &Path) -> String {
    format!("'{}'", path.display())
}

/// A name no other test uses, for databases, tables, keys, channels and tenants on shared
/// servers: `prefix`, the process id, a per-process counter and the clock's nanoseconds.
pub fn unique_name(prefix: &str) -> String {
    use std::sync::atomic::{AtomicU32, Ordering};
    static COUNTER: AtomicU32 = AtomicU32::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|elapsed| elapsed.subsec_nanos())
        .unwrap_or_default();
    let count = COUNTER.fetch_add(1, Ordering::Relaxed);
    format!("{prefix}_{}_{count}_{nanos}", std::process::id())
}

/// A loopback address nothing listens on right now.
pub fn free_port() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind an ephemeral port");
    listener.local_addr().expect("local address")
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
