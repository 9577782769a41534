//! Decisions: what a rule's proposed response becomes (off, proposed, enforced), the
//! allow-lists that win over every automatic decision, and the lifecycle an administrator
//! drives (approve, reject, extend, lift; expiry). Pure: times are passed in, nothing is
//! stored here.

mod allow;
mod crowdsec;
mod index;
mod lifecycle;
mod policy;

pub use allow::{AllowEntry, AllowList, AllowParseError};
pub use crowdsec::{crowdsec_decision, CrowdsecDecision, CrowdsecStream};
pub use index::{DecisionIndex, Subject};
pub use lifecycle::{transition, Change, TransitionError};
pub use policy::{
    ApplicationConfig, Mode, Policy, PolicyConfig, PolicyError, Proposal, DURATION_MAX_MS,
};
