//! The client behind reverse proxies: X-Forwarded-For, `Forwarded` (RFC 7239) and X-Real-IP,
//! believed only when they come from a trusted proxy.
//!
//! The walk is the standard one (nginx `real_ip_recursive`, Go's `realclientip`): read the
//! chain from the right, skip addresses of trusted proxies, and take the first one that is not
//! trusted. Entries to its left were written by the client itself and can be forged, so a
//! spoofed left-most entry never wins. When every entry is trusted (an internal client behind
//! an internal load balancer), the left-most one is the client.

use crate::stats::EnrichStats;
use apiwatch_core::EventData;
use ipnet::IpNet;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// Loopback, RFC 1918, carrier-grade NAT (100.64.0.0/10), link-local, unique-local IPv6.
pub fn default_trusted_proxies() -> Vec<IpNet> {
    [
        "127.0.0.0/8",
        "10.0.0.0/8",
        "172.16.0.0/12",
        "192.168.0.0/16",
        "100.64.0.0/10",
        "169.254.0.0/16",
        "::1/128",
        "fc00::/7",
        "fe80::/10",
    ]
    .iter()
    .filter_map(|s| s.parse().ok())
    .collect()
}

/// Trusted networks as masks. A linear scan: proxy lists are tens of entries, and a scan of
/// masked integers costs less than a trie walk at that size.
pub(crate) struct TrustedProxies {
    v4: Vec<(u32, u32)>,
    v6: Vec<(u128, u128)>,
}

impl TrustedProxies {
    pub(crate) fn new(nets: &[IpNet]) -> Self {
        let mut v4 = Vec::new();
        let mut v6 = Vec::new();
        for net in nets {
            match net {
                IpNet::V4(n) => {
                    let mask = u32::from(n.netmask());
                    v4.push((u32::from(n.network()) & mask, mask));
                }
                IpNet::V6(n) => {
                    let mask = u128::from(n.netmask());
                    v6.push((u128::from(n.network()) & mask, mask));
                }
            }
        }
        TrustedProxies { v4, v6 }
    }

    pub(crate) fn contains(&self, ip: IpAddr) -> bool {
        match ip.to_canonical() {
            IpAddr::V4(a) => {
                let a = u32::from(a);
                self.v4.iter().any(|&(net, mask)| a & mask == net)
            }
            IpAddr::V6(a) => {
                let a = u128::from(a);
                self.v6.iter().any(|&(net, mask)| a & mask == net)
            }
        }
    }
}

