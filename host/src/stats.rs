//! What the host did, counted for profiling: `fusion-host up --stats` turns the counting on
//! and serves the counts at `GET /.well-known/fusion-host/stats`, so a profile can read
//! them before and after a workload and divide by its requests. Off, each count is one
//! relaxed load of a flag.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::Relaxed};

static ENABLED: AtomicBool = AtomicBool::new(false);

macro_rules! counters {
    ($($name:ident),* $(,)?) => {
        pub struct Counters {
            $(pub $name: AtomicU64,)*
            instances_by_component: Mutex<BTreeMap<String, u64>>,
        }

        pub static COUNTS: Counters = Counters {
            $($name: AtomicU64::new(0),)*
            instances_by_component: Mutex::new(BTreeMap::new()),
        };

        /// The counts so far, as a JSON object.
        pub fn snapshot() -> serde_json::Value {
            let by_component = COUNTS
                .instances_by_component
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .clone();
            serde_json::json!({
                $(stringify!($name): COUNTS.$name.load(Relaxed),)*
                "instances_by_component": by_component,
            })
        }
    };
}

counters!(
    instances,
    chained_requests,
    outbound_requests,
    sqlite_opens,
    sqlite_opens_reusing_a_connection,
    sqlite_statements,
    sqlite_statements_on_blocking_threads,
    postgres_opens,
    postgres_statements,
    key_value_operations,
);

pub fn enable() {
    ENABLED.store(true, Relaxed);
}

pub fn enabled() -> bool {
    ENABLED.load(Relaxed)
}

pub fn count(counter: &AtomicU64) {
    if enabled() {
        counter.fetch_add(1, Relaxed);
    }
}

pub fn count_instance(component: &str) {
    if enabled() {
        COUNTS.instances.fetch_add(1, Relaxed);
        let mut by_component = COUNTS
            .instances_by_component
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        *by_component.entry(component.to_owned()).or_default() += 1;
    }
}
