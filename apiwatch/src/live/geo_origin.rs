//! Where a request or an alert came from, as the threat map counts it: the client's network
//! (its autonomous system when the ASN database knows the address, otherwise its /24 for IPv4
//! or /48 for IPv6: addresses of one provider share an AS, and without one the prefix is
//! what is usually handed to one customer) and its country.

use apiwatch_core::Alert;
use serde_json::Value as Json;
use std::net::IpAddr;

/// A client network: an autonomous system, or an address prefix when none is known.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
pub enum Network {
    Asn(u32),
    /// The first three octets of an IPv4 address (its /24).
    V4([u8; 3]),
    /// The first six bytes of an IPv6 address (its /48).
    V6([u8; 6]),
}

impl Network {
    /// The network of a client address and the AS the enrichment gave it.
    pub fn of(ip: Option<IpAddr>, asn: Option<u32>) -> Option<Network> {
        if let Some(n) = asn {
            return Some(Network::Asn(n));
        }
        match ip? {
            IpAddr::V4(v4) => {
                let [a, b, c, _] = v4.octets();
                Some(Network::V4([a, b, c]))
            }
            IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
                Some(v4) => Network::of(Some(IpAddr::V4(v4)), None),
                None => {
                    let o = v6.octets();
                    Some(Network::V6([o[0], o[1], o[2], o[3], o[4], o[5]]))
                }
            },
        }
    }

    pub(super) fn label(&self, org: Option<&str>) -> String {
        match self {
            Network::Asn(n) => match org {
                Some(o) => format!("AS{n} {o}"),
                None => format!("AS{n}"),
            },
            Network::V4([a, b, c]) => format!("{a}.{b}.{c}.0/24"),
            Network::V6(o) => {
                let mut full = [0u8; 16];
                full[..6].copy_from_slice(o);
                format!("{}/48", std::net::Ipv6Addr::from(full))
            }
        }
    }
}

/// Where one alert came from.
#[derive(Debug, PartialEq)]
pub struct Origin {
    pub ip: Option<IpAddr>,
    pub country: [u8; 2],
    pub asn: Option<u32>,
    pub org: Option<String>,
}

impl Origin {
    /// The client of the alert's newest evidence event that has one (the event that made a
    /// rule fire is the last evidence of a new alert); none for an alert about no client.
    pub fn of_alert(alert: &Alert) -> Option<Origin> {
        alert.evidence.iter().rev().find_map(|ev| {
            let ip = field(ev, "source.ip").and_then(Json::as_str).and_then(|s| s.parse().ok());
            let asn = field(ev, "source.as.number")
                .and_then(Json::as_u64)
                .and_then(|n| u32::try_from(n).ok());
            if ip.is_none() && asn.is_none() {
                return None;
            }
            Some(Origin {
                ip,
                country: country_code(
                    field(ev, "source.geo.country_iso_code").and_then(Json::as_str),
                ),
                asn,
                org: field(ev, "source.as.organization.name")
                    .and_then(Json::as_str)
                    .map(str::to_string),
            })
        })
    }
}

/// A field of an ECS event, nested (`{"source":{"ip":…}}`) or dotted at any level.
fn field<'a>(v: &'a Json, path: &str) -> Option<&'a Json> {
    let obj = v.as_object()?;
    if let Some(found) = obj.get(path) {
        return Some(found);
    }
    let mut split = path.match_indices('.');
    split.find_map(|(at, _)| obj.get(&path[..at]).and_then(|inner| field(inner, &path[at + 1..])))
}

pub(super) fn country_code(code: Option<&str>) -> [u8; 2] {
    match code.map(str::as_bytes) {
        Some(&[a, b]) if a.is_ascii_alphabetic() && b.is_ascii_alphabetic() => {
            [a.to_ascii_uppercase(), b.to_ascii_uppercase()]
        }
        _ => *b"??",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_network_is_the_as_or_the_prefix_and_a_mapped_address_is_its_ipv4() {
        let ip = |s: &str| Some(s.parse::<IpAddr>().unwrap());
        assert_eq!(Network::of(ip("192.0.2.7"), Some(64496)), Some(Network::Asn(64496)));
        assert_eq!(Network::of(ip("::ffff:192.0.2.7"), None), Some(Network::V4([192, 0, 2])));
        assert_eq!(Network::of(None, None), None);
        let v6 = Network::of(ip("2001:db8:aa:bb::1"), None).unwrap();
        assert_eq!(v6.label(None), "2001:db8:aa::/48");
        assert_eq!(Network::Asn(64496).label(Some("Example")), "AS64496 Example");
        assert_eq!((country_code(Some("gb")), country_code(Some("G1"))), (*b"GB", *b"??"));
    }
}