/// Where the forwarding chain of an event comes from.
#[derive(Clone, Copy)]
enum Source<'a> {
    /// The decoder's `forwarded_for` field.
    Logged(&'a str),
    /// Every line of a request header, in order.
    Header(&'static str),
    /// The last line of a request header (X-Real-IP is one address set by the proxy).
    LastHeader(&'static str),
}

/// The chain's source and whether it is in RFC 7239 `Forwarded` syntax (elements with `for=`)
/// rather than X-Forwarded-For syntax (bare addresses).
fn chain_of(ev: &EventData) -> Option<(Source<'_>, bool)> {
    if let Some(xff) = ev.forwarded_for.as_deref() {
        if xff.trim().is_empty() || xff.trim() == "-" {
            return None;
        }
        // "Or equivalent": a decoder may have stored a `Forwarded` header here.
        return Some((Source::Logged(xff), contains_ignore_ascii_case(xff, "for=")));
    }
    let has = |name: &str| ev.headers.iter().any(|(n, _)| n == name);
    if has("x-forwarded-for") {
        Some((Source::Header("x-forwarded-for"), false))
    } else if has("forwarded") {
        Some((Source::Header("forwarded"), true))
    } else if has("x-real-ip") {
        Some((Source::LastHeader("x-real-ip"), false))
    } else {
        None
    }
}

fn contains_ignore_ascii_case(haystack: &str, needle: &str) -> bool {
    haystack.as_bytes().windows(needle.len()).any(|w| w.eq_ignore_ascii_case(needle.as_bytes()))
}

/// The client address of one entry: `1.2.3.4`, `1.2.3.4:5678`, `[2001:db8::1]:443`,
/// `2001:db8::1`, possibly quoted; `None` for `unknown`, obfuscated names and garbage.
pub(crate) fn parse_entry(entry: &str) -> Option<(IpAddr, Option<u16>)> {
    let s = entry.trim().trim_matches('"').trim();
    // The longest textual address with port is `[v6%zone]:65535`; anything longer is garbage.
    if s.is_empty() || s.len() > 64 {
        return None;
    }
    if let Some(rest) = s.strip_prefix('[') {
        let (host, after) = rest.split_once(']')?;
        let host = host.split('%').next().unwrap_or(host);
        let ip: Ipv6Addr = host.parse().ok()?;
        let port = match after.strip_prefix(':') {
            Some(p) => Some(p.parse().ok()?),
            None if after.is_empty() => None,
            None => return None,
        };
        return Some((IpAddr::V6(ip).to_canonical(), port));
    }
    if let Ok(ip) = s.parse::<IpAddr>() {
        return Some((ip.to_canonical(), None));
    }
    // IPv4 with a port; a bare IPv6 address has more than one colon and was handled above.
    let (host, port) = s.split_once(':')?;
    let ip: Ipv4Addr = host.parse().ok()?;
    Some((IpAddr::V4(ip), Some(port.parse().ok()?)))
}

/// The `for=` value of one `Forwarded` element (`for=192.0.2.60;proto=http;by=…`).
fn forwarded_for_value(element: &str) -> Option<&str> {
    element.split(';').find_map(|pair| {
        let (name, value) = pair.split_once('=')?;
        name.trim().eq_ignore_ascii_case("for").then_some(value.trim())
    })
}

/// The outcome of walking a chain from the right.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Walk {
    pub client: Option<(IpAddr, Option<u16>)>,
    pub unparsable: bool,
    pub truncated: bool,
}

/// Walks entries given right-to-left (see the module comment for the rule).
pub(crate) fn walk<'a>(
    entries_right_to_left: impl Iterator<Item = &'a str>,
    trusted: &TrustedProxies,
    hops_max: usize,
) -> Walk {
    let mut last_trusted = None;
    let mut hops = 0;
    for raw in entries_right_to_left {
        if raw.trim().is_empty() {
            continue;
        }
        if hops == hops_max {
            return Walk { client: last_trusted, unparsable: false, truncated: true };
        }
        hops += 1;
        match parse_entry(raw) {
            // The hop that wrote this did not know its client: nothing to the left can be
            // verified, so the nearest known hop is the best answer.
            None => return Walk { client: last_trusted, unparsable: true, truncated: false },
            Some(found) if !trusted.contains(found.0) => {
                return Walk { client: Some(found), unparsable: false, truncated: false }
            }
            Some(found) => last_trusted = Some(found),
        }
    }
    Walk { client: last_trusted, unparsable: false, truncated: false }
}

/// Walks header lines given last-first; each line is a comma-separated list.
fn walk_lines<'a>(
    lines_last_first: impl Iterator<Item = &'a str>,
    forwarded_syntax: bool,
    trusted: &TrustedProxies,
    hops_max: usize,
) -> Walk {
    let entries = lines_last_first.flat_map(|line| line.rsplit(','));
    if forwarded_syntax {
        // An element without `for=` says nothing about the client; skip it.
        walk(entries.filter_map(forwarded_for_value), trusted, hops_max)
    } else {
        walk(entries, trusted, hops_max)
    }
}

/// Replaces `source_ip` by the client named in the forwarding chain when the peer is trusted
/// (or unknown), keeping the peer in the labels `source.peer_ip` and `source.peer_port`.
pub(crate) fn resolve_client(
    ev: &mut EventData,
    trusted: &TrustedProxies,
    hops_max: usize,
    stats: &mut EnrichStats,
) {
    let Some((source, forwarded_syntax)) = chain_of(ev) else { return };
    let peer = ev.source_ip;
    if peer.is_some_and(|ip| !trusted.contains(ip)) {
        stats.forwarded_untrusted_peer += 1;
        return;
    }
    let header_lines = |name: &'static str| {
        ev.headers.iter().rev().filter(move |(n, _)| n == name).map(|(_, v)| v.as_str())
    };
    let walked = match source {
        Source::Logged(value) => {
            walk_lines(std::iter::once(value), forwarded_syntax, trusted, hops_max)
        }
        Source::Header(name) => walk_lines(header_lines(name), forwarded_syntax, trusted, hops_max),
        Source::LastHeader(name) => {
            walk_lines(header_lines(name).take(1), forwarded_syntax, trusted, hops_max)
        }
    };
    stats.forwarded_unparsable += u64::from(walked.unparsable);
    stats.forwarded_hops_truncated += u64::from(walked.truncated);
    let Some((client, client_port)) = walked.client else { return };
    if Some(client) == peer.map(|p| p.to_canonical()) {
        return;
    }
    if let Some(peer) = peer {
        ev.labels.push(("source.peer_ip".to_string(), ip_text(peer)));
        if let Some(port) = ev.source_port {
            ev.labels.push(("source.peer_port".to_string(), port.to_string()));
        }
    }
    ev.source_ip = Some(client);
    // The logged port was the proxy's connection; the client's is known only if the chain says.
    ev.source_port = client_port;
    stats.client_from_forwarded += 1;
}

