//! `apiwatch run`: the live monitor. Sources feed one processing thread (decode, enrich,
//! redact, store, detect); the network side (HTTP, syslog, signals) runs on a small tokio
//! runtime. See ARCHITECTURE.md, "The live service".

mod alerts;
pub mod api;
mod dashboard;
mod decode;
mod feed;
mod gateway;
mod gateway_calls;
mod gateway_metrics;
mod geo_map;
mod geo_origin;
mod http;
mod merge;
mod metrics;
mod minutes;
mod net;
mod positions;
mod process;
mod published;
mod reload;
mod respond;
mod rollup;
mod serve;
mod source_health;
mod sources;
mod syslog;
mod traffic_saved;

use crate::config::live::{EncryptionKey, LiveSettings, LogFormat, SourceKind};
use crate::config::{self, ReplayConfig};
use crate::formats::Formats;
use crate::key;
use anyhow::Context;
use apiwatch_core::redact::Redactor;
use decode::{DecodeStage, SourceState};
use feed::{Feed, FEED_QUEUE_BATCHES};
use metrics::Metrics;
use positions::SourcePositions;
use process::Processor;
use std::os::unix::fs::DirBuilderExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

pub use reload::RulesPlan;
pub use serve::tls_config;

/// Wall-clock milliseconds since the Unix epoch.
/// Locks `m`, poisoned or not: the counters and tables behind these locks are updated by
/// plain assignments, sound even if a holder panicked.
pub fn lock<T>(m: &std::sync::Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

/// Installs the log subscriber: text or JSON lines on stderr, at the configured level
/// (`RUST_LOG` overrides it).
fn init_logs(live: &LiveSettings) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| {
        tracing_subscriber::EnvFilter::new(format!("apiwatch={}", live.log_level))
    });
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr);
    let _ = match live.log_format {
        LogFormat::Json => builder.json().try_init(),
        LogFormat::Text => builder.with_ansi(false).try_init(),
    };
}

/// Reads a 32-byte key: raw, or as 64 hex digits (a trailing newline is ignored).
pub fn read_key_bytes(bytes: &[u8], what: &str) -> anyhow::Result<[u8; 32]> {
    if let Ok(k) = <[u8; 32]>::try_from(bytes) {
        return Ok(k);
    }
    let text = std::str::from_utf8(bytes).map(str::trim).unwrap_or("");
    if text.len() == 64 && text.bytes().all(|b| b.is_ascii_hexdigit()) {
        let mut k = [0u8; 32];
        for (i, byte) in k.iter_mut().enumerate() {
            *byte = u8::from_str_radix(&text[2 * i..2 * i + 2], 16).expect("hex digits checked");
        }
        return Ok(k);
    }
    anyhow::bail!("{what} must hold 32 bytes, raw or as 64 hex digits")
}

/// The encryption key of the store, when one is configured. Errors never show key bytes.
pub fn encryption_key(k: Option<&EncryptionKey>) -> anyhow::Result<Option<[u8; 32]>> {
    Ok(match k {
        None => None,
        Some(EncryptionKey::File(p)) => {
            let bytes = std::fs::read(p)
                .with_context(|| format!("cannot read encryption key file {}", p.display()))?;
            Some(read_key_bytes(&bytes, &format!("encryption key file {}", p.display()))?)
        }
        Some(EncryptionKey::Env(name)) => {
            let v = std::env::var(name).map_err(|_| {
                anyhow::anyhow!("environment variable `{name}` (the encryption key) is not set")
            })?;
            Some(read_key_bytes(v.as_bytes(), &format!("environment variable `{name}`"))?)
        }
    })
}

