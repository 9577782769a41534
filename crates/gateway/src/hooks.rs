//! What the embedding service implements: admission of each call, readiness of its queue, and
//! the hand-over of one `CallRecord` per call. The gateway knows nothing of the embedder's
//! events, rules or decisions; these few questions are the whole boundary.

use crate::record::CallRecord;
use std::net::IpAddr;

/// The embedder's side of the gateway. Every method is called on the request's task, on one of
/// the gateway's worker threads (calls run on all of them at once), so none may block: answer
/// from memory, queue anything slower.
pub trait Hooks: Send + Sync + 'static {
    /// Decides whether the call may go on, and names the identity rate limits are keyed by.
    /// `req` is the request as the client sent it (headers not yet rewritten).
    fn admit(&self, client_ip: IpAddr, req: &http::request::Parts) -> Admission {
        let _ = (client_ip, req);
        Admission::allow()
    }

    /// Whether `record` has room. Asked at admission of every call, as a record is handed over
    /// only when the call ends, too late to refuse it: with `fail_mode: closed` a `false`
    /// answers 503; with `open` the call goes on and is counted (`fail_open_calls`).
    fn ready(&self) -> bool {
        true
    }

    /// Takes the record of a finished call. Must not block; `Overloaded` when the embedder's
    /// queue is full (the gateway counts the lost record).
    fn record(&self, call: CallRecord) -> Result<(), Overloaded>;
}

/// The embedder's queue for records is full.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the record queue is full")]
pub struct Overloaded;

/// The answer to `Hooks::admit`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Admission {
    /// Whether the call goes on, and if not, how it is answered.
    pub verdict: Verdict,
    /// Identity of the caller, for rate limits keyed by user or consumer.
    pub rate_keys: RateKeys,
}

impl Admission {
    /// Lets the call through with no identity known.
    pub fn allow() -> Self {
        Admission { verdict: Verdict::Allow, rate_keys: RateKeys::default() }
    }
}

/// How a call is admitted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Proxy the call (rate limits still apply).
    Allow,
    /// Answer 403 with a problem body whose `detail` is `reason`.
    Block { reason: String },
    /// Answer 429 with `Retry-After: retry_after_s`.
    Throttle { retry_after_s: u64, reason: String },
    /// Answer `status` (an undocumented endpoint, a malformed call). A status outside 400..=599
    /// is answered as 403.
    Reject { status: u16, reason: String },
}

/// Identity the embedder derived from the request (a token's subject, an API key's consumer).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RateKeys {
    /// The user, for `scope: user` limits; none: such limits do not apply to this call.
    pub user: Option<String>,
    /// The consumer (API key, application), for `scope: consumer` limits.
    pub consumer: Option<String>,
}
