//! The per-request context every phase reads and fills in; `logging` turns it into the
//! `CallRecord`.

use crate::hooks::RateKeys;
use crate::ratelimit::RateStatus;
use crate::record::Outcome;
use crate::upstream::Upstream;
use http::request::Parts;
use http::{HeaderMap, HeaderValue, Method, StatusCode, Version};
use std::net::IpAddr;
use std::sync::Arc;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

/// How a connection reached the gateway.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ConnInfo {
    pub peer_ip: IpAddr,
    pub scheme: &'static str,
}

/// Everything known about one call so far.
#[derive(Debug)]
pub(crate) struct Context {
    pub request_id: String,
    /// `request_id` as a field value, for the upstream request and the response.
    pub request_id_value: Option<HeaderValue>,
    pub start_ms: i64,
    pub started: Instant,
    pub client_ip: IpAddr,
    pub peer_ip: IpAddr,
    pub scheme: &'static str,
    /// The authority the client named (`api.example.com:8443`), as sent.
    pub authority: String,
    /// The host alone, lowercase: what upstreams match on.
    pub host: String,
    pub method: Method,
    pub path: String,
    pub query: Option<String>,
    pub version: Version,
    pub request_headers: HeaderMap,
    pub rate_keys: RateKeys,
    /// The tightest rate limit that applied, for the `RateLimit-*` fields.
    pub rate_status: Option<RateStatus>,
    pub upstream: Option<Arc<Upstream>>,
    pub outcome: Outcome,
    pub status: StatusCode,
    pub response_content_type: Option<String>,
    pub response_content_encoding: Option<String>,
}

impl Context {
    pub fn new(conn: ConnInfo, client_ip: IpAddr, request_id: String, parts: &Parts) -> Self {
        let authority = parts
            .uri
            .authority()
            .map(|a| a.as_str().to_string())
            .or_else(|| {
                parts
                    .headers
                    .get(http::header::HOST)
                    .and_then(|h| h.to_str().ok())
                    .map(str::to_string)
            })
            .unwrap_or_default();
        let host = host_of(&authority);
        Context {
            request_id_value: HeaderValue::from_str(&request_id).ok(),
            request_id,
            start_ms: SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map_or(0, |d| d.as_millis() as i64),
            started: Instant::now(),
            client_ip,
            peer_ip: conn.peer_ip,
            scheme: conn.scheme,
            authority,
            host,
            method: parts.method.clone(),
            path: parts.uri.path().to_string(),
            query: parts.uri.query().map(str::to_string),
            version: parts.version,
            request_headers: parts.headers.clone(),
            rate_keys: RateKeys::default(),
            rate_status: None,
            upstream: None,
            outcome: Outcome::Proxied,
            status: StatusCode::OK,
            response_content_type: None,
            response_content_encoding: None,
        }
    }
}

impl Context {
    /// The request as the client sent it, without its body, to send it again (`Parts` cannot
    /// be cloned).
    pub fn request_parts(&self) -> Parts {
        let (mut parts, ()) = http::Request::new(()).into_parts();
        parts.method = self.method.clone();
        let target = match &self.query {
            Some(q) => format!("{}?{q}", self.path),
            None => self.path.clone(),
        };
        // The path and query came from a valid URI.
        parts.uri = target.parse().unwrap_or_else(|_| http::Uri::from_static("/"));
        parts.version = self.version;
        parts.headers = self.request_headers.clone();
        parts
    }
}

/// `Example.com:8080` → `example.com`; `[::1]:80` → `[::1]`.
fn host_of(authority: &str) -> String {
    let host = match authority.rfind(':') {
        Some(i) if !authority[i..].contains(']') => &authority[..i],
        _ => authority,
    };
    host.to_ascii_lowercase()
}

#[cfg(test)]
mod tests {
    #[test]
    fn hosts_lose_their_port() {
        assert_eq!(super::host_of("Example.COM:8080"), "example.com");
        assert_eq!(super::host_of("[::1]:80"), "[::1]");
        assert_eq!(super::host_of("[::1]"), "[::1]");
        assert_eq!(super::host_of("api"), "api");
    }
}
