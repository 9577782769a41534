//! Where attacks come from, for the dashboard's threat map: by minute of event time, requests
//! per client network, and alerts per country and per network (with the addresses and
//! countries they came from). The processing thread counts each stored event and each new
//! alert; the API reads. Requests per country are the traffic roll-up's (`rollup.rs`). Like
//! the roll-up's, the minutes are saved to the state database as they change and read back
//! at start (`traffic_saved.rs`).
//!
//! Networks and origins are defined in `geo_origin.rs`.

use super::geo_origin::{Network, Origin};
use super::minutes::Minutes;
use apiwatch_core::event::EventData;
use apiwatch_core::time::MINUTE_MS;
use apiwatch_core::Alert;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet, VecDeque};
use std::net::IpAddr;
use std::sync::{Arc, Mutex};

/// Networks whose requests are counted per minute; the rest are counted under "other"
/// (memory: about 16 bytes each, so at most 6 MB over a full day).
pub const NETWORKS_PER_MINUTE_MAX: usize = 256;
/// Countries whose alerts are counted per minute; the rest under "other".
pub const ALERT_COUNTRIES_PER_MINUTE_MAX: usize = 64;
/// Networks an answer lists at most.
pub const NETWORKS_ANSWERED_MAX: usize = 20;
/// Addresses told apart per network and minute: enough to tell one address from a spread.
const ADDRESSES_PER_NETWORK_MAX: usize = 16;
/// Countries kept per network and minute (an AS spans few).
const COUNTRIES_PER_NETWORK_MAX: usize = 4;
/// AS organisations remembered (cleared when full; they come back with the next alert).
const ORGANIZATIONS_MAX: usize = 4096;
/// Alert ids remembered so that an alert raised again when it grows is counted once; an id
/// forgotten past this many newer alerts would be counted again.
const COUNTED_ALERTS_MAX: usize = 65_536;
/// The country of an address GeoIP does not place.
pub const UNKNOWN_COUNTRY: &str = "??";

/// Alerts from one network in one minute.
#[derive(Clone, Debug)]
struct NetworkAlerts {
    network: Network,
    alerts: u64,
    addresses: Vec<IpAddr>,
    countries: Vec<[u8; 2]>,
}

#[derive(Clone, Debug, Default)]
struct Minute {
    requests: HashMap<Network, u64>,
    other_requests: u64,
    country_alerts: Vec<([u8; 2], u64)>,
    other_country_alerts: u64,
    network_alerts: Vec<NetworkAlerts>,
    other_network_alerts: u64,
}

/// The minutes kept, oldest first, and what the alerts said about AS organisations.
#[derive(Default)]
pub struct GeoMap {
    /// The same window as the roll-up's: the last day back from the newest minute.
    minutes: Minutes<Minute>,
    organizations: HashMap<u32, Arc<str>>,
    counted: HashSet<Box<str>>,
    counted_order: VecDeque<Box<str>>,
}

/// One minute as saved in the state database.
#[derive(Serialize, Deserialize)]
struct SavedMinute {
    requests: Vec<(Network, u64)>,
    other_requests: u64,
    country_alerts: Vec<([u8; 2], u64)>,
    other_country_alerts: u64,
    network_alerts: Vec<SavedNetworkAlerts>,
    other_network_alerts: u64,
}

#[derive(Serialize, Deserialize)]
struct SavedNetworkAlerts {
    network: Network,
    alerts: u64,
    addresses: Vec<IpAddr>,
    countries: Vec<[u8; 2]>,
    /// The AS organisation, so that a restored network keeps its name.
    org: Option<String>,
}

/// A `GeoMap` shared by the processing thread and the API.
pub type SharedGeoMap = Arc<Mutex<GeoMap>>;

/// Requests and alerts from one country over a period.
#[derive(Debug, Serialize, PartialEq)]
pub struct CountryCounts {
    /// ISO 3166-1 alpha-2, `??` when unknown, `other` past the per-minute limits.
    pub country: String,
    pub requests: u64,
    pub alerts: u64,
}

