//! A WebSocket conversation through the gateway: the upgrade reaches the upstream, bytes flow
//! both ways, and the call is recorded when the tunnel closes.

mod common;

use apiwatch_gateway::Outcome;
use common::*;
use futures_util::{SinkExt, StreamExt};
use tokio::net::TcpListener;
use tokio_tungstenite::tungstenite::Message;

/// A WebSocket server that echoes every message.
async fn echo_server() -> std::net::SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            tokio::spawn(async move {
                let mut ws = tokio_tungstenite::accept_async(tcp).await.unwrap();
                while let Some(Ok(msg)) = ws.next().await {
                    if msg.is_close() {
                        break;
                    }
                    ws.send(msg).await.unwrap();
                }
            });
        }
    });
    addr
}

#[tokio::test]
async fn a_websocket_echo_goes_through() {
    let upstream = echo_server().await;
    let hooks = Recorder::new();
    let yaml = format!(
        "listeners: [{{address: '127.0.0.1:0'}}]\nupstreams: [{{name: ws, targets: ['http://{upstream}']}}]"
    );
    let gw = gateway(&yaml, hooks.clone()).await;
    let url = format!("ws://{}/chat?room=1", gw.local_addrs()[0]);
    let (mut ws, response) = tokio_tungstenite::connect_async(url).await.unwrap();
    assert_eq!(response.status(), 101);
    assert!(response.headers().contains_key("x-request-id"));
    for text in ["hello", "through", "the gateway"] {
        ws.send(Message::text(text)).await.unwrap();
        assert_eq!(ws.next().await.unwrap().unwrap(), Message::text(text));
    }
    ws.send(Message::binary(vec![0u8, 1, 2, 255])).await.unwrap();
    assert_eq!(ws.next().await.unwrap().unwrap(), Message::binary(vec![0u8, 1, 2, 255]));
    ws.close(None).await.unwrap();
    drop(ws);

    let r = &hooks.wait_for(1).await[0];
    assert_eq!(r.outcome, Outcome::WebSocket);
    assert_eq!(r.status, 101);
    assert_eq!(r.path, "/chat");
    assert!(r.request_bytes > 0 && r.response_bytes > 0);
    assert_eq!(gw.stats().calls(Outcome::WebSocket), 1);
}
