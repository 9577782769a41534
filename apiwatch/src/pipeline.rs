//! The replay pipeline: per input, a reader cuts the stream into chunks that K workers decode,
//! enrich and redact in parallel; a merger interleaves all inputs by event time
//! (deterministically: ties by input then line) and broadcasts batches to detection shards,
//! each evaluating a fixed subset of the rules on every event.
//!
//! Every channel is bounded, so a slow stage slows the ones before it instead of growing
//! memory.

use crate::input::{self, Chunk, Chunker, InputSpec};
use apiwatch_core::redact::Redactor;
use apiwatch_core::{Alert, Event};
use apiwatch_detect::{Engine, EngineStats, Limits, Prescan, Prescanner, RuleSet};
use apiwatch_enrich::Enricher;
use apiwatch_parse::{DecodeError, Decoder, LINE_BYTES_MAX};
use crossbeam_channel::{bounded, Receiver, Sender};
use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;

/// Events per batch sent to the detection shards.
const BATCH_EVENTS: usize = 4096;
/// Chunks queued per decoding worker.
const WORKER_QUEUE_CHUNKS: usize = 2;
/// Batches queued per detection shard.
const SHARD_QUEUE_BATCHES: usize = 8;
/// Processed batches queued for release.
const SPENT_QUEUE_BATCHES: usize = 8;
/// Processed batches queued per decoding worker, to be freed by the thread that allocated them.
const RETURN_QUEUE_BATCHES: usize = 4;
/// Events a chunk's vector is sized for up front at most. Sizing it to the chunk's line count
/// saves regrowing (a copy of every event decoded so far); the cap keeps a chunk of empty
/// lines from reserving an event's worth of memory per byte.
const CHUNK_EVENTS_RESERVED_MAX: usize = 8192;
/// Unparsed lines remembered per input for the summary (all are counted).
pub const UNPARSED_EXAMPLES_MAX: usize = 5;

/// How each input decodes: chosen before the run (named or detected).
pub struct PreparedInput {
    pub spec: InputSpec,
    pub decoder: Arc<dyn Decoder>,
    pub format: String,
    pub compression: &'static str,
    pub size_bytes: Option<u64>,
    /// The reader, positioned at the start (detection read ahead from a buffer it kept).
    pub chunker: Chunker<Box<dyn std::io::Read + Send>>,
    /// Chunks read during detection, to be decoded first.
    pub first_chunks: Vec<Chunk>,
    pub read_bytes: Arc<AtomicU64>,
}

/// What decoding one chunk produced.
struct Decoded {
    events: Vec<Event>,
    /// Each event's request scan, in the order of `events`.
    prescans: Vec<Prescan>,
    lines: u64,
    unparsed: Vec<(u64, String)>,
    unparsed_count: u64,
}

/// Events on their way to the detection shards, with their request scans.
struct Batch {
    events: Vec<Event>,
    prescans: Vec<Prescan>,
    /// The decoding worker (input position, worker) that allocated every event of the batch,
    /// if one did.
    from_worker: Option<(usize, usize)>,
}

impl Batch {
    fn with_capacity(n: usize) -> Batch {
        Batch { events: Vec::with_capacity(n), prescans: Vec::with_capacity(n), from_worker: None }
    }
}

/// Per-input results for the summary.
#[derive(Debug, Default, Clone)]
pub struct InputReport {
    pub display: String,
    pub format: String,
    pub compression: &'static str,
    pub lines: u64,
    pub events: u64,
    pub unparsed: u64,
    pub unparsed_examples: Vec<(u64, String)>,
    pub first_event_ms: Option<i64>,
    pub last_event_ms: Option<i64>,
    /// Set when reading failed part-way.
    pub read_error: Option<String>,
}

impl InputReport {
    /// Counts events passed on, and widens the input's time range to cover them.
    fn note_events(&mut self, events: &[Event]) {
        self.events += events.len() as u64;
        for ev in events {
            let ts = ev.timestamp_ms;
            self.first_event_ms = Some(self.first_event_ms.map_or(ts, |f| f.min(ts)));
            self.last_event_ms = Some(self.last_event_ms.map_or(ts, |l| l.max(ts)));
        }
    }
}

