//! PLACEHOLDER until the decoder lands: rejects every line.
use crate::{DecodeError, Decoder};
use apiwatch_core::EventData;

pub struct EcsDecoder;
impl EcsDecoder {
    pub fn new() -> Self {
        EcsDecoder
    }
}
impl Default for EcsDecoder {
    fn default() -> Self {
        Self::new()
    }
}
impl Decoder for EcsDecoder {
    fn name(&self) -> &str {
        "ecs"
    }
    fn decode(&self, _line: &[u8]) -> Result<EventData, DecodeError> {
        Err(DecodeError::field("line", "decoder not written yet"))
    }
}
