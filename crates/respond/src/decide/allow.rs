//! Allow-lists: actors no automatic decision may touch (the office network, the monitoring
//! account, a partner's key). Checked against every actor of an alert, not only the scope the
//! decision would take: a rule that blocks an address must not block the address the
//! allow-listed monitoring user comes from.

use apiwatch_core::{ActorId, ScopeKind};
use ipnet::IpNet;
use std::net::IpAddr;

/// One allow-list entry: a network (addresses and ranges) or an exact value of a scope.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AllowEntry {
    Network(IpNet),
    Value(ScopeKind, String),
}

/// Why an allow-list entry could not be read.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum AllowParseError {
    #[error("{0:?} is neither an address nor a network")]
    Network(String),
    #[error("an allow-list value may not be empty")]
    Empty,
}

impl AllowEntry {
    /// Reads an entry of `scope`: `ip` and `range` take an address or a CIDR network.
    pub fn parse(scope: ScopeKind, value: &str) -> Result<AllowEntry, AllowParseError> {
        let value = value.trim();
        if value.is_empty() {
            return Err(AllowParseError::Empty);
        }
        match scope {
            ScopeKind::Ip | ScopeKind::Range => {
                let net = value
                    .parse::<IpNet>()
                    .or_else(|_| value.parse::<IpAddr>().map(IpNet::from))
                    .map_err(|_| AllowParseError::Network(value.to_string()))?;
                Ok(AllowEntry::Network(net.trunc()))
            }
            _ => Ok(AllowEntry::Value(scope, value.to_string())),
        }
    }
}

/// A set of entries; small (tens to hundreds), so a linear scan is enough.
#[derive(Clone, Debug, Default)]
pub struct AllowList {
    entries: Vec<AllowEntry>,
}

impl AllowList {
    pub fn new(entries: Vec<AllowEntry>) -> AllowList {
        AllowList { entries }
    }
    pub fn entries(&self) -> &[AllowEntry] {
        &self.entries
    }
    /// Whether a decision on `scope` = `value` would touch an allowed actor.
    pub fn covers(&self, scope: ScopeKind, value: &str) -> bool {
        self.entries.iter().any(|e| match e {
            AllowEntry::Network(net) => match scope {
                ScopeKind::Ip => value.parse::<IpAddr>().is_ok_and(|ip| net.contains(&ip)),
                // A blocked range that overlaps an allowed network would block it too.
                ScopeKind::Range => value
                    .parse::<IpNet>()
                    .is_ok_and(|r| net.contains(&r.network()) || r.contains(&net.network())),
                _ => false,
            },
            AllowEntry::Value(kind, v) => *kind == scope && v == value,
        })
    }
    /// Whether any of the actors is allowed.
    pub fn covers_any<'a>(&self, actors: impl IntoIterator<Item = &'a ActorId>) -> bool {
        actors.into_iter().any(|a| self.covers(a.kind, &a.value))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn list(items: &[(ScopeKind, &str)]) -> AllowList {
        AllowList::new(items.iter().map(|(k, v)| AllowEntry::parse(*k, v).unwrap()).collect())
    }

    #[test]
    fn networks_cover_addresses_and_overlapping_ranges() {
        let l = list(&[(ScopeKind::Range, "10.1.0.0/16"), (ScopeKind::Ip, "192.0.2.7")]);
        assert!(l.covers(ScopeKind::Ip, "10.1.200.3"));
        assert!(l.covers(ScopeKind::Ip, "192.0.2.7"));
        assert!(!l.covers(ScopeKind::Ip, "192.0.2.8"));
        assert!(l.covers(ScopeKind::Range, "10.0.0.0/8"), "a wider block would hit the office");
        assert!(l.covers(ScopeKind::Range, "10.1.2.0/24"));
        assert!(!l.covers(ScopeKind::Range, "10.2.0.0/16"));
        assert!(!l.covers(ScopeKind::User, "10.1.0.1"));
    }

    #[test]
    fn values_match_their_scope_exactly() {
        let l = list(&[(ScopeKind::User, "healthcheck")]);
        assert!(l.covers(ScopeKind::User, "healthcheck"));
        assert!(!l.covers(ScopeKind::Consumer, "healthcheck"));
        assert!(!l.covers(ScopeKind::User, "healthcheck2"));
        assert!(l.covers_any(&[
            ActorId::new(ScopeKind::Ip, "203.0.113.9"),
            ActorId::new(ScopeKind::User, "healthcheck"),
        ]));
    }

    #[test]
    fn bad_entries_are_refused() {
        assert_eq!(
            AllowEntry::parse(ScopeKind::Ip, "10.0.0.300"),
            Err(AllowParseError::Network("10.0.0.300".into()))
        );
        assert_eq!(AllowEntry::parse(ScopeKind::User, " "), Err(AllowParseError::Empty));
    }
}
