//! Routes: which channels a notification goes to.

use super::config::RouteConfig;
use super::error::{ConfigProblem, Problems};
use super::notification::{Notification, NotificationKind};
use apiwatch_core::Severity;

/// A validated route; `channels` are indexes into the notifier's channels.
#[derive(Debug)]
pub(crate) struct Route {
    severity_at_least: Option<Severity>,
    rules: Option<Vec<String>>,
    tags: Option<Vec<String>>,
    kinds: Option<Vec<NotificationKind>>,
    pub(crate) channels: Vec<usize>,
}

impl Route {
    pub(crate) fn build(
        raw: &RouteConfig,
        path: &str,
        channel_names: &[&str],
        problems: &mut Problems,
    ) -> Option<Route> {
        let before = problems.errors.len();
        let severity_at_least = raw.severity_at_least.as_deref().and_then(|s| {
            let sev = Severity::parse(s);
            if sev.is_none() {
                problems.add(
                    format!("{path}.severity_at_least"),
                    ConfigProblem::Invalid(format!(
                        "unknown severity {s:?} (low, medium, high, critical)"
                    )),
                );
            }
            sev
        });
        let kinds = raw.kinds.as_ref().map(|kinds| {
            kinds
                .iter()
                .enumerate()
                .filter_map(|(i, k)| {
                    let kind = NotificationKind::parse(k);
                    if kind.is_none() {
                        problems.add(
                            format!("{path}.kinds[{i}]"),
                            ConfigProblem::Invalid(format!("unknown kind {k:?}")),
                        );
                    }
                    kind
                })
                .collect()
        });
        if raw.channels.is_empty() {
            problems.add(format!("{path}.channels"), ConfigProblem::Required);
        }
        let mut channels = Vec::new();
        for (i, name) in raw.channels.iter().enumerate() {
            match channel_names.iter().position(|c| c == name) {
                Some(idx) if !channels.contains(&idx) => channels.push(idx),
                Some(_) => {}
                None => problems.add(
                    format!("{path}.channels[{i}]"),
                    ConfigProblem::UnknownChannel(name.clone()),
                ),
            }
        }
        (problems.errors.len() == before).then(|| Route {
            severity_at_least,
            rules: raw.rules.clone(),
            tags: raw.tags.clone(),
            kinds,
            channels,
        })
    }

    pub(crate) fn matches(&self, n: &Notification) -> bool {
        if self.severity_at_least.is_some_and(|min| n.severity < min) {
            return false;
        }
        if let Some(kinds) = &self.kinds {
            if !kinds.contains(&n.kind) {
                return false;
            }
        }
        if let Some(rules) = &self.rules {
            // A notification with no rule (an incident) matches no rule list.
            let Some(rule) = n.rule.as_deref() else { return false };
            if !rules.iter().any(|pattern| glob_matches(pattern, rule)) {
                return false;
            }
        }
        if let Some(tags) = &self.tags {
            if !tags.iter().any(|t| n.tags.contains(t)) {
                return false;
            }
        }
        true
    }
}

/// `*` matches any run of characters, everything else itself.
pub(crate) fn glob_matches(pattern: &str, text: &str) -> bool {
    let mut pieces = pattern.split('*');
    let first = pieces.next().unwrap_or("");
    let Some(mut rest) = text.strip_prefix(first) else { return false };
    let pieces: Vec<&str> = pieces.collect();
    let Some((last, middle)) = pieces.split_last() else { return rest.is_empty() };
    for piece in middle {
        match rest.find(piece) {
            Some(at) => rest = &rest[at + piece.len()..],
            None => return false,
        }
    }
    rest.len() >= last.len() && rest.ends_with(last)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs() {
        assert!(glob_matches("auth-*", "auth-password-guessing-user"));
        assert!(glob_matches("*", ""));
        assert!(glob_matches("*-user", "auth-password-guessing-user"));
        assert!(glob_matches("a*b*c", "a-b-c"));
        assert!(glob_matches("exact", "exact"));
        assert!(!glob_matches("exact", "exactly"));
        assert!(!glob_matches("a*b", "ab-"));
        assert!(!glob_matches("ab*ba", "aba"));
    }
}
