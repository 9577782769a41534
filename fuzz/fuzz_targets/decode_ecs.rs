//! Fuzz target: arbitrary bytes into the ECS JSON decoder must never panic.
#![no_main]

use apiwatch_parse::ecs::EcsDecoder;
use apiwatch_parse::Decoder;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let _ = EcsDecoder::new().decode(data);
});
