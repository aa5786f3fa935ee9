//! The Spin capabilities a guest can import, one module each: its runtime configuration,
//! its per-instance state and its linker entries.

pub mod key_value;
pub mod outbound_http;
pub mod postgres;
pub mod redis;
pub mod sqlite;
pub mod variables;

use crate::state::Capabilities;
use wasmtime::component::{Accessor, ComponentType, FutureReader, Lift, Lower, StreamReader};

/// A query's rows as the guest reads them, and the outcome it learns at their end.
pub(crate) type RowStream<R, E> = (StreamReader<R>, FutureReader<Result<(), E>>);

/// Hands rows the host already holds to the guest as a `stream`, with the `future` that
/// reports how the query ended (always success: errors were returned before any row).
pub(crate) fn buffered_rows<T, R, E>(
    accessor: &Accessor<T, Capabilities>,
    rows: Vec<R>,
) -> wasmtime::Result<RowStream<R, E>>
where
    R: ComponentType + Lower + Lift + Send + Sync + Unpin + 'static,
    E: ComponentType + Lower + Lift + Send + Sync + 'static,
{
    accessor.with(|mut access| {
        let rows = StreamReader::new(&mut access, rows)?;
        let done = FutureReader::new(&mut access, async { Ok::<_, wasmtime::Error>(Ok(())) })?;
        Ok((rows, done))
    })
}

/// How a manifest field of store labels and its runtime-config table are named.
pub(crate) struct Labels {
    /// The component's field: `key_value_stores`.
    pub field: &'static str,
    /// What a label names: `key-value store`.
    pub kind: &'static str,
    /// The runtime config's table for one: `key_value_store`.
    pub table: &'static str,
}

/// Checks the labels a component names against those its runtime config has: Spin
/// refuses to start a component whose store is not configured.
pub(crate) fn check_labels(
    labels: &[String],
    configured: impl Fn(&str) -> bool,
    names: Labels,
) -> Result<(), String> {
    let Labels { field, kind, table } = names;
    match labels.iter().find(|label| !configured(label)) {
        Some(label) => Err(format!(
            "{field}: no {kind} `{label}` is configured (add [{table}.{label}] to the runtime config)"
        )),
        None => Ok(()),
    }
}