/// One attacking network over a period.
#[derive(Debug, Serialize, PartialEq)]
pub struct NetworkCounts {
    /// `AS15169 Google LLC`, or a prefix (`203.0.113.0/24`, `2001:db8:1::/48`).
    pub network: String,
    pub asn: Option<u32>,
    pub org: Option<String>,
    pub alerts: u64,
    pub requests: u64,
    /// Distinct client addresses of its alerts.
    pub addresses: u64,
    /// Countries of its alerts' addresses, sorted.
    pub countries: Vec<String>,
}

impl GeoMap {
    /// Counts one stored event's request under its client network.
    pub fn observe(&mut self, ev: &EventData) {
        let geo = ev.geo.as_deref();
        let Some(network) = Network::of(ev.source_ip, geo.and_then(|g| g.as_number)) else {
            return;
        };
        let Some(m) = self.minutes.get_mut_noting(ev.timestamp_ms.div_euclid(MINUTE_MS)) else {
            return;
        };
        if let Some(n) = m.requests.get_mut(&network) {
            *n += 1;
        } else if m.requests.len() < NETWORKS_PER_MINUTE_MAX {
            m.requests.insert(network, 1);
        } else {
            m.other_requests += 1;
        }
    }

    /// Counts a new alert under its client's country and network, at its detection's
    /// event time; an alert raised again (same id, grown) or about no client is not counted.
    pub fn note_alert(&mut self, alert: &Alert) {
        if self.counted.contains(alert.id.as_str()) {
            return;
        }
        let Some(origin) = Origin::of_alert(alert) else { return };
        if self.counted_order.len() >= COUNTED_ALERTS_MAX {
            if let Some(old) = self.counted_order.pop_front() {
                self.counted.remove(&old);
            }
        }
        self.counted.insert(alert.id.as_str().into());
        self.counted_order.push_back(alert.id.as_str().into());
        self.count(alert.detected_at_ms, &origin);
    }

    fn count(&mut self, at_ms: i64, origin: &Origin) {
        if let (Some(asn), Some(org)) = (origin.asn, &origin.org) {
            if self.organizations.len() >= ORGANIZATIONS_MAX {
                self.organizations.clear();
            }
            self.organizations.entry(asn).or_insert_with(|| org.as_str().into());
        }
        let network = Network::of(origin.ip, origin.asn);
        let Some(m) = self.minutes.get_mut_noting(at_ms.div_euclid(MINUTE_MS)) else { return };
        if let Some((_, n)) = m.country_alerts.iter_mut().find(|(c, _)| *c == origin.country) {
            *n += 1;
        } else if m.country_alerts.len() < ALERT_COUNTRIES_PER_MINUTE_MAX {
            m.country_alerts.push((origin.country, 1));
        } else {
            m.other_country_alerts += 1;
        }
        let Some(network) = network else { return };
        let entry = match m.network_alerts.iter().position(|n| n.network == network) {
            Some(i) => &mut m.network_alerts[i],
            None if m.network_alerts.len() < NETWORKS_PER_MINUTE_MAX => {
                m.network_alerts.push(NetworkAlerts {
                    network,
                    alerts: 0,
                    addresses: Vec::new(),
                    countries: Vec::new(),
                });
                m.network_alerts.last_mut().expect("just pushed")
            }
            None => {
                m.other_network_alerts += 1;
                return;
            }
        };
        entry.alerts += 1;
        if let Some(ip) = origin.ip {
            if !entry.addresses.contains(&ip) && entry.addresses.len() < ADDRESSES_PER_NETWORK_MAX {
                entry.addresses.push(ip);
            }
        }
        if origin.country != *b"??"
            && !entry.countries.contains(&origin.country)
            && entry.countries.len() < COUNTRIES_PER_NETWORK_MAX
        {
            entry.countries.push(origin.country);
        }
    }

    /// The minutes counted into since the last call, kept ones only, as (minute number,
    /// JSON) to save; and the first minute kept (older saved minutes may go).
    pub fn take_changed(&mut self) -> (Vec<(i64, String)>, i64) {
        let organizations = &self.organizations;
        self.minutes.save_changed(|m| {
            let mut requests: Vec<(Network, u64)> =
                m.requests.iter().map(|(n, c)| (*n, *c)).collect();
            requests.sort();
            SavedMinute {
                requests,
                other_requests: m.other_requests,
                country_alerts: m.country_alerts.clone(),
                other_country_alerts: m.other_country_alerts,
                network_alerts: m
                    .network_alerts
                    .iter()
                    .map(|n| SavedNetworkAlerts {
                        network: n.network,
                        alerts: n.alerts,
                        addresses: n.addresses.clone(),
                        countries: n.countries.clone(),
                        org: match n.network {
                            Network::Asn(asn) => organizations.get(&asn).map(|o| o.to_string()),
                            _ => None,
                        },
                    })
                    .collect(),
                other_network_alerts: m.other_network_alerts,
            }
        })
    }

