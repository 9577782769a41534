//! The inline gateway inside the service: its calls become events (no log text between: a
//! `CallRecord` is turned into `EventData` in the decoding thread, inspected, enriched and
//! redacted like any other event), and its admission asks the responder's index of active
//! decisions, so a decision applies to the next request after it is made.

use super::gateway_calls::CallBatches;
use super::published::{Copy, Published};
use super::respond::Responder;
use crate::config::ReplayConfig;
use apiwatch_core::redact::Redactor;
use apiwatch_core::{Action, EventData, Outcome, Text};
use apiwatch_enrich::inspect::{Inspection, LoginOutcome, RequestView, ResponseView};
use apiwatch_enrich::{Documentation, EnrichWorker, Enricher};
use apiwatch_gateway::{
    Admission, CallRecord, Gateway, Hooks, Overloaded, RateKeys, ShadowApi, Verdict,
};
use apiwatch_respond::decide::{DecisionIndex, Subject};
use std::cell::RefCell;
use std::net::IpAddr;
use std::sync::Arc;

/// Request headers kept on a gateway event at most, and the longest value kept.
const HEADERS_MAX: usize = 32;
const HEADER_VALUE_BYTES_MAX: usize = 1024;
/// The longest `Retry-After` a throttle decision answers with (the client asks again then,
/// and the decision may have been lifted).
const THROTTLE_RETRY_AFTER_MAX_S: u64 = 60;
/// The service's side of the gateway.
pub struct GatewayHooks {
    pub calls: CallBatches,
    pub responder: Arc<Responder>,
    pub enricher: Arc<SharedEnricher>,
    pub redactor: Redactor,
    /// Whether a rate limit is keyed by user or consumer (then identity is read on every
    /// call, not only when a decision names an identity).
    pub identity_limits: bool,
    /// `shadow_api: reject`: calls the OpenAPI document does not describe are refused.
    pub reject_undocumented: bool,
}

/// The enrichment the gateway reads identities and documentation with, replaced when the
/// enrichment files reload (as the pipeline's is); each worker thread keeps its own enrichment
/// worker and rebuilds it when the generation moves.
pub type SharedEnricher = Published<Enricher>;

thread_local! {
    /// Each runtime thread's enrichment worker (its caches are not shared across threads),
    /// redactor, and the generation of the enrichment the worker was made from.
    static WORKER: RefCell<Option<(u64, EnrichWorker, Redactor)>> = const { RefCell::new(None) };
    /// Each worker thread's copy of the enforced decisions.
    static DECISIONS: RefCell<Copy<DecisionIndex>> = const { RefCell::new(None) };
}

/// Checks the `gateway:` section as `run` will start it: every problem with its key path,
/// and `shadow_api: reject` only with an OpenAPI document to judge calls by.
pub fn validate(cfg: &ReplayConfig) -> anyhow::Result<Option<Gateway>> {
    let Some(g) = &cfg.live.gateway else { return Ok(None) };
    let validated = g.validate().map_err(|errs| {
        let lines: Vec<String> =
            errs.iter().map(|e| format!("gateway.{}: {}", e.path, e.message)).collect();
        anyhow::anyhow!("{}", lines.join("\n"))
    })?;
    if validated.shadow_api() == ShadowApi::Reject && cfg.openapi.is_none() {
        anyhow::bail!(
            "gateway.shadow_api: `reject` needs `openapi:` (the document that says which calls exist)"
        );
    }
    Ok(Some(validated))
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
    /// Runs `f` with this thread's enrichment worker and redactor, made anew when the
    /// enrichment was reloaded since.
    fn with_worker<T>(&self, f: impl FnOnce(&mut EnrichWorker, &mut Redactor) -> T) -> T {
        let generation = self.enricher.generation();
        WORKER.with(|cell| {
            let mut cell = cell.borrow_mut();
            if cell.as_ref().is_none_or(|(g, _, _)| *g != generation) {
                let enricher = self.enricher.load();
                *cell = Some((generation, enricher.worker(), self.redactor.clone()));
            }
            let (_, worker, redactor) = cell.as_mut().expect("set above");
            f(worker, redactor)
        })
    }

    /// `shadow_api: reject`: 404 for a path the document does not describe, 405 for a method.
    fn shadow_verdict(&self, req: &http::request::Parts) -> Option<Verdict> {
        let target = req.uri.path_and_query().map_or(req.uri.path(), |pq| pq.as_str());
        let documentation = self.with_worker(|w, _| w.documentation(req.method.as_str(), target));
        match documentation {
            Documentation::NoDocument | Documentation::Documented => None,
            Documentation::UndocumentedRoute => Some(Verdict::Reject {
                status: 404,
                reason: "this endpoint is not part of the documented API".into(),
            }),
            Documentation::UndocumentedMethod => Some(Verdict::Reject {
                status: 405,
                reason: format!("{} is not documented for this endpoint", req.method),
            }),
        }
    }

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
        self.with_worker(|worker, redactor| {
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
        let published = self.responder.enforced_published();
        // Borrowed from this thread's copy: not even the index's reference count is written.
        DECISIONS
            .with(|copy| self.admit_under(published.read(&mut copy.borrow_mut()), client_ip, req))
    }

    fn ready(&self) -> bool {
        self.calls.ready()
    }

    fn record(&self, call: CallRecord) -> Result<(), Overloaded> {
        self.calls.record(call)
    }
}

impl GatewayHooks {
    /// `admit` with the enforced decisions at hand.
    fn admit_under(
        &self,
        index: &DecisionIndex,
        client_ip: IpAddr,
        req: &http::request::Parts,
    ) -> Admission {
        if index.is_empty() && !self.identity_limits {
            let verdict = self.reject_undocumented.then(|| self.shadow_verdict(req)).flatten();
            return Admission { verdict: verdict.unwrap_or(Verdict::Allow), ..Admission::allow() };
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
            None if self.reject_undocumented => self.shadow_verdict(req).unwrap_or(Verdict::Allow),
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
            // `HeaderName`s are lower case already.
            Some((k.as_str().to_string(), v.to_string()))
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
    d.labels.push(("gateway_outcome".into(), c.outcome.as_str().into()));
    d
}
