//! The network listeners: the HTTP server (health, metrics, ingest) and the syslog sockets.
//! They run on the service's tokio runtime and stop on `shutdown`, which lets requests in
//! flight finish (an ingest request waits for its commit).

use super::feed::Feed;
use super::http::{self, HttpState, IngestSource};
use super::metrics::Metrics;
use crate::config::live::{LiveSettings, SourceKind};
use crossbeam_channel::Sender;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use tokio::sync::watch;
use tokio::task::JoinHandle;

pub struct Network {
    stop: watch::Sender<bool>,
    tasks: Vec<JoinHandle<()>>,
}

impl Network {
    pub async fn start(
        live: &LiveSettings,
        feed: Sender<Feed>,
        metrics: Arc<Metrics>,
        ready: Arc<AtomicBool>,
        search: http::SearchAccess,
        mut api: super::api::ApiState,
    ) -> anyhow::Result<Network> {
        let (stop, stopped) = watch::channel(false);
        api.stopping = stopped.clone();
        let mut tasks = Vec::new();
        let ingest: Vec<IngestSource> = live
            .sources
            .iter()
            .enumerate()
            .filter_map(|(index, s)| match &s.kind {
                SourceKind::Http { token, max_body_bytes } => Some(IngestSource {
                    index,
                    name: s.name.clone(),
                    token: token.0.clone(),
                    max_body_bytes: *max_body_bytes,
                }),
                _ => None,
            })
            .collect();
        if !ingest.is_empty() && live.listen.is_none() {
            anyhow::bail!("an http source needs `listen` (the address the HTTP server binds)");
        }
        if let Some(addr) = live.listen {
            // Read before binding: a bad certificate stops the start, not the first client.
            let tls = live.tls.as_ref().map(super::serve::tls_config).transpose()?;
            let listener = tokio::net::TcpListener::bind(addr)
                .await
                .map_err(|e| anyhow::anyhow!("cannot listen on {addr}: {e}"))?;
            tracing::info!(
                %addr,
                tls = tls.is_some(),
                "HTTP: /health, /metrics, /v1 (API, see /v1/openapi.json){}",
                if ingest.is_empty() { "" } else { ", /v1/ingest" },
            );
            let state = HttpState {
                metrics: Arc::clone(&metrics),
                feed: feed.clone(),
                ingest: Arc::new(ingest),
                ready,
                search: Arc::new(search),
                api: api.clone(),
            };
            // Every change on the port, ingest included, is refused without its CSRF token
            // when a session cookie alone authenticates it.
            let guard =
                axum::middleware::from_fn_with_state(api.clone(), super::api::session::csrf_guard);
            let app = http::router(state)
                .merge(super::api::router(api))
                .merge(super::dashboard::router())
                .layer(guard);
            tasks.push(tokio::spawn(super::serve::serve(listener, app, tls, stopped.clone())));
        }
        for (index, s) in live.sources.iter().enumerate() {
            if let SourceKind::Syslog { udp, tcp } = &s.kind {
                if let Some(a) = udp {
                    tasks.push(
                        super::syslog::udp(
                            *a,
                            index,
                            s.name.clone(),
                            feed.clone(),
                            Arc::clone(&metrics),
                            stopped.clone(),
                        )
                        .await?,
                    );
                }
                if let Some(a) = tcp {
                    tasks.push(
                        super::syslog::tcp(
                            *a,
                            index,
                            s.name.clone(),
                            feed.clone(),
                            Arc::clone(&metrics),
                            stopped.clone(),
                        )
                        .await?,
                    );
                }
            }
        }
        drop(feed);
        Ok(Network { stop, tasks })
    }

    /// Stops accepting, lets what is in flight finish, and drops every queue sender held.
    pub async fn shutdown(self) {
        let _ = self.stop.send(true);
        for t in self.tasks {
            let _ = t.await;
        }
    }
}
