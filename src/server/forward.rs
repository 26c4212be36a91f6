//! Cluster mode: a client whose meeting another node holds is forwarded there over a WebSocket
//! of our own, frame for frame both ways, close codes included. The owner serves it as any
//! connection (its hello, its rate limits, its seat); this node keeps the client's keepalive.
//!
//! Node to node rather than over Redis pub/sub: one hop instead of two, frames stay in order and
//! under TCP's backpressure, and Redis carries only leases and records, not every signal. The
//! owner knows the connection is forwarded by a header only nodes can make (an HMAC of the
//! node's name with the cluster secret), and then takes the client's address from
//! `X-Forwarded-For`.
//!
//! Server API requests about a meeting another node holds go to it the same way, as HTTP
//! ([`api`]): the owner's actor carries them out, in the meeting's order, as on one node.

use super::connection::{close_message, Transport, FORWARDED_HEADER};
use super::AppState;
use crate::cluster::Cluster;
use crate::protocol::CloseCode;
use futures_util::{SinkExt, StreamExt};
use std::time::Instant;
use tokio::time::{interval_at, timeout, MissedTickBehavior};
use tokio_tungstenite::WebSocketStream;
use tungstenite::client::IntoClientRequest;
use tungstenite::protocol::WebSocketConfig;
use tungstenite::Message;

/// Relays between the client on `ws` and the meeting's owner at `owner` (`host:port`), starting
/// with the client's `hello`, until either side closes; the other side gets the same close.
/// False, with nothing said to the client, when the owner could not be reached at all (it may
/// have just died: the caller asks again who owns the meeting).
pub(super) async fn forward<S: Transport>(
    ws: &mut WebSocketStream<S>,
    state: &AppState,
    cluster: &Cluster,
    owner: &str,
    hello: String,
    client: std::net::IpAddr,
) -> bool {
    let Some(mut upstream) = connect(cluster, owner, client).await else {
        return false;
    };
    if upstream.send(Message::text(hello)).await.is_err() {
        return false;
    }
    let metrics = state.directory.metrics();
    let ping_every = state.config.ping_interval();
    let idle_timeout = state.config.idle_timeout();
    let mut ping = interval_at(tokio::time::Instant::now() + ping_every, ping_every);
    ping.set_missed_tick_behavior(MissedTickBehavior::Delay);
    let mut last_heard = Instant::now();
    loop {
        tokio::select! {
            frame = ws.next() => {
                last_heard = Instant::now();
                match frame {
                    Some(Ok(Message::Text(text))) => {
                        metrics.frame_forwarded();
                        if upstream.send(Message::Text(text)).await.is_err() {
                            close(ws, CloseCode::Moved.code(), "moved").await;
                            return true;
                        }
                    }
                    Some(Ok(Message::Binary(data))) => {
                        let _ = upstream.send(Message::Binary(data)).await;
                    }
                    Some(Ok(Message::Ping(_) | Message::Pong(_) | Message::Frame(_))) => {}
                    Some(Ok(Message::Close(frame))) => {
                        let _ = upstream.send(Message::Close(frame)).await;
                        return true;
                    }
                    // The client's network dropped: the owner holds the seat for a resume.
                    None | Some(Err(_)) => {
                        let _ = upstream.send(close_message(CloseCode::Reconnecting.code(), "reconnecting")).await;
                        return true;
                    }
                }
            }
            frame = upstream.next() => match frame {
                Some(Ok(Message::Text(text))) => {
                    metrics.frame_forwarded();
                    let sent = timeout(crate::limits::WRITE_TIMEOUT, ws.send(Message::Text(text))).await;
                    if !matches!(sent, Ok(Ok(()))) {
                        let _ = upstream.send(close_message(CloseCode::Reconnecting.code(), "reconnecting")).await;
                        return true;
                    }
                }
                Some(Ok(Message::Close(frame))) => {
                    let _ = timeout(crate::limits::WRITE_TIMEOUT, ws.send(Message::Close(frame))).await;
                    return true;
                }
                Some(Ok(_)) => {}
                // The owner is gone (killed, or its connection broke): the client resumes on
                // whichever node holds the meeting next.
                None | Some(Err(_)) => {
                    close(ws, CloseCode::Moved.code(), "moved").await;
                    return true;
                }
            },
            _ = ping.tick() => {
                if last_heard.elapsed() >= idle_timeout {
                    let _ = upstream.send(close_message(CloseCode::Reconnecting.code(), "reconnecting")).await;
                    close(ws, CloseCode::PingTimeout.code(), CloseCode::PingTimeout.reason()).await;
                    return true;
                }
                let _ = timeout(crate::limits::WRITE_TIMEOUT, ws.send(Message::Ping(Default::default()))).await;
            }
        }
    }
}

