//! The real `huddle` binary, run as an operator would.

use std::process::Command;

#[test]
fn dev_mode_refuses_a_non_loopback_address_unless_asked() {
    let out = Command::new(env!("CARGO_BIN_EXE_huddle"))
        .args(["serve", "--dev", "--listen", "0.0.0.0:0"])
        .env_remove("HUDDLE_JWT_SECRET")
        .output()
        .expect("run huddle");
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("--dev-allow-remote"), "{stderr}");
    assert!(out.stdout.is_empty(), "no links printed");
}

/// SIGTERM drains: every connected client gets close 1001 (reconnect elsewhere) before the
/// process exits, and a half-sent HTTP request does not hold the shutdown up.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_closes_every_socket_with_1001_then_exits() {
    use futures_util::{SinkExt, StreamExt};
    use huddle::auth::{random_secret, Minter, SignKey, TokenAlgorithm};
    use huddle::protocol::Role;
    use std::process::Stdio;
    use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
    use tokio_tungstenite::tungstenite::Message;

    const DEADLINE: std::time::Duration = std::time::Duration::from_secs(20);
    let secret = random_secret();
    let mut hub = tokio::process::Command::new(env!("CARGO_BIN_EXE_huddle"))
        .args(["serve", "--dev", "--listen", "127.0.0.1:0"])
        .env("HUDDLE_JWT_SECRET", &secret)
        .env("HUDDLE_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("start huddle");
    // The dev links name the address it listens on.
    let mut lines = BufReader::new(hub.stdout.take().unwrap()).lines();
    let addr = tokio::time::timeout(DEADLINE, async {
        while let Some(line) = lines.next_line().await.unwrap() {
            if let Some(rest) = line.trim().strip_prefix("http://") {
                return rest.split('/').next().unwrap().to_owned();
            }
        }
        panic!("no dev link printed");
    })
    .await
    .unwrap();
    let minter = Minter::new(
        TokenAlgorithm::Hs256,
        SignKey::Secret(secret.as_bytes()),
        "huddle",
        "huddle",
    )
    .unwrap();
    let mut clients = Vec::new();
    for i in 0..500 {
        let role = if i == 0 {
            Role::Host
        } else {
            Role::Participant
        };
        let token = minter
            .mint(
                "drain",
                &format!("p{i}"),
                "P",
                role,
                std::time::Duration::from_secs(600),
            )
            .unwrap();
        let (mut ws, _) = tokio_tungstenite::connect_async(format!("ws://{addr}/v1/ws"))
            .await
            .unwrap();
        let hello = serde_json::json!({"type": "hello", "protocol": 1, "token": token});
        ws.send(Message::text(hello.to_string())).await.unwrap();
        loop {
            let frame = ws.next().await.unwrap().unwrap();
            if frame.to_text().unwrap_or("").contains("\"welcome\"") {
                break;
            }
        }
        clients.push(ws);
    }
    // Sockets still in the hello phase are closed with 1001 too, within the drain.
    for _ in 0..3 {
        let (silent, _) = tokio_tungstenite::connect_async(format!("ws://{addr}/v1/ws"))
            .await
            .unwrap();
        clients.push(silent);
    }
    let mut half = tokio::net::TcpStream::connect(&addr).await.unwrap();
    half.write_all(b"GET / HTTP/1.1\r\nHost: x\r\n")
        .await
        .unwrap();

    let pid = hub.id().unwrap().to_string();
    assert!(std::process::Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .unwrap()
        .success());
    for (i, mut ws) in clients.into_iter().enumerate() {
        let code = tokio::time::timeout(DEADLINE, async {
            while let Some(frame) = ws.next().await {
                match frame {
                    Ok(Message::Close(close)) => return close.map(|c| u16::from(c.code)),
                    Ok(_) => continue,
                    Err(_) => return None,
                }
            }
            None
        })
        .await
        .expect("closed in time");
        assert_eq!(code, Some(1001), "client {i} got its going-away close");
    }
    let status = tokio::time::timeout(DEADLINE, hub.wait())
        .await
        .expect("the hub exits")
        .unwrap();
    assert!(status.success(), "{status:?}");
}

/// `huddle token --api` mints a server API token (aud = api_audience, the scopes asked for) and
/// refuses unknown scopes.
#[test]
fn token_api_mints_an_api_token_and_refuses_unknown_scopes() {
    use base64::Engine;
    let secret = huddle::auth::random_secret();
    let run = |scope: &str| {
        Command::new(env!("CARGO_BIN_EXE_huddle"))
            .args([
                "token",
                "--api",
                "--sub",
                "clinic-backend",
                "--scope",
                scope,
            ])
            .env("HUDDLE_JWT_SECRET", &secret)
            .output()
            .expect("run huddle")
    };
    let bad = run("meetings:read everything");
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("everything"));
    let good = run("meetings:read moderation");
    assert!(
        good.status.success(),
        "{}",
        String::from_utf8_lossy(&good.stderr)
    );
    let token = String::from_utf8(good.stdout).unwrap();
    let payload = token.trim().split('.').nth(1).expect("a JWT");
    let claims: serde_json::Value = serde_json::from_slice(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(payload)
            .unwrap(),
    )
    .unwrap();
    assert_eq!(claims["aud"], "huddle-api");
    assert_eq!(claims["scope"], "meetings:read moderation");
    assert_eq!(claims["sub"], "clinic-backend");
    assert!(claims["jti"].as_str().is_some_and(|j| !j.is_empty()));
    assert!(claims.get("meeting").is_none() && claims.get("role").is_none());
}
