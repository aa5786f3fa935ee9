//! Typed clients of the HTTP APIs one context calls on another over Spin's service
//! chaining (`http://<component>.spin.internal`): each builds its requests and reads
//! the answers, pure and tested natively. Callers send the requests through
//! `kit::outbound::Outbound` and map failures to their own problems.

pub mod accounts;
pub mod catalog;
pub mod orders;

/// An answer to an outbound request: its status and whole body.
pub type Answer = http::Response<Vec<u8>>;

/// The header naming the tenant a request acts for (the platform's, DESIGN §3).
pub const TENANT_HEADER: &str = "x-tenant-id";
/// The header carrying the request's id across components, so their logs name one
/// request.
pub const REQUEST_ID_HEADER: &str = "x-request-id";

const JSON: &str = "application/json";

/// `HTTP <status>: <start of the body>`, for logs and retry reasons.
pub fn describe(answer: &Answer) -> String {
    let body = answer.body();
    let shown = &body[..body.len().min(300)];
    format!(
        "HTTP {}: {}",
        answer.status().as_u16(),
        String::from_utf8_lossy(shown)
    )
}

/// `request`, or why it could not be built.
fn built(request: http::Result<http::Request<Vec<u8>>>) -> Result<http::Request<Vec<u8>>, String> {
    request.map_err(|error| format!("building the request: {error}"))
}

#[cfg(test)]
pub(crate) fn answer(status: u16, body: &str) -> Answer {
    http::Response::builder()
        .status(status)
        .body(body.as_bytes().to_vec())
        .unwrap()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_are_described_by_status_and_the_start_of_the_body() {
        assert_eq!(
            describe(&answer(502, "bad gateway")),
            "HTTP 502: bad gateway"
        );
        let long = "x".repeat(400);
        assert_eq!(
            describe(&answer(500, &long)).len(),
            "HTTP 500: ".len() + 300
        );
    }
}
