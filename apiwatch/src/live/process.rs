//! The live pipeline's processing thread: decoded batches (`decode.rs`) are merged by
//! event time (`merge.rs`), then stored and detected in that order. Storage commits on an
//! interval (and at once when an ingest request waits for it); each commit carries the sources' read positions, so what was stored and
//! how far each source was read are made durable together (exactly once across restarts).

use super::alerts::AlertSink;
use super::decode::{Decoded, Marker, Staged};
use super::feed::{Ack, IngestReceipt};
use super::merge::{Entry, Merger};
use super::metrics::Metrics;
use super::positions::SourcePositions;
use apiwatch_detect::{Engine, Limits, RuleSet};
use apiwatch_store::Store;
use crossbeam_channel::{Receiver, RecvTimeoutError};
use prometheus_client::metrics::counter::Counter;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// How often retention and rotation run (they only look at segment metadata).
const MAINTAIN_INTERVAL: Duration = Duration::from_secs(5);
/// How long a source that just delivered is waited for before others go ahead of it.
const MERGE_WAIT: Duration = Duration::from_millis(250);
/// How long a source with a backlog (its last batch said more was there) is waited for.
const MERGE_BACKLOG_WAIT: Duration = Duration::from_secs(10);
/// Decoded events held for merging at most (about 1 KiB each).
const MERGE_EVENTS_MAX: usize = 200_000;
/// How often sources are checked for silence (the shortest `silent_after` is a second).
const SILENCE_CHECK_INTERVAL: Duration = Duration::from_secs(1);

pub struct Processor {
    /// Per source: whether it starts with a backlog to read (files, stdin).
    pub starts_with_backlog: Vec<bool>,
    pub rules: Arc<RuleSet>,
    pub limits: Limits,
    pub store: Store,
    pub positions: SourcePositions,
    pub alerts: AlertSink,
    pub metrics: Arc<Metrics>,
    /// Traffic by minute, for the dashboard.
    pub rollup: super::rollup::SharedRollup,
    /// Each source's health, for the dashboard.
    pub health: super::source_health::SharedHealth,
    /// Attack origins by minute, for the dashboard's map.
    pub geo: super::geo_map::SharedGeoMap,
    /// Where the roll-up's and the map's minutes are saved (`traffic_saved.rs`).
    pub traffic_db: Option<Arc<apiwatch_state::State>>,
    pub commit_interval: Duration,
    /// Wall-clock milliseconds (the store's rotation and retention run on it).
    pub now_ms: fn() -> i64,
}

/// The detection side of the loop: the engine, its alerts, and per-event counters.
struct Detect {
    engine: Engine,
    alerts: Vec<apiwatch_core::Alert>,
    rule_counts: Vec<u64>,
    stored: Counter,
    detected: Counter,
}

impl Detect {
    fn engine(rules: Arc<RuleSet>, limits: &Limits) -> Engine {
        let mut engine = Engine::new(rules, limits.clone(), 0, 1);
        engine.raise_on_open(true);
        engine
    }
}

impl Processor {
    /// Runs until every sender of `rx` is gone, then stores and commits what is left.
    pub fn run(mut self, rx: Receiver<Decoded>) -> anyhow::Result<()> {
        // One handle per statement: a family's lookup guard lives to the end of its
        // statement, and a second lookup creating a label would wait on it.
        let stored = self.metrics.events.get_or_create(&Metrics::stage("stored")).clone();
        let detected = self.metrics.events.get_or_create(&Metrics::stage("detected")).clone();
        let mut d = Detect {
            engine: Detect::engine(Arc::clone(&self.rules), &self.limits),
            alerts: Vec::new(),
            rule_counts: Vec::new(),
            stored,
            detected,
        };
        let queue_label = |q: &str| super::metrics::QueueLabel { queue: q.into() };
        let feed_depth = self.metrics.queue_depth.get_or_create(&queue_label("decoded")).clone();
        let merge_depth = self.metrics.queue_depth.get_or_create(&queue_label("merge")).clone();
        let mut merger: Merger<Staged, Marker> = Merger::new(
            &self.starts_with_backlog,
            MERGE_WAIT,
            MERGE_BACKLOG_WAIT,
            MERGE_EVENTS_MAX,
            Instant::now(),
        );
        let mut acks: Vec<(Ack, IngestReceipt)> = Vec::new();
        let mut dirty = false;
        let mut last_commit = Instant::now();
        let mut last_maintain = Instant::now();
        let mut last_silence_check = Instant::now();
        loop {
            let mut wait = self.commit_interval.saturating_sub(last_commit.elapsed());
            // Wake for the silence check even when nothing arrives, whatever the interval.
            wait = wait.min(SILENCE_CHECK_INTERVAL.saturating_sub(last_silence_check.elapsed()));
            if let Some(w) = merger.wait_hint(Instant::now()).filter(|_| merger.events_held() > 0) {
                wait = wait.min(w);
            }
            match rx.recv_timeout(wait) {
                Ok(Decoded::Rules(rules)) => {
                    // Rule state (windows, baselines) starts afresh under new rules.
                    d.engine.finish(&mut d.alerts);
                    self.emit(&mut d.alerts);
                    d.engine = Detect::engine(rules, &self.limits);
                    d.rule_counts.clear();
                }
                Ok(Decoded::Items { source, items, more }) => {
                    merger.push(source, items, more, Instant::now())
                }
                Err(RecvTimeoutError::Timeout) => {}
                Err(RecvTimeoutError::Disconnected) => break,
            }
            dirty |= self.drain(&mut merger, &mut d, &mut acks, false)?;
            feed_depth.set(rx.len() as i64);
            merge_depth.set(merger.events_held() as i64);
            // An ingest request waits for its commit: do it as soon as the queue is drained.
            let due = last_commit.elapsed() >= self.commit_interval
                || (!acks.is_empty() && rx.is_empty());
            if dirty && due {
                self.commit(&mut acks)?;
                dirty = false;
                last_commit = Instant::now();
            }
            // The receive above times out by the next check, so this runs even when no source
            // delivers anything at all.
            if last_silence_check.elapsed() >= SILENCE_CHECK_INTERVAL {
                self.alert_silences(&mut d);
                last_silence_check = Instant::now();
            }
            if last_maintain.elapsed() >= MAINTAIN_INTERVAL {
                self.alerts.note_rule_stats(&d.engine.stats(), &mut d.rule_counts);
                self.maintain()?;
                last_maintain = Instant::now();
            }
        }
        self.drain(&mut merger, &mut d, &mut acks, true)?;
        self.commit(&mut acks)?;
        self.maintain()?;
        Ok(())
    }

