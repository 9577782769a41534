//! Text patterns of `=` on text fields: exact, or with `*` (any run of characters) and `?`
//! (one character) matching the whole value, case-sensitive.
//!
//! `\*`, `\?` and `\\` stand for the characters themselves; any other backslash is literal, so
//! that paths and regex-looking values need no doubling.

/// A compiled text pattern.
#[derive(Clone, Debug)]
pub(crate) enum Pattern {
    /// No wildcard: the value must equal this text.
    Exact(Box<str>),
    Glob(Glob),
}

/// A pattern with wildcards, as bytes: literals compare byte by byte (both sides are UTF-8, so
/// a literal matches whole characters), `?` steps over one whole character.
#[derive(Clone, Debug)]
pub(crate) struct Glob {
    items: Box<[Item]>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Item {
    Byte(u8),
    AnyChar,
    AnyRun,
}

impl Pattern {
    /// Reads the pattern syntax of `text`.
    pub(crate) fn new(text: &str) -> Pattern {
        let mut items = Vec::with_capacity(text.len());
        let mut wild = false;
        let mut chars = text.chars().peekable();
        let mut buf = [0u8; 4];
        while let Some(c) = chars.next() {
            let literal = match c {
                '\\' if matches!(chars.peek(), Some('*' | '?' | '\\')) => chars.next().unwrap_or(c),
                '*' => {
                    wild = true;
                    // `**` matches what `*` does; one item keeps backtracking linear.
                    if items.last() != Some(&Item::AnyRun) {
                        items.push(Item::AnyRun);
                    }
                    continue;
                }
                '?' => {
                    wild = true;
                    items.push(Item::AnyChar);
                    continue;
                }
                c => c,
            };
            items.extend(literal.encode_utf8(&mut buf).bytes().map(Item::Byte));
        }
        if wild {
            Pattern::Glob(Glob { items: items.into() })
        } else {
            let exact: Vec<u8> = items
                .into_iter()
                .map(|i| match i {
                    Item::Byte(b) => b,
                    Item::AnyChar | Item::AnyRun => unreachable!("no wildcard was seen"),
                })
                .collect();
            Pattern::Exact(String::from_utf8(exact).expect("built from whole characters").into())
        }
    }

    /// Whether the whole of `value` matches.
    #[inline]
    pub(crate) fn matches(&self, value: &str) -> bool {
        match self {
            Pattern::Exact(e) => **e == *value,
            Pattern::Glob(g) => g.matches(value),
        }
    }

