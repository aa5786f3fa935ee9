//! Every component spin.toml runs is a WASIp2 component of the world Spin 3.6 and SpinKube
//! link (`spin:up@3.6.0`): checked on the built .wasm files, so build the app first
//! (`scripts/setup`). `WORLD_CHECK_SPIN_TOML` checks another manifest's components.

use std::path::PathBuf;

use world_check::{App, SpinWorld, workspace_root};

#[test]
fn every_app_component_runs_on_spin_3_6_and_spinkube() {
    let root = workspace_root();
    let manifest = std::env::var_os("WORLD_CHECK_SPIN_TOML")
        .map(PathBuf::from)
        .unwrap_or_else(|| root.join("spin.toml"));
    let world = SpinWorld::locate(&root).unwrap_or_else(|e| panic!("{e}"));
    let app = App::read(&manifest).unwrap_or_else(|e| panic!("{e}"));
    assert!(
        !app.components.is_empty(),
        "{} lists no component built from a local file",
        manifest.display()
    );

    let failures = world.check_app(&app);
    if !failures.is_empty() {
        let report: Vec<String> = failures.iter().map(ToString::to_string).collect();
        panic!(
            "{} of the {} components of {} do not run on Spin 3.6 / SpinKube (world {} of {}):\n\n{}",
            failures.len(),
            app.components.len(),
            manifest.display(),
            world_check::PLATFORM_PACKAGE,
            world.wit_dir().display(),
            report.join("\n\n")
        );
    }
    eprintln!(
        "{} components of {} fit {}",
        app.components.len(),
        manifest.display(),
        world_check::PLATFORM_PACKAGE
    );
}
