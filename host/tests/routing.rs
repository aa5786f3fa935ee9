//! HTTP trigger routing: Spin's precedence (exact over `:param` over wildcard, longest
//! wildcard prefix first), 404 when nothing matches, private routes, and the `spin-*`
//! request headers a component receives.

mod support;

use serde_json::Value;
use support::{App, manifest, probe_component};

fn routed_app(with_root_wildcard: bool) -> App {
    let mut body = String::from(
        r#"
[[trigger.http]]
route = "/exact"
component = "exact"

[[trigger.http]]
route = "/users/:id"
component = "param"

[[trigger.http]]
route = "/users/admin"
component = "admin"

[[trigger.http]]
route = "/files/..."
component = "files"

[[trigger.http]]
route = "/files/special/..."
component = "special"

[[trigger.http]]
route = { private = true }
component = "backend"
"#,
    );
    if with_root_wildcard {
        body.push_str("\n[[trigger.http]]\nroute = \"/...\"\ncomponent = \"root\"\n");
    }
    body.push('\n');
    for id in [
        "exact", "param", "admin", "files", "special", "backend", "root",
    ] {
        if id != "root" || with_root_wildcard {
            body.push_str(&probe_component(id, ""));
        }
    }
    App::new(&manifest(&body))
}

/// The echo's `spin-*` header named `name`, as a string.
fn header<'a>(echo: &'a Value, name: &str) -> &'a str {
    echo["headers"][name]
        .as_str()
        .unwrap_or_else(|| panic!("no {name} header in {echo}"))
}

#[test]
fn routes_follow_spin_precedence_and_unmatched_paths_are_404() {
    let app = routed_app(false);
    let host = app.start();
    let answered_by = |path: &str| host.get_json(path)["component"].clone();

    assert_eq!(answered_by("/exact"), "exact");
    assert_eq!(answered_by("/users/42"), "param");
    assert_eq!(
        answered_by("/users/admin"),
        "admin",
        "an exact segment beats :param"
    );
    assert_eq!(answered_by("/files"), "files");
    assert_eq!(answered_by("/files/a/b"), "files");
    assert_eq!(
        answered_by("/files/special/x"),
        "special",
        "the longest wildcard prefix wins"
    );

    for unmatched in [
        "/",
        "/nothing",
        "/exact/more",
        "/users",
        "/users/42/more",
        "/backend",
    ] {
        assert_eq!(
            host.get(unmatched).status,
            404,
            "{unmatched} matches no route and private routes are not reachable from outside"
        );
    }
}

#[test]
fn a_root_wildcard_catches_the_rest_but_not_more_specific_routes() {
    let app = routed_app(true);
    let host = app.start();

    let echo = host.get_json("/nothing/here");
    assert_eq!(echo["component"], "root");
    assert_eq!(header(&echo, "spin-path-info"), "/nothing/here");
    assert_eq!(header(&echo, "spin-matched-route"), "/...");
    assert_eq!(header(&echo, "spin-component-route"), "");
    assert_eq!(host.get_json("/")["component"], "root");
    assert_eq!(host.get_json("/exact")["component"], "exact");
    assert_eq!(host.get_json("/files/x")["component"], "files");
}

#[test]
fn components_receive_spins_request_headers() {
    let app = routed_app(false);
    let host = app.start();
    let base = format!("http://{}", host.addr);

    let exact = host.get_json("/exact");
    assert_eq!(exact["method"], "GET");
    assert_eq!(header(&exact, "spin-full-url"), format!("{base}/exact"));
    assert_eq!(header(&exact, "spin-path-info"), "");
    assert_eq!(header(&exact, "spin-matched-route"), "/exact");
    assert_eq!(header(&exact, "spin-component-route"), "/exact");
    assert_eq!(header(&exact, "spin-raw-component-route"), "/exact");
    assert_eq!(header(&exact, "spin-base-path"), "/");
    let client = header(&exact, "spin-client-addr");
    assert!(
        client.starts_with("127.0.0.1:") && client["127.0.0.1:".len()..].parse::<u16>().is_ok(),
        "spin-client-addr is the peer's ip:port, got {client:?}"
    );

    let wildcard = host.get_json("/files/a/b?x=1&y=2");
    assert_eq!(
        header(&wildcard, "spin-full-url"),
        format!("{base}/files/a/b?x=1&y=2")
    );
    assert_eq!(header(&wildcard, "spin-path-info"), "/a/b");
    assert_eq!(header(&wildcard, "spin-matched-route"), "/files/...");
    assert_eq!(header(&wildcard, "spin-component-route"), "/files");
    assert_eq!(header(&wildcard, "spin-raw-component-route"), "/files/...");
    assert_eq!(header(&wildcard, "spin-base-path"), "/");
    assert!(
        wildcard["uri"]
            .as_str()
            .unwrap_or_default()
            .ends_with("/files/a/b?x=1&y=2"),
        "the guest sees the original path and query, got {}",
        wildcard["uri"]
    );

    // Spin keeps a trailing slash in the path info.
    let trailing = host.get_json("/files/a/");
    assert_eq!(header(&trailing, "spin-path-info"), "/a/");
    let bare = host.get_json("/files/");
    assert_eq!(header(&bare, "spin-path-info"), "/");

    let param = host.get_json("/users/42");
    assert_eq!(header(&param, "spin-matched-route"), "/users/:id");
    assert_eq!(header(&param, "spin-component-route"), "/users/:id");
    assert_eq!(header(&param, "spin-path-match-id"), "42");
    assert_eq!(header(&param, "spin-path-info"), "");
}

#[test]
fn other_methods_are_routed_like_get() {
    let app = routed_app(false);
    let host = app.start();
    let reply = host.request("DELETE", "/users/7", None);
    let echo = reply.expect_ok();
    assert_eq!(echo["method"], "DELETE");
    assert_eq!(echo["component"], "param");
}
