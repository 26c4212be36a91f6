//! The SFU's memory under join/leave churn: the real `huddle` binary in its own process (so its
//! RSS is the hub's alone), and real WebRTC clients (the `webrtc` crate) that join, publish, see
//! the host's media and leave, 10 at a time, drawn from 500 people who come and go as a group's
//! phones do. After a warm-up that fills the hub's bounded records, 1,000 more cycles must leave
//! RSS within 2 %. The long form is `loadtest/bench.sh sfu-churn`. Its own test binary, so no
//! other test shares the machine while it measures (about 4 minutes in the debug build).
//!
//! What the warm-up must fill: the event log keeps the last 10,000 events
//! (`limits::EVENT_LOG_LEN`), two per cycle, so it grows for 5,000 cycles, then stays. That
//! filling log (about 1 KB an event while it held parsed JSON), and per-person attendance for a
//! new `sub` every cycle, were the "creep" of earlier runs (+9 % between 3,000 and 4,000 cycles,
//! blamed then on glibc's arenas). With a fixed set of people and the log full, RSS was flat
//! but for the attendance records (+1.98 % over cycles 5,500–6,500, 43.6 → 44.4 MB); with the
//! events kept as JSON text and attendance times as numbers, 34.2 → 34.4 MB, +0.51 %.

mod common;
#[path = "common/sfu.rs"]
mod sfu;

use common::{connect, DEADLINE};
use futures_util::future::join_all;
use huddle::auth::{random_secret, Minter, SignKey, TokenAlgorithm};
use huddle::protocol::Role;
use serde_json::Value;
use sfu::SfuNode;
use std::process::Stdio;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// Past the point where the hub's bounded records are full: the event log keeps the last 10,000
/// events (`limits::EVENT_LOG_LEN`), two per cycle (joined, left), so it fills at 5,000 cycles.
const WARMUP_CYCLES: usize = 5_500;
const MEASURED_CYCLES: usize = 1_000;
/// Different people in the churn.
const PEOPLE: usize = 500;
const AT_ONCE: usize = 10;

fn rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("hub status");
    status
        .lines()
        .find(|l| l.starts_with("VmRSS:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .expect("VmRSS")
}

async fn get_json(addr: &str, path: &str) -> Option<Value> {
    let mut tcp = tokio::net::TcpStream::connect(addr).await.ok()?;
    let req = format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
    tcp.write_all(req.as_bytes()).await.ok()?;
    let mut body = String::new();
    tcp.read_to_string(&mut body).await.ok()?;
    serde_json::from_str(body.split("\r\n\r\n").nth(1)?).ok()
}

/// Waits until the hub holds exactly `n` media connections (departures carried out) and has
/// trimmed its heap since the last one closed, then reads its RSS.
async fn settled_rss(addr: &str, pid: u32, n: u64) -> u64 {
    let give_up = tokio::time::Instant::now() + DEADLINE;
    loop {
        let stats = get_json(addr, "/debug/media").await;
        let conns = stats.as_ref().and_then(|v| v["connections"].as_u64());
        let trimmed = stats.as_ref().and_then(|v| v["closed_since_trim"].as_u64()) == Some(0);
        if conns == Some(n) && trimmed {
            return rss_kib(pid);
        }
        assert!(
            tokio::time::Instant::now() < give_up,
            "the hub still holds {conns:?} media connections (expected {n}), or has not trimmed"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thousand_join_leave_cycles_leave_rss_within_two_percent() {
    let secret = random_secret();
    // A free port for the hub (it prints no address outside dev mode).
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("free port")
        .port();
    let addr = format!("127.0.0.1:{port}");
    let mut hub = tokio::process::Command::new(env!("CARGO_BIN_EXE_huddle"))
        .args(["serve", "--listen", &addr])
        .env("HUDDLE_JWT_SECRET", &secret)
        .env("HUDDLE_JWT_ISSUER", "churn")
        .env("HUDDLE_JWT_AUDIENCE", "churn")
        .env("HUDDLE_MEDIA_MODE", "sfu")
        .env("HUDDLE_MAX_CONNECTIONS_PER_IP", "1000")
        .env("HUDDLE_MAX_PENDING_HELLOS_PER_IP", "1000")
        .env("HUDDLE_LOG", "warn")
        .stdout(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("start huddle");
    let pid = hub.id().expect("hub pid");
    let give_up = tokio::time::Instant::now() + DEADLINE;
    while get_json(&addr, "/debug/media").await.is_none() {
        assert!(
            tokio::time::Instant::now() < give_up,
            "the hub did not start"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let minter = Minter::new(
        TokenAlgorithm::Hs256,
        SignKey::Secret(secret.as_bytes()),
        "churn",
        "churn",
    )
    .expect("minter");
    let url = format!("ws://{addr}/v1/ws");
    let join = |sub: String, role: Role| {
        let token = minter
            .mint("churn", &sub, "Churn", role, Duration::from_secs(600))
            .expect("mint");
        let url = url.clone();
        async move {
            let mut client = connect(&url).await;
            client.hello(&token).await;
            let welcome = client.recv_type("welcome").await;
            let id = welcome["you"]["id"].as_u64().expect("welcome.you.id");
            SfuNode::start(id, client.ws, true).await
        }
    };

    let mut host = join("host".into(), Role::Host).await;
    let host_id = host.id;
    let mut n = 0usize;
    let mut cycle = |count: usize| {
        let runs: Vec<_> = (0..count)
            .map(|_| {
                n += 1;
                // The same people come and go (phones dropping and rejoining), as in a real
                // group: a meeting's attendance keeps a record per person, which grows with
                // the number of different people, not with churn. Enough of them that nobody
                // rejoins faster than the hub's rejoin limit allows.
                let joining = join(format!("c{}", n % PEOPLE), Role::Participant);
                async move {
                    let mut node = joining.await;
                    node.until_seen(&[host_id], DEADLINE).await;
                }
            })
            .collect();
        join_all(runs)
    };
    let mut rss = Vec::new();
    for done in (0..WARMUP_CYCLES + MEASURED_CYCLES).step_by(AT_ONCE) {
        // The host's own reception is not measured: keep its queue from growing.
        while host.events.try_recv().is_ok() {}
        cycle(AT_ONCE).await;
        let done = done + AT_ONCE;
        if done.is_multiple_of(500) {
            rss.push((done, settled_rss(&addr, pid, 1).await));
        }
    }
    println!("hub RSS (KiB) after cycles: {rss:?}");
    let warm = rss
        .iter()
        .find(|(c, _)| *c == WARMUP_CYCLES)
        .expect("warm")
        .1;
    let end = rss.last().expect("end").1;
    let growth = (end as f64 - warm as f64) * 100.0 / warm as f64;
    println!("RSS over the last {MEASURED_CYCLES} cycles: {warm} -> {end} KiB, {growth:+.2} %");
    assert!(
        growth <= 2.0,
        "RSS grew {growth:.2} % over {MEASURED_CYCLES} join/leave cycles ({warm} -> {end} KiB)"
    );
    drop(host);
    let _ = hub.kill().await;
}
