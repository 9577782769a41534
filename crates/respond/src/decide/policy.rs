//! What a rule's proposed response becomes: nothing (`off`), a decision waiting for an
//! administrator (`propose`) or one enforced at once and still listed for review (`enforce`).

use super::allow::{AllowEntry, AllowList};
use apiwatch_core::{
    Action, ActorId, Alert, Decision, DecisionOrigin, DecisionStatus, ResponseAction, ScopeKind,
};
use serde::Deserialize;
use std::collections::BTreeMap;

/// The longest a decision may last: a rule asking for more is cut to this (a forgotten
/// permanent block is worse than one a person renews).
pub const DURATION_MAX_MS: i64 = 30 * 24 * 3_600_000;

/// A rule's response mode.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Mode {
    Off,
    /// The safe default: nothing is enforced until a person approves it.
    #[default]
    Propose,
    Enforce,
}

impl Mode {
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Off => "off",
            Mode::Propose => "propose",
            Mode::Enforce => "enforce",
        }
    }
}

/// `decisions:` in the service's configuration.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PolicyConfig {
    /// The mode of rules not named in `rules`.
    #[serde(default)]
    pub mode: Mode,
    /// Per rule id.
    #[serde(default)]
    pub rules: BTreeMap<String, Mode>,
    /// Longest duration (`7d`); at most 30 days.
    #[serde(default)]
    pub max_duration: Option<String>,
    /// Actors no automatic decision touches.
    #[serde(default)]
    pub allow: Vec<RawAllow>,
    /// The application's webhook, which carries out what only it can (lock an account,
    /// revoke a token or session).
    #[serde(default)]
    pub application: Option<ApplicationConfig>,
}

/// `decisions.application`: where lock and revoke decisions are sent.
#[derive(Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ApplicationConfig {
    pub url: String,
    /// Signs each call (HMAC-SHA256 over `timestamp.body`); at least 16 characters.
    pub secret: String,
    /// Attempts before the outcome is recorded as failed (default 4).
    #[serde(default)]
    pub attempts: Option<u32>,
}

impl std::fmt::Debug for ApplicationConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ApplicationConfig")
            .field("url", &self.url)
            .field("secret", &"***")
            .field("attempts", &self.attempts)
            .finish()
    }
}

/// One allow-list entry as written.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawAllow {
    pub scope: String,
    pub value: String,
    #[serde(default)]
    pub reason: Option<String>,
}

/// A problem in `decisions:`, with its key path.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("{path}: {message}")]
pub struct PolicyError {
    pub path: String,
    pub message: String,
}

/// The validated policy.
#[derive(Clone, Debug)]
pub struct Policy {
    default_mode: Mode,
    rules: BTreeMap<String, Mode>,
    max_duration_ms: i64,
    /// From the configuration; the service adds the entries made through the API.
    pub allow: AllowList,
}

/// What a new alert leads to.
#[derive(Clone, Debug, PartialEq)]
pub enum Proposal {
    /// The rule proposes nothing, or its mode is `off`.
    Nothing,
    /// An actor of the alert is allow-listed (the entry is named for the record).
    Allowed(ActorId),
    /// A decision to store (status `proposed` or `active`).
    Decide(Decision),
}

