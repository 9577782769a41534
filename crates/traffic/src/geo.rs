//! Client addresses per country, from real public allocations.
//!
//! Every prefix here was checked address by address against the GeoLite2-City database of
//! July 2018 (the one shipped by the PyPI package `maxminddb-geolite2`): all of its addresses
//! answer with the country listed. `tests/geoip.rs` checks the table again whenever that
//! database is installed. Do not add a prefix without running that test.

use crate::rng::Rng;
use std::net::Ipv4Addr;

/// An IPv4 prefix: network address and length.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Prefix {
    pub net: [u8; 4],
    pub len: u8,
}

impl Prefix {
    const fn new(a: u8, b: u8, c: u8, d: u8, len: u8) -> Prefix {
        Prefix { net: [a, b, c, d], len }
    }
    /// Number of addresses.
    pub fn size(self) -> u32 {
        1u32 << (32 - u32::from(self.len))
    }
    pub fn base(self) -> u32 {
        u32::from_be_bytes(self.net)
    }
    /// The `i`-th host of the prefix, skipping addresses ending in .0 and .255 (which real
    /// clients behind consumer routers rarely have). `i` wraps around.
    pub fn host(self, i: u32) -> Ipv4Addr {
        let blocks = (self.size() / 256).max(1);
        let per_block = if self.size() >= 256 { 254 } else { self.size() };
        let i = i % (blocks * per_block);
        let (block, host) = (i / per_block, i % per_block);
        let addr = if self.size() >= 256 {
            self.base() + block * 256 + host + 1
        } else {
            self.base() + host
        };
        Ipv4Addr::from(addr)
    }
    /// Number of distinct hosts [`Prefix::host`] returns.
    pub fn hosts(self) -> u32 {
        if self.size() >= 256 {
            self.size() / 256 * 254
        } else {
            self.size()
        }
    }
    pub fn contains(self, ip: Ipv4Addr) -> bool {
        let mask = if self.len == 0 { 0 } else { u32::MAX << (32 - u32::from(self.len)) };
        u32::from(ip) & mask == self.base() & mask
    }
}

impl std::fmt::Display for Prefix {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let [a, b, c, d] = self.net;
        write!(f, "{a}.{b}.{c}.{d}/{}", self.len)
    }
}

const fn p(a: u8, b: u8, len: u8) -> Prefix {
    Prefix::new(a, b, 0, 0, len)
}

/// Client prefixes per country (ISO 3166-1 alpha-2), mostly consumer ISPs and a few hosting
/// ranges.
pub const COUNTRY_PREFIXES: &[(&str, &[Prefix])] = &[
    (
        "US",
        &[
            p(73, 0, 16),   // Comcast
            p(73, 160, 16), // Comcast
            p(98, 200, 16), // Comcast
            p(24, 10, 16),  // Charter
            p(71, 170, 16), // Verizon
            p(52, 0, 16),   // Amazon (us-east-1)
            p(3, 80, 16),   // Amazon (us-east-1)
        ],
    ),
    ("GB", &[p(86, 128, 16), p(86, 150, 16), p(2, 96, 16), p(31, 48, 16), p(90, 200, 16)]),
    ("DE", &[p(91, 0, 16), p(91, 40, 16), p(84, 128, 16), p(79, 192, 16), p(93, 192, 16)]),
    ("FR", &[p(90, 0, 16), p(88, 160, 16), p(86, 200, 16), p(92, 140, 16), p(2, 0, 16)]),
    ("SE", &[p(78, 64, 16), p(78, 70, 16), p(81, 224, 16), p(90, 224, 16)]),
    ("BR", &[p(177, 0, 16), p(189, 0, 16), p(201, 0, 16), p(179, 100, 16), p(189, 40, 16)]),
    ("IN", &[p(117, 192, 16), p(117, 200, 16), p(49, 36, 16), p(122, 160, 16)]),
    ("JP", &[p(126, 0, 16), p(126, 100, 16), p(60, 100, 16), p(114, 160, 16)]),
    ("CN", &[p(1, 80, 16), p(114, 80, 16), p(111, 0, 16), p(180, 160, 16), p(222, 128, 16)]),
    ("RU", &[p(95, 24, 16), p(95, 28, 16), p(178, 176, 16), p(91, 76, 16), p(5, 18, 16)]),
    ("NG", &[p(105, 112, 16), p(105, 120, 16), p(41, 184, 16), p(197, 210, 16)]),
    ("AU", &[p(1, 120, 16), p(1, 128, 16), p(101, 160, 16), p(120, 144, 16), p(58, 160, 16)]),
    ("NL", &[p(145, 53, 16), p(77, 160, 16), p(84, 80, 16), p(82, 168, 16)]),
    ("CA", &[p(24, 200, 16), p(70, 24, 16), p(99, 224, 16), p(174, 88, 16)]),
    ("ES", &[p(88, 0, 16), p(79, 144, 16), p(83, 32, 16), p(81, 32, 16)]),
    ("IT", &[p(79, 0, 16), p(93, 32, 16), p(87, 0, 16), p(151, 40, 16)]),
    ("KR", &[p(211, 200, 16), p(121, 128, 16), p(175, 192, 16), p(1, 224, 16)]),
    ("VN", &[p(113, 160, 16), p(14, 160, 16), p(27, 64, 16)]),
    ("UA", &[p(93, 72, 16), p(46, 200, 16), p(178, 150, 16)]),
    ("ID", &[p(36, 64, 16), p(110, 136, 16)]),
    ("MX", &[p(187, 160, 16), p(189, 128, 16)]),
    ("PL", &[p(83, 0, 16), p(89, 64, 16)]),
];

