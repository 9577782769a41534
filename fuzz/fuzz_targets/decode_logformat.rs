//! Fuzz target: arbitrary patterns into the log-format compiler, and arbitrary lines into
//! decoders compiled from nginx and Apache formats, must never panic.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| apiwatch_fuzz::decode_logformat(data));
