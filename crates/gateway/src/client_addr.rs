//! Who the client is: the peer, unless the peer is a trusted proxy, in which case the
//! right-most address of `X-Forwarded-For` (or `Forwarded: for=`) that is not itself trusted.
//! Addresses left of it were written by parties nobody vouches for.

use http::HeaderMap;
use ipnet::IpNet;
use std::net::IpAddr;

/// Trusted proxy ranges.
#[derive(Debug, Clone, Default)]
pub(crate) struct TrustedProxies {
    nets: Vec<IpNet>,
}

impl TrustedProxies {
    pub fn new(nets: Vec<IpNet>) -> Self {
        TrustedProxies { nets }
    }

    fn trusts(&self, ip: IpAddr) -> bool {
        self.nets.iter().any(|n| n.contains(&ip))
    }

    /// The client's address for a request that arrived from `peer`.
    pub fn client_ip(&self, peer: IpAddr, headers: &HeaderMap) -> IpAddr {
        let peer = peer.to_canonical();
        if !self.trusts(peer) {
            return peer;
        }
        let mut hops = forwarded_for(headers, "x-forwarded-for", parse_xff_entry);
        if hops.is_empty() {
            hops = forwarded_for(headers, "forwarded", parse_forwarded_element);
        }
        // Walk from the nearest hop outwards; stop at the first untrusted address. An entry
        // that does not parse ends the walk: the last trusted proxy wrote it, so the client is
        // that proxy as far as we can tell.
        let mut client = peer;
        for hop in hops.iter().rev() {
            let Some(ip) = hop else { return client };
            let ip = ip.to_canonical();
            client = ip;
            if !self.trusts(ip) {
                return ip;
            }
        }
        client
    }
}

/// Every comma-separated entry of every `name` header, in order; `None` for unparseable ones.
fn forwarded_for(
    headers: &HeaderMap,
    name: &str,
    parse: fn(&str) -> Option<Option<IpAddr>>,
) -> Vec<Option<IpAddr>> {
    headers
        .get_all(name)
        .iter()
        .flat_map(|v| match v.to_str() {
            Ok(s) => s.split(',').filter_map(parse).collect::<Vec<_>>(),
            Err(_) => vec![None],
        })
        .collect()
}

/// An `X-Forwarded-For` entry: `1.2.3.4`, `1.2.3.4:5678`, `2001:db8::1`, `[2001:db8::1]:80`.
/// `None` for an empty entry (skipped), `Some(None)` for one that is not an address.
fn parse_xff_entry(entry: &str) -> Option<Option<IpAddr>> {
    let e = entry.trim();
    if e.is_empty() {
        return None;
    }
    Some(parse_node(e))
}

/// The `for=` of one `Forwarded` element (`for=192.0.2.60;proto=http;by=203.0.113.43`);
/// elements without `for=` are skipped.
fn parse_forwarded_element(element: &str) -> Option<Option<IpAddr>> {
    element.split(';').find_map(|pair| {
        let (k, v) = pair.trim().split_once('=')?;
        if !k.trim().eq_ignore_ascii_case("for") {
            return None;
        }
        Some(parse_node(v.trim().trim_matches('"')))
    })
}

/// An address with an optional port; `unknown` and obfuscated names are not addresses.
fn parse_node(s: &str) -> Option<IpAddr> {
    if let Ok(ip) = s.parse::<IpAddr>() {
        return Some(ip);
    }
    if let Some(rest) = s.strip_prefix('[') {
        return rest.split_once(']').and_then(|(ip, _)| ip.parse().ok());
    }
    s.rsplit_once(':').and_then(|(ip, port)| {
        port.parse::<u16>().ok()?;
        ip.parse::<std::net::Ipv4Addr>().ok().map(IpAddr::V4)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(*k, v.parse().unwrap());
        }
        h
    }

    fn trusted() -> TrustedProxies {
        TrustedProxies::new(vec!["10.0.0.0/8".parse().unwrap()])
    }

    #[test]
    fn an_untrusted_peer_is_the_client() {
        let h = headers(&[("x-forwarded-for", "1.1.1.1")]);
        assert_eq!(
            trusted().client_ip("8.8.8.8".parse().unwrap(), &h),
            "8.8.8.8".parse::<IpAddr>().unwrap()
        );
    }

    #[test]
    fn the_rightmost_untrusted_hop_is_the_client() {
        let h =
            headers(&[("x-forwarded-for", "6.6.6.6, 1.1.1.1"), ("x-forwarded-for", "10.0.0.7")]);
        assert_eq!(
            trusted().client_ip("10.0.0.1".parse().unwrap(), &h),
            "1.1.1.1".parse::<IpAddr>().unwrap()
        );
    }

    #[test]
    fn forwarded_is_read_when_there_is_no_x_forwarded_for() {
        let h = headers(&[("forwarded", r#"for=6.6.6.6, for="[2001:db8::1]:4711";proto=https"#)]);
        assert_eq!(
            trusted().client_ip("10.0.0.1".parse().unwrap(), &h),
            "2001:db8::1".parse::<IpAddr>().unwrap()
        );
    }

    #[test]
    fn a_garbage_hop_stops_the_walk_at_the_proxy_that_wrote_it() {
        let h = headers(&[("x-forwarded-for", "1.1.1.1, nonsense, 10.0.0.9")]);
        assert_eq!(
            trusted().client_ip("10.0.0.1".parse().unwrap(), &h),
            "10.0.0.9".parse::<IpAddr>().unwrap()
        );
        let h = headers(&[("x-forwarded-for", "5.5.5.5:1234")]);
        assert_eq!(
            trusted().client_ip("10.0.0.1".parse().unwrap(), &h),
            "5.5.5.5".parse::<IpAddr>().unwrap()
        );
    }
}
