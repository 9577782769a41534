//! What happens to notifications, as typed events: each one moves a channel's counters and
//! writes one log line, so the counters and the log cannot disagree.

use serde::Serialize;
use std::sync::atomic::{AtomicU64, Ordering};

/// One channel's counters, as [`crate::notify::Notifier::stats`] reads them.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct ChannelStats {
    pub channel: String,
    /// Notifications delivered (summaries included).
    pub sent: u64,
    /// Rate-limit summaries delivered (also counted in `sent`).
    pub summaries_sent: u64,
    /// Attempts that failed (a notification retried twice and then delivered counts 2).
    pub failed: u64,
    /// Attempts that were retries.
    pub retried: u64,
    /// Notifications given up on and written to the dead-letter file.
    pub dead_lettered: u64,
    /// Notifications refused because the channel's queue was full (or the notifier was
    /// shutting down).
    pub dropped: u64,
    /// Notifications held by the rate limit (each counted in a summary instead).
    pub rate_limited: u64,
    /// Notifications waiting in the queue now.
    pub queued: usize,
}

#[derive(Debug, Default)]
pub(crate) struct Counters {
    sent: AtomicU64,
    summaries_sent: AtomicU64,
    failed: AtomicU64,
    retried: AtomicU64,
    dead_lettered: AtomicU64,
    dropped: AtomicU64,
    rate_limited: AtomicU64,
}

/// Something that happened to a notification on a channel.
pub(crate) enum DeliveryEvent<'a> {
    Sent { id: &'a str, attempts: u32, summary: bool },
    AttemptFailed { id: &'a str, attempt: u32, error: &'a str, will_retry: bool },
    DeadLettered { id: &'a str, attempts: u32, error: &'a str, written: bool },
    Dropped { reason: &'static str },
    RateLimited,
}

impl Counters {
    pub(crate) fn record(&self, channel: &str, event: DeliveryEvent<'_>) {
        let bump = |c: &AtomicU64| c.fetch_add(1, Ordering::Relaxed);
        match event {
            DeliveryEvent::Sent { id, attempts, summary } => {
                bump(&self.sent);
                if summary {
                    bump(&self.summaries_sent);
                }
                tracing::debug!(channel, id, attempts, summary, "notification sent");
            }
            DeliveryEvent::AttemptFailed { id, attempt, error, will_retry } => {
                bump(&self.failed);
                if will_retry {
                    bump(&self.retried);
                }
                tracing::warn!(
                    channel,
                    id,
                    attempt,
                    will_retry,
                    error,
                    "notification attempt failed"
                );
            }
            DeliveryEvent::DeadLettered { id, attempts, error, written } => {
                bump(&self.dead_lettered);
                if written {
                    tracing::error!(
                        channel,
                        id,
                        attempts,
                        error,
                        "notification not delivered; written to the dead-letter file"
                    );
                } else {
                    tracing::error!(
                        channel,
                        id,
                        attempts,
                        error,
                        "notification not delivered, and the dead-letter file could not be written"
                    );
                }
            }
            DeliveryEvent::Dropped { reason } => {
                bump(&self.dropped);
                tracing::warn!(channel, reason, "notification dropped");
            }
            DeliveryEvent::RateLimited => {
                bump(&self.rate_limited);
            }
        }
    }

    pub(crate) fn snapshot(&self, channel: &str, queued: usize) -> ChannelStats {
        let get = |c: &AtomicU64| c.load(Ordering::Relaxed);
        ChannelStats {
            channel: channel.to_string(),
            sent: get(&self.sent),
            summaries_sent: get(&self.summaries_sent),
            failed: get(&self.failed),
            retried: get(&self.retried),
            dead_lettered: get(&self.dead_lettered),
            dropped: get(&self.dropped),
            rate_limited: get(&self.rate_limited),
            queued,
        }
    }
}
