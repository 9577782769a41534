//! The response side of the live service: every alert the processing thread raises is stored
//! in the state database, correlated into incidents, turned into a decision when its rule's
//! mode says so, notified, and published on the live stream. People's changes through the API
//! (`actions.rs`) go through the same lock, so the database, the correlation and the stream
//! never disagree about order.
//!
//! Runs on its own thread: SQLite's fsync per change must not hold back storing and detecting
//! events. Alerts are few next to events; the queue between the two is bounded and blocks.

mod actions;
pub mod application;
mod notice;
mod telemetry;

pub use actions::{ActionError, DecisionInput, IncidentChange};

use super::metrics::Metrics;
use super::published::Published;
use apiwatch_core::{ActorId, Alert, Decision, DecisionStatus, Incident};
use apiwatch_detect::correlate::{Correlator, IncidentChange as Folded};
use apiwatch_respond::decide::{AllowList, DecisionIndex, Policy, Proposal};
use apiwatch_respond::notify::Notifier;
use apiwatch_state::{Role, State};
use crossbeam_channel::{Receiver, RecvTimeoutError};
use serde::Serialize;
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Alerts waiting for the response thread at most.
pub const ALERT_QUEUE_MAX: usize = 4096;
/// Live-stream messages a slow subscriber may fall behind by before it is told it lagged.
pub const STREAM_BUFFER_MAX: usize = 1024;
/// How often expired decisions are swept (a bouncer's next poll sees them deleted).
const SWEEP_INTERVAL: Duration = Duration::from_secs(1);
/// How often the KPI and notification gauges are refreshed.
const METRICS_INTERVAL: Duration = Duration::from_secs(5);

/// Who made a change: the token's name, its role, and the client address.
#[derive(Clone, Debug, Serialize)]
pub struct Who {
    pub name: String,
    pub role: Role,
    pub from: String,
}

/// One message of `GET /v1/stream`.
#[derive(Clone, Debug, Serialize)]
pub struct StreamItem {
    /// `alert`, `incident` or `decision`.
    pub kind: &'static str,
    pub data: serde_json::Value,
}

struct Inner {
    correlator: Correlator,
    policy: Policy,
    notifier: Option<Notifier>,
}

/// Shared by the response thread and the API handlers.
pub struct Responder {
    inner: Mutex<Inner>,
    /// The active decisions, indexed for enforcers (the gateway); rebuilt on every change.
    enforced: Published<DecisionIndex>,
    pub state: Arc<State>,
    pub stream: tokio::sync::broadcast::Sender<Arc<StreamItem>>,
    metrics: Arc<Metrics>,
    public_url: Option<String>,
    application: Option<Arc<application::ApplicationHook>>,
    runtime: tokio::runtime::Handle,
    now_ms: fn() -> i64,
}

/// What a responder is made of.
pub struct Parts {
    pub state: Arc<State>,
    pub correlator: Correlator,
    pub policy: Policy,
    pub notifier: Option<Notifier>,
    pub metrics: Arc<Metrics>,
    /// The service's address as people reach it, for links in notifications.
    pub public_url: Option<String>,
    pub application: Option<Arc<application::ApplicationHook>>,
    pub runtime: tokio::runtime::Handle,
    pub now_ms: fn() -> i64,
}

/// What correlation knows of one actor now.
#[derive(Debug, Serialize)]
pub struct ActorView {
    pub risk: f64,
    pub linked: Vec<ActorId>,
}

