//! The application model of fusion-host, free of any engine: `spin.toml`, the runtime
//! config, HTTP routing and Spin's request headers, variables, and `allowed_outbound_hosts`.
//! Each module follows the Spin 4.0.2 crate it names in its documentation.

pub mod allowed_hosts;
pub mod error;
pub mod manifest;
pub mod routes;
pub mod runtime_config;
pub mod variables;

pub use error::ConfigError;

#[cfg(test)]
pub(crate) mod test_files {
    use std::path::PathBuf;
    use std::sync::atomic::{AtomicUsize, Ordering};

    /// Writes `contents` to `name` in a fresh temporary directory and returns its path.
    pub fn write(name: &str, contents: &str) -> PathBuf {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let dir = std::env::temp_dir().join(format!(
            "fusion-host-app-test-{}-{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::create_dir_all(&dir).expect("create temp dir");
        let path = dir.join(name);
        std::fs::write(&path, contents).expect("write temp file");
        path
    }
}
