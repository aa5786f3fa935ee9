//! `cargo run -p wiring`: writes spin.toml's components and routes and the runtime configs
//! from wiring.toml. `cargo run -p wiring -- stores` prints the contexts with a store, one
//! per line (for scripts that write their own runtime config).

use std::path::Path;
use std::process::ExitCode;

use wiring::{RuntimeConfig, Wiring};

fn main() -> ExitCode {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    match run(&root, std::env::args().nth(1).as_deref()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("wiring: {error}");
            ExitCode::FAILURE
        }
    }
}

fn run(root: &Path, command: Option<&str>) -> Result<(), String> {
    let wiring = Wiring::load(root)?;
    match command {
        None => {
            let manifest = root.join("spin.toml");
            let current = std::fs::read_to_string(&manifest).map_err(|e| e.to_string())?;
            write(&manifest, &wiring.spin_manifest(&current)?)?;
            for config in RuntimeConfig::ALL {
                write(&root.join(config.path()), &config.render(&wiring))?;
            }
            Ok(())
        }
        Some("stores") => {
            for context in wiring.store_contexts() {
                println!("{context}");
            }
            Ok(())
        }
        Some(other) => Err(format!("unknown command {other:?} (none, or `stores`)")),
    }
}

fn write(path: &Path, text: &str) -> Result<(), String> {
    std::fs::write(path, text).map_err(|error| format!("{}: {error}", path.display()))
}
