//! NoSQL (MongoDB) injection: query operators smuggled into parameter names or JSON
//! (`user[$ne]=`, `{"$gt": ""}`, `$where: '1 == 1'`), and JavaScript injected into a
//! `$where` or `mapReduce` context (`' && this.password.match(/.*/)//`, `;return true`,
//! busy loops that measure time).

use regex::bytes::RegexSet;

use super::prefilter::{byte, Trigger};

/// Trigger words that make a value a candidate when its bytes alone do not.
pub(crate) const TRIGGERS: &[Trigger] = &[Trigger::Nosql];

/// Injected query JavaScript needs a call, a statement end, a string, a logical operator or
/// a blank between words.
pub(crate) const TRIGGER_BYTES: u32 = byte::PAREN
    | byte::SEMICOLON
    | byte::QUOTE
    | byte::PIPE
    | byte::AMPERSAND
    | byte::BRACE
    | byte::BRACKET
    | byte::SPACE;

/// MongoDB query and aggregation operators attackers use to change a query's meaning.
const OPERATORS: &str = "where|ne|eq|gt|gte|lt|lte|in|nin|or|and|not|nor|regex|exists|expr\
|elemmatch|type|mod|text|all|size|function|accumulator|jsonschema|options|comment|lookup";

/// The NoSQL-injection detector (patterns compiled once).
pub(crate) struct Nosql {
    patterns: RegexSet,
}

impl Nosql {
    pub(crate) fn new() -> Nosql {
        let patterns = [
            // An operator as a key: after `[`, `{`, a quote, a comma or a blank, and followed
            // (past an optional quote) by `]`, `:` or `=`.
            format!(r#"(?:^|[\[{{"',\s(])\$(?:{OPERATORS})\b\s*["']?\s*[\]:=]"#),
            r"\bdb\s*\.\s*[a-z_]\w*\s*\.\s*(?:insert|find|remove|update|drop|mapreduce|aggregate|save|count|delete)\w*\s*\(".to_string(),
            r"\bthis\s*\.\s*\w+\s*\.\s*match\s*\(".to_string(),
            // Leaving a string to append JavaScript: `';return …`, `' && this.…`, `';sleep(…`.
            r#"["']\s*(?:;|&&|\|\|)\s*(?:return\s*[(\x22'tf1]|sleep\s*\(|this\s*\.|while\s*\(|var\s|it\s*=|db\s*\.)"#.to_string(),
            r";\s*return\s+(?:true|1)\b".to_string(),
            r"\bnew\s+date\s*\(\s*\)\s*;?\s*do\s*\{".to_string(),
            r"\bwhile\s*\(\s*\w+\s*-\s*\w+".to_string(),
            r#"(?:\|\||&&)\s*['"]?1['"]?\s*===?\s*['"]?1\b"#.to_string(),
            r"\bmapreduce\s*\(\s*function\b".to_string(),
        ];
        let patterns = patterns.iter().map(|p| format!("(?i-u){p}"));
        Nosql { patterns: RegexSet::new(patterns).expect("the NoSQL patterns are valid") }
    }

    /// Operators need a `$`; everything else needs a trigger word (see [`TRIGGERS`]).
    pub(crate) fn candidate_by_bytes(kinds: u32) -> bool {
        kinds & byte::DOLLAR != 0
    }

    /// Whether the decoded value carries a MongoDB operator or injected query JavaScript.
    pub(crate) fn detect(&self, v: &[u8]) -> bool {
        self.patterns.is_match(v)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn nosql(s: &str) -> bool {
        Nosql::new().detect(s.as_bytes())
    }

    #[test]
    fn operators_and_javascript() {
        for v in [
            "user[$ne]=1",
            "[$ne]",
            "{\"$gt\": \"\"}",
            "{ $ne: 1 }",
            "true, $where: '99 == 88'",
            "', $or: [ {}, { 'order':'order",
            "db.injection.insert({success:1});",
            "' && this.password.match(/.*/)//\0",
            "';return 'a'=='a' && ''=='",
            "0;return true",
            ";var date = new Date(); do{curDate = new Date();}while(curDate-date",
            "';sleep(5000);",
            "|| 1==1",
            "{\"username\": {\"$regex\": \"^adm\"}}",
        ] {
            assert!(nosql(v), "{v}");
        }
    }

    #[test]
    fn prices_prose_and_json() {
        for v in [
            "costs $5 or $10",
            "The standard for the <$ tag",
            "DELETE 75oBC$",
            "{\"name\": \"Ann\", \"in\": true}",
            "\"Books\"; return policy",
            "return to sender",
            "a || b",
            "$HOME/bin",
        ] {
            assert!(!nosql(v), "{v}");
        }
    }
}
