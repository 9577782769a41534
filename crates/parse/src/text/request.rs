//! The HTTP request line (`GET /a?b=c HTTP/1.1`) and request targets, split into ECS fields.
//! Percent-encoding is kept as logged: detection wants to see what the client sent.

use super::addr::host_of_authority;
use super::unescape::LineText;
use apiwatch_core::{EventData, Text};
use memchr::{memchr, memrchr};

/// Longest method accepted; real ones are short, and a long "method" is a junk line.
const METHOD_BYTES_MAX: usize = 32;

/// Longest URI scheme recognised in an absolute-form target (`https`, `wss`, …).
const SCHEME_BYTES_MAX: usize = 16;

/// What precedes a three-byte version (`1.1`, `2.0`) at the end of a request line.
const SHORT_VERSION_TAIL: &[u8] = b" HTTP/";

/// Bytes of an HTTP token (RFC 9110 `tchar`), as a table: the method is checked byte by byte
/// on every access-log line.
const TOKEN_BYTES: [bool; 256] = {
    let mut t = [false; 256];
    let mut b = 0;
    while b < 256 {
        let c = b as u8;
        t[b] = c.is_ascii_alphanumeric()
            || matches!(
                c,
                b'!' | b'#'
                    | b'$'
                    | b'%'
                    | b'&'
                    | b'\''
                    | b'*'
                    | b'+'
                    | b'-'
                    | b'.'
                    | b'^'
                    | b'_'
                    | b'`'
                    | b'|'
                    | b'~'
            );
        b += 1;
    }
    t
};

/// Sets method, path, query, version (and the domain of an absolute-form target) from a
/// request line. A line that is not `METHOD target [HTTP/x]` (`-`, empty, `hello`, TLS bytes
/// sent to a plain-text port) sets nothing: the event still says who got which status.
pub(crate) fn apply_request(ev: &mut EventData, t: &LineText<'_>, raw: &[u8]) {
    // The method is short: look for its end only where it can be. A byte that is not a token
    // byte before the space means this is no method.
    let head = &raw[..raw.len().min(METHOD_BYTES_MAX + 1)];
    let Some(sp) = head.iter().position(|&b| b == b' ' || !TOKEN_BYTES[usize::from(b)]) else {
        return;
    };
    let method = &raw[..sp];
    if raw[sp] != b' ' || method == b"-" {
        return;
    }
    ev.http_method = Some(method_text(t, method));
    let rest = &raw[sp + 1..];
    // The usual request ends in ` HTTP/x.y`: that space is the last one when the version
    // holds none, which spares the search from the end.
    let last_space = match rest.len().checked_sub(SHORT_VERSION_TAIL.len() + 3) {
        Some(at)
            if rest[at..].starts_with(SHORT_VERSION_TAIL) && !rest[at + 6..].contains(&b' ') =>
        {
            Some(at)
        }
        _ => memrchr(b' ', rest),
    };
    let (target, version) = match last_space {
        Some(sp2) if rest[sp2 + 1..].starts_with(b"HTTP/") => (&rest[..sp2], &rest[sp2 + 6..]),
        _ if rest.starts_with(b"HTTP/") => (&rest[..0], &rest[5..]),
        _ => (rest, &rest[..0]),
    };
    if !version.is_empty() {
        ev.http_version = Some(version_text(t, version));
    }
    if !target.is_empty() && target != b"-" {
        apply_target(ev, t, method == b"CONNECT", target);
    }
}

/// The method as text. The usual ones are copied from constants, whose length the compiler
/// knows: a few stores instead of a call to copy three or four bytes, on every line.
fn method_text(t: &LineText<'_>, method: &[u8]) -> Text {
    match method {
        b"GET" => Text::const_new("GET"),
        b"POST" => Text::const_new("POST"),
        b"PUT" => Text::const_new("PUT"),
        b"DELETE" => Text::const_new("DELETE"),
        b"HEAD" => Text::const_new("HEAD"),
        b"PATCH" => Text::const_new("PATCH"),
        b"OPTIONS" => Text::const_new("OPTIONS"),
        _ => t.text(method),
    }
}

