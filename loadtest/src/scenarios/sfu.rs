//! `sfu`: R meetings of N synthetic participants publishing through the hub's SFU (audio ~50
//! packets/s of 100 B, video ~500 kbit/s in 1,100 B packets, a keyframe every 3 s and on every
//! PLI), with a host pulling someone aside and back every few seconds (two re-routes). Measures
//! what the hub forwarded and what it cost, delivery, isolation, keyframe delay after join and
//! re-route, and end-to-end latency. `sfu-churn`: join, publish and leave, over and over, and
//! the hub's RSS after.
//!
//! The participants are the same code as the SFU tests' (`tests/common/sfu.rs`).

use super::join_all;
use crate::net;
use crate::report::{new_histogram, progress, Report};
use crate::Target;
use huddle::protocol::Role;
use serde_json::{json, Value};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

#[path = "../../../tests/common/sfu.rs"]
#[allow(clippy::all)]
mod peer;

use peer::{others, Received, SfuNode};

#[derive(Debug, Clone)]
pub struct SfuParams {
    pub rooms: usize,
    pub size: usize,
    pub secs: f64,
    /// Seconds after everyone sees everyone before measuring.
    pub warmup: f64,
    /// A host pulls someone aside and back this often in each meeting (0: never).
    pub reroute_every: f64,
}

/// The hub's SFU counters (`GET /debug/media`).
async fn media_stats(url: &str) -> Result<Value, String> {
    let host = url
        .strip_prefix("ws://")
        .and_then(|r| r.split('/').next())
        .ok_or("bad url")?;
    let mut tcp = tokio::net::TcpStream::connect(host)
        .await
        .map_err(|e| e.to_string())?;
    let req = format!("GET /debug/media HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n");
    tcp.write_all(req.as_bytes())
        .await
        .map_err(|e| e.to_string())?;
    let mut body = String::new();
    tcp.read_to_string(&mut body)
        .await
        .map_err(|e| e.to_string())?;
    let json = body.split("\r\n\r\n").nth(1).ok_or("no body")?;
    serde_json::from_str(json).map_err(|e| format!("/debug/media: {e} (is the hub in sfu mode?)"))
}

/// A change of a participant's roommates, as it learned it.
enum Change {
    /// `room_changed`: exactly these roommates now.
    Room(Vec<u64>),
    Left(u64),
    Joined(u64),
}

/// What one participant saw during the measured window.
#[derive(Default)]
struct Seen {
    media: Vec<Received>,
    /// (time learned, change), in order.
    changes: Vec<(u64, Change)>,
}

