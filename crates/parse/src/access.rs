//! PLACEHOLDER until the decoder lands: rejects every line.
use crate::{DecodeError, Decoder};
use apiwatch_core::EventData;

pub struct AccessLogDecoder;
impl AccessLogDecoder {
    pub fn new() -> Self {
        AccessLogDecoder
    }
}
impl Default for AccessLogDecoder {
    fn default() -> Self {
        Self::new()
    }
}
impl Decoder for AccessLogDecoder {
    fn name(&self) -> &str {
        "nginx"
    }
    fn decode(&self, _line: &[u8]) -> Result<EventData, DecodeError> {
        Err(DecodeError::field("line", "decoder not written yet"))
    }
}

pub struct LogFormatDecoder;
impl LogFormatDecoder {
    pub fn compile(name: &str, _pattern: &str) -> Result<Self, crate::FormatError> {
        Err(crate::FormatError { name: name.into(), reason: "not written yet".into() })
    }
}
impl Decoder for LogFormatDecoder {
    fn name(&self) -> &str {
        "log_format"
    }
    fn decode(&self, _line: &[u8]) -> Result<EventData, DecodeError> {
        Err(DecodeError::field("line", "decoder not written yet"))
    }
}
