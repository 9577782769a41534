//! Cross-site scripting: libinjection's HTML5 tokenizer (the `libinjectionrs` port), plus
//! patterns for what a tokenizer does not see: attribute break-outs (`"onwheel=…`),
//! `javascript:` URLs with whitespace inside the scheme, and script-context payloads with no
//! markup at all (`alert.call(null,1)`, `document["cookie"]`).

use regex::bytes::RegexSet;

use super::decode;
use super::prefilter::{byte, Trigger};

/// Trigger words that make a value a candidate when its bytes alone do not.
pub(crate) const TRIGGERS: &[Trigger] = &[Trigger::Xss];

/// Script without markup needs a call, a scheme, an assignment, an entity or a string.
pub(crate) const TRIGGER_BYTES: u32 = byte::PAREN
    | byte::BACKTICK
    | byte::COLON
    | byte::EQUALS
    | byte::AMPERSAND
    | byte::QUOTE
    | byte::BRACKET;

/// Event-handler attribute names: `on` and the start of a DOM event. Spelled as prefixes, not
/// `on[a-z]+`, so that `online=`, `only=`, `onset=` stay ordinary words.
const HANDLER: &str = "on(?:a(?:bort|fter|nimation|ux)|b(?:egin|efore|lur|ounce)\
|c(?:an|hange|lick|lose|ontext|opy|ue|ut)|d(?:blclick|rag|rop|uration)|e(?:nd|rror)\
|f(?:ocus|inish|ormdata|ullscreen)|h(?:ashchange|elp)|in(?:put|valid)|key|lo(?:ad|se)\
|m(?:ouse|essage|ove|oz)|o(?:ffline|nline)|p(?:a(?:ge|ste|use)|lay|ointer|opstate|ro(?:gress|pertychange))\
|r(?:e(?:adystatechange|peat|set|size|start|ceived)|ow)|s(?:croll|e(?:ek|arch|lect)|how|ta(?:rt|lled)|ubmit|uspend|top)\
|t(?:ime|oggle|ouch|ransition)|un(?:load|handledrejection)|v(?:isibility|olume)|w(?:aiting|heel|ebkit))[a-z]*";

/// Whitespace and control bytes browsers skip inside a URL scheme.
const GAP: &str = r"[\s\x00-\x1f]*";

/// The cross-site-scripting detector (patterns compiled once).
pub(crate) struct Xss {
    patterns: RegexSet,
}

impl Xss {
    pub(crate) fn new() -> Xss {
        let scheme = |word: &str| {
            let letters: Vec<String> = word.chars().map(|c| c.to_string()).collect();
            // After the colon: code right away, or an identifier followed by a call, so that
            // the prose "JavaScript: Basics of …" is not a URL.
            format!(r"{}{GAP}:(?:[^\s]|\s*[\w$.]+\s*[(`=\[])", letters.join(GAP))
        };
        let patterns = [
            r"<\s*/?\s*script\b".to_string(),
            // A handler inside a tag, closed or not: `<svg/onload=`, `<img src=x onerror=`.
            format!(r"<[a-z!?/][^>]*?[\s/\x22'`\x00]{HANDLER}\s*="),
            // Breaking out of a quoted attribute into a handler: `"onwheel=`, `"//onfocus=`.
            // (Unbounded rather than `{0,64}`: a counted repetition of the handler alternation
            // makes the lazy DFA's states too many, and the regex engine then falls back to
            // a much slower matcher for the rest of the process.)
            format!(r"(?:^|[\x22'`])[^<>\x22'`]*\b{HANDLER}\s*="),
            scheme("javascript"),
            scheme("vbscript"),
            r"data\s*:\s*(?:text/html|image/svg\+xml|application/(?:x-)?(?:java|ecma)script)"
                .to_string(),
            // Script-context payloads: calling a well-known sink, directly or indirectly.
            r"\b(?:alert|confirm|prompt|eval|settimeout|setinterval|execscript|msgbox)(?:\?\.)?[(`]"
                .to_string(),
            r"\(\s*(?:alert|confirm|prompt|eval)\s*\)\s*[(`]".to_string(),
            r"\b(?:alert|confirm|prompt|eval)\s*\.\s*(?:call|apply|bind)\s*\(".to_string(),
            r"\.\s*(?:some|map|find|filter|foreach|then|call|apply)\s*\(\s*(?:alert|confirm|prompt|eval)\b"
                .to_string(),
            r#"\b(?:document|window)\s*(?:\??\.|\[\s*["'`])\s*(?:cookie|domain|location|write|writeln|body|onerror|localstorage|sessionstorage)\b"#
                .to_string(),
            r"\bstring\s*\.\s*fromcharcode\s*\(".to_string(),
            r"\.\s*constructor\s*\(".to_string(),
            r"\batob\s*\(".to_string(),
            r"[:=]\s*expression\s*\(".to_string(),
            r"\bsrcdoc\s*=".to_string(),
        ];
        let patterns = patterns.iter().map(|p| format!("(?i-u){p}"));
        Xss { patterns: RegexSet::new(patterns).expect("the XSS patterns are valid") }
    }

