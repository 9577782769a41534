//! Server-side request forgery: URLs in a value that point at the server's own network —
//! loopback, private and link-local addresses in any spelling (`0x7f000001`, `2130706433`,
//! `0177.0.0.1`, `[::ffff:a9fe:a9fe]`, circled digits), cloud metadata names, container-
//! internal names — or that use schemes a fetcher should never follow (`file:`, `gopher:`,
//! `dict:`, `jar:`). Hosts are parsed and classified rather than matched against a list of
//! spellings, so new spellings of the same address are caught too.

use std::net::{Ipv4Addr, Ipv6Addr};

use super::prefilter::{byte, Trigger};

/// Trigger words that make a value a candidate when its bytes alone do not.
pub(crate) const TRIGGERS: &[Trigger] = &[Trigger::InternalHost];

/// A scheme-less host counts only before a `/` (a `:` makes the value a candidate anyway).
pub(crate) const TRIGGER_BYTES: u32 = byte::SLASH;

/// Longest scheme name considered (`netdoc`, `https`); longer runs of letters are words.
const SCHEME_BYTES_MAX: usize = 10;

/// Longest host considered; a longer authority is not a host name.
const HOST_BYTES_MAX: usize = 256;

/// Schemes that reach local files or speak raw protocols to internal services.
const RAW_SCHEMES: &[&str] =
    &["file", "gopher", "dict", "netdoc", "tftp", "ldap", "ldaps", "ldapi"];

/// Suffixes of names that only resolve inside a machine, a container network or a cluster.
const INTERNAL_SUFFIXES: &[&str] =
    &[".localhost", ".internal", ".localdomain", ".cluster.local", ".localtest.me", ".lvh.me"];

/// Wildcard DNS services that resolve `127.0.0.1.nip.io` to the address in the name.
const ADDRESS_DNS_SUFFIXES: &[&str] = &[".nip.io", ".sslip.io", ".xip.io"];

/// The SSRF detector (internal host names loaded once).
pub(crate) struct Ssrf {
    internal_hosts: Vec<String>,
}

impl Ssrf {
    pub(crate) fn new(internal_hosts: Vec<String>) -> Ssrf {
        Ssrf { internal_hosts }
    }

    /// A URL needs a `:`; a scheme-less internal host needs a trigger word.
    pub(crate) fn candidate_by_bytes(kinds: u32) -> bool {
        kinds & byte::COLON != 0
    }

    /// Whether the decoded value holds a URL (or a scheme-less host at its start) that
    /// points inside the server's network or uses a raw-protocol scheme.
    pub(crate) fn detect(&self, v: &[u8]) -> bool {
        // The metadata address is specific enough to count anywhere (redirector URLs embed it).
        if memchr::memmem::find(v, b"169.254.169.254").is_some() {
            return true;
        }
        for colon in memchr::memchr_iter(b':', v) {
            let Some(scheme) = scheme_before(v, colon) else { continue };
            let after = &v[colon + 1..];
            if RAW_SCHEMES.iter().any(|s| scheme.eq_ignore_ascii_case(s.as_bytes())) {
                // `file:///etc/passwd`, `gopher://10.0.0.1:70/`; but not a template left
                // unexpanded in a page (`file://$file/`): the host must be a host.
                let authority = after.strip_prefix(b"//").unwrap_or_default();
                if after.first() == Some(&b'/') && is_host_syntax(&host_of(authority)) {
                    return true;
                }
                continue;
            }
            // `jar:http://…!/`: Java's archive scheme fetches the URL inside it.
            if scheme.eq_ignore_ascii_case(b"jar") {
                let inner_colon = memchr::memchr(b':', after);
                if inner_colon.is_some_and(|c| scheme_before(after, c).is_some()) {
                    return true;
                }
            }
            let slashes = after.iter().take(3).take_while(|&&b| b == b'/' || b == b'\\').count();
            // `http:127.0.0.1` (no slashes) is accepted by lenient URL parsers for web schemes.
            let web = [&b"http"[..], b"https", b"ftp", b"ws", b"wss"]
                .iter()
                .any(|s| scheme.eq_ignore_ascii_case(s));
            let url_like = slashes >= 2 || (web && slashes <= 1);
            if url_like && self.is_internal(&host_of(&after[slashes..])) {
                return true;
            }
        }
        // Scheme-less: `localhost/admin`, `//metadata/computeMetadata`, `127.0.0.1:6379/`.
        let trimmed = v.trim_ascii_start();
        let rest = trimmed.strip_prefix(b"//").unwrap_or(trimmed);
        let host_end = rest.iter().position(|&b| b == b'/' || b == b':');
        if let Some(end) = host_end {
            let port_or_path =
                rest[end] == b'/' || rest.get(end + 1).is_some_and(u8::is_ascii_digit);
            // Only dotted names and addresses, bracketed IPv6, and the internal one-label names
            // (`localhost`, `metadata`): `10:30` is a time and `Mozilla/5.0` a product.
            let label = &rest[..end];
            let plausible = label.contains(&b'.')
                || label.first() == Some(&b'[')
                || self.internal_hosts.iter().any(|h| h.as_bytes().eq_ignore_ascii_case(label));
            if port_or_path && plausible {
                let host = host_of(rest);
                let dotted_quad = host.parse::<Ipv4Addr>().is_ok();
                let name = host.bytes().any(|b| b.is_ascii_alphabetic());
                if (dotted_quad || name) && self.is_internal(&host) {
                    return true;
                }
            }
        }
        false
    }