/// Everything a run produced.
pub struct RunOutput {
    pub inputs: Vec<InputReport>,
    pub alerts: Vec<Alert>,
    pub engine_stats: Vec<EngineStats>,
    pub events: u64,
}

/// Shared settings for the workers.
pub struct RunSettings {
    pub enricher: Arc<Enricher>,
    pub redactor: Redactor,
    pub rules: Arc<RuleSet>,
    pub limits: Limits,
    pub workers_per_input: usize,
    pub shards: usize,
}

fn decode_chunk(
    chunk: &Chunk,
    input_index: u32,
    decoder: &dyn Decoder,
    enrich: &mut apiwatch_enrich::EnrichWorker,
    redactor: &Redactor,
    prescanner: &mut Prescanner,
    spare: Option<Batch>,
) -> Decoded {
    // The last line of an input may lack its `\n`.
    let reserved = usize::try_from(chunk.newlines + 1)
        .unwrap_or(CHUNK_EVENTS_RESERVED_MAX)
        .min(CHUNK_EVENTS_RESERVED_MAX);
    // A processed batch's vectors are reused: a chunk's events take hundreds of KiB, which
    // the allocator would otherwise fetch (and the kernel zero) afresh for every chunk.
    let (mut events, mut prescans) = match spare {
        Some(b) => (b.events, b.prescans),
        None => (Vec::new(), Vec::new()),
    };
    events.clear();
    prescans.clear();
    events.reserve(reserved);
    prescans.reserve(reserved);
    let mut out = Decoded { events, prescans, lines: 0, unparsed: Vec::new(), unparsed_count: 0 };
    let fail = |out: &mut Decoded, line: u64, why: String| {
        out.unparsed_count += 1;
        if out.unparsed.len() < UNPARSED_EXAMPLES_MAX {
            out.unparsed.push((line, why));
        }
    };
    for &line in &chunk.overlong_lines {
        out.lines += 1;
        fail(&mut out, line, format!("longer than {LINE_BYTES_MAX} bytes"));
    }
    for (n, bytes) in input::lines(chunk) {
        out.lines += 1;
        if bytes.is_empty() || bytes.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        if bytes.len() > LINE_BYTES_MAX {
            fail(&mut out, n, format!("longer than {LINE_BYTES_MAX} bytes"));
            continue;
        }
        match decoder.decode(bytes) {
            Ok(mut data) => {
                data.origin = apiwatch_core::Origin { input: input_index, line: n };
                enrich.enrich(&mut data);
                redactor.redact_into(data, &mut out.events);
                let ev = out.events.last().expect("just pushed");
                out.prescans.push(prescanner.scan(ev));
            }
            Err(e) => fail(&mut out, n, describe(&e)),
        }
    }
    out
}

fn describe(e: &DecodeError) -> String {
    e.to_string()
}

/// One input's stream of decoded chunks, read round-robin from its workers so that chunk
/// order (and so line order) is kept.
struct InputStream {
    receivers: Vec<Receiver<Decoded>>,
    next_worker: usize,
    /// The worker that decoded `current`.
    current_worker: usize,
    current: VecDeque<Event>,
    /// The request scans of `current`, in step with it.
    current_prescans: VecDeque<Prescan>,
    done: bool,
    report: InputReport,
}

impl InputStream {
    /// Makes sure `current` has an event unless the input is finished.
    fn fill(&mut self) {
        while self.current.is_empty() && !self.done {
            match self.receivers[self.next_worker].recv() {
                Ok(d) => {
                    self.current_worker = self.next_worker;
                    self.next_worker = (self.next_worker + 1) % self.receivers.len();
                    self.report.lines += d.lines;
                    self.report.unparsed += d.unparsed_count;
                    for ex in d.unparsed {
                        if self.report.unparsed_examples.len() < UNPARSED_EXAMPLES_MAX {
                            self.report.unparsed_examples.push(ex);
                        }
                    }
                    self.current = d.events.into();
                    self.current_prescans = d.prescans.into();
                }
                // Chunks go to workers in strict rotation, so the first closed channel in
                // rotation order means there are no more chunks.
                Err(_) => self.done = true,
            }
        }
    }
    fn head_key(&self) -> Option<(i64, u32, u64)> {
        self.current.front().map(|e| (e.timestamp_ms, e.origin.input, e.origin.line))
    }
}