pub async fn run(target: Arc<Target>, p: &SfuParams) -> Result<Report, String> {
    if p.size < 2 {
        return Err("--size must be at least 2".into());
    }
    let mut report = Report::new(
        "sfu",
        target.protocol,
        json!({"rooms": p.rooms, "size": p.size, "secs": p.secs, "reroute_every": p.reroute_every}),
    );
    let who: Vec<(String, String, Role)> = (0..p.rooms)
        .flat_map(|r| {
            (0..p.size).map(move |i| {
                let role = if i == 0 {
                    Role::Host
                } else {
                    Role::Participant
                };
                (format!("sfu-{r}"), format!("s{r}-{i}"), role)
            })
        })
        .collect();
    let bar = progress(who.len() as u64, "joining");
    let joined = join_all(&target, who, 20, Some(&bar)).await?;
    bar.finish_and_clear();
    let ids: Vec<u64> = joined
        .iter()
        .map(|j| j.id.parse().unwrap_or_default())
        .collect();
    let mut nodes = Vec::new();
    let started = peer::epoch_ns();
    for j in joined {
        let id = j.id.parse().unwrap_or_default();
        nodes.push(SfuNode::start(id, j.ws, true).await);
    }
    // Everyone sees everyone in their meeting: the keyframe delay after join, counted from the
    // joiner starting its connection, and from its connection being up (the hub's part: slot,
    // keyframe request, the publisher's keyframe).
    let mut keyframes = new_histogram();
    let mut after_connect = new_histogram();
    let firsts = futures_util::future::join_all(nodes.iter_mut().enumerate().map(|(i, node)| {
        let r = i / p.size;
        let from: Vec<u64> = ids[r * p.size..(r + 1) * p.size]
            .iter()
            .copied()
            .filter(|x| *x != node.id)
            .collect();
        async move {
            let asked = tokio::time::Instant::now();
            let seen = node.until_seen(&from, Duration::from_secs(30)).await;
            let up = node.connected_at;
            seen.into_iter()
                .map(|(_, d)| (d, up.map(|up| (asked + d).saturating_duration_since(up))))
                .collect::<Vec<_>>()
        }
    }))
    .await;
    let join_ms = (peer::epoch_ns() - started) / 1_000_000;
    for (d, since_up) in firsts.into_iter().flatten() {
        let _ = keyframes.record(d.as_micros().max(1) as u64);
        if let Some(since_up) = since_up {
            let _ = after_connect.record(since_up.as_micros().max(1) as u64);
        }
    }
    // Warm up, then measure.
    let warm = Duration::from_secs_f64(p.warmup);
    for node in nodes.iter_mut() {
        let mut hub = Vec::new();
        let _ = node.collect(Duration::from_millis(1), &mut hub).await;
    }
    tokio::time::sleep(warm).await;
    for node in nodes.iter_mut() {
        while node.events.try_recv().is_ok() {}
    }
    let stats0 = media_stats(&target.url).await?;
    let cpu0 = target.hub_pid.and_then(net::cpu_seconds);
    let t0 = Instant::now();
    // The re-routes: each meeting's host pulls participant 1, then 2, … aside and back.
    let span = Duration::from_secs_f64(p.secs);
    let reroute_every = p.reroute_every;
    let size = p.size;
    let pulls = {
        // Each meeting's host (its first node) and how to make it act.
        let hosts: Vec<_> = (0..p.rooms)
            .map(|r| (r * size, nodes[r * size].sender()))
            .collect();
        let ids = ids.clone();
        tokio::spawn(async move {
            if reroute_every <= 0.0 {
                return 0usize;
            }
            let mut n = 0;
            let mut k = 1;
            let deadline = Instant::now() + span.saturating_sub(Duration::from_secs(1));
            while Instant::now() + Duration::from_secs_f64(reroute_every) < deadline {
                tokio::time::sleep(Duration::from_secs_f64(reroute_every / 2.0)).await;
                for (h, act) in &hosts {
                    act(json!({"type": "pull_aside", "peer": ids[h + k]}));
                }
                tokio::time::sleep(Duration::from_secs_f64(reroute_every / 2.0)).await;
                for (h, act) in &hosts {
                    act(json!({"type": "end_aside", "peer": ids[h + k]}));
                }
                n += 2;
                k = if k + 1 < size { k + 1 } else { 1 };
            }
            n
        })
    };
    let seen: Vec<(u64, Seen)> = futures_util::future::join_all(nodes.iter_mut().map(|node| {
        let me = node.id;
        async move {
            let mut hub = Vec::new();
            let media = node.collect(span, &mut hub).await;
            let mut changes = Vec::new();
            for v in &hub {
                let at = v["_at"].as_u64().unwrap_or(0);
                match v["type"].as_str() {
                    Some("room_changed") => {
                        changes.push((at, Change::Room(others(&v["peers"], me))))
                    }
                    Some("peer_left") => {
                        changes.push((at, Change::Left(v["id"].as_u64().unwrap_or(0))))
                    }
                    Some("peer_joined") => {
                        changes.push((at, Change::Joined(v["peer"]["id"].as_u64().unwrap_or(0))))
                    }
                    _ => {}
                }
            }
            (me, Seen { media, changes })
        }
    }))
    .await;
    let elapsed = t0.elapsed().as_secs_f64();
    let stats1 = media_stats(&target.url).await?;
    let cpu1 = target.hub_pid.and_then(net::cpu_seconds);
    let reroutes = pulls.await.unwrap_or(0);

    // Delivery, isolation, latency, keyframes after re-routes.
    let mut latency = new_histogram();
    let mut reroute_keyframes = new_histogram();
    let (mut received, mut expected) = (0u64, 0u64);
    let mut violations = 0u64;
    for (i, (me, s)) in seen.iter().enumerate() {
        let meeting = i / p.size;
        let everyone: Vec<u64> = ids[meeting * p.size..(meeting + 1) * p.size]
            .iter()
            .copied()
            .filter(|x| x != me)
            .collect();
        // Roommates over time, from the changes this node learned. A stream is judged within
        // each stretch its publisher was continuously a roommate (`epoch`): a re-route ends a
        // stretch on purpose.
        let mut room: BTreeSet<u64> = everyone.iter().copied().collect();
        let mut epoch: BTreeMap<u64, u32> = BTreeMap::new();
        let mut changes = s.changes.iter().peekable();
        let mut streams: BTreeMap<(u64, bool, u32), BTreeSet<u32>> = BTreeMap::new();
        let mut left_at: BTreeMap<u64, u64> = BTreeMap::new();
        let mut awaiting: BTreeMap<u64, u64> = BTreeMap::new();
        for r in &s.media {
            while let Some((at, change)) = changes.peek() {
                if *at > r.recv_ns {
                    break;
                }
                let before = room.clone();
                match change {
                    Change::Room(peers) => room = peers.iter().copied().collect(),
                    Change::Left(p) => {
                        room.remove(p);
                    }
                    Change::Joined(p) => {
                        room.insert(*p);
                    }
                }
                for gone in before.difference(&room) {
                    left_at.insert(*gone, *at);
                }
                for new in room.difference(&before) {
                    *epoch.entry(*new).or_default() += 1;
                    awaiting.insert(*new, *at);
                    left_at.remove(new);
                }
                changes.next();
            }
            if !room.contains(&r.from) {
                // Sent after this node knew the sender was gone: a leak.
                if left_at.get(&r.from).is_some_and(|t| r.sent_ns > *t) {
                    violations += 1;
                }
                continue;
            }
            if r.keyframe {
                if let Some(t) = awaiting.remove(&r.from) {
                    let us = (r.recv_ns.saturating_sub(t) / 1000).max(1);
                    let _ = keyframes.record(us);
                    let _ = reroute_keyframes.record(us);
                }
            }
            let _ = latency.record((r.recv_ns.saturating_sub(r.sent_ns) / 1000).max(1));
            let e = epoch.get(&r.from).copied().unwrap_or(0);
            streams
                .entry((r.from, r.video, e))
                .or_default()
                .insert(r.seq);
        }
        for seqs in streams.values() {
            let (Some(lo), Some(hi)) = (seqs.first(), seqs.last()) else {
                continue;
            };
            received += seqs.len() as u64;
            expected += u64::from(hi - lo + 1);
        }
    }
    let delivery = if expected > 0 {
        received as f64 / expected as f64
    } else {
        0.0
    };
    let num = |v: &Value, k: &str| v[k].as_u64().unwrap_or(0);
    let forwarded = num(&stats1, "forwarded").saturating_sub(num(&stats0, "forwarded"));
    let cpu_us = match (cpu0, cpu1) {
        (Some(a), Some(b)) if forwarded > 0 => Some((b - a) * 1e6 / forwarded as f64),
        _ => None,
    };
    let per_room_rate = forwarded as f64 / elapsed / p.rooms as f64;
    let rooms_per_core = cpu_us.map(|us| 1e6 / (us * per_room_rate));
    let kf = |q: f64| keyframes.value_at_quantile(q) as f64 / 1000.0;
    let lat = |q: f64| latency.value_at_quantile(q) as f64 / 1000.0;
    report.figure("forwarded_packets", forwarded as f64);
    report.figure("forwarded_per_sec", forwarded as f64 / elapsed);
    if let Some(us) = cpu_us {
        report.figure("hub_cpu_us_per_packet", us);
    }
    if let Some(r) = rooms_per_core {
        report.figure("rooms_per_core", r);
    }
    report.figure("delivery_ratio", delivery);
    report.figure("isolation_violations", violations as f64);
    report.figure("reroutes", reroutes as f64);
    report.figure("keyframe_p99_ms", kf(0.99));
    report.figure("latency_p50_ms", lat(0.5));
    report.figure("latency_p99_ms", lat(0.99));
    report.figure("everyone_sees_everyone_ms", join_ms as f64);
    let hub = &stats1["hub_latency"];
    let hub_ms = |k: &str| hub[k].as_f64().map(|us| us / 1000.0);
    if let (Some(p50), Some(p99)) = (hub_ms("p50_us"), hub_ms("p99_us")) {
        report.figure("hub_latency_p50_ms", p50);
        report.figure("hub_latency_p99_ms", p99);
        report
            .fields
            .insert("hub_latency_p50_ms".into(), json!(p50));
        report
            .fields
            .insert("hub_latency_p99_ms".into(), json!(p99));
    }
    report
        .fields
        .insert("forwarded_packets".into(), json!(forwarded));
    report
        .fields
        .insert("hub_cpu_us_per_packet".into(), json!(cpu_us));
    report
        .fields
        .insert("rooms_per_core".into(), json!(rooms_per_core));
    report
        .fields
        .insert("delivery_ratio".into(), json!(delivery));
    report
        .fields
        .insert("isolation_violations".into(), json!(violations));
    report
        .fields
        .insert("keyframe_p99_ms".into(), json!(kf(0.99)));
    report
        .fields
        .insert("latency_p50_ms".into(), json!(lat(0.5)));
    report
        .fields
        .insert("latency_p99_ms".into(), json!(lat(0.99)));
    report.latency("end-to-end (publisher to subscriber)", latency);
    report.figure(
        "reroute_keyframe_p99_ms",
        reroute_keyframes.value_at_quantile(0.99) as f64 / 1000.0,
    );
    report.figure(
        "join_keyframe_after_connect_p99_ms",
        after_connect.value_at_quantile(0.99) as f64 / 1000.0,
    );
    report.fields.insert(
        "join_keyframe_after_connect_p99_ms".into(),
        json!(after_connect.value_at_quantile(0.99) as f64 / 1000.0),
    );
    report.latency("keyframe after join or re-route", keyframes);
    report.latency(
        "keyframe after join, from the joiner's connection being up",
        after_connect,
    );
    report.latency("keyframe after re-route", reroute_keyframes);
    drop(nodes);
    Ok(report)
}

