//! Variables: manifest defaults, `SPIN_VARIABLE_*` overrides, component templates, a required
//! variable without a value (the host refuses to start, exit code 2), and the component's
//! `environment`.

mod support;

use support::{App, ProbeReply, free_port, manifest, probe_component};

fn app() -> App {
    App::new(&manifest(&format!(
        r#"
[variables]
greeting = {{ default = "hello" }}
api_key = {{ required = true }}

[[trigger.http]]
route = "/..."
component = "probe"

{}"#,
        probe_component(
            "probe",
            r#"
[component.probe.variables]
greeting = "{{ greeting }}"
key = "{{ api_key }}"
composed = "{{ greeting }}, {{ api_key }}!"
literal = "plain"
"#
        )
    )))
}

fn variable(host: &support::Host, name: &str) -> String {
    let value = host.get_json(&format!("/var/{name}"));
    value["value"]
        .as_str()
        .unwrap_or_else(|| panic!("no value for {name}: {value}"))
        .to_owned()
}

#[test]
fn defaults_templates_and_environment_overrides() {
    let app = app();

    let host = app.start_with_env(&[("SPIN_VARIABLE_API_KEY", "k1")]);
    assert_eq!(variable(&host, "greeting"), "hello");
    assert_eq!(variable(&host, "key"), "k1");
    assert_eq!(variable(&host, "composed"), "hello, k1!");
    assert_eq!(variable(&host, "literal"), "plain");
    drop(host);

    let host = app.start_with_env(&[
        ("SPIN_VARIABLE_API_KEY", "k2"),
        ("SPIN_VARIABLE_GREETING", "bonjour"),
    ]);
    assert_eq!(variable(&host, "greeting"), "bonjour");
    assert_eq!(variable(&host, "composed"), "bonjour, k2!");
}

#[test]
fn unknown_and_invalid_variable_names_are_guest_errors() {
    let app = app();
    let host = app.start_with_env(&[("SPIN_VARIABLE_API_KEY", "k1")]);

    // Only the component's own variables are visible, not the application's.
    let (error, _) = host.get("/var/api_key").expect_error(404);
    assert_eq!(error, "undefined");
    let (error, _) = host.get("/var/nope").expect_error(404);
    assert_eq!(error, "undefined");
    let (error, _) = host.get("/var/Not-Valid").expect_error(400);
    assert_eq!(error, "invalid-name");
}

#[test]
fn a_required_variable_without_a_value_stops_the_host_with_exit_code_2() {
    let app = app();
    let exited = app.run_expecting_exit(free_port(), &[]);
    assert_eq!(exited.code(), Some(2), "output:\n{}", exited.output);
    assert!(
        exited.output.contains("api_key"),
        "the error names the variable:\n{}",
        exited.output
    );
}

#[test]
fn components_see_their_environment() {
    let app = App::new(&manifest(&format!(
        "[[trigger.http]]\nroute = \"/...\"\ncomponent = \"probe\"\n\n{}",
        "[component.probe]\nsource = {probe}\nenvironment = { GREETING_ENV = \"from the manifest\" }\n"
    )));
    let host = app.start();
    let value = host.get_json("/env/GREETING_ENV");
    assert_eq!(value["value"], "from the manifest");
    let (error, _) = host.get("/env/NOT_SET_ANYWHERE").expect_error(404);
    assert_eq!(error, "undefined");
}
