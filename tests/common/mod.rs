//! Shared helpers for the integration tests: a real hub on 127.0.0.1:0, real WebSocket clients,
//! and receive helpers with deadlines (never sleeps).
#![allow(dead_code)]

use futures_util::{SinkExt, StreamExt};
use huddle::auth::{random_secret, Minter, SignKey, TokenAlgorithm};
use huddle::protocol::Role;
use huddle::{Config, Server};
use serde_json::{json, Value};
use std::time::Duration;
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

/// How long any single expected event may take before the test fails.
pub const DEADLINE: Duration = Duration::from_secs(10);

pub struct TestServer {
    pub server: Server,
    pub minter: Minter,
    pub url: String,
}

impl TestServer {
    pub fn token(&self, meeting: &str, sub: &str, name: &str, role: Role) -> String {
        self.minter
            .mint(meeting, sub, name, role, Duration::from_secs(600))
            .expect("mint")
    }

    /// Connects and completes hello/welcome as `sub` in `meeting`.
    pub async fn join(&self, meeting: &str, sub: &str, role: Role) -> Client {
        let token = self.token(meeting, sub, &format!("Name of {sub}"), role);
        let mut client = connect(&self.url).await;
        client.hello(&token).await;
        let welcome = client.recv_type("welcome").await;
        client.id = welcome["you"]["id"].as_u64().expect("welcome.you.id");
        client.welcome = welcome;
        client
    }
}

/// The request id `request` and `act` put on their frames.
const REQUEST_ID: u64 = 777;

/// A hub with an HS256 test key and default limits.
pub async fn start_server() -> TestServer {
    start_server_with(|_| {}).await
}

/// A hub with an HS256 test key and config changed by `tweak`.
pub async fn start_server_with(tweak: impl FnOnce(&mut Config)) -> TestServer {
    let secret = random_secret();
    let mut config = Config {
        listen: "127.0.0.1:0".parse().unwrap(),
        jwt_secret: Some(secret.clone()),
        jwt_issuer: "test-issuer".into(),
        jwt_audience: "test-audience".into(),
        // Tests join people in whatever order their scenario needs; waiting for the host (the
        // hub's default) has tests of its own that turn it on.
        wait_for_host: false,
        // The relay, moderation and mesh WebRTC tests signal browser to browser; SFU tests
        // (tests/sfu.rs) turn the hub's media on.
        media_mode: huddle::protocol::MediaMode::Mesh,
        ..Config::default()
    };
    tweak(&mut config);
    let minter = Minter::new(
        TokenAlgorithm::Hs256,
        SignKey::Secret(config.jwt_secret.clone().unwrap_or(secret).as_bytes()),
        &config.jwt_issuer,
        &config.jwt_audience,
    )
    .expect("minter");
    let server = Server::start(config).await.expect("server starts");
    let url = format!("ws://{}/v1/ws", server.local_addr());
    TestServer {
        server,
        minter,
        url,
    }
}

pub struct Client {
    pub ws: WebSocketStream<MaybeTlsStream<TcpStream>>,
    pub id: u64,
    pub welcome: Value,
}

/// Opens a WebSocket to `url` (no hello yet).
pub async fn connect(url: &str) -> Client {
    let (ws, _) = tokio::time::timeout(DEADLINE, tokio_tungstenite::connect_async(url))
        .await
        .expect("connect in time")
        .expect("connect");
    Client {
        ws,
        id: 0,
        welcome: Value::Null,
    }
}

/// What a client saw when the hub closed its socket.
#[derive(Debug)]
pub struct Closed {
    pub code: Option<u16>,
    /// Text frames received before the close.
    pub frames: Vec<Value>,
}

impl Client {
    pub async fn hello(&mut self, token: &str) {
        self.send(json!({"type": "hello", "protocol": 1, "token": token}))
            .await;
    }

    pub async fn send(&mut self, value: Value) {
        self.ws
            .send(Message::text(value.to_string()))
            .await
            .expect("send");
    }

    pub async fn send_raw(&mut self, message: Message) {
        self.ws.send(message).await.expect("send raw");
    }

    /// The next text frame as JSON, within the deadline.
    pub async fn recv(&mut self) -> Value {
        loop {
            let next = tokio::time::timeout(DEADLINE, self.ws.next())
                .await
                .unwrap_or_else(|_| panic!("client {}: no frame within {DEADLINE:?}", self.id));
            match next {
                Some(Ok(Message::Text(text))) => {
                    if std::env::var_os("HUDDLE_TEST_TRACE").is_some() {
                        eprintln!("client {} <- {}", self.id, &text[..text.len().min(300)]);
                    }
                    return serde_json::from_str(&text).expect("hub sends JSON");
                }
                Some(Ok(Message::Ping(_) | Message::Pong(_))) => continue,
                other => panic!("client {}: expected a text frame, got {other:?}", self.id),
            }
        }
    }

