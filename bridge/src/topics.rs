//! The topics: one per event type (DESIGN §4's table, `contracts::topics::ALL`), and a
//! dead-letter topic per handler's group; and which handler reads which topics.

use crate::status::Status;
use kit::outbox::SUBSCRIPTIONS;
use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::config::ClientConfig;
use rdkafka::types::RDKafkaErrorCode;
use std::time::Duration;

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

    /// The consumer group of `handler`.
    pub fn group(&self, handler: &str) -> String {
        format!("{}{handler}", self.prefix)
    }

    /// The dead-letter topic of `handler`'s group.
    pub fn dead_letters(&self, handler: &str) -> String {
        format!("{}{handler}.dead-letters", self.prefix)
    }

    /// Creates every topic the app needs that the broker lacks; tries again every 2 s
    /// while the broker cannot be reached, saying so.
    pub fn create_all(&self, brokers: &str, partitions: i32, replication: i32, status: &Status) {
        let mut names: Vec<String> = contracts::topics::ALL
            .iter()
            .map(|event_type| self.topic(event_type))
            .collect();
        names.extend(
            handlers()
                .iter()
                .map(|(handler, _)| self.dead_letters(handler)),
        );
        loop {
            match create(brokers, &names, partitions, replication) {
                Ok(()) => return status.broker(None),
                Err(error) => {
                    status.broker(Some(format!("creating the topics on {brokers}: {error}")));
                    eprintln!(
                        "fusion-bridge: creating the topics on {brokers}: {error}; trying again in 2 s"
                    );
                    std::thread::sleep(Duration::from_secs(2));
                }
            }
        }
    }
}

fn create(
    brokers: &str,
    names: &[String],
    partitions: i32,
    replication: i32,
) -> Result<(), String> {
    let admin: AdminClient<DefaultClientContext> = ClientConfig::new()
        .set("bootstrap.servers", brokers)
        .create()
        .map_err(|error| error.to_string())?;
    let topics: Vec<NewTopic> = names
        .iter()
        .map(|name| NewTopic::new(name, partitions, TopicReplication::Fixed(replication)))
        .collect();
    let options = AdminOptions::new().operation_timeout(Some(Duration::from_secs(10)));
    let created = futures::executor::block_on(admin.create_topics(&topics, &options))
        .map_err(|error| error.to_string())?;
    for outcome in created {
        match outcome {
            Ok(_) | Err((_, RDKafkaErrorCode::TopicAlreadyExists)) => {}
            Err((topic, code)) => return Err(format!("topic {topic}: {code}")),
        }
    }
    Ok(())
}
