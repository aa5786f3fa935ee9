//! RFC 9457 `application/problem+json` errors.

use crate::http::{Response, with_body};
use http::{HeaderValue, StatusCode, header};
use serde::{Deserialize, Serialize};

pub const CONTENT_TYPE: &str = "application/problem+json";

/// One invalid field of a request, named as the client spelled it (`items[0].sku`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct FieldError {
    pub field: String,
    pub message: String,
}

impl FieldError {
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            message: message.into(),
        }
    }
}

/// A problem details object. `type` is a URN per kind of problem, stable for clients.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Problem {
    /// `urn:fusion:problem:<kind>`, stable for clients.
    #[serde(rename = "type")]
    pub problem_type: String,
    pub title: String,
    pub status: u16,
    pub detail: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<FieldError>,
}

impl Problem {
    /// A problem of kind `slug` (the `type` becomes `urn:fusion:problem:<slug>`); the
    /// title is the status' reason phrase.
    pub fn new(status: StatusCode, slug: &str, detail: impl Into<String>) -> Self {
        Self {
            problem_type: format!("urn:fusion:problem:{slug}"),
            title: status.canonical_reason().unwrap_or("Error").to_owned(),
            status: status.as_u16(),
            detail: detail.into(),
            errors: Vec::new(),
        }
    }

    /// 400: the body is not JSON, or the request is otherwise unreadable.
    pub fn bad_request(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "bad-request", detail)
    }

    /// 401: no credentials, or credentials that do not prove who the caller is.
    pub fn unauthorized(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, "unauthorized", detail)
    }

    /// 403: the caller is known but may not do this.
    pub fn forbidden(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, "forbidden", detail)
    }

    pub fn not_found(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, "not-found", detail)
    }

    /// 409: a uniqueness rule or a state transition forbids the change.
    pub fn conflict(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::CONFLICT, "conflict", detail)
    }

    pub fn payload_too_large(limit_bytes: usize) -> Self {
        Self::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload-too-large",
            format!("the request body exceeds {limit_bytes} bytes"),
        )
    }

    pub fn unsupported_media_type(detail: impl Into<String>) -> Self {
        Self::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported-media-type",
            detail,
        )
    }

    /// 422 without field errors, e.g. an idempotency key reused with another body.
    pub fn unprocessable(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::UNPROCESSABLE_ENTITY, "unprocessable", detail)
    }

    /// 422 naming each invalid field.
    pub fn validation(errors: Vec<FieldError>) -> Self {
        let detail = match errors.as_slice() {
            [one] => format!("{}: {}", one.field, one.message),
            _ => format!("{} fields are invalid", errors.len()),
        };
        Self {
            errors,
            ..Self::new(StatusCode::UNPROCESSABLE_ENTITY, "validation", detail)
        }
    }

    pub fn too_many_requests(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::TOO_MANY_REQUESTS, "too-many-requests", detail)
    }

    /// 500 with a generic detail: the cause belongs in the log, not in the response.
    pub fn internal() -> Self {
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "an unexpected error occurred",
        )
    }

    /// 503: a store or dependency does not answer.
    pub fn unavailable(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::SERVICE_UNAVAILABLE, "unavailable", detail)
    }

    pub fn status_code(&self) -> StatusCode {
        StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
    }

    /// The problem as an HTTP response carrying `x-request-id`.
    pub fn to_response(&self, request_id: &str) -> Response {
        let body = serde_json::to_vec(self).unwrap_or_default();
        let mut response = with_body(self.status_code(), CONTENT_TYPE, body, request_id);
        if self.status == StatusCode::UNAUTHORIZED.as_u16() {
            response
                .headers_mut()
                .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        // A 503 is worth retrying (a store restarting, a dependency down): say when.
        if self.status == StatusCode::SERVICE_UNAVAILABLE.as_u16() {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
        }
        response
    }
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}: {}", self.status, self.title, self.detail)
    }
}

impl std::error::Error for Problem {}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http::tests::body_json;
    use crate::request_id::HEADER;

    #[test]
    fn serializes_rfc9457_members() {
        let problem = Problem::not_found("no product 42");
        let json = serde_json::to_value(&problem).unwrap();
        assert_eq!(
            json,
            serde_json::json!({
                "type": "urn:fusion:problem:not-found",
                "title": "Not Found",
                "status": 404,
                "detail": "no product 42"
            })
        );
    }

    #[test]
    fn validation_lists_fields() {
        let problem = Problem::validation(vec![
            FieldError::new("price", "must not be negative"),
            FieldError::new("currency", "unknown ISO-4217 code"),
        ]);
        let json = serde_json::to_value(&problem).unwrap();
        assert_eq!(json["status"], 422);
        assert_eq!(json["errors"][1]["field"], "currency");
        assert_eq!(json["errors"][0]["message"], "must not be negative");
    }

    #[test]
    fn constructors_carry_their_status() {
        let cases = [
            (Problem::bad_request("x"), 400),
            (Problem::unauthorized("x"), 401),
            (Problem::forbidden("x"), 403),
            (Problem::not_found("x"), 404),
            (Problem::conflict("x"), 409),
            (Problem::payload_too_large(1), 413),
            (Problem::unsupported_media_type("x"), 415),
            (Problem::unprocessable("x"), 422),
            (Problem::validation(vec![]), 422),
            (Problem::too_many_requests("x"), 429),
            (Problem::internal(), 500),
            (Problem::unavailable("x"), 503),
        ];
        for (problem, status) in cases {
            assert_eq!(problem.status, status);
            assert_eq!(problem.status_code().as_u16(), status);
            assert!(!problem.title.is_empty());
        }
    }

    #[test]
    fn response_has_problem_content_type_and_request_id() {
        let response = Problem::unauthorized("missing bearer token").to_response("req-7");
        assert_eq!(response.status(), 401);
        assert_eq!(response.headers()[header::CONTENT_TYPE], CONTENT_TYPE);
        assert_eq!(response.headers()[HEADER], "req-7");
        assert_eq!(response.headers()[header::WWW_AUTHENTICATE], "Bearer");
        assert_eq!(body_json(response)["detail"], "missing bearer token");
    }

    #[test]
    fn an_unavailable_answer_says_when_to_retry() {
        let response = Problem::unavailable("the store is busy").to_response("req-8");
        assert_eq!(response.status(), 503);
        assert_eq!(response.headers()[header::RETRY_AFTER], "1");
    }
}
