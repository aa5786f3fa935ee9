//! The Redis trigger: one subscription per address, and for every message a fresh
//! instance of the channel's component, called through what it exports:
//! `spin:redis/inbound-redis@3.0.0` (spin-sdk 6) or `fermyon:spin/inbound-redis`
//! (spin-sdk 5's `#[redis_component]`). A handler's error is logged (Spin's at-most-once).

use crate::bindings::redis_handler::RedisHandlerPre;
use crate::bindings::redis_handler_p2::RedisHandlerP2Pre;
use crate::runtime::{AppRuntime, LoadedComponent};
use crate::telemetry;
use anyhow::Context as _;
use futures::StreamExt;
use std::collections::HashMap;
use std::sync::Arc;

pub struct RedisTrigger {
    runtime: Arc<AppRuntime>,
    /// address → channel → subscribed components
    subscriptions: HashMap<String, HashMap<String, Vec<Subscriber>>>,
}

#[derive(Clone)]
struct Subscriber {
    component: Arc<LoadedComponent>,
    pre: HandlerPre,
}

#[derive(Clone)]
enum HandlerPre {
    P3(RedisHandlerPre<crate::state::InstanceState>),
    P2(RedisHandlerP2Pre<crate::state::InstanceState>),
}

impl RedisTrigger {
    pub fn new(runtime: Arc<AppRuntime>) -> anyhow::Result<Self> {
        let resolve = |template: &str| {
            runtime
                .expand_template(template)
                .map_err(anyhow::Error::msg)
        };
        let mut subscriptions: HashMap<String, HashMap<String, Vec<Subscriber>>> = HashMap::new();
        for trigger in &runtime.app.redis_triggers {
            let address = trigger
                .address
                .as_deref()
                .or(runtime.app.redis_address.as_deref())
                .with_context(|| {
                    format!(
                        "trigger.redis `{}`: no address (set `address` or [application.trigger.redis] address)",
                        trigger.id
                    )
                })?;
            let address = resolve(address)?;
            let channel = resolve(&trigger.channel)?;
            let component = runtime.components[&trigger.component].clone();
            let pre = match RedisHandlerPre::new(component.pre.clone()) {
                Ok(pre) => HandlerPre::P3(pre),
                Err(_) => HandlerPre::P2(
                    RedisHandlerP2Pre::new(component.pre.clone())
                        .map_err(anyhow::Error::from)
                        .with_context(|| {
                            format!(
                                "component `{}` is in a Redis trigger but exports neither spin:redis/inbound-redis@3.0.0 (spin-sdk 6) nor fermyon:spin/inbound-redis (spin-sdk 5)",
                                component.id
                            )
                        })?,
                ),
            };
            subscriptions
                .entry(address)
                .or_default()
                .entry(channel)
                .or_default()
                .push(Subscriber { component, pre });
        }
        Ok(Self {
            runtime,
            subscriptions,
        })
    }

    pub fn is_empty(&self) -> bool {
        self.subscriptions.is_empty()
    }

    /// Subscribes to every channel, then delivers messages until the connection ends.
    pub async fn run(self) -> anyhow::Result<()> {
        let mut listeners = Vec::new();
        for (address, channels) in self.subscriptions {
            let client = redis::Client::open(address.as_str())
                .with_context(|| format!("redis trigger: bad address {address}"))?;
            let mut pubsub = client
                .get_async_pubsub()
                .await
                .with_context(|| format!("redis trigger: cannot connect to {address}"))?;
            for channel in channels.keys() {
                pubsub
                    .subscribe(channel)
                    .await
                    .with_context(|| format!("redis trigger: cannot subscribe to {channel}"))?;
                tracing::info!("redis trigger: subscribed to `{channel}` at {address}");
            }
            let runtime = self.runtime.clone();
            listeners.push(tokio::spawn(async move {
                let mut messages = pubsub.into_on_message();
                while let Some(message) = messages.next().await {
                    let channel = message.get_channel_name();
                    for subscriber in channels.get(channel).into_iter().flatten() {
                        let channel = channel.to_owned();
                        let runtime = runtime.clone();
                        let subscriber = subscriber.clone();
                        let payload = message.get_payload_bytes().to_vec();
                        tokio::spawn(async move {
                            if let Err(e) = deliver(&runtime, &subscriber, payload).await {
                                tracing::error!(
                                    "redis trigger: component `{}` failed on `{channel}`: {e:#}",
                                    subscriber.component.id
                                );
                            }
                        });
                    }
                }
                tracing::warn!("redis trigger: connection to {address} closed");
            }));
        }
        for listener in listeners {
            listener.await?;
        }
        Ok(())
    }
}

async fn deliver(
    runtime: &AppRuntime,
    subscriber: &Subscriber,
    payload: Vec<u8>,
) -> anyhow::Result<()> {
    let mut store = runtime.new_store(&subscriber.component, None, None);
    // A message carries no trace context: each delivery starts a trace.
    let invocation = telemetry::start(
        format_args!("execute_wasm_component {}", subscriber.component.id),
        telemetry::Kind::Internal,
        None,
    );
    store
        .data_mut()
        .set_trace(invocation.as_ref().map(telemetry::Span::context));
    let handled = handle(&mut store, subscriber, payload).await;
    telemetry::end_with(invocation, &handled);
    handled
}

async fn handle(
    mut store: &mut wasmtime::Store<crate::state::InstanceState>,
    subscriber: &Subscriber,
    payload: Vec<u8>,
) -> anyhow::Result<()> {
    match &subscriber.pre {
        HandlerPre::P3(pre) => {
            let handler = pre.instantiate_async(&mut store).await?;
            store
                .run_concurrent(async |accessor| {
                    handler
                        .spin_redis_inbound_redis()
                        .call_handle_message(accessor, payload)
                        .await
                })
                .await??
                .map_err(|e| anyhow::anyhow!("handler returned {e:?}"))
        }
        HandlerPre::P2(pre) => {
            use crate::bindings::redis_handler_p2::fermyon::spin::redis_types::Error;
            let handler = pre.instantiate_async(&mut store).await?;
            match handler
                .fermyon_spin_inbound_redis()
                .call_handle_message(&mut store, &payload)
                .await?
            {
                Ok(()) | Err(Error::Success) => Ok(()),
                Err(Error::Error) => anyhow::bail!("handler returned an error"),
            }
        }
    }
}