    /// Skips frames until one matches `pred`; fails at the deadline.
    pub async fn recv_until(&mut self, pred: impl Fn(&Value) -> bool) -> Value {
        let give_up = tokio::time::Instant::now() + DEADLINE;
        loop {
            let remaining = give_up.saturating_duration_since(tokio::time::Instant::now());
            let frame = tokio::time::timeout(remaining, self.recv())
                .await
                .unwrap_or_else(|_| panic!("client {}: expected frame never came", self.id));
            if pred(&frame) {
                return frame;
            }
        }
    }

    pub async fn recv_type(&mut self, kind: &str) -> Value {
        self.recv_until(|f| f["type"] == kind).await
    }

    /// Skips frames until `peer_joined` for `peer`.
    pub async fn wait_joined(&mut self, peer: u64) -> Value {
        self.recv_until(|f| f["type"] == "peer_joined" && f["peer"]["id"] == peer)
            .await
    }

    /// Sends `frame` with a request id and returns the hub's answer to it (`ack` or `error`).
    pub async fn request(&mut self, mut frame: Value) -> Value {
        frame["id"] = json!(REQUEST_ID);
        self.send(frame).await;
        self.recv_until(|f| f["ref"] == REQUEST_ID).await
    }

    /// Sends `frame` with a request id, checks that the hub acks it, and returns the frames that
    /// came before the ack.
    pub async fn act(&mut self, mut frame: Value) -> Vec<Value> {
        frame["id"] = json!(REQUEST_ID);
        self.send(frame.clone()).await;
        let mut before = Vec::new();
        loop {
            let f = self.recv().await;
            if f["ref"] == REQUEST_ID {
                assert_eq!(f["type"], "ack", "{frame} answered {f}");
                return before;
            }
            before.push(f);
        }
    }

    /// Reads until the hub closes the socket; returns the close code and frames seen before.
    pub async fn expect_close(&mut self) -> Closed {
        let mut frames = Vec::new();
        loop {
            let next = tokio::time::timeout(DEADLINE, self.ws.next())
                .await
                .unwrap_or_else(|_| panic!("client {}: socket not closed in time", self.id));
            match next {
                Some(Ok(Message::Text(text))) => {
                    frames.push(serde_json::from_str(&text).expect("JSON"))
                }
                Some(Ok(Message::Close(frame))) => {
                    return Closed {
                        code: frame.map(|f| u16::from(f.code)),
                        frames,
                    }
                }
                Some(Ok(_)) => {}
                Some(Err(e)) => {
                    if std::env::var_os("HUDDLE_TEST_TRACE").is_some() {
                        eprintln!("client {}: socket error {e}", self.id);
                    }
                    return Closed { code: None, frames };
                }
                None => return Closed { code: None, frames },
            }
        }
    }

    /// The network drops: the TCP connection goes away without a WebSocket close frame.
    pub fn drop_connection(self) {
        drop(self.ws);
    }

    /// A `hello` asking to resume a held seat.
    pub async fn hello_resume(
        &mut self,
        token: &str,
        resume_token: &str,
        room: &str,
        last_chat: u64,
    ) {
        self.send(json!({
            "type": "hello", "protocol": 1, "token": token,
            "resume": {"token": resume_token, "room": room, "last_chat": last_chat},
        }))
        .await;
    }

    pub async fn close(mut self) {
        let _ = self
            .ws
            .close(Some(tokio_tungstenite::tungstenite::protocol::CloseFrame {
                code: CloseCode::Normal,
                reason: "bye".into(),
            }))
            .await;
    }
}

/// A roster entry's role; absent means `participant` (the hub leaves the default out).
pub fn role_of(peer: &Value) -> &str {
    peer["role"].as_str().unwrap_or("participant")
}

/// Waits until the hub has no running meeting actor (everyone left and it stopped).
pub async fn until_no_meeting_runs(hub: &TestServer) {
    let give_up = tokio::time::Instant::now() + DEADLINE;
    while hub.server.meeting_count() > 0 {
        assert!(
            tokio::time::Instant::now() < give_up,
            "the meeting never stopped"
        );
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
}
