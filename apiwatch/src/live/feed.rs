//! What sources hand to the pipeline: lines, with how far the source has been read once
//! they are stored, and for HTTP ingest a reply to send once they are durable.

use apiwatch_detect::RuleSet;
use std::path::PathBuf;
use std::sync::Arc;

/// Batches waiting for the pipeline; a full queue blocks (files, stdin, TCP) or refuses (HTTP
/// 429, UDP counted as dropped) upstream.
pub const FEED_QUEUE_BATCHES: usize = 64;
/// Lines one batch holds at most (sources split larger reads).
pub const BATCH_LINES_MAX: usize = 4096;

/// How far a source has been read, to be remembered once the batch's events are stored.
#[derive(Debug, Clone)]
pub enum Mark {
    /// Nothing to remember (stdin, syslog, HTTP).
    None,
    /// A followed file, read up to `end_offset`; `more`: the file held more than that when the
    /// batch was read (a backlog), so the merge waits for its next batch.
    File { fingerprint: apiwatch_source::Fingerprint, path: PathBuf, end_offset: u64, more: bool },
}

/// The reply to an ingest request: how many events were stored, or why not.
pub type Ack = tokio::sync::oneshot::Sender<Result<IngestReceipt, String>>;

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct IngestReceipt {
    pub accepted: u64,
    pub unparsed: u64,
}

pub enum Feed {
    Lines {
        source: usize,
        lines: Vec<Vec<u8>>,
        mark: Mark,
        ack: Option<Ack>,
    },
    /// Calls through the inline gateway: events without log text.
    Calls {
        source: usize,
        calls: Vec<apiwatch_gateway::CallRecord>,
    },
    /// A new rule set, compiled and checked, to swap in.
    Rules(Arc<RuleSet>),
    /// Enrichment rebuilt from its files (GeoIP, ASN, OpenAPI), to swap in.
    Enricher(Arc<apiwatch_enrich::Enricher>),
}
