//! Key-value values shared by the Spin adapter and its callers.

/// A counter as Spin's `increment` leaves it: decimal text in Redis (`INCRBY`), eight
/// little-endian bytes in Spin's SQLite store. `None` for anything else.
pub fn decode_counter(stored: &[u8]) -> Option<i64> {
    // Text first: eight little-endian bytes that are all ASCII digits would be a
    // counter past 3 * 10^18, which nothing here counts to.
    let text = std::str::from_utf8(stored).ok().filter(|text| {
        let digits = text.strip_prefix('-').unwrap_or(text);
        !digits.is_empty() && digits.bytes().all(|byte| byte.is_ascii_digit())
    });
    match text {
        Some(text) => text.parse().ok(),
        None => <[u8; 8]>::try_from(stored).ok().map(i64::from_le_bytes),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counters_decode_from_both_backends() {
        assert_eq!(decode_counter(b"42"), Some(42));
        assert_eq!(decode_counter(b"-3"), Some(-3));
        assert_eq!(decode_counter(&42i64.to_le_bytes()), Some(42));
        assert_eq!(decode_counter(&(-1i64).to_le_bytes()), Some(-1));
        assert_eq!(decode_counter(b"12345678"), Some(12_345_678));
        for garbage in [&b""[..], b"-", b"4x", b"{\"quantity\":1}", &[1, 2, 3]] {
            assert_eq!(decode_counter(garbage), None, "{garbage:?}");
        }
    }
}
