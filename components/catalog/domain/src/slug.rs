//! URL slugs: lower-case ASCII letters and digits in hyphen-separated runs.

pub const MAX_SLUG_CHARS: usize = 200;

/// The slug of a free text: ASCII letters and digits kept (lower-cased), every other run
/// of characters one hyphen, none at either end; cut to `max_chars`. Empty when the text
/// has no ASCII letter or digit.
pub fn slugify(text: &str, max_chars: usize) -> String {
    let mut slug = String::new();
    let mut separated = false;
    for c in text.chars() {
        if c.is_ascii_alphanumeric() {
            if separated && !slug.is_empty() {
                slug.push('-');
            }
            separated = false;
            slug.push(c.to_ascii_lowercase());
        } else {
            separated = true;
        }
    }
    // Only ASCII went in, so bytes are characters.
    slug.truncate(max_chars);
    slug.truncate(slug.trim_end_matches('-').len());
    slug
}

/// Checks a slug a client chose.
pub fn check_slug(slug: &str) -> Result<(), &'static str> {
    let well_formed = !slug.is_empty()
        && slug.split('-').all(|part| {
            !part.is_empty()
                && part
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
        });
    if !well_formed {
        Err("must be lower-case letters and digits separated by single hyphens")
    } else if slug.len() > MAX_SLUG_CHARS {
        Err("must be at most 200 characters")
    } else {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slugify_keeps_ascii_words() {
        assert_eq!(slugify("Blue Kettle 1.5 L", 200), "blue-kettle-1-5-l");
        assert_eq!(slugify("  --Café  au lait!-- ", 200), "caf-au-lait");
        assert_eq!(slugify("日本茶", 200), "");
        assert_eq!(slugify("abc def", 5), "abc-d");
        assert_eq!(slugify("abc def", 4), "abc");
        assert_eq!(slugify("abcdef", 3), "abc");
        assert_eq!(
            check_slug(&slugify(&"word ".repeat(100), MAX_SLUG_CHARS)),
            Ok(())
        );
    }

    #[test]
    fn client_slugs() {
        for good in ["kettle", "blue-kettle-2", "a"] {
            assert_eq!(check_slug(good), Ok(()), "{good}");
        }
        let long = "a".repeat(201);
        for bad in [
            "",
            "Blue",
            "blue kettle",
            "-a",
            "a-",
            "a--b",
            "café",
            long.as_str(),
        ] {
            assert!(check_slug(bad).is_err(), "{bad:?}");
        }
    }
}
