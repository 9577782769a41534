//! Server-side template injection: a template expression that computes or reaches into the
//! runtime — `{{7*7}}`, `{{config.items()}}`, `${7*7}`, `#{…}`, `*{…}`, `<%= … %>`, `{% for %}`,
//! FreeMarker's `<#assign … ?new()>`, Smarty's `{php}`.
//!
//! A plain placeholder (`{{name}}`, `{{user.name}}`, `${HOME}`) is not flagged: such strings
//! appear in documentation paths, Postman-style URLs and shell snippets, and an expression
//! without arithmetic, a call, an index, a filter, a quote or a dangerous name proves nothing.

use regex::bytes::RegexSet;

use super::prefilter::byte;

/// How far after an opener its closing delimiter is looked for.
const EXPRESSION_BYTES_MAX: usize = 512;

/// Names whose presence inside an expression means it reaches for the runtime (Jinja2,
/// Twig, Spring EL, OGNL, FreeMarker, Velocity, JavaScript engines).
const RUNTIME_NAMES: &[&str] = &[
    "config",
    "self",
    "_self",
    "request",
    "settings",
    "app",
    "dump",
    "lipsum",
    "cycler",
    "joiner",
    "namespace",
    "url_for",
    "get_flashed_messages",
    "range",
    "env",
    "system",
    "exec",
    "eval",
    "popen",
    "getruntime",
    "runtime",
    "forname",
    "classloader",
    "class",
    "mro",
    "subclasses",
    "globals",
    "builtins",
    "import",
    "constructor",
    "process",
    "require",
    "getclass",
    "invoke",
];

/// Jinja/Twig statement keywords (`{% for … %}`).
const STATEMENTS: &[&str] = &[
    "for",
    "if",
    "set",
    "import",
    "include",
    "extends",
    "macro",
    "raw",
    "debug",
    "print",
    "load",
    "block",
    "with",
    "call",
    "filter",
    "from",
    "autoescape",
    "endfor",
    "endif",
];

/// Log4j lookups (`${jndi:…}`, `${lower:x}`): the JNDI detector's business, not a template.
const LOOKUP_PREFIXES: &[&str] = &[
    "jndi:", "lower:", "upper:", "env:", "sys:", "date:", "java:", "::-", "ctx:", "main:",
    "base64:",
];

/// The template-injection detector (patterns compiled once).
pub(crate) struct Ssti {
    directives: RegexSet,
}

impl Ssti {
    pub(crate) fn new() -> Ssti {
        let directives = [
            // FreeMarker: directives and the `?new()` built-in that instantiates classes.
            r"[<\[]#\s*(?:assign|include|import|macro|function|list|if|attempt)\b",
            r"\?\s*new\s*\(",
            r"freemarker\.template\.utility",
            // Smarty.
            r"\{\s*/?php\s*\}",
            r"\{\$smarty\b",
            // Velocity.
            r"#set\s*\(\s*\$\w+\s*=",
            r"\$class\s*\.\s*inspect",
        ];
        let directives = directives.iter().map(|p| format!("(?i-u){p}"));
        Ssti { directives: RegexSet::new(directives).expect("the SSTI patterns are valid") }
    }

    /// Every form needs `{`, `<%`, `[#` / `<#`, or `@(`.
    pub(crate) fn candidate_by_bytes(kinds: u32) -> bool {
        kinds & byte::BRACE != 0
            || (kinds & byte::LESS != 0 && kinds & (byte::PERCENT | byte::HASH) != 0)
            || (kinds & byte::BRACKET != 0 && kinds & byte::HASH != 0)
            || (kinds & byte::AT != 0 && kinds & byte::PAREN != 0)
    }

    /// Whether the decoded value holds a template expression that computes or reaches out.
    pub(crate) fn detect(&self, v: &[u8]) -> bool {
        if self.directives.is_match(v) {
            return true;
        }
        let mut i = 0;
        while i + 1 < v.len() {
            let found = match (v[i], v[i + 1]) {
                (b'{', b'{') => expression(v, i + 2, b"}}").is_some_and(is_active),
                (b'{', b'%') => expression(v, i + 2, b"%}").is_some_and(is_statement),
                (b'<', b'%') => {
                    let from = if v.get(i + 2) == Some(&b'=') { i + 3 } else { i + 2 };
                    expression(v, from, b"%>").is_some_and(is_active)
                }
                (b'$' | b'#' | b'*' | b'@' | b'~', b'{') => braced(v, i + 1).is_some_and(|body| {
                    !is_lookup(body) && !is_json_members(body) && is_active(body)
                }),
                (b'@', b'(') => expression(v, i + 2, b")").is_some_and(is_active),
                _ => false,
            };
            if found {
                return true;
            }
            i += 1;
        }
        false
    }
}

/// The text from `from` to the closing delimiter (or to the end when it is missing: a cut-off
/// payload still shows its intent), bounded by [`EXPRESSION_BYTES_MAX`].
fn expression<'a>(v: &'a [u8], from: usize, close: &[u8]) -> Option<&'a [u8]> {
    let rest = v.get(from..)?;
    let rest = &rest[..rest.len().min(EXPRESSION_BYTES_MAX)];
    Some(match memchr::memmem::find(rest, close) {
        Some(end) => &rest[..end],
        None => rest,
    })
}

