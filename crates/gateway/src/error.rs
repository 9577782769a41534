//! Errors of the gateway: configuration problems (each with its key path), and what can stop
//! the gateway from starting or reloading its certificates.

use std::net::SocketAddr;
use std::path::PathBuf;

/// One configuration problem, at its key path (`upstreams[1].targets[0]`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{path}: {message}")]
pub struct ConfigError {
    /// Where in the configuration (`rate_limits[2].per_minute`).
    pub path: String,
    /// What is wrong there.
    pub message: String,
}

impl ConfigError {
    pub(crate) fn new(path: impl Into<String>, message: impl Into<String>) -> Self {
        ConfigError { path: path.into(), message: message.into() }
    }
}

/// A certificate or key that could not be loaded. Never shows key material: only file names.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    /// A file could not be read, or held no PEM certificate.
    #[error("{key_path}: cannot read certificates from {file}: {reason}")]
    Certificates { key_path: String, file: PathBuf, reason: String },
    /// The key file holds no readable private key.
    #[error("{key_path}: {file} holds no readable private key (PEM)")]
    Key { key_path: String, file: PathBuf },
    /// rustls refused the pair (the key does not match the certificate, or is unsupported).
    #[error("{key_path}: the certificate and key do not go together: {reason}")]
    Pair { key_path: String, reason: String },
}

/// Why the gateway could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// A listener's address could not be bound.
    #[error("listeners[{index}]: cannot listen on {address}: {source}")]
    Bind {
        index: usize,
        address: SocketAddr,
        #[source]
        source: std::io::Error,
    },
    /// A listener's certificate or key could not be loaded.
    #[error(transparent)]
    Tls(#[from] TlsError),
    /// A worker thread or its runtime could not be created.
    #[error("cannot start a gateway worker thread: {0}")]
    Worker(#[source] std::io::Error),
}
