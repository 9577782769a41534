//! The gateway's configuration as written (`GatewayConfig`, read with serde from the
//! embedder's YAML) and its validation into `Gateway`, the checked form the gateway runs on.
//! Validation reports every problem at once, each with its key path.

use crate::error::ConfigError;
use crate::settings::{
    FailMode, Gateway, HealthCheck, ListenerSpec, RateLimitSpec, RateScope, ShadowApi, TlsFiles,
    UpstreamSpec,
};
use apiwatch_core::time::parse_duration_ms;
use http::uri::Authority;
use http::HeaderName;
use ipnet::IpNet;
use serde::Deserialize;
use std::net::SocketAddr;
use std::path::PathBuf;

/// Default copy of each body kept for the record: enough for a JSON request or an error
/// answer, small enough that 10 000 calls in flight hold at most ~1.3 GB in the worst case.
pub const BODY_INSPECT_BYTES_MAX_DEFAULT: usize = 64 * 1024;
/// Upper bound on `body_inspect_bytes_max`: the copy is held for the call's whole duration.
const BODY_INSPECT_BYTES_MAX_LIMIT: usize = 16 * 1024 * 1024;
/// Default number of client connections served at once; more wait in the kernel's backlog.
const MAX_CONNECTIONS_DEFAULT: usize = 10_000;
/// Upper bound on `workers`: each holds a thread, a runtime and its own upstream pool.
const WORKERS_MAX: usize = 256;
/// Default cap on keys tracked per rate limit: at ~100 bytes per key, ~10 MB per limit.
const RATE_LIMIT_KEYS_MAX_DEFAULT: usize = 100_000;

/// The gateway section as written.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GatewayConfig {
    /// Addresses to listen on, each optionally with TLS.
    pub listeners: Vec<ListenerConfig>,
    /// Where calls go; the most specific match of host and path prefix wins.
    pub upstreams: Vec<UpstreamConfig>,
    /// Proxies whose `X-Forwarded-For` / `Forwarded` are believed (CIDR or single addresses).
    #[serde(default)]
    pub trusted_proxies: Vec<String>,
    /// Header carrying the request id (default `x-request-id`).
    #[serde(default)]
    pub request_id_header: Option<String>,
    /// How much of each request and response body is copied into the record (default 64 KiB).
    #[serde(default)]
    pub body_inspect_bytes_max: Option<usize>,
    /// Time limits towards upstreams.
    #[serde(default)]
    pub timeouts: TimeoutsConfig,
    /// Client connections served at once (default 10 000).
    #[serde(default)]
    pub max_connections: Option<usize>,
    /// Threads serving calls, each with its own runtime and upstream connections (default:
    /// one per core).
    #[serde(default)]
    pub workers: Option<usize>,
    /// Rate limits, all checked on every call they apply to.
    #[serde(default)]
    pub rate_limits: Vec<RateLimitConfig>,
    /// Keys tracked per rate limit (default 100 000); beyond, new keys share one bucket.
    #[serde(default)]
    pub rate_limit_keys_max: Option<usize>,
    /// What happens when the embedder cannot take records (default `open`).
    #[serde(default)]
    pub fail_mode: FailModeConfig,
    /// How often certificate files are checked for change (default `5s`).
    #[serde(default)]
    pub tls_reload_check_interval: Option<String>,
    /// Calls the embedder's API description does not document (default `record`).
    #[serde(default)]
    pub shadow_api: ShadowApi,
}

/// One listening address.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ListenerConfig {
    /// `0.0.0.0:8080`, `[::]:443`, `127.0.0.1:0`.
    pub address: String,
    /// Certificate chain and key, PEM; none: plain HTTP (HTTP/2 by prior knowledge allowed).
    #[serde(default)]
    pub tls: Option<TlsConfig>,
}

/// PEM files of a TLS listener.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TlsConfig {
    /// Certificate chain, leaf first.
    pub cert: PathBuf,
    /// Private key (PKCS#8, PKCS#1 or SEC1).
    pub key: PathBuf,
}