    /// The text a value must equal, when the pattern has no wildcard.
    pub(crate) fn exact(&self) -> Option<&str> {
        match self {
            Pattern::Exact(e) => Some(e),
            Pattern::Glob(_) => None,
        }
    }
}

/// The length of the UTF-8 character that starts with this byte.
#[inline]
fn char_len(lead: u8) -> usize {
    match lead {
        0..=0x7f => 1,
        0xc0..=0xdf => 2,
        0xe0..=0xef => 3,
        _ => 4,
    }
}

impl Glob {
    /// The usual single-backtrack wildcard match: on a mismatch, the last `*` takes one more
    /// character and matching resumes after it. Earlier stars never need to move again, so
    /// this is O(pattern × value) at worst, with no recursion.
    fn matches(&self, value: &str) -> bool {
        let v = value.as_bytes();
        let p = &self.items;
        let (mut pi, mut vi) = (0, 0);
        // (item after the last `*`, where that star's run ends now)
        let mut star: Option<(usize, usize)> = None;
        while vi < v.len() {
            match p.get(pi) {
                Some(Item::Byte(b)) if *b == v[vi] => {
                    pi += 1;
                    vi += 1;
                    continue;
                }
                Some(Item::AnyChar) => {
                    pi += 1;
                    vi += char_len(v[vi]);
                    continue;
                }
                Some(Item::AnyRun) => {
                    pi += 1;
                    star = Some((pi, vi));
                    continue;
                }
                _ => {}
            }
            let Some((after_star, run_end)) = star else { return false };
            // Restarts are always on a character boundary: the run grows by whole characters.
            let next = run_end + char_len(v[run_end]);
            star = Some((after_star, next));
            pi = after_star;
            vi = next;
        }
        p[pi..].iter().all(|i| *i == Item::AnyRun)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(pattern: &str, value: &str) -> bool {
        Pattern::new(pattern).matches(value)
    }

    #[test]
    fn exact_without_wildcards() {
        assert!(m("alice", "alice"));
        assert!(!m("alice", "Alice"));
        assert!(!m("alice", "alice2"));
        assert!(m("", ""));
        assert!(!m("", "a"));
        assert_eq!(Pattern::new(r"a\*b").exact(), Some("a*b"));
        assert_eq!(Pattern::new(r"C:\path").exact(), Some(r"C:\path"));
        assert_eq!(Pattern::new(r"a\\b").exact(), Some(r"a\b"));
        assert_eq!(Pattern::new("a*").exact(), None);
    }

    #[test]
    fn star_matches_any_run_including_none() {
        assert!(m("*", ""));
        assert!(m("*", "anything at all"));
        assert!(m("a*", "a"));
        assert!(m("a*", "abc"));
        assert!(!m("a*", "ba"));
        assert!(m("*c", "abc"));
        assert!(!m("*c", "cb"));
        assert!(m("a*b*c", "abc"));
        assert!(m("a*b*c", "a-b-b-c"));
        assert!(m("a*b*c", "aXbYbZc"));
        assert!(!m("a*b*c", "acb"));
        assert!(!m("a*b*c", "abcd"));
        assert!(m("**", "x"));
        assert!(m("/api/v1/users/*", "/api/v1/users/42"));
        assert!(m("/api/v1/users/*", "/api/v1/users/"));
        assert!(!m("/api/v1/users/*", "/api/v1/users"));
    }

    #[test]
    fn question_mark_is_one_character() {
        assert!(m("?", "a"));
        assert!(!m("?", ""));
        assert!(!m("?", "ab"));
        assert!(m("a?c", "abc"));
        assert!(m("a?c", "aéc"), "one character, two bytes");
        assert!(m("??", "日本"));
        assert!(!m("???", "日本"));
        assert!(m("*?", "x"));
        assert!(!m("*??", "x"));
        assert!(m("日*", "日本語"));
    }

    #[test]
    fn escaped_wildcards_are_literal() {
        assert!(m(r"a\*", "a*"));
        assert!(!m(r"a\*", "ab"));
        assert!(m(r"\?*", "?x"));
        assert!(!m(r"\?*", "x"));
        assert!(m(r"a\\*", r"a\bc"));
    }

    /// A slow recursive matcher, obviously right, on short patterns over a small alphabet.
    fn model(p: &[char], v: &[char]) -> bool {
        match p.split_first() {
            None => v.is_empty(),
            Some(('*', rest)) => (0..=v.len()).any(|i| model(rest, &v[i..])),
            Some(('?', rest)) => !v.is_empty() && model(rest, &v[1..]),
            Some((c, rest)) => v.first() == Some(c) && model(rest, &v[1..]),
        }
    }

    #[test]
    fn agrees_with_a_recursive_model() {
        let alphabet = ['a', 'b', 'é', '*', '?'];
        let mut seed = 0x2545_f491_4f6c_dd1du64;
        let mut next = move |n: usize| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            (seed % n as u64) as usize
        };
        for _ in 0..20_000 {
            let p: Vec<char> = (0..next(7)).map(|_| alphabet[next(5)]).collect();
            let v: Vec<char> = (0..next(8)).map(|_| alphabet[next(3)]).collect();
            let (ps, vs): (String, String) = (p.iter().collect(), v.iter().collect());
            assert_eq!(m(&ps, &vs), model(&p, &v), "{ps:?} on {vs:?}");
        }
    }
}
