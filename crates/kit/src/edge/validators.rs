//! Conditional GETs: a 200 answer to a GET carries a strong `ETag` made from its body, and
//! a request whose `If-None-Match` names that tag is answered 304 without the body — a
//! client or cache that kept the representation revalidates it for a few bytes. The tag
//! comes from the bytes themselves, so it changes exactly when the answer does.

use crate::http::{Body, Response};
use base64::Engine as _;
use bytes::Bytes;
use http::{HeaderValue, Method, StatusCode, header};
use http_body::Body as _;
use sha2::{Digest, Sha256};
use std::task::{Context, Poll, Waker};

/// The strong entity tag of `body`: its SHA-256's first 16 bytes, base64url.
pub fn entity_tag(body: &[u8]) -> HeaderValue {
    let digest = Sha256::digest(body);
    let tag = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(&digest[..16]);
    HeaderValue::from_str(&format!("\"{tag}\"")).expect("base64url is a valid header value")
}

/// Whether `If-None-Match` names `tag` or is `*`. Tags compare weakly (a `W/` prefix is
/// ignored), as RFC 9110 §13.1.2 has it for this header.
pub fn none_match(if_none_match: Option<&HeaderValue>, tag: &HeaderValue) -> bool {
    let Some(listed) = if_none_match.and_then(|value| value.to_str().ok()) else {
        return false;
    };
    let tag = tag.to_str().unwrap_or_default();
    listed.trim() == "*"
        || listed
            .split(',')
            .map(|candidate| candidate.trim().trim_start_matches("W/"))
            .any(|candidate| candidate == tag)
}

/// Tags a 200 answer to a GET or HEAD (unless the handler tagged it) and answers 304 with
/// the same headers and no body when `if_none_match` names the tag. Other answers pass.
pub fn validate(
    method: &Method,
    if_none_match: Option<&HeaderValue>,
    response: Response,
) -> Response {
    if !matches!(*method, Method::GET | Method::HEAD) || response.status() != StatusCode::OK {
        return response;
    }
    let (mut parts, body) = response.into_parts();
    let body = whole(body);
    let tag = parts
        .headers
        .entry(header::ETAG)
        .or_insert_with(|| entity_tag(&body))
        .clone();
    if !none_match(if_none_match, &tag) {
        return Response::from_parts(parts, Body::new(body));
    }
    parts.status = StatusCode::NOT_MODIFIED;
    parts.headers.remove(header::CONTENT_LENGTH);
    parts.headers.remove(header::CONTENT_TYPE);
    Response::from_parts(parts, Body::new(Bytes::new()))
}

/// The bytes of a whole body, which yields them at its first poll.
fn whole(body: Body) -> Bytes {
    let mut body = std::pin::pin!(body);
    match body
        .as_mut()
        .poll_frame(&mut Context::from_waker(Waker::noop()))
    {
        Poll::Ready(Some(Ok(frame))) => frame.into_data().unwrap_or_default(),
        _ => Bytes::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answer(status: StatusCode, body: &'static str) -> Response {
        let mut response = Response::new(Body::new(Bytes::from_static(body.as_bytes())));
        *response.status_mut() = status;
        response.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        response
    }

    fn bytes_of(response: Response) -> Bytes {
        whole(response.into_body())
    }

    #[test]
    fn a_tag_is_strong_and_follows_the_bytes() {
        let tag = entity_tag(b"{\"id\":1}");
        assert_eq!(tag, entity_tag(b"{\"id\":1}"));
        assert_ne!(tag, entity_tag(b"{\"id\":2}"));
        let text = tag.to_str().unwrap();
        assert!(
            text.starts_with('"') && text.ends_with('"') && text.len() == 24,
            "{text}"
        );
    }

    #[test]
    fn if_none_match_names_the_tag_in_a_list_weakly_or_by_star() {
        let tag = HeaderValue::from_static("\"abc\"");
        let named = |value: &'static str| none_match(Some(&HeaderValue::from_static(value)), &tag);
        assert!(named("\"abc\""));
        assert!(named("\"x\", W/\"abc\""));
        assert!(named("*"));
        assert!(!named("\"abcd\""));
        assert!(!named("abc"));
        assert!(!none_match(None, &tag));
    }

    #[test]
    fn a_get_answer_is_tagged_and_a_matching_request_gets_304_without_the_body() {
        let tagged = validate(&Method::GET, None, answer(StatusCode::OK, "{\"id\":1}"));
        let tag = tagged.headers()[header::ETAG].clone();
        assert_eq!(tag, entity_tag(b"{\"id\":1}"));
        assert_eq!(bytes_of(tagged), "{\"id\":1}");

        let revalidated = validate(
            &Method::GET,
            Some(&tag),
            answer(StatusCode::OK, "{\"id\":1}"),
        );
        assert_eq!(revalidated.status(), StatusCode::NOT_MODIFIED);
        assert_eq!(revalidated.headers()[header::ETAG], tag);
        assert!(!revalidated.headers().contains_key(header::CONTENT_TYPE));
        assert!(bytes_of(revalidated).is_empty());

        let changed = validate(
            &Method::GET,
            Some(&tag),
            answer(StatusCode::OK, "{\"id\":2}"),
        );
        assert_eq!(changed.status(), StatusCode::OK);
        assert_ne!(changed.headers()[header::ETAG], tag);
    }

    #[test]
    fn writes_and_other_statuses_pass_untagged() {
        let tag = entity_tag(b"{}");
        for (method, status) in [
            (Method::POST, StatusCode::OK),
            (Method::GET, StatusCode::NOT_FOUND),
            (Method::GET, StatusCode::CREATED),
        ] {
            let response = validate(&method, Some(&tag), answer(status, "{}"));
            assert_eq!(response.status(), status);
            assert!(!response.headers().contains_key(header::ETAG));
        }
    }
}
