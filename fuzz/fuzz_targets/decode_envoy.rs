//! Fuzz target: arbitrary bytes into the Envoy access-log decoder must never panic.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| apiwatch_fuzz::decode_envoy(data));
