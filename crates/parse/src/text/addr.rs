//! Addresses as logs write them: bare IPv4/IPv6, `[v6]`, `ip:port` (ALB writes IPv6 with a
//! port and no brackets), and `host:port` authorities.

use memchr::memrchr;
use std::net::{IpAddr, Ipv4Addr};

/// Longest text of an IP address (`ffff:ffff:…:255.255.255.255` is 45) plus brackets.
const IP_TEXT_BYTES_MAX: usize = 47;

/// An IP address, bare or in brackets.
pub(crate) fn ip(raw: &[u8]) -> Option<IpAddr> {
    // Every access-log line has a client address: a direct dotted-quad reader costs a
    // fraction of the standard parser's general one on this hot path.
    if let Some(v4) = ipv4(raw) {
        return Some(IpAddr::V4(v4));
    }
    let raw = raw.strip_prefix(b"[").and_then(|r| r.strip_suffix(b"]")).unwrap_or(raw);
    if raw.is_empty() || raw.len() > IP_TEXT_BYTES_MAX {
        return None;
    }
    std::str::from_utf8(raw).ok()?.parse().ok()
}

/// A dotted-quad IPv4 address, with the standard parser's rules: four decimal octets up to
/// 255, no leading zeros (`010.1.1.1` is refused, as octal readings make it ambiguous).
fn ipv4(raw: &[u8]) -> Option<Ipv4Addr> {
    ipv4_prefix(raw).and_then(|(ip, len)| (len == raw.len()).then_some(ip))
}

/// Bytes [`ipv4_prefix`] looks at: the longest dotted quad (15) and the byte after it.
const IPV4_WINDOW_BYTES: usize = 16;

/// The dotted-quad IPv4 address [`ipv4`] reads at the start of `raw`, and its length; what
/// follows is for the caller to check. An octet of four digits is refused, not cut short.
pub(crate) fn ipv4_prefix(raw: &[u8]) -> Option<(Ipv4Addr, usize)> {
    // Read from a fixed-size window: with every index masked into it, no read below needs a
    // bounds check, and bytes past the end of a short `raw` read as zero, which is neither a
    // digit nor a dot. This runs on the client of every access-log line.
    let mut padded = [0u8; IPV4_WINDOW_BYTES];
    let w: &[u8; IPV4_WINDOW_BYTES] = match raw.first_chunk() {
        Some(w) => w,
        None => {
            padded[..raw.len()].copy_from_slice(raw);
            &padded
        }
    };
    // Octet `n` starts at most at `4 * n`, so `i + 3 <= 15` below and the mask never wraps.
    let at = |i: usize| w[i % IPV4_WINDOW_BYTES];
    let digit = |i: usize| at(i).wrapping_sub(b'0');
    let mut octets = [0u8; 4];
    let mut i = 0;
    for (n, octet) in octets.iter_mut().enumerate() {
        if n > 0 {
            if at(i) != b'.' {
                return None;
            }
            i += 1;
        }
        let first = digit(i);
        if first > 9 {
            return None;
        }
        let second = digit(i + 1);
        if second > 9 {
            *octet = first;
            i += 1;
            continue;
        }
        if first == 0 {
            return None;
        }
        let third = digit(i + 2);
        if third > 9 {
            *octet = first * 10 + second;
            i += 2;
            continue;
        }
        if digit(i + 3) <= 9 {
            return None;
        }
        let value = u32::from(first) * 100 + u32::from(second) * 10 + u32::from(third);
        *octet = u8::try_from(value).ok()?;
        i += 3;
    }
    Some((Ipv4Addr::from(octets), i))
}

/// `ip:port` or `[ip]:port`; the port is split off at the last colon, so an IPv6 address
/// without brackets (`2001:db8::5:52000`) still reads when a port is known to follow.
pub(crate) fn ip_and_port(raw: &[u8]) -> Option<(IpAddr, u16)> {
    let colon = memrchr(b':', raw)?;
    let port = crate::access::text::number::count(&raw[colon + 1..])?;
    Some((ip(&raw[..colon])?, u16::try_from(port).ok()?))
}