/// Googlebot's crawl addresses (the US part of 66.249.64.0/19).
pub const GOOGLEBOT: Prefix = Prefix::new(66, 249, 64, 0, 20);
/// bingbot's crawl addresses.
pub const BINGBOT: Prefix = Prefix::new(157, 55, 39, 0, 24);
/// Both crawler prefixes answer `US`.
pub const CRAWLER_COUNTRY: &str = "US";

/// Private addresses of the cluster's nodes (kube-probe health checks).
pub const CLUSTER: Prefix = Prefix::new(10, 0, 0, 0, 8);

/// Where benign users live, with weights (percent).
pub const USER_COUNTRIES: &[(&str, u32)] = &[
    ("US", 30),
    ("GB", 12),
    ("DE", 10),
    ("FR", 8),
    ("IN", 8),
    ("BR", 6),
    ("JP", 5),
    ("CA", 5),
    ("AU", 4),
    ("SE", 3),
    ("ES", 3),
    ("IT", 3),
    ("NL", 3),
];

/// Where travellers from each country of [`USER_COUNTRIES`] fly, and how far apart the
/// farthest two places are that GeoLite2 gives for the two countries' prefixes (km, rounded
/// up): a benign journey must take at least the time a plane needs for that.
/// `tests/geoip.rs` checks the distances against the database.
pub const TRAVEL: &[(&str, &str, u32)] = &[
    ("US", "GB", 8_700),
    ("GB", "US", 8_700),
    ("DE", "US", 9_600),
    ("FR", "JP", 10_400),
    ("IN", "GB", 8_700),
    ("BR", "DE", 11_100),
    ("JP", "US", 13_000),
    ("CA", "GB", 6_200),
    ("AU", "US", 17_200),
    ("SE", "US", 8_900),
    ("ES", "JP", 12_600),
    ("IT", "JP", 10_400),
    ("NL", "US", 9_000),
];

/// A traveller's destination from a home country, and the farthest distance between them
/// (see [`TRAVEL`]); the United States for a country not in the table.
pub fn destination(home: &str) -> (&'static str, u32) {
    TRAVEL.iter().find(|(h, _, _)| *h == home).map_or(("US", 20_100), |(_, d, km)| (*d, *km))
}

/// The prefixes of a country; panics on a country not in the table (a bug in the generator).
pub fn prefixes(cc: &str) -> &'static [Prefix] {
    COUNTRY_PREFIXES
        .iter()
        .find(|(c, _)| *c == cc)
        .map(|(_, p)| *p)
        .unwrap_or_else(|| panic!("no prefixes for country {cc}"))
}

/// The country of an address in the table, if any.
pub fn country_of(ip: Ipv4Addr) -> Option<&'static str> {
    if GOOGLEBOT.contains(ip) || BINGBOT.contains(ip) {
        return Some(CRAWLER_COUNTRY);
    }
    COUNTRY_PREFIXES.iter().find(|(_, ps)| ps.iter().any(|p| p.contains(ip))).map(|(c, _)| *c)
}

/// A random client address in a country.
pub fn random_addr(rng: &mut Rng, cc: &str) -> Ipv4Addr {
    let p = *rng.pick(prefixes(cc));
    p.host(rng.below(u64::from(p.hosts())) as u32)
}

