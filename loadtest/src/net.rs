//! Connections: join a Huddle meeting or a matchbox room, and read the hub's RSS and CPU from
//! /proc.

use crate::Target;
use futures_util::{SinkExt, StreamExt};
use huddle::protocol::Role;
use serde_json::{json, Value};
use std::time::{Duration, Instant};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

pub type Ws = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// A joined client: its socket, its id, and how long the join took.
pub struct Joined {
    pub ws: Ws,
    /// Huddle peer id (as a string) or matchbox UUID.
    pub id: String,
    pub welcome: Value,
    pub join_time: Duration,
}

/// Time allowed for one join before it counts as failed.
pub const JOIN_TIMEOUT: Duration = Duration::from_secs(30);

/// Connects and joins `meeting` (Huddle) or room `meeting` (matchbox).
pub async fn join(target: &Target, meeting: &str, sub: &str, role: Role) -> Result<Joined, String> {
    tokio::time::timeout(JOIN_TIMEOUT, join_inner(target, meeting, sub, role))
        .await
        .map_err(|_| "join timed out".to_owned())?
}

async fn join_inner(
    target: &Target,
    meeting: &str,
    sub: &str,
    role: Role,
) -> Result<Joined, String> {
    let started = Instant::now();
    match target.protocol {
        crate::Protocol::Huddle => {
            let token = target
                .minter
                .mint(meeting, sub, sub, role, Duration::from_secs(3600))?;
            let (mut ws, _) = connect(target.url.as_str())
                .await
                .map_err(|e| e.to_string())?;
            let hello = json!({"type": "hello", "protocol": 1, "token": token});
            ws.send(Message::text(hello.to_string()))
                .await
                .map_err(|e| e.to_string())?;
            loop {
                match ws.next().await {
                    Some(Ok(Message::Text(text))) => {
                        let v: Value = serde_json::from_str(&text).map_err(|e| e.to_string())?;
                        if v["type"] == "welcome" {
                            let id = v["you"]["id"].to_string();
                            return Ok(Joined {
                                ws,
                                id,
                                welcome: v,
                                join_time: started.elapsed(),
                            });
                        }
                        if v["type"] == "error" {
                            return Err(format!("refused: {}", v["code"]));
                        }
                    }
                    // The hub's close says why (a hello timeout, 4108 `moved`, …).
                    Some(Ok(Message::Close(frame))) => {
                        return Err(format!("closed during join: {frame:?}"));
                    }
                    Some(Ok(_)) => {}
                    other => return Err(format!("socket ended during join: {other:?}")),
                }
            }
        }
        crate::Protocol::Matchbox => {
            let url = format!("{}/{}", target.url.trim_end_matches('/'), meeting);
            let (mut ws, _) = connect(url.as_str()).await.map_err(|e| e.to_string())?;
            loop {
                match ws.next().await {
                    Some(Ok(Message::Text(text))) => {
                        let v: Value = serde_json::from_str(&text).map_err(|e| e.to_string())?;
                        if let Some(id) = v.get("IdAssigned").and_then(|i| i.as_str()) {
                            let id = id.to_owned();
                            return Ok(Joined {
                                ws,
                                id,
                                welcome: v,
                                join_time: started.elapsed(),
                            });
                        }
                    }
                    Some(Ok(_)) => {}
                    other => return Err(format!("socket ended during join: {other:?}")),
                }
            }
        }
    }
}

/// Opens a WebSocket with small buffers and Nagle off: the generator holds tens of thousands of
/// sockets, and tungstenite's default 128 KiB read buffer each would cost it gigabytes and page
/// faults that show up as latency.
async fn connect(
    url: &str,
) -> Result<
    (
        Ws,
        tokio_tungstenite::tungstenite::handshake::client::Response,
    ),
    tokio_tungstenite::tungstenite::Error,
> {
    let config = tokio_tungstenite::tungstenite::protocol::WebSocketConfig::default()
        .read_buffer_size(8 * 1024)
        .write_buffer_size(8 * 1024);
    tokio_tungstenite::connect_async_with_config(url, Some(config), true).await
}

/// A signal frame addressed to `to` carrying `data`, in the target's protocol.
pub fn signal_frame(protocol: crate::Protocol, to: &str, data: &str) -> String {
    match protocol {
        crate::Protocol::Huddle => format!(r#"{{"type":"signal","to":{to},"data":{data}}}"#),
        crate::Protocol::Matchbox => format!(r#"{{"Signal":{{"receiver":"{to}","data":{data}}}}}"#),
    }
}

/// Resident memory of a process, KiB.
pub fn rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find(|l| l.starts_with("VmRSS:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
}

/// CPU time a process has used (user + system), in seconds.
pub fn cpu_seconds(pid: u32) -> Option<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name may contain spaces; fields resume after the last ')'.
    let rest = &stat[stat.rfind(')')? + 2..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let utime: f64 = fields.get(11)?.parse().ok()?;
    let stime: f64 = fields.get(12)?.parse().ok()?;
    // Linux reports clock ticks of 1/100 s (USER_HZ) on every common architecture.
    Some((utime + stime) / 100.0)
}

/// Nanoseconds since a process-wide epoch, for one-way latency within this process.
pub fn now_nanos() -> u64 {
    static START: std::sync::OnceLock<Instant> = std::sync::OnceLock::new();
    START.get_or_init(Instant::now).elapsed().as_nanos() as u64
}
