//! Changes people make through the API: incident status, assignee, verdict and notes;
//! decisions added, approved, rejected, extended, lifted; mutes and allow-list entries. Each is
//! checked against the caller's role, applied under the responder's lock, written to the audit
//! trail with who, what, when and from where, and published on the live stream.

use super::{notice, Responder, Who};
use apiwatch_core::{
    Action, ActorId, Decision, DecisionOrigin, DecisionStatus, IncidentStatus, ScopeKind,
};
use apiwatch_detect::correlate::Mute;
use apiwatch_respond::decide::{transition, AllowEntry, Change};
use apiwatch_state::{AuditEntry, Mute as MuteRecord, Role, Verdict};

/// Why a change was refused; the API maps each to a status code.
#[derive(Debug, thiserror::Error)]
pub enum ActionError {
    #[error("the {0} role may not do this")]
    Forbidden(&'static str),
    #[error("{0} not found")]
    NotFound(String),
    #[error("{0}")]
    Invalid(String),
    #[error("state database: {0}")]
    State(#[from] apiwatch_state::StateError),
}

/// What a person asks of an incident; absent fields stay as they are.
#[derive(Clone, Debug, Default, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IncidentChange {
    pub status: Option<IncidentStatus>,
    pub assignee: Option<String>,
    pub verdict: Option<String>,
    pub note: Option<String>,
}

/// A decision a person adds.
#[derive(Clone, Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DecisionInput {
    pub action: Action,
    pub scope: ScopeKind,
    pub value: String,
    /// `4h`, `7d`.
    pub duration: String,
    pub reason: String,
    /// The incident this decision answers (it is then listed with the incident).
    #[serde(default)]
    pub incident_id: Option<String>,
    /// `propose` leaves it for an administrator's approval; `enforce` (administrators only)
    /// makes it active at once. Default: enforce for administrators, propose for others.
    #[serde(default)]
    pub mode: Option<DecisionMode>,
}

/// Whether a person's decision takes effect now or waits for approval.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DecisionMode {
    Propose,
    Enforce,
}

/// Longest free text (notes, reasons, verdicts) accepted from the API.
const TEXT_BYTES_MAX: usize = 4096;

fn require(who: &Who, allowed: &[Role]) -> Result<(), ActionError> {
    if allowed.contains(&who.role) {
        Ok(())
    } else {
        Err(ActionError::Forbidden(who.role.as_str()))
    }
}

fn text(field: &str, v: &str) -> Result<(), ActionError> {
    if v.len() > TEXT_BYTES_MAX {
        return Err(ActionError::Invalid(format!("{field}: at most {TEXT_BYTES_MAX} bytes")));
    }
    if v.chars().any(|c| c.is_control() && c != '\n') {
        return Err(ActionError::Invalid(format!("{field}: control characters are not accepted")));
    }
    Ok(())
}

/// The correlation's view of a stored mute.
pub fn mute_of(m: &MuteRecord) -> Mute {
    Mute {
        id: m.id.to_string(),
        rule: m.rule.clone(),
        actor: m.actor.clone(),
        until_ms: m.expires_at_ms.unwrap_or(i64::MAX),
    }
}

/// Checks a value against its scope: an address, a network, a two-letter country code.
fn check_scope_value(scope: ScopeKind, value: &str) -> Result<(), ActionError> {
    let ok = match scope {
        ScopeKind::Ip => value.parse::<std::net::IpAddr>().is_ok(),
        ScopeKind::Range => value.parse::<ipnet::IpNet>().is_ok(),
        ScopeKind::Country => value.len() == 2 && value.bytes().all(|b| b.is_ascii_uppercase()),
        _ => !value.is_empty() && value.len() <= 256 && !value.chars().any(char::is_control),
    };
    if ok {
        Ok(())
    } else {
        Err(ActionError::Invalid(format!("{value:?} is not a valid {} value", scope.as_str())))
    }
}

impl Responder {
    fn audit(
        &self,
        who: &Who,
        action: &str,
        target: &str,
        detail: serde_json::Value,
    ) -> Result<(), ActionError> {
        self.state.audit(&AuditEntry {
            at_ms: (self.now_ms)(),
            who: who.name.clone(),
            role: Some(who.role),
            from: Some(who.from.clone()),
            action: action.to_string(),
            target: target.to_string(),
            detail,
        })?;
        Ok(())
    }