/// A random /24 network (its prefix) inside a country.
pub fn random_net24(rng: &mut Rng, cc: &str) -> Prefix {
    let p = *rng.pick(prefixes(cc));
    let blocks = (p.size() / 256).max(1);
    let block = rng.below(u64::from(blocks)) as u32;
    let [a, b, c, d] = (p.base() + block * 256).to_be_bytes();
    Prefix::new(a, b, c, d, 24)
}

/// A user's home country, drawn with [`USER_COUNTRIES`]' weights.
pub fn random_user_country(rng: &mut Rng) -> &'static str {
    let total: u32 = USER_COUNTRIES.iter().map(|(_, w)| w).sum();
    let mut x = rng.below(u64::from(total)) as u32;
    for (cc, w) in USER_COUNTRIES {
        if x < *w {
            return cc;
        }
        x -= w;
    }
    USER_COUNTRIES[0].0
}

/// All country prefixes as one pool of addresses numbered from 0 (for `distinct_ips`).
pub struct AddressPool {
    prefixes: Vec<(&'static str, Prefix)>,
}

impl AddressPool {
    pub fn new() -> AddressPool {
        let prefixes = COUNTRY_PREFIXES
            .iter()
            .flat_map(|(cc, ps)| ps.iter().map(move |p| (*cc, *p)))
            .collect();
        AddressPool { prefixes }
    }

    /// How many distinct addresses [`AddressPool::addr`] can give.
    pub fn capacity(&self) -> u64 {
        self.prefixes.iter().map(|(_, p)| u64::from(p.hosts())).sum()
    }

    /// The `k`-th address of the pool (with its country): distinct for distinct `k` below
    /// [`AddressPool::capacity`], spread over all prefixes and their /24s.
    pub fn addr(&self, k: u64) -> (Ipv4Addr, &'static str) {
        let n = self.prefixes.len() as u64;
        let (cc, p) = self.prefixes[(k % n) as usize];
        let j = (k / n) as u32;
        // Consecutive indexes land in different /24s: the /24 index is multiplied by an odd
        // number modulo the (power of two) number of /24s, a bijection, so distinct `k` still
        // give distinct addresses.
        let blocks = (p.size() / 256).max(1);
        let per = p.hosts() / blocks;
        let block = (j / per).wrapping_mul(40_503) % blocks;
        (p.host(block * per + j % per), cc)
    }
}

impl Default for AddressPool {
    fn default() -> Self {
        Self::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn hosts_stay_inside_their_prefix_and_skip_0_and_255() {
        for (_, ps) in COUNTRY_PREFIXES {
            for p in *ps {
                for i in [0, 1, 253, 254, 255, p.hosts() - 1, p.hosts(), 12_345] {
                    let ip = p.host(i);
                    assert!(p.contains(ip), "{ip} not in {p}");
                    let last = ip.octets()[3];
                    assert!(last != 0 && last != 255, "{ip}");
                }
            }
        }
        assert!(GOOGLEBOT.contains(GOOGLEBOT.host(4000)));
    }

    #[test]
    fn pool_addresses_are_distinct_and_in_their_country() {
        let pool = AddressPool::new();
        assert!(pool.capacity() > 5_000_000);
        let mut seen = HashSet::new();
        for k in 0..200_000u64 {
            let (ip, cc) = pool.addr(k);
            assert!(seen.insert(ip), "duplicate {ip} at {k}");
            assert_eq!(country_of(ip), Some(cc));
        }
    }

    #[test]
    fn every_user_country_has_a_destination_abroad() {
        for (cc, _) in USER_COUNTRIES {
            let row = TRAVEL.iter().find(|(h, _, _)| h == cc);
            let (_, dest, km) = row.unwrap_or_else(|| panic!("{cc} not in TRAVEL"));
            assert_ne!(dest, cc);
            assert!(!prefixes(dest).is_empty() && *km > 0);
        }
    }

    #[test]
    fn random_addresses_match_their_country() {
        let mut rng = Rng::new(3);
        for (cc, _) in COUNTRY_PREFIXES {
            for _ in 0..50 {
                assert_eq!(country_of(random_addr(&mut rng, cc)), Some(*cc));
            }
            let net = random_net24(&mut rng, cc);
            assert_eq!(country_of(net.host(7)), Some(*cc));
        }
    }
}