    fn is_internal(&self, host: &str) -> bool {
        let host = host.trim_end_matches('.');
        if host.is_empty() || host.len() > HOST_BYTES_MAX {
            return false;
        }
        if let Some(inner) = host.strip_prefix('[').and_then(|h| h.strip_suffix(']')) {
            let inner = inner.split('%').next().unwrap_or(inner);
            return inner.parse::<Ipv6Addr>().is_ok_and(is_internal_v6);
        }
        if let Some(ip) = parse_ipv4_lenient(host) {
            return is_internal_v4(ip);
        }
        if self.internal_hosts.iter().any(|h| h == host)
            || INTERNAL_SUFFIXES.iter().any(|s| host.ends_with(s))
        {
            return true;
        }
        ADDRESS_DNS_SUFFIXES.iter().any(|s| {
            host.strip_suffix(s).is_some_and(|name| {
                // `127.0.0.1.nip.io`, `app.10.0.0.1.nip.io`, `127-0-0-1.nip.io`.
                let dotted: Vec<&str> = name.rsplit('.').take(4).collect();
                let dotted: Vec<&str> = dotted.into_iter().rev().collect();
                let last = name.rsplit('.').next().unwrap_or(name).replace('-', ".");
                parse_ipv4_lenient(&dotted.join(".")).is_some_and(is_internal_v4)
                    || parse_ipv4_lenient(&last).is_some_and(is_internal_v4)
            })
        })
    }
}

/// Whether a host is empty (`file:///`) or made of host-name and address characters only.
fn is_host_syntax(host: &str) -> bool {
    host.bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'_' | b'[' | b']' | b':'))
}

/// The scheme ending right before `colon`: ASCII letters (then letters, digits, `+.-`),
/// starting at a non-word byte, two letters or more (so `c:` is a drive, not a scheme).
fn scheme_before(v: &[u8], colon: usize) -> Option<&[u8]> {
    let head = v.get(..colon)?;
    let start = head
        .iter()
        .rposition(|b| !(b.is_ascii_alphanumeric() || matches!(b, b'+' | b'.' | b'-')))
        .map_or(0, |i| i + 1);
    let scheme = &head[start..];
    let ok = (2..=SCHEME_BYTES_MAX).contains(&scheme.len()) && scheme[0].is_ascii_alphabetic();
    ok.then_some(scheme)
}

/// The host of an authority (`user@host:port/path`), lower-case, with look-alike Unicode
/// (circled and fullwidth digits and letters, ideographic full stops) made ASCII.
fn host_of(authority: &[u8]) -> String {
    let end = authority
        .iter()
        .position(|&b| matches!(b, b'/' | b'?' | b'#' | b'\\' | b'!') || b <= b' ')
        .unwrap_or(authority.len());
    let authority = &authority[..end.min(HOST_BYTES_MAX * 4)];
    let authority = match authority.iter().rposition(|&b| b == b'@') {
        Some(at) => &authority[at + 1..],
        None => authority,
    };
    let mut host = String::with_capacity(authority.len());
    for c in String::from_utf8_lossy(authority).chars() {
        match c {
            '\u{2460}'..='\u{2473}' => host.push_str(&(c as u32 - 0x2460 + 1).to_string()),
            '\u{24EA}' => host.push('0'),
            '\u{24D0}'..='\u{24E9}' => host.push(char::from(b'a' + (c as u32 - 0x24D0) as u8)),
            '\u{24B6}'..='\u{24CF}' => host.push(char::from(b'a' + (c as u32 - 0x24B6) as u8)),
            '\u{3002}' | '\u{FF61}' | '\u{FF0E}' => host.push('.'),
            '\u{FF01}'..='\u{FF5E}' => {
                host.push(char::from_u32(c as u32 - 0xFEE0).unwrap_or(c).to_ascii_lowercase())
            }
            c => host.push(c.to_ascii_lowercase()),
        }
    }
    // Drop the port: after `]` for IPv6 literals, after the last `:` otherwise.
    if host.starts_with('[') {
        if let Some(close) = host.find(']') {
            host.truncate(close + 1);
        }
    } else if let Some(colon) = host.rfind(':') {
        host.truncate(colon);
    }
    host
}

