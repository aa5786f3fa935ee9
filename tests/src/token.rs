//! Access tokens minted by the tests themselves (HS256 over the app's `jwt_secret`, or not
//! signed at all), to check that the app refuses expired, tampered and unsigned ones.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use serde_json::{Value, json};
use sha2::Sha256;

/// The claims the app puts in its tokens; times are Unix seconds.
pub struct Claims<'a> {
    pub sub: &'a str,
    pub role: &'a str,
    pub tenant: &'a str,
    /// Seconds from now until the token expires; negative for one already expired.
    pub expires_in: i64,
}

impl Claims<'_> {
    fn to_json(&self) -> Value {
        let now = unix_now();
        json!({
            "sub": self.sub,
            "role": self.role,
            "tenant": self.tenant,
            "iat": now.min(now + self.expires_in),
            "exp": now + self.expires_in,
        })
    }
}

/// A token signed with HS256 and `secret`, as the app issues them.
pub fn sign_hs256(secret: &str, claims: &Claims) -> String {
    let signing_input = format!(
        "{}.{}",
        encode(&json!({ "alg": "HS256", "typ": "JWT" })),
        encode(&claims.to_json())
    );
    let signature = URL_SAFE_NO_PAD.encode(hmac_sha256(secret, &signing_input));
    format!("{signing_input}.{signature}")
}

/// HMAC-SHA256 of `message` under `secret` (JWT signatures, Stripe's webhook signatures).
pub(crate) fn hmac_sha256(secret: &str, message: &str) -> Vec<u8> {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("any key length");
    mac.update(message.as_bytes());
    mac.finalize().into_bytes().to_vec()
}

/// Seconds since the Unix epoch.
pub fn unix_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("the clock is after 1970")
        .as_secs() as i64
}

/// A token with `alg: none` and an empty signature.
pub fn unsigned_token(claims: &Claims) -> String {
    format!(
        "{}.{}.",
        encode(&json!({ "alg": "none", "typ": "JWT" })),
        encode(&claims.to_json())
    )
}

fn encode(value: &Value) -> String {
    URL_SAFE_NO_PAD.encode(value.to_string())
}

/// `token` with its payload's `role` replaced and its signature kept: a forgery.
pub fn with_forged_role(token: &str, role: &str) -> String {
    let mut parts: Vec<&str> = token.split('.').collect();
    assert_eq!(parts.len(), 3, "not a JWT: {token}");
    let payload = URL_SAFE_NO_PAD
        .decode(parts[1])
        .expect("a JWT payload is base64url");
    let mut claims: Value = serde_json::from_slice(&payload).expect("a JWT payload is JSON");
    claims["role"] = json!(role);
    let forged = encode(&claims);
    parts[1] = &forged;
    parts.join(".")
}
