//! Compiled tests of one field: what `field op value` became once its value was read and
//! checked, so that matching an event reads the field and compares, with no text to parse.

use super::wildcard::Pattern;
use apiwatch_core::field::Value;
use ipnet::IpNet;
use std::fmt::Write as _;
use std::net::IpAddr;

/// A numeric comparison, the event's value on the left.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Order {
    Eq,
    Gt,
    Ge,
    Lt,
    Le,
}

impl Order {
    #[inline]
    pub(crate) fn holds(self, left: i64, right: i64) -> bool {
        match self {
            Order::Eq => left == right,
            Order::Gt => left > right,
            Order::Ge => left >= right,
            Order::Lt => left < right,
            Order::Le => left <= right,
        }
    }
}

/// The test a comparison runs on the field's value. Every test is false on an absent value.
#[derive(Clone, Debug)]
pub(crate) enum Matcher {
    /// `EXISTS`.
    Present,
    /// `source.ip=`: the address lies in the network (a single address is a /32 or /128).
    IpIn(IpNet),
    /// `source.network=`: the event's network and this one overlap (one holds the other).
    NetOverlaps(IpNet),
    /// A number compared with a number (integer fields, and labels or headers holding one).
    Number(Order, i64),
    /// The value's text (each element of a list) matches the pattern.
    Text(Pattern),
    /// `~=`: the regex finds a match somewhere in the text (each element of a list).
    Regex(Box<regex::Regex>),
}

/// IPv4-mapped IPv6 addresses as IPv4, so that `::ffff:192.0.2.1` and `192.0.2.1` are one
/// client whichever way a log wrote it.
pub(crate) fn canonical_net(net: IpNet) -> IpNet {
    match net {
        IpNet::V6(v6) if v6.prefix_len() >= 96 => match v6.addr().to_canonical() {
            IpAddr::V4(v4) => IpNet::new(IpAddr::V4(v4), v6.prefix_len() - 96).unwrap_or(net),
            IpAddr::V6(_) => net,
        },
        _ => net,
    }
}

impl Matcher {
    #[inline]
    pub(crate) fn matches(&self, value: Value<'_>) -> bool {
        match (self, value) {
            (_, Value::Absent) => false,
            (Matcher::Present, _) => true,
            (Matcher::IpIn(net), v) => address_of(v).is_some_and(|ip| net.contains(&ip)),
            (Matcher::NetOverlaps(net), Value::Net(addr, len)) => IpNet::new(addr, len)
                .map(canonical_net)
                .is_ok_and(|own| own.contains(&net.network()) || net.contains(&own.network())),
            (Matcher::NetOverlaps(net), v) => address_of(v).is_some_and(|ip| net.contains(&ip)),
            (Matcher::Number(order, n), v) => v.as_i64().is_some_and(|x| order.holds(x, *n)),
            (Matcher::Text(p), v) => any_text(v, |s| p.matches(s)),
            (Matcher::Regex(r), v) => any_text(v, |s| r.is_match(s)),
        }
    }
}

fn address_of(v: Value<'_>) -> Option<IpAddr> {
    match v {
        Value::Ip(ip) | Value::Net(ip, _) => Some(ip.to_canonical()),
        Value::Str(s) => s.parse::<IpAddr>().ok().map(|ip| ip.to_canonical()),
        _ => None,
    }
}

/// Whether `test` holds for the value's text, or for any element of a list. Numbers and
/// addresses are written into a buffer on the stack: an event must cost no allocation.
fn any_text(v: Value<'_>, test: impl Fn(&str) -> bool) -> bool {
    match v {
        Value::Absent => false,
        Value::Str(s) => test(s),
        Value::List(items) => items.iter().any(|s| test(s)),
        Value::Int(i) => with_formatted(format_args!("{i}"), test),
        Value::Ip(ip) => with_formatted(format_args!("{ip}"), test),
        Value::Net(ip, len) => with_formatted(format_args!("{ip}/{len}"), test),
    }
}

fn with_formatted(args: std::fmt::Arguments<'_>, test: impl Fn(&str) -> bool) -> bool {
    let mut buf = StackText { bytes: [0; 64], len: 0 };
    if buf.write_fmt(args).is_err() {
        return false;
    }
    test(buf.as_str())
}

/// Room for the longest number or network (`ffff:…:ffff/128` is 43 bytes).
struct StackText {
    bytes: [u8; 64],
    len: usize,
}

impl StackText {
    fn as_str(&self) -> &str {
        std::str::from_utf8(&self.bytes[..self.len]).unwrap_or("")
    }
}

impl std::fmt::Write for StackText {
    fn write_str(&mut self, s: &str) -> std::fmt::Result {
        let end = self.len + s.len();
        let dest = self.bytes.get_mut(self.len..end).ok_or(std::fmt::Error)?;
        dest.copy_from_slice(s.as_bytes());
        self.len = end;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_and_addresses_are_matched_as_text_without_allocating() {
        let p = Matcher::Text(Pattern::new("5??"));
        assert!(p.matches(Value::Int(503)));
        assert!(!p.matches(Value::Int(42)));
        let widest: IpAddr = "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff".parse().unwrap();
        let r = Matcher::Text(Pattern::new("ffff:*/128"));
        assert!(r.matches(Value::Net(widest, 128)));
    }

    #[test]
    fn mapped_addresses_are_their_ipv4_selves() {
        let net = canonical_net("::ffff:10.0.0.0/104".parse().unwrap());
        assert_eq!(net, "10.0.0.0/8".parse::<IpNet>().unwrap());
        let m = Matcher::IpIn(net);
        assert!(m.matches(Value::Ip("::ffff:10.1.2.3".parse().unwrap())));
        assert!(m.matches(Value::Ip("10.1.2.3".parse().unwrap())));
    }
}
