//! A few seconds of each scenario against a real hub on 127.0.0.1:0, so the load generator keeps
//! working. Functional checks only (counts, no loss, files written) — never timing asserts.

use huddle::auth::random_secret;
use huddle::protocol::MediaMode;
use huddle::{Config, Server};
use huddle_loadtest::scenarios::{breakouts, chat, idle, relay, sfu, webrtc};
use huddle_loadtest::Target;
use std::sync::Arc;
use std::time::Duration;

/// A hub whose media is peer to peer: the signaling scenarios relay `signal`.
async fn hub() -> (Server, Arc<Target>) {
    hub_with(MediaMode::Mesh).await
}

async fn hub_with(media_mode: MediaMode) -> (Server, Arc<Target>) {
    let secret = random_secret();
    let config = Config {
        listen: "127.0.0.1:0".parse().unwrap(),
        jwt_secret: Some(secret.clone()),
        signal_rate: 100_000,
        signal_burst: 100_000,
        // The relay, chat and idle scenarios have no host.
        wait_for_host: false,
        // Every simulated client comes from 127.0.0.1, many of them joining at once.
        max_pending_hellos_per_ip: 100_000,
        media_mode,
        ..Config::default()
    };
    let server = Server::start(config).await.expect("hub starts");
    let url = format!("ws://{}/v1/ws", server.local_addr());
    let target =
        Target::huddle(&url, &secret, "huddle", "huddle", Some(std::process::id())).unwrap();
    target.check_loopback().unwrap();
    (server, Arc::new(target))
}

#[test]
fn only_loopback_targets_are_accepted() {
    let secret = random_secret();
    for url in [
        "ws://10.0.0.1:8080/v1/ws",
        "ws://example.org/v1/ws",
        "http://127.0.0.1/",
    ] {
        let t = Target::huddle(url, &secret, "huddle", "huddle", None).unwrap();
        assert!(t.check_loopback().is_err(), "{url} must be refused");
    }
    for url in [
        "ws://127.0.0.1:8080/v1/ws",
        "ws://localhost:1/v1/ws",
        "ws://[::1]:8080/v1/ws",
    ] {
        let t = Target::huddle(url, &secret, "huddle", "huddle", None).unwrap();
        assert!(t.check_loopback().is_ok(), "{url} is loopback");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idle_smoke() {
    let (_server, target) = hub().await;
    let p = idle::IdleParams {
        participants: 40,
        meeting_size: 10,
        concurrency: 8,
        meeting_prefix: "idle".into(),
        settle: Duration::from_millis(100),
    };
    let report = idle::run(target, &p).await.unwrap();
    assert_eq!(report.get("participants joined"), Some(40.0));
    assert!(report.get("hub RSS per connection (KiB)").is_some());
    assert_eq!(report.latencies[0].1.count, 40);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn relay_smoke_and_outputs() {
    let (_server, target) = hub().await;
    let p = relay::RelayParams {
        pairs: 4,
        rate: 400,
        duration: Duration::from_millis(1500),
        warmup: Duration::from_millis(300),
        payload_bytes: 32,
        peer: None,
    };
    let report = relay::run(Arc::clone(&target), &p).await.unwrap();
    let achieved = report.get("achieved rate (signals/s)").unwrap();
    assert!(achieved > 0.0, "signals arrived");
    assert_eq!(report.get("lost"), Some(0.0), "nothing lost at a low rate");
    assert!(report.latencies[0].1.count > 0);
    let dir = std::env::temp_dir().join(format!("huddle-loadtest-smoke-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    report.write_json(&dir.join("relay.json")).unwrap();
    report.write_plot(&dir.join("relay.svg")).unwrap();
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("relay.json")).unwrap()).unwrap();
    assert_eq!(json["scenario"], "relay");
    assert!(std::fs::read_to_string(dir.join("relay.svg"))
        .unwrap()
        .contains("<svg"));
    let _ = std::fs::remove_dir_all(&dir);

    let sweep = relay::sweep(
        target,
        &relay::RelayParams {
            duration: Duration::from_millis(500),
            ..p
        },
        &[200, 400],
        1_000.0,
    )
    .await
    .unwrap();
    assert_eq!(sweep.rows.len(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chat_smoke() {
    let (_server, target) = hub().await;
    let p = chat::ChatParams {
        meetings: 3,
        size: 4,
        interval: Duration::from_millis(300),
        duration: Duration::from_millis(1200),
        warmup: Duration::from_millis(100),
    };
    let report = chat::run(target, &p).await.unwrap();
    // Every message reaches the 3 others in its meeting.
    let deliveries = report.latencies[0].1.count;
    assert!(
        deliveries > 0 && deliveries % 3 == 0,
        "deliveries {deliveries}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn breakouts_smoke() {
    let (_server, target) = hub().await;
    let p = breakouts::BreakoutParams {
        participants: 24,
        room_size: 4,
        rounds: 2,
    };
    let report = breakouts::run(target, &p).await.unwrap();
    assert_eq!(report.get("breakout rooms"), Some(6.0));
    assert_eq!(
        report.latencies[0].1.count, 48,
        "every participant notified in every split"
    );
    assert_eq!(report.latencies[1].1.count, 48, "and in every merge");
    assert_eq!(report.rows.len(), 4);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn webrtc_smoke() {
    let (_server, target) = hub().await;
    let report = webrtc::run(
        target,
        &webrtc::WebrtcParams {
            pairs: 3,
            timeout: Duration::from_secs(30),
        },
    )
    .await
    .unwrap();
    assert_eq!(report.get("failures"), Some(0.0));
    assert_eq!(report.get("pairs connected"), Some(3.0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sfu_smoke() {
    let (_server, target) = hub_with(MediaMode::Sfu).await;
    let p = sfu::SfuParams {
        rooms: 1,
        size: 3,
        secs: 3.0,
        warmup: 0.5,
        reroute_every: 2.0,
    };
    let report = sfu::run(target, &p).await.expect("sfu runs");
    assert!(report.get("forwarded_packets").unwrap_or(0.0) > 100.0);
    assert_eq!(report.get("isolation_violations"), Some(0.0));
    assert!(report.get("delivery_ratio").unwrap_or(0.0) > 0.99);
    assert!(report.get("hub_cpu_us_per_packet").is_some());
    for field in [
        "forwarded_packets",
        "hub_cpu_us_per_packet",
        "delivery_ratio",
        "isolation_violations",
        "keyframe_p99_ms",
        "latency_p50_ms",
        "latency_p99_ms",
    ] {
        assert!(
            report.fields.contains_key(field),
            "the JSON report names {field}"
        );
    }
}
