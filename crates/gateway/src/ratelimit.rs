//! Rate limits (GCRA, `governor`), each keyed per address, user, consumer or route, with a
//! bounded key map: past `rate_limit_keys_max` keys, new keys share one overflow bucket (so a
//! flood of fresh addresses is limited together instead of growing memory), and stale keys are
//! dropped every `RETAIN_INTERVAL_MS`.

use crate::hooks::RateKeys;
use crate::settings::{path_under, RateLimitSpec, RateScope};
use governor::clock::{Clock, DefaultClock};
use governor::middleware::StateInformationMiddleware;
use governor::nanos::Nanos;
use governor::state::keyed::{DashMapStateStore, ShrinkableKeyedStateStore};
use governor::state::StateStore;
use governor::{Quota, RateLimiter};
use std::net::IpAddr;
use std::num::NonZeroU32;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// How often keys whose bucket is full again are forgotten: a key idle that long costs nothing
/// to recreate.
pub(crate) const RETAIN_INTERVAL_MS: u64 = 10_000;

/// What a limit is counted per.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) enum RateKey {
    Address(IpAddr),
    Name(Arc<str>),
    /// Every key that arrived while the map was full.
    Overflow,
}

/// A DashMap store that stops adding keys at `keys_max`.
pub(crate) struct BoundedStore {
    map: DashMapStateStore<RateKey>,
    keys_max: usize,
    overflowed: Arc<AtomicU64>,
}

impl StateStore for BoundedStore {
    type Key = RateKey;

    fn measure_and_replace<T, F, E>(&self, key: &RateKey, f: F) -> Result<T, E>
    where
        F: Fn(Option<Nanos>) -> Result<(T, Nanos), E>,
    {
        if self.map.len() >= self.keys_max && !self.map.contains_key(key) {
            self.overflowed.fetch_add(1, Ordering::Relaxed);
            return self.map.measure_and_replace(&RateKey::Overflow, f);
        }
        self.map.measure_and_replace(key, f)
    }
}

impl ShrinkableKeyedStateStore<RateKey> for BoundedStore {
    fn retain_recent(&self, drop_below: Nanos) {
        self.map.retain_recent(drop_below);
    }

    fn shrink_to_fit(&self) {
        self.map.shrink_to_fit();
    }

    fn len(&self) -> usize {
        self.map.len()
    }

    fn is_empty(&self) -> bool {
        self.map.is_empty()
    }
}

type Limiter = RateLimiter<RateKey, BoundedStore, DefaultClock, StateInformationMiddleware>;

struct Limit {
    spec: RateLimitSpec,
    limiter: Limiter,
    clock: DefaultClock,
}

/// Where a call stands against the limits that applied to it (the tightest one), for the
/// `RateLimit-*` fields.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct RateStatus {
    pub limit: u32,
    pub remaining: u32,
    pub reset_s: u64,
}

/// A call over a limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Exceeded {
    pub status: RateStatus,
    pub retry_after_s: u64,
}

/// All configured limits.
pub(crate) struct RateLimits {
    limits: Vec<Limit>,
    overflowed: Arc<AtomicU64>,
}

impl RateLimits {
    pub fn new(specs: &[RateLimitSpec], keys_max: usize) -> Self {
        let overflowed = Arc::new(AtomicU64::new(0));
        let limits = specs
            .iter()
            .map(|spec| {
                // Validation proved both are at least 1.
                let burst = NonZeroU32::new(spec.burst).expect("validated burst");
                let period = Duration::from_nanos(60_000_000_000 / u64::from(spec.per_minute));
                let quota = Quota::with_period(period).expect("validated rate").allow_burst(burst);
                let store = BoundedStore {
                    map: DashMapStateStore::default(),
                    keys_max,
                    overflowed: overflowed.clone(),
                };
                let clock = DefaultClock::default();
                let limiter = Limiter::new(quota, store, clock.clone());
                Limit { spec: spec.clone(), limiter, clock }
            })
            .collect();
        RateLimits { limits, overflowed }
    }

    pub fn is_empty(&self) -> bool {
        self.limits.is_empty()
    }

