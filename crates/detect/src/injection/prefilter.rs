//! The cheap first look at a decoded value: which kinds of bytes it holds (one table lookup per
//! byte) and which trigger words (one Aho-Corasick pass for all classes), so that ordinary
//! values never reach the precise checks, some of which cost microseconds.

use aho_corasick::{AhoCorasick, AhoCorasickKind, MatchKind};

use super::lexicon;

/// Kinds of bytes, as bits of a `u32`.
pub(crate) mod byte {
    pub const QUOTE: u32 = 1 << 0;
    pub const BACKTICK: u32 = 1 << 1;
    pub const PAREN: u32 = 1 << 2;
    pub const SEMICOLON: u32 = 1 << 3;
    pub const PIPE: u32 = 1 << 4;
    pub const AMPERSAND: u32 = 1 << 5;
    pub const DOLLAR: u32 = 1 << 6;
    pub const LESS: u32 = 1 << 7;
    pub const BRACE: u32 = 1 << 8;
    pub const HASH: u32 = 1 << 9;
    pub const NEWLINE: u32 = 1 << 10;
    pub const DOT: u32 = 1 << 11;
    pub const SLASH: u32 = 1 << 12;
    pub const BACKSLASH: u32 = 1 << 13;
    pub const COLON: u32 = 1 << 14;
    pub const HIGH: u32 = 1 << 15;
    pub const EQUALS: u32 = 1 << 16;
    pub const STAR: u32 = 1 << 17;
    pub const AT: u32 = 1 << 18;
    pub const BRACKET: u32 = 1 << 19;
    pub const PERCENT: u32 = 1 << 20;
    pub const DASH: u32 = 1 << 21;
    pub const BANG: u32 = 1 << 22;
    /// Other control bytes (NUL, tab, …).
    pub const CONTROL: u32 = 1 << 23;
    pub const GREATER: u32 = 1 << 24;
    pub const COMMA: u32 = 1 << 25;
    pub const SPACE: u32 = 1 << 26;
    pub const PLUS: u32 = 1 << 27;
    /// Other ASCII punctuation (`?`, `^`, `~`, `}`, `]`, `)`; `_` is a word byte).
    pub const OTHER: u32 = 1 << 28;
}

const fn byte_table() -> [u32; 256] {
    let mut table = [0u32; 256];
    let mut b = 0;
    while b < 256 {
        table[b] = match b as u8 {
            b'\'' | b'"' => byte::QUOTE,
            b'`' => byte::BACKTICK,
            b'(' => byte::PAREN,
            b';' => byte::SEMICOLON,
            b'|' => byte::PIPE,
            b'&' => byte::AMPERSAND,
            b'$' => byte::DOLLAR,
            b'<' => byte::LESS,
            b'{' => byte::BRACE,
            b'#' => byte::HASH,
            b'\r' | b'\n' => byte::NEWLINE,
            b'.' => byte::DOT,
            b'/' => byte::SLASH,
            b'\\' => byte::BACKSLASH,
            b':' => byte::COLON,
            b'=' => byte::EQUALS,
            b'*' => byte::STAR,
            b'@' => byte::AT,
            b'[' => byte::BRACKET,
            b'%' => byte::PERCENT,
            b'-' => byte::DASH,
            b'!' => byte::BANG,
            b'>' => byte::GREATER,
            b',' => byte::COMMA,
            b' ' => byte::SPACE,
            b'+' => byte::PLUS,
            0x80..=0xFF => byte::HIGH,
            0..=0x1F | 0x7F => byte::CONTROL,
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'_' => 0,
            _ => byte::OTHER,
        };
        b += 1;
    }
    table
}

static BYTE_KINDS: [u32; 256] = byte_table();

/// The union of the kinds of every byte in `v`.
pub(crate) fn byte_kinds(v: &[u8]) -> u32 {
    v.iter().fold(0, |acc, &b| acc | BYTE_KINDS[usize::from(b)])
}

/// A family of trigger words; each class's prefilter asks for the families it cares about.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Trigger {
    SqlKeyword,
    Xss,
    Nosql,
    Path,
    SystemFile,
    InternalHost,
}

