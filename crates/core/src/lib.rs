//! apiwatch's vocabulary: the types every stage agrees on.
//!
//! Invariants (checked by `tests/boundaries.rs` at the workspace root):
//! - no I/O, no threads, no clock: everything here is a pure function of its arguments;
//! - `Event` (redacted) can only be made by [`redact::Redactor`], so any code that accepts an
//!   `Event` knows secrets are already gone;
//! - event time is milliseconds since the Unix epoch (`timestamp_ms`), always carried by the
//!   event, never read from the wall clock.
#![forbid(unsafe_code)]

pub mod alert;
pub mod bytes;
pub mod decision;
pub mod ecs;
pub mod escape;
pub mod event;
pub mod field;
pub mod incident;
pub mod redact;
pub mod time;

pub use alert::{Alert, ProposedResponse, ResponseAction, Severity};
pub use decision::{Action, Decision, DecisionOrigin, DecisionStatus, ScopeKind};
pub use event::{Event, EventData, Geo, Origin, Outcome, Text, UaClass};
pub use field::{Field, Value};
pub use incident::{ActorId, Incident, IncidentStatus};