impl Responder {
    /// Builds correlation back from the stored alerts (in detection order), then marks the
    /// incidents people closed, and the mutes still running.
    pub fn new(parts: Parts) -> anyhow::Result<Responder> {
        let Parts {
            state,
            mut correlator,
            policy,
            notifier,
            metrics,
            public_url,
            application,
            runtime,
            now_ms,
        } = parts;
        let mut replayed = 0u64;
        // An incident closed while the service ran took no later alert: close each one as
        // soon as the replay has seen the alerts it held, so later alerts of its actors open
        // a new incident here too, as they did live.
        let closed = closed_incidents(&state)?;
        let mut waiting: HashMap<String, usize> = HashMap::new();
        let mut member_of: HashMap<String, Vec<String>> = HashMap::new();
        for inc in &closed {
            waiting.insert(inc.id.clone(), inc.alert_ids.len());
            for a in &inc.alert_ids {
                member_of.entry(a.clone()).or_default().push(inc.id.clone());
            }
        }
        for alert in state.alerts_in_order(i64::MIN) {
            let alert = alert?;
            correlator.observe(&alert);
            replayed += 1;
            for inc in member_of.remove(&alert.id).unwrap_or_default() {
                let left = waiting.get_mut(&inc).expect("counted above");
                *left -= 1;
                if *left == 0 {
                    correlator.close_incident(&inc);
                }
            }
        }
        // Incidents whose alerts were not all listed (an incident lists at most so many).
        for inc in &closed {
            if waiting[&inc.id] > 0 {
                correlator.close_incident(&inc.id);
            }
        }
        for m in state.list_mutes(now_ms())? {
            correlator.add_mute(actions::mute_of(&m));
        }
        tracing::info!(alerts = replayed, "correlation rebuilt from the state database");
        let (stream, _) = tokio::sync::broadcast::channel(STREAM_BUFFER_MAX);
        let enforced = DecisionIndex::build(&state.active_decisions(now_ms())?, now_ms());
        Ok(Responder {
            inner: Mutex::new(Inner { correlator, policy, notifier }),
            enforced: Published::new(Arc::new(enforced)),
            state,
            stream,
            metrics,
            public_url,
            application,
            runtime,
            now_ms,
        })
    }

    /// The response mode of a rule.
    pub fn mode(&self, rule: &str) -> apiwatch_respond::decide::Mode {
        self.inner.lock().expect("responder lock").policy.mode(rule)
    }

    /// An actor's risk now and the actors linked to it.
    pub fn actor_view(&self, actor: &ActorId, now_ms: i64) -> ActorView {
        let inner = self.inner.lock().expect("responder lock");
        ActorView {
            risk: inner.correlator.risk(actor, now_ms),
            linked: inner.correlator.linked(actor),
        }
    }

    /// The response thread: alerts until the processing thread hangs up, and a sweep of
    /// expired decisions every second.
    /// `handled` counts the alerts recorded (or given up on), for the processing thread.
    pub fn run(self: Arc<Self>, alerts: Receiver<Alert>, handled: Arc<AtomicU64>) {
        let mut refreshed: Option<std::time::Instant> = None;
        loop {
            if refreshed.is_none_or(|t| t.elapsed() >= METRICS_INTERVAL) {
                if let Err(e) = self.refresh_metrics() {
                    tracing::error!(error = %e, "cannot read the security KPIs");
                }
                refreshed = Some(std::time::Instant::now());
            }
            match alerts.recv_timeout(SWEEP_INTERVAL) {
                Ok(alert) => {
                    if let Err(e) = self.on_alert(&alert) {
                        tracing::error!(error = %e, alert = %alert.id, "cannot record an alert");
                    }
                    handled.fetch_add(1, Ordering::Release);
                }
                Err(RecvTimeoutError::Timeout) => {}
                Err(RecvTimeoutError::Disconnected) => break,
            }
            if let Err(e) = self.sweep() {
                tracing::error!(error = %e, "cannot expire decisions");
            }
        }
        let notifier = self.inner.lock().expect("responder lock").notifier.take();
        if let Some(n) = notifier {
            // What is queued is delivered (or dead-lettered) before the service exits.
            self.runtime.block_on(n.shutdown(Duration::from_secs(5)));
        }
    }

    /// The active decisions now, for an enforcer's lookups.
    pub fn enforced(&self) -> Arc<DecisionIndex> {
        self.enforced.load()
    }

    /// The enforced decisions, for a reader called on every request: see `Published`.
    pub fn enforced_published(&self) -> &Published<DecisionIndex> {
        &self.enforced
    }

    /// A decision was made or changed: enforcers see it at once, the stream is told.
    fn decision_changed(&self, d: &Decision) {
        match self.state.active_decisions((self.now_ms)()) {
            Ok(active) => {
                let ix = DecisionIndex::build(&active, (self.now_ms)());
                self.enforced.replace(Arc::new(ix));
            }
            Err(e) => tracing::error!(error = %e, "cannot read the active decisions"),
        }
        self.publish("decision", d);
    }

    fn publish<T: Serialize>(&self, kind: &'static str, data: &T) {
        let data = serde_json::to_value(data).unwrap_or(serde_json::Value::Null);
        // No subscriber is not an error.
        let _ = self.stream.send(Arc::new(StreamItem { kind, data }));
    }

