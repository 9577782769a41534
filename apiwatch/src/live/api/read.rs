//! The API's reads: lists with filters and paging, one item, an actor's story, the security
//! KPIs, rules, mutes, the allow-list, tokens (never their secrets) and the audit trail.

use super::auth::{error, Auditor, Need, Reader};
use super::{blocking, crowdsec, ApiState, Peer, PAGE_DEFAULT, PAGE_MAX};
use apiwatch_core::{ActorId, DecisionStatus, IncidentStatus, ScopeKind, Severity};
use apiwatch_state as state;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use std::sync::Arc;

/// Paging and time bounds shared by the lists. Numbers arrive as text: a query struct that
/// flattens this one cannot read them as numbers (serde's flatten buffers every value as a
/// string), so `bounds` parses them and names the parameter when one is wrong.
#[derive(Debug, Default, serde::Deserialize)]
pub struct Window {
    pub limit: Option<String>,
    pub offset: Option<String>,
    /// RFC 3339 or a duration back from now (`24h`).
    pub since: Option<String>,
    pub until: Option<String>,
}

pub struct Bounds {
    pub limit: u32,
    pub offset: u64,
    pub since_ms: Option<i64>,
    pub until_ms: Option<i64>,
}

impl Window {
    pub fn bounds(&self, now_ms: i64) -> Result<Bounds, Response> {
        let time = |v: &Option<String>, key: &str| -> Result<Option<i64>, Response> {
            let Some(v) = v else { return Ok(None) };
            crate::search_cmd::parse_time(v, now_ms)
                .map(Some)
                .map_err(|e| error(StatusCode::BAD_REQUEST, &format!("{key}: {e:#}")))
        };
        let number = |v: &Option<String>, key: &str| -> Result<Option<u64>, Response> {
            v.as_deref()
                .map(|t| {
                    t.parse::<u64>().map_err(|_| {
                        error(
                            StatusCode::BAD_REQUEST,
                            &format!("{key}: {t:?} is not a whole number"),
                        )
                    })
                })
                .transpose()
        };
        let limit = number(&self.limit, "limit")?
            .map_or(PAGE_DEFAULT, |n| n.min(u64::from(PAGE_MAX)) as u32);
        Ok(Bounds {
            limit: limit.clamp(1, PAGE_MAX),
            offset: number(&self.offset, "offset")?.unwrap_or(0),
            since_ms: time(&self.since, "since")?,
            until_ms: time(&self.until, "until")?,
        })
    }
}

impl Bounds {
    pub fn paging(&self) -> state::Paging {
        state::Paging { limit: self.limit, offset: self.offset }
    }
}

fn bad(msg: String) -> Response {
    error(StatusCode::BAD_REQUEST, &msg)
}

fn parse_actor(s: &str) -> Result<ActorId, Response> {
    ActorId::parse(s).ok_or_else(|| {
        bad(format!(
            "actor {s:?}: expected kind:value, kind one of ip, user, token, session, consumer"
        ))
    })
}

fn parse_severity(s: &Option<String>) -> Result<Option<Severity>, Response> {
    s.as_deref()
        .map(|v| {
            Severity::parse(v)
                .ok_or_else(|| bad(format!("severity {v:?}: low, medium, high or critical")))
        })
        .transpose()
}

fn page<T: serde::Serialize>(p: state::Page<T>) -> Response {
    Json(p).into_response()
}

#[derive(Debug, Default, serde::Deserialize)]
pub struct AlertQuery {
    rule: Option<String>,
    severity: Option<String>,
    actor: Option<String>,
    incident: Option<String>,
    #[serde(flatten)]
    window: Window,
}

pub async fn alerts(Reader(st): Reader, Query(q): Query<AlertQuery>) -> Response {
    let b = ok!(q.window.bounds((st.now_ms)()));
    let filter = state::AlertFilter {
        rule: q.rule,
        severity_min: ok!(parse_severity(&q.severity)),
        actor: ok!(q.actor.as_deref().map(parse_actor).transpose()),
        incident_id: q.incident,
        since_ms: b.since_ms,
        until_ms: b.until_ms,
        paging: b.paging(),
    };
    let db = Arc::clone(&st.responder.state);
    page(ok!(blocking(move || db.list_alerts(&filter)).await))
}

pub async fn alert(Reader(st): Reader, Path(id): Path<String>) -> Response {
    let db = Arc::clone(&st.responder.state);
    let id2 = id.clone();
    match blocking(move || db.alert(&id2)).await {
        Ok(Some(a)) => Json(a).into_response(),
        Ok(None) => error(StatusCode::NOT_FOUND, &format!("no alert {id}")),
        Err(r) => r,
    }
}

