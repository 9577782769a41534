//! The live pipeline's one processing thread: decode, enrich and redact each batch as it
//! arrives, merge the sources by event time (`merge.rs`), then store and detect in that
//! order. Storage commits on an interval (and at once when an ingest request
//! waits for it); each commit carries the sources' read positions, so what was stored and
//! how far each source was read are made durable together (exactly once across restarts).

use super::alerts::AlertSink;
use super::feed::{Ack, Feed, IngestReceipt, Mark};
use super::merge::{Entry, Merger};
use super::metrics::Metrics;
use super::positions::SourcePositions;
use crate::formats::Formats;
use apiwatch_core::redact::Redactor;
use apiwatch_core::{Event, Origin};
use apiwatch_detect::{Engine, Limits, RuleSet};
use apiwatch_enrich::Enricher;
use apiwatch_parse::detect::DETECT_LINES_MAX;
use apiwatch_parse::{Decoder, LINE_BYTES_MAX};
use apiwatch_store::Store;
use crossbeam_channel::{Receiver, RecvTimeoutError};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// How often retention and rotation run (they only look at segment metadata).
const MAINTAIN_INTERVAL: Duration = Duration::from_secs(5);
/// Lines a source's sample may hold while its format is not yet known.
const SAMPLE_LINES_MAX: usize = DETECT_LINES_MAX;
/// How long a source that just delivered is waited for before others go ahead of it.
const MERGE_WAIT: Duration = Duration::from_millis(250);
/// Decoded events held for merging at most (about 1 KiB each).
const MERGE_EVENTS_MAX: usize = 200_000;

/// What follows a batch's events through the merge.
pub enum Marker {
    /// The source has been read this far once the events before are stored.
    Read(Mark),
    /// An ingest request to answer once the events before are committed.
    Reply(Ack, IngestReceipt),
}

type Item = Entry<Event, Marker>;

/// A source as the pipeline sees it.
pub struct SourceState {
    pub name: String,
    /// Set from the configuration, or once detected.
    pub decoder: Option<(String, Arc<dyn Decoder>)>,
    /// Lines waiting until the format can be detected (then decoded at once).
    sample: Vec<Vec<u8>>,
    /// The marks and replies of the batches in `sample`, in order.
    pending: Vec<(Mark, Option<Ack>)>,
    /// Lines read so far (numbers events' `origin.line`).
    lines: u64,
}

impl SourceState {
    pub fn new(name: String, decoder: Option<(String, Arc<dyn Decoder>)>) -> SourceState {
        SourceState { name, decoder, sample: Vec::new(), pending: Vec::new(), lines: 0 }
    }
}

pub struct Processor {
    pub sources: Vec<SourceState>,
    pub formats: Formats,
    pub enricher: Arc<Enricher>,
    pub redactor: Redactor,
    pub rules: Arc<RuleSet>,
    pub limits: Limits,
    pub store: Store,
    pub positions: SourcePositions,
    pub alerts: AlertSink,
    pub metrics: Arc<Metrics>,
    pub commit_interval: Duration,
    /// Wall-clock milliseconds (the store's rotation and retention run on it).
    pub now_ms: fn() -> i64,
}

/// The detection side of the loop: the engine and where its alerts go.
struct Detect {
    engine: Engine,
    alerts: Vec<apiwatch_core::Alert>,
    record: Vec<u8>,
    rule_counts: Vec<u64>,
}

