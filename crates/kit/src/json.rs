//! JSON request bodies: size limit, syntax, shape and domain validation, each with the
//! status DESIGN §3 gives it (413, 400, 422, 422 with `errors`).

use crate::problem::{FieldError, Problem};
use bytes::{Buf, Bytes};
use http::{HeaderMap, header};
use http_body_util::{BodyExt, Limited};
use serde::de::DeserializeOwned;

/// Largest accepted request body: 1 MiB.
pub const MAX_BODY_BYTES: usize = 1 << 20;

/// Domain validation of a well-formed body; every broken rule names its field.
pub trait Validate {
    fn validate(&self) -> Result<(), Vec<FieldError>>;
}

/// Collects field errors while checking rules, for `Validate` implementations.
#[derive(Debug, Default)]
pub struct FieldErrors(Vec<FieldError>);

impl FieldErrors {
    pub fn new() -> Self {
        Self::default()
    }

    /// Records `message` for `field` unless `ok`.
    pub fn check(&mut self, ok: bool, field: &str, message: &str) -> &mut Self {
        if !ok {
            self.push(field, message);
        }
        self
    }

    pub fn push(&mut self, field: impl Into<String>, message: impl Into<String>) {
        self.0.push(FieldError::new(field, message));
    }

    pub fn into_result(self) -> Result<(), Vec<FieldError>> {
        if self.0.is_empty() {
            Ok(())
        } else {
            Err(self.0)
        }
    }
}

/// 415 unless the request says its body is JSON (`application/json` or `…+json`).
/// A request without `content-type` is accepted as JSON.
pub fn require_json_content_type(headers: &HeaderMap) -> Result<(), Problem> {
    let Some(value) = headers.get(header::CONTENT_TYPE) else {
        return Ok(());
    };
    let essence = value
        .to_str()
        .unwrap_or_default()
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    if essence == "application/json"
        || (essence.starts_with("application/") && essence.ends_with("+json"))
    {
        Ok(())
    } else {
        Err(Problem::unsupported_media_type(format!(
            "expected application/json, got {essence:?}"
        )))
    }
}

/// Reads a whole body, stopping with 413 as soon as it passes [`MAX_BODY_BYTES`].
pub async fn read_body<B>(body: B) -> Result<Bytes, Problem>
where
    B: http_body::Body,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    match Limited::new(body, MAX_BODY_BYTES).collect().await {
        Ok(collected) => Ok(collected.to_bytes()),
        Err(error) if error.is::<http_body_util::LengthLimitError>() => {
            Err(Problem::payload_too_large(MAX_BODY_BYTES))
        }
        Err(_) => Err(Problem::bad_request("the request body could not be read")),
    }
}

/// Decodes a body: 413 over the limit, 400 when it is not JSON, 422 naming the field
/// when it is JSON of the wrong shape (wrong type, missing or unknown field).
pub fn parse<T: DeserializeOwned>(mut body: impl Buf) -> Result<T, Problem> {
    if body.remaining() > MAX_BODY_BYTES {
        return Err(Problem::payload_too_large(MAX_BODY_BYTES));
    }
    let bytes = body.copy_to_bytes(body.remaining());
    // Syntax first, so "not JSON" (400) and "JSON of the wrong shape" (422) differ.
    let value: serde_json::Value = serde_json::from_slice(&bytes).map_err(|error| {
        Problem::bad_request(format!("the request body is not valid JSON: {error}"))
    })?;
    // PostgreSQL's text refuses U+0000 (a 500 there, stored on SQLite): refused on
    // both, before any type sees it. JSON can only carry it escaped.
    if bytes.windows(6).any(|window| window == b"\\u0000")
        && let Some(field) = field_with_nul(&value, String::new())
    {
        return Err(Problem::validation(vec![FieldError::new(
            field,
            "must not contain the character U+0000",
        )]));
    }
    serde_path_to_error::deserialize(value).map_err(|error| {
        let field = field_name(error.path(), &error.inner().to_string());
        Problem::validation(vec![FieldError::new(field, error.inner().to_string())])
    })
}

/// [`parse`], then the type's own [`Validate`] rules (422 with every broken rule).
pub fn parse_valid<T: DeserializeOwned + Validate>(body: impl Buf) -> Result<T, Problem> {
    let value: T = parse(body)?;
    value.validate().map_err(Problem::validation)?;
    Ok(value)
}