impl Policy {
    /// Validates `decisions:`; `known_rules` catches a misspelt rule id.
    pub fn new(config: &PolicyConfig, known_rules: &[&str]) -> Result<Policy, Vec<PolicyError>> {
        let mut errors = Vec::new();
        let err = |path: String, message: String| PolicyError { path, message };
        for id in config.rules.keys() {
            if !known_rules.contains(&id.as_str()) {
                errors.push(err(format!("decisions.rules.{id}"), "no rule has this id".into()));
            }
        }
        let max_duration_ms = match &config.max_duration {
            None => DURATION_MAX_MS,
            Some(s) => match apiwatch_core::time::parse_duration_ms(s) {
                Ok(ms) if ms > 0 && ms <= DURATION_MAX_MS => ms,
                Ok(_) => {
                    errors.push(err(
                        "decisions.max_duration".into(),
                        "must be more than 0 and at most 30d".into(),
                    ));
                    DURATION_MAX_MS
                }
                Err(e) => {
                    errors.push(err("decisions.max_duration".into(), e.to_string()));
                    DURATION_MAX_MS
                }
            },
        };
        let mut entries = Vec::new();
        for (i, a) in config.allow.iter().enumerate() {
            let Some(scope) = ScopeKind::parse(&a.scope) else {
                errors.push(err(
                    format!("decisions.allow[{i}].scope"),
                    format!(
                        "{:?} is not one of ip, range, user, token, session, consumer, country",
                        a.scope
                    ),
                ));
                continue;
            };
            match AllowEntry::parse(scope, &a.value) {
                Ok(e) => entries.push(e),
                Err(e) => errors.push(err(format!("decisions.allow[{i}].value"), e.to_string())),
            }
        }
        if let Some(app) = &config.application {
            if !(app.url.starts_with("http://") || app.url.starts_with("https://")) {
                errors.push(err(
                    "decisions.application.url".into(),
                    "expected an http:// or https:// URL".into(),
                ));
            }
            if app.secret.len() < 16 {
                errors.push(err(
                    "decisions.application.secret".into(),
                    "at least 16 characters (use ${ENV})".into(),
                ));
            }
            if app.attempts.is_some_and(|n| n == 0 || n > 10) {
                errors
                    .push(err("decisions.application.attempts".into(), "between 1 and 10".into()));
            }
        }
        if !errors.is_empty() {
            return Err(errors);
        }
        Ok(Policy {
            default_mode: config.mode,
            rules: config.rules.clone(),
            max_duration_ms,
            allow: AllowList::new(entries),
        })
    }

    /// The mode of a rule.
    pub fn mode(&self, rule: &str) -> Mode {
        self.rules.get(rule).copied().unwrap_or(self.default_mode)
    }

    /// What `alert` (new, not a re-emission) leads to. `actors` are all the actors correlation
    /// found for it (its group-by values and those in its evidence); `now_ms` is wall time,
    /// since enforcement runs on the clock, not on event time. `extra_allow` holds the entries
    /// people added at run time (the configured ones are the policy's own).
    pub fn propose(
        &self,
        alert: &Alert,
        actors: &[ActorId],
        extra_allow: &AllowList,
        now_ms: i64,
    ) -> Proposal {
        let Some(resp) = &alert.response else { return Proposal::Nothing };
        let mode = self.mode(&alert.rule);
        if mode == Mode::Off {
            return Proposal::Nothing;
        }
        let Some(scope) = ScopeKind::of_field(&resp.scope_field) else {
            return Proposal::Nothing;
        };
        let target = ActorId::new(scope, resp.scope_value.clone());
        for list in [&self.allow, extra_allow] {
            if list.covers(scope, &resp.scope_value) {
                return Proposal::Allowed(target);
            }
            if let Some(a) = actors.iter().find(|a| list.covers(a.kind, &a.value)) {
                return Proposal::Allowed(a.clone());
            }
        }
        let duration_ms = resp.duration_ms.clamp(1, self.max_duration_ms);
        Proposal::Decide(Decision {
            id: 0,
            action: match resp.action {
                ResponseAction::Block => Action::Block,
                ResponseAction::Throttle => Action::Throttle,
                ResponseAction::Lock => Action::Lock,
            },
            scope,
            value: resp.scope_value.clone(),
            duration_ms,
            origin: DecisionOrigin::Rule(alert.rule.clone()),
            reason: alert.title.clone(),
            status: if mode == Mode::Enforce {
                DecisionStatus::Active
            } else {
                DecisionStatus::Proposed
            },
            created_at_ms: now_ms,
            expires_at_ms: now_ms.saturating_add(duration_ms),
            alert_id: Some(alert.id.clone()),
            incident_id: None,
            outcome: None,
        })
    }

