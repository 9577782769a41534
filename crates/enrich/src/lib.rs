//! Enrichment: adds what the log line does not say — the client behind the proxies, where it is
//! and whose network it uses, who called (from tokens), which route was called and what kind of
//! agent called.
//!
//! Invariants:
//! - nothing is fetched, ever, and nothing is read on the hot path: the GeoIP databases and the
//!   OpenAPI document are read once by [`Enricher::build`]; [`EnrichWorker::enrich`] does no I/O;
//! - secrets are never copied: token claims are read (not verified) and the token itself is not
//!   kept anywhere (the identity cache keys on a JWT's payload, never on its signature, and
//!   Basic credentials are not cached); API keys are left in place for redaction to
//!   pseudonymise;
//! - every cache is per worker (no locks on the hot path), has a named limit
//!   ([`EnrichLimits`]) and counts what it evicts ([`EnrichStats`]);
//! - no input makes it panic: every step tolerates any string in any field.
#![forbid(unsafe_code)]

mod cache;
mod error;
mod geo;
mod identity;
pub mod inspect;
mod proxy;
mod routes;
mod stats;
mod ua;

pub use error::{EnrichError, OpenApiProblem};
pub use proxy::default_trusted_proxies;
pub use routes::templatize::templatize_path;
pub use stats::{CacheStats, EnrichStats};

use apiwatch_core::{EventData, Geo, Text, UaClass};
use cache::BoundedCache;
use std::net::IpAddr;
use std::path::PathBuf;
use std::sync::Arc;

/// What enrichment reads and how it resolves clients; see [`EnrichConfig::default`].
#[derive(Clone, Debug)]
pub struct EnrichConfig {
    /// MaxMind City (or Country) database.
    pub geoip_city: Option<PathBuf>,
    /// MaxMind ASN database.
    pub geoip_asn: Option<PathBuf>,
    /// OpenAPI 3.0 or 3.1 document, JSON or YAML.
    pub openapi: Option<PathBuf>,
    /// Peers whose forwarding headers are believed.
    pub trusted_proxies: Vec<ipnet::IpNet>,
    /// Request headers that carry API keys (lower-case). Enrichment never copies them; the list
    /// is validated here and handed on to redaction through [`Enricher::api_key_headers`].
    pub api_key_headers: Vec<String>,
    /// Query parameters that carry API keys; see [`Enricher::api_key_params`].
    pub api_key_params: Vec<String>,
    /// Cache sizes and input bounds.
    pub limits: EnrichLimits,
}

impl Default for EnrichConfig {
    fn default() -> Self {
        EnrichConfig {
            geoip_city: None,
            geoip_asn: None,
            openapi: None,
            trusted_proxies: default_trusted_proxies(),
            api_key_headers: ["x-api-key", "api-key", "apikey", "x-auth-token"]
                .map(String::from)
                .to_vec(),
            api_key_params: ["api_key", "apikey", "key", "access_token"].map(String::from).to_vec(),
            limits: EnrichLimits::default(),
        }
    }
}

/// Per-worker cache sizes and input bounds. Memory per worker is bounded by roughly
/// `route_cache_entries_max + ua_cache_entries_max` times `cache_key_bytes_max`, plus the GeoIP
/// cache (one address and one pointer per entry), plus `identity_cache_entries_max` JWT
/// payloads of at most 2 KiB with their claims: about 20 MiB with the defaults.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct EnrichLimits {
    /// Addresses whose location is remembered. 65,536 covers the distinct clients of a busy
    /// API for minutes; when full, the cache is cleared (cheap, and hot addresses return).
    pub geo_cache_entries_max: usize,
    /// Paths whose route template is remembered.
    pub route_cache_entries_max: usize,
    /// User agents whose class is remembered; real traffic has a few thousand distinct ones.
    pub ua_cache_entries_max: usize,
    /// JWT payloads whose identity is remembered: one per live session token.
    pub identity_cache_entries_max: usize,
    /// Paths and user agents longer than this are classified every time but never cached, so
    /// that long attack strings cannot fill memory.
    pub cache_key_bytes_max: usize,
    /// `authorization` headers longer than this are not decoded (a real JWT is 1–2 KiB).
    pub identity_header_bytes_max: usize,
    /// Forwarding entries examined per event, from the right; legitimate chains are a few hops.
    pub forwarded_hops_max: usize,
}

