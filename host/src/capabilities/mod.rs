//! The Spin capabilities a guest can import, one module each: its runtime configuration,
//! its per-instance state and its linker entries.

pub mod key_value;
pub mod outbound_http;
pub mod postgres;
pub mod redis;
pub mod sqlite;
pub mod variables;