/// A set of [`Trigger`]s.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Triggers(u8);

impl Triggers {
    pub(crate) fn has(self, t: Trigger) -> bool {
        self.0 & (1 << t as u8) != 0
    }
    pub(crate) fn add(&mut self, t: Trigger) {
        self.0 |= 1 << t as u8;
    }
    pub(crate) fn is_empty(self) -> bool {
        self.0 == 0
    }
    pub(crate) fn covers(self, wanted: Triggers) -> bool {
        self.0 & wanted.0 == wanted.0
    }
}

/// The trigger words of every class in two automatons (ASCII case-insensitive): words that
/// occur in text (SQL, script and NoSQL keywords) and path and host names. A path or URL,
/// the most common value, needs only the second, which rarely matches anything.
pub(crate) struct TriggerWords {
    words: Automaton,
    paths: Automaton,
}

struct Automaton {
    automaton: AhoCorasick,
    /// The family of each pattern, by pattern index.
    families: Vec<Trigger>,
    /// How many SQL keywords each pattern counts for (see [`TriggerWords::scan`]).
    weights: Vec<u8>,
}

impl Automaton {
    fn new(lists: Vec<(Vec<&str>, Trigger, u8)>) -> Automaton {
        let mut patterns: Vec<&str> = Vec::new();
        let mut families = Vec::new();
        let mut weights = Vec::new();
        for (words, family, weight) in lists {
            families.extend(std::iter::repeat_n(family, words.len()));
            weights.extend(std::iter::repeat_n(weight, words.len()));
            patterns.extend(words);
        }
        let automaton = AhoCorasick::builder()
            .ascii_case_insensitive(true)
            .match_kind(MatchKind::Standard)
            // A DFA costs some hundred KiB once and makes the pass over every value the
            // cheapest it can be.
            .kind(Some(AhoCorasickKind::DFA))
            .build(&patterns)
            .expect("the trigger words are valid patterns");
        Automaton { automaton, families, weights }
    }
}

const WORD_FAMILIES: [Trigger; 3] = [Trigger::SqlKeyword, Trigger::Xss, Trigger::Nosql];
const PATH_FAMILIES: [Trigger; 3] = [Trigger::Path, Trigger::SystemFile, Trigger::InternalHost];

impl TriggerWords {
    /// Builds both automatons. System files are looked for by their roots (`etc/`, `boot.ini`)
    /// only: the traversal check holds the full list, and a short list keeps this pass, run on
    /// every path, fast.
    pub(crate) fn new(internal_hosts: &[String]) -> TriggerWords {
        let words = Automaton::new(vec![
            (lexicon::SQL_SIGNATURE_WORDS.to_vec(), Trigger::SqlKeyword, 2),
            (lexicon::SQL_KEYWORDS.to_vec(), Trigger::SqlKeyword, 1),
            (lexicon::XSS_TOKENS.to_vec(), Trigger::Xss, 1),
            (lexicon::NOSQL_TOKENS.to_vec(), Trigger::Nosql, 1),
        ]);
        let paths = Automaton::new(vec![
            (lexicon::PATH_TOKENS.to_vec(), Trigger::Path, 1),
            (lexicon::SYSTEM_FILE_ROOTS.to_vec(), Trigger::SystemFile, 1),
            (internal_hosts.iter().map(String::as_str).collect(), Trigger::InternalHost, 1),
        ]);
        TriggerWords { words, paths }
    }

    /// The families among `wanted` that occur in `v` (whose byte kinds are `kinds`).
    ///
    /// SQL keywords count only as whole words (`or` in `orders` does not; digits may touch
    /// them: `1UNION`), and only two of them, or one after a number (`-1 union`), or one next
    /// to an SQL operator byte, or one that is rarely anything but SQL (`select`, `union`): a
    /// single English "and" or "for" in a search phrase is not worth tokenizing as SQL.
    pub(crate) fn scan(&self, v: &[u8], kinds: u32, wanted: Triggers) -> Triggers {
        let mut found = Triggers::default();
        if WORD_FAMILIES.iter().any(|f| wanted.has(*f)) {
            self.words.scan(v, kinds, wanted, &mut found);
        }
        if PATH_FAMILIES.iter().any(|f| wanted.has(*f)) {
            self.paths.scan(v, kinds, wanted, &mut found);
        }
        found
    }
}

