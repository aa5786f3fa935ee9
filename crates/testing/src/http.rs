//! HTTP calls as the tests make them: one request per fresh connection, any status accepted,
//! the reply read whole.

use std::time::Duration;

use serde_json::Value;
use ureq::http::HeaderMap;

const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// A request under construction; [`Request::send`] performs it.
#[must_use]
pub struct Request {
    method: String,
    url: String,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Request {
    pub fn new(method: &str, url: &str) -> Request {
        Request {
            method: method.to_owned(),
            url: url.to_owned(),
            headers: Vec::new(),
            body: Vec::new(),
        }
    }

    pub fn header(mut self, name: &str, value: &str) -> Request {
        self.headers.push((name.to_owned(), value.to_owned()));
        self
    }

    /// `body` as `application/json`.
    pub fn json(self, body: &Value) -> Request {
        self.raw_json(body.to_string())
    }

    /// Bytes sent as `application/json` whether or not they are JSON (for bad-input tests).
    pub fn raw_json(self, body: impl Into<Vec<u8>>) -> Request {
        self.body(body).header("content-type", "application/json")
    }

    /// Bytes sent as they are, with the content type the caller's headers give.
    pub fn body(mut self, body: impl Into<Vec<u8>>) -> Request {
        self.body = body.into();
        self
    }

    /// Sends the request on a fresh connection (no pooling, so a server shutting down is not
    /// kept busy by idle keep-alive connections of the tests). Panics when no reply arrives.
    pub fn send(self) -> Reply {
        self.try_send()
            .unwrap_or_else(|failure| panic!("{failure}"))
    }

    /// [`Request::send`], with no reply (a server killed or gone) an error naming the
    /// request and why.
    pub fn try_send(self) -> Result<Reply, String> {
        let Request {
            method,
            url,
            headers,
            body,
        } = self;
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(REQUEST_TIMEOUT))
            .max_idle_connections(0)
            .build()
            .into();
        let mut request = ureq::http::Request::builder()
            .method(method.as_str())
            .uri(&url);
        for (name, value) in &headers {
            request = request.header(name, value);
        }
        let request = request
            .body(body)
            .unwrap_or_else(|e| panic!("invalid request {method} {url}: {e}"));
        let mut response = agent
            .run(request)
            .map_err(|e| format!("{method} {url} failed: {e}"))?;
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let body = response
            .body_mut()
            .read_to_string()
            .map_err(|e| format!("reading the body of {method} {url}: {e}"))?;
        Ok(Reply {
            status,
            headers,
            body,
        })
    }
}

/// One request with an optional JSON body.
pub fn send(method: &str, url: &str, body: Option<&str>) -> Reply {
    Request::new(method, url)
        .raw_json(body.unwrap_or_default())
        .send()
}

/// An HTTP response as the tests look at it.
#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub headers: HeaderMap,
    pub body: String,
}

impl Reply {
    /// A header's value, when present and text.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name)?.to_str().ok()
    }

    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body)
            .unwrap_or_else(|e| panic!("response body is not JSON ({e}): {:?}", self.body))
    }

    /// The JSON body, after checking the status.
    pub fn expect_json(&self, status: u16) -> Value {
        assert_eq!(
            self.status, status,
            "unexpected status, body: {}",
            self.body
        );
        self.json()
    }

    /// The JSON body of a 200 response.
    pub fn expect_ok(&self) -> Value {
        self.expect_json(200)
    }
}
