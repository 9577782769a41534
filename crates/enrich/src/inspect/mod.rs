//! Inspection of the request and response bodies the inline gateway captures: what a log line
//! cannot tell. For a login it names the account tried and the outcome; for a JSON response it
//! counts the records returned; for any text response it counts signs of sensitive data
//! (card numbers, SSNs, IBANs, e-mail addresses, configured identity numbers).
//!
//! Invariants:
//! - only the first [`InspectConfig::body_bytes_max`] bytes handed in are read, each a bounded
//!   number of times, and nothing is allocated in proportion to the body beyond small tables;
//! - no secret leaves: the only request value returned is the account name (fields whose names
//!   say they hold secrets are refused as account fields), and exposure results are kinds and
//!   counts, never values;
//! - compressed bodies are declined, not decompressed;
//! - no input panics: bodies are arbitrary bytes (tested with random and near-valid bodies);
//! - no I/O, no clock, no threads: an [`Inspector`] is built once and shared.

mod config;
mod content;
mod error;
mod exposure;
mod field;
mod form;
mod json;
mod login;
mod records;
mod route;

pub use config::{
    ExposureConfig, FailureFieldConfig, InspectConfig, LoginConfig, NationalIdConfig,
    RecordsConfig, RecordsRouteConfig, RouteConfig,
};
pub use error::{ConfigProblem, InspectConfigError};

use content::BodyKind;
use error::Problems;
use std::fmt;
use std::sync::Arc;

/// Largest `body_bytes_max` accepted: bodies are captured by the gateway for inspection, and
/// more than this would be a mistake in the configuration, not a need.
pub const BODY_BYTES_MAX_LIMIT: usize = 16 * 1024 * 1024;

/// The request side of an exchange as the gateway saw it.
#[derive(Clone, Copy, Default)]
pub struct RequestView<'a> {
    /// HTTP method.
    pub method: &'a str,
    /// Path (a query is ignored) or route template.
    pub path: &'a str,
    /// `content-type` header, if any.
    pub content_type: Option<&'a str>,
    /// The first bytes of the body.
    pub body: &'a [u8],
    /// The body was longer than `body`.
    pub truncated: bool,
    /// The body has a content encoding (gzip, br, …): it is not inspected.
    pub compressed: bool,
}

/// The response side of an exchange as the gateway saw it.
#[derive(Clone, Copy, Default)]
pub struct ResponseView<'a> {
    /// HTTP status.
    pub status: u16,
    /// `content-type` header, if any.
    pub content_type: Option<&'a str>,
    /// The first bytes of the body.
    pub body: &'a [u8],
    /// The body was longer than `body`.
    pub truncated: bool,
    /// The body has a content encoding (gzip, br, …): it is not inspected.
    pub compressed: bool,
}

// Bodies hold passwords and personal data: views show their sizes, never their bytes.
impl fmt::Debug for RequestView<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RequestView")
            .field("method", &self.method)
            .field("path", &self.path)
            .field("content_type", &self.content_type)
            .field("body_bytes", &self.body.len())
            .field("truncated", &self.truncated)
            .field("compressed", &self.compressed)
            .finish()
    }
}

impl fmt::Debug for ResponseView<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ResponseView")
            .field("status", &self.status)
            .field("content_type", &self.content_type)
            .field("body_bytes", &self.body.len())
            .field("truncated", &self.truncated)
            .field("compressed", &self.compressed)
            .finish()
    }
}

/// What inspection learnt from one exchange.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Inspection {
    /// The login tried, when the request is on a login route and names an account.
    pub login: Option<LoginAttempt>,
    /// Records in a JSON response, when its shape says where they are.
    pub records: Option<RecordCount>,
    /// Kinds of sensitive data in the response and how many of each (non-zero counts only).
    pub exposure: Vec<(ExposureKind, u32)>,
    /// The response holds at least `exposure.many_emails_min` distinct e-mail addresses.
    pub many_emails: bool,
    /// What was not inspected, and why.
    pub skipped: Skipped,
}

/// Parts of an exchange left uninspected.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Skipped {
    /// The request body was compressed.
    pub request_compressed: bool,
    /// The response body was compressed.
    pub response_compressed: bool,
    /// The response is not text (image, archive, octet stream, …).
    pub response_not_text: bool,
    /// A body handed in was longer than `body_bytes_max` and was cut there.
    pub body_cut: bool,
}

