//! `GET /metrics` scraped over real HTTP from a hub with real WebSocket clients: the text parses,
//! the figures follow what happened (joins, chat, a refusal, a removal, a resume, API calls),
//! and no label carries a meeting id, a `sub`, a name or an address. With `metrics_listen` the
//! metrics move to their own listener.

mod common;

use common::*;
use huddle::protocol::{CloseCode, Role};
use serde_json::json;
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// One GET over a fresh connection: status and body.
async fn get(addr: SocketAddr, path: &str, token: Option<&str>) -> (u16, String) {
    let mut tcp = tokio::net::TcpStream::connect(addr).await.expect("connect");
    let auth = token
        .map(|t| format!("Authorization: Bearer {t}\r\n"))
        .unwrap_or_default();
    let request = format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\n{auth}Connection: close\r\n\r\n");
    tcp.write_all(request.as_bytes()).await.expect("write");
    let mut raw = Vec::new();
    tokio::time::timeout(DEADLINE, tcp.read_to_end(&mut raw))
        .await
        .expect("reply in time")
        .expect("read");
    let raw = String::from_utf8(raw).expect("utf-8");
    let (head, body) = raw.split_once("\r\n\r\n").expect("head and body");
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .expect("status");
    (status, body.to_owned())
}

/// The samples of an exposition: `name{k="v",...}` → value. Panics on a line it cannot read.
fn parse(text: &str) -> BTreeMap<(String, BTreeMap<String, String>), f64> {
    let mut samples = BTreeMap::new();
    assert!(
        text.trim_end().ends_with("# EOF"),
        "OpenMetrics text ends with # EOF"
    );
    for line in text
        .lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
    {
        let (series, value) = line.rsplit_once(' ').expect("a value");
        let value: f64 = value
            .parse()
            .unwrap_or_else(|_| panic!("number in {line:?}"));
        let (name, labels) = match series.split_once('{') {
            None => (series.to_owned(), BTreeMap::new()),
            Some((name, rest)) => {
                let rest = rest.strip_suffix('}').expect("closing brace");
                let labels = rest
                    .split(',')
                    .filter(|p| !p.is_empty())
                    .map(|pair| {
                        let (k, v) = pair.split_once('=').expect("k=v");
                        let v = v.strip_prefix('"').and_then(|v| v.strip_suffix('"'));
                        (k.to_owned(), v.expect("quoted value").to_owned())
                    })
                    .collect();
                (name.to_owned(), labels)
            }
        };
        samples.insert((name, labels), value);
    }
    samples
}

type Samples = BTreeMap<(String, BTreeMap<String, String>), f64>;

fn value(samples: &Samples, name: &str, labels: &[(&str, &str)]) -> f64 {
    let labels: BTreeMap<String, String> = labels
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    samples
        .get(&(name.to_owned(), labels.clone()))
        .copied()
        .unwrap_or_else(|| panic!("no sample {name}{labels:?}"))
}

async fn scrape(addr: SocketAddr) -> Samples {
    let (status, text) = get(addr, "/metrics", None).await;
    assert_eq!(status, 200, "{text}");
    let samples = parse(&text);
    // No label may identify a meeting, a person or a machine.
    const ALLOWED: [&str; 7] = [
        "kind", "code", "role", "result", "route", "status", "version",
    ];
    for (name, labels) in samples.keys() {
        assert!(name.starts_with("huddle_"), "{name}");
        for (key, v) in labels {
            assert!(
                ALLOWED.contains(&key.as_str()) || (name.ends_with("_bucket") && key == "le"),
                "{name} has a label {key}"
            );
            for secret in ["private-group", "sub-", "Name of", "127.0.0.1"] {
                assert!(!v.contains(secret), "{name}{{{key}={v:?}}}");
            }
        }
    }
    samples
}