    /// Stores, correlates, decides and notifies one alert (new or grown).
    fn on_alert(&self, alert: &Alert) -> anyhow::Result<()> {
        let now = (self.now_ms)();
        let mut inner = self.inner.lock().expect("responder lock");
        let obs = inner.correlator.observe(alert);
        let incident: Option<(&Incident, bool)> = match &obs.incident {
            Some(Folded::Opened(i)) => Some((i, true)),
            Some(Folded::Updated(i)) => Some((i, false)),
            None => None,
        };
        let incident_id = incident.map(|(i, _)| i.id.clone());
        self.state.upsert_alert(alert, incident_id.as_deref())?;
        // The stream's alert names its incident, so a reader can go straight to it.
        let mut message = serde_json::to_value(alert).unwrap_or_default();
        if let (Some(id), Some(fields)) = (&incident_id, message.as_object_mut()) {
            fields.insert("incident_id".to_string(), id.clone().into());
        }
        self.publish("alert", &message);
        if let Some((inc, opened)) = incident {
            self.state.upsert_incident(inc)?;
            self.publish("incident", &self.state.incident(&inc.id)?);
            if opened {
                self.metrics.incidents_opened.inc();
                if let Some(n) = &inner.notifier {
                    n.send(notice::incident_opened(inc, self.public_url.as_deref()));
                }
            }
        }
        if obs.is_new {
            let actors: Vec<ActorId> = obs.actors.iter().map(|a| a.actor.clone()).collect();
            let extra = AllowList::new(allow_entries(&self.state)?);
            match inner.policy.propose(alert, &actors, &extra, now) {
                Proposal::Decide(mut d) => {
                    d.incident_id = incident_id.clone();
                    self.record_decision(&inner, d)?;
                }
                Proposal::Allowed(who) => {
                    tracing::info!(actor = %who, rule = %alert.rule, "allow-listed: no decision");
                }
                _ => {}
            }
        }
        if obs.notify {
            if let Some(n) = &inner.notifier {
                n.send(notice::alert(alert, incident_id.as_deref(), self.public_url.as_deref()));
            }
        } else if obs.is_new {
            self.metrics.alerts_suppressed.inc();
        }
        Ok(())
    }

    /// Stores a rule's decision unless the same action on the same scope is already active
    /// or proposed (a repeat would only duplicate what enforcers hold).
    fn record_decision(&self, inner: &Inner, mut d: Decision) -> anyhow::Result<Option<i64>> {
        if self.state.open_decision_for(d.action, d.scope, &d.value, d.created_at_ms)?.is_some() {
            return Ok(None);
        }
        d.id = self.state.insert_decision(&d)?;
        self.metrics.decisions.get_or_create(&decision_label(&d)).inc();
        self.decision_changed(&d);
        if let Some(n) = &inner.notifier {
            n.send(notice::decision(&d, self.public_url.as_deref()));
        }
        if d.status == DecisionStatus::Active && d.action.needs_application() {
            actions::call_application(self, &d);
        }
        Ok(Some(d.id))
    }

    /// Marks active decisions past their end as expired, and publishes each.
    fn sweep(&self) -> anyhow::Result<()> {
        let _inner = self.inner.lock().expect("responder lock");
        for d in self.state.expire_decisions((self.now_ms)())? {
            self.decision_changed(&d);
        }
        Ok(())
    }
}

/// Every incident people closed (resolved or false positive), page by page.
fn closed_incidents(state: &State) -> anyhow::Result<Vec<Incident>> {
    let mut ids = Vec::new();
    for status in
        [apiwatch_core::IncidentStatus::Resolved, apiwatch_core::IncidentStatus::FalsePositive]
    {
        let mut offset = 0u64;
        loop {
            let filter = apiwatch_state::IncidentFilter {
                status: Some(status),
                paging: apiwatch_state::Paging { limit: apiwatch_state::PAGE_LIMIT_MAX, offset },
                ..Default::default()
            };
            let page = state.list_incidents(&filter)?;
            offset += page.items.len() as u64;
            let more = page.has_more() && !page.items.is_empty();
            ids.extend(page.items.into_iter().map(|r| r.incident));
            if !more {
                break;
            }
        }
    }
    Ok(ids)
}

/// The allow-list entries people added through the API, as the policy reads them.
fn allow_entries(state: &State) -> anyhow::Result<Vec<apiwatch_respond::decide::AllowEntry>> {
    Ok(state
        .list_allow()?
        .iter()
        .filter_map(|e| apiwatch_respond::decide::AllowEntry::parse(e.scope, &e.value).ok())
        .collect())
}

fn decision_label(d: &Decision) -> super::metrics::DecisionLabel {
    super::metrics::DecisionLabel {
        action: d.action.as_str().to_string(),
        status: d.status.as_str().to_string(),
    }
}
