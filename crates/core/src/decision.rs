//! Decisions: an action on an actor scope for a time, with who decided it and why.
//!
//! The vocabulary only; the lifecycle (propose, approve, lift, expire) lives in
//! `apiwatch-respond`, storage in `apiwatch-state`.

use serde::{Deserialize, Serialize};

/// What an enforcer does to the scope.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    /// Refuse every request (CrowdSec's `ban`).
    Block,
    /// Limit the request rate.
    Throttle,
    /// Lock the user's account (the application does it, through its webhook).
    Lock,
    /// Revoke the token or session (the application does it, through its webhook).
    Revoke,
    /// Ask for a second factor (CrowdSec's `captcha` is the closest a bouncer offers).
    StepUp,
}

impl Action {
    pub const ALL: [Action; 5] =
        [Action::Block, Action::Throttle, Action::Lock, Action::Revoke, Action::StepUp];
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Block => "block",
            Action::Throttle => "throttle",
            Action::Lock => "lock",
            Action::Revoke => "revoke",
            Action::StepUp => "step_up",
        }
    }
    pub fn parse(s: &str) -> Option<Action> {
        Action::ALL.into_iter().find(|a| a.as_str() == s)
    }
    /// Whether only the application can carry it out (through its webhook).
    pub fn needs_application(self) -> bool {
        matches!(self, Action::Lock | Action::Revoke)
    }
}

/// What a decision applies to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ScopeKind {
    /// One address.
    Ip,
    /// A CIDR network.
    Range,
    User,
    /// A token, by its pseudonym (`token.id`) — never the token itself.
    Token,
    Session,
    Consumer,
    /// An ISO 3166 alpha-2 country code.
    Country,
}

impl ScopeKind {
    pub const ALL: [ScopeKind; 7] = [
        ScopeKind::Ip,
        ScopeKind::Range,
        ScopeKind::User,
        ScopeKind::Token,
        ScopeKind::Session,
        ScopeKind::Consumer,
        ScopeKind::Country,
    ];
    pub fn as_str(self) -> &'static str {
        match self {
            ScopeKind::Ip => "ip",
            ScopeKind::Range => "range",
            ScopeKind::User => "user",
            ScopeKind::Token => "token",
            ScopeKind::Session => "session",
            ScopeKind::Consumer => "consumer",
            ScopeKind::Country => "country",
        }
    }
    pub fn parse(s: &str) -> Option<ScopeKind> {
        ScopeKind::ALL.into_iter().find(|k| k.as_str() == s)
    }
    /// The scope a value of an actor field is decided on (`source.ip` → `ip`).
    pub fn of_field(field: &str) -> Option<ScopeKind> {
        Some(match field {
            "source.ip" => ScopeKind::Ip,
            "source.network" => ScopeKind::Range,
            "user.name" | "user.id" => ScopeKind::User,
            "token.id" | "api_key.id" => ScopeKind::Token,
            "session.id" => ScopeKind::Session,
            "consumer.name" => ScopeKind::Consumer,
            "source.geo.country_iso_code" => ScopeKind::Country,
            _ => return None,
        })
    }
}

/// Where a decision's life stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DecisionStatus {
    /// Waits for an administrator (`propose` mode); enforced by nobody.
    Proposed,
    /// Enforced until `expires_at_ms`.
    Active,
    /// An administrator said no.
    Rejected,
    /// Ended early by a person.
    Lifted,
    /// Ran its time.
    Expired,
}

impl DecisionStatus {
    pub const ALL: [DecisionStatus; 5] = [
        DecisionStatus::Proposed,
        DecisionStatus::Active,
        DecisionStatus::Rejected,
        DecisionStatus::Lifted,
        DecisionStatus::Expired,
    ];
    pub fn as_str(self) -> &'static str {
        match self {
            DecisionStatus::Proposed => "proposed",
            DecisionStatus::Active => "active",
            DecisionStatus::Rejected => "rejected",
            DecisionStatus::Lifted => "lifted",
            DecisionStatus::Expired => "expired",
        }
    }
    pub fn parse(s: &str) -> Option<DecisionStatus> {
        DecisionStatus::ALL.into_iter().find(|k| k.as_str() == s)
    }
}

/// Who decided.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", content = "name", rename_all = "snake_case")]
pub enum DecisionOrigin {
    /// A rule's response, with the rule id.
    Rule(String),
    /// A person through the API or the CLI, with the token's name.
    Person(String),
}

/// One decision. `id` is assigned by the state database (0 before it is stored).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Decision {
    pub id: i64,
    pub action: Action,
    pub scope: ScopeKind,
    /// The address, network, user name, token pseudonym, … the action applies to.
    pub value: String,
    pub duration_ms: i64,
    pub origin: DecisionOrigin,
    pub reason: String,
    pub status: DecisionStatus,
    pub created_at_ms: i64,
    /// When enforcement ends (set when it becomes active; for a proposal, `created + duration`).
    pub expires_at_ms: i64,
    /// The alert that caused it, if a rule did.
    pub alert_id: Option<String>,
    pub incident_id: Option<String>,
    /// What the application's webhook answered, for actions it carries out.
    pub outcome: Option<String>,
}
