//! The response side's figures on `/metrics`: the security KPIs (from the state database) and
//! each notification channel's counters (from the notifier), refreshed every few seconds.

use super::Responder;
use crate::live::metrics::{ChannelLabel, RuleLabel};
use apiwatch_state::Kpis;

impl Responder {
    /// Reads the KPIs over every incident and each channel's counters into the gauges.
    pub(super) fn refresh_metrics(&self) -> anyhow::Result<()> {
        let m = self.state.security_metrics(i64::MIN, i64::MAX)?;
        let set = |rule: &str, k: &Kpis| {
            let label = RuleLabel { rule: rule.to_string() };
            // One family handle per statement (a lookup guard lives to the statement's end).
            self.metrics.kpi_incidents.get_or_create(&label).set(k.incidents as f64);
            if let Some(ms) = k.mean_time_to_detect_ms {
                self.metrics.kpi_mttd_seconds.get_or_create(&label).set(ms / 1000.0);
            }
            if let Some(ms) = k.mean_time_to_respond_ms {
                self.metrics.kpi_mttr_seconds.get_or_create(&label).set(ms / 1000.0);
            }
            if let Some(r) = k.false_positive_rate {
                self.metrics.kpi_false_positive_ratio.get_or_create(&label).set(r);
            }
        };
        set("all", &m.overall);
        for r in &m.per_rule {
            set(&r.rule, &r.kpis);
        }
        let inner = self.inner.lock().expect("responder lock");
        for c in inner.notifier.iter().flat_map(|n| n.stats()) {
            for (outcome, n) in [
                ("sent", c.sent),
                ("failed", c.failed),
                ("retried", c.retried),
                ("dead_lettered", c.dead_lettered),
                ("dropped", c.dropped),
                ("rate_limited", c.rate_limited),
            ] {
                let label = ChannelLabel { channel: c.channel.clone(), outcome: outcome.into() };
                self.metrics.notifications.get_or_create(&label).set(n as f64);
            }
        }
        Ok(())
    }
}
