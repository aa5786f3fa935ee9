//! Bad input to the host: a malformed spin.toml or runtime config exits with code 2 naming the
//! file and the field; a missing .wasm names the component, the path and the build command; a
//! port in use is a clear error.

mod support;

use std::net::TcpListener;

use support::{App, free_port, manifest, probe_component};

fn assert_mentions(output: &str, needles: &[&str]) {
    for needle in needles {
        assert!(
            output.contains(needle),
            "the error should mention {needle:?}; output:\n{output}"
        );
    }
}

#[test]
fn a_component_without_source_is_exit_2_naming_file_and_field() {
    let app = App::new(&manifest(
        r#"
[[trigger.http]]
route = "/..."
component = "probe"

[component.probe]
allowed_outbound_hosts = []
"#,
    ));
    let exited = app.run_expecting_exit(free_port(), &[]);
    assert_eq!(exited.code(), Some(2), "output:\n{}", exited.output);
    let manifest_path = app.manifest_path().display().to_string();
    assert_mentions(&exited.output, &[&manifest_path, "source"]);
}

#[test]
fn a_field_of_the_wrong_type_is_exit_2_naming_file_and_field() {
    let app = App::new(&manifest(&format!(
        "[[trigger.http]]\nroute = 42\ncomponent = \"probe\"\n\n{}",
        probe_component("probe", "")
    )));
    let exited = app.run_expecting_exit(free_port(), &[]);
    assert_eq!(exited.code(), Some(2), "output:\n{}", exited.output);
    let manifest_path = app.manifest_path().display().to_string();
    assert_mentions(&exited.output, &[&manifest_path, "route"]);
}

#[test]
fn invalid_toml_is_exit_2_naming_the_file() {
    let app = App::new("spin_manifest_version = 2\n[application\nname = \"x\"\n");
    let exited = app.run_expecting_exit(free_port(), &[]);
    assert_eq!(exited.code(), Some(2), "output:\n{}", exited.output);
    let manifest_path = app.manifest_path().display().to_string();
    assert_mentions(&exited.output, &[&manifest_path]);
}

#[test]
fn a_malformed_runtime_config_is_exit_2_naming_file_and_field() {
    let app = App::new(&manifest(&format!(
        "[[trigger.http]]\nroute = \"/...\"\ncomponent = \"probe\"\n\n{}",
        probe_component("probe", r#"key_value_stores = ["default", "carts"]"#)
    )))
    .with_runtime_config("[key_value_store.carts]\ntype = 42\n");
    let exited = app.run_expecting_exit(free_port(), &[]);
    assert_eq!(exited.code(), Some(2), "output:\n{}", exited.output);
    let config_path = app
        .runtime_config_path()
        .expect("a runtime config was written")
        .display()
        .to_string();
    assert_mentions(&exited.output, &[&config_path, "type"]);
}

#[test]
fn a_missing_wasm_names_the_component_the_path_and_the_build_command() {
    let app = App::new(&manifest(
        r#"
[[trigger.http]]
route = "/..."
component = "ghost"

[component.ghost]
source = "target/wasm32-wasip2/release/ghost.wasm"

[component.ghost.build]
command = "cargo build --target wasm32-wasip2 --release -p ghost"
"#,
    ));
    let exited = app.run_expecting_exit(free_port(), &[]);
    assert!(!exited.status.success(), "output:\n{}", exited.output);
    assert_mentions(
        &exited.output,
        &[
            "ghost",
            "target/wasm32-wasip2/release/ghost.wasm",
            "cargo build --target wasm32-wasip2 --release -p ghost",
        ],
    );
}

#[test]
fn a_port_in_use_is_a_clear_error() {
    let occupied = TcpListener::bind("127.0.0.1:0").expect("bind a port");
    let addr = occupied.local_addr().unwrap();
    let app = App::new(&manifest(&format!(
        "[[trigger.http]]\nroute = \"/...\"\ncomponent = \"probe\"\n\n{}",
        probe_component("probe", "")
    )));
    let exited = app.run_expecting_exit(addr, &[]);
    assert!(!exited.status.success(), "output:\n{}", exited.output);
    assert_mentions(&exited.output, &[&addr.to_string()]);
    drop(occupied);
}