    /// A `<`, or a quote with an `=` (attribute break-out), is enough to look closer.
    pub(crate) fn candidate_by_bytes(kinds: u32) -> bool {
        kinds & byte::LESS != 0
            || (kinds & (byte::QUOTE | byte::BACKTICK) != 0 && kinds & byte::EQUALS != 0)
    }

    /// Whether the decoded value carries script or markup that would run in a page.
    pub(crate) fn detect(&self, v: &[u8]) -> bool {
        let unescaped = decode::html_unescape(v);
        // Old parsers skip NUL inside tag names (`<scr\0ipt>`).
        let view: std::borrow::Cow<'_, [u8]> = if unescaped.contains(&0) {
            unescaped.iter().copied().filter(|&b| b != 0).collect::<Vec<u8>>().into()
        } else {
            unescaped
        };
        if self.patterns.is_match(&view) || libinjection_xss(&view) {
            return true;
        }
        view.as_ref() != v && libinjection_xss(v)
    }
}

fn libinjection_xss(v: &[u8]) -> bool {
    // Contained like the SQL tokenizer: attacker bytes must not be able to take the pipeline
    // down through a bug in the port.
    std::panic::catch_unwind(|| libinjectionrs::detect_xss(v).is_injection()).unwrap_or(false)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn xss(s: &str) -> bool {
        Xss::new().detect(s.as_bytes())
    }

    #[test]
    fn markup_and_handlers() {
        for v in [
            "<script>alert(1)</script>",
            "<svg/onload=alert(1)>",
            "<img src=x onerror=alert(document.domain)>",
            "\"onwheel=ead(111)",
            "\"//Onx=\"\"//onfocus=prompt(1)>",
            "<svG/x=\">\"/oNloaD=confirm()//",
            "&lt;svg/onload&equals;alert(1)&gt;",
            "<IMG SRC=j&#X41vascript:alert('test')>",
            "<<scr\0ipt/src=http://xss.com/xss.js></script",
            "<iframe src=\"java sc ript:al ert()\"></iframe>",
        ] {
            assert!(xss(v), "{v}");
        }
    }

    #[test]
    fn script_context() {
        for v in [
            "confirm.call(null,1)",
            "(alert)(1)",
            "alert?.(document?.cookie)",
            "document[\"cookie\"]",
            "eval(atob(\"YWxlcnQoKQ==\"))",
            "javascript:setInterval('ale'+'rt(document.domain)')",
            "<svg%0Aonauxclick=0;[1].some(confirm)//",
            "\\'-alert(1)//",
        ] {
            assert!(xss(v), "{v}");
        }
    }

    #[test]
    fn ordinary_text() {
        for v in [
            "h2<h1",
            "JavaScript: Basics of JavaScript Language",
            "java lang courses",
            "and >I would like to see all of the items that are type <enter type here>.",
            "The standard for the <$ tag is to enclose text",
            "online=true",
            "a < b and c > d",
            "Write a prompt (short) for the model",
            "https://example.com/?q=1&sort=asc",
            "{\"name\": \"Ann\", \"only\": true}",
        ] {
            assert!(!xss(v), "{v}");
        }
    }
}
