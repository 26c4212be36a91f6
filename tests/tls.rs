//! Built-in TLS: with `tls_cert` and `tls_key` the hub speaks wss:// (rustls) and a client that
//! trusts the certificate joins a meeting over it; plain ws:// to the same port gets nowhere.

mod common;

use common::*;
use futures_util::{SinkExt, StreamExt};
use huddle::protocol::Role;
use rustls_pki_types::{CertificateDer, ServerName};
use std::sync::Arc;
use tokio_rustls::rustls;
use tokio_tungstenite::tungstenite::Message;

#[tokio::test]
async fn a_client_joins_over_wss_and_plain_ws_is_refused() {
    let generated = rcgen::generate_simple_self_signed(vec!["localhost".into()]).unwrap();
    let dir = std::env::temp_dir().join(format!("huddle-tls-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let (cert, key) = (dir.join("cert.pem"), dir.join("key.pem"));
    std::fs::write(&cert, generated.cert.pem()).unwrap();
    std::fs::write(&key, generated.key_pair.serialize_pem()).unwrap();
    let hub = start_server_with(|c| {
        c.tls_cert = Some(cert.clone());
        c.tls_key = Some(key.clone());
    })
    .await;
    let _ = std::fs::remove_dir_all(&dir);
    let addr = hub.server.local_addr();

    let mut roots = rustls::RootCertStore::empty();
    roots
        .add(CertificateDer::from(generated.cert.der().to_vec()))
        .unwrap();
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    let connector = tokio_rustls::TlsConnector::from(Arc::new(config));
    let tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
    let tls = connector
        .connect(ServerName::try_from("localhost").unwrap(), tcp)
        .await
        .expect("tls handshake");
    let url = format!("wss://localhost:{}/v1/ws", addr.port());
    let (mut ws, _) = tokio_tungstenite::client_async(url, tls)
        .await
        .expect("websocket over tls");
    let token = hub.token("m", "secure", "S", Role::Participant);
    let hello = serde_json::json!({"type": "hello", "protocol": 1, "token": token});
    ws.send(Message::text(hello.to_string())).await.unwrap();
    let welcome = tokio::time::timeout(DEADLINE, async {
        loop {
            let frame = ws.next().await.unwrap().unwrap();
            let text = frame.to_text().unwrap_or("").to_owned();
            if text.contains("\"welcome\"") {
                return text;
            }
        }
    })
    .await
    .unwrap();
    assert!(welcome.contains("\"resume_token\""));

    // Plain ws:// to a TLS port: no WebSocket.
    let plain = tokio::time::timeout(
        DEADLINE,
        tokio_tungstenite::connect_async(format!("ws://{addr}/v1/ws")),
    )
    .await
    .expect("answered in time");
    assert!(plain.is_err());
}
