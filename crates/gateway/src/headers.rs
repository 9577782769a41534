//! Header rewriting between client and upstream: hop-by-hop fields removed (RFC 9110 §7.6.1),
//! forwarding fields appended, and the request id checked or made.

use http::header::{self, HeaderMap, HeaderName, HeaderValue};
use std::net::IpAddr;

/// Longest request id passed on as given; longer ones are replaced (they end up in logs).
const REQUEST_ID_BYTES_MAX: usize = 128;

/// Fields that describe one connection, not the message (RFC 9110 §7.6.1, plus the
/// non-standard `Keep-Alive` and `Proxy-Connection` that HTTP/1.0 peers still send).
const HOP_BY_HOP: [HeaderName; 6] = [
    header::CONNECTION,
    HeaderName::from_static("keep-alive"),
    HeaderName::from_static("proxy-connection"),
    header::TE,
    header::TRAILER,
    header::TRANSFER_ENCODING,
];

/// Removes hop-by-hop fields, including those the `Connection` field names, and `Upgrade`.
pub(crate) fn remove_hop_by_hop(headers: &mut HeaderMap) {
    // One pass over the names first: most messages carry none of these, or only `Connection`
    // (naming no other field), and a removal costs a hash each.
    let present: Vec<HeaderName> = headers
        .keys()
        .filter(|n| HOP_BY_HOP.contains(n) || *n == header::UPGRADE)
        .cloned()
        .collect();
    if present.is_empty() {
        return;
    }
    let named: Vec<HeaderName> = connection_options(headers)
        // Options, not fields (and `keep-alive` and `upgrade` go anyway).
        .filter(|n| !["close", "keep-alive", "upgrade"].iter().any(|o| n.eq_ignore_ascii_case(o)))
        .filter_map(|n| HeaderName::from_bytes(n.as_bytes()).ok())
        .collect();
    for name in named.into_iter().chain(present) {
        headers.remove(name);
    }
}

const X_FORWARDED_FOR: HeaderName = HeaderName::from_static("x-forwarded-for");
const X_FORWARDED_PROTO: HeaderName = HeaderName::from_static("x-forwarded-proto");
const X_FORWARDED_HOST: HeaderName = HeaderName::from_static("x-forwarded-host");

/// Appends the peer to `X-Forwarded-For` and an element to `Forwarded` (RFC 7239), and sets
/// `X-Forwarded-Proto` and `X-Forwarded-Host` to what the client used.
pub(crate) fn add_forwarding(
    headers: &mut HeaderMap,
    peer: IpAddr,
    scheme: &'static str,
    host: &str,
) {
    use std::fmt::Write;
    let peer = peer.to_canonical();
    // One buffer for both lists; writing to a `String` cannot fail.
    let mut value = String::with_capacity(96);
    prior_list(headers, &X_FORWARDED_FOR, &mut value);
    let _ = write!(value, "{peer}");
    set(headers, X_FORWARDED_FOR, &value);
    value.clear();
    prior_list(headers, &header::FORWARDED, &mut value);
    let _ = match peer {
        IpAddr::V4(v4) => write!(value, "for={v4}"),
        IpAddr::V6(v6) => write!(value, "for=\"[{v6}]\""),
    };
    value.push_str(";proto=");
    value.push_str(scheme);
    if !host.is_empty() {
        value.push_str(";host=");
        push_quoted_if_needed(host, &mut value);
    }
    set(headers, header::FORWARDED, &value);
    headers.insert(X_FORWARDED_PROTO, HeaderValue::from_static(scheme));
    if !host.is_empty() {
        set(headers, X_FORWARDED_HOST, host);
    }
}

/// All values of `name` (several fields are one list), each followed by `, `.
fn prior_list(headers: &HeaderMap, name: &HeaderName, out: &mut String) {
    for v in headers.get_all(name).iter().filter_map(|v| v.to_str().ok()) {
        out.push_str(v);
        out.push_str(", ");
    }
}

fn set(headers: &mut HeaderMap, name: HeaderName, value: &str) {
    // Built from addresses, a scheme and a host that was itself a valid header value.
    if let Ok(v) = HeaderValue::from_str(value) {
        headers.insert(name, v);
    }
}

/// A `Forwarded` parameter value: a token as is, anything else (a `:port`) quoted.
fn push_quoted_if_needed(value: &str, out: &mut String) {
    let token = value.bytes().all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b));
    if token {
        out.push_str(value);
    } else {
        out.push('"');
        for c in value.chars() {
            if c == '\\' || c == '"' {
                out.push('\\');
            }
            out.push(c);
        }
        out.push('"');
    }
}

/// The client's request id if it is sane (1 to 128 visible ASCII characters), else a new one.
pub(crate) fn request_id(headers: &HeaderMap, name: &HeaderName) -> String {
    if let Some(v) = headers.get(name) {
        let b = v.as_bytes();
        if !b.is_empty()
            && b.len() <= REQUEST_ID_BYTES_MAX
            && b.iter().all(|c| (0x21..=0x7e).contains(c))
        {
            // Visible ASCII is UTF-8.
            return String::from_utf8_lossy(b).into_owned();
        }
    }
    new_request_id()
}

