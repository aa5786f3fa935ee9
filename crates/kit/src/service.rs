//! The skeleton every HTTP API component shares: a context's API is its route table
//! ([`Api`]) and one handler taking the endpoint and the request's [`Call`]. The pure
//! parts — routing, bodies, captures, the domain-error answer — live here and test
//! natively; serving on Spin (the edge, the caller, the lazily opened store and the
//! outbox dispatch after the handler) is `spin::service`.

use crate::db::{DbError, Migration};
use crate::http::Response;
use crate::json::{Validate, parse, parse_valid, require_json_content_type};
use crate::problem::Problem;
use crate::route::{Route, find};
use bytes::Bytes;
use http::{HeaderMap, request};
use serde::de::DeserializeOwned;
use std::fmt::Display;

/// A domain's error, answered as a problem; an internal cause (a database or hashing
/// failure) is logged first, since its answer (a bare 500 or 503) tells the client nothing.
pub trait DomainError: Into<Problem> {
    /// What to log before answering; `None` when the problem says it all.
    fn db_cause(&self) -> Option<&dyn Display>;
}

/// A bare database failure (a context whose queries return [`DbError`] itself).
impl DomainError for DbError {
    fn db_cause(&self) -> Option<&dyn Display> {
        Some(self)
    }
}

/// An HTTP API component: its context and its routes to endpoints `E`.
pub struct Api<E: 'static> {
    /// Names the context in logs and, with `store`, its store.
    pub context: &'static str,
    /// The migrations of the context's SQL store, which also keeps the edge's
    /// idempotency records; `None` when the component keeps no SQL store (and so takes
    /// no `Idempotency-Key`).
    pub store: Option<&'static [Migration]>,
    pub routes: &'static [Route<E>],
}

impl<E: Clone> Api<E> {
    /// The endpoint of a request (whose body was read whole) and its call, or the 404
    /// or 405 answer when no route takes it (boxed: it is the rare case).
    pub fn call(&self, parts: request::Parts, body: Bytes) -> Result<(E, Call), Box<Response>> {
        let request_id = crate::request_id::from_headers(&parts.headers);
        // A decoded U+0000 reaches no query parameter: PostgreSQL's text refuses it.
        if parts.uri.query().is_some_and(|query| query.contains("%00")) {
            return Err(Box::new(
                Problem::bad_request("the query string holds the character U+0000 (%00)")
                    .to_response(&request_id),
            ));
        }
        let path = parts.uri.path();
        match find(self.routes, &parts.method, path) {
            Ok((endpoint, captures)) => {
                let captures = captures.into_iter().map(str::to_owned).collect();
                Ok((
                    endpoint,
                    Call {
                        context: self.context,
                        request_id,
                        captures,
                        parts,
                        body,
                        #[cfg(target_arch = "wasm32")]
                        store: self.store,
                        #[cfg(target_arch = "wasm32")]
                        db: std::cell::OnceCell::new(),
                    },
                ))
            }
            Err(no_route) => Err(Box::new(no_route.to_response(
                &parts.method,
                path,
                &request_id,
            ))),
        }
    }
}

/// One request to an endpoint: what the handler reads of it, and (on Spin) the caller
/// and the context's store, opened at most once.
pub struct Call {
    context: &'static str,
    request_id: String,
    captures: Vec<String>,
    parts: request::Parts,
    body: Bytes,
    #[cfg(target_arch = "wasm32")]
    pub(crate) store: Option<&'static [Migration]>,
    #[cfg(target_arch = "wasm32")]
    pub(crate) db: std::cell::OnceCell<crate::spin::RequestStore>,
}