    /// Changes an incident's status, assignee or verdict, or adds a note.
    pub fn change_incident(
        &self,
        id: &str,
        c: &IncidentChange,
        who: &Who,
    ) -> Result<serde_json::Value, ActionError> {
        require(who, &[Role::Admin, Role::Analyst])?;
        for (field, v) in [("assignee", &c.assignee), ("verdict", &c.verdict), ("note", &c.note)] {
            if let Some(v) = v {
                text(field, v)?;
            }
        }
        let now = (self.now_ms)();
        let mut inner = self.inner.lock().expect("responder lock");
        let before = self
            .state
            .incident(id)?
            .ok_or_else(|| ActionError::NotFound(format!("incident {id}")))?;
        if let Some(s) = c.status {
            self.state.set_incident_status(id, s, &who.name, now)?;
            if s.is_closed() {
                inner.correlator.close_incident(id);
            } else {
                inner.correlator.reopen_incident(id);
            }
        }
        if let Some(a) = &c.assignee {
            self.state.assign_incident(id, Some(a.as_str()).filter(|a| !a.is_empty()))?;
        }
        if let Some(v) = &c.verdict {
            let verdict = Verdict::parse(v);
            self.state.set_verdict(id, Some(&verdict).filter(|_| !v.is_empty()))?;
        }
        if let Some(n) = &c.note {
            self.state.add_note(id, &who.name, now, n)?;
        }
        self.audit(
            who,
            "incident.change",
            id,
            serde_json::to_value(ChangeRecord::of(c)).unwrap_or_default(),
        )?;
        let after = self
            .state
            .incident(id)?
            .ok_or_else(|| ActionError::NotFound(format!("incident {id}")))?;
        self.publish("incident", &after);
        let closed_now =
            c.status.is_some_and(IncidentStatus::is_closed) && !before.triage.status.is_closed();
        if closed_now {
            if let Some(n) = &inner.notifier {
                n.send(notice::incident_resolved(
                    &after.incident,
                    after.triage.status,
                    self.public_url.as_deref(),
                ));
            }
        }
        Ok(serde_json::to_value(&after).unwrap_or_default())
    }

    /// Adds a person's decision: an analyst's waits for approval, an admin's is active.
    pub fn add_decision(&self, input: &DecisionInput, who: &Who) -> Result<Decision, ActionError> {
        require(who, &[Role::Admin, Role::Analyst])?;
        text("reason", &input.reason)?;
        check_scope_value(input.scope, &input.value)?;
        let now = (self.now_ms)();
        let inner = self.inner.lock().expect("responder lock");
        let max_ms = inner.policy.max_duration_ms();
        let duration_ms = apiwatch_core::time::parse_duration_ms(&input.duration)
            .ok()
            .filter(|ms| *ms > 0 && *ms <= max_ms)
            .ok_or_else(|| {
                ActionError::Invalid(format!(
                    "duration {:?}: a positive duration up to the configured maximum ({max_ms} ms)",
                    input.duration
                ))
            })?;
        let status = match (input.mode, who.role) {
            (Some(DecisionMode::Propose), _) => DecisionStatus::Proposed,
            (Some(DecisionMode::Enforce), Role::Admin) | (None, Role::Admin) => {
                DecisionStatus::Active
            }
            (Some(DecisionMode::Enforce), role) => {
                return Err(ActionError::Forbidden(role.as_str()));
            }
            (None, _) => DecisionStatus::Proposed,
        };
        if let Some(id) = &input.incident_id {
            if self.state.incident(id)?.is_none() {
                return Err(ActionError::Invalid(format!("incident_id: no incident {id:?}")));
            }
        }
        let mut d = Decision {
            id: 0,
            action: input.action,
            scope: input.scope,
            value: input.value.clone(),
            duration_ms,
            origin: DecisionOrigin::Person(who.name.clone()),
            reason: input.reason.clone(),
            status,
            created_at_ms: now,
            expires_at_ms: now.saturating_add(duration_ms),
            alert_id: None,
            incident_id: input.incident_id.clone(),
            outcome: None,
        };
        d.id = self.state.insert_decision(&d)?;
        self.audit(
            who,
            "decision.add",
            &d.id.to_string(),
            serde_json::to_value(&d).unwrap_or_default(),
        )?;
        self.decision_changed(&d);
        if d.status == DecisionStatus::Active && d.action.needs_application() {
            call_application(self, &d);
        }
        Ok(d)
    }

    /// Approves, rejects, extends or lifts a decision (administrators only).
    pub fn change_decision(
        &self,
        id: i64,
        change: Change,
        who: &Who,
    ) -> Result<Decision, ActionError> {
        require(who, &[Role::Admin])?;
        let now = (self.now_ms)();
        let inner = self.inner.lock().expect("responder lock");
        let d = self
            .state
            .decision(id)?
            .ok_or_else(|| ActionError::NotFound(format!("decision {id}")))?;
        let next = transition(&d, change, now, inner.policy.max_duration_ms())
            .map_err(|e| ActionError::Invalid(e.to_string()))?;
        self.state.update_decision_status(id, next.status, next.expires_at_ms, &who.name)?;
        self.audit(who, &format!("decision.{}", change.as_str()), &id.to_string(), serde_json::json!({"from": d.status, "to": next.status, "expires_at_ms": next.expires_at_ms}))?;
        self.decision_changed(&next);
        if change == Change::Approve && next.action.needs_application() {
            call_application(self, &next);
        }
        drop(inner);
        Ok(next)
    }