/// One upstream service.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UpstreamConfig {
    /// Name given in records and statistics.
    pub name: String,
    /// `http://host:port` of each instance; calls go round the healthy ones.
    pub targets: Vec<String>,
    /// Host the call must name (without port, any case); none: any host.
    #[serde(default)]
    pub host: Option<String>,
    /// Path prefix the call must start with, at a segment boundary; none: any path.
    #[serde(default)]
    pub path_prefix: Option<String>,
    /// Periodic probe of each target; none: targets are always taken as healthy.
    #[serde(default)]
    pub health_check: Option<HealthCheckConfig>,
}

/// A health probe: `GET path` on each target every `interval`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HealthCheckConfig {
    /// Path probed (`/healthz`); a 2xx or 3xx answer is healthy.
    pub path: String,
    /// Time between probes (default `10s`).
    #[serde(default)]
    pub interval: Option<String>,
    /// Time a probe may take (default `2s`).
    #[serde(default)]
    pub timeout: Option<String>,
}

/// Time limits towards upstreams.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TimeoutsConfig {
    /// Opening a connection to a target (default `5s`).
    #[serde(default)]
    pub connect: Option<String>,
    /// From sending the request to the response's headers (default `30s`).
    #[serde(default)]
    pub upstream_response_header: Option<String>,
}

/// One rate limit.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RateLimitConfig {
    /// What the limit is counted per.
    pub scope: RateScopeConfig,
    /// Only calls whose path starts with this prefix count; for `scope: route`, the route.
    #[serde(default)]
    pub route_prefix: Option<String>,
    /// Sustained rate.
    pub per_minute: u32,
    /// Calls allowed at once above the sustained rate (default: `per_minute`).
    #[serde(default)]
    pub burst: Option<u32>,
}

/// What a rate limit is counted per.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RateScopeConfig {
    /// The client address.
    Address,
    /// `RateKeys::user`; calls without one are not counted.
    User,
    /// `RateKeys::consumer`; calls without one are not counted.
    Consumer,
    /// The route: `route_prefix` if given, else the upstream the call goes to.
    Route,
}

/// What happens when the embedder cannot take records.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FailModeConfig {
    /// Calls go on; lost records are counted.
    #[default]
    Open,
    /// Calls are answered 503 while `Hooks::ready` says no.
    Closed,
}

/// Collects problems with their key paths.
struct Problems(Vec<ConfigError>);

impl Problems {
    fn push(&mut self, path: impl Into<String>, message: impl Into<String>) {
        self.0.push(ConfigError::new(path, message));
    }

    /// A positive duration, or the default when absent.
    fn duration_ms(&mut self, path: &str, value: &Option<String>, default_ms: u64) -> u64 {
        let Some(text) = value else { return default_ms };
        match parse_duration_ms(text) {
            Ok(ms) if ms > 0 => ms as u64,
            Ok(_) => {
                self.push(path, "must be longer than 0");
                default_ms
            }
            Err(_) => {
                self.push(path, format!("`{text}` is not a duration (like 250ms, 30s, 5m)"));
                default_ms
            }
        }
    }
}

