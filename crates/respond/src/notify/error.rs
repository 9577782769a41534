//! Errors: configuration problems (all reported at once, each at its key path) and delivery
//! failures (whether to retry). Neither ever holds a secret: messages name keys, not values.

use super::template::TemplateError;
use thiserror::Error;

/// A problem in `notify:`, at its key path (`notify.channels[2].url`).
#[derive(Debug, Error)]
#[error("{path}: {problem}")]
pub struct ConfigError {
    pub path: String,
    pub problem: ConfigProblem,
}

/// What is wrong at a key path.
#[derive(Debug, Error)]
pub enum ConfigProblem {
    #[error("required")]
    Required,
    #[error("required for type {0}")]
    RequiredFor(&'static str),
    #[error("not a setting of type {0}")]
    NotAllowed(&'static str),
    #[error("unknown channel type {0:?} (webhook, slack, teams, pagerduty, email, syslog, splunk_hec, ocsf_file)")]
    UnknownType(String),
    #[error("another channel is already named {0:?}")]
    DuplicateName(String),
    #[error("no channel is named {0:?}")]
    UnknownChannel(String),
    #[error("{0}")]
    Invalid(String),
    #[error("template: {0}")]
    Template(#[from] TemplateError),
    #[error("{path}: {error}")]
    File { path: String, error: std::io::Error },
}

/// Why one delivery attempt failed.
#[derive(Debug, Error)]
#[error("{message}")]
pub(crate) struct DeliveryError {
    /// Whether trying again may help (a 5xx, 429, timeout or refused connection may; a 400 or a
    /// rejected recipient will not).
    pub(crate) retry: bool,
    /// What failed, without secrets (callers scrub it once more before it is written).
    pub(crate) message: String,
}

impl DeliveryError {
    pub(crate) fn retry(message: impl Into<String>) -> DeliveryError {
        DeliveryError { retry: true, message: message.into() }
    }
    pub(crate) fn permanent(message: impl Into<String>) -> DeliveryError {
        DeliveryError { retry: false, message: message.into() }
    }
}

/// Collects the problems of one validation pass, each under its key path.
#[derive(Default)]
pub(crate) struct Problems {
    pub(crate) errors: Vec<ConfigError>,
}

impl Problems {
    pub(crate) fn add(&mut self, path: impl Into<String>, problem: ConfigProblem) {
        self.errors.push(ConfigError { path: path.into(), problem });
    }
}
