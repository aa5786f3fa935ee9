//! The document against what the app serves: the checked-in copy is the generated one,
//! every route of `spin.toml` is in it, and nothing in it is a route the app lacks.

use std::collections::BTreeSet;
use std::path::Path;

fn repository() -> &'static Path {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../.."))
}

/// The `route`s of spin.toml's HTTP triggers.
fn spin_routes() -> Vec<String> {
    let manifest = std::fs::read_to_string(repository().join("spin.toml")).unwrap();
    let manifest: toml::Table = manifest.parse().unwrap();
    manifest["trigger"]["http"]
        .as_array()
        .unwrap()
        .iter()
        .map(|trigger| trigger["route"].as_str().unwrap().to_owned())
        .collect()
}

fn documented_paths() -> BTreeSet<String> {
    openapi::document().paths.paths.into_keys().collect()
}

/// Whether spin.toml's `route` takes requests for `path` (`/a/...` takes `/a` and below).
fn routes_to(route: &str, path: &str) -> bool {
    match route.strip_suffix("/...") {
        Some(prefix) => path == prefix || path.starts_with(&format!("{prefix}/")),
        None => path == route,
    }
}

#[test]
fn the_checked_in_document_is_the_generated_one() {
    let checked_in = std::fs::read_to_string(repository().join("web/openapi.json")).unwrap();
    assert!(
        checked_in == openapi::document_json(),
        "web/openapi.json is not what the code describes: run `cargo run -p openapi > web/openapi.json`"
    );
}

#[test]
fn every_route_of_spin_toml_is_described() {
    let documented = documented_paths();
    let missing: Vec<String> = spin_routes()
        .into_iter()
        .filter(|route| !documented.iter().any(|path| routes_to(route, path)))
        .collect();
    assert!(
        missing.is_empty(),
        "spin.toml routes not in the document: {missing:?}"
    );
}

#[test]
fn every_described_path_is_routed_by_spin_toml() {
    let routes = spin_routes();
    let unrouted: Vec<String> = documented_paths()
        .into_iter()
        .filter(|path| !routes.iter().any(|route| routes_to(route, path)))
        .collect();
    assert!(
        unrouted.is_empty(),
        "described but routed nowhere: {unrouted:?}"
    );
}

#[test]
fn operation_ids_are_unique() {
    let document = openapi::document();
    let mut seen = BTreeSet::new();
    for item in document.paths.paths.values() {
        for operation in [&item.get, &item.post, &item.put, &item.patch, &item.delete]
            .into_iter()
            .flatten()
        {
            let id = operation.operation_id.clone().unwrap();
            assert!(seen.insert(id.clone()), "{id} twice");
        }
    }
}

#[test]
fn every_referenced_schema_is_defined() {
    let json = openapi::document_json();
    let document: serde_json::Value = serde_json::from_str(&json).unwrap();
    let defined = document["components"]["schemas"].as_object().unwrap();
    let prefix = "\"$ref\": \"#/components/schemas/";
    for reference in json.split(prefix).skip(1) {
        let name = &reference[..reference.find('"').unwrap()];
        assert!(
            defined.contains_key(name),
            "{name} is referenced, not defined"
        );
    }
}