/// The host of an authority (`example.com:443` → `example.com`, `[::1]:80` → `[::1]`, as
/// ECS keeps the brackets of an IPv6 literal in `url.domain`).
pub(crate) fn host_of_authority(raw: &[u8]) -> &[u8] {
    if raw.first() == Some(&b'[') {
        return match memchr::memchr(b']', raw) {
            Some(end) => &raw[..=end],
            None => raw,
        };
    }
    match memchr::memchr(b':', raw) {
        // More than one colon and no brackets: a bare IPv6 address, no port to strip.
        Some(colon) if memrchr(b':', raw) == Some(colon) => &raw[..colon],
        _ => raw,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// The reader [`ipv4_prefix`] must agree with: octet by octet, every byte read through a
    /// bounds-checked `get`.
    fn ipv4_prefix_by_definition(raw: &[u8]) -> Option<(Ipv4Addr, usize)> {
        let digit = |i: usize| raw.get(i).map(|d| d.wrapping_sub(b'0')).filter(|&d| d < 10);
        let mut octets = [0u8; 4];
        let mut i = 0;
        for (n, octet) in octets.iter_mut().enumerate() {
            if n > 0 {
                if raw.get(i) != Some(&b'.') {
                    return None;
                }
                i += 1;
            }
            let mut value = u32::from(digit(i)?);
            let first = value;
            i += 1;
            for _ in 0..2 {
                let Some(next) = digit(i) else { break };
                if first == 0 {
                    return None;
                }
                value = value * 10 + u32::from(next);
                i += 1;
            }
            if digit(i).is_some() {
                return None;
            }
            *octet = u8::try_from(value).ok()?;
        }
        Some((Ipv4Addr::from(octets), i))
    }

    proptest! {
        /// The windowed reader agrees with the definition on short and long inputs alike,
        /// whatever follows the address (a window of 16 bytes holds the longest one and the
        /// byte after it).
        #[test]
        fn ipv4_prefix_matches_the_definition(
            s in "[0-9.]{0,20}",
            rest in "[ x0-9.\\[-]{0,20}",
        ) {
            let line = format!("{s}{rest}");
            prop_assert_eq!(ipv4_prefix(line.as_bytes()), ipv4_prefix_by_definition(line.as_bytes()));
            prop_assert_eq!(ipv4_prefix(s.as_bytes()), ipv4_prefix_by_definition(s.as_bytes()));
        }

        /// The fast IPv4 reader agrees with the standard parser.
        #[test]
        fn ipv4_matches_std(s in "[0-9.]{0,17}") {
            prop_assert_eq!(ip(s.as_bytes()), s.parse::<Ipv4Addr>().ok().map(IpAddr::V4));
        }

        /// What a prefix read returns is what reading that prefix alone returns, and an
        /// address followed by a space is read whole.
        #[test]
        fn ipv4_prefix_reads_what_ipv4_reads(s in "[0-9.]{0,17}", rest in "[ x0-9.-]{0,3}") {
            let line = format!("{s}{rest}");
            if let Some((ip, len)) = ipv4_prefix(line.as_bytes()) {
                prop_assert_eq!(ipv4(&line.as_bytes()[..len]), Some(ip));
            }
            if let (Some(ip), Some(b' ')) = (ipv4(s.as_bytes()), rest.bytes().next()) {
                prop_assert_eq!(ipv4_prefix(line.as_bytes()), Some((ip, s.len())));
            }
        }
    }

    #[test]
    fn addresses() {
        assert_eq!(ip(b"192.0.2.1"), Some("192.0.2.1".parse().unwrap()));
        assert_eq!(ip(b"[2001:db8::1]"), Some("2001:db8::1".parse().unwrap()));
        assert_eq!(ip(b"::1"), Some("::1".parse().unwrap()));
        assert_eq!(ip(b"localhost"), None);
        assert_eq!(ip(b"255.255.255.255"), Some("255.255.255.255".parse().unwrap()));
        assert_eq!(ip(b"0.0.0.0"), Some("0.0.0.0".parse().unwrap()));
        for bad in [
            "256.1.1.1",
            "1.2.3",
            "1.2.3.4.5",
            "01.2.3.4",
            "1..2.3",
            "1.2.3.4 ",
            "1.2.3.",
            "1111.1.1.1",
            "",
        ] {
            assert_eq!(ip(bad.as_bytes()), None, "{bad}");
        }
        assert_eq!(ip(b"[]"), None);
        // At the edge of the window: the longest address, with and without a byte after it.
        assert_eq!(
            ipv4_prefix(b"255.255.255.255 -"),
            Some(("255.255.255.255".parse().unwrap(), 15))
        );
        assert_eq!(ipv4_prefix(b"255.255.255.2550"), None);
        assert_eq!(ipv4_prefix(b"1.2.3.4"), Some(("1.2.3.4".parse().unwrap(), 7)));
        assert_eq!(ip(b"["), None);
        assert_eq!(
            ip_and_port(b"192.168.131.39:2817"),
            Some(("192.168.131.39".parse().unwrap(), 2817))
        );
        assert_eq!(
            ip_and_port(b"2001:db8::5:52000"),
            Some(("2001:db8::5".parse().unwrap(), 52000))
        );
        assert_eq!(ip_and_port(b"[::1]:80"), Some(("::1".parse().unwrap(), 80)));
        assert_eq!(ip_and_port(b"10.0.0.1:99999"), None);
        assert_eq!(ip_and_port(b"-"), None);
        assert_eq!(host_of_authority(b"example.com:443"), b"example.com");
        assert_eq!(host_of_authority(b"example.com"), b"example.com");
        assert_eq!(host_of_authority(b"[::1]:80"), b"[::1]");
        assert_eq!(host_of_authority(b"2001:db8::1"), b"2001:db8::1");
        assert_eq!(host_of_authority(b"[::1"), b"[::1");
    }
}
