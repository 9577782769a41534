//! Errors from validating an [`super::InspectConfig`]: every problem, each with its key path.

use std::fmt;

/// One problem in the inspection configuration: where (`login.routes[2].path`) and what.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConfigProblem {
    /// Key path of the offending value, from the root of the inspection section.
    pub at: String,
    /// What is wrong with it.
    pub message: String,
}

impl fmt::Display for ConfigProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.at, self.message)
    }
}

/// Why an [`super::Inspector`] could not be built: all the problems found, not just the first.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("invalid inspection configuration:{}", ProblemList(.problems))]
pub struct InspectConfigError {
    /// Every problem found, in configuration order.
    pub problems: Vec<ConfigProblem>,
}

struct ProblemList<'a>(&'a [ConfigProblem]);

impl fmt::Display for ProblemList<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for p in self.0 {
            write!(f, "\n  {p}")?;
        }
        Ok(())
    }
}

/// Collects problems while a configuration is validated.
#[derive(Default)]
pub(super) struct Problems(pub(super) Vec<ConfigProblem>);

impl Problems {
    pub(super) fn push(&mut self, at: impl Into<String>, message: impl Into<String>) {
        self.0.push(ConfigProblem { at: at.into(), message: message.into() });
    }
}
