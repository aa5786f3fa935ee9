//! Signed requests in the webhook style Stripe made common: a header
//! `t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>">`. It carries Stripe's webhooks
//! to payments and the event bridge's deliveries to the event handlers (and the
//! bridge's calls to the outbox relay), so those routes are safe to expose.

use hmac::{Hmac, Mac};
use sha2::Sha256;
use subtle::ConstantTimeEq;

/// The header that signs what the app sends itself under `event_signing_key`: each
/// delivery to a handler (their routes are public, for the event bridge), and the
/// bridge's calls to the outbox relay.
pub const SIGNATURE_HEADER: &str = "fusion-signature";

/// How far a signature's timestamp may be from now, either way (Stripe's default).
pub const TOLERANCE_SECONDS: i64 = 300;

/// Why a request's signature is not accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignatureError {
    /// No signing secret is configured, so nothing can be verified.
    NoSecret,
    /// The header is absent or not `t=<unix>,v1=<hex>[,v1=<hex>...]`.
    Malformed,
    /// No `v1` signature matches.
    Mismatch,
    /// The timestamp is more than [`TOLERANCE_SECONDS`] away from now.
    OutsideTolerance,
}

impl SignatureError {
    /// What to tell the sender of `what` (say "webhooks") signed in the `header` header.
    pub fn describe(self, what: &str, header: &str) -> String {
        match self {
            SignatureError::NoSecret => {
                format!("{what} are not accepted: no signing secret is set")
            }
            SignatureError::Malformed => {
                format!("the {header} header is missing or not t=<timestamp>,v1=<signature>")
            }
            SignatureError::Mismatch => format!("the {header} does not match the payload"),
            SignatureError::OutsideTolerance => {
                format!("the {header} timestamp is more than 5 minutes from now")
            }
        }
    }
}

fn mac(secret: &str, timestamp: i64, payload: &[u8]) -> Hmac<Sha256> {
    let mut mac =
        Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC takes keys of any length");
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(payload);
    mac
}

/// The header value signing `payload` under `secret` at `now` (Unix seconds).
pub fn sign(secret: &str, payload: &[u8], now: i64) -> String {
    let signature: String = mac(secret, now, payload)
        .finalize()
        .into_bytes()
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect();
    format!("t={now},v1={signature}")
}

/// Verifies a signature `header` over the raw `payload`: some `v1` is the HMAC-SHA256
/// under `secret` of `"<t>.<payload>"` (compared in constant time), and `t` is within
/// [`TOLERANCE_SECONDS`] of `now` (Unix seconds).
pub fn verify(
    secret: &str,
    header: Option<&str>,
    payload: &[u8],
    now: i64,
) -> Result<(), SignatureError> {
    if secret.is_empty() {
        return Err(SignatureError::NoSecret);
    }
    let header = header.ok_or(SignatureError::Malformed)?;
    let mut timestamp = None;
    let mut signatures = Vec::new();
    for part in header.split(',') {
        let (key, value) = part
            .trim()
            .split_once('=')
            .ok_or(SignatureError::Malformed)?;
        match key {
            "t" if timestamp.is_none() => {
                timestamp = Some(
                    value
                        .parse::<i64>()
                        .map_err(|_| SignatureError::Malformed)?,
                );
            }
            "t" => return Err(SignatureError::Malformed),
            // A v1 that is not hex cannot match; other schemes (v0) are not ours.
            "v1" => signatures.extend(decode_hex(value)),
            _ => {}
        }
    }
    let timestamp = timestamp.ok_or(SignatureError::Malformed)?;
    if signatures.is_empty() && !header.contains("v1=") {
        return Err(SignatureError::Malformed);
    }
    let expected = mac(secret, timestamp, payload).finalize().into_bytes();
    let matched = signatures
        .iter()
        .fold(subtle::Choice::from(0), |found, signature| {
            found | expected.as_slice().ct_eq(signature.as_slice())
        });
    if !bool::from(matched) {
        return Err(SignatureError::Mismatch);
    }
    if (now - timestamp).abs() > TOLERANCE_SECONDS {
        return Err(SignatureError::OutsideTolerance);
    }
    Ok(())
}

