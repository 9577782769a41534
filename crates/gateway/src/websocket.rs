//! Protocol upgrades (WebSocket over HTTP/1.1): once the upstream answers 101, both
//! connections are taken over from hyper and bytes are copied both ways until either side
//! closes. The call's record is handed over when the tunnel closes, with the bytes each way.

use crate::body::{empty, ResponseBody, Tap};
use crate::context::Context;
use crate::proxy::Engine;
use crate::record::Outcome;
use http::Response;
use hyper::body::Incoming;
use hyper::upgrade::OnUpgrade;
use hyper_util::rt::TokioIo;
use std::sync::Arc;

/// Answers the client's upgrade with the upstream's 101 and splices the two connections.
pub(crate) fn tunnel(
    engine: Arc<Engine>,
    mut ctx: Context,
    client_upgrade: OnUpgrade,
    mut response: Response<Incoming>,
) -> Response<ResponseBody> {
    let upstream_upgrade = hyper::upgrade::on(&mut response);
    let (mut parts, _) = response.into_parts();
    ctx.outcome = Outcome::WebSocket;
    engine.response_filter(&mut ctx, &mut parts);
    tokio::spawn(async move {
        let (mut up, mut down) = (0, 0);
        match tokio::try_join!(client_upgrade, upstream_upgrade) {
            Ok((client, upstream)) => {
                let mut client = TokioIo::new(client);
                let mut upstream = TokioIo::new(upstream);
                match tokio::io::copy_bidirectional(&mut client, &mut upstream).await {
                    Ok((to_upstream, to_client)) => (up, down) = (to_upstream, to_client),
                    Err(e) => tracing::debug!(error = %e, "tunnel closed with an error"),
                }
            }
            Err(e) => tracing::debug!(error = %e, "upgrade failed"),
        }
        engine.logging(ctx, &Tap::counted(up), &Tap::counted(down));
    });
    Response::from_parts(parts, empty())
}
