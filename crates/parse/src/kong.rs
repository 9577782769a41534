//! PLACEHOLDER until the decoder lands: rejects every line.
use crate::{DecodeError, Decoder};
use apiwatch_core::EventData;

pub struct KongDecoder;
impl KongDecoder {
    pub fn new() -> Self {
        KongDecoder
    }
}
impl Default for KongDecoder {
    fn default() -> Self {
        Self::new()
    }
}
impl Decoder for KongDecoder {
    fn name(&self) -> &str {
        "kong"
    }
    fn decode(&self, _line: &[u8]) -> Result<EventData, DecodeError> {
        Err(DecodeError::field("line", "decoder not written yet"))
    }
}