/// A request's JSON body as `T`, in the order a client fixes them: 415 unless the body
/// is declared JSON, 413 over the limit, 400 when it is not JSON, 422 naming the field.
pub async fn read_json<T, B>(request: http::Request<B>) -> Result<T, Problem>
where
    T: DeserializeOwned,
    B: http_body::Body,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    require_json_content_type(request.headers())?;
    parse(read_body(request.into_body()).await?)
}

/// The path (as [`field_name`] writes it) of the first string or key under `value` that
/// holds U+0000; `body` for the top level.
fn field_with_nul(value: &serde_json::Value, path: String) -> Option<String> {
    let named = |path: String| {
        if path.is_empty() {
            "body".to_owned()
        } else {
            path
        }
    };
    match value {
        serde_json::Value::String(text) => text.contains('\0').then(|| named(path)),
        serde_json::Value::Array(items) => items
            .iter()
            .enumerate()
            .find_map(|(i, item)| field_with_nul(item, format!("{path}[{i}]"))),
        serde_json::Value::Object(fields) => fields.iter().find_map(|(key, item)| {
            let field = if path.is_empty() {
                key.clone()
            } else {
                format!("{path}.{key}")
            };
            if key.contains('\0') {
                return Some(named(path.clone()));
            }
            field_with_nul(item, field)
        }),
        _ => None,
    }
}

