//! Derives what the code needs of the app's wiring from `wiring.toml`, the one declaration
//! (see the `wiring` crate): the handlers of each topic in delivery order, each handler's
//! context, and the contexts that keep a store or an outbox (`kit::wiring`).

use std::{env, fs, path::PathBuf};

fn main() {
    let root = PathBuf::from(env::var("CARGO_MANIFEST_DIR").unwrap()).join("../..");
    println!(
        "cargo:rerun-if-changed={}",
        root.join("wiring.toml").display()
    );
    let wiring = wiring::Wiring::load(&root).unwrap_or_else(|error| panic!("{error}"));

    let subscriptions: String = wiring
        .subscriptions()
        .iter()
        .map(|(topic, handlers)| format!("    ({topic:?}, &{handlers:?}),\n"))
        .collect();
    let handlers: String = wiring
        .handlers()
        .iter()
        .map(|handler| format!("    ({:?}, {:?}),\n", handler.id, handler.context))
        .collect();
    let code = format!(
        "/// Who handles each topic: the handler components (each reachable at\n\
         /// `http://<id>.spin.internal` and at `/events/<id>`), in delivery order. A topic\n\
         /// absent here has no subscriber yet; its events stay in the outbox as the record\n\
         /// of what happened.\n\
         pub const SUBSCRIPTIONS: &[(&str, &[&str])] = &[\n{subscriptions}];\n\n\
         /// Each handler component and the context whose store it writes.\n\
         pub const HANDLERS: &[(&str, &str)] = &[\n{handlers}];\n\n\
         /// The contexts that keep an outbox (they emit events or handle them): what the\n\
         /// sweep, the relay and the dead-letter list go through.\n\
         pub const EVENT_CONTEXTS: &[&str] = &{:?};\n\n\
         /// Every context with a store of its own (a SQLite label, a PostgreSQL schema).\n\
         pub const STORE_CONTEXTS: &[&str] = &{:?};\n",
        wiring.event_contexts(),
        wiring.store_contexts(),
    );
    fs::write(
        PathBuf::from(env::var("OUT_DIR").unwrap()).join("wiring.rs"),
        code,
    )
    .expect("write the wiring");
}
