//! The moves a person makes on a decision, and which states allow them.
//!
//! ```text
//! proposed ──approve──► active ──lift──► lifted
//!    │                    │ └──time──► expired
//!    └──reject──► rejected└──extend──► active (later expiry)
//! ```

use apiwatch_core::{Decision, DecisionStatus};

/// A change a person asks for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Change {
    /// Enforce a proposal, from now for its duration.
    Approve,
    Reject,
    /// Push the end later by this much (an active decision), or lengthen a proposal.
    Extend {
        by_ms: i64,
    },
    /// End it now.
    Lift,
}

impl Change {
    pub fn as_str(self) -> &'static str {
        match self {
            Change::Approve => "approve",
            Change::Reject => "reject",
            Change::Extend { .. } => "extend",
            Change::Lift => "lift",
        }
    }
}

/// Why a change cannot be made.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum TransitionError {
    #[error("cannot {change} a decision that is {status}")]
    NotAllowed { change: &'static str, status: &'static str },
    #[error("an extension must be more than 0 and end at most {max_ms} ms from now")]
    Extension { max_ms: i64 },
}

/// The decision after `change`, made at wall time `now_ms`; `max_ms` bounds how far from now
/// an extension may reach.
pub fn transition(
    d: &Decision,
    change: Change,
    now_ms: i64,
    max_ms: i64,
) -> Result<Decision, TransitionError> {
    let not_allowed =
        || TransitionError::NotAllowed { change: change.as_str(), status: d.status.as_str() };
    let mut next = d.clone();
    // An active decision past its end is expired, whatever the sweep has not yet written.
    let live = d.status == DecisionStatus::Active && d.expires_at_ms > now_ms;
    match change {
        Change::Approve if d.status == DecisionStatus::Proposed => {
            next.status = DecisionStatus::Active;
            next.expires_at_ms = now_ms.saturating_add(d.duration_ms);
        }
        Change::Reject if d.status == DecisionStatus::Proposed => {
            next.status = DecisionStatus::Rejected;
        }
        Change::Extend { by_ms } if live || d.status == DecisionStatus::Proposed => {
            let expires = d.expires_at_ms.saturating_add(by_ms);
            if by_ms <= 0 || expires > now_ms.saturating_add(max_ms) {
                return Err(TransitionError::Extension { max_ms });
            }
            next.duration_ms = d.duration_ms.saturating_add(by_ms);
            next.expires_at_ms = expires;
        }
        Change::Lift if live || d.status == DecisionStatus::Proposed => {
            next.status = DecisionStatus::Lifted;
            next.expires_at_ms = now_ms.min(d.expires_at_ms);
        }
        _ => return Err(not_allowed()),
    }
    Ok(next)
}

#[cfg(test)]
mod tests {
    use super::*;
    use apiwatch_core::{Action, DecisionOrigin, ScopeKind};

    fn decision(status: DecisionStatus) -> Decision {
        Decision {
            id: 1,
            action: Action::Block,
            scope: ScopeKind::Ip,
            value: "203.0.113.5".into(),
            duration_ms: 1000,
            origin: DecisionOrigin::Rule("r".into()),
            reason: "test".into(),
            status,
            created_at_ms: 0,
            expires_at_ms: 1000,
            alert_id: None,
            incident_id: None,
            outcome: None,
        }
    }

    #[test]
    fn approve_starts_the_clock_now() {
        let d = transition(&decision(DecisionStatus::Proposed), Change::Approve, 5000, 10_000);
        let d = d.unwrap();
        assert_eq!((d.status, d.expires_at_ms), (DecisionStatus::Active, 6000));
    }

    #[test]
    fn only_allowed_moves_are_made() {
        use DecisionStatus::*;
        let cases = [
            (Proposed, Change::Reject, Ok(Rejected)),
            (Active, Change::Lift, Ok(Lifted)),
            (Proposed, Change::Lift, Ok(Lifted)),
            (Active, Change::Approve, Err(())),
            (Rejected, Change::Approve, Err(())),
            (Lifted, Change::Lift, Err(())),
            (Expired, Change::Extend { by_ms: 10 }, Err(())),
            (Active, Change::Reject, Err(())),
        ];
        for (from, change, want) in cases {
            let got =
                transition(&decision(from), change, 500, 10_000).map(|d| d.status).map_err(|_| ());
            assert_eq!(got, want, "{from:?} {change:?}");
        }
    }

    #[test]
    fn a_decision_past_its_end_cannot_be_lifted_or_extended() {
        let d = decision(DecisionStatus::Active);
        assert!(transition(&d, Change::Lift, 1000, 10_000).is_err());
        assert!(transition(&d, Change::Extend { by_ms: 5 }, 2000, 10_000).is_err());
    }

    #[test]
    fn extensions_are_bounded() {
        let d = decision(DecisionStatus::Active);
        let e = transition(&d, Change::Extend { by_ms: 500 }, 100, 10_000).unwrap();
        assert_eq!((e.expires_at_ms, e.duration_ms), (1500, 1500));
        assert!(transition(&d, Change::Extend { by_ms: 0 }, 100, 10_000).is_err());
        assert!(transition(&d, Change::Extend { by_ms: 20_000 }, 100, 10_000).is_err());
    }
}
