//! Rules and enrichment files (GeoIP, ASN, OpenAPI) reload on SIGHUP and when one of their
//! files changes: the new set is built beside the running one and swapped in only if it
//! loads; a failure leaves the old one running and says why. Also waits for the signals that
//! stop the service.

use super::feed::Feed;
use super::metrics::{Metrics, ResultLabel};
use crate::config::ReplayConfig;
use apiwatch_detect::RuleSet;
use crossbeam_channel::Sender;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, SystemTime};
use tokio::signal::unix::{signal, SignalKind};

/// How often rule files are looked at for changes.
const RULES_CHECK_INTERVAL: Duration = Duration::from_secs(1);

pub struct RulesPlan {
    dirs: Vec<PathBuf>,
    with_builtin: bool,
    enrich: apiwatch_enrich::EnrichConfig,
    /// The rules running now, as the API lists them.
    pub running: Arc<std::sync::RwLock<Option<apiwatch_detect::RuleSet>>>,
    /// The gateway's enrichment, when a gateway runs: reloaded with the pipeline's.
    pub gateway_enricher: std::sync::OnceLock<Arc<super::gateway::SharedEnricher>>,
}

/// What a set of files looks like now: each file's path, size and modification time.
type Stamp = Vec<(PathBuf, u64, Option<SystemTime>)>;

impl RulesPlan {
    pub fn new(cfg: &ReplayConfig) -> RulesPlan {
        RulesPlan {
            dirs: cfg.rules.clone(),
            with_builtin: cfg.rules.is_empty() || cfg.with_builtin_rules,
            enrich: crate::replay::enrich_config(cfg, None, None, None),
            running: Arc::new(std::sync::RwLock::new(None)),
            gateway_enricher: std::sync::OnceLock::new(),
        }
    }

    pub fn enrich_config(&self) -> &apiwatch_enrich::EnrichConfig {
        &self.enrich
    }

    fn enrich_stamp(&self) -> Stamp {
        let e = &self.enrich;
        [&e.geoip_city, &e.geoip_asn, &e.openapi]
            .into_iter()
            .flatten()
            .map(|p| {
                let meta = std::fs::metadata(p).ok();
                (
                    p.clone(),
                    meta.as_ref().map_or(0, |m| m.len()),
                    meta.and_then(|m| m.modified().ok()),
                )
            })
            .collect()
    }

    /// Rebuilds enrichment from its files and hands it to the pipeline, or keeps the old one.
    fn reload_enrichment(&self, feed: &Sender<Feed>, metrics: &Metrics, why: &str) {
        match apiwatch_enrich::Enricher::build(&self.enrich) {
            Ok(e) => {
                let e = Arc::new(e);
                if let Some(gateway) = self.gateway_enricher.get() {
                    gateway.replace(Arc::clone(&e));
                }
                if feed.send(Feed::Enricher(e)).is_ok() {
                    metrics
                        .rule_reloads
                        .get_or_create(&ResultLabel { result: "enrichment_ok".into() })
                        .inc();
                    tracing::info!(reason = why, "enrichment reloaded");
                }
            }
            Err(e) => {
                metrics
                    .rule_reloads
                    .get_or_create(&ResultLabel { result: "enrichment_failed".into() })
                    .inc();
                tracing::error!(reason = why, error = %e, "enrichment did not reload; the previous files keep being used");
            }
        }
    }

    pub fn load(&self) -> anyhow::Result<RuleSet> {
        crate::rules_cmd::load_rules(&self.dirs, self.with_builtin)
    }

    /// What the rule files look like now.
    fn stamp(&self) -> Stamp {
        let mut out = Vec::new();
        let mut stack = self.dirs.clone();
        while let Some(p) = stack.pop() {
            let Ok(meta) = std::fs::metadata(&p) else {
                out.push((p, 0, None));
                continue;
            };
            if meta.is_dir() {
                if let Ok(rd) = std::fs::read_dir(&p) {
                    stack.extend(rd.flatten().map(|e| e.path()));
                }
            } else if p.extension().is_some_and(|e| e == "yaml" || e == "yml")
                || self.dirs.contains(&p)
            {
                out.push((p, meta.len(), meta.modified().ok()));
            }
        }
        out.sort();
        out
    }

    /// Loads the rules again and hands them to the pipeline, or keeps the old ones.
    fn reload(&self, feed: &Sender<Feed>, metrics: &Metrics, why: &str) {
        match self.load() {
            Ok(rules) => {
                let n = rules.len();
                let rules = Arc::new(rules);
                *self.running.write().expect("rules lock") = Some((*rules).clone());
                if feed.send(Feed::Rules(rules)).is_ok() {
                    metrics.rule_reloads.get_or_create(&ResultLabel { result: "ok".into() }).inc();
                    tracing::info!(rules = n, reason = why, "rules reloaded");
                }
            }
            Err(e) => {
                metrics.rule_reloads.get_or_create(&ResultLabel { result: "failed".into() }).inc();
                tracing::error!(reason = why, error = %format!("{e:#}"), "rules did not reload; the previous rules keep running");
            }
        }
    }
}

/// Waits for SIGTERM or SIGINT, reloading rules on SIGHUP and on change meanwhile. Also
/// returns once `finite` sources exist and every source thread has ended.
pub async fn wait_for_stop(
    plan: &RulesPlan,
    feed: &Sender<Feed>,
    metrics: &Metrics,
    stop: &AtomicBool,
    finite: usize,
    threads: &[std::thread::JoinHandle<anyhow::Result<()>>],
) {
    let (Ok(mut term), Ok(mut int), Ok(mut hup)) = (
        signal(SignalKind::terminate()),
        signal(SignalKind::interrupt()),
        signal(SignalKind::hangup()),
    ) else {
        tracing::error!("cannot install signal handlers; stopping");
        return;
    };
    let mut stamp = plan.stamp();
    let mut enrich_stamp = plan.enrich_stamp();
    let mut tick = tokio::time::interval(RULES_CHECK_INTERVAL);
    loop {
        tokio::select! {
            _ = term.recv() => { tracing::info!("SIGTERM"); return; }
            _ = int.recv() => { tracing::info!("SIGINT"); return; }
            _ = hup.recv() => {
                stamp = plan.stamp();
                enrich_stamp = plan.enrich_stamp();
                plan.reload(feed, metrics, "SIGHUP");
                plan.reload_enrichment(feed, metrics, "SIGHUP");
            }
            _ = tick.tick() => {
                let now = plan.stamp();
                if now != stamp {
                    stamp = now;
                    plan.reload(feed, metrics, "a rule file changed");
                }
                let now = plan.enrich_stamp();
                if now != enrich_stamp {
                    enrich_stamp = now;
                    plan.reload_enrichment(feed, metrics, "an enrichment file changed");
                }
                if stop.load(Ordering::Relaxed) {
                    return;
                }
                if finite > 0 && finite == threads.len() && threads.iter().all(|t| t.is_finished()) {
                    tracing::info!("every source has ended");
                    return;
                }
            }
        }
    }
}
