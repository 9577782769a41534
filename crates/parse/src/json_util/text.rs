//! Text formats found inside JSON values: URLs and request targets, request lines, `Host`
//! values, Common Log Format times, and percent-encoding for rebuilt queries.

/// The parts of a URL or request target that events keep.
#[derive(Debug, Default, PartialEq)]
pub(crate) struct UrlParts<'a> {
    pub domain: Option<&'a str>,
    pub path: Option<&'a str>,
    pub query: Option<&'a str>,
}

/// Splits an absolute URL (`https://host:443/p?q`) or an origin-form target (`/p?q`). The
/// user-info part of an authority (`user:password@`) is dropped, never copied. `None` when
/// the text is neither.
pub(crate) fn split_url(url: &str) -> Option<UrlParts<'_>> {
    let url = url.trim();
    if url.starts_with('/') {
        let (path, query) = split_target(url);
        return Some(UrlParts { domain: None, path: Some(path), query });
    }
    let scheme_end = url.find("://")?;
    let scheme = &url[..scheme_end];
    if scheme.is_empty()
        || !scheme.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'-' | b'.'))
    {
        return None;
    }
    let rest = &url[scheme_end + 3..];
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let authority = &rest[..authority_end];
    let host_port = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    let domain = domain_of_host(host_port);
    let target = &rest[authority_end..];
    let target = target.split_once('#').map_or(target, |(t, _)| t);
    let (path, query) = split_target(target);
    Some(UrlParts {
        domain: (!domain.is_empty()).then_some(domain),
        path: (!path.is_empty()).then_some(path),
        query,
    })
}

/// Splits a request target into path and query (without `?`; an empty query is none).
pub(crate) fn split_target(target: &str) -> (&str, Option<&str>) {
    // A byte search: a `?` is never inside a multi-byte character.
    match memchr::memchr(b'?', target.as_bytes())
        .and_then(|at| target.get(..at).zip(target.get(at + 1..)))
    {
        Some((path, query)) => (path, (!query.is_empty()).then_some(query)),
        None => (target, None),
    }
}

/// The host of a `Host` header value: the port is dropped; an IPv6 literal keeps its
/// brackets, as ECS `url.domain` asks.
pub(crate) fn domain_of_host(host: &str) -> &str {
    let host = host.trim();
    if host.starts_with('[') {
        return host.find(']').map_or(host, |i| &host[..=i]);
    }
    // Byte searches: a `:` is never inside a multi-byte character.
    let b = host.as_bytes();
    match memchr::memchr(b':', b) {
        // More than one colon is a bare IPv6 address, not host:port.
        Some(at) if memchr::memchr(b':', &b[at + 1..]).is_none() => host.get(..at).unwrap_or(host),
        _ => host,
    }
}

/// A request line as access logs quote it: `GET /path?q HTTP/1.1` → (method, target,
/// version without `HTTP/`). HTTP/0.9 lines have no version.
pub(crate) fn split_request_line(line: &str) -> Option<(&str, &str, Option<&str>)> {
    let mut parts = line.split(' ').filter(|p| !p.is_empty());
    let method = parts.next()?;
    let target = parts.next()?;
    let version = parts.next().map(|v| v.strip_prefix("HTTP/").unwrap_or(v));
    if parts.next().is_some() {
        return None;
    }
    Some((method, target, version))
}

/// Appends `s` percent-encoded for a query component: unreserved characters stay, every other
/// byte (including `&`, `=`, `+`, `#` and `%`) is written as `%XX`.
pub(crate) fn percent_encode_component(s: &str, out: &mut String) {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    for &b in s.as_bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(b));
        } else {
            out.push('%');
            out.push(char::from(HEX[usize::from(b >> 4)]));
            out.push(char::from(HEX[usize::from(b & 0xf)]));
        }
    }
}

const MONTHS: [&[u8; 3]; 12] = [
    b"Jan", b"Feb", b"Mar", b"Apr", b"May", b"Jun", b"Jul", b"Aug", b"Sep", b"Oct", b"Nov", b"Dec",
];

fn digits(b: &[u8], at: usize, n: usize) -> Option<u32> {
    let s = b.get(at..at + n)?;
    s.iter().try_fold(0u32, |v, &c| c.is_ascii_digit().then(|| v * 10 + u32::from(c - b'0')))
}

