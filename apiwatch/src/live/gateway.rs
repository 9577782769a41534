//! The inline gateway inside the service: its calls become events (no log text between: a
//! `CallRecord` is turned into `EventData` in the decoding thread, inspected, enriched and
//! redacted like any other event), and its admission asks the responder's index of active
//! decisions, so a decision applies to the next request after it is made.

use super::feed::Feed;
use super::respond::Responder;
use apiwatch_core::redact::Redactor;
use apiwatch_core::{Action, EventData, Outcome, Text};
use apiwatch_enrich::inspect::{Inspection, LoginOutcome, RequestView, ResponseView};
use apiwatch_enrich::{EnrichWorker, Enricher};
use apiwatch_gateway::{Admission, CallRecord, Hooks, Overloaded, RateKeys, Verdict};
use apiwatch_respond::decide::Subject;
use crossbeam_channel::{Sender, TrySendError};
use prometheus_client::metrics::counter::Counter;
use std::cell::RefCell;
use std::net::IpAddr;
use std::sync::Arc;

/// Request headers kept on a gateway event at most, and the longest value kept.
const HEADERS_MAX: usize = 32;
const HEADER_VALUE_BYTES_MAX: usize = 1024;
/// The longest `Retry-After` a throttle decision answers with (the client asks again then,
/// and the decision may have been lifted).
const THROTTLE_RETRY_AFTER_MAX_S: u64 = 60;
/// Calls sent to the pipeline in one batch at most, and how long a call waits for its batch
/// to fill: one queue item per call costs the decoding and processing threads more than the
/// call itself (a quarter of the calls were dropped at 16,000 calls/s before batching).
pub const CALL_BATCH_MAX: usize = 256;
pub const CALL_BATCH_WAIT: std::time::Duration = std::time::Duration::from_millis(10);
/// Calls held while the pipeline's queue is full, at most; beyond, calls are dropped (and
/// counted, and `fail_mode` decides whether requests still go through).
const CALLS_PENDING_MAX: usize = 16_384;

/// The service's side of the gateway.
pub struct GatewayHooks {
    pub source: usize,
    pub feed: Sender<Feed>,
    pub responder: Arc<Responder>,
    pub enricher: Arc<Enricher>,
    pub redactor: Redactor,
    /// Whether a rate limit is keyed by user or consumer (then identity is read on every
    /// call, not only when a decision names an identity).
    pub identity_limits: bool,
    pub dropped: Counter,
    /// Calls waiting for their batch.
    pub pending: std::sync::Mutex<Vec<CallRecord>>,
}

thread_local! {
    /// Each runtime thread's enrichment caches and redactor (neither is shared across threads).
    static IDENTITY: RefCell<Option<(EnrichWorker, Redactor)>> = const { RefCell::new(None) };
}

/// Who is calling, as the pipeline would see it: user, token pseudonym, session, consumer,
/// country (from the same enrichment and redaction that stored events go through).
struct Identity {
    user: Option<String>,
    token: Option<String>,
    session: Option<String>,
    consumer: Option<String>,
    country: Option<String>,
}

impl GatewayHooks {
    fn identity(&self, client_ip: IpAddr, req: &http::request::Parts) -> Identity {
        let mut data = EventData {
            timestamp_ms: super::now_ms(),
            dataset: "apiwatch.gateway",
            source_ip: Some(client_ip),
            http_method: Some(Text::from(req.method.as_str())),
            url_path: Some(Text::from(req.uri.path())),
            headers: headers_of(&req.headers),
            ..Default::default()
        };
        IDENTITY.with(|cell| {
            let mut cell = cell.borrow_mut();
            let (worker, redactor) =
                cell.get_or_insert_with(|| (self.enricher.worker(), self.redactor.clone()));
            worker.enrich(&mut data);
            let event = redactor.redact(data);
            let d = event.data();
            let text = |t: &Option<Text>| t.as_ref().map(|v| v.to_string());
            Identity {
                user: text(&d.user_name),
                token: text(&d.token_id).or_else(|| text(&d.api_key_id)),
                session: text(&d.session_id),
                consumer: text(&d.consumer),
                country: d.geo.as_ref().and_then(|g| g.country_iso_code.clone()),
            }
        })
    }
}

impl Hooks for GatewayHooks {
    fn admit(&self, client_ip: IpAddr, req: &http::request::Parts) -> Admission {
        let index = self.responder.enforced();
        if index.is_empty() && !self.identity_limits {
            return Admission::allow();
        }
        let now = super::now_ms();
        let identity =
            (index.needs_identity() || self.identity_limits).then(|| self.identity(client_ip, req));
        let id = identity.as_ref();
        let who = Subject {
            ip: Some(client_ip),
            user: id.and_then(|i| i.user.as_deref()),
            token: id.and_then(|i| i.token.as_deref()),
            session: id.and_then(|i| i.session.as_deref()),
            consumer: id.and_then(|i| i.consumer.as_deref()),
            country: id.and_then(|i| i.country.as_deref()),
        };
        let rate_keys = RateKeys {
            user: who.user.map(str::to_string),
            consumer: who.consumer.map(str::to_string),
        };
        let verdict = match index.lookup(&who, now) {
            None => Verdict::Allow,
            Some(d) => {
                let reason = format!(
                    "{} of {} {} by decision {} ({})",
                    d.action.as_str(),
                    d.scope.as_str(),
                    d.value,
                    d.id,
                    d.reason
                );
                match d.action {
                    Action::Block | Action::Lock | Action::Revoke => Verdict::Block { reason },
                    Action::Throttle => Verdict::Throttle {
                        retry_after_s: (((d.expires_at_ms - now) / 1000).max(1) as u64)
                            .min(THROTTLE_RETRY_AFTER_MAX_S),
                        reason,
                    },
                    Action::StepUp => Verdict::Reject { status: 401, reason },
                }
            }
        };
        Admission { verdict, rate_keys }
    }

