//! Derives who handles each topic from the app's manifest, `spin.toml`, so the wiring is
//! declared once, where a Spin user reads it: every `/events/<handler>` route serves the
//! handler component `<context>-on-<event>`, which subscribes to the topic the event part
//! names (`payment-refund-requested` is `payment.refund_requested`). A topic's handlers
//! are delivered to in the order their routes appear in the manifest.

use std::{env, fs, path::PathBuf};

fn main() {
    let manifest_path =
        PathBuf::from(env::var("CARGO_MANIFEST_DIR").unwrap()).join("../../spin.toml");
    println!("cargo:rerun-if-changed={}", manifest_path.display());
    let manifest: toml::Table = fs::read_to_string(&manifest_path)
        .expect("read spin.toml")
        .parse()
        .expect("spin.toml is TOML");
    let routes = manifest["trigger"]["http"]
        .as_array()
        .expect("spin.toml has [[trigger.http]] routes");

    let mut subscriptions: Vec<(String, Vec<String>)> = Vec::new();
    for route in routes {
        // A private route (`route = { private = true }`) has no path to read a handler from.
        let Some(handler) = route["route"]
            .as_str()
            .and_then(|path| path.strip_prefix("/events/"))
        else {
            continue;
        };
        let path = format!("/events/{handler}");
        let component = route["component"].as_str().expect("a route's component");
        assert_eq!(
            component, handler,
            "spin.toml: the route {path} must serve the component {handler}"
        );
        let topic = topic_of(handler).unwrap_or_else(|| {
            panic!("spin.toml: the handler {handler} is not named <context>-on-<event>")
        });
        match subscriptions.iter_mut().find(|(known, _)| *known == topic) {
            Some((_, handlers)) => handlers.push(handler.to_owned()),
            None => subscriptions.push((topic, vec![handler.to_owned()])),
        }
    }

    // A handler component without its route would never be delivered to.
    let components = manifest["component"]
        .as_table()
        .expect("spin.toml has components");
    for id in components.keys().filter(|id| id.contains("-on-")) {
        assert!(
            subscriptions
                .iter()
                .any(|(_, handlers)| handlers.contains(id)),
            "spin.toml: the handler component {id} has no route /events/{id}, so no event reaches it"
        );
    }

    let entries: String = subscriptions
        .iter()
        .map(|(topic, handlers)| format!("    ({topic:?}, &{handlers:?}),\n"))
        .collect();
    let code = format!(
        "/// Who handles each topic: the handler components (each reachable at\n\
         /// `http://<id>.spin.internal` and at `/events/<id>`), in delivery order — derived\n\
         /// from spin.toml's `/events/<handler>` routes by kit's build script. A topic absent\n\
         /// here has no subscriber yet; its events stay in the outbox as the record of what\n\
         /// happened.\n\
         pub const SUBSCRIPTIONS: &[(&str, &[&str])] = &[\n{entries}];\n"
    );
    fs::write(
        PathBuf::from(env::var("OUT_DIR").unwrap()).join("subscriptions.rs"),
        code,
    )
    .expect("write the subscriptions");
}

/// `payments-on-payment-refund-requested` → `payment.refund_requested`.
fn topic_of(handler: &str) -> Option<String> {
    let (_, event) = handler.split_once("-on-")?;
    let (aggregate, happened) = event.split_once('-')?;
    Some(format!("{aggregate}.{}", happened.replace('-', "_")))
}
