//! Detection core: the rule language, its compiler and the windowed engine.
//!
//! Rules are YAML files (the language is specified in `docs/rules.md`) loaded by
//! [`RuleSet::from_sources`] into native matchers; an [`Engine`] runs them over events in
//! event-time order and emits [`apiwatch_core::Alert`]s.
//!
//! Invariants:
//! - detection is a pure function of the events in the order given: no I/O, no clock, no
//!   threads, no tokio. Windows advance on event time (the watermark); the same events in the
//!   same order give the same alerts, whatever the number of shards;
//! - output never follows hash-map order: actor tables are walked by recency lists, alerts
//!   close in deadline order;
//! - memory follows live actors, not events: every rule's actor table is capped
//!   ([`Limits`]) and actors whose state has left the window are dropped as time passes.
#![forbid(unsafe_code)]

mod condition;
mod engine;
mod error;
mod keytable;
mod load;
mod rule;
mod template;
mod testing;
mod yaml;

pub mod correlate;
pub mod injection;
pub mod pack;
pub mod query;

pub use engine::{Engine, EngineStats, Limits, Prescan, Prescanner, RuleStats};
pub use error::{LoadErrors, RuleError};
pub use query::{KeyNeed, Query, QueryError, TimeBounds};
pub use rule::{RuleInfo, RuleSet, KINDS};
pub use testing::{run_rule_tests, CaseResult, RuleTestReport, RuleTestResult};
