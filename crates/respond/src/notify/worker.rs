//! A channel's worker: takes notifications from the channel's queue in order, applies the rate
//! limit, delivers with retries (exponential backoff with jitter) and writes what it gives up on
//! to the dead-letter file.

use super::channels::Channel;
use super::dead_letter::DeadLetterFile;
use super::error::DeliveryError;
use super::notification::Notification;
use super::rate::RateWindow;
use super::secret::Scrubber;
use super::stats::{Counters, DeliveryEvent};
use super::wall_ms;
use std::hash::{BuildHasher, Hasher};
use std::sync::Arc;
use tokio::sync::{mpsc, watch};
use tokio::time::{sleep, sleep_until, Duration, Instant};

/// No retry waits longer than this, whatever `retry_base_ms` and `retry_max` say: a receiver
/// down for longer is better served by the dead-letter file than by a queue stuck behind one
/// notification.
const RETRY_DELAY_MAX: Duration = Duration::from_secs(300);

/// How a channel delivers, validated.
#[derive(Clone, Debug)]
pub(crate) struct Delivery {
    pub(crate) retry_max: u32,
    pub(crate) retry_base: Duration,
    pub(crate) timeout: Duration,
}

pub(crate) struct Worker {
    pub(crate) name: Arc<str>,
    pub(crate) channel: Channel,
    pub(crate) queue: mpsc::Receiver<Arc<Notification>>,
    pub(crate) delivery: Delivery,
    pub(crate) rate: Option<RateWindow>,
    pub(crate) counters: Arc<Counters>,
    pub(crate) dead_letter: Arc<DeadLetterFile>,
    pub(crate) scrubber: Scrubber,
    /// Set by `shutdown`: past it, nothing more is attempted and what is left is dead-lettered.
    pub(crate) deadline: watch::Receiver<Option<Instant>>,
}

impl Worker {
    pub(crate) async fn run(mut self) {
        let mut jitter = Jitter::new();
        loop {
            let due = self.rate.as_ref().and_then(RateWindow::summary_due);
            let next = tokio::select! {
                n = self.queue.recv() => n,
                () = sleep_until(due.unwrap_or_else(Instant::now)), if due.is_some() => {
                    self.flush_summary(&mut jitter).await;
                    continue;
                }
            };
            // The queue is closed and empty: the notifier is shutting down.
            let Some(n) = next else { break };
            if due.is_some_and(|d| Instant::now() >= d) {
                self.flush_summary(&mut jitter).await;
            }
            if let Some(rate) = &mut self.rate {
                if !rate.admit(Instant::now(), &n) {
                    self.counters.record(&self.name, DeliveryEvent::RateLimited);
                    continue;
                }
            }
            self.deliver(&n, false, &mut jitter).await;
        }
        // What the rate limit holds goes now rather than at the end of its window.
        self.flush_summary(&mut jitter).await;
    }

    async fn flush_summary(&mut self, jitter: &mut Jitter) {
        if let Some(summary) =
            self.rate.as_mut().and_then(|r| r.take_summary(&self.name, wall_ms()))
        {
            self.deliver(&summary, true, jitter).await;
        }
    }

    async fn deliver(&mut self, n: &Notification, summary: bool, jitter: &mut Jitter) {
        let mut attempts = 0;
        loop {
            if self.deadline_passed() {
                self.give_up(n, attempts, "not delivered before the shutdown deadline");
                return;
            }
            attempts += 1;
            let deadline = self.deadline.clone();
            let result = tokio::select! {
                r = self.channel.deliver(n, self.delivery.timeout) => r,
                () = wait_for_deadline(deadline) => Err(DeliveryError::permanent("shutdown deadline passed during delivery")),
            };
            let error = match result {
                Ok(()) => {
                    self.counters
                        .record(&self.name, DeliveryEvent::Sent { id: &n.id, attempts, summary });
                    return;
                }
                Err(e) => e,
            };
            let message = self.scrubber.scrub(&error.message);
            let will_retry = error.retry && attempts <= self.delivery.retry_max;
            self.counters.record(
                &self.name,
                DeliveryEvent::AttemptFailed {
                    id: &n.id,
                    attempt: attempts,
                    error: &message,
                    will_retry,
                },
            );
            if !will_retry {
                self.give_up(n, attempts, &message);
                return;
            }
            let delay = jitter.apply(backoff(self.delivery.retry_base, attempts));
            tokio::select! {
                () = sleep(delay) => {}
                () = wait_for_deadline(self.deadline.clone()) => {}
            }
        }
    }

    fn give_up(&self, n: &Notification, attempts: u32, error: &str) {
        let written = match self.dead_letter.write(wall_ms(), &self.name, error, attempts, n) {
            Ok(()) => true,
            Err(e) => {
                tracing::error!(channel = &*self.name, error = %e, "cannot write the dead-letter file");
                false
            }
        };
        self.counters.record(
            &self.name,
            DeliveryEvent::DeadLettered { id: &n.id, attempts, error, written },
        );
    }

    fn deadline_passed(&self) -> bool {
        self.deadline.borrow().is_some_and(|d| Instant::now() >= d)
    }
}

/// The delay before retry number `attempt` (1-based): `base`, `2·base`, `4·base`, … capped.
fn backoff(base: Duration, attempt: u32) -> Duration {
    let factor = 1u32.checked_shl(attempt.saturating_sub(1)).unwrap_or(u32::MAX);
    base.checked_mul(factor).unwrap_or(RETRY_DELAY_MAX).min(RETRY_DELAY_MAX)
}

/// Resolves when the shutdown deadline passes; never, while none is set.
async fn wait_for_deadline(mut deadline: watch::Receiver<Option<Instant>>) {
    loop {
        let set = *deadline.borrow_and_update();
        if let Some(at) = set {
            sleep_until(at).await;
            return;
        }
        if deadline.changed().await.is_err() {
            // The notifier is gone without a shutdown: there is no deadline to wait for.
            std::future::pending::<()>().await;
        }
    }
}

/// "Equal jitter": half the delay fixed, half random, so channels that failed together do not
/// retry in lockstep, and no retry comes much sooner than the backoff intends.
struct Jitter {
    state: u64,
}

impl Jitter {
    fn new() -> Jitter {
        // Seeded from std's per-process random hasher keys: no dependency for a few random bits.
        let mut h = std::collections::hash_map::RandomState::new().build_hasher();
        h.write_u64(0x9e37_79b9_7f4a_7c15);
        Jitter { state: h.finish() | 1 }
    }

    fn next(&mut self) -> u64 {
        // xorshift64
        self.state ^= self.state << 13;
        self.state ^= self.state >> 7;
        self.state ^= self.state << 17;
        self.state
    }

    fn apply(&mut self, delay: Duration) -> Duration {
        let ms = u64::try_from(delay.as_millis()).unwrap_or(u64::MAX);
        let half = ms / 2;
        Duration::from_millis(half + self.next() % (ms - half + 1))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_and_is_capped() {
        let base = Duration::from_millis(100);
        assert_eq!(backoff(base, 1), Duration::from_millis(100));
        assert_eq!(backoff(base, 4), Duration::from_millis(800));
        assert_eq!(backoff(base, 40), RETRY_DELAY_MAX);
    }

    #[test]
    fn jitter_stays_between_half_and_the_whole_delay() {
        let mut j = Jitter::new();
        for _ in 0..1000 {
            let d = j.apply(Duration::from_millis(1000));
            assert!(d >= Duration::from_millis(500) && d <= Duration::from_millis(1000), "{d:?}");
        }
    }
}
