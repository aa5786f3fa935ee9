//! The accounts' user record, as notifications reads a customer's email address.

use super::{Answer, JSON, built, describe};
use serde::Deserialize;

/// Where the accounts component answers other components.
pub const ACCOUNTS_URL: &str = "http://accounts.spin.internal";

/// The user `user_id`'s URL; the id is percent-encoded as one path segment.
pub fn user_url(user_id: &str) -> String {
    let mut url = format!("{ACCOUNTS_URL}/api/v1/users/");
    for byte in user_id.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~') {
            url.push(char::from(byte));
        } else {
            url.push_str(&format!("%{byte:02X}"));
        }
    }
    url
}

/// `GET` of the user `user_id` with an admin's `bearer_token` of the user's tenant.
pub fn user_request(user_id: &str, bearer_token: &str) -> Result<http::Request<Vec<u8>>, String> {
    built(
        http::Request::get(user_url(user_id))
            .header(
                http::header::AUTHORIZATION,
                format!("Bearer {bearer_token}"),
            )
            .header(http::header::ACCEPT, JSON)
            .body(Vec::new()),
    )
}

/// The user's email address from the answer: `None` for an unknown user (404) or one
/// without an address; any other answer is an error worth retrying.
pub fn read_email(answer: &Answer) -> Result<Option<String>, String> {
    #[derive(Deserialize)]
    struct User {
        email: String,
    }
    match answer.status().as_u16() {
        404 => Ok(None),
        200 => {
            let user: User = serde_json::from_slice(answer.body())
                .map_err(|error| format!("accounts answered a user without an email: {error}"))?;
            let email = user.email.trim();
            Ok((!email.is_empty()).then(|| email.to_owned()))
        }
        _ => Err(format!("accounts answered {}", describe(answer))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clients::answer;

    const ADA: &str = "0190b5f2-7c4e-7000-8000-00000000ada0";

    #[test]
    fn user_urls_keep_the_id_one_segment() {
        assert_eq!(user_url(ADA), format!("{ACCOUNTS_URL}/api/v1/users/{ADA}"));
        assert_eq!(
            user_url("a/b c?"),
            format!("{ACCOUNTS_URL}/api/v1/users/a%2Fb%20c%3F")
        );
    }

    #[test]
    fn the_request_carries_the_token() {
        let request = user_request(ADA, "t0k").unwrap();
        assert_eq!(request.uri().to_string(), user_url(ADA));
        assert_eq!(request.headers()[http::header::AUTHORIZATION], "Bearer t0k");
        assert_eq!(request.headers()[http::header::ACCEPT], JSON);
    }

    #[test]
    fn answers_give_the_email() {
        assert_eq!(
            read_email(&answer(
                200,
                r#"{"id":"u","email":"ada@example.com","role":"customer"}"#
            )),
            Ok(Some("ada@example.com".into()))
        );
        assert_eq!(read_email(&answer(200, r#"{"email":""}"#)), Ok(None));
        assert_eq!(read_email(&answer(404, "")), Ok(None));
        assert!(read_email(&answer(200, "{}")).is_err());
        for status in [401, 403, 500, 503] {
            assert!(
                read_email(&answer(status, ""))
                    .unwrap_err()
                    .contains(&format!("HTTP {status}"))
            );
        }
    }
}
