//! Outbound HTTP: `allowed_outbound_hosts` enforcement (with templates of application
//! variables), local service chaining to `http://<component>.spin.internal`, which also
//! reaches private routes, and the host's timeouts on stalled servers.

mod support;

use serde_json::json;
use std::time::{Duration, Instant};
use support::{
    App, ProbeReply, manifest, probe_component, probe_p2_component, stalled_upstream, stub_upstream,
};

fn fetch(host: &support::Host, route_prefix: &str, url: &str) -> support::Reply {
    host.post_json(&format!("{route_prefix}/fetch"), &json!({ "url": url }))
}

fn assert_denied(reply: &support::Reply, url: &str) {
    let (error, detail) = reply.expect_error(502);
    assert_eq!(error, "outbound-http", "fetching {url}");
    assert!(
        detail.contains("HttpRequestDenied"),
        "fetching {url} must fail with Spin's HttpRequestDenied, got {detail}"
    );
}

#[test]
fn allowed_hosts_accept_templates_and_deny_everything_else() {
    let upstream = stub_upstream("upstream-ok");
    let app = App::new(&manifest(&format!(
        r#"
[variables]
upstream = {{ default = "{upstream}" }}

[[trigger.http]]
route = "/..."
component = "probe"

{}"#,
        probe_component(
            "probe",
            r#"allowed_outbound_hosts = ["http://{{ upstream }}"]"#
        )
    )));
    let port = upstream.port();
    let allowed = format!("http://127.0.0.1:{port}/hello");
    let other_name = format!("http://localhost:{port}/hello");
    let other_port = format!(
        "http://127.0.0.1:{}/hello",
        port.checked_add(1).unwrap_or(port - 1)
    );

    let host = app.start();
    let reply = fetch(&host, "", &allowed).expect_ok();
    assert_eq!(reply["status"], 200);
    assert_eq!(reply["body"], "upstream-ok");
    assert_denied(&fetch(&host, "", &other_name), &other_name);
    assert_denied(&fetch(&host, "", &other_port), &other_port);
    assert_denied(
        &fetch(&host, "", "http://example.com/"),
        "http://example.com/",
    );
    drop(host);

    // The template follows the variable's value: moved elsewhere, the old host is denied.
    let moved = format!("localhost:{port}");
    let host = app.start_with_env(&[("SPIN_VARIABLE_UPSTREAM", moved.as_str())]);
    assert_denied(&fetch(&host, "", &allowed), &allowed);
}

fn chaining_app() -> App {
    App::new(&manifest(&format!(
        r#"
[[trigger.http]]
route = "/front/..."
component = "front"

[[trigger.http]]
route = {{ private = true }}
component = "backend"

[[trigger.http]]
route = "/public/..."
component = "public"

[[trigger.http]]
route = "/wild/..."
component = "wild"

{}{}{}{}"#,
        probe_component(
            "front",
            r#"allowed_outbound_hosts = ["http://backend.spin.internal", "http://public.spin.internal"]"#
        ),
        probe_component("backend", ""),
        probe_component("public", ""),
        probe_component(
            "wild",
            r#"allowed_outbound_hosts = ["http://*.spin.internal"]"#
        ),
    )))
}

#[test]
fn service_chaining_reaches_private_and_public_components_in_process() {
    let app = chaining_app();
    let host = app.start();

    let reply = fetch(&host, "/front", "http://backend.spin.internal/hello?x=1").expect_ok();
    assert_eq!(reply["status"], 200, "{reply}");
    let echo: serde_json::Value =
        serde_json::from_str(reply["body"].as_str().unwrap()).expect("the backend's echo");
    assert_eq!(echo["component"], "backend");
    assert_eq!(echo["headers"]["spin-path-info"], "/hello");
    assert_eq!(echo["headers"]["spin-matched-route"], "/...");

    let reply = fetch(&host, "/front", "http://public.spin.internal/there").expect_ok();
    let echo: serde_json::Value =
        serde_json::from_str(reply["body"].as_str().unwrap()).expect("the public echo");
    assert_eq!(echo["component"], "public");
    assert_eq!(echo["headers"]["spin-path-info"], "/there");

    let reply = fetch(&host, "/wild", "http://backend.spin.internal/any").expect_ok();
    let echo: serde_json::Value =
        serde_json::from_str(reply["body"].as_str().unwrap()).expect("the backend's echo");
    assert_eq!(
        echo["component"], "backend",
        "*.spin.internal allows every component"
    );

    assert_eq!(
        host.get("/backend").status,
        404,
        "a private route has no URL"
    );
}

#[test]
fn service_chaining_needs_an_allowed_host() {
    let app = chaining_app();
    let host = app.start();
    let url = "http://backend.spin.internal/hello";
    assert_denied(&fetch(&host, "/public", url), url);
    let url = "http://wild.spin.internal/hello";
    assert_denied(&fetch(&host, "/front", url), url);
}

/// A stalled server fails the guest's request at the host's caps (1 s each here, where
/// wasi-http would wait 600 s), and the host serves on. `probe` is the component: the
/// WASIp3 probe or the WASIp2 one; `body_error` is how it reports a body that stopped.
fn stalled_servers_time_out(probe: fn(&str, &str) -> String, body_error: &str) {
    let silent = stalled_upstream("");
    let stalled_body = stalled_upstream("HTTP/1.1 200 OK\r\ncontent-length: 100\r\n\r\npartial");
    let live = stub_upstream("upstream-ok");
    let allowed = format!(
        "allowed_outbound_hosts = [\"http://{silent}\", \"https://{silent}\", \"http://{stalled_body}\", \"http://{live}\"]"
    );
    let app = App::new(&manifest(&format!(
        "[[trigger.http]]\nroute = \"/...\"\ncomponent = \"probe\"\n\n{}",
        probe("probe", &allowed)
    )));
    let host = app.start_with_args(&[
        "--outbound-connect-timeout",
        "1",
        "--outbound-first-byte-timeout",
        "1",
        "--outbound-between-bytes-timeout",
        "1",
    ]);

    for (url, error, cap) in [
        // No response head: the first-byte timeout.
        (format!("http://{silent}/"), "ConnectionReadTimeout", 1),
        // A TLS handshake that never completes: the connect and first-byte timeouts together.
        (format!("https://{silent}/"), "ConnectionTimeout", 2),
        // A body that stops coming: the between-bytes timeout.
        (format!("http://{stalled_body}/"), body_error, 1),
    ] {
        let started = Instant::now();
        let reply = fetch(&host, "", &url);
        let waited = started.elapsed();
        assert_eq!(reply.status, 502, "fetching {url}: {}", reply.body);
        assert!(
            reply.body.contains(error),
            "fetching {url} fails with {error}: {}",
            reply.body
        );
        let cap = Duration::from_secs(cap);
        assert!(
            waited >= cap && waited < cap + Duration::from_secs(2),
            "fetching {url} failed after {waited:?}, the cap being {cap:?}"
        );
    }
    let reply = fetch(&host, "", &format!("http://{live}/")).expect_ok();
    assert_eq!(reply["body"], "upstream-ok");
}

#[test]
fn a_wasip3_guests_request_to_a_stalled_server_times_out() {
    stalled_servers_time_out(probe_component, "ConnectionReadTimeout");
}

#[test]
fn a_wasip2_guests_request_to_a_stalled_server_times_out() {
    // spin-sdk 5 reports a failed body read without its error code.
    stalled_servers_time_out(probe_p2_component, "ResponseConversion");
}
