//! ArcSight Common Event Format, as SIEMs read it from syslog:
//! `CEF:0|apiwatch|apiwatch|<version>|<rule or kind>|<title>|<severity 0-10>|<extension>`.
//! Header fields escape `\` and `|` and may not hold a line break; extension values escape `\`
//! and `=` and write line breaks as `\n`/`\r` (CEF specification, "Character encoding").

use crate::notify::Notification;
use apiwatch_core::Severity;

/// The CEF line for a notification.
pub(crate) fn format(n: &Notification) -> String {
    let mut out = String::from("CEF:0|apiwatch|apiwatch|");
    out.push_str(&header(env!("CARGO_PKG_VERSION")));
    out.push('|');
    out.push_str(&header(n.rule_or_kind()));
    out.push('|');
    out.push_str(&header(&n.title));
    out.push('|');
    out.push_str(&severity(n.severity).to_string());
    out.push('|');
    let mut ext: Vec<(&str, String)> = vec![
        ("rt", n.at_ms.to_string()),
        ("cat", n.kind.as_str().to_string()),
        ("externalId", n.id.clone()),
        ("msg", n.summary.clone()),
    ];
    if let Some(incident) = &n.incident_id {
        ext.push(("cs1Label", "incidentId".into()));
        ext.push(("cs1", incident.clone()));
    }
    if !n.actors.is_empty() {
        ext.push(("cs2Label", "actors".into()));
        ext.push(("cs2", n.actors.join(",")));
    }
    if !n.tags.is_empty() {
        ext.push(("cs3Label", "tags".into()));
        ext.push(("cs3", n.tags.join(",")));
    }
    if let Some(link) = &n.link {
        ext.push(("cs4Label", "link".into()));
        ext.push(("cs4", link.clone()));
    }
    let ext: Vec<String> = ext.into_iter().map(|(k, v)| format!("{k}={}", extension(&v))).collect();
    out.push_str(&ext.join(" "));
    out
}

/// CEF severity, 0–10.
pub(crate) fn severity(s: Severity) -> u8 {
    match s {
        Severity::Low => 3,
        Severity::Medium => 5,
        Severity::High => 8,
        Severity::Critical => 10,
    }
}

/// A header field: `\` → `\\`, `|` → `\|`; a line break (not allowed there) → a space.
pub(crate) fn header(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '|' => out.push_str("\\|"),
            '\r' | '\n' => out.push(' '),
            c => out.push(c),
        }
    }
    out
}

/// An extension value: `\` → `\\`, `=` → `\=`, line breaks → `\n`, `\r`.
pub(crate) fn extension(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '=' => out.push_str("\\="),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_per_the_specification() {
        assert_eq!(header(r"a|b\c=d"), r"a\|b\\c=d");
        assert_eq!(header("two\nlines"), "two lines");
        assert_eq!(extension("a=b|c\\d\ne\rf"), r"a\=b|c\\d\ne\rf");
    }
}