    fn ready(&self) -> bool {
        self.pending.lock().expect("calls lock").len() < CALLS_PENDING_MAX
    }

    fn record(&self, call: CallRecord) -> Result<(), Overloaded> {
        let mut pending = self.pending.lock().expect("calls lock");
        if pending.len() >= CALLS_PENDING_MAX {
            self.dropped.inc();
            return Err(Overloaded);
        }
        pending.push(call);
        if pending.len() >= CALL_BATCH_MAX {
            self.send_batch(&mut pending);
        }
        Ok(())
    }
}

impl GatewayHooks {
    /// Hands the waiting calls to the pipeline; a full queue leaves them waiting.
    fn send_batch(&self, pending: &mut Vec<CallRecord>) {
        if pending.is_empty() {
            return;
        }
        let calls = std::mem::take(pending);
        match self.feed.try_send(Feed::Calls { source: self.source, calls }) {
            Ok(()) => {}
            Err(TrySendError::Full(Feed::Calls { calls, .. })) => *pending = calls,
            Err(TrySendError::Full(_)) => unreachable!("a call batch comes back as one"),
            Err(TrySendError::Disconnected(_)) => {}
        }
    }

    /// Sends what waits every `CALL_BATCH_WAIT`, until `stop` turns true (then once more).
    pub async fn flush_until(self: Arc<Self>, mut stop: tokio::sync::watch::Receiver<bool>) {
        loop {
            let stopping = tokio::select! {
                _ = tokio::time::sleep(CALL_BATCH_WAIT) => false,
                _ = stop.wait_for(|s| *s) => true,
            };
            self.send_batch(&mut self.pending.lock().expect("calls lock"));
            if stopping {
                return;
            }
        }
    }
}

/// The request headers kept on an event: names lower-case, bounded in number and length
/// (redaction turns credentials into pseudonyms before anything is stored).
fn headers_of(h: &http::HeaderMap) -> Vec<(String, String)> {
    h.iter()
        .filter_map(|(k, v)| {
            let v = v.to_str().ok()?;
            let v = if v.len() > HEADER_VALUE_BYTES_MAX {
                let mut end = HEADER_VALUE_BYTES_MAX;
                while !v.is_char_boundary(end) {
                    end -= 1;
                }
                &v[..end]
            } else {
                v
            };
            Some((k.as_str().to_ascii_lowercase(), v.to_string()))
        })
        .take(HEADERS_MAX)
        .collect()
}

/// What the inspection of a call's bodies needs to see.
pub fn inspect(inspector: &apiwatch_enrich::inspect::Inspector, c: &CallRecord) -> Inspection {
    let header = |name: &str| c.request_headers.get(name).and_then(|v| v.to_str().ok());
    let req = RequestView {
        method: c.method.as_str(),
        path: &c.path,
        content_type: header("content-type"),
        body: &c.request_body.bytes,
        truncated: c.request_body.truncated,
        compressed: header("content-encoding").is_some(),
    };
    let resp = ResponseView {
        status: c.status.as_u16(),
        content_type: c.response_content_type.as_deref(),
        body: &c.response_body.bytes,
        truncated: c.response_body.truncated,
        compressed: c.response_content_encoding.is_some(),
    };
    inspector.inspect(&req, &resp)
}

/// The event of one call through the gateway.
pub fn call_event(c: &CallRecord, inspection: &Inspection) -> EventData {
    let header = |name: &str| c.request_headers.get(name).and_then(|v| v.to_str().ok());
    let mut d = EventData {
        timestamp_ms: c.start_ms,
        dataset: "apiwatch.gateway",
        source_ip: Some(c.client_ip),
        http_method: Some(Text::from(c.method.as_str())),
        http_version: Some(Text::from(match c.version {
            http::Version::HTTP_2 => "2",
            http::Version::HTTP_10 => "1.0",
            _ => "1.1",
        })),
        url_domain: (!c.host.is_empty()).then(|| Text::from(c.host.as_str())),
        url_path: Some(Text::from(c.path.as_str())),
        url_query: c.query.as_deref().map(Text::from),
        status_code: Some(c.status.as_u16()),
        request_bytes: Some(c.request_bytes),
        response_bytes: Some(c.response_bytes),
        duration_ns: Some(c.duration_us.saturating_mul(1000)),
        user_agent: header("user-agent").map(Text::from),
        referrer: header("referer").map(Text::from),
        service_name: c.upstream.as_deref().map(Text::from),
        response_records: inspection.records.as_ref().map(|r| r.count),
        headers: headers_of(&c.request_headers),
        ..Default::default()
    };
    if let Some(login) = &inspection.login {
        d.event_action = Some(Text::from("user-login"));
        d.user_name = Some(Text::from(login.account.as_str()));
        d.event_outcome = Some(match login.outcome {
            LoginOutcome::Success => Outcome::Success,
            LoginOutcome::Failure => Outcome::Failure,
            LoginOutcome::Unknown => Outcome::Unknown,
        });
    }
    for (kind, n) in &inspection.exposure {
        d.labels.push((format!("exposure_{}", kind.name()), n.to_string()));
    }
    if inspection.many_emails {
        d.labels.push(("exposure_many_emails".into(), "true".into()));
    }
    d.labels.push(("request_id".into(), c.request_id.clone()));
    d.labels.push(("gateway_outcome".into(), format!("{:?}", c.outcome).to_ascii_lowercase()));
    d
}
