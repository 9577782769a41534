//! Fuzz target: arbitrary bytes into the AWS ALB access-log decoder must never panic.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| apiwatch_fuzz::decode_alb(data));
