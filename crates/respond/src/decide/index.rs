//! The active decisions, indexed for an enforcer that asks about every request: by address,
//! by network (longest prefix first), by user, token, session, consumer and country. Built
//! whole from the list of active decisions each time one changes (they are few: thousands,
//! not millions), and swapped in, so a lookup never waits on a change.

use apiwatch_core::{Action, Decision, ScopeKind};
use ipnet::IpNet;
use std::collections::HashMap;
use std::net::IpAddr;

/// Who is asking, as far as the enforcer knows.
#[derive(Clone, Debug, Default)]
pub struct Subject<'a> {
    pub ip: Option<IpAddr>,
    pub user: Option<&'a str>,
    /// The token's pseudonym (`token.id`), never the token.
    pub token: Option<&'a str>,
    pub session: Option<&'a str>,
    pub consumer: Option<&'a str>,
    /// ISO 3166 alpha-2.
    pub country: Option<&'a str>,
}

/// The active decisions, ready for lookups.
#[derive(Clone, Debug, Default)]
pub struct DecisionIndex {
    by_ip: HashMap<IpAddr, Vec<Decision>>,
    /// Sorted by prefix length, longest first.
    ranges: Vec<(IpNet, Decision)>,
    by_value: HashMap<(ScopeKind, String), Vec<Decision>>,
}

/// How strongly an action stops a request: the strongest applicable decision wins.
fn strength(a: Action) -> u8 {
    match a {
        Action::Block | Action::Lock | Action::Revoke => 3,
        Action::StepUp => 2,
        Action::Throttle => 1,
    }
}

impl DecisionIndex {
    /// Indexes `active` (decisions whose status is active); those past `now_ms` are left out.
    pub fn build(active: &[Decision], now_ms: i64) -> DecisionIndex {
        let mut ix = DecisionIndex::default();
        for d in active.iter().filter(|d| d.expires_at_ms > now_ms) {
            match d.scope {
                ScopeKind::Ip => match d.value.parse::<IpAddr>() {
                    Ok(ip) => ix.by_ip.entry(ip).or_default().push(d.clone()),
                    Err(_) => continue,
                },
                ScopeKind::Range => match d.value.parse::<IpNet>() {
                    Ok(net) => ix.ranges.push((net.trunc(), d.clone())),
                    Err(_) => continue,
                },
                kind => {
                    let value = if kind == ScopeKind::Country {
                        d.value.to_ascii_uppercase()
                    } else {
                        d.value.clone()
                    };
                    ix.by_value.entry((kind, value)).or_default().push(d.clone());
                }
            }
        }
        ix.ranges.sort_by_key(|(net, _)| std::cmp::Reverse(net.prefix_len()));
        ix
    }

    /// How many decisions are indexed.
    pub fn len(&self) -> usize {
        self.by_ip.values().map(Vec::len).sum::<usize>()
            + self.ranges.len()
            + self.by_value.values().map(Vec::len).sum::<usize>()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Whether a decision names a user, token, session, consumer or country (then an
    /// enforcer must work out who calls, not only from where).
    pub fn needs_identity(&self) -> bool {
        !self.by_value.is_empty()
    }

    /// The strongest decision that applies to `who` at `now_ms`, if any (ties: the one that
    /// ends last, so the answer's `Retry-After` is honest).
    pub fn lookup(&self, who: &Subject<'_>, now_ms: i64) -> Option<&Decision> {
        self.matching(who, now_ms).into_iter().max_by_key(|d| (strength(d.action), d.expires_at_ms))
    }

    /// Every decision that applies to `who` at `now_ms` (an address's own, its networks',
    /// its identities').
    pub fn matching(&self, who: &Subject<'_>, now_ms: i64) -> Vec<&Decision> {
        let mut found: Vec<&Decision> = Vec::new();
        if let Some(ip) = who.ip {
            found.extend(self.by_ip.get(&ip).into_iter().flatten());
            found.extend(self.ranges.iter().filter(|(n, _)| n.contains(&ip)).map(|(_, d)| d));
        }
        for (kind, value) in [
            (ScopeKind::User, who.user),
            (ScopeKind::Token, who.token),
            (ScopeKind::Session, who.session),
            (ScopeKind::Consumer, who.consumer),
        ] {
            if let Some(v) = value.filter(|v| !v.is_empty()) {
                found.extend(self.by_value.get(&(kind, v.to_string())).into_iter().flatten());
            }
        }
        if let Some(c) = who.country {
            let key = (ScopeKind::Country, c.to_ascii_uppercase());
            found.extend(self.by_value.get(&key).into_iter().flatten());
        }
        found.retain(|d| d.expires_at_ms > now_ms);
        found
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use apiwatch_core::{DecisionOrigin, DecisionStatus};

    fn d(id: i64, action: Action, scope: ScopeKind, value: &str, expires: i64) -> Decision {
        Decision {
            id,
            action,
            scope,
            value: value.into(),
            duration_ms: expires,
            origin: DecisionOrigin::Person("t".into()),
            reason: "r".into(),
            status: DecisionStatus::Active,
            created_at_ms: 0,
            expires_at_ms: expires,
            alert_id: None,
            incident_id: None,
            outcome: None,
        }
    }

    #[test]
    fn addresses_networks_and_identities_are_found() {
        let ix = DecisionIndex::build(
            &[
                d(1, Action::Throttle, ScopeKind::Range, "203.0.113.0/24", 1000),
                d(2, Action::Block, ScopeKind::Ip, "203.0.113.9", 500),
                d(3, Action::Lock, ScopeKind::User, "mallory", 1000),
                d(4, Action::Block, ScopeKind::Country, "kp", 1000),
                d(5, Action::Block, ScopeKind::Ip, "not an address", 1000),
            ],
            0,
        );
        assert_eq!(ix.len(), 4);
        let ip = |s: &str| Some(s.parse().unwrap());
        let at = |who: Subject, now| ix.lookup(&who, now).map(|d| d.id);
        assert_eq!(at(Subject { ip: ip("203.0.113.9"), ..Default::default() }, 10), Some(2));
        assert_eq!(at(Subject { ip: ip("203.0.113.7"), ..Default::default() }, 10), Some(1));
        // The address's own block ended: the range's throttle still holds.
        assert_eq!(at(Subject { ip: ip("203.0.113.9"), ..Default::default() }, 600), Some(1));
        assert_eq!(at(Subject { ip: ip("198.51.100.1"), ..Default::default() }, 10), None);
        let mallory =
            Subject { ip: ip("198.51.100.1"), user: Some("mallory"), ..Default::default() };
        assert_eq!(at(mallory, 10), Some(3));
        assert_eq!(at(Subject { country: Some("KP"), ..Default::default() }, 10), Some(4));
        assert_eq!(at(Subject { user: Some(""), ..Default::default() }, 10), None);
    }

    #[test]
    fn expired_decisions_are_not_indexed() {
        let ix = DecisionIndex::build(&[d(1, Action::Block, ScopeKind::Ip, "192.0.2.1", 5)], 5);
        assert!(ix.is_empty());
    }
}
