//! Fuzz target: arbitrary bytes as rule files must never make the loader (or the engine
//! running what it compiled) panic.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| apiwatch_fuzz::rule_loader(data));
