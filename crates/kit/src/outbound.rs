//! Requests to other services — other components over `*.spin.internal`, Stripe, the
//! email API — as domain code makes them: the [`Outbound`] trait is implemented over
//! Spin's outbound HTTP by `spin::Spin`, and by stubs in tests.

pub use contracts::clients::Answer;
use std::time::Duration;

/// Sends HTTP requests and waits between attempts.
#[allow(async_fn_in_trait)] // components are single-threaded wasm; no `Send` bound wanted
pub trait Outbound {
    /// Sends `request` and reads the whole answer. `Err` says what failed (building,
    /// sending — denied, unreachable, timed out — or reading), naming the URL.
    async fn send(&self, request: http::Request<Vec<u8>>) -> Result<Answer, String>;

    /// Waits `delay` before another attempt. Blocking is right in a component: its
    /// instance serves this one request, so nothing else is kept waiting.
    async fn pause(&self, delay: Duration) {
        std::thread::sleep(delay);
    }
}

#[cfg(test)]
mod tests {
    /// The clients in `contracts` name the platform's headers without depending on kit.
    #[test]
    fn the_clients_send_the_platforms_headers() {
        assert_eq!(
            contracts::clients::TENANT_HEADER,
            crate::auth::TENANT_HEADER
        );
        assert_eq!(
            contracts::clients::REQUEST_ID_HEADER,
            crate::request_id::HEADER
        );
    }
}
