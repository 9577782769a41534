//! The inline gateway's counters on `/metrics`, read from the gateway at each scrape (a
//! collector, not copies kept in step): calls by outcome, upstream failures, lost records,
//! connections, certificate reloads, rate-limit keys and each target's health.

use apiwatch_gateway::StatsHandle;
use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeMetric};
use prometheus_client::metrics::counter::ConstCounter;
use prometheus_client::metrics::gauge::ConstGauge;
use std::sync::{Arc, OnceLock};

/// Set once the gateway has started; until then (and without a gateway) nothing is exported.
#[derive(Debug, Default, Clone)]
pub struct GatewayCollector(pub Arc<OnceLock<StatsHandle>>);

impl Collector for GatewayCollector {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        let Some(s) = self.0.get().and_then(|h| h.snapshot()) else { return Ok(()) };
        {
            let calls = ConstCounter::new(0u64);
            let mut family = encoder.encode_descriptor(
                "gateway_calls",
                "Calls through the gateway, by how they ended",
                None,
                calls.metric_type(),
            )?;
            for (outcome, n) in s.calls {
                let labels = [("outcome", outcome.as_str())];
                ConstCounter::new(n).encode(family.encode_family(&labels)?)?;
            }
        }
        let counters = [
            (
                "gateway_upstream_errors",
                "Upstream connections or answers that failed (timeouts included)",
                s.upstream_errors,
            ),
            (
                "gateway_upstream_timeouts",
                "Upstreams that sent no response headers in time",
                s.upstream_timeouts,
            ),
            (
                "gateway_records_dropped",
                "Call records lost because the pipeline was full",
                s.records_dropped_overloaded,
            ),
            (
                "gateway_fail_open_calls",
                "Calls forwarded while the pipeline was full (fail_mode: open)",
                s.fail_open_calls,
            ),
            ("gateway_connections_accepted", "Client connections accepted", s.connections_accepted),
            (
                "gateway_health_changes",
                "Times an upstream target went in or out of rotation",
                s.health_changes,
            ),
            ("gateway_tls_reloads", "Certificate reloads that took effect", s.tls_reloads),
            (
                "gateway_tls_reload_errors",
                "Certificate reloads refused (the old certificate stays)",
                s.tls_reload_errors,
            ),
            (
                "gateway_rate_limit_keys_overflowed",
                "Calls counted in a shared bucket because a rate limit's key table was full",
                s.rate_limit_keys_overflowed,
            ),
        ];
        for (name, help, value) in counters {
            let c = ConstCounter::new(value);
            c.encode(encoder.encode_descriptor(name, help, None, c.metric_type())?)?;
        }
        let gauges = [
            ("gateway_connections_open", "Client connections open now", s.connections_open),
            ("gateway_rate_limit_keys", "Keys tracked now by all rate limits", s.rate_limit_keys),
        ];
        for (name, help, value) in gauges {
            let g = ConstGauge::new(value as i64);
            g.encode(encoder.encode_descriptor(name, help, None, g.metric_type())?)?;
        }
        let healthy = ConstGauge::new(0i64);
        let mut family = encoder.encode_descriptor(
            "gateway_target_healthy",
            "Whether an upstream target is in rotation (1) or not (0)",
            None,
            healthy.metric_type(),
        )?;
        for t in &s.targets {
            let labels = [("upstream", t.upstream.as_str()), ("target", t.target.as_str())];
            ConstGauge::new(i64::from(t.healthy)).encode(family.encode_family(&labels)?)?;
        }
        Ok(())
    }
}
