//! A channel's rate limit: at most `max` notifications per `per`; the rest are held, counted by
//! severity and rule, and when the period ends ONE summary goes out in their place, so an alert
//! storm becomes one message.
//!
//! Fixed windows: a window opens with the first notification after the last one closed. Held
//! notifications are tallied, not kept, so a storm costs memory per group, not per alert.

use super::notification::{Notification, NotificationKind};
use apiwatch_core::Severity;
use tokio::time::{Duration, Instant};

/// A summary names this many (severity, rule) groups; the rest are counted as "other": a
/// message listing hundreds of groups is read by nobody.
const SUMMARY_GROUPS_MAX: usize = 32;
/// A summary lists up to this many distinct actors, for the same reason.
const SUMMARY_ACTORS_MAX: usize = 20;

/// The validated `rate_limit`.
#[derive(Clone, Copy, Debug)]
pub(crate) struct RateLimit {
    pub(crate) max: u32,
    pub(crate) per: Duration,
}

/// The state of one channel's limit.
#[derive(Debug)]
pub(crate) struct RateWindow {
    limit: RateLimit,
    window_end: Option<Instant>,
    admitted: u32,
    held: Held,
}

#[derive(Debug, Default)]
struct Held {
    total: u64,
    /// (severity, rule or kind, count), in first-seen order.
    groups: Vec<(Severity, String, u64)>,
    other: u64,
    severity_max: Option<Severity>,
    at_ms_max: i64,
    actors: Vec<String>,
}

impl RateWindow {
    pub(crate) fn new(limit: RateLimit) -> RateWindow {
        RateWindow { limit, window_end: None, admitted: 0, held: Held::default() }
    }

    /// Whether `n` may go now; if not, it is counted in the next summary.
    pub(crate) fn admit(&mut self, now: Instant, n: &Notification) -> bool {
        if self.window_end.is_none_or(|end| now >= end) {
            debug_assert_eq!(
                self.held.total, 0,
                "a closed window's summary is taken before a new one opens"
            );
            self.window_end = Some(now + self.limit.per);
            self.admitted = 0;
        }
        if self.admitted < self.limit.max {
            self.admitted += 1;
            return true;
        }
        self.held.add(n);
        false
    }

    /// When the held notifications' summary is due (the end of the window), if any are held.
    pub(crate) fn summary_due(&self) -> Option<Instant> {
        (self.held.total > 0).then_some(self.window_end).flatten()
    }

    /// The summary of what was held, resetting the tally. `channel` and `now_ms` make its id.
    pub(crate) fn take_summary(&mut self, channel: &str, now_ms: i64) -> Option<Notification> {
        if self.held.total == 0 {
            return None;
        }
        let held = std::mem::take(&mut self.held);
        Some(held.into_summary(channel, now_ms, self.limit.per))
    }
}

impl Held {
    fn add(&mut self, n: &Notification) {
        self.total += 1;
        self.severity_max = self.severity_max.max(Some(n.severity));
        self.at_ms_max = self.at_ms_max.max(n.at_ms);
        let key = n.rule_or_kind();
        let full = self.groups.len() >= SUMMARY_GROUPS_MAX;
        match self.groups.iter_mut().find(|(s, r, _)| *s == n.severity && r == key) {
            Some(group) => group.2 += 1,
            None if !full => self.groups.push((n.severity, key.to_string(), 1)),
            None => self.other += 1,
        }
        for actor in &n.actors {
            if self.actors.len() < SUMMARY_ACTORS_MAX && !self.actors.contains(actor) {
                self.actors.push(actor.clone());
            }
        }
    }

    fn into_summary(mut self, channel: &str, now_ms: i64, per: Duration) -> Notification {
        // Largest groups first; the sort is stable, so ties keep first-seen order.
        self.groups.sort_by_key(|(_, _, count)| std::cmp::Reverse(*count));
        let mut parts: Vec<String> = self
            .groups
            .iter()
            .map(|(sev, rule, count)| format!("{count} {} {rule}", sev.as_str()))
            .collect();
        if self.other > 0 {
            parts.push(format!("{} other", self.other));
        }
        let plural = if self.total == 1 { "" } else { "s" };
        let summary = format!("{} more notification{plural}: {}", self.total, parts.join(", "));
        let single_rule = match self.groups.as_slice() {
            [(_, rule, _), rest @ ..]
                if self.other == 0 && rest.iter().all(|(_, r, _)| r == rule) =>
            {
                Some(rule.clone())
            }
            _ => None,
        };
        let groups: Vec<serde_json::Value> = self
            .groups
            .iter()
            .map(|(sev, rule, count)| serde_json::json!({"severity": sev, "rule": rule, "count": count}))
            .collect();
        Notification {
            kind: NotificationKind::Summary,
            severity: self.severity_max.unwrap_or(Severity::Low),
            rule: single_rule,
            tags: Vec::new(),
            title: format!(
                "{} more notification{plural} held by the rate limit of {channel}",
                self.total
            ),
            summary,
            actors: self.actors,
            id: format!("rate-limit-summary:{channel}:{now_ms}"),
            incident_id: None,
            at_ms: self.at_ms_max,
            link: None,
            details: serde_json::json!({
                "held": self.total,
                "groups": groups,
                "other": self.other,
                "period_ms": u64::try_from(per.as_millis()).unwrap_or(u64::MAX),
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn note(sev: Severity, rule: &str) -> Notification {
        Notification {
            kind: NotificationKind::Alert,
            severity: sev,
            rule: Some(rule.into()),
            tags: vec![],
            title: "t".into(),
            summary: "s".into(),
            actors: vec!["ip:192.0.2.1".into()],
            id: "a".into(),
            incident_id: None,
            at_ms: 5,
            link: None,
            details: serde_json::Value::Null,
        }
    }

    #[test]
    fn a_storm_becomes_one_summary_per_window() {
        let limit = RateLimit { max: 2, per: Duration::from_secs(60) };
        let mut w = RateWindow::new(limit);
        let t0 = Instant::now();
        let mut admitted = 0;
        for i in 0..10 {
            let n =
                if i < 7 { note(Severity::High, "guess") } else { note(Severity::Medium, "scan") };
            admitted += usize::from(w.admit(t0, &n));
        }
        assert_eq!(admitted, 2);
        assert_eq!(w.summary_due(), Some(t0 + limit.per));
        let s = w.take_summary("chat", 1).unwrap();
        assert_eq!(s.summary, "8 more notifications: 5 high guess, 3 medium scan");
        assert_eq!(s.severity, Severity::High);
        assert_eq!(s.rule, None);
        assert_eq!(s.actors, vec!["ip:192.0.2.1".to_string()]);
        assert!(w.take_summary("chat", 2).is_none());
        // The next window admits again.
        assert!(w.admit(t0 + limit.per, &note(Severity::Low, "x")));
    }

    #[test]
    fn groups_past_the_cap_are_counted_as_other() {
        let mut w = RateWindow::new(RateLimit { max: 0, per: Duration::from_secs(1) });
        let t0 = Instant::now();
        for i in 0..(SUMMARY_GROUPS_MAX + 3) {
            assert!(!w.admit(t0, &note(Severity::Low, &format!("r{i}"))));
        }
        let s = w.take_summary("c", 0).unwrap();
        assert!(s.summary.ends_with(", 3 other"), "{}", s.summary);
    }
}