    /// Stores and detects what the merge lets go; true when anything was stored or read.
    fn drain(
        &mut self,
        merger: &mut Merger<Staged, Marker>,
        d: &mut Detect,
        acks: &mut Vec<(Ack, IngestReceipt)>,
        force: bool,
    ) -> anyhow::Result<bool> {
        let mut any = false;
        let now = Instant::now();
        let now_ms = (self.now_ms)();
        while let Some((source, item)) = merger.next(now, force) {
            any = true;
            match item {
                Entry::Event { event: staged, .. } => {
                    let keys: Vec<&[u8]> = staged.keys().collect();
                    self.store
                        .append(staged.event.timestamp_ms, &keys, &staged.record)
                        .map_err(|e| anyhow::anyhow!("event store append: {e}"))?;
                    d.stored.inc();
                    super::lock(&self.rollup).observe(&staged.event);
                    super::lock(&self.health).observe(source, staged.event.timestamp_ms, now_ms);
                    super::lock(&self.geo).observe(&staged.event);
                    d.engine.process(&staged.event, &mut d.alerts);
                    d.detected.inc();
                    if !d.alerts.is_empty() {
                        self.emit(&mut d.alerts);
                    }
                }
                Entry::Marker(Marker::Read(mark)) => self.positions.advance(source, &mark),
                Entry::Marker(Marker::Reply(ack, receipt)) => acks.push((ack, receipt)),
            }
        }
        Ok(any)
    }

    /// Counts new alerts on the threat map, then sends them on (file, log, metrics, the
    /// response thread: state database, stream, notifiers).
    fn emit(&mut self, alerts: &mut Vec<apiwatch_core::Alert>) {
        {
            let mut geo = super::lock(&self.geo);
            for a in alerts.iter() {
                geo.note_alert(a);
            }
        }
        self.alerts.emit(alerts, (self.now_ms)());
    }

    /// Raises one alert per source that has just fallen silent, the way detection's alerts
    /// go.
    fn alert_silences(&mut self, d: &mut Detect) {
        let now_ms = (self.now_ms)();
        let silences = super::lock(&self.health).newly_silent(now_ms);
        if silences.is_empty() {
            return;
        }
        for s in &silences {
            d.alerts.push(super::source_health::silence_alert(s, now_ms));
        }
        self.emit(&mut d.alerts);
    }

    fn commit(&mut self, acks: &mut Vec<(Ack, IngestReceipt)>) -> anyhow::Result<()> {
        // Alerts of the events this commit covers reach the state database first.
        self.alerts.wait_recorded();
        let meta = self.positions.encode();
        match self.store.commit(&meta, (self.now_ms)()) {
            Ok(()) => {
                self.metrics.store_commits.inc();
                let st = self.store.stats();
                self.metrics.store_bytes.set(i64::try_from(st.bytes_on_disk).unwrap_or(i64::MAX));
                self.metrics.store_segments.set(i64::try_from(st.segments).unwrap_or(i64::MAX));
                for (a, r) in acks.drain(..) {
                    let _ = a.send(Ok(r));
                }
                Ok(())
            }
            Err(e) => {
                for (a, _) in acks.drain(..) {
                    let _ =
                        a.send(Err("the event store failed; nothing was acknowledged".to_string()));
                }
                Err(anyhow::anyhow!("event store commit: {e}"))
            }
        }
    }

    fn maintain(&mut self) -> anyhow::Result<()> {
        if let Some(db) = &self.traffic_db {
            super::traffic_saved::save(db, &self.rollup, &self.geo);
        }
        self.store
            .maintain((self.now_ms)())
            .map_err(|e| anyhow::anyhow!("event store upkeep: {e}"))?;
        let st = self.store.stats();
        self.metrics.store_bytes.set(i64::try_from(st.bytes_on_disk).unwrap_or(i64::MAX));
        self.metrics.store_segments.set(i64::try_from(st.segments).unwrap_or(i64::MAX));
        Ok(())
    }
}