async fn connect(
    cluster: &Cluster,
    owner: &str,
    client: std::net::IpAddr,
) -> Option<WebSocketStream<tokio::net::TcpStream>> {
    let mut request = format!("ws://{owner}/v1/ws").into_client_request().ok()?;
    let headers = request.headers_mut();
    headers.insert(FORWARDED_HEADER, cluster.proof().parse().ok()?);
    headers.insert("x-forwarded-for", client.to_string().parse().ok()?);
    // A paused owner still accepts TCP connections (the kernel does) but never answers the
    // handshake: give up soon and ask Redis again, rather than hold the client.
    let patience = cluster.lease() / 3;
    let tcp = timeout(patience, tokio::net::TcpStream::connect(owner))
        .await
        .ok()?
        .ok()?;
    let _ = tcp.set_nodelay(true);
    let config = WebSocketConfig::default()
        .read_buffer_size(crate::limits::READ_BUFFER_BYTES)
        .max_message_size(Some(crate::limits::HARD_FRAME_BYTES))
        .max_frame_size(Some(crate::limits::HARD_FRAME_BYTES));
    let (upstream, _) = timeout(
        patience,
        tokio_tungstenite::client_async_with_config(request, tcp, Some(config)),
    )
    .await
    .ok()?
    .ok()?;
    Some(upstream)
}

async fn close<S: Transport>(ws: &mut WebSocketStream<S>, code: u16, reason: &'static str) {
    let _ = timeout(
        crate::limits::WRITE_TIMEOUT / 10,
        ws.send(close_message(code, reason)),
    )
    .await;
}

/// Sends a server API request on to the meeting's owner at `owner` and its answer back, bodies
/// streamed both ways (the owner checks the token, the scopes and the sizes, as for any
/// request). The node header tells the owner to serve it, never to send it on again.
pub(super) async fn api(
    cluster: &Cluster,
    owner: &str,
    request: axum::extract::Request,
) -> Result<axum::response::Response, String> {
    use axum::http::header;
    let (parts, body) = request.into_parts();
    let path = parts.uri.path_and_query().map_or("/", |p| p.as_str());
    let mut out = axum::http::Request::builder()
        .method(parts.method)
        .uri(path);
    for (name, value) in &parts.headers {
        if name != header::HOST && name != header::CONNECTION && name.as_str() != FORWARDED_HEADER {
            out = out.header(name, value);
        }
    }
    let request = out
        .header(header::HOST, owner)
        .header(FORWARDED_HEADER, cluster.proof())
        .body(body)
        .map_err(|e| e.to_string())?;
    let patience = cluster.lease();
    let tcp = timeout(patience, tokio::net::TcpStream::connect(owner))
        .await
        .map_err(|_| "connect timed out".to_owned())?
        .map_err(|e| e.to_string())?;
    let response = timeout(patience, crate::webhooks::exchange(tcp, request))
        .await
        .map_err(|_| "the owner did not answer".to_owned())??;
    Ok(response.map(axum::body::Body::new))
}
