//! SQL injection: libinjection's tokenizer and fingerprint list (the `libinjectionrs` port),
//! behind a prefilter because tokenizing costs microseconds.
//!
//! libinjection already tries the value as bare SQL and inside single- and double-quoted
//! strings (the "value pasted into `'…'`" trick), in ANSI and MySQL dialects.

use regex::bytes::RegexSet;

use super::prefilter::{byte, Trigger};

/// Trigger words that make a value a candidate when its bytes alone do not.
pub(crate) const TRIGGERS: &[Trigger] = &[Trigger::SqlKeyword];

/// Keywords need something between them (a blank, a control byte, a parenthesis, a comma, a
/// backslash, an operator) to form SQL: `/api/v1/orders` is not worth a look for `or`.
pub(crate) const TRIGGER_BYTES: u32 = byte::SPACE
    | byte::PLUS
    | byte::CONTROL
    | byte::NEWLINE
    | byte::PAREN
    | byte::COMMA
    | byte::BACKSLASH
    | byte::EQUALS
    | byte::SEMICOLON
    | byte::HASH
    | byte::OTHER;

/// A quote, a backtick, a comment (`--`, `/*`), a logical operator (`||`, `&&`) or a function
/// call (`ascii(`, `PI()`) is enough to look closer; otherwise SQL keywords must be present
/// (see [`TRIGGERS`]). A `#` comment alone is not: URL fragments have one, and an injection
/// that ends in `#` has a quote or keywords before it.
pub(crate) fn candidate_by_bytes(kinds: u32, v: &[u8]) -> bool {
    if kinds & (byte::QUOTE | byte::BACKTICK) != 0 {
        return true;
    }
    let has = |needle: &[u8]| memchr::memmem::find(v, needle).is_some();
    (kinds & byte::DASH != 0 && has(b"--"))
        || (kinds & byte::STAR != 0 && has(b"/*"))
        || (kinds & byte::PIPE != 0 && has(b"||"))
        || (kinds & byte::AMPERSAND != 0 && has(b"&&"))
        || (kinds & byte::PAREN != 0 && has_call(v))
}

/// A name glued to an opening parenthesis (`substring(`), as SQL functions are written; prose
/// and user agents put a blank before `(`.
fn has_call(v: &[u8]) -> bool {
    memchr::memchr_iter(b'(', v)
        .any(|i| i > 0 && (v[i - 1].is_ascii_alphanumeric() || v[i - 1] == b'_'))
}

/// The SQL-injection detector: libinjection plus patterns for what its fingerprint list
/// misses.
pub(crate) struct Sqli {
    breakouts: RegexSet,
}

impl Sqli {
    pub(crate) fn new() -> Sqli {
        let breakouts = [
            // Closing a string or a parenthesis, then a numeric tautology:
            // `123) AND 12=12 AND JSON_DEPTH('{}') != 2521`.
            r"['\x22)]\s*(?:and|or|xor|&&|\|\|)\s+\d+\s*(?:=|<>|!=|<=>|like)\s*\d+",
            // … or a comparison of a function call (functions libinjection's list lacks):
            // `') OR JSON_EXTRACT('{}', '$.a') = 9648*7799`.
            r"['\x22)]\s*(?:and|or|xor)\s+[a-z_][a-z0-9_]*\s*\((?:[^()]|\([^()]*\))*\)\s*(?:=|<>|!=|<=>|like)",
        ];
        let breakouts = breakouts.iter().map(|p| format!("(?i-u){p}"));
        Sqli { breakouts: RegexSet::new(breakouts).expect("the SQL patterns are valid") }
    }

    /// Whether the decoded value is SQL injection for libinjection or a breakout pattern.
    pub(crate) fn detect(&self, v: &[u8]) -> bool {
        // libinjection is a port of a C tokenizer fed attacker bytes; a panic in it must not
        // take the pipeline down, so it is contained here and counts as "not detected".
        let tokenized = std::panic::catch_unwind(|| libinjectionrs::detect_sqli(v).is_injection());
        tokenized.unwrap_or(false) || self.breakouts.is_match(v)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::injection::prefilter::byte_kinds;

    fn sqli(s: &str) -> bool {
        Sqli::new().detect(s.as_bytes())
    }

    #[test]
    fn classic_injections() {
        assert!(sqli("1' OR '1'='1"));
        assert!(sqli("1 UNION SELECT username, password FROM users--"));
        assert!(sqli("admin'--"));
        assert!(sqli("1;DROP TABLE users"));
        assert!(sqli("(select(0)from(select(sleep(15)))v)"));
        assert!(sqli("123) AND 12=12 AND JSON_DEPTH('{}') != 2521"));
        assert!(sqli("-1134')  OR JSON_EXTRACT('{''aKER'': 9648}', '$.aKER') = 9648*7799"));
    }

    #[test]
    fn ordinary_values() {
        for v in [
            "O'Brien",
            "rock & roll",
            "desc",
            "2",
            "john@example.com",
            "it's fine",
            "1) a-b=c",
            "(see page 3) and then some",
        ] {
            assert!(!sqli(v), "{v}");
        }
    }

    #[test]
    fn prefilter_lets_quotes_and_comments_through() {
        for v in ["a'b", "x--", "x/*", "1 || 1 = 1", "LENGTH(version())"] {
            assert!(candidate_by_bytes(byte_kinds(v.as_bytes()), v.as_bytes()), "{v}");
        }
        for v in [
            "/api/v1/users/123",
            "a-b",
            "2*3",
            "Mozilla/5.0 (X11; Linux x86_64)",
            "https://example.com/a#section-2",
        ] {
            assert!(!candidate_by_bytes(byte_kinds(v.as_bytes()), v.as_bytes()), "{v}");
        }
    }
}
