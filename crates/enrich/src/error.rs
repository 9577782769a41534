//! Errors from building an [`crate::Enricher`]; each names the file or setting at fault.

use std::fmt;
use std::path::PathBuf;

/// Why an [`crate::Enricher`] could not be built.
#[derive(Debug, thiserror::Error)]
pub enum EnrichError {
    /// A MaxMind database could not be read or is not a MaxMind database.
    #[error("{}: cannot open MaxMind database: {reason}", path.display())]
    GeoOpen { path: PathBuf, reason: maxminddb::MaxMindDbError },
    /// A MaxMind database of the wrong kind (an ASN database given as the City one, …).
    #[error("{}: is a {found} database, expected {expected}", path.display())]
    GeoKind { path: PathBuf, found: String, expected: &'static str },
    /// The OpenAPI document could not be read.
    #[error("{}: cannot read OpenAPI document: {reason}", path.display())]
    OpenApiRead { path: PathBuf, reason: std::io::Error },
    /// The OpenAPI document is larger than the loader accepts.
    #[error("{}: OpenAPI document is {bytes} bytes, more than the {bytes_max} accepted", path.display())]
    OpenApiTooLarge { path: PathBuf, bytes: u64, bytes_max: u64 },
    /// The OpenAPI document is not valid JSON or YAML.
    #[error("{}: not valid {format}: {message}", path.display())]
    OpenApiSyntax { path: PathBuf, format: &'static str, message: String },
    /// The OpenAPI document parsed but does not describe an OpenAPI 3.0/3.1 API; every problem
    /// found is listed with its place in the document.
    #[error("{}: not a usable OpenAPI 3.0/3.1 document:{}", path.display(), ProblemList(problems))]
    OpenApiInvalid { path: PathBuf, problems: Vec<OpenApiProblem> },
    /// A configuration value is out of range.
    #[error("{field}: {message}")]
    Config { field: &'static str, message: String },
    /// The user-agent marker automaton could not be built (it is built from fixed lists, so
    /// this means a list grew past the automaton's size limits).
    #[error("user-agent markers: {0}")]
    UaMarkers(String),
}

/// One problem in an OpenAPI document: where (`paths['/pets/{id}'].get.operationId`) and what.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OpenApiProblem {
    pub at: String,
    pub message: String,
}

impl fmt::Display for OpenApiProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "at {}: {}", self.at, self.message)
    }
}

struct ProblemList<'a>(&'a [OpenApiProblem]);

impl fmt::Display for ProblemList<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for p in self.0 {
            write!(f, "\n  {p}")?;
        }
        Ok(())
    }
}
