//! The gateway's calls on their way to the pipeline. One queue item per call cost the decoding
//! and processing threads more than the call itself (a quarter of the calls were dropped at
//! 16,000 calls/s before batching), so calls wait in batches. Each gateway worker thread fills
//! a batch of its own: a batch shared by all of them had its lock move between cores on every
//! call.

use super::feed::Feed;
use apiwatch_gateway::{CallRecord, Overloaded};
use crossbeam_channel::{Sender, TrySendError};
use prometheus_client::metrics::counter::Counter;
use std::cell::Cell;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

/// Calls sent to the pipeline in one batch at most, and how long a call waits for its batch
/// to fill.
const CALL_BATCH_MAX: usize = 256;
const CALL_BATCH_WAIT: Duration = Duration::from_millis(10);
/// Batches: worker threads take them in turn; more workers than batches share them.
const BATCHES: usize = 4;
/// Calls held while the pipeline's queue is full, at most, over all batches; beyond, calls
/// are dropped (and counted, and `fail_mode` decides whether requests still go through).
const CALLS_PENDING_MAX: usize = 16_384;
const CALLS_PENDING_PER_BATCH_MAX: usize = CALLS_PENDING_MAX / BATCHES;

pub struct CallBatches {
    source: usize,
    feed: Sender<Feed>,
    batches: [Mutex<Vec<CallRecord>>; BATCHES],
    /// Set while the pipeline's queue refuses batches: only then does `ready` look further.
    backlogged: AtomicBool,
    dropped: Counter,
}

thread_local! {
    /// The batch this thread fills, chosen at its first call.
    static BATCH: Cell<Option<usize>> = const { Cell::new(None) };
}

impl CallBatches {
    /// Calls from gateway source `source` go to `feed`; those dropped are counted in `dropped`.
    pub fn new(source: usize, feed: Sender<Feed>, dropped: Counter) -> Self {
        CallBatches {
            source,
            feed,
            batches: Default::default(),
            backlogged: AtomicBool::new(false),
            dropped,
        }
    }

    fn own_batch(&self) -> MutexGuard<'_, Vec<CallRecord>> {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let index = BATCH.with(|b| match b.get() {
            Some(i) => i,
            None => {
                let i = NEXT.fetch_add(1, Ordering::Relaxed) % BATCHES;
                b.set(Some(i));
                i
            }
        });
        self.batches[index].lock().expect("calls lock")
    }

    /// Whether a call made now can be recorded.
    pub fn ready(&self) -> bool {
        !self.backlogged.load(Ordering::Relaxed)
            || self.own_batch().len() < CALLS_PENDING_PER_BATCH_MAX
    }

    /// Queues a finished call; `Overloaded` (and counted) when its batch is full.
    pub fn record(&self, call: CallRecord) -> Result<(), Overloaded> {
        let mut batch = self.own_batch();
        if batch.len() >= CALLS_PENDING_PER_BATCH_MAX {
            self.dropped.inc();
            return Err(Overloaded);
        }
        batch.push(call);
        if batch.len() >= CALL_BATCH_MAX {
            self.send(&mut batch);
        }
        Ok(())
    }

    /// Hands a batch to the pipeline; a full queue leaves it waiting.
    fn send(&self, batch: &mut Vec<CallRecord>) {
        if batch.is_empty() {
            return;
        }
        let calls = std::mem::take(batch);
        let refused = match self.feed.try_send(Feed::Calls { source: self.source, calls }) {
            Ok(()) | Err(TrySendError::Disconnected(_)) => false,
            Err(TrySendError::Full(Feed::Calls { calls, .. })) => {
                *batch = calls;
                true
            }
            Err(TrySendError::Full(_)) => unreachable!("a call batch comes back as one"),
        };
        // Written only when it changes: every worker reads it on every call.
        if self.backlogged.load(Ordering::Relaxed) != refused {
            self.backlogged.store(refused, Ordering::Relaxed);
        }
    }

    /// Sends every batch every `CALL_BATCH_WAIT`, until `stop` turns true (then once more).
    pub async fn flush_until(&self, mut stop: tokio::sync::watch::Receiver<bool>) {
        loop {
            let stopping = tokio::select! {
                _ = tokio::time::sleep(CALL_BATCH_WAIT) => false,
                _ = stop.wait_for(|s| *s) => true,
            };
            for batch in &self.batches {
                self.send(&mut batch.lock().expect("calls lock"));
            }
            if stopping {
                return;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use apiwatch_gateway::{BodyPrefix, Outcome};

    fn call() -> CallRecord {
        CallRecord {
            request_id: "r".into(),
            start_ms: 0,
            duration_us: 1,
            client_ip: [192, 0, 2, 1].into(),
            peer_ip: [192, 0, 2, 1].into(),
            method: http::Method::GET,
            scheme: "http",
            host: "api".into(),
            path: "/".into(),
            query: None,
            version: http::Version::HTTP_11,
            request_headers: http::HeaderMap::new(),
            status: http::StatusCode::OK,
            request_bytes: 0,
            response_bytes: 0,
            response_content_type: None,
            response_content_encoding: None,
            request_body: BodyPrefix::default(),
            response_body: BodyPrefix::default(),
            upstream: None,
            outcome: Outcome::Proxied,
        }
    }

    fn sent(rx: &crossbeam_channel::Receiver<Feed>) -> Vec<usize> {
        rx.try_iter()
            .map(|f| match f {
                Feed::Calls { calls, .. } => calls.len(),
                _ => panic!("only calls are sent"),
            })
            .collect()
    }

    #[test]
    fn a_full_pipeline_holds_calls_up_to_the_bound_then_drops_and_counts_them() {
        // Room for one batch in the pipeline's queue.
        let (tx, rx) = crossbeam_channel::bounded(1);
        let dropped = Counter::default();
        let calls = CallBatches::new(0, tx, dropped.clone());
        for _ in 0..CALL_BATCH_MAX {
            calls.record(call()).unwrap();
        }
        assert!(calls.ready());
        // The queue is full now: calls wait, and the gateway is still told it may go on.
        for _ in 0..CALLS_PENDING_PER_BATCH_MAX {
            calls.record(call()).unwrap();
        }
        assert!(!calls.ready());
        assert_eq!(calls.record(call()), Err(Overloaded));
        assert_eq!(dropped.get(), 1);
        assert_eq!(sent(&rx), [CALL_BATCH_MAX]);
        // Once the pipeline has taken a batch, the held calls go as one and all is well again.
        let (stop_tx, stop) = tokio::sync::watch::channel(true);
        tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .build()
            .unwrap()
            .block_on(calls.flush_until(stop));
        drop(stop_tx);
        assert_eq!(sent(&rx), [CALLS_PENDING_PER_BATCH_MAX]);
        assert!(calls.ready());
    }

    #[test]
    fn a_lone_call_reaches_the_pipeline_with_the_next_flush() {
        let (tx, rx) = crossbeam_channel::bounded(4);
        let calls = CallBatches::new(0, tx, Counter::default());
        calls.record(call()).unwrap();
        assert!(sent(&rx).is_empty());
        let (_stop_tx, stop) = tokio::sync::watch::channel(false);
        let runtime = tokio::runtime::Builder::new_current_thread().enable_time().build().unwrap();
        runtime.block_on(async {
            let _ = tokio::time::timeout(CALL_BATCH_WAIT * 3, calls.flush_until(stop)).await;
        });
        assert_eq!(sent(&rx), [1]);
    }
}
