//! Operations endpoints: `GET /health` (200 when every store the app uses answers, 503
//! naming the one that does not) and the outbox's admin side — dead letters of every
//! context, their replay, and the sweep that re-dispatches whatever is left pending
//! (for a cron or a Kubernetes CronJob).

pub mod routes;
#[cfg(target_arch = "wasm32")]
mod service;