#[derive(Debug, Default, serde::Deserialize)]
pub struct IncidentQuery {
    status: Option<String>,
    rule: Option<String>,
    severity: Option<String>,
    actor: Option<String>,
    assignee: Option<String>,
    #[serde(flatten)]
    window: Window,
}

pub async fn incidents(Reader(st): Reader, Query(q): Query<IncidentQuery>) -> Response {
    let b = ok!(q.window.bounds((st.now_ms)()));
    let status = ok!(q
        .status
        .as_deref()
        .map(|s| {
            IncidentStatus::parse(s).ok_or_else(|| {
                bad(format!("status {s:?}: open, acknowledged, resolved or false_positive"))
            })
        })
        .transpose());
    let filter = state::IncidentFilter {
        status,
        severity_min: ok!(parse_severity(&q.severity)),
        actor: ok!(q.actor.as_deref().map(parse_actor).transpose()),
        assignee: q.assignee,
        rule: q.rule,
        since_ms: b.since_ms,
        until_ms: b.until_ms,
        paging: b.paging(),
    };
    let db = Arc::clone(&st.responder.state);
    page(ok!(blocking(move || db.list_incidents(&filter)).await))
}

/// One incident with its timeline: every alert, in order, with its evidence events.
pub async fn incident(Reader(st): Reader, Path(id): Path<String>) -> Response {
    let db = Arc::clone(&st.responder.state);
    let id2 = id.clone();
    let found = blocking(move || {
        let Some(inc) = db.incident(&id2)? else { return Ok(None) };
        let mut timeline = Vec::new();
        for aid in &inc.incident.alert_ids {
            if let Some(a) = db.alert(aid)? {
                timeline.push(a);
            }
        }
        timeline.sort_by_key(|a| (a.first_seen_ms, a.detected_at_ms));
        let decisions = db
            .list_decisions(&state::DecisionFilter {
                incident_id: Some(id2.clone()),
                paging: state::Paging { limit: PAGE_MAX, offset: 0 },
                ..Default::default()
            })?
            .items;
        Ok(Some((inc, timeline, decisions)))
    })
    .await;
    match found {
        Ok(Some((inc, timeline, decisions))) => {
            let mut v = serde_json::to_value(&inc).unwrap_or_default();
            v["timeline"] = serde_json::to_value(&timeline).unwrap_or_default();
            v["decisions"] = serde_json::to_value(&decisions).unwrap_or_default();
            Json(v).into_response()
        }
        Ok(None) => error(StatusCode::NOT_FOUND, &format!("no incident {id}")),
        Err(r) => r,
    }
}

#[derive(Debug, Default, serde::Deserialize)]
pub struct DecisionQuery {
    status: Option<String>,
    scope: Option<String>,
    value: Option<String>,
    action: Option<String>,
    origin: Option<String>,
    alert: Option<String>,
    // CrowdSec's live-mode query (`GET /v1/decisions?ip=…`), for bouncers.
    ip: Option<String>,
    range: Option<String>,
    #[serde(rename = "type")]
    kind: Option<String>,
    #[serde(flatten)]
    window: Window,
}

pub async fn decisions(
    State(st): State<ApiState>,
    peer: Peer,
    headers: HeaderMap,
    Query(q): Query<DecisionQuery>,
) -> Response {
    let who = match super::auth::caller(&st, &headers, peer.0).await {
        Ok(w) => w,
        Err(r) => return r,
    };
    // A bouncer (CrowdSec's protocol) gets CrowdSec's shape; people get apiwatch's.
    if who.role == state::Role::Bouncer
        || (q.ip.is_some() || q.range.is_some()) && super::auth::allows(who.role, Need::Bouncer)
    {
        return crowdsec::lookup(&st, q.ip, q.range, q.scope, q.value, q.kind).await;
    }
    if !super::auth::allows(who.role, Need::Read) {
        return error(
            StatusCode::FORBIDDEN,
            &format!("the {} role may not do this", who.role.as_str()),
        );
    }
    let b = ok!(q.window.bounds((st.now_ms)()));
    let mut filter = state::DecisionFilter { paging: b.paging(), ..Default::default() };
    if let Some(s) = &q.status {
        match DecisionStatus::parse(s) {
            Some(s) => filter.status = Some(s),
            None => {
                return bad(format!("status {s:?}: proposed, active, rejected, lifted or expired"))
            }
        }
    }
    if let Some(s) = &q.scope {
        match ScopeKind::parse(s) {
            Some(s) => filter.scope = Some(s),
            None => {
                return bad(format!(
                    "scope {s:?}: ip, range, user, token, session, consumer or country"
                ))
            }
        }
    }
    if let Some(a) = &q.action {
        match apiwatch_core::Action::parse(a) {
            Some(a) => filter.action = Some(a),
            None => return bad(format!("action {a:?}: block, throttle, lock, revoke or step_up")),
        }
    }
    filter.value = q.value;
    if let Some(o) = &q.origin {
        match state::OriginKind::parse(o) {
            Some(o) => filter.origin = Some(o),
            None => return bad(format!("origin {o:?}: rule or person")),
        }
    }
    filter.alert_id = q.alert;
    let db = Arc::clone(&st.responder.state);
    page(ok!(blocking(move || db.list_decisions(&filter)).await))
}

