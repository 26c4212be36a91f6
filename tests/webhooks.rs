//! Webhooks to a real HTTP receiver on 127.0.0.1: every delivery verifies with the published
//! `standardwebhooks` crate, a 500 is retried under the same `webhook-id`, and after
//! deduplication by that id each meeting's events arrive in order (`seq` 1, 2, 3, …).

mod common;

use axum::http::{HeaderMap, StatusCode};
use base64::Engine;
use common::*;
use huddle::protocol::Role;
use serde_json::Value;
use std::sync::{Arc, Mutex};
use std::time::Duration;

#[derive(Default)]
struct Received {
    /// (headers, body) of every request, in arrival order.
    requests: Vec<(HeaderMap, Vec<u8>)>,
    /// Answer 500 to this many requests first.
    fail_first: usize,
}

async fn receiver(fail_first: usize) -> (String, Arc<Mutex<Received>>) {
    let received = Arc::new(Mutex::new(Received {
        fail_first,
        ..Received::default()
    }));
    let state = Arc::clone(&received);
    let app = axum::Router::new().route(
        "/hook",
        axum::routing::post(move |headers: HeaderMap, body: axum::body::Bytes| {
            let state = Arc::clone(&state);
            async move {
                let mut r = state.lock().unwrap();
                r.requests.push((headers, body.to_vec()));
                if r.requests.len() <= r.fail_first {
                    StatusCode::INTERNAL_SERVER_ERROR
                } else {
                    StatusCode::NO_CONTENT
                }
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    (url, received)
}

fn secret() -> String {
    let key: [u8; 32] = rand::random();
    format!(
        "whsec_{}",
        base64::engine::general_purpose::STANDARD.encode(key)
    )
}

#[tokio::test]
async fn deliveries_are_signed_retried_under_one_id_and_in_order_per_meeting() {
    let (url, received) = receiver(1).await;
    let secret = secret();
    let hub = start_server_with(|c| {
        c.webhook_url = Some(url);
        c.webhook_secret = Some(secret.clone());
    })
    .await;
    let mut host = hub.join("w1", "therapist", Role::Host).await;
    let p = hub.join("w1", "alex", Role::Participant).await;
    host.wait_joined(p.id).await;
    p.close().await;
    host.recv_until(|v| v["type"] == "peer_left").await;
    host.close().await;

    // meeting.started, joined ×2, left ×2, meeting.ended, attendance.finalized: seven events,
    // plus one retry.
    let give_up = tokio::time::Instant::now() + DEADLINE;
    loop {
        let n = received.lock().unwrap().requests.len();
        if n >= 8 {
            break;
        }
        assert!(
            tokio::time::Instant::now() < give_up,
            "only {n} deliveries arrived"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let requests = received.lock().unwrap().requests.clone();
    let verifier = standardwebhooks::Webhook::new(&secret).expect("secret");
    let mut ids: Vec<String> = Vec::new();
    let mut events: Vec<Value> = Vec::new();
    for (headers, body) in &requests {
        verifier
            .verify(body, headers)
            .expect("the published verifier accepts our signature");
        let id = headers["webhook-id"].to_str().unwrap().to_owned();
        // Deduplicate as a receiver must: the retry carries the same id.
        if !ids.contains(&id) {
            ids.push(id);
            events.push(serde_json::from_slice(body).unwrap());
        }
    }
    assert_eq!(requests.len(), 8, "one retry after the 500");
    assert_eq!(
        requests[0].0["webhook-id"], requests[1].0["webhook-id"],
        "the retry has the first attempt's id"
    );
    // A tampered body does not verify.
    let (headers, body) = &requests[2];
    let mut forged = body.clone();
    forged[2] ^= 1;
    assert!(verifier.verify(&forged, headers).is_err());

    let kinds: Vec<&str> = events.iter().map(|e| e["type"].as_str().unwrap()).collect();
    assert_eq!(
        kinds,
        [
            "meeting.started",
            "participant.joined",
            "participant.joined",
            "participant.left",
            "participant.left",
            "meeting.ended",
            "attendance.finalized"
        ]
    );
    let seqs: Vec<u64> = events
        .iter()
        .map(|e| e["data"]["seq"].as_u64().unwrap())
        .collect();
    assert_eq!(seqs, [1, 2, 3, 4, 5, 6, 7]);
    assert_eq!(events[6]["data"]["people"], 2);
    for e in &events {
        assert_eq!(e["data"]["meeting"], "w1");
        assert!(e["timestamp"].as_str().is_some_and(|t| t.ends_with('Z')));
    }
    let left = &events[3]["data"];
    assert_eq!(left["sub"], "alex");
    assert_eq!(left["role"], "participant");
    assert_eq!(left["room"], "main");
    assert_eq!(left["reason"], "left");
    assert!(left["session_seconds"].is_u64());
    let all = String::from_utf8_lossy(
        &requests
            .iter()
            .flat_map(|(_, b)| b.clone())
            .collect::<Vec<u8>>(),
    )
    .to_string();
    assert!(!all.contains("Name of"), "no display names in webhooks");

    // Operators see the same in the metrics (the last answer may still be on its way back).
    let give_up = tokio::time::Instant::now() + DEADLINE;
    let metrics = loop {
        let metrics = scrape_metrics(hub.server.local_addr()).await;
        if metrics.contains("huddle_webhook_deliveries_total{result=\"delivered\"} 7") {
            break metrics;
        }
        assert!(tokio::time::Instant::now() < give_up, "{metrics}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert!(metrics.contains("huddle_webhook_deliveries_total{result=\"failed\"} 1"));
}

async fn scrape_metrics(addr: std::net::SocketAddr) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
    let request = format!("GET /metrics HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
    tcp.write_all(request.as_bytes()).await.unwrap();
    let mut raw = String::new();
    tcp.read_to_string(&mut raw).await.unwrap();
    raw
}

#[test]
fn webhook_settings_are_checked_at_start() {
    use huddle::webhooks::WebhookConfig;
    let good = secret();
    assert!(WebhookConfig::new("https://partner.example/hooks", &good).is_ok());
    assert!(WebhookConfig::new("http://127.0.0.1:9/hooks", &good).is_ok());
    let plain = WebhookConfig::new("http://partner.example/hooks", &good).unwrap_err();
    assert!(plain.contains("https"), "{plain}");
    assert!(WebhookConfig::new("https://partner.example/", "secret").is_err());
    assert!(WebhookConfig::new("https://partner.example/", "whsec_c2hvcnQ=").is_err());
    let config = huddle::Config {
        webhook_url: Some("https://partner.example/".into()),
        ..huddle::Config::default()
    };
    assert!(config.webhooks().unwrap_err().contains("webhook_secret"));
}