/// The client's name for the offending field. serde reports a missing field at its
/// parent's path with the name only in the message, so it is appended.
fn field_name(path: &serde_path_to_error::Path, message: &str) -> String {
    let parent = path.to_string();
    let parent = if parent == "." { "" } else { parent.as_str() };
    let missing = message
        .strip_prefix("missing field `")
        .and_then(|rest| rest.split('`').next());
    match (parent, missing) {
        ("", Some(name)) => name.to_owned(),
        (parent, Some(name)) => format!("{parent}.{name}"),
        ("", None) => "body".to_owned(),
        (parent, None) => parent.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)] // fields exist to be decoded
    struct Line {
        sku: String,
        quantity: u32,
    }

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Checkout {
        items: Vec<Line>,
        note: Option<String>,
    }

    impl Validate for Checkout {
        fn validate(&self) -> Result<(), Vec<FieldError>> {
            let mut errors = FieldErrors::new();
            errors.check(!self.items.is_empty(), "items", "must not be empty");
            for (i, line) in self.items.iter().enumerate() {
                errors.check(
                    line.quantity > 0,
                    &format!("items[{i}].quantity"),
                    "must be at least 1",
                );
            }
            errors.into_result()
        }
    }

    fn request(
        content_type: &str,
        body: impl Into<Bytes>,
    ) -> http::Request<http_body_util::Full<Bytes>> {
        http::Request::builder()
            .header(header::CONTENT_TYPE, content_type)
            .body(http_body_util::Full::new(body.into()))
            .unwrap()
    }

    #[test]
    fn read_json_checks_type_size_syntax_and_shape() {
        let read = |request| futures::executor::block_on(read_json::<Line, _>(request));
        let line = read(request(
            "application/json",
            r#"{"sku": "A", "quantity": 2}"#,
        ))
        .unwrap();
        assert_eq!(line.quantity, 2);
        let status = |request| read(request).unwrap_err().status;
        assert_eq!(status(request("text/plain", "{}")), 415);
        assert_eq!(
            status(request("application/json", vec![b' '; MAX_BODY_BYTES + 1])),
            413
        );
        assert_eq!(status(request("application/json", "{")), 400);
        let problem =
            read(request("application/json", r#"{"sku": 1, "quantity": 2}"#)).unwrap_err();
        assert_eq!(field_of(&problem), "sku");
    }

    fn field_of(problem: &Problem) -> &str {
        assert_eq!(problem.status, 422, "{problem}");
        &problem.errors[0].field
    }

    #[test]
    fn malformed_json_is_400() {
        let problem = parse::<Checkout>(&b"{\"items\": ["[..]).unwrap_err();
        assert_eq!(problem.status, 400);
        assert_eq!(parse::<Checkout>(&b""[..]).unwrap_err().status, 400);
    }

    #[test]
    fn wrong_type_names_the_nested_field() {
        let body = br#"{"items": [{"sku": "A", "quantity": 1}, {"sku": "B", "quantity": "two"}]}"#;
        let problem = parse::<Checkout>(&body[..]).unwrap_err();
        assert_eq!(field_of(&problem), "items[1].quantity");
        let problem =
            parse::<Checkout>(&br#"{"items": [{"sku": 5, "quantity": 1}]}"#[..]).unwrap_err();
        assert_eq!(field_of(&problem), "items[0].sku");
        let problem =
            parse::<Checkout>(&br#"{"items": [{"sku": "A", "quantity": -1}]}"#[..]).unwrap_err();
        assert_eq!(field_of(&problem), "items[0].quantity");
    }

    #[test]
    fn missing_and_unknown_fields_are_named() {
        let problem = parse::<Checkout>(&br#"{}"#[..]).unwrap_err();
        assert_eq!(field_of(&problem), "items");
        let problem = parse::<Checkout>(&br#"{"items": [{"sku": "A"}]}"#[..]).unwrap_err();
        assert_eq!(field_of(&problem), "items[0].quantity");
        let problem = parse::<Checkout>(&br#"{"items": [], "coupon": "X"}"#[..]).unwrap_err();
        assert_eq!(field_of(&problem), "coupon");
        let problem =
            parse::<Checkout>(&br#"{"items": [{"sku": "A", "quantity": 1, "price": 1}]}"#[..])
                .unwrap_err();
        assert_eq!(field_of(&problem), "items[0].price");
    }

    #[test]
    fn a_body_of_the_wrong_kind_is_422() {
        let problem = parse::<Checkout>(&b"[1, 2]"[..]).unwrap_err();
        assert!(!field_of(&problem).is_empty());
        let problem = parse::<Checkout>(&b"\"text\""[..]).unwrap_err();
        assert_eq!(field_of(&problem), "body");
    }

    #[test]
    fn text_with_nul_is_422_naming_the_field() {
        let body = br#"{"items": [{"sku": "A\u0000", "quantity": 1}]}"#;
        let problem = parse::<Checkout>(&body[..]).unwrap_err();
        assert_eq!(field_of(&problem), "items[0].sku");
        let problem = parse::<Checkout>(&br#"{"items": [], "n\u0000": 1}"#[..]).unwrap_err();
        assert_eq!(field_of(&problem), "body");
        let escaped_backslash = br#"{"items": [], "note": "\\u0000"}"#;
        assert!(parse::<Checkout>(&escaped_backslash[..]).is_ok());
    }

    #[test]
    fn validation_lists_every_broken_rule() {
        let body = br#"{"items": [{"sku": "A", "quantity": 0}]}"#;
        let problem = parse_valid::<Checkout>(&body[..]).unwrap_err();
        assert_eq!(field_of(&problem), "items[0].quantity");
        let ok =
            parse_valid::<Checkout>(&br#"{"items": [{"sku": "A", "quantity": 2}]}"#[..]).unwrap();
        assert_eq!(ok.items.len(), 1);
        assert!(ok.note.is_none());
    }

    #[test]
    fn oversized_bodies_are_413() {
        let big = vec![b' '; MAX_BODY_BYTES + 1];
        assert_eq!(parse::<Checkout>(&big[..]).unwrap_err().status, 413);

        let streamed = http_body_util::Full::new(Bytes::from(big));
        let problem = futures::executor::block_on(read_body(streamed)).unwrap_err();
        assert_eq!(problem.status, 413);

        let fits = http_body_util::Full::new(Bytes::from_static(b"{}"));
        assert_eq!(futures::executor::block_on(read_body(fits)).unwrap(), "{}");
    }

    #[test]
    fn content_type_must_be_json_when_given() {
        let mut headers = HeaderMap::new();
        assert!(require_json_content_type(&headers).is_ok());
        headers.insert(
            header::CONTENT_TYPE,
            "application/json; charset=utf-8".parse().unwrap(),
        );
        assert!(require_json_content_type(&headers).is_ok());
        headers.insert(
            header::CONTENT_TYPE,
            "application/merge-patch+json".parse().unwrap(),
        );
        assert!(require_json_content_type(&headers).is_ok());
        headers.insert(header::CONTENT_TYPE, "text/plain".parse().unwrap());
        assert_eq!(require_json_content_type(&headers).unwrap_err().status, 415);
    }
}
