//! `GET /v1/stream`: server-sent events of new and changed alerts, incidents and decisions,
//! as they happen. Each message's event name is its kind; its data is the item's JSON. A
//! subscriber that falls more than `STREAM_BUFFER_MAX` messages behind gets a `lagged` event
//! saying how many it missed (it should re-read the lists), and the stream goes on.

use super::auth::{require, Need};
use super::{ApiState, Peer};
use axum::extract::{Query, State};
use axum::http::HeaderMap;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use std::convert::Infallible;
use std::time::Duration;
use tokio::sync::broadcast::error::RecvError;

#[derive(Debug, Default, serde::Deserialize)]
pub struct StreamQuery {
    /// `alert,incident`: only these kinds (all by default).
    kinds: Option<String>,
}

pub async fn sse(
    State(st): State<ApiState>,
    peer: Peer,
    headers: HeaderMap,
    Query(q): Query<StreamQuery>,
) -> Response {
    if let Err(r) = require(&st, &headers, peer.0, Need::Read).await {
        return r;
    }
    let kinds: Option<Vec<String>> =
        q.kinds.map(|k| k.split(',').map(|s| s.trim().to_string()).collect());
    let rx = st.responder.stream.subscribe();
    let stopping = st.stopping.clone();
    let state = (rx, kinds, stopping);
    let events = futures_util::stream::unfold(state, |(mut rx, kinds, mut stopping)| async move {
        loop {
            let received = tokio::select! {
                r = rx.recv() => r,
                _ = stopping.wait_for(|s| *s) => return None,
            };
            let ev = match received {
                Ok(item) => {
                    if kinds.as_ref().is_some_and(|k| !k.iter().any(|x| x == item.kind)) {
                        continue;
                    }
                    Event::default().event(item.kind).data(item.data.to_string())
                }
                Err(RecvError::Lagged(n)) => {
                    Event::default().event("lagged").data(format!("{{\"missed\":{n}}}"))
                }
                Err(RecvError::Closed) => return None,
            };
            return Some((Ok::<_, Infallible>(ev), (rx, kinds, stopping)));
        }
    });
    Sse::new(events).keep_alive(KeepAlive::new().interval(Duration::from_secs(15))).into_response()
}
