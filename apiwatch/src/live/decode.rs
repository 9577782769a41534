//! The live pipeline's decoding thread: each batch of lines is decoded (its source's format
//! named or detected from its first lines), enriched, redacted and serialized for storage,
//! then handed to the processing thread (`process.rs`) with the batch's read mark and
//! ingest reply behind its events. Two threads, so that a two-core machine decodes one
//! batch while the last one is stored and detected.

use super::feed::{Ack, Feed, IngestReceipt, Mark};
use super::merge::Entry;
use super::metrics::Metrics;
use crate::formats::Formats;
use apiwatch_core::redact::Redactor;
use apiwatch_core::{Event, Origin};
use apiwatch_detect::RuleSet;
use apiwatch_enrich::Enricher;
use apiwatch_parse::detect::DETECT_LINES_MAX;
use apiwatch_parse::{Decoder, LINE_BYTES_MAX};
use crossbeam_channel::{Receiver, Sender};
use prometheus_client::metrics::counter::Counter;
use std::sync::Arc;

/// Lines a source's sample may hold while its format is not yet known.
const SAMPLE_LINES_MAX: usize = DETECT_LINES_MAX;
/// Fields whose values are the summary's actor keys.
const ACTOR_KEY_FIELDS_N: usize = 5;
const _: () = assert!(apiwatch_detect::query::ACTOR_KEY_FIELDS.len() == ACTOR_KEY_FIELDS_N);

/// What follows a batch's events through the merge.
pub enum Marker {
    /// The source has been read this far once the events before are stored.
    Read(Mark),
    /// An ingest request to answer once the events before are committed.
    Reply(Ack, IngestReceipt),
}

/// An event ready to store: its ECS JSON record and its actor keys.
pub struct Staged {
    pub event: Event,
    pub record: Vec<u8>,
    /// The actor keys, one after another; `key_ends` says where each ends.
    keys: String,
    key_ends: [u16; ACTOR_KEY_FIELDS_N],
    key_count: u8,
}

impl Staged {
    /// Serializes an event for the store. Every field a search may name an actor by is a
    /// key of the segment's summary, written as a filter's value would be
    /// (`Value::write_to`).
    pub fn new(event: Event) -> Staged {
        let data = event.data();
        let mut record = Vec::with_capacity(1024);
        apiwatch_core::ecs::write_ecs_json(data, &mut record);
        let mut keys = String::new();
        let mut key_ends = [0u16; ACTOR_KEY_FIELDS_N];
        let mut key_count = 0u8;
        for field in apiwatch_detect::query::ACTOR_KEY_FIELDS {
            let start = keys.len();
            if data.get(field).write_to(&mut keys) && keys.len() > start {
                match u16::try_from(keys.len()) {
                    Ok(end) => {
                        key_ends[usize::from(key_count)] = end;
                        key_count += 1;
                    }
                    // A key this long is no actor anybody searches for; leave it out.
                    Err(_) => keys.truncate(start),
                }
            }
        }
        Staged { event, record, keys, key_ends, key_count }
    }

    pub fn keys(&self) -> impl Iterator<Item = &[u8]> {
        let ends = &self.key_ends[..usize::from(self.key_count)];
        ends.iter().scan(0usize, |start, &end| {
            let k = &self.keys.as_bytes()[*start..usize::from(end)];
            *start = usize::from(end);
            Some(k)
        })
    }
}

pub type Item = Entry<Staged, Marker>;

/// What the decoding thread hands on.
pub enum Decoded {
    /// `more`: the source had more to read when it sent the batch (see `Mark::File`).
    Items {
        source: usize,
        items: Vec<Item>,
        more: bool,
    },
    Rules(Arc<RuleSet>),
}

/// A source as decoding sees it.
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
    lines_read: Counter,
    bytes_read: Counter,
    unparsed: Counter,
}

impl SourceState {
    pub fn new(
        name: String,
        decoder: Option<(String, Arc<dyn Decoder>)>,
        metrics: &Metrics,
    ) -> SourceState {
        let label = Metrics::source(&name);
        SourceState {
            lines_read: metrics.source_lines.get_or_create(&label).clone(),
            bytes_read: metrics.source_bytes.get_or_create(&label).clone(),
            unparsed: metrics.unparsed.get_or_create(&label).clone(),
            name,
            decoder,
            sample: Vec::new(),
            pending: Vec::new(),
            lines: 0,
        }
    }
}

