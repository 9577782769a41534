//! CrowdSec's Local API for bouncers: `GET /v1/decisions/stream` (stream mode: everything
//! active at `startup=true`, then what changed since that bouncer's last poll) and
//! `GET /v1/decisions?ip=…` (live mode). A bouncer authenticates with `X-Api-Key` and a token
//! of the `bouncer` role.

use super::auth::{require, Need};
use super::{blocking, ApiState, Peer};
use apiwatch_core::{Decision, ScopeKind};
use apiwatch_respond::decide::{crowdsec_decision, CrowdsecDecision, CrowdsecStream};
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use std::sync::Arc;

#[derive(Debug, Default, serde::Deserialize)]
pub struct StreamQuery {
    #[serde(default)]
    startup: Option<String>,
    /// `ip,range`: the scopes the bouncer enforces (case does not matter).
    scopes: Option<String>,
    origins: Option<String>,
    scenarios_containing: Option<String>,
    scenarios_not_containing: Option<String>,
}

/// The filters a bouncer may pass, applied to each decision.
struct Filters {
    scopes: Option<Vec<String>>,
    origins: Option<Vec<String>>,
    containing: Vec<String>,
    not_containing: Vec<String>,
}

fn list(v: &Option<String>) -> Option<Vec<String>> {
    v.as_ref().map(|s| {
        s.split(',').map(|x| x.trim().to_ascii_lowercase()).filter(|x| !x.is_empty()).collect()
    })
}

impl Filters {
    fn of(q: &StreamQuery) -> Filters {
        Filters {
            scopes: list(&q.scopes),
            origins: list(&q.origins),
            containing: list(&q.scenarios_containing).unwrap_or_default(),
            not_containing: list(&q.scenarios_not_containing).unwrap_or_default(),
        }
    }
    fn keep(&self, c: &CrowdsecDecision) -> bool {
        let scenario = c.scenario.to_ascii_lowercase();
        self.scopes.as_ref().is_none_or(|s| s.contains(&c.scope.to_ascii_lowercase()))
            && self.origins.as_ref().is_none_or(|o| o.iter().any(|x| x == c.origin))
            && (self.containing.is_empty() || self.containing.iter().any(|x| scenario.contains(x)))
            && !self.not_containing.iter().any(|x| scenario.contains(x))
    }
}

fn shown(ds: &[Decision], f: &Filters, now_ms: i64) -> Vec<CrowdsecDecision> {
    ds.iter().filter_map(|d| crowdsec_decision(d, now_ms)).filter(|c| f.keep(c)).collect()
}

pub async fn stream(
    State(st): State<ApiState>,
    peer: Peer,
    headers: HeaderMap,
    Query(q): Query<StreamQuery>,
) -> Response {
    let who = match require(&st, &headers, peer.0, Need::Bouncer).await {
        Ok(w) => w,
        Err(r) => return r,
    };
    let startup = q.startup.as_deref().is_some_and(|s| s.eq_ignore_ascii_case("true"));
    let seen = st.bouncer_seen.lock().expect("bouncer lock").get(&who.name).copied();
    let now = (st.now_ms)();
    let db = Arc::clone(&st.responder.state);
    let result = blocking(move || match seen.filter(|_| !startup) {
        // The change sequence is read before the list: a change between the two is sent
        // again next time, which a bouncer takes as a no-op, rather than lost.
        None => {
            let latest = db.latest_decision_seq()?;
            Ok((db.active_decisions(now)?, Vec::new(), latest))
        }
        Some(seq) => {
            let c = db.decision_changes_since(seq)?;
            let active = c.active.into_iter().filter(|d| d.expires_at_ms > now).collect();
            Ok((active, c.inactive, c.latest_seq))
        }
    })
    .await;
    let (active, ended, latest) = match result {
        Ok(v) => v,
        Err(r) => return r,
    };
    st.bouncer_seen.lock().expect("bouncer lock").insert(who.name, latest);
    let f = Filters::of(&q);
    Json(CrowdsecStream { new: shown(&active, &f, now), deleted: shown(&ended, &f, now) })
        .into_response()
}

/// Live mode: the active decisions on one address (its own, and its networks'), a network,
/// or a scope and value. `null` when there are none, as CrowdSec answers.
pub async fn lookup(
    st: &ApiState,
    ip: Option<String>,
    range: Option<String>,
    scope: Option<String>,
    value: Option<String>,
    kind: Option<String>,
) -> Response {
    let now = (st.now_ms)();
    let ip_addr = match ip.as_deref().map(str::parse::<std::net::IpAddr>).transpose() {
        Ok(v) => v,
        Err(_) => return super::auth::error(StatusCode::BAD_REQUEST, "ip: not an address"),
    };
    let net = match range.as_deref().map(str::parse::<ipnet::IpNet>).transpose() {
        Ok(v) => v,
        Err(_) => return super::auth::error(StatusCode::BAD_REQUEST, "range: not a network"),
    };
    // An address, the common question (a bouncer in live mode asks once per request):
    // answered from the index of active decisions, without touching the database.
    if let (Some(ip), None, None) = (ip_addr, &scope, &kind) {
        let ix = st.responder.enforced();
        let who = apiwatch_respond::decide::Subject { ip: Some(ip), ..Default::default() };
        let found: Vec<CrowdsecDecision> =
            ix.matching(&who, now).into_iter().filter_map(|d| crowdsec_decision(d, now)).collect();
        return if found.is_empty() {
            Json(serde_json::Value::Null).into_response()
        } else {
            Json(found).into_response()
        };
    }
    let db = Arc::clone(&st.responder.state);
    let active = match blocking(move || db.active_decisions(now)).await {
        Ok(a) => a,
        Err(r) => return r,
    };
    let matches = |d: &Decision| -> bool {
        if let Some(ip) = ip_addr {
            return match d.scope {
                ScopeKind::Ip => d.value.parse::<std::net::IpAddr>().is_ok_and(|v| v == ip),
                ScopeKind::Range => d.value.parse::<ipnet::IpNet>().is_ok_and(|n| n.contains(&ip)),
                _ => false,
            };
        }
        if let Some(n) = net {
            return d.scope == ScopeKind::Range
                && d.value.parse::<ipnet::IpNet>().is_ok_and(|r| r.contains(&n));
        }
        if let (Some(s), Some(v)) = (&scope, &value) {
            return d.scope.as_str().eq_ignore_ascii_case(s) && &d.value == v;
        }
        true
    };
    let found: Vec<CrowdsecDecision> = active
        .iter()
        .filter(|d| matches(d))
        .filter_map(|d| crowdsec_decision(d, now))
        .filter(|c| kind.as_deref().is_none_or(|k| k == c.kind))
        .collect();
    if found.is_empty() {
        Json(serde_json::Value::Null).into_response()
    } else {
        Json(found).into_response()
    }
}
