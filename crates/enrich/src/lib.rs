//! Enrichment: adds what the log line does not say (PLACEHOLDER until it lands).
#![forbid(unsafe_code)]