/// The body of the `{…}` opening at `open`, with nested braces (`${{7*7}}`) kept inside.
fn braced(v: &[u8], open: usize) -> Option<&[u8]> {
    let rest = v.get(open + 1..)?;
    let rest = &rest[..rest.len().min(EXPRESSION_BYTES_MAX)];
    let mut depth = 1usize;
    for (i, &b) in rest.iter().enumerate() {
        match b {
            b'{' => depth += 1,
            b'}' => {
                depth -= 1;
                if depth == 0 {
                    return Some(&rest[..i]);
                }
            }
            _ => {}
        }
    }
    Some(rest)
}

fn is_lookup(body: &[u8]) -> bool {
    let body = body.trim_ascii_start();
    body.first() == Some(&b'$')
        || LOOKUP_PREFIXES
            .iter()
            .any(|p| body.len() >= p.len() && body[..p.len()].eq_ignore_ascii_case(p.as_bytes()))
}

/// `"key": value, …`: a JSON object after a `#` (a URL fragment) or a `$`, not an expression.
/// Template payloads put code, not a quoted key, right after the brace.
fn is_json_members(body: &[u8]) -> bool {
    let body = body.trim_ascii_start();
    let Some(&quote @ (b'"' | b'\'')) = body.first() else { return false };
    let Some(close) = memchr::memchr(quote, &body[1..]) else { return false };
    let after = body[close + 2..].trim_ascii_start();
    after.first() == Some(&b':') && !names_runtime(body) && !body.contains(&b'(')
}

/// Whether an expression body computes (arithmetic, a call, an index, a filter, a string) or
/// names the runtime.
fn is_active(body: &[u8]) -> bool {
    let body = body.trim_ascii();
    if body.is_empty() {
        return false;
    }
    let arithmetic = spaced_arithmetic(body);
    let call = body.windows(2).any(|w| {
        (w[0].is_ascii_alphanumeric() || matches!(w[0], b'_' | b')' | b']' | b'\'' | b'"'))
            && w[1] == b'('
    });
    let structure = body.iter().any(|&b| matches!(b, b'[' | b'|' | b'\'' | b'"'))
        || memchr::memmem::find(body, b"__").is_some();
    arithmetic || call || structure || names_runtime(body)
}

/// `7 * 7`, `16*8787`: digits around `*` or `+` with blanks allowed.
fn spaced_arithmetic(body: &[u8]) -> bool {
    let mut last_digit = false;
    let mut operator = false;
    for &b in body {
        match b {
            b'0'..=b'9' if operator && last_digit => return true,
            b'0'..=b'9' => {
                last_digit = true;
                operator = false;
            }
            b'*' | b'+' if last_digit => operator = true,
            b' ' | b'\t' => {}
            _ => {
                last_digit = false;
                operator = false;
            }
        }
    }
    false
}

fn names_runtime(body: &[u8]) -> bool {
    body.split(|b| !b.is_ascii_alphanumeric() && *b != b'_')
        .any(|word| RUNTIME_NAMES.iter().any(|n| word.eq_ignore_ascii_case(n.as_bytes())))
}

fn is_statement(body: &[u8]) -> bool {
    let body = body.trim_ascii_start();
    let body = body.strip_prefix(b"-").unwrap_or(body).trim_ascii_start();
    let word: &[u8] = body.split(|b| !b.is_ascii_alphabetic()).next().unwrap_or_default();
    STATEMENTS.iter().any(|s| word.eq_ignore_ascii_case(s.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ssti(s: &str) -> bool {
        Ssti::new().detect(s.as_bytes())
    }

    #[test]
    fn expressions() {
        for v in [
            "{{7*7}}",
            "{{7*'7'}}",
            "{{1337*1338}}",
            "${7*7}",
            "${{7*7}}",
            "#{ 7 * 7 }",
            "aaaa'+#{16*8787}+'bbb",
            "<%= 7 * 7 %>",
            "@(1+2)",
            "{{config.items()}}",
            "{{ request }}",
            "{{self}}",
            "{{''.__class__.__mro__[2].__subclasses__()}}",
            "{% for key, value in config.iteritems() %}",
            "<#assign ex = \"freemarker.template.utility.Execute\"?new()>${ ex(\"id\")}",
            "{$smarty.version}",
            "{php}echo `id`;{/php}",
            "*{T(java.lang.Runtime).getRuntime().exec('id')}",
            "{{4*4}}[[5*5]]",
        ] {
            assert!(ssti(v), "{v}");
        }
    }

    #[test]
    fn placeholders_and_json() {
        for v in [
            "{{name}}",
            "{{user.name}}",
            "/docs/{{version}}/intro",
            "{{baseUrl}}/api/v1/users",
            "${HOME}/bin",
            "${jndi:ldap://x/a}",
            "{\"name\": \"Ann\", \"tags\": {\"a\": 1}}",
            "{{#items}}{{title}}{{/items}}",
            "Hello {name}",
            "john@example.com (work)",
            "/2011/11/giveaway.html#{\"COLOR\":\"#2A1100\",\"FONTFAMILY\":\"GEORGIA, SERIF\"}",
        ] {
            assert!(!ssti(v), "{v}");
        }
    }
}