    /// The longest duration a decision may have.
    pub fn max_duration_ms(&self) -> i64 {
        self.max_duration_ms
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use apiwatch_core::{ProposedResponse, Severity};

    fn alert(rule: &str, field: &str, value: &str, duration_ms: i64) -> Alert {
        Alert {
            id: "a1".into(),
            rule: rule.into(),
            title: "Password guessing".into(),
            severity: Severity::High,
            owasp: "API2:2023".into(),
            attack: None,
            first_seen_ms: 0,
            last_seen_ms: 0,
            detected_at_ms: 0,
            actor: vec![(field.into(), value.into())],
            count: 1,
            summary: String::new(),
            evidence: vec![],
            response: Some(ProposedResponse {
                action: ResponseAction::Block,
                scope_field: field.into(),
                scope_value: value.into(),
                duration_ms,
            }),
        }
    }

    fn policy(yaml_mode: Mode, rules: &[(&str, Mode)], allow: &[(&str, &str)]) -> Policy {
        let config = PolicyConfig {
            mode: yaml_mode,
            rules: rules.iter().map(|(r, m)| (r.to_string(), *m)).collect(),
            max_duration: Some("1d".into()),
            application: None,
            allow: allow
                .iter()
                .map(|(s, v)| RawAllow { scope: s.to_string(), value: v.to_string(), reason: None })
                .collect(),
        };
        Policy::new(&config, &["r1", "r2"]).unwrap()
    }

    #[test]
    fn modes_per_rule() {
        let p = policy(Mode::Propose, &[("r2", Mode::Enforce)], &[]);
        let Proposal::Decide(d) = p.propose(
            &alert("r1", "source.ip", "203.0.113.5", 3_600_000),
            &[],
            &AllowList::default(),
            1000,
        ) else {
            panic!("a proposal")
        };
        assert_eq!(d.status, DecisionStatus::Proposed);
        assert_eq!((d.scope, d.value.as_str()), (ScopeKind::Ip, "203.0.113.5"));
        assert_eq!(d.expires_at_ms, 1000 + 3_600_000);
        let Proposal::Decide(d) =
            p.propose(&alert("r2", "source.ip", "203.0.113.5", 1), &[], &AllowList::default(), 0)
        else {
            panic!("a decision")
        };
        assert_eq!(d.status, DecisionStatus::Active);
        let off = policy(Mode::Off, &[], &[]);
        assert_eq!(
            off.propose(&alert("r1", "source.ip", "203.0.113.5", 1), &[], &AllowList::default(), 0),
            Proposal::Nothing
        );
    }

    #[test]
    fn durations_are_capped() {
        let p = policy(Mode::Enforce, &[], &[]);
        let Proposal::Decide(d) =
            p.propose(&alert("r1", "user.name", "bob", i64::MAX), &[], &AllowList::default(), 0)
        else {
            panic!("a decision")
        };
        assert_eq!(d.duration_ms, 86_400_000);
        assert_eq!(d.scope, ScopeKind::User);
    }

    #[test]
    fn allow_lists_win_over_enforce() {
        let p = policy(Mode::Enforce, &[], &[("range", "203.0.113.0/24"), ("user", "monitor")]);
        assert_eq!(
            p.propose(&alert("r1", "source.ip", "203.0.113.5", 1), &[], &AllowList::default(), 0),
            Proposal::Allowed(ActorId::new(ScopeKind::Ip, "203.0.113.5"))
        );
        // The address is not listed, but the user behind the alert is.
        let monitor = ActorId::new(ScopeKind::User, "monitor");
        assert_eq!(
            p.propose(
                &alert("r1", "source.ip", "198.51.100.1", 1),
                std::slice::from_ref(&monitor),
                &AllowList::default(),
                0
            ),
            Proposal::Allowed(monitor)
        );
    }

    #[test]
    fn config_errors_name_their_place() {
        let config = PolicyConfig {
            mode: Mode::Propose,
            rules: [("nope".to_string(), Mode::Enforce)].into(),
            max_duration: Some("90d".into()),
            application: None,
            allow: vec![
                RawAllow { scope: "planet".into(), value: "x".into(), reason: None },
                RawAllow { scope: "ip".into(), value: "1.2.3".into(), reason: None },
            ],
        };
        let errors: Vec<String> =
            Policy::new(&config, &["r1"]).unwrap_err().iter().map(|e| e.to_string()).collect();
        assert_eq!(errors.len(), 4, "{errors:?}");
        assert!(errors[0].starts_with("decisions.rules.nope:"));
        assert!(errors[1].starts_with("decisions.max_duration:"));
        assert!(errors[2].starts_with("decisions.allow[0].scope:"));
        assert!(errors[3].starts_with("decisions.allow[1].value:"));
    }
}