    /// Puts back minutes saved before (oldest first); returns how many could not be read.
    /// The limits hold for what is read back as for what is counted.
    pub fn restore(&mut self, saved: &[(i64, String)]) -> usize {
        let organizations = &mut self.organizations;
        self.minutes.restore(saved, |s: SavedMinute| {
            for n in &s.network_alerts {
                if let (Network::Asn(asn), Some(org)) = (n.network, &n.org) {
                    if organizations.len() >= ORGANIZATIONS_MAX {
                        organizations.clear();
                    }
                    organizations.insert(asn, org.as_str().into());
                }
            }
            Minute {
                requests: s.requests.into_iter().take(NETWORKS_PER_MINUTE_MAX).collect(),
                other_requests: s.other_requests,
                country_alerts: s
                    .country_alerts
                    .into_iter()
                    .take(ALERT_COUNTRIES_PER_MINUTE_MAX)
                    .collect(),
                other_country_alerts: s.other_country_alerts,
                network_alerts: s
                    .network_alerts
                    .into_iter()
                    .take(NETWORKS_PER_MINUTE_MAX)
                    .map(|n| NetworkAlerts {
                        network: n.network,
                        alerts: n.alerts,
                        addresses: n
                            .addresses
                            .into_iter()
                            .take(ADDRESSES_PER_NETWORK_MAX)
                            .collect(),
                        countries: n
                            .countries
                            .into_iter()
                            .take(COUNTRIES_PER_NETWORK_MAX)
                            .collect(),
                    })
                    .collect(),
                other_network_alerts: s.other_network_alerts,
            }
        })
    }

    fn in_range(&self, since_ms: i64, until_ms: i64) -> impl Iterator<Item = &Minute> {
        let first = since_ms.div_euclid(MINUTE_MS).max(self.minutes.first_minute());
        let last = until_ms.saturating_add(MINUTE_MS - 1).div_euclid(MINUTE_MS);
        (first..last).map_while(move |m| self.minutes.get(m))
    }

    /// Alerts per country in `[since_ms, until_ms)` beside `requests` (the roll-up's requests
    /// per country, unknown ones under `??`), most requests first.
    pub fn countries(
        &self,
        since_ms: i64,
        until_ms: i64,
        requests: &[(String, u64)],
    ) -> Vec<CountryCounts> {
        let mut by: BTreeMap<String, (u64, u64)> = BTreeMap::new();
        for (c, n) in requests {
            by.entry(c.clone()).or_default().0 += n;
        }
        for m in self.in_range(since_ms, until_ms) {
            for (c, n) in &m.country_alerts {
                by.entry(String::from_utf8_lossy(c).into_owned()).or_default().1 += n;
            }
            if m.other_country_alerts > 0 {
                by.entry("other".into()).or_default().1 += m.other_country_alerts;
            }
        }
        let mut out: Vec<CountryCounts> = by
            .into_iter()
            .map(|(country, (requests, alerts))| CountryCounts { country, requests, alerts })
            .collect();
        out.sort_by(|a, b| {
            b.requests
                .cmp(&a.requests)
                .then(b.alerts.cmp(&a.alerts))
                .then(a.country.cmp(&b.country))
        });
        out
    }