    /// Mutes a rule for an actor until `expires_at_ms` (wall time).
    pub fn add_mute(
        &self,
        rule: &str,
        actor: &ActorId,
        reason: &str,
        expires_at_ms: i64,
        who: &Who,
    ) -> Result<i64, ActionError> {
        require(who, &[Role::Admin, Role::Analyst])?;
        text("reason", reason)?;
        let now = (self.now_ms)();
        if expires_at_ms <= now {
            return Err(ActionError::Invalid("a mute must end in the future".into()));
        }
        let mut inner = self.inner.lock().expect("responder lock");
        let id = self.state.add_mute(rule, actor, reason, &who.name, now, Some(expires_at_ms))?;
        inner.correlator.add_mute(Mute {
            id: id.to_string(),
            rule: rule.to_string(),
            actor: actor.clone(),
            until_ms: expires_at_ms,
        });
        self.audit(who, "mute.add", &id.to_string(), serde_json::json!({"rule": rule, "actor": actor, "reason": reason, "expires_at_ms": expires_at_ms}))?;
        Ok(id)
    }

    pub fn delete_mute(&self, id: i64, who: &Who) -> Result<(), ActionError> {
        require(who, &[Role::Admin, Role::Analyst])?;
        let mut inner = self.inner.lock().expect("responder lock");
        if !self.state.delete_mute(id)? {
            return Err(ActionError::NotFound(format!("mute {id}")));
        }
        inner.correlator.remove_mute(&id.to_string());
        self.audit(who, "mute.delete", &id.to_string(), serde_json::Value::Null)
    }

    /// Adds an allow-list entry; it wins over every automatic decision from then on.
    pub fn add_allow(
        &self,
        scope: ScopeKind,
        value: &str,
        reason: &str,
        who: &Who,
    ) -> Result<i64, ActionError> {
        require(who, &[Role::Admin])?;
        text("reason", reason)?;
        AllowEntry::parse(scope, value).map_err(|e| ActionError::Invalid(e.to_string()))?;
        let _inner = self.inner.lock().expect("responder lock");
        let id = self.state.add_allow(scope, value, reason, &who.name, (self.now_ms)())?;
        self.audit(
            who,
            "allow.add",
            &id.to_string(),
            serde_json::json!({"scope": scope, "value": value, "reason": reason}),
        )?;
        Ok(id)
    }

    pub fn delete_allow(&self, id: i64, who: &Who) -> Result<(), ActionError> {
        require(who, &[Role::Admin])?;
        let _inner = self.inner.lock().expect("responder lock");
        if !self.state.delete_allow(id)? {
            return Err(ActionError::NotFound(format!("allow-list entry {id}")));
        }
        self.audit(who, "allow.delete", &id.to_string(), serde_json::Value::Null)
    }

    /// Creates an API token; the secret is returned once and only its hash is kept.
    pub fn create_token(
        &self,
        name: &str,
        role: Role,
        who: &Who,
    ) -> Result<(i64, String), ActionError> {
        require(who, &[Role::Admin])?;
        text("name", name)?;
        let (id, secret) = self.state.create_token(name, role, (self.now_ms)())?;
        self.audit(
            who,
            "token.create",
            &id.to_string(),
            serde_json::json!({"name": name, "role": role.as_str()}),
        )?;
        Ok((id, secret.expose().to_string()))
    }

    pub fn revoke_token(&self, id: i64, who: &Who) -> Result<(), ActionError> {
        require(who, &[Role::Admin])?;
        if !self.state.revoke_token(id)? {
            return Err(ActionError::NotFound(format!("token {id}")));
        }
        self.audit(who, "token.revoke", &id.to_string(), serde_json::Value::Null)
    }
}

/// The audit record of an incident change (a note's text is kept, it is the analyst's own).
#[derive(serde::Serialize)]
struct ChangeRecord<'a> {
    status: Option<&'static str>,
    assignee: Option<&'a str>,
    verdict: Option<&'a str>,
    note: Option<&'a str>,
}

impl<'a> ChangeRecord<'a> {
    fn of(c: &'a IncidentChange) -> Self {
        ChangeRecord {
            status: c.status.map(IncidentStatus::as_str),
            assignee: c.assignee.as_deref(),
            verdict: c.verdict.as_deref(),
            note: c.note.as_deref(),
        }
    }
}

/// Asks the application to carry out an action only it can (lock an account, revoke a
/// token), in the background with retries; the answer is recorded on the decision and
/// published.
pub fn call_application(r: &Responder, d: &Decision) {
    let Some(hook) = &r.application else {
        let note = "not carried out: no application webhook is configured (decisions.application)";
        if let Err(e) = r.state.set_decision_outcome(d.id, note) {
            tracing::error!(error = %e, decision = d.id, "cannot record a decision's outcome");
        }
        return;
    };
    let stream = r.stream.clone();
    hook.call(d.clone(), std::sync::Arc::clone(&r.state), move |d| {
        let data = serde_json::to_value(&d).unwrap_or_default();
        let _ = stream.send(std::sync::Arc::new(super::StreamItem { kind: "decision", data }));
    });
}
