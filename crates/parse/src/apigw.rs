//! PLACEHOLDER until the decoder lands: rejects every line.
use crate::{DecodeError, Decoder};
use apiwatch_core::EventData;

pub struct ApiGatewayDecoder;
impl ApiGatewayDecoder {
    pub fn new() -> Self {
        ApiGatewayDecoder
    }
}
impl Default for ApiGatewayDecoder {
    fn default() -> Self {
        Self::new()
    }
}
impl Decoder for ApiGatewayDecoder {
    fn name(&self) -> &str {
        "aws-apigw"
    }
    fn decode(&self, _line: &[u8]) -> Result<EventData, DecodeError> {
        Err(DecodeError::field("line", "decoder not written yet"))
    }
}
