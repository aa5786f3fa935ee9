//! Triggers: what calls into components (HTTP requests, Redis messages).

pub mod http;
pub mod redis;
