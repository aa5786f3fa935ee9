//! Lexical work on SQL text: splitting a migration into statements (neither Spin
//! driver runs several statements in one call) and rewriting `$n` placeholders for
//! SQLite. Both skip quoted text and comments.

use std::borrow::Cow;

/// If `sql[i..]` opens a string, quoted identifier, comment or Postgres dollar-quoted
/// body, the index just after it ends (or the text's end when unterminated).
fn skip_literal_or_comment(sql: &str, i: usize) -> Option<usize> {
    let bytes = sql.as_bytes();
    let rest = &sql[i..];
    let end_of = |from: usize, terminator: &str| {
        sql[from..]
            .find(terminator)
            .map_or(sql.len(), |at| from + at + terminator.len())
    };
    match bytes[i] {
        // A doubled quote inside is an escaped quote: two adjacent literals skip alike.
        quote @ (b'\'' | b'"' | b'`') => Some(end_of(i + 1, &(quote as char).to_string())),
        b'-' if rest.starts_with("--") => Some(end_of(i, "\n")),
        b'/' if rest.starts_with("/*") => Some(end_of(i + 2, "*/")),
        b'$' => {
            let tag_len = rest[1..]
                .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                .filter(|&len| rest[1 + len..].starts_with('$'))?;
            let tag = &rest[..tag_len + 2];
            // `$1` is a placeholder, not a tag: tags do not start with a digit.
            if tag[1..].starts_with(|c: char| c.is_ascii_digit()) {
                return None;
            }
            Some(end_of(i + tag.len(), tag))
        }
        _ => None,
    }
}

/// The statements of a migration, trimmed, without empty or comment-only pieces.
/// Semicolons inside a `CREATE TRIGGER … BEGIN … END` body (SQLite) stay inside it.
pub fn split_statements(sql: &str) -> Vec<&str> {
    let bytes = sql.as_bytes();
    let mut statements = Vec::new();
    let mut start = 0;
    let mut has_code = false;
    let mut first_word: Option<&str> = None;
    let mut in_trigger = false;
    let mut block_depth = 0usize;
    let mut i = 0;
    while i < bytes.len() {
        if let Some(next) = skip_literal_or_comment(sql, i) {
            // Comments alone do not make a statement; quoted text does.
            has_code |= !matches!(bytes[i], b'-' | b'/');
            i = next;
            continue;
        }
        let c = bytes[i];
        if c == b';' && block_depth == 0 {
            if has_code {
                statements.push(sql[start..i].trim());
            }
            (start, has_code, first_word, in_trigger) = (i + 1, false, None, false);
            i += 1;
        } else if c.is_ascii_alphabetic() || c == b'_' {
            let len = sql[i..]
                .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                .unwrap_or(sql.len() - i);
            let word = &sql[i..i + len];
            has_code = true;
            let first = *first_word.get_or_insert(word);
            if first.eq_ignore_ascii_case("create") && word.eq_ignore_ascii_case("trigger") {
                in_trigger = true;
            } else if in_trigger
                && (word.eq_ignore_ascii_case("begin") || word.eq_ignore_ascii_case("case"))
            {
                block_depth += 1;
            } else if in_trigger && word.eq_ignore_ascii_case("end") {
                block_depth = block_depth.saturating_sub(1);
            }
            i += len;
        } else {
            has_code |= !c.is_ascii_whitespace();
            i += 1;
        }
    }
    if has_code {
        statements.push(sql[start..].trim());
    }
    statements
}

/// `$1, $2, …` (the Postgres spelling every query uses) as SQLite's `?1, ?2, …`.
pub fn to_sqlite_placeholders(sql: &str) -> Cow<'_, str> {
    if !sql.contains('$') {
        return Cow::Borrowed(sql);
    }
    let bytes = sql.as_bytes();
    let mut out = String::with_capacity(sql.len());
    let mut copied = 0;
    let mut i = 0;
    while i < bytes.len() {
        if let Some(next) = skip_literal_or_comment(sql, i) {
            i = next;
        } else if bytes[i] == b'$' && bytes.get(i + 1).is_some_and(u8::is_ascii_digit) {
            out.push_str(&sql[copied..i]);
            out.push('?');
            copied = i + 1;
            i += 1;
        } else {
            i += 1;
        }
    }
    out.push_str(&sql[copied..]);
    Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_become_numbered_question_marks() {
        assert_eq!(
            to_sqlite_placeholders("SELECT * FROM t WHERE a = $1 AND b = $12 OR c = $1"),
            "SELECT * FROM t WHERE a = ?1 AND b = ?12 OR c = ?1"
        );
    }

    #[test]
    fn placeholders_in_literals_and_comments_stay() {
        let sql = "SELECT '$1', \"$2\" -- $3\n FROM t /* $4 */ WHERE x = $5 AND y = 'it''s $6'";
        assert_eq!(
            to_sqlite_placeholders(sql),
            "SELECT '$1', \"$2\" -- $3\n FROM t /* $4 */ WHERE x = ?5 AND y = 'it''s $6'"
        );
        assert!(matches!(
            to_sqlite_placeholders("SELECT 1"),
            Cow::Borrowed(_)
        ));
        assert_eq!(to_sqlite_placeholders("SELECT $a, $"), "SELECT $a, $");
    }

    #[test]
    fn splits_on_semicolons_outside_text() {
        let sql = "CREATE TABLE a (x TEXT DEFAULT ';');\n-- a comment; still a comment\nINSERT INTO a VALUES ('x;y');\n/* trailing; */\n";
        assert_eq!(
            split_statements(sql),
            [
                "CREATE TABLE a (x TEXT DEFAULT ';')",
                "-- a comment; still a comment\nINSERT INTO a VALUES ('x;y')"
            ]
        );
        assert!(split_statements("  ;; -- nothing\n").is_empty());
    }

    #[test]
    fn keeps_sqlite_trigger_bodies_whole() {
        let sql = "CREATE TRIGGER t AFTER INSERT ON a BEGIN\n  INSERT INTO f VALUES (CASE WHEN new.x IS NULL THEN '' ELSE new.x END);\n  DELETE FROM g;\nEND;\nCREATE INDEX i ON a (x);";
        let statements = split_statements(sql);
        assert_eq!(statements.len(), 2, "{statements:#?}");
        assert!(statements[0].ends_with("END"));
        assert_eq!(statements[1], "CREATE INDEX i ON a (x)");
    }

    #[test]
    fn keeps_postgres_dollar_quoted_bodies_whole() {
        let sql = "CREATE FUNCTION f() RETURNS trigger AS $body$ BEGIN NEW.x := 1; RETURN NEW; END $body$ LANGUAGE plpgsql;\nSELECT $$a;b$$;";
        let statements = split_statements(sql);
        assert_eq!(statements.len(), 2, "{statements:#?}");
        assert_eq!(statements[1], "SELECT $$a;b$$");
    }
}