/// Runs the whole pipeline to the end of every input.
pub fn run(
    inputs: Vec<PreparedInput>,
    settings: RunSettings,
    events_done: Arc<AtomicU64>,
) -> RunOutput {
    let read_errors: Arc<Mutex<Vec<(usize, String)>>> = Arc::default();
    thread::scope(|scope| {
        let mut streams = Vec::new();
        // Per input, per worker: where processed batches go back to be freed.
        let mut returns: Vec<Vec<Sender<Batch>>> = Vec::new();
        for (pos, mut prepared) in inputs.into_iter().enumerate() {
            let k = settings.workers_per_input.max(1);
            let mut chunk_senders: Vec<Sender<Chunk>> = Vec::new();
            let mut receivers = Vec::new();
            let mut input_returns = Vec::new();
            for _ in 0..k {
                let (ctx, crx) = bounded::<Chunk>(WORKER_QUEUE_CHUNKS);
                let (dtx, drx) = bounded::<Decoded>(WORKER_QUEUE_CHUNKS);
                let (rtx, rrx) = bounded::<Batch>(RETURN_QUEUE_BATCHES);
                chunk_senders.push(ctx);
                receivers.push(drx);
                input_returns.push(rtx);
                let decoder = Arc::clone(&prepared.decoder);
                let mut enrich = settings.enricher.worker();
                let redactor = settings.redactor.clone();
                let mut prescanner = Prescanner::new(Arc::clone(&settings.rules));
                let index = prepared.spec.index;
                let recycler = prepared.chunker.recycler();
                scope.spawn(move || {
                    for chunk in crx {
                        // The allocator frees fastest, and reuses the memory soonest, in the
                        // thread that allocated it: events come back here to be dropped (all
                        // but the last batch's vectors, kept for the next chunk).
                        let spare = rrx.try_iter().last();
                        let d = decode_chunk(
                            &chunk,
                            index,
                            decoder.as_ref(),
                            &mut enrich,
                            &redactor,
                            &mut prescanner,
                            spare,
                        );
                        // The reader reads into the buffer again (or it is freed here).
                        let _ = recycler.try_send(chunk.data);
                        if dtx.send(d).is_err() {
                            return;
                        }
                    }
                });
            }
            returns.push(input_returns);
            let errors = Arc::clone(&read_errors);
            let first = std::mem::take(&mut prepared.first_chunks);
            let mut chunker = prepared.chunker;
            scope.spawn(move || {
                let mut i = 0usize;
                let mut send = |c: Chunk| {
                    let ok = chunk_senders[i % chunk_senders.len()].send(c).is_ok();
                    i += 1;
                    ok
                };
                for c in first {
                    if !send(c) {
                        return;
                    }
                }
                loop {
                    match chunker.next_chunk() {
                        Ok(Some(c)) => {
                            if !send(c) {
                                return;
                            }
                        }
                        Ok(None) => return,
                        Err(e) => {
                            errors
                                .lock()
                                .expect("no panics hold this lock")
                                .push((pos, e.to_string()));
                            return;
                        }
                    }
                }
            });
            streams.push(InputStream {
                receivers,
                next_worker: 0,
                current_worker: 0,
                current: VecDeque::new(),
                current_prescans: VecDeque::new(),
                done: false,
                report: InputReport {
                    display: prepared.spec.display.clone(),
                    format: prepared.format.clone(),
                    compression: prepared.compression,
                    ..Default::default()
                },
            });
        }

        // Freeing a batch's events (every string of every event) costs about as much as a
        // tenth of detecting on them, and several times more in a thread other than the one
        // that allocated them. The shards, the slowest stage, pass processed batches here; a
        // batch from one decoding worker goes back to it, any other (merged from several
        // inputs) is freed here.
        let (spent_tx, spent_rx) = bounded::<Arc<Batch>>(SPENT_QUEUE_BATCHES);
        scope.spawn(move || {
            for spent in spent_rx {
                // Another shard may still be reading the batch: the last one releases it.
                let Ok(batch) = Arc::try_unwrap(spent) else { continue };
                if let Some((input, worker)) = batch.from_worker {
                    // A worker that is busy or finished leaves the batch to be freed here.
                    let _ = returns[input][worker].try_send(batch);
                }
            }
        });

        // Detection shards.
        let mut shard_senders = Vec::new();
        let mut shard_handles = Vec::new();
        for shard in 0..settings.shards.max(1) {
            let (tx, rx) = bounded::<Arc<Batch>>(SHARD_QUEUE_BATCHES);
            shard_senders.push(tx);
            let rules = Arc::clone(&settings.rules);
            let limits = settings.limits.clone();
            let count = settings.shards.max(1);
            let spent = spent_tx.clone();
            shard_handles.push(scope.spawn(move || {
                let mut engine = Engine::new(rules, limits, shard, count);
                let mut alerts = Vec::new();
                for batch in rx {
                    for (ev, &pre) in batch.events.iter().zip(&batch.prescans) {
                        engine.process_prescanned(ev, pre, &mut alerts);
                    }
                    // Only if the releasing thread has gone (it never stops first) is the
                    // batch dropped here.
                    let _ = spent.send(batch);
                }
                engine.finish(&mut alerts);
                (alerts, engine.stats())
            }));
        }

        // Merge by event time.
        let mut batch = Batch::with_capacity(BATCH_EVENTS);
        let mut total = 0u64;
        let send_all = |b: Batch| {
            let b = Arc::new(b);
            for tx in &shard_senders {
                // A shard only stops early if it panicked; the join below reports that.
                let _ = tx.send(Arc::clone(&b));
            }
        };
        let flush = |batch: &mut Batch| {
            send_all(std::mem::replace(batch, Batch::with_capacity(BATCH_EVENTS)));
        };
        if let [only] = streams.as_mut_slice() {
            // One input: its events are already in order (line order), so each decoded chunk
            // goes to the shards as it is, without moving events one by one.
            loop {
                only.fill();
                if only.current.is_empty() {
                    break;
                }
                let events = Vec::from(std::mem::take(&mut only.current));
                let prescans = Vec::from(std::mem::take(&mut only.current_prescans));
                only.report.note_events(&events);
                total += events.len() as u64;
                send_all(Batch { events, prescans, from_worker: Some((0, only.current_worker)) });
                events_done.store(total, Ordering::Relaxed);
            }
        }
        loop {
            let mut best: Option<(usize, (i64, u32, u64))> = None;
            for (i, s) in streams.iter_mut().enumerate() {
                s.fill();
                if let Some(k) = s.head_key() {
                    if best.is_none_or(|(_, b)| k < b) {
                        best = Some((i, k));
                    }
                }
            }
            let Some((i, _)) = best else { break };
            let s = &mut streams[i];
            let ev = s.current.pop_front().expect("head exists");
            let pre = s.current_prescans.pop_front().expect("one scan per event");
            s.report.note_events(std::slice::from_ref(&ev));
            batch.events.push(ev);
            batch.prescans.push(pre);
            total += 1;
            if batch.events.len() == BATCH_EVENTS {
                flush(&mut batch);
                events_done.store(total, Ordering::Relaxed);
            }
        }
        if !batch.events.is_empty() {
            flush(&mut batch);
        }
        events_done.store(total, Ordering::Relaxed);
        drop(shard_senders);
        drop(spent_tx);

        let mut alerts = Vec::new();
        let mut engine_stats = Vec::new();
        for h in shard_handles {
            let (a, s) = h.join().expect("a detection shard panicked");
            alerts.extend(a);
            engine_stats.push(s);
        }
        alerts.sort_by(|a, b| a.sort_key().cmp(&b.sort_key()));
        let mut reports: Vec<InputReport> = streams.into_iter().map(|s| s.report).collect();
        for (pos, e) in read_errors.lock().expect("no panics hold this lock").drain(..) {
            reports[pos].read_error = Some(e);
        }
        RunOutput { inputs: reports, alerts, engine_stats, events: total }
    })
}