impl GatewayConfig {
    /// Checks everything and builds the gateway's runtime form, or returns every problem.
    pub fn validate(&self) -> Result<Gateway, Vec<ConfigError>> {
        let mut p = Problems(Vec::new());
        if self.listeners.is_empty() {
            p.push("listeners", "at least one listener is needed");
        }
        let listeners = self
            .listeners
            .iter()
            .enumerate()
            .filter_map(|(i, l)| validate_listener(&mut p, i, l))
            .collect();
        if self.upstreams.is_empty() {
            p.push("upstreams", "at least one upstream is needed");
        }
        let mut upstreams: Vec<UpstreamSpec> = Vec::new();
        for (i, u) in self.upstreams.iter().enumerate() {
            if let Some(spec) = validate_upstream(&mut p, i, u) {
                if upstreams.iter().any(|o| o.name == spec.name) {
                    p.push(
                        format!("upstreams[{i}].name"),
                        format!("`{}` is used twice", spec.name),
                    );
                }
                if upstreams
                    .iter()
                    .any(|o| o.host == spec.host && o.path_prefix == spec.path_prefix)
                {
                    p.push(
                        format!("upstreams[{i}]"),
                        "another upstream has the same host and path_prefix: it could never be chosen",
                    );
                }
                upstreams.push(spec);
            }
        }
        let mut trusted_proxies = Vec::new();
        for (i, t) in self.trusted_proxies.iter().enumerate() {
            match parse_net(t) {
                Some(net) => trusted_proxies.push(net),
                None => p.push(
                    format!("trusted_proxies[{i}]"),
                    format!("`{t}` is not an address or CIDR range"),
                ),
            }
        }
        let request_id_header = match &self.request_id_header {
            None => HeaderName::from_static("x-request-id"),
            Some(h) => HeaderName::from_bytes(h.as_bytes()).unwrap_or_else(|_| {
                p.push("request_id_header", format!("`{h}` is not a header name"));
                HeaderName::from_static("x-request-id")
            }),
        };
        let body_inspect_bytes_max =
            self.body_inspect_bytes_max.unwrap_or(BODY_INSPECT_BYTES_MAX_DEFAULT);
        if body_inspect_bytes_max > BODY_INSPECT_BYTES_MAX_LIMIT {
            p.push(
                "body_inspect_bytes_max",
                format!(
                    "at most {BODY_INSPECT_BYTES_MAX_LIMIT} (the copy is held for the whole call)"
                ),
            );
        }
        let connect_timeout_ms = p.duration_ms("timeouts.connect", &self.timeouts.connect, 5_000);
        let upstream_response_header_timeout_ms = p.duration_ms(
            "timeouts.upstream_response_header",
            &self.timeouts.upstream_response_header,
            30_000,
        );
        let max_connections = self.max_connections.unwrap_or(MAX_CONNECTIONS_DEFAULT);
        if max_connections == 0 {
            p.push("max_connections", "must be at least 1");
        }
        let workers = self.workers.unwrap_or_else(|| {
            std::thread::available_parallelism().map_or(1, |n| n.get()).min(WORKERS_MAX)
        });
        if !(1..=WORKERS_MAX).contains(&workers) {
            p.push("workers", format!("must be between 1 and {WORKERS_MAX}"));
        }
        let rate_limits = self
            .rate_limits
            .iter()
            .enumerate()
            .filter_map(|(i, r)| validate_rate_limit(&mut p, i, r))
            .collect();
        let rate_limit_keys_max = self.rate_limit_keys_max.unwrap_or(RATE_LIMIT_KEYS_MAX_DEFAULT);
        if rate_limit_keys_max == 0 {
            p.push("rate_limit_keys_max", "must be at least 1");
        }
        let tls_reload_check_ms =
            p.duration_ms("tls_reload_check_interval", &self.tls_reload_check_interval, 5_000);
        if !p.0.is_empty() {
            return Err(p.0);
        }
        Ok(Gateway {
            listeners,
            upstreams,
            trusted_proxies,
            request_id_header,
            body_inspect_bytes_max,
            connect_timeout_ms,
            upstream_response_header_timeout_ms,
            max_connections,
            workers,
            rate_limits,
            rate_limit_keys_max,
            fail_mode: match self.fail_mode {
                FailModeConfig::Open => FailMode::Open,
                FailModeConfig::Closed => FailMode::Closed,
            },
            tls_reload_check_ms,
            shadow_api: self.shadow_api,
        })
    }
}

fn validate_listener(p: &mut Problems, i: usize, l: &ListenerConfig) -> Option<ListenerSpec> {
    let address: Option<SocketAddr> = l.address.parse().ok();
    if address.is_none() {
        p.push(
            format!("listeners[{i}].address"),
            format!("`{}` is not an address with a port (0.0.0.0:8080, [::]:443)", l.address),
        );
    }
    let tls = l.tls.as_ref().map(|t| TlsFiles {
        cert: t.cert.clone(),
        key: t.key.clone(),
        key_path: format!("listeners[{i}].tls"),
    });
    Some(ListenerSpec { address: address?, tls })
}