    /// Counts the call against every limit that applies; the first exceeded one refuses it.
    /// `Ok(None)`: no limit applied.
    pub fn check(
        &self,
        client_ip: IpAddr,
        keys: &RateKeys,
        path: &str,
        upstream: Option<&str>,
    ) -> Result<Option<RateStatus>, Exceeded> {
        let mut tightest: Option<RateStatus> = None;
        for limit in &self.limits {
            if let Some(prefix) = &limit.spec.route_prefix {
                if !path_under(path, prefix) {
                    continue;
                }
            }
            let key = match limit.spec.scope {
                RateScope::Address => RateKey::Address(client_ip),
                RateScope::User => match &keys.user {
                    Some(u) => RateKey::Name(u.as_str().into()),
                    None => continue,
                },
                RateScope::Consumer => match &keys.consumer {
                    Some(c) => RateKey::Name(c.as_str().into()),
                    None => continue,
                },
                RateScope::Route => match (&limit.spec.route_prefix, upstream) {
                    (Some(prefix), _) => RateKey::Name(prefix.as_str().into()),
                    (None, Some(name)) => RateKey::Name(name.into()),
                    (None, None) => continue,
                },
            };
            let period_ns = 60_000_000_000 / u64::from(limit.spec.per_minute);
            match limit.limiter.check_key(&key) {
                Ok(snapshot) => {
                    let remaining = snapshot.remaining_burst_capacity();
                    let status = RateStatus {
                        limit: limit.spec.burst,
                        remaining,
                        // Until the bucket is full again.
                        reset_s: ceil_s(
                            u64::from(limit.spec.burst - remaining.min(limit.spec.burst))
                                * period_ns,
                        ),
                    };
                    if tightest.is_none_or(|t| status.remaining < t.remaining) {
                        tightest = Some(status);
                    }
                }
                Err(not_until) => {
                    let wait = not_until.wait_time_from(limit.clock.now());
                    let retry_after_s = ceil_s(wait.as_nanos() as u64).max(1);
                    return Err(Exceeded {
                        status: RateStatus {
                            limit: limit.spec.burst,
                            remaining: 0,
                            reset_s: retry_after_s,
                        },
                        retry_after_s,
                    });
                }
            }
        }
        Ok(tightest)
    }

    /// Forgets keys whose bucket is full again.
    pub fn retain_recent(&self) {
        for limit in &self.limits {
            limit.limiter.retain_recent();
        }
    }

    /// Keys tracked, over all limits.
    pub fn keys(&self) -> usize {
        self.limits.iter().map(|l| l.limiter.len()).sum()
    }

    /// Calls counted in an overflow bucket because a key map was full.
    pub fn overflowed(&self) -> u64 {
        self.overflowed.load(Ordering::Relaxed)
    }
}

fn ceil_s(ns: u64) -> u64 {
    ns.div_ceil(1_000_000_000)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits(scope: RateScope, burst: u32, keys_max: usize) -> RateLimits {
        RateLimits::new(
            &[RateLimitSpec { scope, route_prefix: None, per_minute: 60, burst }],
            keys_max,
        )
    }

    #[test]
    fn the_burst_passes_then_calls_are_refused_per_address() {
        let l = limits(RateScope::Address, 3, 100);
        let a: IpAddr = "1.1.1.1".parse().unwrap();
        let b: IpAddr = "2.2.2.2".parse().unwrap();
        let keys = RateKeys::default();
        let remaining: Vec<u32> =
            (0..3).map(|_| l.check(a, &keys, "/", None).unwrap().unwrap().remaining).collect();
        assert_eq!(remaining, [2, 1, 0]);
        let e = l.check(a, &keys, "/", None).unwrap_err();
        assert_eq!(e.retry_after_s, 1);
        assert!(l.check(b, &keys, "/", None).is_ok());
    }

    #[test]
    fn user_limits_skip_calls_without_a_user() {
        let l = limits(RateScope::User, 1, 100);
        let ip: IpAddr = "1.1.1.1".parse().unwrap();
        assert_eq!(l.check(ip, &RateKeys::default(), "/", None), Ok(None));
        let alice = RateKeys { user: Some("alice".into()), consumer: None };
        assert!(l.check(ip, &alice, "/", None).is_ok());
        assert!(l.check(ip, &alice, "/", None).is_err());
    }

    #[test]
    fn a_full_key_map_sends_new_keys_to_one_shared_bucket() {
        let l = limits(RateScope::Address, 1, 2);
        let keys = RateKeys::default();
        for i in 0..2u8 {
            assert!(l.check(IpAddr::from([10, 0, 0, i]), &keys, "/", None).is_ok());
        }
        assert!(l.check(IpAddr::from([10, 0, 1, 0]), &keys, "/", None).is_ok());
        assert!(l.check(IpAddr::from([10, 0, 1, 1]), &keys, "/", None).is_err());
        assert_eq!(l.overflowed(), 2);
    }
}