fn decode_hex(text: &str) -> Option<Vec<u8>> {
    if !text.len().is_multiple_of(2) {
        return None;
    }
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(text.get(i..i + 2)?, 16).ok())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &str = "whsec_test_secret";
    const NOW: i64 = 1_750_000_000;
    const PAYLOAD: &[u8] = br#"{"id":"evt_1","type":"payment_intent.succeeded"}"#;

    /// The bare `v1` hex of a signature, to build headers by hand.
    fn hex(secret: &str, timestamp: i64, payload: &[u8]) -> String {
        let header = sign(secret, payload, timestamp);
        header.split_once(",v1=").expect("t=..,v1=..").1.to_owned()
    }

    fn verify(header: &str) -> Result<(), SignatureError> {
        super::verify(SECRET, Some(header), PAYLOAD, NOW)
    }

    #[test]
    fn a_signed_header_verifies() {
        let header = sign(SECRET, PAYLOAD, NOW);
        assert!(header.starts_with(&format!("t={NOW},v1=")), "{header}");
        assert_eq!(verify(&header), Ok(()));
        assert_eq!(
            SignatureError::Mismatch.describe("deliveries", "Fusion-Signature"),
            "the Fusion-Signature does not match the payload"
        );
    }

    #[test]
    fn a_good_signature_verifies() {
        let good = hex(SECRET, NOW, PAYLOAD);
        assert_eq!(verify(&format!("t={NOW},v1={good}")), Ok(()));
        // Within the tolerance either way, spaces, and unknown schemes alongside.
        let at = NOW - 300;
        let old = hex(SECRET, at, PAYLOAD);
        assert_eq!(verify(&format!("t={at}, v1={old}, v0=abcd")), Ok(()));
        let at = NOW + 300;
        let early = hex(SECRET, at, PAYLOAD);
        assert_eq!(verify(&format!("t={at},v1={early}")), Ok(()));
    }

    #[test]
    fn any_of_several_v1_signatures_may_match() {
        let good = hex(SECRET, NOW, PAYLOAD);
        let other = hex("whsec_rotated_out", NOW, PAYLOAD);
        assert_eq!(verify(&format!("t={NOW},v1={other},v1={good}")), Ok(()));
        assert_eq!(verify(&format!("t={NOW},v1=zz,v1={good}")), Ok(()));
        assert_eq!(
            verify(&format!("t={NOW},v1={other},v1={other}")),
            Err(SignatureError::Mismatch)
        );
    }

    #[test]
    fn bad_signatures_are_refused() {
        let good = hex(SECRET, NOW, PAYLOAD);
        let wrong_key = hex("whsec_other", NOW, PAYLOAD);
        assert_eq!(
            verify(&format!("t={NOW},v1={wrong_key}")),
            Err(SignatureError::Mismatch)
        );
        // The payload or the timestamp changed after signing.
        assert_eq!(
            super::verify(SECRET, Some(&format!("t={NOW},v1={good}")), b"{}", NOW),
            Err(SignatureError::Mismatch)
        );
        let later = NOW + 1;
        assert_eq!(
            super::verify(SECRET, Some(&format!("t={later},v1={good}")), PAYLOAD, NOW),
            Err(SignatureError::Mismatch)
        );
        assert_eq!(
            verify(&format!("t={NOW},v1={}", &good[..63])),
            Err(SignatureError::Mismatch)
        );
        assert_eq!(
            verify(&format!(
                "t={NOW},v1={}",
                good.to_uppercase().replace('A', "G")
            )),
            Err(SignatureError::Mismatch)
        );
    }

    #[test]
    fn stale_and_future_timestamps_are_refused() {
        for at in [NOW - 301, NOW + 301, 0] {
            let signature = hex(SECRET, at, PAYLOAD);
            assert_eq!(
                verify(&format!("t={at},v1={signature}")),
                Err(SignatureError::OutsideTolerance),
                "{at}"
            );
        }
    }

    #[test]
    fn malformed_headers_and_no_secret_are_refused() {
        let good = hex(SECRET, NOW, PAYLOAD);
        for header in [
            String::new(),
            "garbage".into(),
            format!("v1={good}"),
            format!("t={NOW}"),
            format!("t=soon,v1={good}"),
            format!("t={NOW},t={NOW},v1={good}"),
            format!("t={NOW},v0={good}"),
        ] {
            assert_eq!(
                verify(&header),
                Err(SignatureError::Malformed),
                "{header:?}"
            );
        }
        assert_eq!(
            super::verify(SECRET, None, PAYLOAD, NOW),
            Err(SignatureError::Malformed)
        );
        assert_eq!(
            super::verify("", Some(&format!("t={NOW},v1={good}")), PAYLOAD, NOW),
            Err(SignatureError::NoSecret)
        );
    }
}
