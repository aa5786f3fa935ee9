//! WASIp2 guests (spin-sdk 5.2, `wasi:http/incoming-handler@0.2.0`) on the HTTP trigger:
//! routing and the `spin-*` headers, a fresh instance per request, service chaining from a
//! WASIp2 guest (to WASIp2 and WASIp3 components), `allowed_outbound_hosts` denial, relative
//! URLs, variables and `wasi:config`, a trap answering 500, and a component importing what the
//! host does not link refused at startup (exit 2).

mod support;

use serde_json::{Value, json};
use std::time::Duration;
use support::{App, Host, free_port, manifest, probe_component, probe_p2_component};

fn header<'a>(echo: &'a Value, name: &str) -> &'a str {
    echo["headers"][name]
        .as_str()
        .unwrap_or_else(|| panic!("no {name} header in {echo}"))
}

fn fetch(host: &Host, prefix: &str, url: &str) -> Value {
    host.post_json(&format!("{prefix}/fetch"), &json!({ "url": url }))
        .json()
}

/// The echo a chained or self request answered, from the fetch reply's body.
fn fetched_echo(reply: &Value) -> Value {
    assert_eq!(reply["status"], 200, "{reply}");
    serde_json::from_str(reply["body"].as_str().expect("a body")).expect("an echo")
}

fn routed_app() -> App {
    App::new(&manifest(&format!(
        r#"
[variables]
greeting = {{ default = "hello" }}

[[trigger.http]]
route = "/exact"
component = "exact"

[[trigger.http]]
route = "/users/:id"
component = "param"

[[trigger.http]]
route = "/files/..."
component = "files"

[[trigger.http]]
route = {{ private = true }}
component = "backend"

[[trigger.http]]
route = "/p3/..."
component = "p3"

[[trigger.http]]
route = "/front/..."
component = "front"

[[trigger.http]]
route = "/closed/..."
component = "closed"

{}{}{}{}{}{}{}"#,
        probe_p2_component("exact", ""),
        probe_p2_component(
            "front",
            r#"allowed_outbound_hosts = ["http://backend.spin.internal", "http://p3.spin.internal", "http://self"]
[component.front.variables]
greet = "{{ greeting }} world"
plain = "literal""#
        ),
        probe_p2_component("param", ""),
        probe_p2_component(
            "files",
            r#"allowed_outbound_hosts = ["http://*.spin.internal"]"#
        ),
        probe_p2_component("backend", ""),
        probe_component("p3", ""),
        probe_p2_component("closed", ""),
    )))
}

#[test]
fn routes_and_spin_headers_reach_wasip2_components() {
    let app = routed_app();
    let host = app.start();
    let base = format!("http://{}", host.addr);

    let exact = host.get_json("/exact?q=1");
    assert_eq!(exact["component"], "exact");
    assert_eq!(header(&exact, "spin-full-url"), format!("{base}/exact?q=1"));
    assert_eq!(header(&exact, "spin-path-info"), "");
    assert_eq!(header(&exact, "spin-matched-route"), "/exact");
    assert_eq!(header(&exact, "spin-raw-component-route"), "/exact");
    assert_eq!(header(&exact, "spin-component-route"), "/exact");
    assert_eq!(header(&exact, "spin-base-path"), "/");
    assert!(header(&exact, "spin-client-addr").starts_with("127.0.0.1:"));

    let param = host.get_json("/users/42");
    assert_eq!(param["component"], "param");
    assert_eq!(header(&param, "spin-path-match-id"), "42");

    let files = host.get_json("/files/a/b");
    assert_eq!(files["component"], "files");
    assert_eq!(header(&files, "spin-path-info"), "/a/b");
    assert_eq!(header(&files, "spin-matched-route"), "/files/...");

    assert_eq!(host.get("/nothing").status, 404);
    assert_eq!(
        host.get("/backend").status,
        404,
        "a private route has no URL"
    );
}

#[test]
fn every_request_gets_a_fresh_instance() {
    let app = routed_app();
    let host = app.start();
    for _ in 0..5 {
        assert_eq!(
            host.get_json("/files/count")["served"],
            1,
            "Spin never reuses a WASIp2 instance"
        );
    }
}

#[test]
fn a_wasip2_guest_chains_to_wasip2_and_wasip3_components() {
    let app = routed_app();
    let host = app.start();

    let echo = fetched_echo(&fetch(
        &host,
        "/front",
        "http://backend.spin.internal/hello?x=1",
    ));
    assert_eq!(echo["component"], "backend");
    assert_eq!(header(&echo, "spin-path-info"), "/hello");
    assert_eq!(header(&echo, "spin-matched-route"), "/...");
    assert_eq!(header(&echo, "spin-component-route"), "");
    assert_eq!(header(&echo, "spin-client-addr"), "0.0.0.0:0");
    assert_eq!(
        header(&echo, "spin-full-url"),
        "http://localhost/hello?x=1",
        "Spin drops the host header of a chained request"
    );

    let echo = fetched_echo(&fetch(&host, "/front", "http://p3.spin.internal/there"));
    assert_eq!(echo["component"], "p3", "a WASIp3 component answers too");
    assert_eq!(header(&echo, "spin-path-info"), "/there");

    let echo = fetched_echo(&fetch(&host, "/files", "http://param.spin.internal/deep"));
    assert_eq!(
        echo["component"], "param",
        "*.spin.internal allows every component"
    );
}

