//! Responses to what detection and correlation found: decisions (`decide`) and notifications
//! (`notify`). Evaluates no rules; stores nothing itself (the service hands decisions to
//! `apiwatch-state`).
#![forbid(unsafe_code)]

pub mod decide;
pub mod notify;
