//! The reference relay: the least a WebSocket signal relay can do, as the floor Huddle's per-signal
//! cost is measured against (`loadtest/callgrind-relay.sh reference …`). tokio-tungstenite with
//! a 4 KiB read buffer and TCP_NODELAY, one task per socket, a DashMap from id to the socket's
//! queue, and the signal's `data` forwarded as raw JSON text. It speaks the subset of the
//! matchbox protocol the load generator's `--protocol matchbox` uses: `{"IdAssigned": id}` on
//! connect, `{"Signal": {"receiver", "data"}}` in, `{"Signal": {"sender", "data"}}` out. No auth,
//! rooms, rate limits or anything else a real hub must do.
//! Usage: reference-relay [ADDR]   (default 127.0.0.1:3537)

use dashmap::DashMap;
use futures_util::{SinkExt, StreamExt};
use serde::Deserialize;
use serde_json::value::RawValue;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use tokio::net::TcpListener;
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::Message;

#[derive(Deserialize)]
struct Frame<'a> {
    #[serde(rename = "Signal", borrow)]
    signal: Inbound<'a>,
}

#[derive(Deserialize)]
struct Inbound<'a> {
    receiver: &'a str,
    #[serde(borrow)]
    data: &'a RawValue,
}

type Peers = DashMap<u64, mpsc::UnboundedSender<Message>>;

#[tokio::main]
async fn main() {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:3537".to_owned());
    let listener = TcpListener::bind(&addr).await.expect("bind");
    let peers: Arc<Peers> = Arc::default();
    let next = AtomicU64::new(1);
    loop {
        let Ok((tcp, _)) = listener.accept().await else {
            continue;
        };
        let _ = tcp.set_nodelay(true);
        let id = next.fetch_add(1, Ordering::Relaxed);
        tokio::spawn(serve(tcp, id, Arc::clone(&peers)));
    }
}

async fn serve(tcp: tokio::net::TcpStream, id: u64, peers: Arc<Peers>) {
    let config = WebSocketConfig::default().read_buffer_size(4096);
    let Ok(ws) = tokio_tungstenite::accept_async_with_config(tcp, Some(config)).await else {
        return;
    };
    let (mut sink, mut stream) = ws.split();
    let (tx, mut rx) = mpsc::unbounded_channel::<Message>();
    let _ = tx.send(Message::text(format!(r#"{{"IdAssigned":"{id}"}}"#)));
    peers.insert(id, tx);
    let writer = tokio::spawn(async move {
        while let Some(message) = rx.recv().await {
            if sink.send(message).await.is_err() {
                break;
            }
        }
    });
    while let Some(Ok(message)) = stream.next().await {
        let Message::Text(text) = message else {
            continue;
        };
        let Ok(frame) = serde_json::from_str::<Frame>(&text) else {
            continue;
        };
        let Ok(to) = frame.signal.receiver.parse::<u64>() else {
            continue;
        };
        if let Some(peer) = peers.get(&to) {
            let out = format!(
                r#"{{"Signal":{{"sender":"{id}","data":{}}}}}"#,
                frame.signal.data.get()
            );
            let _ = peer.send(Message::text(out));
        }
    }
    peers.remove(&id);
    writer.abort();
}
