//! The event bridge (`fusion-bridge`) beside a shop whose `event_transport` is `kafka`,
//! on the broker `scripts/services kafka` provides. Each bridge puts its own prefix
//! before its topics and groups, so shops running side by side share the broker and
//! never each other's events.

use crate::shop::{EVENT_SIGNING_KEY, Shop, Store};
use std::process::{Child, Command, Stdio};

pub struct Bridge {
    child: Child,
    /// What this bridge puts before every topic and group id.
    pub prefix: String,
    /// Where its log goes.
    pub log: std::path::PathBuf,
}

impl Bridge {
    /// A bridge relaying `shop`'s events through the local broker.
    pub fn start(shop: &Shop) -> Bridge {
        testing::ensure_kafka();
        let prefix = format!("{}.", testing::unique_name("shop"));
        let log = std::env::temp_dir().join(format!("{prefix}bridge.log"));
        let file = std::fs::File::create(&log).expect("the bridge's log file");
        let child = Command::new(testing::built_artifact(
            "debug/fusion-bridge",
            "cargo build -p fusion-bridge",
        ))
        .env("FUSION_APP_URL", shop.url(""))
        .env("FUSION_EVENT_SIGNING_KEY", EVENT_SIGNING_KEY)
        .env("FUSION_KAFKA_BROKERS", testing::KAFKA_ADDR)
        .env("FUSION_KAFKA_PREFIX", &prefix)
        .stdout(Stdio::null())
        .stderr(file)
        .spawn()
        .expect("start fusion-bridge");
        Bridge { child, prefix, log }
    }

    /// The name of topic `event_type` (or any topic name) on the broker.
    pub fn topic(&self, name: &str) -> String {
        format!("{}{name}", self.prefix)
    }
}

impl Drop for Bridge {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if std::thread::panicking() {
            let log = std::fs::read_to_string(&self.log).unwrap_or_default();
            eprintln!("--- bridge log ({}) ---\n{log}", self.log.display());
        }
    }
}

/// A shop on `event_transport = kafka` and its bridge.
pub fn kafka_shop(store: Store) -> (Shop, Bridge) {
    let shop = Shop::start_with(store, &[("event_transport", "kafka")]);
    let bridge = Bridge::start(&shop);
    (shop, bridge)
}
