//! TLS termination: a listener's certificate and key (PEM), reloaded when the files change.
//! A handshake takes whichever configuration is current when it starts, so connections
//! already open keep theirs and nothing is dropped.

use crate::error::TlsError;
use crate::settings::TlsFiles;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::ServerConfig;
use std::sync::{Arc, Mutex, RwLock};
use std::time::SystemTime;

/// What identifies a version of the files: modification times and lengths.
type Stamp = [(Option<SystemTime>, u64); 2];

/// A listener's current TLS configuration.
pub(crate) struct TlsSource {
    files: TlsFiles,
    current: RwLock<Arc<ServerConfig>>,
    stamp: Mutex<Stamp>,
}

impl TlsSource {
    pub fn load(files: &TlsFiles) -> Result<Self, TlsError> {
        let stamp = stamp(files);
        let config = server_config(files)?;
        Ok(TlsSource {
            files: files.clone(),
            current: RwLock::new(config),
            stamp: Mutex::new(stamp),
        })
    }

    /// The configuration for a new handshake.
    pub fn current(&self) -> Arc<ServerConfig> {
        self.current.read().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// Reloads if the files changed since the last load; `Ok(true)` when it did.
    pub fn reload_if_changed(&self) -> Result<bool, TlsError> {
        let now = stamp(&self.files);
        if *self.stamp.lock().unwrap_or_else(|p| p.into_inner()) == now {
            return Ok(false);
        }
        self.reload_with(now).map(|()| true)
    }

    /// Reloads unconditionally.
    pub fn reload(&self) -> Result<(), TlsError> {
        self.reload_with(stamp(&self.files))
    }

    fn reload_with(&self, stamp: Stamp) -> Result<(), TlsError> {
        // Record the stamp even on failure: a half-written file is retried when it changes
        // again, not every few seconds with the same error.
        *self.stamp.lock().unwrap_or_else(|p| p.into_inner()) = stamp;
        let config = server_config(&self.files)?;
        *self.current.write().unwrap_or_else(|p| p.into_inner()) = config;
        Ok(())
    }
}

fn stamp(files: &TlsFiles) -> Stamp {
    let one = |p: &std::path::Path| match std::fs::metadata(p) {
        Ok(m) => (m.modified().ok(), m.len()),
        Err(_) => (None, 0),
    };
    [one(&files.cert), one(&files.key)]
}

/// Reads the certificate chain and key into a server configuration (ring provider; ALPN h2
/// then HTTP/1.1).
fn server_config(files: &TlsFiles) -> Result<Arc<ServerConfig>, TlsError> {
    let certs_error = |reason: String| TlsError::Certificates {
        key_path: format!("{}.cert", files.key_path),
        file: files.cert.clone(),
        reason,
    };
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(&files.cert)
        .map_err(|e| certs_error(e.to_string()))?
        .collect::<Result<_, _>>()
        .map_err(|e| certs_error(e.to_string()))?;
    if certs.is_empty() {
        return Err(certs_error("no certificate in the file".into()));
    }
    // The error never shows key bytes: only the file name.
    let key = PrivateKeyDer::from_pem_file(&files.key).map_err(|_| TlsError::Key {
        key_path: format!("{}.key", files.key_path),
        file: files.key.clone(),
    })?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let pair_error = |e: rustls::Error| TlsError::Pair {
        key_path: files.key_path.clone(),
        reason: e.to_string(),
    };
    let mut config = ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(pair_error)?
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .map_err(pair_error)?;
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}