pub async fn decision(Reader(st): Reader, Path(id): Path<i64>) -> Response {
    let db = Arc::clone(&st.responder.state);
    match blocking(move || db.decision(id)).await {
        Ok(Some(d)) => Json(d).into_response(),
        Ok(None) => error(StatusCode::NOT_FOUND, &format!("no decision {id}")),
        Err(r) => r,
    }
}

/// Everything known about one actor: its risk now, open decisions, incidents, recent alerts
/// and the actors it was seen with.
pub async fn actor(Reader(st): Reader, Path(id): Path<String>) -> Response {
    let actor = match parse_actor(&id) {
        Ok(a) => a,
        Err(r) => return r,
    };
    let now = (st.now_ms)();
    let view = st.responder.actor_view(&actor, now);
    let db = Arc::clone(&st.responder.state);
    let a2 = actor.clone();
    let found = blocking(move || {
        let paging = state::Paging { limit: PAGE_MAX, offset: 0 };
        let alerts = db.list_alerts(&state::AlertFilter {
            actor: Some(a2.clone()),
            paging,
            ..Default::default()
        })?;
        let incidents = db.list_incidents(&state::IncidentFilter {
            actor: Some(a2.clone()),
            paging,
            ..Default::default()
        })?;
        let decisions = db.active_decisions_for(a2.kind, &a2.value, now)?;
        Ok((alerts, incidents, decisions))
    })
    .await;
    match found {
        Ok((alerts, incidents, decisions)) => {
            let mut timeline: Vec<_> = alerts.items.iter().collect();
            timeline.sort_by_key(|a| (a.first_seen_ms, a.detected_at_ms));
            Json(serde_json::json!({
                "actor": actor,
                "risk": view.risk,
                "linked": view.linked,
                "alerts_total": alerts.total,
                "timeline": timeline,
                "incidents": incidents.items,
                "decisions": decisions,
            }))
            .into_response()
        }
        Err(r) => r,
    }
}

pub async fn security_metrics(Reader(st): Reader, Query(w): Query<Window>) -> Response {
    let b = ok!(w.bounds((st.now_ms)()));
    let db = Arc::clone(&st.responder.state);
    match blocking(move || {
        db.security_metrics(b.since_ms.unwrap_or(i64::MIN), b.until_ms.unwrap_or(i64::MAX))
    })
    .await
    {
        Ok(m) => Json(m).into_response(),
        Err(r) => r,
    }
}

pub async fn mutes(Reader(st): Reader) -> Response {
    let db = Arc::clone(&st.responder.state);
    let now = (st.now_ms)();
    match blocking(move || db.list_mutes(now)).await {
        Ok(m) => Json(serde_json::json!({"items": m})).into_response(),
        Err(r) => r,
    }
}

pub async fn allowlist(Reader(st): Reader) -> Response {
    let db = Arc::clone(&st.responder.state);
    match blocking(move || db.list_allow()).await {
        Ok(m) => Json(serde_json::json!({"items": m})).into_response(),
        Err(r) => r,
    }
}

pub async fn tokens(Auditor(st): Auditor) -> Response {
    let db = Arc::clone(&st.responder.state);
    match blocking(move || db.list_tokens()).await {
        Ok(t) => Json(serde_json::json!({"items": t})).into_response(),
        Err(r) => r,
    }
}

#[derive(Debug, Default, serde::Deserialize)]
pub struct AuditQuery {
    who: Option<String>,
    action: Option<String>,
    #[serde(flatten)]
    window: Window,
}

pub async fn audit(Auditor(st): Auditor, Query(q): Query<AuditQuery>) -> Response {
    let b = ok!(q.window.bounds((st.now_ms)()));
    let filter = state::AuditFilter {
        who: q.who,
        action: q.action,
        since_ms: b.since_ms,
        until_ms: b.until_ms,
        paging: b.paging(),
    };
    let db = Arc::clone(&st.responder.state);
    page(ok!(blocking(move || db.list_audit(&filter)).await))
}
