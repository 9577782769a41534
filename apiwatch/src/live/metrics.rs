//! The service's Prometheus metrics: one registry, families labelled by source, stage, rule.
//! Every drop and every refusal has a counter (a silent loss is a bug).

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;
use std::sync::atomic::AtomicU64;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct SourceLabel {
    pub source: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct DropLabel {
    pub source: String,
    pub reason: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct StageLabel {
    pub stage: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct QueueLabel {
    pub queue: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RuleLabel {
    pub rule: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct AlertLabel {
    pub rule: String,
    pub severity: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ResultLabel {
    pub result: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct DecisionLabel {
    pub action: String,
    pub status: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ChannelLabel {
    pub channel: String,
    pub outcome: String,
}

/// A gauge of fractional values (seconds, ratios).
pub type GaugeF = Gauge<f64, AtomicU64>;

/// Upper bounds of the detection-lag histogram, in seconds.
const LAG_BUCKETS_S: [f64; 12] =
    [0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0, 3600.0];

pub struct Metrics {
    pub registry: Registry,
    pub source_lines: Family<SourceLabel, Counter>,
    pub source_bytes: Family<SourceLabel, Counter>,
    pub unparsed: Family<SourceLabel, Counter>,
    pub drops: Family<DropLabel, Counter>,
    pub events: Family<StageLabel, Counter>,
    pub queue_depth: Family<QueueLabel, Gauge>,
    pub store_bytes: Gauge,
    pub store_segments: Gauge,
    pub store_commits: Counter,
    pub rule_events: Family<RuleLabel, Counter>,
    pub alerts: Family<AlertLabel, Counter>,
    pub detection_lag: Histogram,
    pub rule_reloads: Family<ResultLabel, Counter>,
    pub files_followed: Family<SourceLabel, Gauge>,
    pub file_rotations: Family<SourceLabel, Counter>,
    pub file_truncations: Family<SourceLabel, Counter>,
    pub up_since_seconds: Gauge<f64, AtomicU64>,
    pub incidents_opened: Counter,
    pub alerts_suppressed: Counter,
    pub decisions: Family<DecisionLabel, Counter>,
    pub notifications: Family<ChannelLabel, GaugeF>,
    /// Security KPIs per rule (`rule="all"` overall), from the state database.
    pub kpi_incidents: Family<RuleLabel, GaugeF>,
    pub kpi_mttd_seconds: Family<RuleLabel, GaugeF>,
    pub kpi_mttr_seconds: Family<RuleLabel, GaugeF>,
    pub kpi_false_positive_ratio: Family<RuleLabel, GaugeF>,
    /// The inline gateway's own counters, once it runs.
    pub gateway: super::gateway_metrics::GatewayCollector,
}

impl Metrics {
    pub fn new() -> Metrics {
        let mut registry = Registry::with_prefix("apiwatch");
        let m = Metrics {
            source_lines: Family::default(),
            source_bytes: Family::default(),
            unparsed: Family::default(),
            drops: Family::default(),
            events: Family::default(),
            queue_depth: Family::default(),
            store_bytes: Gauge::default(),
            store_segments: Gauge::default(),
            store_commits: Counter::default(),
            rule_events: Family::default(),
            alerts: Family::default(),
            detection_lag: Histogram::new(LAG_BUCKETS_S),
            rule_reloads: Family::default(),
            files_followed: Family::default(),
            file_rotations: Family::default(),
            file_truncations: Family::default(),
            up_since_seconds: Gauge::default(),
            incidents_opened: Counter::default(),
            alerts_suppressed: Counter::default(),
            decisions: Family::default(),
            notifications: Family::default(),
            kpi_incidents: Family::default(),
            kpi_mttd_seconds: Family::default(),
            kpi_mttr_seconds: Family::default(),
            kpi_false_positive_ratio: Family::default(),
            gateway: Default::default(),
            registry: Registry::default(),
        };
        registry.register_collector(Box::new(m.gateway.clone()));
        registry.register(
            "source_lines",
            "Lines (or messages) read per source",
            m.source_lines.clone(),
        );
        registry.register("source_bytes", "Bytes read per source", m.source_bytes.clone());
        registry.register(
            "unparsed_lines",
            "Lines no decoder could read, per source",
            m.unparsed.clone(),
        );
        registry.register(
            "dropped",
            "Input lost or refused, per source and reason",
            m.drops.clone(),
        );
        registry.register(
            "events",
            "Events through each stage (decoded, stored, detected)",
            m.events.clone(),
        );
        registry.register(
            "queue_depth",
            "Items waiting in each internal queue",
            m.queue_depth.clone(),
        );
        registry.register("store_bytes", "Bytes of event segments on disk", m.store_bytes.clone());
        registry.register("store_segments", "Event segments on disk", m.store_segments.clone());
        registry.register(
            "store_commits",
            "Durable commits of the event store",
            m.store_commits.clone(),
        );
        registry.register(
            "rule_events_matched",
            "Events that matched each rule's conditions",
            m.rule_events.clone(),
        );
        registry.register("alerts", "Alerts raised per rule and severity", m.alerts.clone());
        registry.register(
            "detection_lag_seconds",
            "From the last event of an alert (event time) to the alert being raised (wall time)",
            m.detection_lag.clone(),
        );
        registry.register(
            "rule_reloads",
            "Rule reloads by result (ok, failed)",
            m.rule_reloads.clone(),
        );
        registry.register(
            "files_followed",
            "Files followed now per file source",
            m.files_followed.clone(),
        );
        registry.register(
            "file_rotations",
            "Followed files seen rotated",
            m.file_rotations.clone(),
        );
        registry.register(
            "file_truncations",
            "Followed files seen truncated",
            m.file_truncations.clone(),
        );
        registry.register(
            "start_time_seconds",
            "When the service started (Unix time)",
            m.up_since_seconds.clone(),
        );
        registry.register(
            "incidents_opened",
            "Incidents opened by correlation",
            m.incidents_opened.clone(),
        );
        registry.register(
            "alerts_suppressed",
            "New alerts not notified (suppressed or muted)",
            m.alerts_suppressed.clone(),
        );
        registry.register(
            "decisions",
            "Decisions made by rules, per action and status",
            m.decisions.clone(),
        );
        registry.register(
            "notifications",
            "Notifications per channel and outcome (sent, failed, retried, dead_lettered, dropped, rate_limited) since start",
            m.notifications.clone(),
        );
        registry.register(
            "security_incidents",
            "Incidents per rule (rule=all: every incident)",
            m.kpi_incidents.clone(),
        );
        registry.register(
            "security_mttd_seconds",
            "Mean time to detect: first malicious event to the incident opening",
            m.kpi_mttd_seconds.clone(),
        );
        registry.register(
            "security_mttr_seconds",
            "Mean time to respond: incident opening to its resolution",
            m.kpi_mttr_seconds.clone(),
        );
        registry.register(
            "security_false_positive_ratio",
            "Closed incidents marked false positive, as a share of closed incidents",
            m.kpi_false_positive_ratio.clone(),
        );
        Metrics { registry, ..m }
    }

    /// The metrics in OpenMetrics text format (what the library writes).
    pub fn render_openmetrics(&self) -> String {
        let mut out = String::new();
        prometheus_client::encoding::text::encode(&mut out, &self.registry)
            .expect("writing to a String does not fail");
        out
    }

    /// The metrics in Prometheus' classic text format (0.0.4), which `promtool check
    /// metrics` and older scrapers read: see [`openmetrics_to_prometheus`].
    pub fn render(&self) -> String {
        openmetrics_to_prometheus(&self.render_openmetrics())
    }

    pub fn source(name: &str) -> SourceLabel {
        SourceLabel { source: name.to_string() }
    }

    pub fn stage(name: &str) -> StageLabel {
        StageLabel { stage: name.to_string() }
    }

    pub fn dropped(&self, source: &str, reason: &str, n: u64) {
        self.drops
            .get_or_create(&DropLabel { source: source.to_string(), reason: reason.to_string() })
            .inc_by(n);
    }
}

/// OpenMetrics names a counter family `x` and its sample `x_total`; the classic format names
/// both `x_total`. This renames counter families, and drops `# UNIT` and `# EOF`, which the
/// classic format does not have. Samples are unchanged.
pub fn openmetrics_to_prometheus(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut help: Option<&str> = None;
    for line in text.lines() {
        if line == "# EOF" || line.starts_with("# UNIT ") {
            continue;
        }
        if line.starts_with("# HELP ") {
            // Written once the TYPE line says whether the family is a counter.
            help = Some(line);
            continue;
        }
        if let Some(rest) = line.strip_prefix("# TYPE ") {
            let (name, kind) = rest.split_once(' ').unwrap_or((rest, "untyped"));
            let name = if kind == "counter" { format!("{name}_total") } else { name.to_string() };
            if let Some(h) = help.take() {
                let text = h["# HELP ".len()..].split_once(' ').map_or("", |(_, t)| t);
                out.push_str(&format!("# HELP {name} {text}\n"));
            }
            out.push_str(&format!("# TYPE {name} {kind}\n"));
            continue;
        }
        out.push_str(line);
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_registered_families_with_their_labels() {
        let m = Metrics::new();
        m.source_lines.get_or_create(&Metrics::source("gateway")).inc_by(3);
        m.dropped("edge", "udp_buffer_full", 2);
        m.detection_lag.observe(0.3);
        let text = m.render();
        assert!(text.contains("apiwatch_source_lines_total{source=\"gateway\"} 3"), "{text}");
        assert!(
            text.contains("apiwatch_dropped_total{source=\"edge\",reason=\"udp_buffer_full\"} 2"),
            "{text}"
        );
        assert!(text.contains("apiwatch_detection_lag_seconds_bucket{le=\"0.5\"} 1"), "{text}");
        assert!(text.contains("# HELP apiwatch_source_lines_total Lines"), "{text}");
        assert!(text.contains("# TYPE apiwatch_source_lines_total counter"), "{text}");
        assert!(text.contains("# TYPE apiwatch_detection_lag_seconds histogram"), "{text}");
        assert!(!text.contains("# EOF"), "{text}");
        assert!(m.render_openmetrics().ends_with("# EOF\n"));
    }
}
