//! PLACEHOLDER until the decoder lands: rejects every line.
use crate::{DecodeError, Decoder};
use apiwatch_core::EventData;

pub struct EnvoyDecoder;
impl EnvoyDecoder {
    pub fn new() -> Self {
        EnvoyDecoder
    }
}
impl Default for EnvoyDecoder {
    fn default() -> Self {
        Self::new()
    }
}
impl Decoder for EnvoyDecoder {
    fn name(&self) -> &str {
        "envoy"
    }
    fn decode(&self, _line: &[u8]) -> Result<EventData, DecodeError> {
        Err(DecodeError::field("line", "decoder not written yet"))
    }
}