/// 32 hex digits, unique without a system call per request: 64 random bits drawn once per
/// process, then a counter. Ids name calls for correlation; they need not be unpredictable.
fn new_request_id() -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    use std::sync::OnceLock;
    static PREFIX: OnceLock<u64> = OnceLock::new();
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let prefix = *PREFIX.get_or_init(|| {
        let mut bytes = [0u8; 8];
        if getrandom::fill(&mut bytes).is_err() {
            // No entropy source: the start time still differs from one process to the next.
            let t = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_nanos() as u64)
                .unwrap_or(0);
            bytes = t.to_be_bytes();
        }
        u64::from_be_bytes(bytes)
    });
    // Each thread numbers its calls in a block of 2^40 ids taken from the shared counter, so
    // the counter shared by the workers is not written on every call.
    const BLOCK: u64 = 1 << 40;
    thread_local! {
        static NEXT: std::cell::Cell<(u64, u64)> = const { std::cell::Cell::new((0, 0)) };
    }
    let n = NEXT.with(|next| {
        let (mut n, mut end) = next.get();
        if n == end {
            n = COUNTER.fetch_add(1, Ordering::Relaxed).wrapping_mul(BLOCK);
            end = n.wrapping_add(BLOCK);
        }
        next.set((n.wrapping_add(1), end));
        n
    });
    let id = (u128::from(prefix) << 64) | u128::from(n);
    format!("{id:032x}")
}

/// Whether the request asks to switch protocols (HTTP/1.1 `Connection: upgrade` + `Upgrade`).
pub(crate) fn wants_upgrade(headers: &HeaderMap) -> bool {
    headers.contains_key(header::UPGRADE)
        && connection_options(headers).any(|t| t.eq_ignore_ascii_case("upgrade"))
}

/// The options the `Connection` fields list (`keep-alive`, `upgrade`, names of fields),
/// trimmed.
fn connection_options(headers: &HeaderMap) -> impl Iterator<Item = &str> {
    headers
        .get_all(header::CONNECTION)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(str::trim)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hop_by_hop_and_connection_named_fields_go() {
        let mut h = HeaderMap::new();
        h.insert("connection", "keep-alive, x-secret-hop".parse().unwrap());
        h.insert("x-secret-hop", "1".parse().unwrap());
        h.insert("keep-alive", "timeout=5".parse().unwrap());
        h.insert("transfer-encoding", "chunked".parse().unwrap());
        h.insert("te", "trailers".parse().unwrap());
        h.insert("x-kept", "1".parse().unwrap());
        remove_hop_by_hop(&mut h);
        assert_eq!(h.len(), 1);
        assert!(h.contains_key("x-kept"));
    }

    #[test]
    fn forwarding_fields_are_appended() {
        let mut h = HeaderMap::new();
        h.insert("x-forwarded-for", "1.1.1.1".parse().unwrap());
        add_forwarding(&mut h, "::1".parse().unwrap(), "https", "api.example.com:8443");
        assert_eq!(h["x-forwarded-for"], "1.1.1.1, ::1");
        assert_eq!(h["forwarded"], "for=\"[::1]\";proto=https;host=\"api.example.com:8443\"");
        assert_eq!(h["x-forwarded-proto"], "https");
        assert_eq!(h["x-forwarded-host"], "api.example.com:8443");

        let mut h = HeaderMap::new();
        h.append("x-forwarded-for", "1.1.1.1".parse().unwrap());
        h.append("x-forwarded-for", "2.2.2.2, 3.3.3.3".parse().unwrap());
        h.insert("forwarded", "for=1.1.1.1".parse().unwrap());
        add_forwarding(&mut h, "10.0.0.1".parse().unwrap(), "http", "a\"b:1");
        assert_eq!(h["x-forwarded-for"], "1.1.1.1, 2.2.2.2, 3.3.3.3, 10.0.0.1");
        assert_eq!(h["forwarded"], "for=1.1.1.1, for=10.0.0.1;proto=http;host=\"a\\\"b:1\"");
        let mut h = HeaderMap::new();
        add_forwarding(&mut h, "10.0.0.1".parse().unwrap(), "http", "");
        assert_eq!(h["forwarded"], "for=10.0.0.1;proto=http");
        assert!(!h.contains_key("x-forwarded-host"));
    }

    #[test]
    fn fields_without_hop_by_hop_ones_are_left_alone() {
        let mut h = HeaderMap::new();
        h.insert("connection", "close".parse().unwrap());
        h.insert("upgrade", "websocket".parse().unwrap());
        h.insert("close", "not an option here".parse().unwrap());
        remove_hop_by_hop(&mut h);
        assert_eq!(h.len(), 1, "{h:?}");
        let mut h = HeaderMap::new();
        h.insert("x-kept", "1".parse().unwrap());
        remove_hop_by_hop(&mut h);
        assert_eq!(h.len(), 1);
    }

    #[test]
    fn request_ids_are_kept_only_when_sane() {
        let name = HeaderName::from_static("x-request-id");
        let mut h = HeaderMap::new();
        h.insert("x-request-id", "abc-123".parse().unwrap());
        assert_eq!(request_id(&h, &name), "abc-123");
        h.insert("x-request-id", "has space".parse().unwrap());
        assert_eq!(request_id(&h, &name).len(), 32);
        h.insert("x-request-id", "x".repeat(129).parse().unwrap());
        assert_eq!(request_id(&h, &name).len(), 32);
    }

    #[test]
    fn new_request_ids_differ() {
        let ids: std::collections::HashSet<String> = (0..1000).map(|_| new_request_id()).collect();
        assert_eq!(ids.len(), 1000);
        assert!(ids.iter().all(|i| i.len() == 32 && i.bytes().all(|b| b.is_ascii_hexdigit())));
    }

    #[test]
    fn new_request_ids_differ_across_threads() {
        let threads: Vec<_> = (0..4)
            .map(|_| std::thread::spawn(|| (0..1000).map(|_| new_request_id()).collect::<Vec<_>>()))
            .collect();
        let ids: std::collections::HashSet<String> =
            threads.into_iter().flat_map(|t| t.join().unwrap()).collect();
        assert_eq!(ids.len(), 4000);
    }
}
