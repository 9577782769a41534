//! Decisions as CrowdSec's Local API shows them to bouncers (`GET /v1/decisions/stream`,
//! `GET /v1/decisions`), so the bouncers people already run (firewall, nginx, custom) enforce
//! apiwatch's decisions unchanged.
//!
//! Only what a bouncer can enforce by itself is shown: address, network and country scopes.
//! Locking an account or revoking a token needs the application (its webhook).

use apiwatch_core::{Action, Decision, ScopeKind};
use serde::Serialize;

/// One decision in the Local API's shape (`models.Decision`).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct CrowdsecDecision {
    pub id: i64,
    pub origin: &'static str,
    /// `ban`, `captcha` or `throttle`.
    #[serde(rename = "type")]
    pub kind: &'static str,
    /// `Ip`, `Range` or `Country`.
    pub scope: &'static str,
    pub value: String,
    /// Time left, as Go's `time.ParseDuration` reads it (`3h59m59s`).
    pub duration: String,
    /// The rule, or `manual` for a person's decision.
    pub scenario: String,
    pub simulated: bool,
}

/// `GET /v1/decisions/stream`'s answer. Bouncers read `null` and `[]` alike; lists are always
/// written so a client need not care.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct CrowdsecStream {
    pub new: Vec<CrowdsecDecision>,
    pub deleted: Vec<CrowdsecDecision>,
}

/// The bouncer view of `d`, with the time left at `now_ms`; `None` when no bouncer could
/// enforce it (a user, token, session or consumer scope, or an application action).
pub fn crowdsec_decision(d: &Decision, now_ms: i64) -> Option<CrowdsecDecision> {
    let scope = match d.scope {
        ScopeKind::Ip => "Ip",
        ScopeKind::Range => "Range",
        ScopeKind::Country => "Country",
        _ => return None,
    };
    let kind = match d.action {
        Action::Block => "ban",
        Action::StepUp => "captcha",
        Action::Throttle => "throttle",
        Action::Lock | Action::Revoke => return None,
    };
    let scenario = match &d.origin {
        apiwatch_core::DecisionOrigin::Rule(r) => r.clone(),
        apiwatch_core::DecisionOrigin::Person(_) => "manual".to_string(),
    };
    Some(CrowdsecDecision {
        id: d.id,
        origin: "apiwatch",
        kind,
        scope,
        value: d.value.clone(),
        duration: go_duration((d.expires_at_ms - now_ms).max(0)),
        scenario,
        simulated: false,
    })
}

/// Whole seconds as `1h2m3s` (a deleted decision's `0s` included).
fn go_duration(ms: i64) -> String {
    let s = ms / 1000;
    let (h, m, s) = (s / 3600, (s % 3600) / 60, s % 60);
    if h > 0 {
        format!("{h}h{m}m{s}s")
    } else if m > 0 {
        format!("{m}m{s}s")
    } else {
        format!("{s}s")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use apiwatch_core::{DecisionOrigin, DecisionStatus};

    fn decision(action: Action, scope: ScopeKind) -> Decision {
        Decision {
            id: 7,
            action,
            scope,
            value: "203.0.113.5".into(),
            duration_ms: 4 * 3_600_000,
            origin: DecisionOrigin::Rule("auth-password-guessing-ip".into()),
            reason: "r".into(),
            status: DecisionStatus::Active,
            created_at_ms: 0,
            expires_at_ms: 4 * 3_600_000,
            alert_id: None,
            incident_id: None,
            outcome: None,
        }
    }

    #[test]
    fn a_block_on_an_address_is_a_ban() {
        let c = crowdsec_decision(&decision(Action::Block, ScopeKind::Ip), 1_000).unwrap();
        let json = serde_json::to_value(&c).unwrap();
        assert_eq!(
            json,
            serde_json::json!({"id": 7, "origin": "apiwatch", "type": "ban", "scope": "Ip",
                "value": "203.0.113.5", "duration": "3h59m59s",
                "scenario": "auth-password-guessing-ip", "simulated": false})
        );
    }

    #[test]
    fn what_a_bouncer_cannot_enforce_is_not_shown() {
        assert!(crowdsec_decision(&decision(Action::Block, ScopeKind::User), 0).is_none());
        assert!(crowdsec_decision(&decision(Action::Lock, ScopeKind::Ip), 0).is_none());
        let c = crowdsec_decision(&decision(Action::StepUp, ScopeKind::Range), 0).unwrap();
        assert_eq!((c.kind, c.scope), ("captcha", "Range"));
    }

    #[test]
    fn durations_read_as_go_durations() {
        assert_eq!(go_duration(0), "0s");
        assert_eq!(go_duration(59_999), "59s");
        assert_eq!(go_duration(61_000), "1m1s");
        assert_eq!(go_duration(7_200_000), "2h0m0s");
    }
}
