//! PLACEHOLDER until the decoder lands: rejects every line.
use crate::{DecodeError, Decoder};
use apiwatch_core::EventData;

pub struct AlbDecoder;
impl AlbDecoder {
    pub fn new() -> Self {
        AlbDecoder
    }
}
impl Default for AlbDecoder {
    fn default() -> Self {
        Self::new()
    }
}
impl Decoder for AlbDecoder {
    fn name(&self) -> &str {
        "aws-alb"
    }
    fn decode(&self, _line: &[u8]) -> Result<EventData, DecodeError> {
        Err(DecodeError::field("line", "decoder not written yet"))
    }
}
