//! Fuzz target: arbitrary bytes into the Kong log decoder must never panic.
#![no_main]

use apiwatch_parse::kong::KongDecoder;
use apiwatch_parse::Decoder;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let _ = KongDecoder::new().decode(data);
});