/// The version as text, the usual ones copied from constants as in [`method_text`].
fn version_text(t: &LineText<'_>, version: &[u8]) -> Text {
    match version {
        b"1.1" => Text::const_new("1.1"),
        b"2.0" => Text::const_new("2.0"),
        b"1.0" => Text::const_new("1.0"),
        _ => t.text(version),
    }
}

/// Sets path and query (and the domain, for `scheme://authority/…` and CONNECT's
/// `host:port`) from a request target. A domain already set (from a virtual-host field) wins.
pub(crate) fn apply_target(ev: &mut EventData, t: &LineText<'_>, is_connect: bool, target: &[u8]) {
    if let Some(after_scheme) = strip_scheme(target) {
        let end = after_scheme
            .iter()
            .position(|&b| matches!(b, b'/' | b'?' | b'#'))
            .unwrap_or(after_scheme.len());
        let authority = &after_scheme[..end];
        // Credentials in `user:pass@host` stay out of url.domain.
        let host_port = match memrchr(b'@', authority) {
            Some(at) => &authority[at + 1..],
            None => authority,
        };
        set_domain(ev, t, host_port);
        apply_path_and_query(ev, t, &after_scheme[end..]);
    } else if is_connect {
        set_domain(ev, t, target);
    } else {
        apply_path_and_query(ev, t, target);
    }
}

fn set_domain(ev: &mut EventData, t: &LineText<'_>, authority: &[u8]) {
    let host = host_of_authority(authority);
    if ev.url_domain.is_none() && !host.is_empty() {
        ev.url_domain = Some(t.text(host));
    }
}

/// `/path?query` into `url.path` and `url.query` (ECS: a `?` with nothing after it is an
/// empty query, no `?` is no query).
pub(crate) fn apply_path_and_query(ev: &mut EventData, t: &LineText<'_>, target: &[u8]) {
    let (path, query) = match memchr(b'?', target) {
        Some(q) => (&target[..q], Some(&target[q + 1..])),
        None => (target, None),
    };
    if !path.is_empty() {
        ev.url_path = Some(t.text(path));
    }
    if let Some(q) = query {
        ev.url_query = Some(t.text(q));
    }
}

/// `http://…` (any alphabetic scheme) without its scheme, or `None`.
fn strip_scheme(target: &[u8]) -> Option<&[u8]> {
    // The usual origin-form target (`/path`) cannot start with a scheme: say so at once.
    if target.first().is_none_or(|b| !b.is_ascii_alphabetic()) {
        return None;
    }
    let head = &target[..target.len().min(SCHEME_BYTES_MAX + 1)];
    let colon = head.iter().position(|&b| b == b':')?;
    let scheme = &target[..colon];
    let ok = !scheme.is_empty()
        && scheme[0].is_ascii_alphabetic()
        && scheme.iter().all(|&b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'-' | b'.'));
    if ok {
        target[colon + 1..].strip_prefix(b"//")
    } else {
        None
    }
}