impl Default for EnrichLimits {
    fn default() -> Self {
        EnrichLimits {
            geo_cache_entries_max: 65_536,
            route_cache_entries_max: 16_384,
            ua_cache_entries_max: 8_192,
            identity_cache_entries_max: 4_096,
            cache_key_bytes_max: 512,
            identity_header_bytes_max: 8 * 1024,
            forwarded_hops_max: 32,
        }
    }
}

/// What the OpenAPI document says of a call (the shadow-API check).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Documentation {
    /// No document is configured: nothing can be said.
    NoDocument,
    /// The path and the method are described.
    Documented,
    /// No path of the document matches.
    UndocumentedRoute,
    /// The path is described, the method is not.
    UndocumentedMethod,
}

/// The read-only part of enrichment, built once and shared by the workers through an `Arc`.
pub struct Enricher {
    trusted: proxy::TrustedProxies,
    geo: geo::GeoDatabases,
    routes: Option<routes::ApiRoutes>,
    ua: ua::UaClassifier,
    limits: EnrichLimits,
    api_key_headers: Vec<String>,
    api_key_params: Vec<String>,
}

impl std::fmt::Debug for Enricher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Enricher")
            .field("geo", &self.geo)
            .field("openapi_paths", &self.routes.as_ref().map(|r| r.path_count()))
            .field("limits", &self.limits)
            .finish_non_exhaustive()
    }
}

impl Enricher {
    /// Reads the configured files and validates the configuration. All file reading happens
    /// here; errors name the file (and for OpenAPI, every problem's place in the document).
    pub fn build(cfg: &EnrichConfig) -> Result<Enricher, EnrichError> {
        let limits = cfg.limits;
        validate_limits(&limits)?;
        let api_key_headers = validate_names("api_key_headers", &cfg.api_key_headers, true)?;
        let api_key_params = validate_names("api_key_params", &cfg.api_key_params, false)?;
        let geo = geo::GeoDatabases::open(cfg.geoip_city.as_deref(), cfg.geoip_asn.as_deref())?;
        let routes = match &cfg.openapi {
            Some(path) => Some(routes::ApiRoutes::load(path)?),
            None => None,
        };
        Ok(Enricher {
            trusted: proxy::TrustedProxies::new(&cfg.trusted_proxies),
            geo,
            routes,
            ua: ua::UaClassifier::new()?,
            limits,
            api_key_headers,
            api_key_params,
        })
    }

    /// A worker for one thread; it owns its caches, so enrichment takes no lock.
    pub fn worker(self: &Arc<Self>) -> EnrichWorker {
        let l = &self.limits;
        EnrichWorker {
            shared: Arc::clone(self),
            geo_cache: BoundedCache::new(l.geo_cache_entries_max),
            route_cache: BoundedCache::new(l.route_cache_entries_max),
            ua_cache: BoundedCache::new(l.ua_cache_entries_max),
            identity_cache: BoundedCache::new(l.identity_cache_entries_max),
            stats: EnrichStats::default(),
        }
    }

    /// API-key header names (lower-case), for redaction.
    pub fn api_key_headers(&self) -> &[String] {
        &self.api_key_headers
    }

    /// API-key query parameter names, for redaction.
    pub fn api_key_params(&self) -> &[String] {
        &self.api_key_params
    }

    /// Whether the OpenAPI document describes a call; `NoDocument` when none is configured.
    /// Answered from memory (no cache): the gateway asks it before forwarding a call.
    pub fn documentation(&self, method: &str, target: &str) -> Documentation {
        self.routes.as_ref().map_or(Documentation::NoDocument, |r| r.documentation(method, target))
    }