/// The store's settings from the configuration.
pub fn store_config(
    data_dir: &Path,
    live: &LiveSettings,
) -> anyhow::Result<apiwatch_store::StoreConfig> {
    let s = &live.storage;
    let mut c = apiwatch_store::StoreConfig::new(data_dir.to_path_buf());
    c.segment_bytes_max = s.segment_bytes_max;
    c.segment_age_max_ms = s.segment_age_max_ms;
    c.retention_age_max_ms = s.retention_age_max_ms;
    c.retention_bytes_max = s.retention_bytes_max;
    c.encryption_key = encryption_key(s.encryption.as_ref())?;
    Ok(c)
}

/// The data directory and the storage encryption key, from `--data-dir` or a configuration.
pub fn store_location(
    data_dir: Option<&Path>,
    config: Option<&Path>,
) -> anyhow::Result<(PathBuf, Option<[u8; 32]>)> {
    match (data_dir, config) {
        (Some(d), None) => Ok((d.to_path_buf(), None)),
        (_, Some(c)) => {
            let (cfg, dir) = check(c)?;
            let dir = data_dir.map_or(dir, Path::to_path_buf);
            Ok((dir, encryption_key(cfg.live.storage.encryption.as_ref())?))
        }
        (None, None) => anyhow::bail!("give --data-dir or --config"),
    }
}

/// Where the state database (alerts, incidents, decisions, tokens, audit) lives.
pub fn state_path(live: &LiveSettings, data_dir: &Path) -> PathBuf {
    live.state_path.clone().unwrap_or_else(|| data_dir.join("state.db"))
}

/// The response side: the state database, correlation rebuilt from it, the decision policy,
/// the notifier and the application webhook. Needs the runtime (notifications are sent on it).
fn build_responder(
    live: &LiveSettings,
    data_dir: &Path,
    rules: &apiwatch_detect::RuleSet,
    metrics: &Arc<Metrics>,
    runtime: &tokio::runtime::Runtime,
) -> anyhow::Result<Arc<respond::Responder>> {
    let path = state_path(live, data_dir);
    let state = apiwatch_state::State::open(&path)
        .map_err(|e| anyhow::anyhow!("state database {}: {e}", path.display()))?;
    let ids: Vec<&str> = rules.rules().iter().map(|r| r.id.as_str()).collect();
    let policy = apiwatch_respond::decide::Policy::new(&live.decisions, &ids).map_err(|errs| {
        let lines: Vec<String> = errs.iter().map(ToString::to_string).collect();
        anyhow::anyhow!("decisions:\n{}", lines.join("\n"))
    })?;
    let correlator = apiwatch_detect::correlate::Correlator::new(live.correlate.clone())
        .map_err(|e| anyhow::anyhow!("correlate: {e}"))?;
    let _guard = runtime.enter();
    let notifier = if live.notify.channels.is_empty() {
        None
    } else {
        let mut notify = live.notify.clone();
        if notify.dead_letter_file.is_none() {
            notify.dead_letter_file = Some(data_dir.join("notify-dead-letter.jsonl"));
        }
        Some(apiwatch_respond::notify::Notifier::new(notify).map_err(|errs| {
            let lines: Vec<String> = errs.iter().map(ToString::to_string).collect();
            anyhow::anyhow!("notify:\n{}", lines.join("\n"))
        })?)
    };
    let application = match &live.decisions.application {
        Some(c) => {
            Some(Arc::new(respond::application::ApplicationHook::new(c, runtime.handle().clone())?))
        }
        None => None,
    };
    Ok(Arc::new(respond::Responder::new(respond::Parts {
        state: Arc::new(state),
        correlator,
        policy,
        notifier,
        metrics: Arc::clone(metrics),
        public_url: live.public_url.clone(),
        application,
        runtime: runtime.handle().clone(),
        now_ms,
    })?))
}

/// Validates a configuration for `run`; returns it with its data directory.
pub fn check(file: &Path) -> anyhow::Result<(ReplayConfig, PathBuf)> {
    check_loaded(config::load(file)?, file)
}