/// An account tried on a login route and how it went.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LoginAttempt {
    /// The account name as sent (trimmed, cut to `login.account_bytes_max`).
    pub account: String,
    /// What the response says.
    pub outcome: LoginOutcome,
}

/// The result of a login attempt.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LoginOutcome {
    /// A 2xx response that no failure rule matches.
    Success,
    /// 401 or 403, or a 2xx whose body matches a failure rule.
    Failure,
    /// Any other status.
    Unknown,
}

/// Records in a response.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RecordCount {
    /// Records counted in this response.
    pub count: u64,
    /// The body was cut inside the records: there are at least `count`.
    pub lower_bound: bool,
}

/// A kind of sensitive data.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum ExposureKind {
    /// Payment card number.
    CardNumber,
    /// US social security number.
    UsSsn,
    /// International bank account number.
    Iban,
    /// E-mail address.
    Email,
    /// A configured identity-number pattern, by its name.
    NationalId(Arc<str>),
}

impl ExposureKind {
    /// The name reported for this kind (`card_number`, `us_ssn`, `iban`, `email`, or the
    /// configured pattern's name).
    pub fn name(&self) -> &str {
        match self {
            ExposureKind::CardNumber => "card_number",
            ExposureKind::UsSsn => "us_ssn",
            ExposureKind::Iban => "iban",
            ExposureKind::Email => "email",
            ExposureKind::NationalId(name) => name,
        }
    }
}

/// Inspects exchanges; built once from an [`InspectConfig`] and shared (it holds no state).
#[derive(Debug)]
pub struct Inspector {
    body_bytes_max: usize,
    login: login::LoginRules,
    records: records::RecordRules,
    exposure: exposure::ExposureRules,
}

impl Inspector {
    /// Validates the configuration; every problem is reported, each with its key path.
    pub fn build(cfg: &InspectConfig) -> Result<Inspector, InspectConfigError> {
        let mut problems = Problems::default();
        if cfg.body_bytes_max == 0 || cfg.body_bytes_max > BODY_BYTES_MAX_LIMIT {
            problems
                .push("body_bytes_max", format!("must be between 1 and {BODY_BYTES_MAX_LIMIT}"));
        }
        let login = login::LoginRules::build(&cfg.login, &mut problems);
        let records = records::RecordRules::build(&cfg.records, &mut problems);
        let exposure = exposure::ExposureRules::build(&cfg.exposure, &mut problems);
        if !problems.0.is_empty() {
            return Err(InspectConfigError { problems: problems.0 });
        }
        Ok(Inspector { body_bytes_max: cfg.body_bytes_max, login, records, exposure })
    }

    /// Inspects one exchange.
    pub fn inspect(&self, req: &RequestView<'_>, resp: &ResponseView<'_>) -> Inspection {
        let mut out = Inspection::default();
        let (req_body, req_truncated) = self.bounded(req.body, req.truncated, &mut out.skipped);
        let (resp_body, resp_truncated) = self.bounded(resp.body, resp.truncated, &mut out.skipped);
        out.skipped.request_compressed = req.compressed;
        out.skipped.response_compressed = resp.compressed;
        let resp_kind = if resp.compressed {
            None
        } else {
            Some(content::classify(resp.content_type, resp_body))
        };
        out.skipped.response_not_text = resp_kind == Some(BodyKind::Binary);
        let resp_json = (resp_kind == Some(BodyKind::Json)).then_some(resp_body);
        if self.login.is_login(req) {
            out.login = self.login.attempt(req, req_body, req_truncated, resp, resp_json);
        }
        if let (Some(body), 200..=299) = (resp_json, resp.status) {
            out.records = self.records.count(req.method, req.path, body, resp_truncated);
        }
        if matches!(resp_kind, Some(BodyKind::Json | BodyKind::Text | BodyKind::Form)) {
            let found = self.exposure.scan(resp_body);
            out.exposure = found.counts;
            out.many_emails = found.many_emails;
        }
        out
    }

    /// The part of a body inspection may read.
    fn bounded<'b>(
        &self,
        body: &'b [u8],
        truncated: bool,
        skipped: &mut Skipped,
    ) -> (&'b [u8], bool) {
        if body.len() > self.body_bytes_max {
            skipped.body_cut = true;
            (&body[..self.body_bytes_max], true)
        } else {
            (body, truncated)
        }
    }
}
