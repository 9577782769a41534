//! Upstreams and their targets: which upstream a call goes to (the most specific match of host
//! and path prefix), and which of its targets (the next healthy one, in turn).

use crate::settings::{path_under, HealthCheck, UpstreamSpec};
use http::uri::Authority;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;

/// One instance of an upstream.
#[derive(Debug)]
pub(crate) struct Target {
    pub authority: Authority,
    /// Set by health probes; true until a probe fails. Shared by every worker's copy.
    pub healthy: Arc<AtomicBool>,
}

/// One upstream service.
#[derive(Debug)]
pub(crate) struct Upstream {
    pub name: String,
    host: Option<String>,
    path_prefix: Option<String>,
    pub targets: Vec<Target>,
    pub health: Option<HealthCheck>,
    next: AtomicUsize,
}

impl Upstream {
    /// The next healthy target, round robin; `None` when all are down.
    pub fn pick_target(&self) -> Option<&Target> {
        if let [only] = &self.targets[..] {
            return only.healthy.load(Ordering::Relaxed).then_some(only);
        }
        let start = self.next.fetch_add(1, Ordering::Relaxed);
        self.first_healthy_from(start, &[])
    }

    /// The next healthy target not in `tried` (targets a call could not connect to), without
    /// moving the rotation: a retry does not take another call's turn.
    pub fn pick_target_except(&self, tried: &[Authority]) -> Option<&Target> {
        self.first_healthy_from(self.next.load(Ordering::Relaxed), tried)
    }

    fn first_healthy_from(&self, start: usize, tried: &[Authority]) -> Option<&Target> {
        let n = self.targets.len();
        (0..n)
            .map(|i| &self.targets[(start + i) % n])
            .find(|t| t.healthy.load(Ordering::Relaxed) && !tried.contains(&t.authority))
    }
}

/// All upstreams, in configuration order.
#[derive(Debug)]
pub(crate) struct Routes {
    pub upstreams: Vec<Arc<Upstream>>,
}

impl Routes {
    pub fn new(specs: &[UpstreamSpec]) -> Self {
        let upstreams = specs
            .iter()
            .map(|s| {
                let fresh = |a: &Authority| Target {
                    authority: a.clone(),
                    healthy: Arc::new(AtomicBool::new(true)),
                };
                let targets = s.targets.iter().map(fresh).collect();
                upstream(&s.name, &s.host, &s.path_prefix, &s.health, targets)
            })
            .collect();
        Routes { upstreams }
    }

    /// A copy for one worker thread: the same health flags, but its own turn counters and its
    /// own copies of the target addresses, whose reference counts the worker alone touches on
    /// every call.
    pub fn copy_for_worker(&self) -> Self {
        let upstreams = self
            .upstreams
            .iter()
            .map(|u| {
                let copy = |t: &Target| Target {
                    authority: own_copy(&t.authority),
                    healthy: Arc::clone(&t.healthy),
                };
                let targets = u.targets.iter().map(copy).collect();
                upstream(&u.name, &u.host, &u.path_prefix, &u.health, targets)
            })
            .collect();
        Routes { upstreams }
    }

    /// The upstream for `host` (lowercase, no port) and `path`: among those that match, a host
    /// match beats none, then the longest path prefix; ties go to the first configured.
    pub fn select(&self, host: &str, path: &str) -> Option<&Arc<Upstream>> {
        let mut best: Option<(&Arc<Upstream>, (bool, usize))> = None;
        for u in &self.upstreams {
            if u.host.as_deref().is_some_and(|h| h != host) {
                continue;
            }
            if u.path_prefix.as_deref().is_some_and(|p| !path_under(path, p)) {
                continue;
            }
            let rank = (u.host.is_some(), u.path_prefix.as_ref().map_or(0, String::len));
            if best.as_ref().is_none_or(|(_, r)| rank > *r) {
                best = Some((u, rank));
            }
        }
        best.map(|(u, _)| u)
    }
}

/// An upstream with its turn counter at the start.
fn upstream(
    name: &str,
    host: &Option<String>,
    path_prefix: &Option<String>,
    health: &Option<HealthCheck>,
    targets: Vec<Target>,
) -> Arc<Upstream> {
    Arc::new(Upstream {
        name: name.to_string(),
        host: host.clone(),
        path_prefix: path_prefix.clone(),
        targets,
        health: health.clone(),
        next: AtomicUsize::new(0),
    })
}

/// `authority` in memory of its own (a clone would share the original's reference count).
fn own_copy(authority: &Authority) -> Authority {
    Authority::from_maybe_shared(bytes::Bytes::copy_from_slice(authority.as_str().as_bytes()))
        .unwrap_or_else(|_| authority.clone())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(name: &str, host: Option<&str>, prefix: Option<&str>) -> UpstreamSpec {
        UpstreamSpec {
            name: name.into(),
            targets: vec!["127.0.0.1:1".parse().unwrap()],
            host: host.map(Into::into),
            path_prefix: prefix.map(Into::into),
            health: None,
        }
    }

    #[test]
    fn the_most_specific_upstream_wins() {
        let r = Routes::new(&[
            spec("default", None, None),
            spec("api", None, Some("/api")),
            spec("api-v2", None, Some("/api/v2")),
            spec("admin", Some("admin.example.com"), None),
            spec("admin-api", Some("admin.example.com"), Some("/api")),
        ]);
        let pick = |host, path| r.select(host, path).map(|u| u.name.as_str());
        assert_eq!(pick("x", "/"), Some("default"));
        assert_eq!(pick("x", "/api"), Some("api"));
        assert_eq!(pick("x", "/apix"), Some("default"));
        assert_eq!(pick("x", "/api/v2/users"), Some("api-v2"));
        assert_eq!(pick("admin.example.com", "/api/v2"), Some("admin-api"));
        assert_eq!(pick("admin.example.com", "/login"), Some("admin"));
    }
}
