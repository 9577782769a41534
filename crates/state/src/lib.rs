//! apiwatch's embedded state database (SQLite, WAL): alerts, incidents, decisions, mutes,
//! the allow-list, API tokens (hashes only) and the append-only audit trail.
//!
//! Synchronous by design: it knows nothing of tokio, and async callers reach it from a
//! dedicated thread or `spawn_blocking`. Every committed change is synced to disk before
//! the call returns (`synchronous=FULL`). It reads no clock: callers pass times in
//! milliseconds since the Unix epoch (`*_ms`).
#![forbid(unsafe_code)]

mod alerts;
mod allow;
mod audit;
mod codec;
mod db;
mod decision_changes;
mod decisions;
mod error;
mod incidents;
mod metrics;
mod mutes;
mod page;
mod schema;
mod tokens;
mod traffic;

pub use alerts::{AlertFilter, AlertsInOrder};
pub use allow::AllowEntry;
pub use audit::{AuditEntry, AuditFilter, AuditRecord};
pub use codec::TEXT_BYTES_MAX;
pub use db::{State, BUSY_TIMEOUT_MS};
pub use decision_changes::{DecisionChanges, DECISION_CHANGES_MAX};
pub use decisions::{DecisionFilter, DecisionMeta, OriginKind};
pub use error::{Result, StateError};
pub use incidents::{IncidentDetail, IncidentFilter, IncidentRecord, Note, Triage, Verdict};
pub use metrics::{Kpis, RuleKpis, SecurityMetrics};
pub use mutes::Mute;
pub use page::{Page, Paging, PAGE_LIMIT_DEFAULT, PAGE_LIMIT_MAX};
pub use schema::SCHEMA_VERSION;
pub use tokens::{
    Role, TokenInfo, TokenListing, TokenSecret, LAST_USED_RESOLUTION_MS, TOKEN_NAME_BYTES_MAX,
    TOKEN_PREFIX,
};
