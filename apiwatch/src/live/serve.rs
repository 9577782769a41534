//! Serving the HTTP router: plain HTTP, or HTTPS with rustls when `api.tls` names a
//! certificate and key. Both give handlers the peer address (the audit trail records it) and
//! stop gracefully: no new connections, requests in flight finish.

use crate::config::live::TlsFiles;
use anyhow::Context;
use axum::Router;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use hyper_util::service::TowerToHyperService;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::sync::watch;

/// How long a TLS handshake may take before the connection is dropped (a client that opens
/// connections and never speaks must not hold tasks).
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
/// How long requests in flight get to finish at shutdown.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(30);

/// Reads the certificate chain and key (PEM) into a server configuration.
pub fn tls_config(files: &TlsFiles) -> anyhow::Result<Arc<rustls::ServerConfig>> {
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(&files.cert)
        .with_context(|| format!("api.tls.cert: cannot read {}", files.cert.display()))?
        .collect::<Result<_, _>>()
        .with_context(|| {
            format!("api.tls.cert: {} is not PEM certificates", files.cert.display())
        })?;
    if certs.is_empty() {
        anyhow::bail!("api.tls.cert: {} holds no certificate", files.cert.display());
    }
    // The error never shows key bytes: only the file name.
    let key = PrivateKeyDer::from_pem_file(&files.key).map_err(|_| {
        anyhow::anyhow!("api.tls.key: {} holds no readable private key (PEM)", files.key.display())
    })?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .context("TLS protocol versions")?
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .context("api.tls: the certificate and key do not go together")?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}

/// Serves `app` on `listener` until `stop` turns true.
pub async fn serve(
    listener: TcpListener,
    app: Router,
    tls: Option<Arc<rustls::ServerConfig>>,
    mut stop: watch::Receiver<bool>,
) {
    let Some(tls) = tls else {
        let service = app.into_make_service_with_connect_info::<SocketAddr>();
        let shutdown = async move {
            let _ = stop.wait_for(|s| *s).await;
        };
        if let Err(e) = axum::serve(listener, service).with_graceful_shutdown(shutdown).await {
            tracing::error!(error = %e, "HTTP server");
        }
        return;
    };
    let acceptor = tokio_rustls::TlsAcceptor::from(tls);
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    loop {
        let accepted = tokio::select! {
            r = listener.accept() => Some(r),
            changed = stop.changed() => match changed {
                Ok(()) => None,
                // The sender is gone: nobody can ask any more, so stop.
                Err(_) => break,
            },
        };
        let (tcp, peer) = match accepted {
            None if *stop.borrow() => break,
            None => continue,
            Some(Ok(c)) => c,
            Some(Err(e)) => {
                tracing::warn!(error = %e, "HTTPS accept");
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let acceptor = acceptor.clone();
        let app = app.clone().layer(axum::Extension(axum::extract::ConnectInfo(peer)));
        let watcher = graceful.watcher();
        tokio::spawn(async move {
            let stream = match tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(tcp)).await {
                Ok(Ok(s)) => s,
                Ok(Err(e)) => {
                    tracing::debug!(%peer, error = %e, "TLS handshake failed");
                    return;
                }
                Err(_) => return,
            };
            let service = TowerToHyperService::new(app);
            let builder = auto::Builder::new(TokioExecutor::new());
            let conn = builder.serve_connection_with_upgrades(TokioIo::new(stream), service);
            if let Err(e) = watcher.watch(conn.into_owned()).await {
                tracing::debug!(%peer, error = %e, "HTTPS connection");
            }
        });
    }
    if tokio::time::timeout(DRAIN_TIMEOUT, graceful.shutdown()).await.is_err() {
        tracing::warn!("HTTPS: requests still in flight at shutdown were cut");
    }
}