/// `HTTP/1.1` → `1.1` (ECS `http.version`); other protocol names are kept whole.
pub(crate) fn version_of_protocol(t: &LineText<'_>, raw: &[u8]) -> Option<Text> {
    match raw.strip_prefix(b"HTTP/") {
        Some(v) if !v.is_empty() => Some(t.text(v)),
        _ if raw.is_empty() || raw == b"-" => None,
        _ => Some(t.text(raw)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req(raw: &str) -> EventData {
        let mut ev = EventData::default();
        apply_request(&mut ev, &LineText::new(raw.as_bytes()), raw.as_bytes());
        ev
    }

    /// Target and version split at the last space, the search the `HTTP/x.y` shortcut of
    /// [`apply_request`] must agree with.
    fn split_by_definition(rest: &[u8]) -> (&[u8], &[u8]) {
        match memrchr(b' ', rest) {
            Some(sp2) if rest[sp2 + 1..].starts_with(b"HTTP/") => (&rest[..sp2], &rest[sp2 + 6..]),
            _ if rest.starts_with(b"HTTP/") => (&rest[..0], &rest[5..]),
            _ => (rest, &rest[..0]),
        }
    }

    proptest::proptest! {
        #[test]
        fn versions_split_as_the_definition(
            parts in proptest::collection::vec(
                proptest::sample::select(vec![" ", "HTTP/", " HTTP/", "1", ".", "/a", "?", "x"]),
                0..10,
            ),
        ) {
            let rest = parts.concat();
            let ev = req(&format!("GET {rest}"));
            let (target, version) = split_by_definition(rest.as_bytes());
            let text = |b: &[u8]| String::from_utf8(b.to_vec()).unwrap();
            let expected_version = (!version.is_empty()).then(|| text(version));
            proptest::prop_assert_eq!(ev.http_version.as_deref(), expected_version.as_deref());
            let mut expected = EventData::default();
            if !target.is_empty() && target != b"-" {
                let raw = format!("GET {rest}");
                apply_target(&mut expected, &LineText::new(raw.as_bytes()), false, target);
            }
            proptest::prop_assert_eq!(ev.url_path, expected.url_path);
            proptest::prop_assert_eq!(ev.url_query, expected.url_query);
        }
    }

    #[test]
    fn usual_methods_and_versions_read_as_any_other() {
        let line = b"GET POST PUT DELETE HEAD PATCH OPTIONS 1.1 2.0 1.0 PROPFIND 3 get 1.10";
        let t = LineText::new(line);
        for word in line.split(|&b| b == b' ') {
            assert_eq!(method_text(&t, word), t.text(word));
            assert_eq!(version_text(&t, word), t.text(word));
        }
    }

    #[test]
    fn request_lines_split_into_fields() {
        let ev = req("GET /a%20b?c=d&e HTTP/1.1");
        assert_eq!(ev.http_method.as_deref(), Some("GET"));
        assert_eq!(ev.url_path.as_deref(), Some("/a%20b"));
        assert_eq!(ev.url_query.as_deref(), Some("c=d&e"));
        assert_eq!(ev.http_version.as_deref(), Some("1.1"));
        let ev = req("GET /x? HTTP/1.0");
        assert_eq!(ev.url_query.as_deref(), Some(""));
        let ev = req("GET /with space HTTP/1.1");
        assert_eq!(ev.url_path.as_deref(), Some("/with space"));
        let ev = req("GET /");
        assert_eq!((ev.url_path.as_deref(), ev.http_version), (Some("/"), None));
        let ev = req("GET https://user:pw@www.example.com:443/p?q HTTP/2.0");
        assert_eq!(ev.url_domain.as_deref(), Some("www.example.com"));
        assert_eq!(ev.url_path.as_deref(), Some("/p"));
        assert_eq!(ev.url_query.as_deref(), Some("q"));
        let ev = req("CONNECT example.com:443 HTTP/1.1");
        assert_eq!((ev.url_domain.as_deref(), ev.url_path), (Some("example.com"), None));
        for junk in ["-", "", "hello", "- - - ", "\\x16\\x03\\x01", "G\"T / HTTP/1.1"] {
            assert_eq!(req(junk), EventData::default(), "{junk}");
        }
        for (raw, path, version) in [
            ("GET /a HTTP/1.1", "/a", "1.1"),
            ("GET /a HTTP/1 1", "/a HTTP/1 1", ""),
            ("GET /a HTTP/10.1", "/a", "10.1"),
            ("GET /a b HTTP/x y", "/a b HTTP/x y", ""),
            ("GET / HTTP/ 2", "/ HTTP/ 2", ""),
            ("GET /a HTTP/ 1.", "/a HTTP/ 1.", ""),
            ("GET /a  HTTP/1.1", "/a ", "1.1"),
            ("GET /a HTTP/1.1 HTTP/2.0", "/a HTTP/1.1", "2.0"),
        ] {
            let ev = req(raw);
            assert_eq!(ev.url_path.as_deref(), Some(path), "{raw}");
            assert_eq!(ev.http_version.as_deref().unwrap_or(""), version, "{raw}");
        }
        let ev = req("GET HTTP/1.1");
        assert_eq!((ev.url_path, ev.http_version.as_deref()), (None, Some("1.1")));
        assert_eq!(version_of_protocol(&LineText::new(b""), b"HTTP/2"), Some("2".into()));
        assert_eq!(version_of_protocol(&LineText::new(b""), b"-"), None);
    }
}
