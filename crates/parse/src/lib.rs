//! Decoders: bytes of one log line in, one [`EventData`] out, and format detection.
//!
//! Invariants:
//! - no I/O: a decoder sees only the bytes it is given (the binary reads files);
//! - a decoder never panics on any input (fuzzed), and its errors name the place (column and
//!   field) but never echo the line's content, which may hold secrets;
//! - decoders do not enrich or redact: they copy what the log says into ECS fields.
#![forbid(unsafe_code)]

use apiwatch_core::EventData;
use thiserror::Error;

pub mod access;
pub mod alb;
pub mod apigw;
pub mod detect;
pub mod ecs;
pub mod envoy;
mod json_util;
pub mod kong;
pub mod mapping;
#[cfg(test)]
mod test_bytes;

pub use detect::{detect_format, DetectSample};

/// Longest line a decoder is given; longer lines are reported as unparsed by the reader.
pub const LINE_BYTES_MAX: usize = 64 * 1024;

/// Why one line could not be decoded. Says where, never what the line held.
#[derive(Clone, Debug, Error, PartialEq, Eq)]
#[error("{}{field}: {reason}", column.map(|c| format!("column {c}, ")).unwrap_or_default())]
pub struct DecodeError {
    /// 1-based byte column where the problem starts, when known.
    pub column: Option<usize>,
    /// The log field (as the format names it) that was being read.
    pub field: &'static str,
    pub reason: &'static str,
}

impl DecodeError {
    pub fn at(column: usize, field: &'static str, reason: &'static str) -> DecodeError {
        DecodeError { column: Some(column), field, reason }
    }
    pub fn field(field: &'static str, reason: &'static str) -> DecodeError {
        DecodeError { column: None, field, reason }
    }
}

/// A decoder for one log format.
pub trait Decoder: Send + Sync {
    /// The format's name as users write it in `FORMAT:PATH` (`nginx`, `kong`, …).
    fn name(&self) -> &str;
    /// Decodes one line (without its line terminator).
    fn decode(&self, line: &[u8]) -> Result<EventData, DecodeError>;
}

/// A format defined in the configuration: an nginx/Apache `log_format` string, or a JSON
/// field mapping.
#[derive(Clone, Debug, PartialEq)]
pub enum CustomFormat {
    /// nginx `log_format` syntax (`$remote_addr - $remote_user [$time_local] "$request" …`).
    LogFormat { name: String, pattern: String },
    /// JSON objects whose fields map to ECS fields.
    Json { name: String, mapping: mapping::JsonMapping },
}

impl CustomFormat {
    pub fn name(&self) -> &str {
        match self {
            CustomFormat::LogFormat { name, .. } | CustomFormat::Json { name, .. } => name,
        }
    }
}

/// Why a custom format is unusable.
#[derive(Clone, Debug, Error, PartialEq, Eq)]
#[error("format `{name}`: {reason}")]
pub struct FormatError {
    pub name: String,
    pub reason: String,
}

/// The built-in formats, in the order detection prefers them on a tie.
pub const BUILTIN_FORMATS: &[&str] = &["kong", "aws-apigw", "ecs", "nginx", "aws-alb", "envoy"];

/// Builds a built-in decoder by its name (`apache` is an alias of `nginx`: the same decoder
/// reads both families of access logs).
pub fn builtin(name: &str) -> Option<Box<dyn Decoder>> {
    Some(match name {
        "nginx" | "apache" | "combined" | "common" => Box::new(access::AccessLogDecoder::new()),
        "kong" => Box::new(kong::KongDecoder::new()),
        "ecs" => Box::new(ecs::EcsDecoder::new()),
        "aws-apigw" => Box::new(apigw::ApiGatewayDecoder::new()),
        "aws-alb" => Box::new(alb::AlbDecoder::new()),
        "envoy" => Box::new(envoy::EnvoyDecoder::new()),
        _ => return None,
    })
}

/// Builds the decoder of a custom format.
pub fn build_custom(format: &CustomFormat) -> Result<Box<dyn Decoder>, FormatError> {
    match format {
        CustomFormat::LogFormat { name, pattern } => {
            Ok(Box::new(access::LogFormatDecoder::compile(name, pattern)?))
        }
        CustomFormat::Json { name, mapping } => {
            Ok(Box::new(mapping::MappedJsonDecoder::new(name, mapping.clone())?))
        }
    }
}
