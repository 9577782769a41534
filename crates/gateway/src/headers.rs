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
    let named: Vec<HeaderName> = headers
        .get_all(header::CONNECTION)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .filter_map(|n| HeaderName::from_bytes(n.trim().as_bytes()).ok())
        .collect();
    for name in named {
        headers.remove(name);
    }
    for name in HOP_BY_HOP {
        headers.remove(name);
    }
    headers.remove(header::UPGRADE);
}

/// Appends the peer to `X-Forwarded-For` and an element to `Forwarded` (RFC 7239), and sets
/// `X-Forwarded-Proto` and `X-Forwarded-Host` to what the client used.
pub(crate) fn add_forwarding(headers: &mut HeaderMap, peer: IpAddr, scheme: &str, host: &str) {
    let peer = peer.to_canonical();
    let xff = match joined(headers, "x-forwarded-for") {
        Some(prior) => format!("{prior}, {peer}"),
        None => peer.to_string(),
    };
    set(headers, "x-forwarded-for", &xff);
    let node = match peer {
        IpAddr::V4(v4) => v4.to_string(),
        IpAddr::V6(v6) => format!("\"[{v6}]\""),
    };
    let mut element = format!("for={node};proto={scheme}");
    if !host.is_empty() {
        element.push_str(&format!(";host={}", quoted_if_needed(host)));
    }
    let forwarded = match joined(headers, "forwarded") {
        Some(prior) => format!("{prior}, {element}"),
        None => element,
    };
    set(headers, "forwarded", &forwarded);
    set(headers, "x-forwarded-proto", scheme);
    if !host.is_empty() {
        set(headers, "x-forwarded-host", host);
    }
}

/// All values of `name` joined with `, ` (several fields are one list), if any.
fn joined(headers: &HeaderMap, name: &str) -> Option<String> {
    let values: Vec<&str> = headers.get_all(name).iter().filter_map(|v| v.to_str().ok()).collect();
    (!values.is_empty()).then(|| values.join(", "))
}

fn set(headers: &mut HeaderMap, name: &'static str, value: &str) {
    // Built from addresses, a scheme and a host that was itself a valid header value.
    if let Ok(v) = HeaderValue::from_str(value) {
        headers.insert(name, v);
    }
}

/// A `Forwarded` parameter value: a token as is, anything else (a `:port`) quoted.
fn quoted_if_needed(value: &str) -> String {
    let token = value.bytes().all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b));
    if token {
        value.to_string()
    } else {
        format!("\"{}\"", value.replace('\\', "\\\\").replace('"', "\\\""))
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
        && headers
            .get_all(header::CONNECTION)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .any(|t| t.trim().eq_ignore_ascii_case("upgrade"))
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
