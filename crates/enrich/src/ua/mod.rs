//! User-agent classes: browser, mobile app, library, search bot, scanner, monitor, empty, other.
//!
//! Hand-classified with one Aho-Corasick automaton rather than ua-parser: detection needs
//! these eight classes, not browser families and versions, and ua-parser's regex list costs
//! 10–16 µs per uncached agent and knows nothing about scanners. One pass over the agent finds
//! every marker; the class is decided by a fixed priority, scanners first, because a scanner
//! may dress up as a browser (`Mozilla/5.0 … sqlmap/1.7`).

mod markers;

use crate::error::EnrichError;
use aho_corasick::{AhoCorasick, MatchKind};
use apiwatch_core::UaClass;
use markers::Marker;

/// Classifies user agents; built once, shared by all workers.
pub(crate) struct UaClassifier {
    automaton: AhoCorasick,
    entries: Vec<markers::Entry>,
}

impl UaClassifier {
    pub(crate) fn new() -> Result<Self, EnrichError> {
        let entries = markers::entries();
        let automaton = AhoCorasick::builder()
            .ascii_case_insensitive(true)
            // Overlapping search needs standard semantics: every marker is reported.
            .match_kind(MatchKind::Standard)
            .build(entries.iter().map(|e| e.text.as_str()))
            .map_err(|e| EnrichError::UaMarkers(e.to_string()))?;
        Ok(UaClassifier { automaton, entries })
    }

    pub(crate) fn classify(&self, agent: &str) -> UaClass {
        let agent = agent.trim();
        if agent.is_empty() || agent == "-" || agent == "\"-\"" {
            return UaClass::Empty;
        }
        let bytes = agent.as_bytes();
        let mut seen = 0u8;
        for m in self.automaton.find_overlapping_iter(agent) {
            let Some(entry) = self.entries.get(m.pattern().as_usize()) else { continue };
            if entry.whole_word && !stands_alone(bytes, m.start(), m.end()) {
                continue;
            }
            seen |= entry.marker.bit();
            if entry.marker == Marker::Scanner {
                return UaClass::Scanner;
            }
        }
        let has = |m: Marker| seen & m.bit() != 0;
        if has(Marker::Monitor) {
            UaClass::Monitor
        } else if has(Marker::SearchBot) {
            UaClass::SearchBot
        } else if has(Marker::MobileApp) {
            UaClass::MobileApp
        } else if has(Marker::Library) {
            UaClass::Library
        } else if has(Marker::GenericBot) {
            UaClass::SearchBot
        } else if has(Marker::BrowserEngine) && browser_prefix(agent) {
            UaClass::Browser
        } else if has(Marker::MobileHint) {
            UaClass::MobileApp
        } else {
            UaClass::Other
        }
    }
}

/// Browsers start with `Mozilla/5.0` (every engine since 2010), or `Mozilla/4.0` (old IE) or
/// `Opera/` (Presto Opera).
fn browser_prefix(agent: &str) -> bool {
    ["Mozilla/5.0", "Mozilla/4.0", "Opera/"]
        .iter()
        .any(|p| agent.get(..p.len()).is_some_and(|h| h.eq_ignore_ascii_case(p)))
}

fn stands_alone(bytes: &[u8], start: usize, end: usize) -> bool {
    let before = start.checked_sub(1).and_then(|i| bytes.get(i));
    let after = bytes.get(end);
    !before.is_some_and(u8::is_ascii_alphanumeric) && !after.is_some_and(u8::is_ascii_alphanumeric)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scanner_markers_win_over_a_browser_disguise() {
        let c = UaClassifier::new().unwrap();
        let spoofed = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36 sqlmap/1.7.2";
        assert_eq!(c.classify(spoofed), UaClass::Scanner);
    }

    #[test]
    fn short_markers_inside_words_do_not_count() {
        let c = UaClassifier::new().unwrap();
        assert_eq!(c.classify("Zapier"), UaClass::Other);
        assert_eq!(c.classify("LasVegasApp/1.0"), UaClass::Other);
        assert_eq!(c.classify("OWASP ZAP/2.14"), UaClass::Scanner);
    }

    #[test]
    fn empty_forms() {
        let c = UaClassifier::new().unwrap();
        for a in ["", " ", "-", "\"-\""] {
            assert_eq!(c.classify(a), UaClass::Empty, "{a:?}");
        }
    }
}
