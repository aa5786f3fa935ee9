//! HTTP through Spin's WASIp2 interfaces: the incoming request read into an
//! `http::Request` (its body capped), the response handed back, and outbound requests
//! (other components over `*.spin.internal`, Stripe, the email API), each read whole.

use crate::http::Response;
use crate::json::MAX_BODY_BYTES;
use crate::problem::Problem;
use bytes::Bytes;
use futures::{FutureExt, StreamExt};
use http::StatusCode;
use http_body_util::BodyExt;
use spin_sdk::http::{IncomingRequest, IncomingResponse, IntoResponse};

/// The method, target and headers of an incoming request (its body stays unread).
pub fn request_parts(incoming: &IncomingRequest) -> http::request::Parts {
    let mut builder = http::Request::builder()
        .method(http::Method::from(incoming.method()))
        .uri(incoming.path_with_query().unwrap_or_else(|| "/".into()));
    for (name, value) in incoming.headers().entries() {
        builder = builder.header(name, value);
    }
    match builder.body(()) {
        Ok(request) => request.into_parts().0,
        // A target or header the `http` crate refuses: served as a bare GET / without
        // headers, which every route answers with its own 4xx.
        Err(_) => http::Request::new(()).into_parts().0,
    }
}

/// The whole body of an incoming request: 413 as soon as it passes [`MAX_BODY_BYTES`].
pub async fn read_body(incoming: IncomingRequest) -> Result<Bytes, Problem> {
    let mut chunks = std::pin::pin!(incoming.into_body_stream());
    let mut body = Vec::new();
    while let Some(chunk) = chunks.next().await {
        let chunk =
            chunk.map_err(|_| Problem::bad_request("the request body could not be read"))?;
        if body.len() + chunk.len() > MAX_BODY_BYTES {
            return Err(Problem::payload_too_large(MAX_BODY_BYTES));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body.into())
}

/// A component's response, as the `#[http_component]` handler returns it.
pub struct Reply(pub Response);

impl IntoResponse for Reply {
    fn into_response(self) -> spin_sdk::http::Response {
        let (parts, body) = self.0.into_parts();
        // A `Full` body is ready at once.
        let body = body
            .collect()
            .now_or_never()
            .and_then(Result::ok)
            .map(|collected| collected.to_bytes())
            .unwrap_or_default();
        http::Response::from_parts(parts, body).into_response()
    }
}

/// An answer to an outbound request: its status and whole body.
pub struct Answer {
    pub status: StatusCode,
    pub body: Bytes,
}

/// Sends `request` and reads the whole answer. The error says what failed (building,
/// sending — denied, unreachable, timed out — or reading), naming the URL.
pub async fn send(request: http::Request<Vec<u8>>) -> Result<Answer, String> {
    let url = request.uri().to_string();
    let response: IncomingResponse = spin_sdk::http::send(request)
        .await
        .map_err(|error| format!("sending to {url}: {error}"))?;
    let status = StatusCode::from_u16(response.status())
        .map_err(|_| format!("{url} answered status {}", response.status()))?;
    let mut chunks = std::pin::pin!(response.take_body_stream());
    let mut body = Vec::new();
    while let Some(chunk) = chunks.next().await {
        let chunk = chunk.map_err(|error| format!("reading the answer of {url}: {error:?}"))?;
        body.extend_from_slice(&chunk);
    }
    Ok(Answer {
        status,
        body: body.into(),
    })
}