pub struct DecodeStage {
    pub sources: Vec<SourceState>,
    pub formats: Formats,
    pub enricher: Arc<Enricher>,
    pub redactor: Redactor,
    pub decoded: Counter,
    /// Inspects the gateway's body prefixes (login account, records, exposure).
    pub inspector: Option<apiwatch_enrich::inspect::Inspector>,
}

impl DecodeStage {
    /// Decodes until every sender of `rx` is gone; then decodes what waited for its format
    /// with what there is, and returns (dropping `tx`, which ends the processing thread).
    pub fn run(mut self, rx: Receiver<Feed>, tx: Sender<Decoded>) {
        let mut enrich = self.enricher.worker();
        for feed in rx {
            let out = match feed {
                Feed::Rules(r) => Decoded::Rules(r),
                Feed::Enricher(e) => {
                    // Batches already decoded keep what they were enriched with.
                    self.enricher = e;
                    enrich = self.enricher.worker();
                    continue;
                }
                Feed::Calls { source, calls } => Decoded::Items {
                    source,
                    items: self.calls(source, calls, &mut enrich),
                    more: false,
                },
                Feed::Lines { source, lines, mark, ack } => {
                    let more = matches!(mark, Mark::File { more: true, .. });
                    Decoded::Items {
                        source,
                        items: self.decode(source, lines, mark, ack, &mut enrich),
                        more,
                    }
                }
            };
            if tx.send(out).is_err() {
                return;
            }
        }
        for source in 0..self.sources.len() {
            let items = self.flush_sample(source, &mut enrich, true);
            if !items.is_empty() && tx.send(Decoded::Items { source, items, more: false }).is_err()
            {
                return;
            }
        }
    }

    /// Decodes a batch into merge entries: its events, then its read mark and its reply.
    fn decode(
        &mut self,
        source: usize,
        lines: Vec<Vec<u8>>,
        mark: Mark,
        ack: Option<Ack>,
        enrich: &mut apiwatch_enrich::EnrichWorker,
    ) -> Vec<Item> {
        let st = &mut self.sources[source];
        st.lines_read.inc_by(lines.len() as u64);
        st.bytes_read.inc_by(lines.iter().map(|l| l.len() as u64 + 1).sum());
        st.sample.extend(lines);
        st.pending.push((mark, ack));
        // Until there are enough lines to tell the format, they wait (and so do their marks).
        self.flush_sample(source, enrich, false)
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
                let ts_ms = event.timestamp_ms;
                let line = event.origin.line;
                items.push(Entry::Event { ts_ms, line, event: Staged::new(event) });
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

    /// Turns gateway calls into events: inspected, enriched and redacted.
    fn calls(
        &mut self,
        source: usize,
        calls: Vec<apiwatch_gateway::CallRecord>,
        enrich: &mut apiwatch_enrich::EnrichWorker,
    ) -> Vec<Item> {
        let st = &mut self.sources[source];
        st.lines_read.inc_by(calls.len() as u64);
        let mut items = Vec::with_capacity(calls.len());
        for c in &calls {
            let inspection = match &self.inspector {
                Some(i) => super::gateway::inspect(i, c),
                None => Default::default(),
            };
            let mut data = super::gateway::call_event(c, &inspection);
            self.sources[source].lines += 1;
            data.origin = Origin { input: source as u32, line: self.sources[source].lines };
            enrich.enrich(&mut data);
            self.decoded.inc();
            let event = self.redactor.redact(data);
            let (ts_ms, line) = (event.timestamp_ms, event.origin.line);
            items.push(Entry::Event { ts_ms, line, event: Staged::new(event) });
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
            st.unparsed.inc();
            return None;
        };
        data.origin = Origin { input: source as u32, line: st.lines };
        enrich.enrich(&mut data);
        receipt.accepted += 1;
        self.decoded.inc();
        Some(self.redactor.redact(data))
    }
}
