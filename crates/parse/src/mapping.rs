//! PLACEHOLDER until the JSON mapping decoder lands.
use crate::{DecodeError, Decoder};
use apiwatch_core::EventData;

#[derive(Clone, Debug, PartialEq, Default)]
pub struct JsonMapping;

pub struct MappedJsonDecoder;
impl MappedJsonDecoder {
    pub fn new(name: &str, _m: JsonMapping) -> Result<Self, crate::FormatError> {
        Err(crate::FormatError { name: name.into(), reason: "not written yet".into() })
    }
}
impl Decoder for MappedJsonDecoder {
    fn name(&self) -> &str {
        "json"
    }
    fn decode(&self, _line: &[u8]) -> Result<EventData, DecodeError> {
        Err(DecodeError::field("line", "decoder not written yet"))
    }
}
