//! The record of one proxied call, handed to `Hooks::record` when the call ends: what the
//! embedder needs to build its event. Headers are given whole; redacting is the embedder's job.

use bytes::Bytes;
use http::{HeaderMap, Method, StatusCode, Version};
use std::net::IpAddr;

/// One call through the gateway.
#[derive(Debug, Clone)]
pub struct CallRecord {
    /// The request id passed to the upstream (the client's if sane, else generated).
    pub request_id: String,
    /// When the request arrived, milliseconds since the Unix epoch (wall clock).
    pub start_ms: i64,
    /// From arrival to the end of the response body (or of the WebSocket tunnel).
    pub duration_us: u64,
    /// The client: the peer, or the address a trusted proxy forwarded for.
    pub client_ip: IpAddr,
    /// The address that connected to the gateway.
    pub peer_ip: IpAddr,
    /// Request method.
    pub method: Method,
    /// `http` or `https`: how the client reached the gateway.
    pub scheme: &'static str,
    /// Host the client asked for (without port); empty if it named none.
    pub host: String,
    /// Path, as sent (not decoded).
    pub path: String,
    /// Query string without `?`, as sent; none when the target had no `?`.
    pub query: Option<String>,
    /// HTTP version the client spoke.
    pub version: Version,
    /// Request headers as the client sent them.
    pub request_headers: HeaderMap,
    /// Status answered to the client.
    pub status: StatusCode,
    /// Request body bytes that flowed through the gateway (for a WebSocket, bytes the client
    /// sent through the tunnel).
    pub request_bytes: u64,
    /// Response body bytes that flowed to the client (as encoded by the upstream).
    pub response_bytes: u64,
    /// Response `content-type`, if any.
    pub response_content_type: Option<String>,
    /// Response `content-encoding`, if any: when set, `response_body` is compressed bytes.
    pub response_content_encoding: Option<String>,
    /// The first `body_inspect_bytes_max` bytes of the request body (empty for a WebSocket:
    /// tunnel bytes are counted, not copied).
    pub request_body: BodyPrefix,
    /// The first `body_inspect_bytes_max` bytes of the response body, as received.
    pub response_body: BodyPrefix,
    /// The upstream chosen, if one was.
    pub upstream: Option<String>,
    /// How the call ended.
    pub outcome: Outcome,
}

/// The start of a body, up to the inspection limit.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BodyPrefix {
    /// At most `body_inspect_bytes_max` bytes.
    pub bytes: Bytes,
    /// The body was longer than `bytes`.
    pub truncated: bool,
}

/// How a call ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Outcome {
    /// Answered by an upstream.
    Proxied,
    /// Refused by `Hooks::admit` (403).
    Blocked,
    /// Throttled by `Hooks::admit` (429).
    Throttled,
    /// Refused by one of the gateway's rate limits (429).
    RateLimited,
    /// Rejected by `Hooks::admit` with a status of its choosing.
    Rejected,
    /// No upstream, none healthy, or the upstream failed or was too slow (502/504).
    UpstreamError,
    /// Refused because the embedder was not ready and `fail_mode` is `closed` (503).
    FailClosed,
    /// Upgraded to a WebSocket tunnel.
    WebSocket,
}

impl Outcome {
    /// Every outcome, in the order of `GatewayStats::calls`.
    pub const ALL: [Outcome; 8] = [
        Outcome::Proxied,
        Outcome::Blocked,
        Outcome::Throttled,
        Outcome::RateLimited,
        Outcome::Rejected,
        Outcome::UpstreamError,
        Outcome::FailClosed,
        Outcome::WebSocket,
    ];

    /// The outcome's name (`rate_limited`), as in metrics.
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Proxied => "proxied",
            Outcome::Blocked => "blocked",
            Outcome::Throttled => "throttled",
            Outcome::RateLimited => "rate_limited",
            Outcome::Rejected => "rejected",
            Outcome::UpstreamError => "upstream_error",
            Outcome::FailClosed => "fail_closed",
            Outcome::WebSocket => "websocket",
        }
    }

    pub(crate) fn index(self) -> usize {
        self as usize
    }
}