#[tokio::test]
async fn metrics_follow_the_hub_and_carry_no_identifying_label() {
    let hub = start_server().await;
    let addr = hub.server.local_addr();
    let mut host = hub.join("private-group", "sub-host", Role::Host).await;
    let mut alex = hub
        .join("private-group", "sub-alex", Role::Participant)
        .await;
    host.wait_joined(alex.id).await;
    alex.request(json!({"type": "chat", "text": "hello all"}))
        .await;
    host.recv_type("chat").await;
    // A refusal: not JSON.
    alex.send_raw(tokio_tungstenite::tungstenite::Message::Text(
        "{oops".into(),
    ))
    .await;
    assert_eq!(alex.recv_type("error").await["code"], "bad_request");
    // The API: one refused (no token), one answered.
    let api = hub
        .minter
        .mint_api(
            "huddle-api",
            "partner",
            "meetings:read",
            Duration::from_secs(60),
        )
        .unwrap();
    assert_eq!(get(addr, "/v1/meetings", None).await.0, 401);
    assert_eq!(get(addr, "/v1/meetings", Some(&api)).await.0, 200);
    assert_eq!(
        get(addr, "/v1/meetings/private-group", Some(&api)).await.0,
        200
    );

    let s = scrape(addr).await;
    assert_eq!(value(&s, "huddle_connections", &[]), 2.0);
    assert_eq!(value(&s, "huddle_meetings", &[]), 1.0);
    assert_eq!(value(&s, "huddle_members", &[("role", "host")]), 1.0);
    assert_eq!(value(&s, "huddle_members", &[("role", "participant")]), 1.0);
    assert!(value(&s, "huddle_frames_received_total", &[("kind", "chat")]) >= 1.0);
    assert!(value(&s, "huddle_frames_sent_total", &[("kind", "chat")]) >= 2.0);
    assert!(value(&s, "huddle_frames_sent_total", &[("kind", "welcome")]) >= 2.0);
    assert!(value(&s, "huddle_refusals_total", &[("code", "bad_request")]) >= 1.0);
    assert_eq!(
        value(
            &s,
            "huddle_api_requests_total",
            &[("route", "/v1/meetings"), ("status", "401")]
        ),
        1.0
    );
    assert_eq!(
        value(
            &s,
            "huddle_api_requests_total",
            &[("route", "/v1/meetings/{meeting}"), ("status", "200")]
        ),
        1.0
    );
    assert!(value(&s, "huddle_relay_latency_seconds_count", &[]) >= 1.0);
    assert_eq!(
        value(
            &s,
            "huddle_build_info",
            &[("version", env!("CARGO_PKG_VERSION"))]
        ),
        1.0
    );

    // A drop and a resume, then a removal.
    let token = hub.token(
        "private-group",
        "sub-alex",
        "Name of sub-alex",
        Role::Participant,
    );
    let resume_token = alex.welcome["resume_token"].as_str().unwrap().to_owned();
    alex.drop_connection();
    host.recv_type("peer_reconnecting").await;
    let mut alex = connect(&hub.url).await;
    alex.hello_resume(&token, &resume_token, "main", 0).await;
    alex.id = alex.recv_type("welcome").await["you"]["id"]
        .as_u64()
        .unwrap();
    host.request(json!({"type": "remove", "peer": alex.id}))
        .await;
    assert_eq!(
        alex.expect_close().await.code,
        Some(CloseCode::Removed.code())
    );

    let s = scrape(addr).await;
    assert_eq!(value(&s, "huddle_resumes_total", &[("result", "ok")]), 1.0);
    assert_eq!(
        value(&s, "huddle_closes_total", &[("code", "removed")]),
        1.0
    );
    assert_eq!(value(&s, "huddle_members", &[("role", "participant")]), 0.0);
    assert_eq!(value(&s, "huddle_members", &[("role", "host")]), 1.0);
}

#[tokio::test]
async fn metrics_listen_moves_the_metrics_off_the_public_listener() {
    let probe = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let metrics_addr = probe.local_addr().unwrap();
    drop(probe);
    let hub = start_server_with(|c| c.metrics_listen = Some(metrics_addr)).await;
    assert_eq!(get(hub.server.local_addr(), "/metrics", None).await.0, 404);
    let s = scrape(metrics_addr).await;
    assert_eq!(value(&s, "huddle_meetings", &[]), 0.0);
}
