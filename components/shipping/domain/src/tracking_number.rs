//! Tracking numbers: `FP` and 12 characters of Crockford's base32 (no I, L, O or U, so
//! a number read aloud or typed from a label is not misread), e.g. `FP3K7QW9ZC1M4T`.

/// The carrier prefix of every tracking number.
pub const PREFIX: &str = "FP";
/// Characters after [`PREFIX`]; 12 base32 characters carry 60 bits.
pub const CODE_CHARS: usize = 12;

const ALPHABET: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";

/// A fresh tracking number from the low 60 bits of a new UUIDv7. Those bits are random:
/// the uuid crate reseeds its counter randomly every millisecond and increments it within
/// one, and fills the rest with random bytes, so numbers do not repeat within a process
/// and are not guessable from one another. The table's UNIQUE constraint backs this up.
pub fn new_tracking_number() -> String {
    encode(uuid::Uuid::now_v7().as_u128())
}

fn encode(bits: u128) -> String {
    let code = (0..CODE_CHARS).rev().map(|position| {
        let index = (bits >> (5 * position)) & 0x1f;
        // `index` is below 32 by the mask.
        char::from(ALPHABET[index as usize])
    });
    PREFIX.chars().chain(code).collect()
}

/// A tracking number as a reader may type it (lower case, spaces around it) in the form
/// this context stores.
pub fn normalize(typed: &str) -> String {
    typed.trim().to_ascii_uppercase()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn numbers_are_the_prefix_and_twelve_base32_characters() {
        for _ in 0..100 {
            let number = new_tracking_number();
            assert_eq!(number.len(), PREFIX.len() + CODE_CHARS, "{number}");
            assert!(number.starts_with(PREFIX));
            assert!(
                number[PREFIX.len()..]
                    .bytes()
                    .all(|b| ALPHABET.contains(&b)),
                "{number}"
            );
        }
    }

    #[test]
    fn numbers_do_not_repeat() {
        let numbers: HashSet<String> = (0..10_000).map(|_| new_tracking_number()).collect();
        assert_eq!(numbers.len(), 10_000);
    }

    #[test]
    fn encoding_takes_the_low_sixty_bits() {
        assert_eq!(encode(0), "FP000000000000");
        assert_eq!(encode(31), "FP00000000000Z");
        assert_eq!(encode((1 << 60) - 1), "FPZZZZZZZZZZZZ");
        assert_eq!(encode(1 << 60), "FP000000000000");
    }

    #[test]
    fn typed_numbers_are_normalized() {
        assert_eq!(normalize(" fp3k7qw9zc1m4t "), "FP3K7QW9ZC1M4T");
    }
}