/// Parses the Common Log Format time, `10/Oct/2000:13:55:36 -0700` (the offset may be
/// missing, meaning UTC), into milliseconds since the epoch.
pub(crate) fn parse_clf_ms(s: &str) -> Option<i64> {
    let b = s.trim().as_bytes();
    let day = digits(b, 0, 2).filter(|d| (1..=31).contains(d))?;
    if b.get(2) != Some(&b'/') || b.get(6) != Some(&b'/') || b.get(11) != Some(&b':') {
        return None;
    }
    let mon = b.get(3..6)?;
    let month = MONTHS.iter().position(|m| m.eq_ignore_ascii_case(mon))? as u32 + 1;
    let year = digits(b, 7, 4)?;
    let hour = digits(b, 12, 2).filter(|h| *h < 24)?;
    let min = digits(b, 15, 2).filter(|m| *m < 60)?;
    let sec = digits(b, 18, 2).filter(|s| *s <= 60)?;
    if b.get(14) != Some(&b':') || b.get(17) != Some(&b':') {
        return None;
    }
    let offset_min = match b.get(20..) {
        None | Some([]) => 0,
        Some([b' ', sign @ (b'+' | b'-'), rest @ ..]) if rest.len() == 4 => {
            let m = i64::from(digits(rest, 0, 2)? * 60 + digits(rest, 2, 2)?);
            if *sign == b'-' {
                -m
            } else {
                m
            }
        }
        _ => return None,
    };
    Some(
        apiwatch_core::time::civil_to_ms(i64::from(year), month, day, hour, min, sec.min(59), 0)
            - offset_min * apiwatch_core::time::MINUTE_MS,
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(4096))]
        /// The byte searches split targets and hosts as searches for the character do.
        #[test]
        fn targets_and_hosts_split_as_by_character_searches(s in "[a-z/?:\\[\\]é. ]{0,16}") {
            let by_char = match s.split_once('?') {
                Some((path, query)) => (path, (!query.is_empty()).then_some(query)),
                None => (s.as_str(), None),
            };
            prop_assert_eq!(split_target(&s), by_char);
            let host = s.trim();
            let by_char = if host.starts_with('[') {
                host.find(']').map_or(host, |i| &host[..=i])
            } else {
                match host.split_once(':') {
                    Some((h, port)) if !port.contains(':') => h,
                    _ => host,
                }
            };
            prop_assert_eq!(domain_of_host(&s), by_char);
        }
    }

    #[test]
    fn urls_split_and_drop_user_info() {
        assert_eq!(
            split_url("https://alice:hunter2@api.example.com:8443/v1/users?id=7#frag"),
            Some(UrlParts {
                domain: Some("api.example.com"),
                path: Some("/v1/users"),
                query: Some("id=7")
            })
        );
        assert_eq!(
            split_url("/a/b?"),
            Some(UrlParts { domain: None, path: Some("/a/b"), query: None })
        );
        assert_eq!(split_url("http://[2001:db8::1]:80").unwrap().domain, Some("[2001:db8::1]"));
        assert_eq!(split_url("not a url"), None);
        assert_eq!(split_url("://x"), None);
    }

    #[test]
    fn hosts_lose_their_port() {
        assert_eq!(domain_of_host("localhost:8000"), "localhost");
        assert_eq!(domain_of_host("[::1]:8000"), "[::1]");
        assert_eq!(domain_of_host("2001:db8::1"), "2001:db8::1");
        assert_eq!(domain_of_host("example.com"), "example.com");
    }

    #[test]
    fn request_lines() {
        assert_eq!(split_request_line("GET /a?b=1 HTTP/1.1"), Some(("GET", "/a?b=1", Some("1.1"))));
        assert_eq!(split_request_line("GET /"), Some(("GET", "/", None)));
        assert_eq!(split_request_line("GET"), None);
        assert_eq!(split_request_line("GET / HTTP/1.1 extra"), None);
    }

    #[test]
    fn clf_times() {
        let t = parse_clf_ms("10/Oct/2000:13:55:36 -0700").unwrap();
        assert_eq!(t, apiwatch_core::time::parse_rfc3339_ms("2000-10-10T20:55:36Z").unwrap());
        assert_eq!(
            parse_clf_ms("09/Apr/2015:12:34:56 +0000"),
            apiwatch_core::time::parse_rfc3339_ms("2015-04-09T12:34:56Z").ok()
        );
        assert!(parse_clf_ms("09/Foo/2015:12:34:56 +0000").is_none());
        assert!(parse_clf_ms("09/Apr/2015:12:34:56 +00").is_none());
        assert!(parse_clf_ms("").is_none());
    }

    #[test]
    fn percent_encoding_escapes_separators() {
        let mut out = String::new();
        percent_encode_component("a b&c=d/é", &mut out);
        assert_eq!(out, "a%20b%26c%3Dd%2F%C3%A9");
    }
}
