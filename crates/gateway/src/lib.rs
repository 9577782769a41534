//! apiwatch's inline reverse proxy (gateway mode). The embedder gives it a validated
//! configuration (`GatewayConfig::validate` → `Gateway`) and a `Hooks` implementation, starts
//! it from its tokio runtime (calls are served on the gateway's own worker threads, one
//! single-threaded runtime each), and receives one `CallRecord` per call.
//!
//! A call goes through ordered phases over a per-request context (`phases/`): admission
//! (`request_filter`: the embedder's verdict, rate limits), target choice (`upstream_peer`),
//! `response_filter`, and `logging` (the record). Bodies stream through; only their first
//! `body_inspect_bytes_max` bytes are copied for the record.
//!
//! Deliberately does not know apiwatch's events, rules or decisions (the embedder maps
//! records to events and verdicts from decisions), nor parse any log format.

#![forbid(unsafe_code)]

mod body;
mod client_addr;
mod config;
mod context;
mod error;
mod headers;
mod health;
mod hooks;
mod phases;
mod pool;
mod problem;
mod proxy;
mod ratelimit;
mod record;
mod server;
mod settings;
mod stats;
mod tls;
mod upstream;
mod websocket;
mod worker;

pub use body::ResponseBody;
pub use config::{
    FailModeConfig, GatewayConfig, HealthCheckConfig, ListenerConfig, RateLimitConfig,
    RateScopeConfig, TimeoutsConfig, TlsConfig, UpstreamConfig, BODY_INSPECT_BYTES_MAX_DEFAULT,
};
pub use error::{ConfigError, StartError, TlsError};
pub use hooks::{Admission, Hooks, Overloaded, RateKeys, Verdict};
pub use record::{BodyPrefix, CallRecord, Outcome};
pub use server::{RunningGateway, ShutdownReport, StatsHandle};
pub use settings::{FailMode, Gateway, ShadowApi};
pub use stats::{GatewayStats, TargetHealth};
