//! `x-request-id`: echoed when the client sent a sane one, otherwise a fresh UUIDv7.

use http::HeaderMap;

pub const HEADER: &str = "x-request-id";
const MAX_LEN: usize = 128;

/// The request's id: the client's `x-request-id` if it is 1–128 visible ASCII
/// characters (so it is safe to log and echo), else a new UUIDv7.
pub fn from_headers(headers: &HeaderMap) -> String {
    headers
        .get(HEADER)
        .and_then(|value| value.to_str().ok())
        .filter(|id| (1..=MAX_LEN).contains(&id.len()) && id.bytes().all(|b| b.is_ascii_graphic()))
        .map_or_else(|| uuid::Uuid::now_v7().to_string(), str::to_owned)
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;

    #[test]
    fn echoes_a_client_id() {
        let mut headers = HeaderMap::new();
        headers.insert(HEADER, HeaderValue::from_static("abc-123"));
        assert_eq!(from_headers(&headers), "abc-123");
    }

    #[test]
    fn generates_uuid_v7_when_absent_or_unfit() {
        let generated = from_headers(&HeaderMap::new());
        assert_eq!(
            uuid::Uuid::parse_str(&generated).unwrap().get_version_num(),
            7
        );

        let mut headers = HeaderMap::new();
        headers.insert(HEADER, HeaderValue::from_static("has space"));
        assert_ne!(from_headers(&headers), "has space");
        headers.insert(HEADER, HeaderValue::from_str(&"x".repeat(129)).unwrap());
        assert_eq!(from_headers(&headers).len(), 36);
    }
}
