//! The topics (streams on Redis): one per event type (DESIGN §4's table,
//! `contracts::topics::ALL`), and a dead-letter topic per handler's group; and which
//! handler reads which topics.

use kit::wiring::SUBSCRIPTIONS;

/// Each handler component and the topics it subscribes to.
pub fn handlers() -> Vec<(&'static str, Vec<&'static str>)> {
    let mut handlers: Vec<(&str, Vec<&str>)> = Vec::new();
    for (topic, subscribers) in SUBSCRIPTIONS {
        for subscriber in *subscribers {
            match handlers.iter_mut().find(|(name, _)| name == subscriber) {
                Some((_, topics)) => topics.push(topic),
                None => handlers.push((subscriber, vec![topic])),
            }
        }
    }
    handlers
}

/// The names on the broker: the app's, after an optional prefix.
pub struct Names {
    prefix: String,
}

impl Names {
    pub fn new(prefix: &str) -> Names {
        Names {
            prefix: prefix.to_owned(),
        }
    }

    /// The topic of events of type `event_type`.
    pub fn topic(&self, event_type: &str) -> String {
        format!("{}{event_type}", self.prefix)
    }

    /// The topics `handler` reads, by their names on the broker.
    pub fn topics_of(&self, handler: &str) -> Vec<String> {
        handlers()
            .into_iter()
            .find(|(name, _)| *name == handler)
            .map(|(_, topics)| topics)
            .unwrap_or_default()
            .iter()
            .map(|topic| self.topic(topic))
            .collect()
    }

    /// The consumer group of `handler`.
    pub fn group(&self, handler: &str) -> String {
        format!("{}{handler}", self.prefix)
    }

    /// The dead-letter topic of `handler`'s group.
    pub fn dead_letters(&self, handler: &str) -> String {
        self.topic(&dead_letters_of(handler))
    }

    /// Every topic the app needs: one per event type, one of dead letters per group.
    pub fn all_topics(&self) -> Vec<String> {
        let mut names: Vec<String> = contracts::topics::ALL
            .iter()
            .map(|event_type| self.topic(event_type))
            .collect();
        names.extend(
            handlers()
                .iter()
                .map(|(handler, _)| self.dead_letters(handler)),
        );
        names
    }
}

/// The dead-letter topic of `handler`'s group, before the prefix.
pub fn dead_letters_of(handler: &str) -> String {
    format!("{handler}.dead-letters")
}