/// An address as text. IPv4 is written by hand: `Display` goes through the formatting
/// machinery and costs more than the rest of client resolution.
fn ip_text(ip: IpAddr) -> String {
    let IpAddr::V4(v4) = ip else { return ip.to_string() };
    let mut out = String::with_capacity(15);
    for (i, octet) in v4.octets().into_iter().enumerate() {
        if i > 0 {
            out.push('.');
        }
        if octet >= 100 {
            out.push(char::from(b'0' + octet / 100));
        }
        if octet >= 10 {
            out.push(char::from(b'0' + octet / 10 % 10));
        }
        out.push(char::from(b'0' + octet % 10));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    /// An entry as logged, and the address and port it should give.
    type EntryCase = (&'static str, Option<(&'static str, Option<u16>)>);

    #[test]
    fn entries_in_every_shape_parse() {
        let cases: &[EntryCase] = &[
            ("203.0.113.7", Some(("203.0.113.7", None))),
            (" 203.0.113.7 ", Some(("203.0.113.7", None))),
            ("\"203.0.113.7\"", Some(("203.0.113.7", None))),
            ("203.0.113.7:51234", Some(("203.0.113.7", Some(51234)))),
            ("2001:db8::17", Some(("2001:db8::17", None))),
            ("[2001:db8::17]", Some(("2001:db8::17", None))),
            ("\"[2001:db8:cafe::17]:4711\"", Some(("2001:db8:cafe::17", Some(4711)))),
            ("[fe80::1%eth0]:80", Some(("fe80::1", Some(80)))),
            ("::ffff:198.51.100.4", Some(("198.51.100.4", None))),
            ("unknown", None),
            ("_hidden", None),
            ("203.0.113.7:port", None),
            ("203.0.113.7:99999", None),
            ("[2001:db8::1]x", None),
            ("300.1.1.1", None),
            ("", None),
        ];
        for (input, want) in cases {
            let got = parse_entry(input);
            let want = want.map(|(a, p)| (ip(a), p));
            assert_eq!(got, want, "{input:?}");
        }
    }

    #[test]
    fn default_list_covers_private_ranges_but_not_public_ones() {
        let t = TrustedProxies::new(&default_trusted_proxies());
        assert_eq!(default_trusted_proxies().len(), 9);
        for a in ["127.0.0.1", "10.1.2.3", "172.31.255.1", "192.168.0.9", "100.127.0.1", "::1"] {
            assert!(t.contains(ip(a)), "{a}");
        }
        for a in ["169.254.1.1", "fd00::5", "fe80::1", "::ffff:10.0.0.1"] {
            assert!(t.contains(ip(a)), "{a}");
        }
        for a in ["172.32.0.1", "100.128.0.1", "8.8.8.8", "2001:db8::1", "11.0.0.1"] {
            assert!(!t.contains(ip(a)), "{a}");
        }
    }

    #[test]
    fn forwarded_elements_yield_their_for_value() {
        assert_eq!(
            forwarded_for_value("for=192.0.2.60;proto=http;by=203.0.113.43"),
            Some("192.0.2.60")
        );
        assert_eq!(forwarded_for_value(" For=\"[2001:db8::1]:80\""), Some("\"[2001:db8::1]:80\""));
        assert_eq!(forwarded_for_value("proto=https;by=10.0.0.1"), None);
    }

    #[test]
    fn addresses_are_written_as_display_writes_them() {
        for a in [
            "0.0.0.0",
            "10.0.0.2",
            "100.64.9.99",
            "255.255.255.255",
            "203.0.113.107",
            "2001:db8::1",
        ] {
            assert_eq!(ip_text(ip(a)), ip(a).to_string());
        }
    }

    #[test]
    fn a_long_trusted_chain_stops_at_the_hop_limit() {
        let t = TrustedProxies::new(&default_trusted_proxies());
        let chain: Vec<String> = (0..100).map(|i| format!("10.0.0.{i}")).collect();
        let w = walk(chain.iter().rev().map(String::as_str), &t, 32);
        assert!(w.truncated);
        assert_eq!(w.client.map(|c| c.0), Some(ip("10.0.0.68")));
    }
}
