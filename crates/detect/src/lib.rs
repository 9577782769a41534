//! Detection core (PLACEHOLDER until it lands).
#![forbid(unsafe_code)]