    /// Problems in the OpenAPI document that did not stop loading (external `$ref`s, routes
    /// that duplicate another after trailing-slash folding), each with its place.
    pub fn openapi_warnings(&self) -> &[OpenApiProblem] {
        self.routes.as_ref().map_or(&[], |r| r.warnings())
    }
}

fn validate_limits(l: &EnrichLimits) -> Result<(), EnrichError> {
    let checks = [
        ("limits.geo_cache_entries_max", l.geo_cache_entries_max),
        ("limits.route_cache_entries_max", l.route_cache_entries_max),
        ("limits.ua_cache_entries_max", l.ua_cache_entries_max),
        ("limits.identity_cache_entries_max", l.identity_cache_entries_max),
        ("limits.cache_key_bytes_max", l.cache_key_bytes_max),
        ("limits.identity_header_bytes_max", l.identity_header_bytes_max),
        ("limits.forwarded_hops_max", l.forwarded_hops_max),
    ];
    match checks.iter().find(|(_, v)| *v == 0) {
        Some((field, _)) => {
            Err(EnrichError::Config { field, message: "must be at least 1".to_string() })
        }
        None => Ok(()),
    }
}

/// Header and parameter names: non-empty, no spaces or separators; headers are folded to
/// lower case because decoders store header names in lower case.
fn validate_names(
    field: &'static str,
    names: &[String],
    lower: bool,
) -> Result<Vec<String>, EnrichError> {
    let mut out = Vec::with_capacity(names.len());
    for name in names {
        let bad = name.is_empty()
            || name.bytes().any(|b| b.is_ascii_whitespace() || b.is_ascii_control())
            || name.contains([':', '=', '&', '?']);
        if bad {
            return Err(EnrichError::Config {
                field,
                message: format!("{name:?} is not a valid name"),
            });
        }
        let name = if lower { name.to_ascii_lowercase() } else { name.clone() };
        if !out.contains(&name) {
            out.push(name);
        }
    }
    Ok(out)
}

/// Enriches events on one thread, with its own caches.
pub struct EnrichWorker {
    shared: Arc<Enricher>,
    geo_cache: BoundedCache<IpAddr, Option<Arc<Geo>>>,
    route_cache: BoundedCache<Box<str>, routes::RouteEntry>,
    ua_cache: BoundedCache<Box<str>, UaClass>,
    identity_cache: identity::IdentityCache,
    stats: EnrichStats,
}

impl EnrichWorker {
    /// Adds the client address, location, identity, route and user-agent class to an event.
    /// Fields a decoder already set are kept.
    pub fn enrich(&mut self, ev: &mut EventData) {
        self.stats.events += 1;
        let limits = self.shared.limits;
        proxy::resolve_client(ev, &self.shared.trusted, limits.forwarded_hops_max, &mut self.stats);
        self.enrich_geo(ev);
        identity::apply(
            ev,
            limits.identity_header_bytes_max,
            &mut self.identity_cache,
            &mut self.stats,
        );
        self.enrich_route(ev);
        self.enrich_user_agent(ev);
    }

    /// What the OpenAPI document says of a call; see [`Enricher::documentation`].
    pub fn documentation(&self, method: &str, target: &str) -> Documentation {
        self.shared.documentation(method, target)
    }

    /// Counters since the worker was made, including its caches'.
    pub fn stats(&self) -> EnrichStats {
        let mut s = self.stats;
        s.geo_cache = self.geo_cache.stats();
        s.route_cache = self.route_cache.stats();
        s.ua_cache = self.ua_cache.stats();
        s.identity_cache = self.identity_cache.stats();
        s
    }