fn validate_upstream(p: &mut Problems, i: usize, u: &UpstreamConfig) -> Option<UpstreamSpec> {
    let at = format!("upstreams[{i}]");
    let before = p.0.len();
    if u.name.trim().is_empty() {
        p.push(format!("{at}.name"), "must not be empty");
    }
    if u.targets.is_empty() {
        p.push(format!("{at}.targets"), "at least one target is needed");
    }
    let mut targets = Vec::new();
    for (j, t) in u.targets.iter().enumerate() {
        match parse_target(t) {
            Ok(a) => targets.push(a),
            Err(m) => p.push(format!("{at}.targets[{j}]"), m),
        }
    }
    let host = u.host.as_ref().map(|h| h.trim().to_ascii_lowercase());
    if host.as_deref() == Some("") {
        p.push(format!("{at}.host"), "must not be empty (leave it out to match any host)");
    }
    if let Some(prefix) = &u.path_prefix {
        if !prefix.starts_with('/') {
            p.push(format!("{at}.path_prefix"), "must start with `/`");
        }
    }
    let health = u.health_check.as_ref().map(|h| {
        if !h.path.starts_with('/') {
            p.push(format!("{at}.health_check.path"), "must start with `/`");
        }
        HealthCheck {
            path: h.path.clone(),
            interval_ms: p.duration_ms(&format!("{at}.health_check.interval"), &h.interval, 10_000),
            timeout_ms: p.duration_ms(&format!("{at}.health_check.timeout"), &h.timeout, 2_000),
        }
    });
    if p.0.len() != before {
        return None;
    }
    Some(UpstreamSpec {
        name: u.name.clone(),
        targets,
        host,
        // `/` matches everything, as no prefix does; a trailing `/` is not part of the match.
        path_prefix: u
            .path_prefix
            .as_ref()
            .map(|s| s.trim_end_matches('/').to_string())
            .filter(|s| !s.is_empty()),
        health,
    })
}

fn parse_target(t: &str) -> Result<Authority, String> {
    let uri: http::Uri = t.parse().map_err(|_| format!("`{t}` is not a URL (http://host:port)"))?;
    if uri.scheme_str() != Some("http") {
        return Err(format!("`{t}`: only http:// upstreams are supported"));
    }
    if uri.path_and_query().is_some_and(|pq| pq.as_str() != "/") {
        return Err(format!("`{t}`: a target is host and port, without a path"));
    }
    let authority = uri.authority().ok_or_else(|| format!("`{t}` names no host"))?;
    if authority.as_str().contains('@') {
        return Err(format!("`{t}`: credentials in a target are not supported"));
    }
    if authority.port_u16().is_some() {
        return Ok(authority.clone());
    }
    format!("{}:80", authority.host()).parse().map_err(|_| format!("`{t}` names no usable host"))
}

fn validate_rate_limit(p: &mut Problems, i: usize, r: &RateLimitConfig) -> Option<RateLimitSpec> {
    let at = format!("rate_limits[{i}]");
    let before = p.0.len();
    if r.per_minute == 0 {
        p.push(format!("{at}.per_minute"), "must be at least 1");
    }
    let burst = r.burst.unwrap_or(r.per_minute);
    if burst == 0 {
        p.push(format!("{at}.burst"), "must be at least 1");
    }
    if let Some(prefix) = &r.route_prefix {
        if !prefix.starts_with('/') {
            p.push(format!("{at}.route_prefix"), "must start with `/`");
        }
    }
    if p.0.len() != before {
        return None;
    }
    Some(RateLimitSpec {
        scope: match r.scope {
            RateScopeConfig::Address => RateScope::Address,
            RateScopeConfig::User => RateScope::User,
            RateScopeConfig::Consumer => RateScope::Consumer,
            RateScopeConfig::Route => RateScope::Route,
        },
        route_prefix: r
            .route_prefix
            .as_ref()
            .map(|s| s.trim_end_matches('/').to_string())
            .filter(|s| !s.is_empty()),
        per_minute: r.per_minute,
        burst,
    })
}

