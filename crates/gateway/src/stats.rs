//! The gateway's counters: every call ends in exactly one outcome, every lost record and
//! upstream failure is counted. `stats()` reads them into a `GatewayStats` snapshot.

use crate::record::Outcome;
use std::sync::atomic::{AtomicU64, Ordering};

/// Counters, updated through the typed methods below only.
#[derive(Debug, Default)]
pub(crate) struct Telemetry {
    calls: [AtomicU64; Outcome::ALL.len()],
    upstream_errors: AtomicU64,
    upstream_timeouts: AtomicU64,
    upstream_retries: AtomicU64,
    records_dropped_overloaded: AtomicU64,
    fail_open_calls: AtomicU64,
    connections_accepted: AtomicU64,
    connections_open: AtomicU64,
    health_changes: AtomicU64,
    tls_reloads: AtomicU64,
    tls_reload_errors: AtomicU64,
}

impl Telemetry {
    pub fn call_ended(&self, outcome: Outcome) {
        self.calls[outcome.index()].fetch_add(1, Ordering::Relaxed);
    }
    pub fn upstream_failed(&self, timed_out: bool) {
        self.upstream_errors.fetch_add(1, Ordering::Relaxed);
        if timed_out {
            self.upstream_timeouts.fetch_add(1, Ordering::Relaxed);
        }
    }
    pub fn upstream_retried(&self) {
        self.upstream_retries.fetch_add(1, Ordering::Relaxed);
    }
    pub fn record_dropped(&self) {
        self.records_dropped_overloaded.fetch_add(1, Ordering::Relaxed);
    }
    pub fn proceeded_while_overloaded(&self) {
        self.fail_open_calls.fetch_add(1, Ordering::Relaxed);
    }
    /// Counts a connection open until the returned guard is dropped.
    pub fn connection_opened(&self) -> OpenConnection<'_> {
        self.connections_accepted.fetch_add(1, Ordering::Relaxed);
        self.connections_open.fetch_add(1, Ordering::Relaxed);
        OpenConnection(self)
    }
    pub fn health_changed(&self) {
        self.health_changes.fetch_add(1, Ordering::Relaxed);
    }
    pub fn tls_reloaded(&self, ok: bool) {
        let counter = if ok { &self.tls_reloads } else { &self.tls_reload_errors };
        counter.fetch_add(1, Ordering::Relaxed);
    }

    pub fn snapshot(&self) -> GatewayStats {
        let get = |c: &AtomicU64| c.load(Ordering::Relaxed);
        GatewayStats {
            calls: Outcome::ALL.map(|o| (o, get(&self.calls[o.index()]))),
            upstream_errors: get(&self.upstream_errors),
            upstream_timeouts: get(&self.upstream_timeouts),
            upstream_retries: get(&self.upstream_retries),
            records_dropped_overloaded: get(&self.records_dropped_overloaded),
            fail_open_calls: get(&self.fail_open_calls),
            connections_accepted: get(&self.connections_accepted),
            connections_open: get(&self.connections_open),
            health_changes: get(&self.health_changes),
            tls_reloads: get(&self.tls_reloads),
            tls_reload_errors: get(&self.tls_reload_errors),
            rate_limit_keys: 0,
            rate_limit_keys_overflowed: 0,
            targets: Vec::new(),
        }
    }
}

/// An open client connection, counted until dropped.
pub(crate) struct OpenConnection<'a>(&'a Telemetry);

impl Drop for OpenConnection<'_> {
    fn drop(&mut self) {
        self.0.connections_open.fetch_sub(1, Ordering::Relaxed);
    }
}

/// A snapshot of the gateway's counters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GatewayStats {
    /// Calls ended, by outcome (every outcome listed, in `Outcome::ALL` order).
    pub calls: [(Outcome, u64); Outcome::ALL.len()],
    /// Upstream connections or responses that failed (timeouts included).
    pub upstream_errors: u64,
    /// Upstreams that sent no response headers in time.
    pub upstream_timeouts: u64,
    /// Calls sent again to another target after a target refused the connection.
    pub upstream_retries: u64,
    /// Records `Hooks::record` refused (`Overloaded`).
    pub records_dropped_overloaded: u64,
    /// Calls admitted while the embedder said it was not ready (`fail_mode: open`).
    pub fail_open_calls: u64,
    /// Client connections accepted since start.
    pub connections_accepted: u64,
    /// Client connections open now.
    pub connections_open: u64,
    /// Times a target went up or down.
    pub health_changes: u64,
    /// Certificate reloads that took effect.
    pub tls_reloads: u64,
    /// Certificate reloads refused (the old certificate stays).
    pub tls_reload_errors: u64,
    /// Keys tracked now by all rate limits.
    pub rate_limit_keys: u64,
    /// Calls counted in a shared bucket because a rate limit's key map was full.
    pub rate_limit_keys_overflowed: u64,
    /// Every target and whether it is in rotation.
    pub targets: Vec<TargetHealth>,
}

impl GatewayStats {
    /// Calls that ended with `outcome`.
    pub fn calls(&self, outcome: Outcome) -> u64 {
        self.calls[outcome.index()].1
    }
}

/// Health of one target.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TargetHealth {
    /// The upstream's name.
    pub upstream: String,
    /// `host:port`.
    pub target: String,
    /// Whether calls go to it.
    pub healthy: bool,
}