impl Processor {
    /// Runs until every sender of `rx` is gone, then stores and commits what is left.
    pub fn run(mut self, rx: Receiver<Feed>) -> anyhow::Result<()> {
        let mut engine = Engine::new(Arc::clone(&self.rules), self.limits.clone(), 0, 1);
        engine.raise_on_open(true);
        let mut d = Detect {
            engine,
            alerts: Vec::new(),
            record: Vec::with_capacity(2048),
            rule_counts: Vec::new(),
        };
        let mut enrich = self.enricher.worker();
        let mut merger: Merger<Event, Marker> =
            Merger::new(self.sources.len(), MERGE_WAIT, MERGE_EVENTS_MAX, Instant::now());
        let mut acks: Vec<(Ack, IngestReceipt)> = Vec::new();
        let mut dirty = false;
        let mut last_commit = Instant::now();
        let mut last_maintain = Instant::now();
        loop {
            let mut wait = self.commit_interval.saturating_sub(last_commit.elapsed());
            if let Some(w) = merger.wait_hint(Instant::now()).filter(|_| merger.events_held() > 0) {
                wait = wait.min(w);
            }
            match rx.recv_timeout(wait) {
                Ok(Feed::Rules(rules)) => {
                    // Rule state (windows, baselines) starts afresh under new rules.
                    d.engine.finish(&mut d.alerts);
                    self.alerts.emit(&mut d.alerts, (self.now_ms)());
                    d.engine = Engine::new(rules, self.limits.clone(), 0, 1);
                    d.engine.raise_on_open(true);
                    d.rule_counts.clear();
                }
                Ok(Feed::Lines { source, lines, mark, ack }) => {
                    let items = self.decode(source, lines, mark, ack, &mut enrich, false);
                    merger.push(source, items, Instant::now());
                }
                Err(RecvTimeoutError::Timeout) => {}
                Err(RecvTimeoutError::Disconnected) => break,
            }
            dirty |= self.drain(&mut merger, &mut d, &mut acks, false)?;
            self.metrics
                .queue_depth
                .get_or_create(&super::metrics::QueueLabel { queue: "feed".into() })
                .set(rx.len() as i64);
            self.metrics
                .queue_depth
                .get_or_create(&super::metrics::QueueLabel { queue: "merge".into() })
                .set(merger.events_held() as i64);
            // An ingest request waits for its commit: do it as soon as the queue is drained.
            let due = last_commit.elapsed() >= self.commit_interval
                || (!acks.is_empty() && rx.is_empty());
            if dirty && due {
                self.commit(&mut acks)?;
                dirty = false;
                last_commit = Instant::now();
            }
            if last_maintain.elapsed() >= MAINTAIN_INTERVAL {
                self.alerts.note_rule_stats(&d.engine.stats(), &mut d.rule_counts);
                self.maintain()?;
                last_maintain = Instant::now();
            }
        }
        // Lines still waiting for their format to be known are decoded with what there is.
        for i in 0..self.sources.len() {
            let items = self.flush_sample(i, &mut enrich, true);
            merger.push(i, items, Instant::now());
        }
        self.drain(&mut merger, &mut d, &mut acks, true)?;
        self.commit(&mut acks)?;
        self.maintain()?;
        Ok(())
    }

    /// Stores and detects what the merge lets go; true when anything was stored or read.
    fn drain(
        &mut self,
        merger: &mut Merger<Event, Marker>,
        d: &mut Detect,
        acks: &mut Vec<(Ack, IngestReceipt)>,
        force: bool,
    ) -> anyhow::Result<bool> {
        let mut any = false;
        let now = Instant::now();
        while let Some((source, item)) = merger.next(now, force) {
            any = true;
            match item {
                Entry::Event { event, .. } => {
                    store_event(&mut self.store, &event, &mut d.record)?;
                    self.metrics.events.get_or_create(&Metrics::stage("stored")).inc();
                    d.engine.process(&event, &mut d.alerts);
                    self.metrics.events.get_or_create(&Metrics::stage("detected")).inc();
                    if !d.alerts.is_empty() {
                        self.alerts.emit(&mut d.alerts, (self.now_ms)());
                    }
                }
                Entry::Marker(Marker::Read(mark)) => self.positions.advance(source, &mark),
                Entry::Marker(Marker::Reply(ack, receipt)) => acks.push((ack, receipt)),
            }
        }
        Ok(any)
    }

    fn commit(&mut self, acks: &mut Vec<(Ack, IngestReceipt)>) -> anyhow::Result<()> {
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
        self.store
            .maintain((self.now_ms)())
            .map_err(|e| anyhow::anyhow!("event store upkeep: {e}"))?;
        let st = self.store.stats();
        self.metrics.store_bytes.set(i64::try_from(st.bytes_on_disk).unwrap_or(i64::MAX));
        self.metrics.store_segments.set(i64::try_from(st.segments).unwrap_or(i64::MAX));
        Ok(())
    }

    /// Decodes a batch into merge entries: its events, then its read mark and its reply.
    fn decode(
        &mut self,
        source: usize,
        lines: Vec<Vec<u8>>,
        mark: Mark,
        ack: Option<Ack>,
        enrich: &mut apiwatch_enrich::EnrichWorker,
        force: bool,
    ) -> Vec<Item> {
        let label = Metrics::source(&self.sources[source].name);
        self.metrics.source_lines.get_or_create(&label).inc_by(lines.len() as u64);
        self.metrics
            .source_bytes
            .get_or_create(&label)
            .inc_by(lines.iter().map(|l| l.len() as u64 + 1).sum());
        let st = &mut self.sources[source];
        st.sample.extend(lines);
        st.pending.push((mark, ack));
        let ready = st.decoder.is_some()
            || st.sample.iter().filter(|l| !l.is_empty()).count() >= SAMPLE_LINES_MAX;
        if ready {
            self.flush_sample(source, enrich, force)
        } else {
            // Not yet enough lines to tell the format; they wait (and so do their marks).
            self.flush_sample(source, enrich, false)
        }
    }