impl Automaton {
    fn scan(&self, v: &[u8], kinds: u32, wanted: Triggers, found: &mut Triggers) {
        let sql_operator = kinds & SQL_OPERATOR_BYTES != 0;
        let mut sql_words: u8 = 0;
        for m in self.automaton.find_overlapping_iter(v) {
            let pattern = m.pattern().as_usize();
            let family = self.families[pattern];
            if !wanted.has(family) || found.has(family) {
                continue;
            }
            if family == Trigger::SqlKeyword {
                if !is_whole_word(v, m.start(), m.end()) {
                    continue;
                }
                sql_words += self.weights[pattern] + u8::from(after_number(v, m.start()));
                if !sql_operator && sql_words < 2 {
                    continue;
                }
            }
            found.add(family);
            if found.covers(wanted) {
                break;
            }
        }
    }
}

/// Bytes that, next to one SQL keyword, make a value look like an expression.
/// (Not parentheses, commas or semicolons: prose has them around its "and"s; SQL written with
/// them has a call, `substring(`, or a second keyword.)
const SQL_OPERATOR_BYTES: u32 = byte::EQUALS
    | byte::LESS
    | byte::GREATER
    | byte::AT
    | byte::PIPE
    | byte::AMPERSAND
    | byte::BANG
    | byte::HASH;

/// Whether the last non-blank byte before `start` is a digit.
fn after_number(v: &[u8], start: usize) -> bool {
    v[..start].iter().rev().find(|b| !b.is_ascii_whitespace()).is_some_and(u8::is_ascii_digit)
}

/// Whether `v[start..end]` is not glued to letters on either side.
pub(crate) fn is_whole_word(v: &[u8], start: usize, end: usize) -> bool {
    let letter = |i: Option<&u8>| i.is_some_and(|b| b.is_ascii_alphabetic() || *b == b'_');
    let before = start.checked_sub(1).and_then(|i| v.get(i));
    // A number's type suffix (`1FUNION`, `1DUNION`: MySQL reads `1F`, `1D` as numbers).
    let suffix = matches!(before, Some(b'f' | b'F' | b'd' | b'D'))
        && start.checked_sub(2).and_then(|i| v.get(i)).is_some_and(u8::is_ascii_digit);
    (!letter(before) || suffix) && !letter(v.get(end))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn byte_kinds_union() {
        assert_eq!(byte_kinds(b"abc123"), 0);
        assert_eq!(byte_kinds(b"a'b;c"), byte::QUOTE | byte::SEMICOLON);
        assert_eq!(byte_kinds("é\n".as_bytes()), byte::HIGH | byte::NEWLINE);
    }

    #[test]
    fn trigger_words() {
        let words = TriggerWords::new(&["localhost".into()]);
        let mut all = Triggers::default();
        for t in [Trigger::SqlKeyword, Trigger::Xss, Trigger::Path, Trigger::SystemFile] {
            all.add(t);
        }
        let scan = |v: &[u8], wanted| words.scan(v, byte_kinds(v), wanted);
        let found = scan(b"/api/v1/users/123/orders", all);
        assert!(found.is_empty(), "{found:?}");
        assert!(scan(b"1 OR 1=1", all).has(Trigger::SqlKeyword));
        assert!(scan(b"1UNION SELECT", all).has(Trigger::SqlKeyword));
        assert!(!scan(b"rock and roll", all).has(Trigger::SqlKeyword), "one keyword, no operator");
        assert!(scan(b"x/../../ETC/PASSWD", all).has(Trigger::SystemFile));
        assert!(scan(b"x/../../ETC/PASSWD", all).has(Trigger::Path));
        let mut sql = Triggers::default();
        sql.add(Trigger::SqlKeyword);
        assert!(!scan(b"x/../../ETC/PASSWD", sql).has(Trigger::Path), "only wanted ones");
    }
}
