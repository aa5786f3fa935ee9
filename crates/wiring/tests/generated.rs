//! The files written from wiring.toml are what it would write now, and wiring.toml agrees
//! with the workspace: each component it declares is a package in its folder, each
//! component folder is declared, and each event type is emitted by one context.

use std::fs;
use std::path::{Path, PathBuf};

use wiring::{RuntimeConfig, Wiring};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn wiring() -> Wiring {
    Wiring::load(&root()).unwrap()
}

fn read(path: &str) -> String {
    fs::read_to_string(root().join(path)).unwrap_or_else(|e| panic!("{path}: {e}"))
}

#[test]
fn spin_toml_and_the_runtime_configs_are_written_from_wiring_toml() {
    let wiring = wiring();
    let manifest = read("spin.toml");
    assert!(
        manifest == wiring.spin_manifest(&manifest).unwrap(),
        "spin.toml differs from wiring.toml: run `cargo run -p wiring`"
    );
    for config in RuntimeConfig::ALL {
        assert!(
            read(config.path()) == config.render(&wiring),
            "{} differs from wiring.toml: run `cargo run -p wiring`",
            config.path()
        );
    }
}

#[test]
fn each_declared_component_is_the_package_in_its_folder() {
    for component in wiring().components().unwrap() {
        let cargo = component.folder().join("Cargo.toml");
        let package: toml::Table = read(cargo.to_str().unwrap()).parse().unwrap();
        assert_eq!(
            package["package"]["name"].as_str(),
            Some(component.package.as_str()),
            "{}",
            cargo.display()
        );
    }
}

#[test]
fn each_component_folder_is_declared() {
    let declared: Vec<PathBuf> = wiring()
        .components()
        .unwrap()
        .iter()
        .map(|component| component.folder())
        .collect();
    for context in fs::read_dir(root().join("components")).unwrap() {
        for folder in fs::read_dir(context.unwrap().path()).unwrap() {
            let folder = folder.unwrap().path();
            let relative = folder.strip_prefix(root()).unwrap().to_path_buf();
            if relative.ends_with("domain") {
                continue;
            }
            assert!(
                declared.contains(&relative),
                "{} is a component wiring.toml does not declare",
                relative.display()
            );
        }
    }
}

#[test]
fn each_event_type_is_emitted_by_one_context_and_each_handled_topic_is_one() {
    let wiring = wiring();
    let emitted = wiring.emitted_topics();
    let mut sorted = emitted.clone();
    sorted.sort_unstable();
    let mut all = contracts::topics::ALL.to_vec();
    all.sort_unstable();
    assert_eq!(
        sorted, all,
        "wiring.toml's `emits` and the contracts' event types"
    );
    for (topic, _) in wiring.subscriptions() {
        assert!(emitted.contains(&topic.as_str()), "{topic}");
    }
}
