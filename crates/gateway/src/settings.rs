//! `Gateway`: the validated configuration the gateway runs on. Built only by
//! `GatewayConfig::validate`, so nothing here is checked again.

use http::uri::Authority;
use http::HeaderName;
use ipnet::IpNet;
use std::net::SocketAddr;
use std::path::PathBuf;

/// A validated gateway configuration; `start` runs it.
#[derive(Debug, Clone)]
pub struct Gateway {
    pub(crate) listeners: Vec<ListenerSpec>,
    pub(crate) upstreams: Vec<UpstreamSpec>,
    pub(crate) trusted_proxies: Vec<IpNet>,
    pub(crate) request_id_header: HeaderName,
    pub(crate) body_inspect_bytes_max: usize,
    pub(crate) connect_timeout_ms: u64,
    pub(crate) upstream_response_header_timeout_ms: u64,
    pub(crate) max_connections: usize,
    pub(crate) workers: usize,
    pub(crate) rate_limits: Vec<RateLimitSpec>,
    pub(crate) rate_limit_keys_max: usize,
    pub(crate) fail_mode: FailMode,
    pub(crate) tls_reload_check_ms: u64,
    pub(crate) shadow_api: ShadowApi,
}

impl Gateway {
    /// What the embedder was asked to do with undocumented calls; the gateway itself knows no
    /// API description (the embedder answers `Verdict::Reject` from `Hooks::admit`).
    pub fn shadow_api(&self) -> ShadowApi {
        self.shadow_api
    }

    /// Whether a rate limit is keyed by user or consumer: the embedder then has to name the
    /// caller's identity (`Admission::rate_keys`) on every call.
    pub fn keys_rate_limits_by_identity(&self) -> bool {
        self.rate_limits.iter().any(|l| matches!(l.scope, RateScope::User | RateScope::Consumer))
    }
}

/// Calls to endpoints or methods the API description does not document (OWASP API9, shadow
/// APIs).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ShadowApi {
    /// Forwarded and recorded, labelled as undocumented.
    #[default]
    Record,
    /// Refused before reaching the upstream (404 for a path, 405 for a method), and recorded.
    Reject,
}

#[derive(Debug, Clone)]
pub(crate) struct ListenerSpec {
    pub address: SocketAddr,
    pub tls: Option<TlsFiles>,
}

#[derive(Debug, Clone)]
pub(crate) struct TlsFiles {
    pub cert: PathBuf,
    pub key: PathBuf,
    /// Where in the configuration the files were named, for error messages.
    pub key_path: String,
}

#[derive(Debug, Clone)]
pub(crate) struct UpstreamSpec {
    pub name: String,
    pub targets: Vec<Authority>,
    /// Lowercase, without port.
    pub host: Option<String>,
    /// Without trailing `/`; never empty.
    pub path_prefix: Option<String>,
    pub health: Option<HealthCheck>,
}

#[derive(Debug, Clone)]
pub(crate) struct HealthCheck {
    pub path: String,
    pub interval_ms: u64,
    pub timeout_ms: u64,
}

#[derive(Debug, Clone)]
pub(crate) struct RateLimitSpec {
    pub scope: RateScope,
    /// Without trailing `/`; never empty.
    pub route_prefix: Option<String>,
    pub per_minute: u32,
    pub burst: u32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum RateScope {
    Address,
    User,
    Consumer,
    Route,
}

/// What happens when the embedder cannot take records.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailMode {
    /// Calls go on; lost records are counted.
    Open,
    /// Calls are answered 503 while `Hooks::ready` says no.
    Closed,
}

/// Whether `path` is `prefix` or lies under it (segment-wise: `/api` covers `/api/x`, not
/// `/apix`). `prefix` has no trailing `/`.
pub(crate) fn path_under(path: &str, prefix: &str) -> bool {
    path.strip_prefix(prefix)
        .is_some_and(|rest| rest.is_empty() || rest.starts_with('/') || rest.starts_with('?'))
}