/// `check` on a configuration already read (`file` names it in errors).
pub fn check_loaded(cfg: ReplayConfig, file: &Path) -> anyhow::Result<(ReplayConfig, PathBuf)> {
    let Some(dir) = cfg.live.data_dir.clone() else {
        anyhow::bail!(
            "{}: `data_dir` is required to run (where events are stored)",
            file.display()
        );
    };
    if cfg.live.sources.is_empty() {
        anyhow::bail!("{}: `sources` names nothing to watch", file.display());
    }
    encryption_key(cfg.live.storage.encryption.as_ref())?;
    gateway::validate(&cfg)?;
    Ok((cfg, dir))
}

/// Runs the service until SIGTERM or SIGINT (or until every source ended, when all are
/// finite, like stdin).
pub fn run(file: &Path) -> anyhow::Result<u8> {
    let (cfg, data_dir) = check(file)?;
    run_checked(cfg, data_dir)
}

/// `run` on a configuration `check` passed.
pub fn run_checked(cfg: ReplayConfig, data_dir: PathBuf) -> anyhow::Result<u8> {
    let live = cfg.live.clone();
    init_logs(&live);
    if !data_dir.exists() {
        // Stored events hold addresses and user names: only the service's user reads them.
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(&data_dir)
            .with_context(|| format!("cannot create data_dir {}", data_dir.display()))?;
    }
    let rules_plan = reload::RulesPlan::new(&cfg);
    let (rules, enricher) = std::thread::scope(|s| {
        let enricher = s.spawn(|| apiwatch_enrich::Enricher::build(rules_plan.enrich_config()));
        (rules_plan.load(), enricher.join().expect("building the enricher does not panic"))
    });
    let rules = Arc::new(rules?);
    *rules_plan.running.write().expect("rules lock") = Some((*rules).clone());
    let enricher = Arc::new(enricher.context("enrichment")?);
    let key_file = live.key_file.clone().unwrap_or_else(|| data_dir.join("pseudonym.key"));
    let redactor = Redactor::new(key::load_or_create(&key_file)?);
    let store_cfg = store_config(&data_dir, &live)?;
    let store_key = store_cfg.encryption_key;
    let (store, meta) = apiwatch_store::Store::open(store_cfg, now_ms())
        .map_err(|e| anyhow::anyhow!("event store in {}: {e}", data_dir.display()))?;
    let names: Vec<String> = live.sources.iter().map(|s| s.name.clone()).collect();
    let positions = SourcePositions::restore(&names, meta.as_deref())?;
    let formats = Formats::new(&cfg.formats);
    let metrics = Arc::new(Metrics::new());
    metrics.up_since_seconds.set(now_ms() as f64 / 1000.0);
    let mut limits = apiwatch_detect::Limits::default();
    if let Some(m) = cfg.max_keys_per_rule {
        limits.max_keys_per_rule = m;
    }
    let states = live
        .sources
        .iter()
        .map(|s| {
            SourceState::new(
                s.name.clone(),
                s.format.as_deref().and_then(|f| formats.named(f)),
                &metrics,
            )
        })
        .collect();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .thread_name("apiwatch-net")
        .build()?;
    let responder = build_responder(&live, &data_dir, &rules, &metrics, &runtime)?;
    let (alert_tx, alert_rx) = crossbeam_channel::bounded(respond::ALERT_QUEUE_MAX);
    // Alerts the response thread has recorded: a store commit waits for them.
    let handled = Arc::new(std::sync::atomic::AtomicU64::new(0));
    let responding = {
        let (r, h) = (Arc::clone(&responder), Arc::clone(&handled));
        std::thread::Builder::new()
            .name("apiwatch-respond".into())
            .spawn(move || r.run(alert_rx, h))?
    };
    let (feed_tx, feed_rx) = crossbeam_channel::bounded::<Feed>(FEED_QUEUE_BATCHES);
    let stop = Arc::new(AtomicBool::new(false));
    let ready = Arc::new(AtomicBool::new(false));

    let mut source_threads = Vec::new();
    let mut finite_sources = 0;
    for (index, spec) in live.sources.iter().enumerate() {
        let (tx, stop) = (feed_tx.clone(), Arc::clone(&stop));
        match &spec.kind {
            SourceKind::File { include, exclude, read_from } => {
                let src = sources::FileSource {
                    index,
                    name: spec.name.clone(),
                    include: include.clone(),
                    exclude: exclude.clone(),
                    read_from: *read_from,
                };
                let (p, m) = (positions.of(index).clone(), Arc::clone(&metrics));
                source_threads
                    .push(std::thread::spawn(move || sources::follow_files(src, p, tx, m, stop)));
            }
            SourceKind::Stdin => {
                finite_sources += 1;
                source_threads
                    .push(std::thread::spawn(move || sources::read_stdin(index, tx, stop)));
            }
            SourceKind::Syslog { .. } | SourceKind::Http { .. } | SourceKind::Gateway => {}
        }
    }
    tracing::info!(
        data_dir = %data_dir.display(),
        sources = live.sources.len(),
        rules = rules.len(),
        "apiwatch is running"
    );
    let gateway = match gateway::validate(&cfg)? {
        Some(validated) => {
            let enricher = Arc::new(gateway::SharedEnricher::new(Arc::clone(&enricher)));
            // Reloaded enrichment files reach the gateway as they reach the pipeline.
            let _ = rules_plan.gateway_enricher.set(Arc::clone(&enricher));
            let source = live
                .sources
                .iter()
                .position(|s| matches!(s.kind, SourceKind::Gateway))
                .expect("the configuration adds the gateway's source");
            let dropped = metrics
                .drops
                .get_or_create(&metrics::DropLabel {
                    source: config::live::GATEWAY_SOURCE.into(),
                    reason: "queue_full".into(),
                })
                .clone();
            let hooks = gateway::GatewayHooks {
                calls: gateway_calls::CallBatches::new(source, feed_tx.clone(), dropped),
                responder: Arc::clone(&responder),
                enricher,
                redactor: redactor.clone(),
                identity_limits: validated.keys_rate_limits_by_identity(),
                reject_undocumented: validated.shadow_api() == apiwatch_gateway::ShadowApi::Reject,
            };
            Some((validated, Arc::new(hooks)))
        }
        None => None,
    };
    let inspector = match &live.gateway {
        Some(_) => Some(
            apiwatch_enrich::inspect::Inspector::build(&live.inspect)
                .map_err(|e| anyhow::anyhow!("inspect: {e}"))?,
        ),
        None => None,
    };
    let decode = DecodeStage {
        sources: states,
        formats,
        enricher,
        redactor,
        decoded: metrics.events.get_or_create(&Metrics::stage("decoded")).clone(),
        inspector,
    };
    let rollup: rollup::SharedRollup = Default::default();
    let health: source_health::SharedHealth =
        Arc::new(std::sync::Mutex::new(source_health::SourceHealth::new(
            live.sources
                .iter()
                .map(|s| (s.name.clone(), s.kind.name(), s.silent_after_ms))
                .collect(),
            now_ms(),
        )));
    let geo: geo_map::SharedGeoMap = Default::default();
    traffic_saved::restore(&responder.state, &rollup, &geo, now_ms());
    let processor = Processor {
        starts_with_backlog: live
            .sources
            .iter()
            .map(|s| matches!(s.kind, SourceKind::File { .. } | SourceKind::Stdin))
            .collect(),
        rules: Arc::clone(&rules),
        limits,
        store,
        positions,
        alerts: alerts::AlertSink::open(
            live.alerts_file.as_deref(),
            Arc::clone(&metrics),
            Some(alerts::Responding { queue: alert_tx, handled }),
        )?,
        metrics: Arc::clone(&metrics),
        rollup: Arc::clone(&rollup),
        health: Arc::clone(&health),
        geo: Arc::clone(&geo),
        traffic_db: Some(Arc::clone(&responder.state)),
        commit_interval: Duration::from_millis(live.storage.commit_interval_ms.max(1) as u64),
        now_ms,
    };
    let (decoded_tx, decoded_rx) = crossbeam_channel::bounded(FEED_QUEUE_BATCHES);
    let decoding = std::thread::Builder::new()
        .name("apiwatch-decode".into())
        .spawn(move || decode.run(feed_rx, decoded_tx))?;
    let processing = std::thread::Builder::new()
        .name("apiwatch-process".into())
        .spawn(move || processor.run(decoded_rx))?;
    ready.store(true, Ordering::Relaxed);

    let api = api::ApiState {
        responder: Arc::clone(&responder),
        config_token: live.api_token.as_ref().map(|t| t.0.clone()),
        rules: Arc::clone(&rules_plan.running),
        bouncer_seen: Default::default(),
        sessions: Default::default(),
        rollup,
        health,
        geo,
        now_ms,
        // Replaced by the network's own stop signal when it starts.
        stopping: tokio::sync::watch::channel(false).1,
    };
    let search = http::SearchAccess { data_dir: data_dir.clone(), encryption_key: store_key };
    // Stops the gateway's batch flusher once the gateway has drained.
    let (calls_stop, calls_stop_rx) = tokio::sync::watch::channel(false);
    let net = runtime.block_on(async {
        // The gateway listens before /health says ready.
        let proxy = match gateway {
            Some((g, hooks)) => {
                let flusher = {
                    let hooks = Arc::clone(&hooks);
                    tokio::spawn(async move { hooks.calls.flush_until(calls_stop_rx).await })
                };
                let running = g.start(hooks).await.map_err(|e| anyhow::anyhow!("gateway: {e}"))?;
                tracing::info!(addrs = ?running.local_addrs(), "gateway: proxying");
                let _ = metrics.gateway.0.set(running.stats_handle());
                Some((running, flusher))
            }
            None => None,
        };
        let net = net::Network::start(
            &live,
            feed_tx.clone(),
            Arc::clone(&metrics),
            Arc::clone(&ready),
            search,
            api,
        )
        .await?;
        reload::wait_for_stop(
            &rules_plan,
            &feed_tx,
            &metrics,
            &stop,
            finite_sources,
            &source_threads,
        )
        .await;
        anyhow::Ok((net, proxy))
    })?;
    let (net, proxy) = net;
    tracing::info!("stopping: draining sources, storing and committing");
    ready.store(false, Ordering::Relaxed);
    stop.store(true, Ordering::Relaxed);
    if let Some((p, flusher)) = proxy {
        // Calls in flight finish (and are recorded) before the pipeline drains.
        runtime.block_on(p.shutdown(Duration::from_secs(10)));
        let _ = calls_stop.send(true);
        let _ = runtime.block_on(flusher);
    }
    runtime.block_on(net.shutdown());
    drop(feed_tx);
    for t in source_threads {
        match t.join() {
            Ok(Ok(())) => {}
            Ok(Err(e)) => tracing::error!(error = %e, "a source failed"),
            Err(_) => tracing::error!("a source thread panicked"),
        }
    }
    if decoding.join().is_err() {
        anyhow::bail!("the decoding thread panicked");
    }
    let processed = processing.join();
    // The processing thread held the alert queue's sender: the response thread ends once it
    // has handled every alert.
    if responding.join().is_err() {
        tracing::error!("the response thread panicked");
    }
    runtime.shutdown_timeout(Duration::from_secs(5));
    match processed {
        Ok(Ok(())) => {
            tracing::info!("stopped");
            Ok(crate::exit::OK)
        }
        Ok(Err(e)) => Err(e),
        Err(_) => anyhow::bail!("the processing thread panicked"),
    }
}