#[test]
fn relative_urls_reach_the_app_itself_when_self_is_allowed() {
    let app = routed_app();
    let host = app.start();
    let echo = fetched_echo(&fetch(&host, "/front", "/files/via-self"));
    assert_eq!(echo["component"], "files");
    assert_eq!(header(&echo, "spin-path-info"), "/via-self");
    let echo = fetched_echo(&fetch(&host, "/front", "http://self.alt/users/7"));
    assert_eq!(echo["component"], "param");

    let denied = fetch(&host, "/closed", "/files/x");
    assert!(
        denied["error"]
            .as_str()
            .unwrap_or_default()
            .contains("HttpRequestDenied"),
        "no `self` in allowed_outbound_hosts: {denied}"
    );
}

#[test]
fn hosts_outside_allowed_outbound_hosts_are_denied() {
    let app = routed_app();
    let host = app.start();
    for (prefix, url) in [
        ("/closed", "http://backend.spin.internal/x"),
        ("/front", "http://files.spin.internal/x"),
        ("/front", "https://example.com/"),
    ] {
        let reply = fetch(&host, prefix, url);
        assert!(
            reply["error"]
                .as_str()
                .unwrap_or_default()
                .contains("HttpRequestDenied"),
            "{prefix} fetching {url}: {reply}"
        );
    }
}

#[test]
fn variables_and_wasi_config_read_the_component_variables() {
    let app = routed_app();
    let host = app.start();
    assert_eq!(host.get_json("/front/var/greet")["value"], "hello world");
    let missing = host.get("/front/var/nope");
    assert_eq!(missing.status, 500);
    assert!(missing.body.contains("Undefined"), "{}", missing.body);

    assert_eq!(host.get_json("/front/config/plain")["value"], "literal");
    assert_eq!(
        host.get("/front/config/nope").status,
        404,
        "wasi:config answers none for an undefined variable"
    );
    assert_eq!(
        host.get_json("/front/config"),
        json!({ "greet": "hello world", "plain": "literal" })
    );
}

#[test]
fn a_trapping_wasip2_request_gets_500_and_the_host_keeps_serving() {
    let app = routed_app();
    let host = app.start();
    for _ in 0..3 {
        assert_eq!(host.get("/files/trap").status, 500);
        assert_eq!(host.get_json("/files/after")["component"], "files");
    }
}

#[test]
fn a_guest_computing_forever_is_stopped_at_the_request_deadline() {
    let app = routed_app();
    let host = app.start_with_args(&["--request-timeout", "1"]);
    let started = std::time::Instant::now();
    assert_eq!(host.get("/files/spin").status, 500);
    assert!(
        started.elapsed() < std::time::Duration::from_secs(20),
        "the endless request held on for {:?}",
        started.elapsed()
    );
    // The host and the component go on serving.
    assert_eq!(host.get_json("/files/after")["component"], "files");
}

#[test]
fn a_component_importing_what_the_host_does_not_link_is_refused_at_startup() {
    let app = App::new(&manifest(
        r#"
[[trigger.http]]
route = "/..."
component = "chatty"

[component.chatty]
source = {unlinked_p2}
"#,
    ));
    let exited = app.run_expecting_exit(free_port(), &[]);
    assert_eq!(exited.code(), Some(2), "output:\n{}", exited.output);
    for needle in ["chatty", "fermyon:spin/llm@2.0.0"] {
        assert!(
            exited.output.contains(needle),
            "the error should name {needle:?}; output:\n{}",
            exited.output
        );
    }
}

/// A guest may answer and go on working (as on Spin): the client has the answer while the
/// guest still runs, and what it does after still happens.
#[test]
fn a_guest_that_answered_goes_on_working_after_the_client_has_the_answer() {
    let app = App::new(&manifest(&format!(
        "[[trigger.http]]\nroute = \"/...\"\ncomponent = \"probe\"\n\n{}",
        probe_p2_component("probe", r#"key_value_stores = ["default"]"#)
    )));
    let host = app.start();
    let answer = host.request("PUT", "/after-answer/default/late", Some("done"));
    assert_eq!(answer.json(), json!("answered"));
    // The guest sets the key 3 s after its answer: had the host held the answer until
    // the guest returned, the key would be there already.
    assert_eq!(
        host.get("/kv/default/late").status,
        404,
        "the answer waited for the guest"
    );
    support::eventually(
        "the guest's work after its answer",
        Duration::from_secs(10),
        || {
            let stored = host.get("/kv/default/late");
            (stored.status == 200).then_some(())
        },
    );
}
