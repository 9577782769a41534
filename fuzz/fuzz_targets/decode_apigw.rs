//! Fuzz target: arbitrary bytes into the AWS API Gateway access-log decoder must never panic.
#![no_main]

use apiwatch_parse::apigw::ApiGatewayDecoder;
use apiwatch_parse::Decoder;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let _ = ApiGatewayDecoder::new().decode(data);
});