/// A CIDR range, or one address taken as a range of one.
fn parse_net(text: &str) -> Option<IpNet> {
    let text = text.trim();
    text.parse::<IpNet>().ok().or_else(|| text.parse::<std::net::IpAddr>().ok().map(IpNet::from))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn base() -> GatewayConfig {
        GatewayConfig {
            listeners: vec![ListenerConfig { address: "127.0.0.1:0".into(), tls: None }],
            upstreams: vec![UpstreamConfig {
                name: "api".into(),
                targets: vec!["http://127.0.0.1:9000".into()],
                host: None,
                path_prefix: None,
                health_check: None,
            }],
            trusted_proxies: vec![],
            request_id_header: None,
            body_inspect_bytes_max: None,
            timeouts: TimeoutsConfig::default(),
            max_connections: None,
            workers: None,
            rate_limits: vec![],
            rate_limit_keys_max: None,
            fail_mode: FailModeConfig::Open,
            tls_reload_check_interval: None,
            shadow_api: ShadowApi::Record,
        }
    }

    #[test]
    fn defaults_validate() {
        let g = base().validate().unwrap();
        assert_eq!(g.body_inspect_bytes_max, 64 * 1024);
        assert_eq!(g.request_id_header, "x-request-id");
        assert_eq!(g.upstreams[0].targets[0].as_str(), "127.0.0.1:9000");
    }

    #[test]
    fn every_problem_is_reported_with_its_key_path() {
        let mut c = base();
        c.listeners[0].address = "nowhere".into();
        c.upstreams[0].targets.push("https://x:1".into());
        c.upstreams[0].path_prefix = Some("api".into());
        c.trusted_proxies = vec!["10.0.0.0/8".into(), "ten".into()];
        c.timeouts.connect = Some("5 seconds".into());
        c.rate_limits = vec![RateLimitConfig {
            scope: RateScopeConfig::Address,
            route_prefix: None,
            per_minute: 0,
            burst: Some(1),
        }];
        let errors = c.validate().unwrap_err();
        let paths: Vec<&str> = errors.iter().map(|e| e.path.as_str()).collect();
        assert_eq!(
            paths,
            [
                "listeners[0].address",
                "upstreams[0].targets[1]",
                "upstreams[0].path_prefix",
                "trusted_proxies[1]",
                "timeouts.connect",
                "rate_limits[0].per_minute",
            ]
        );
    }

    /// The example of the crate's documentation, as an embedder would read it.
    const EXAMPLE: &str = r#"
listeners:
  - address: 0.0.0.0:8080
  - address: "[::]:8443"
    tls: { cert: /etc/apiwatch/tls/cert.pem, key: /etc/apiwatch/tls/key.pem }
upstreams:
  - name: web
    targets: [http://10.0.1.10:8000]
  - name: api
    targets: [http://10.0.2.10:8000, http://10.0.2.11:8000]
    host: api.example.com
    path_prefix: /v1
    health_check: { path: /healthz, interval: 10s, timeout: 2s }
trusted_proxies: [10.0.0.0/8, 192.168.1.7]
request_id_header: x-request-id
body_inspect_bytes_max: 65536
timeouts: { connect: 5s, upstream_response_header: 30s }
max_connections: 10000
workers: 2
rate_limits:
  - { scope: address, per_minute: 600, burst: 100 }
  - { scope: user, per_minute: 120, burst: 40 }
  - { scope: route, route_prefix: /v1/login, per_minute: 60, burst: 10 }
rate_limit_keys_max: 100000
fail_mode: open
tls_reload_check_interval: 5s
"#;

    #[test]
    fn the_documented_example_validates() {
        let config: GatewayConfig = serde_saphyr::from_str(EXAMPLE).unwrap();
        let g = config.validate().unwrap();
        assert_eq!(g.listeners.len(), 2);
        assert_eq!(g.upstreams[1].targets.len(), 2);
        assert_eq!(g.upstreams[1].health.as_ref().unwrap().interval_ms, 10_000);
        assert_eq!(g.rate_limits[2].route_prefix.as_deref(), Some("/v1/login"));
        assert_eq!(g.trusted_proxies.len(), 2);
    }

    #[test]
    fn unknown_fields_are_refused() {
        let e = serde_saphyr::from_str::<GatewayConfig>(
            "listeners: []\nupstreams: []\nfail_mood: open\n",
        );
        assert!(e.unwrap_err().to_string().contains("fail_mood"));
    }

    #[test]
    fn a_target_without_port_gets_80() {
        assert_eq!(parse_target("http://backend").unwrap().as_str(), "backend:80");
        assert!(parse_target("http://backend:8080/api").is_err());
    }
}