    /// Detects the format of a source's waiting lines when it is not known, and decodes them.
    /// Without `force`, a sample no format decodes waits for more lines.
    fn flush_sample(
        &mut self,
        source: usize,
        enrich: &mut apiwatch_enrich::EnrichWorker,
        force: bool,
    ) -> Vec<Item> {
        let mut items = Vec::new();
        if self.sources[source].decoder.is_none() {
            let st = &self.sources[source];
            let lines: Vec<&[u8]> = st
                .sample
                .iter()
                .map(Vec::as_slice)
                .filter(|l| !l.is_empty())
                .take(SAMPLE_LINES_MAX)
                .collect();
            let full = lines.len() >= SAMPLE_LINES_MAX;
            match self.formats.detect(lines) {
                Some(found) => {
                    tracing::info!(source = %st.name, format = %found.0, "format detected");
                    self.sources[source].decoder = Some(found);
                }
                None if !force && !full => return items,
                None => {
                    if !st.sample.is_empty() {
                        tracing::warn!(source = %st.name, "no known format decodes the source's first lines; they are counted as unparsed");
                    }
                }
            }
        }
        let sample = std::mem::take(&mut self.sources[source].sample);
        let mut receipt = IngestReceipt { accepted: 0, unparsed: 0 };
        items.reserve(sample.len() + 2);
        for l in &sample {
            if let Some(event) = self.line(source, l, &mut receipt, enrich) {
                items.push(Entry::Event {
                    ts_ms: event.timestamp_ms,
                    line: event.origin.line,
                    event,
                });
            }
        }
        for (mark, ack) in std::mem::take(&mut self.sources[source].pending) {
            items.push(Entry::Marker(Marker::Read(mark)));
            if let Some(a) = ack {
                // One reply per request: the lines of this batch and any it waited behind.
                items.push(Entry::Marker(Marker::Reply(a, receipt)));
                receipt = IngestReceipt { accepted: 0, unparsed: 0 };
            }
        }
        items
    }

    /// Decodes, enriches and redacts one line; `None` for a blank or unreadable one.
    fn line(
        &mut self,
        source: usize,
        bytes: &[u8],
        receipt: &mut IngestReceipt,
        enrich: &mut apiwatch_enrich::EnrichWorker,
    ) -> Option<Event> {
        let st = &mut self.sources[source];
        st.lines += 1;
        if bytes.is_empty() || bytes.iter().all(u8::is_ascii_whitespace) {
            return None;
        }
        let decoded = match &st.decoder {
            Some(_) if bytes.len() > LINE_BYTES_MAX => None,
            Some((_, d)) => d.decode(bytes).ok(),
            None => None,
        };
        let Some(mut data) = decoded else {
            receipt.unparsed += 1;
            self.metrics.unparsed.get_or_create(&Metrics::source(&st.name)).inc();
            return None;
        };
        data.origin = Origin { input: source as u32, line: st.lines };
        enrich.enrich(&mut data);
        receipt.accepted += 1;
        self.metrics.events.get_or_create(&Metrics::stage("decoded")).inc();
        Some(self.redactor.redact(data))
    }
}

/// Fields whose values are the summary's actor keys.
const ACTOR_KEY_FIELDS_N: usize = 5;
const _: () = assert!(apiwatch_detect::query::ACTOR_KEY_FIELDS.len() == ACTOR_KEY_FIELDS_N);

/// Appends one event to the store as ECS JSON, with its address and user as the summary's
/// keys (what searches for one actor look up).
pub fn store_event(store: &mut Store, event: &Event, record: &mut Vec<u8>) -> anyhow::Result<()> {
    let data = event.data();
    record.clear();
    serde_json::to_writer(&mut *record, &apiwatch_core::ecs::to_ecs_json(data))?;
    // Every field a search may name an actor by goes into the segment's summary, written
    // as a filter's value would be (`Value::write_to`).
    let mut texts: [String; ACTOR_KEY_FIELDS_N] = Default::default();
    let mut keys: Vec<&[u8]> = Vec::with_capacity(ACTOR_KEY_FIELDS_N);
    for (field, text) in apiwatch_detect::query::ACTOR_KEY_FIELDS.iter().zip(texts.iter_mut()) {
        data.get(field).write_to(text);
    }
    for t in texts.iter().filter(|t| !t.is_empty()) {
        keys.push(t.as_bytes());
    }
    store
        .append(event.timestamp_ms, &keys, record)
        .map_err(|e| anyhow::anyhow!("event store append: {e}"))
}