    /// The networks with alerts in `[since_ms, until_ms)`, most alerts first, then most
    /// requests; at most `NETWORKS_ANSWERED_MAX`.
    pub fn networks(&self, since_ms: i64, until_ms: i64) -> Vec<NetworkCounts> {
        #[derive(Default)]
        struct Sum {
            alerts: u64,
            requests: u64,
            addresses: BTreeSet<IpAddr>,
            countries: BTreeSet<[u8; 2]>,
        }
        let mut by: HashMap<Network, Sum> = HashMap::new();
        let minutes: Vec<&Minute> = self.in_range(since_ms, until_ms).collect();
        for m in &minutes {
            for n in &m.network_alerts {
                let s = by.entry(n.network).or_default();
                s.alerts += n.alerts;
                s.addresses.extend(n.addresses.iter().copied());
                s.countries.extend(n.countries.iter().copied());
            }
        }
        for m in &minutes {
            for (network, s) in by.iter_mut() {
                s.requests += m.requests.get(network).copied().unwrap_or(0);
            }
        }
        let mut out: Vec<(Network, Sum)> = by.into_iter().collect();
        out.sort_by(|(na, a), (nb, b)| {
            b.alerts.cmp(&a.alerts).then(b.requests.cmp(&a.requests)).then(na.cmp(nb))
        });
        out.truncate(NETWORKS_ANSWERED_MAX);
        out.into_iter()
            .map(|(network, s)| {
                let (asn, org) = match network {
                    Network::Asn(n) => (Some(n), self.organizations.get(&n).map(|o| o.to_string())),
                    _ => (None, None),
                };
                NetworkCounts {
                    network: network.label(org.as_deref()),
                    asn,
                    org,
                    alerts: s.alerts,
                    requests: s.requests,
                    addresses: s.addresses.len() as u64,
                    countries: s
                        .countries
                        .iter()
                        .map(|c| String::from_utf8_lossy(c).into_owned())
                        .collect(),
                }
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::live::minutes::MINUTES_KEPT;
    use apiwatch_core::event::Geo;
    use apiwatch_core::Severity;
    use serde_json::Value as Json;

    fn event(ts_ms: i64, ip: &str, asn: Option<u32>) -> EventData {
        EventData {
            timestamp_ms: ts_ms,
            source_ip: Some(ip.parse().unwrap()),
            geo: asn.map(|n| Arc::new(Geo { as_number: Some(n), ..Default::default() })),
            ..Default::default()
        }
    }

    fn alert(id: &str, at_ms: i64, evidence: Json) -> Alert {
        Alert {
            id: id.into(),
            rule: "injection-sqli".into(),
            title: "SQL injection".into(),
            severity: Severity::High,
            owasp: "API8:2023".into(),
            attack: None,
            first_seen_ms: at_ms,
            last_seen_ms: at_ms,
            detected_at_ms: at_ms,
            actor: vec![],
            count: 1,
            summary: String::new(),
            evidence: vec![evidence],
            response: None,
        }
    }

    #[test]
    fn networks_are_ranked_by_alerts_then_requests_with_their_addresses_and_countries() {
        let mut g = GeoMap::default();
        let t0 = 1_000 * MINUTE_MS;
        for i in 0..10 {
            g.observe(&event(t0 + i, "89.160.20.130", Some(29518)));
        }
        for _ in 0..3 {
            g.observe(&event(t0, "203.0.113.7", None));
        }
        g.observe(&event(t0, "2001:db8:1:2::1", None));
        let sqli = |ip: &str| {
            serde_json::json!({"source": {"ip": ip, "geo": {"country_iso_code": "se"},
                "as": {"number": 29518, "organization": {"name": "Bredband2 AB"}}}})
        };
        g.note_alert(&alert("a1", t0, sqli("89.160.20.130")));
        g.note_alert(&alert("a2", t0 + MINUTE_MS, sqli("89.160.20.131")));
        // Raised again when it grew: counted once.
        g.note_alert(&alert("a2", t0 + MINUTE_MS, sqli("89.160.20.131")));
        for id in ["b1", "b2"] {
            g.note_alert(&alert(id, t0, serde_json::json!({"source.ip": "203.0.113.7"})));
        }
        g.note_alert(&alert("c1", t0, serde_json::json!({"source": {"ip": "2001:db8:1:2::1"}})));
        g.note_alert(&alert("none", t0, serde_json::json!({"url": {"path": "/"}})));

        let n = g.networks(t0, t0 + 2 * MINUTE_MS);
        assert_eq!(n.len(), 3);
        assert_eq!(
            n[0],
            NetworkCounts {
                network: "AS29518 Bredband2 AB".into(),
                asn: Some(29518),
                org: Some("Bredband2 AB".into()),
                alerts: 2,
                requests: 10,
                addresses: 2,
                countries: vec!["SE".into()],
            }
        );
        assert_eq!((n[1].network.as_str(), n[1].alerts, n[1].requests), ("203.0.113.0/24", 2, 3));
        assert_eq!((n[1].asn, n[1].addresses, n[1].countries.len()), (None, 1, 0));
        assert_eq!((n[2].network.as_str(), n[2].requests), ("2001:db8:1::/48", 1));
        // Only the first minute.
        assert_eq!(g.networks(t0, t0 + MINUTE_MS)[0].alerts, 2);
        assert_eq!(g.networks(t0, t0 + MINUTE_MS)[1].alerts, 1);

        let c = g.countries(t0, t0 + 2 * MINUTE_MS, &[("SE".into(), 10), ("??".into(), 4)]);
        assert_eq!(
            c,
            [
                CountryCounts { country: "SE".into(), requests: 10, alerts: 2 },
                CountryCounts { country: "??".into(), requests: 4, alerts: 3 },
            ]
        );
    }

    #[test]
    fn networks_past_the_per_minute_limit_are_other_and_answers_are_capped() {
        let mut g = GeoMap::default();
        for i in 0..NETWORKS_PER_MINUTE_MAX as u32 + 5 {
            g.observe(&event(0, "192.0.2.1", Some(i + 1)));
            let ev = serde_json::json!({"source": {"ip": "192.0.2.1", "as": {"number": i + 1}}});
            g.note_alert(&alert(&format!("x{i}"), 0, ev));
        }
        let m = g.minutes.get(0).unwrap();
        assert_eq!((m.requests.len(), m.other_requests), (NETWORKS_PER_MINUTE_MAX, 5));
        assert_eq!((m.network_alerts.len(), m.other_network_alerts), (NETWORKS_PER_MINUTE_MAX, 5));
        assert_eq!(g.networks(0, MINUTE_MS).len(), NETWORKS_ANSWERED_MAX);
        assert_eq!(g.networks(0, MINUTE_MS)[0].network, "AS1");
    }

    #[test]
    fn only_the_last_day_is_kept() {
        let mut g = GeoMap::default();
        g.observe(&event(0, "192.0.2.1", None));
        g.observe(&event(MINUTES_KEPT as i64 * MINUTE_MS, "192.0.2.1", None));
        assert_eq!(g.minutes.end_minute() - g.minutes.first_minute(), MINUTES_KEPT as i64);
        g.note_alert(&alert("late", 0, serde_json::json!({"source": {"ip": "192.0.2.1"}})));
        assert!(g.networks(0, 2 * MINUTES_KEPT as i64 * MINUTE_MS).is_empty());
    }

    #[test]
    fn saved_minutes_restore_the_same_map() {
        let mut g = GeoMap::default();
        let t0 = 3_000 * MINUTE_MS;
        for i in 0..5 {
            g.observe(&event(t0 + i * 20_000, "89.160.20.130", Some(29518)));
            g.observe(&event(t0 + i * 20_000, "203.0.113.9", None));
        }
        let ev = serde_json::json!({"source": {"ip": "89.160.20.130", "geo": {"country_iso_code": "SE"},
            "as": {"number": 29518, "organization": {"name": "Bredband2 AB"}}}});
        g.note_alert(&alert("a", t0 + MINUTE_MS, ev));
        let (saved, keep_from) = g.take_changed();
        assert_eq!((saved.len(), keep_from), (2, 3_000));
        assert!(g.take_changed().0.is_empty(), "taken once");
        let mut back = GeoMap::default();
        assert_eq!(back.restore(&saved), 0);
        let period = (t0, t0 + 2 * MINUTE_MS);
        assert_eq!(back.networks(period.0, period.1), g.networks(period.0, period.1));
        assert_eq!(back.networks(period.0, period.1)[0].network, "AS29518 Bredband2 AB");
        let requests = [("SE".to_string(), 5)];
        assert_eq!(
            back.countries(period.0, period.1, &requests),
            g.countries(period.0, period.1, &requests)
        );
        assert_eq!(back.restore(&[(1, "{".into())]), 1);
    }
}