#[derive(Debug, Clone)]
pub struct ChurnParams {
    pub cycles: usize,
    pub warmup: usize,
    pub concurrency: usize,
}

/// Join, publish, see the host, leave; `cycles` times. The hub's RSS after `warmup` cycles and
/// at the end.
pub async fn churn(target: Arc<Target>, p: &ChurnParams) -> Result<Report, String> {
    let pid = target
        .hub_pid
        .ok_or("sfu-churn needs --hub-pid to read the hub's memory")?;
    let mut report = Report::new(
        "sfu-churn",
        target.protocol,
        json!({"cycles": p.cycles, "warmup": p.warmup, "concurrency": p.concurrency}),
    );
    let host = net::join(&target, "churn", "host", Role::Host).await?;
    let host_id: u64 = host.id.parse().unwrap_or_default();
    let mut host_node = SfuNode::start(host_id, host.ws, true).await;
    let bar = progress(p.cycles as u64, "cycles");
    let mut rss_warm = None;
    let mut done = 0usize;
    let mut failures = 0usize;
    let mut n = 0usize;
    while done < p.cycles {
        // The host's own reception is not measured: keep its queue from growing.
        while host_node.events.try_recv().is_ok() {}
        let batch = p.concurrency.min(p.cycles - done);
        let runs = (0..batch).map(|_| {
            n += 1;
            let target = Arc::clone(&target);
            // 500 people who come and go (as tests/sfu_churn.rs): per-person attendance grows
            // with different people, not with churn.
            let sub = format!("c{}", n % 500);
            async move {
                let j = net::join(&target, "churn", &sub, Role::Participant).await?;
                let id = j.id.parse().unwrap_or_default();
                let mut node = SfuNode::start(id, j.ws, true).await;
                let saw = node
                    .try_until_seen(&[host_id], Duration::from_secs(10))
                    .await;
                drop(node);
                saw.map(|_| ())
            }
        });
        for r in futures_util::future::join_all(runs).await {
            if let Err(why) = r {
                if failures < 5 {
                    eprintln!("sfu-churn: {why}");
                }
                failures += 1;
            }
        }
        done += batch;
        bar.inc(batch as u64);
        if rss_warm.is_none() && done >= p.warmup {
            tokio::time::sleep(Duration::from_secs(2)).await;
            rss_warm = net::rss_kib(pid);
        }
    }
    bar.finish_and_clear();
    // Let the last departures be carried out (DTLS close, connection freed).
    tokio::time::sleep(Duration::from_secs(3)).await;
    let rss_end = net::rss_kib(pid);
    let connections = media_stats(&target.url).await?["connections"]
        .as_u64()
        .unwrap_or(0);
    if let (Some(a), Some(b)) = (rss_warm, rss_end) {
        report.figure("rss_after_warmup_kib", a as f64);
        report.figure("rss_at_end_kib", b as f64);
        report.figure(
            "rss_growth_percent",
            (b as f64 - a as f64) * 100.0 / a as f64,
        );
        report.fields.insert(
            "rss_growth_percent".into(),
            json!((b as f64 - a as f64) * 100.0 / a as f64),
        );
    }
    report.figure("failures", failures as f64);
    report.figure("hub_connections_at_end", connections as f64);
    Ok(report)
}