impl Call {
    /// The context the call is to, for logs.
    pub fn context(&self) -> &'static str {
        self.context
    }

    pub fn request_id(&self) -> &str {
        &self.request_id
    }

    pub fn headers(&self) -> &HeaderMap {
        &self.parts.headers
    }

    /// What the edge attached to the request (e.g. the `Idempotency-Key` it claimed).
    pub fn extensions(&self) -> &http::Extensions {
        &self.parts.extensions
    }

    /// The query string, empty when there is none.
    pub fn query(&self) -> &str {
        self.parts.uri.query().unwrap_or_default()
    }

    /// The route's `{capture}` (its patterns have at most one); empty without one.
    pub fn capture(&self) -> &str {
        self.captures.first().map_or("", String::as_str)
    }

    /// The whole body.
    pub fn body(&self) -> &Bytes {
        &self.body
    }

    /// The JSON body as `T`: 415 unless declared JSON, 400 when it is not JSON, 422
    /// naming the field (see [`crate::json::read_json`]).
    pub fn json<T: DeserializeOwned>(&self) -> Result<T, Problem> {
        require_json_content_type(self.headers())?;
        parse(self.body.clone())
    }

    /// An optional JSON body, validated: none (or only whitespace) is `T::default()`.
    pub fn optional_json<T: DeserializeOwned + Validate + Default>(&self) -> Result<T, Problem> {
        if self.body.iter().all(u8::is_ascii_whitespace) {
            return Ok(T::default());
        }
        require_json_content_type(self.headers())?;
        parse_valid(self.body.clone())
    }

    /// The domain's answer as a problem, its internal cause logged first.
    pub fn domain<E: DomainError>(&self, error: E) -> Problem {
        if let Some(cause) = error.db_cause() {
            eprintln!("[{}] {}: {cause}", self.request_id, self.context);
        }
        error.into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::FieldError;
    use http::{Method, StatusCode, header};
    use serde::Deserialize;

    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    enum Endpoint {
        List,
        Cancel,
    }

    const API: Api<Endpoint> = Api {
        context: "orders",
        store: None,
        routes: &[
            Route::new(Method::GET, "/api/v1/orders", Endpoint::List),
            Route::new(Method::POST, "/api/v1/orders/{id}/cancel", Endpoint::Cancel),
        ],
    };

    #[derive(Debug, Default, PartialEq, Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Reason {
        reason: Option<String>,
    }

    impl Validate for Reason {
        fn validate(&self) -> Result<(), Vec<FieldError>> {
            match self.reason.as_deref() {
                Some("") => Err(vec![FieldError::new("reason", "must not be empty")]),
                _ => Ok(()),
            }
        }
    }

    fn call(method: Method, target: &str, content_type: Option<&str>, body: &str) -> Call {
        let mut request = http::Request::builder()
            .method(method)
            .uri(target)
            .header(crate::request_id::HEADER, "r1");
        if let Some(content_type) = content_type {
            request = request.header(header::CONTENT_TYPE, content_type);
        }
        let parts = request.body(()).unwrap().into_parts().0;
        let (_, call) = API
            .call(parts, Bytes::from(body.to_owned()))
            .unwrap_or_else(|response| panic!("no route: {}", response.status()));
        call
    }

    #[test]
    fn a_route_gives_its_endpoint_capture_and_query() {
        let parts = http::Request::post("/api/v1/orders/o-1/cancel")
            .body(())
            .unwrap()
            .into_parts()
            .0;
        let (endpoint, call) = API.call(parts, Bytes::new()).ok().unwrap();
        assert_eq!(endpoint, Endpoint::Cancel);
        assert_eq!(call.capture(), "o-1");
        assert_eq!(call.context(), "orders");

        let call = call_get("/api/v1/orders?status=paid");
        assert_eq!(call.capture(), "");
        assert_eq!(call.query(), "status=paid");
        assert_eq!(call.request_id(), "r1");
    }

    fn call_get(target: &str) -> Call {
        call(Method::GET, target, None, "")
    }

    #[test]
    fn no_route_is_answered_at_once() {
        for (method, path, status) in [
            (Method::GET, "/api/v1/nothing", StatusCode::NOT_FOUND),
            (
                Method::DELETE,
                "/api/v1/orders",
                StatusCode::METHOD_NOT_ALLOWED,
            ),
        ] {
            let parts = http::Request::builder()
                .method(method)
                .uri(path)
                .body(())
                .unwrap()
                .into_parts()
                .0;
            let answer = API.call(parts, Bytes::new()).err().unwrap();
            assert_eq!(answer.status(), status, "{path}");
        }
    }

    #[test]
    fn a_json_body_must_be_declared_and_well_formed() {
        let post = |content_type, body| {
            call(
                Method::POST,
                "/api/v1/orders/o-1/cancel",
                content_type,
                body,
            )
        };
        let reason = r#"{"reason":"late"}"#;
        assert_eq!(
            post(Some("application/json"), reason).json::<Reason>(),
            Ok(Reason {
                reason: Some("late".into())
            })
        );
        let status = |result: Result<Reason, Problem>| result.unwrap_err().status;
        assert_eq!(status(post(Some("text/plain"), reason).json()), 415);
        assert_eq!(status(post(Some("application/json"), "{").json()), 400);
        assert_eq!(
            status(post(Some("application/json"), r#"{"other":1}"#).json()),
            422
        );
    }

    #[test]
    fn an_optional_body_may_be_absent_but_not_invalid() {
        let post = |content_type, body| {
            call(
                Method::POST,
                "/api/v1/orders/o-1/cancel",
                content_type,
                body,
            )
            .optional_json::<Reason>()
        };
        assert_eq!(post(None, ""), Ok(Reason::default()));
        assert_eq!(post(None, " \n"), Ok(Reason::default()));
        assert_eq!(post(Some("text/plain"), "{}").unwrap_err().status, 415);
        assert_eq!(
            post(Some("application/json"), r#"{"reason":""}"#)
                .unwrap_err()
                .status,
            422
        );
    }

    #[test]
    fn domain_errors_answer_their_problem() {
        let call = call_get("/api/v1/orders");
        assert_eq!(
            call.domain(DbError::UniqueViolation("dup".into())).status,
            409
        );
        assert_eq!(call.domain(DbError::Other("down".into())).status, 500);
    }
}