/// An IPv4 address the way `inet_aton` reads one: one to four parts, each decimal, octal
/// (`0177`) or hex (`0x7f`), the last part filling the remaining bytes (`127.1`,
/// `2130706433`). Parts that overflow wrap, as some URL parsers let them.
fn parse_ipv4_lenient(s: &str) -> Option<Ipv4Addr> {
    let mut numbers = [0u64; 4];
    let mut count = 0;
    for part in s.split('.') {
        *numbers.get_mut(count)? = parse_ipv4_part(part)?;
        count += 1;
    }
    let (last, head) = numbers[..count].split_last()?;
    let mut value: u32 = 0;
    for (i, n) in head.iter().enumerate() {
        value |= ((*n & 0xFF) as u32) << (24 - 8 * i);
    }
    let last_bits = 32 - 8 * head.len() as u32;
    let mask = if last_bits == 32 { u64::from(u32::MAX) } else { (1u64 << last_bits) - 1 };
    value |= (*last & mask) as u32;
    Some(Ipv4Addr::from(value))
}

fn parse_ipv4_part(p: &str) -> Option<u64> {
    /// More digits than any spelling of a 32-bit number needs.
    const DIGITS_MAX: usize = 40;
    if p.len() > DIGITS_MAX {
        return None;
    }
    let (digits, radix) = if let Some(hex) = p.strip_prefix("0x").or_else(|| p.strip_prefix("0X")) {
        (hex, 16)
    } else if p.len() > 1 && p.starts_with('0') {
        (&p[1..], 8)
    } else {
        (p, 10)
    };
    if digits.is_empty() {
        return (radix == 16).then_some(0);
    }
    let mut value: u64 = 0;
    for c in digits.chars() {
        let d = c.to_digit(radix)?;
        value =
            (value.wrapping_mul(u64::from(radix)).wrapping_add(u64::from(d))) & 0xFFFF_FFFF_FFFF;
    }
    Some(value)
}

fn is_internal_v4(ip: Ipv4Addr) -> bool {
    let [a, b, c, _] = ip.octets();
    a == 0
        || a == 10
        || a == 127
        || (a == 169 && b == 254)
        || (a == 172 && (16..32).contains(&b))
        || (a == 192 && b == 168)
        || (a == 100 && (64..128).contains(&b))
        // 192.0.0.0/24: IETF protocol assignments, where Oracle Cloud keeps its metadata.
        || (a == 192 && b == 0 && c == 0)
}

fn is_internal_v6(ip: Ipv6Addr) -> bool {
    let first = ip.segments()[0];
    ip.is_loopback()
        || ip.is_unspecified()
        || (first & 0xFE00) == 0xFC00
        || (first & 0xFFC0) == 0xFE80
        || ip.to_ipv4().is_some_and(is_internal_v4)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::injection::lexicon;

    fn ssrf(s: &str) -> bool {
        Ssrf::new(lexicon::internal_hosts()).detect(s.as_bytes())
    }

    #[test]
    fn internal_targets() {
        for v in [
            "http://169.254.169.254/latest/meta-data/",
            "http://metadata.google.internal/computeMetadata/v1/",
            "http://localhost:8080/admin",
            "https://127.0.0.1/",
            "http://127.1/",
            "http://0x7f000001:2375/",
            "http://2130706433/",
            "http://0177.0.0.1/",
            "http://[::1]/",
            "http://[0:0:0:0:0:ffff:127.0.0.1]",
            "http://[::ffff:a9fe:a9fe]/latest/",
            "http://0/",
            "http:127.0.0.1",
            "http://user@10.0.0.5/x",
            "http://127.0.0.1.nip.io",
            "http://host.docker.internal/",
            "http://\u{246F}\u{2468}\u{3002}\u{2461}\u{2464}\u{2463}\u{3002}\u{246F}\u{2468}\u{FF61}\u{2461}\u{2464}\u{2463}",
            "http://\u{24EA}\u{24E7}\u{24D0}\u{2468}\u{FF61}\u{246F}\u{2465}\u{2467}\u{2468}\u{2465}\u{2465}\u{2461}",
            "file:///etc/passwd",
            "gopher://example.com:70/_x",
            "dict://10.0.0.1:11211/stat",
            "jar:http://example.com!/",
            "localhost/admin",
            "url=http://192.168.1.1/router",
            "http://[fd00:ec2::254]/latest",
        ] {
            assert!(ssrf(v), "{v}");
        }
    }

    #[test]
    fn public_targets_and_text() {
        for v in [
            "https://example.com/callback",
            "https://api.twitter.com/1.1/statuses/user_timeline.json?screen_name=x",
            "url=http://www.example.com/tan?usp=4#8",
            "10:30",
            "c:/windows/temp",
            "file: report.pdf",
            "mailto:ops@example.com",
            "http://8.8.8.8/",
            "http://1.2.3.4.example.com/",
            "localhost",
            "/misc/nmh//\"file://$file/\"",
            "http://[2001:db8::1]/",
            "https://semicomplete.com/presentations/",
        ] {
            assert!(!ssrf(v), "{v}");
        }
    }
}
