//! What the bridge asks of a broker, whichever it is: Kafka ([`crate::kafka`]) or Redis
//! Streams ([`crate::streams`]). The relay and the consumers are written once against it.

use crate::cloudevents::Record;
use serde_json::Value;
use std::time::Duration;

/// A broker: topics (or streams) named by event type, and a consumer group per handler.
pub trait Bus: Sync {
    type Consumer: Consumer + Send;

    /// Says where it is, for the log.
    fn describe(&self) -> String;

    /// Creates what the app needs that the broker lacks (topics, groups); `Err` says
    /// why it could not, and the bridge tries again.
    fn prepare(&self) -> Result<(), String>;

    /// Appends `records`, all in flight at once; each one's outcome, in order. `Ok` only
    /// once the broker keeps it (a restart of the broker does not lose it).
    fn publish(&self, records: &[Record]) -> Vec<Result<(), String>>;

    /// `handler`'s member of its group, reading its topics.
    fn consumer(&self, handler: &'static str) -> Result<Self::Consumer, String>;

    /// Each group's lag per topic: `{"total": n, "groups": [{"group", "handler",
    /// "topic", "lag", ...}]}`, `lag` counting the events its handler has not taken.
    fn lag(&self) -> Result<Value, String>;
}

/// A record read by a group's member, and where it was read.
pub struct Consumed<At> {
    pub record: Record,
    /// Its place in its topic, as an operator reads it (offset, entry id).
    pub position: String,
    pub at: At,
}

/// One handler's member of its consumer group.
pub trait Consumer {
    type At;

    /// The next record, waiting a moment for one; `Ok(None)` when none came.
    fn next(&mut self) -> Result<Option<Consumed<Self::At>>, String>;

    /// The next record if one is already at hand (fetched with those before), without
    /// asking the broker.
    fn next_at_hand(&mut self) -> Option<Consumed<Self::At>>;

    /// Marks `consumed` (records read in order) as taken by the group: they are not
    /// handed over again.
    fn commit(&mut self, consumed: &[Consumed<Self::At>]) -> Result<(), String>;

    /// Waits `wait` before the handler is tried again on the current record, keeping
    /// this member's place in its group and reading nothing further meanwhile.
    fn hold(&mut self, wait: Duration);

    /// Reads on after a [`Consumer::hold`].
    fn release(&mut self);
}