    fn enrich_geo(&mut self, ev: &mut EventData) {
        let shared = &*self.shared;
        let Some(ip) = ev.source_ip else { return };
        if ev.geo.is_some() || shared.geo.is_empty() {
            return;
        }
        let ip = ip.to_canonical();
        let geo = match self.geo_cache.get(&ip) {
            Some(hit) => hit,
            None => {
                let found = match shared.geo.lookup(ip) {
                    Ok(Some(geo)) => Some(Arc::new(geo)),
                    Ok(None) => {
                        self.stats.geo_not_found += 1;
                        None
                    }
                    Err(_) => {
                        // A damaged record: remembered as unknown so it is not decoded again.
                        self.stats.geo_lookups_failed += 1;
                        None
                    }
                };
                self.geo_cache.insert(ip, found.clone());
                found
            }
        };
        ev.geo = geo;
    }

    fn enrich_route(&mut self, ev: &mut EventData) {
        if ev.http_route.is_some() {
            return;
        }
        let Some(raw) = ev.url_path.as_deref() else { return };
        let path = routes::request_path(raw);
        let shared = &*self.shared;
        let cacheable = path.len() <= shared.limits.cache_key_bytes_max;
        if cacheable {
            if let Some(entry) = self.route_cache.get_ref(path) {
                ev.http_route = Some(Text::from(&*entry.template));
                if let Some(api) = &shared.routes {
                    api.annotate(ev, entry, &mut self.stats);
                }
                return;
            }
        }
        let entry = routes::resolve(shared.routes.as_ref(), path);
        let key: Option<Box<str>> = cacheable.then(|| path.into());
        ev.http_route = Some(Text::from(&*entry.template));
        if let Some(api) = &shared.routes {
            api.annotate(ev, &entry, &mut self.stats);
        }
        match key {
            Some(key) => self.route_cache.insert(key, entry),
            None => self.route_cache.count_uncacheable(),
        }
    }

    fn enrich_user_agent(&mut self, ev: &mut EventData) {
        if ev.user_agent_class.is_some() {
            return;
        }
        let Some(agent) = ev.user_agent.as_deref() else {
            ev.user_agent_class = Some(UaClass::Empty);
            return;
        };
        let shared = &*self.shared;
        let cacheable = agent.len() <= shared.limits.cache_key_bytes_max;
        let cached = if cacheable { self.ua_cache.get(agent) } else { None };
        let class = match cached {
            Some(class) => class,
            None => {
                let class = shared.ua.classify(agent);
                if cacheable {
                    self.ua_cache.insert(agent.into(), class);
                } else {
                    self.ua_cache.count_uncacheable();
                }
                class
            }
        };
        ev.user_agent_class = Some(class);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn assert_send_sync<T: Send + Sync>() {}
    fn assert_send<T: Send>() {}

    #[test]
    fn enricher_is_shared_and_workers_move_between_threads() {
        assert_send_sync::<Enricher>();
        assert_send::<EnrichWorker>();
    }

    #[test]
    fn zero_limits_are_refused_with_their_name() {
        let mut cfg = EnrichConfig::default();
        cfg.limits.ua_cache_entries_max = 0;
        let err = Enricher::build(&cfg).unwrap_err().to_string();
        assert!(err.contains("limits.ua_cache_entries_max"), "{err}");
    }

    #[test]
    fn api_key_names_are_validated_and_headers_folded_to_lower_case() {
        let cfg = EnrichConfig {
            api_key_headers: vec!["X-Api-Key".into(), "x-api-key".into()],
            ..EnrichConfig::default()
        };
        let e = Enricher::build(&cfg).unwrap();
        assert_eq!(e.api_key_headers(), ["x-api-key"]);
        let cfg = EnrichConfig { api_key_params: vec!["a key".into()], ..EnrichConfig::default() };
        let err = Enricher::build(&cfg).unwrap_err().to_string();
        assert!(err.starts_with("api_key_params:"), "{err}");
    }

    #[test]
    fn absent_user_agent_is_classed_empty() {
        let e = Arc::new(Enricher::build(&EnrichConfig::default()).unwrap());
        let mut w = e.worker();
        let mut ev = EventData::default();
        w.enrich(&mut ev);
        assert_eq!(ev.user_agent_class, Some(UaClass::Empty));
        assert_eq!(ev.http_route, None);
        assert_eq!(w.stats().events, 1);
    }
}
