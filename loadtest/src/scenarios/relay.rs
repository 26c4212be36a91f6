//! `relay`: P peer pairs exchange `signal` messages at a target aggregate rate, open loop; achieved
//! rate, loss, one-way latency and hub CPU. `sweep` raises the rate until p99 passes a limit.

use super::{join_all, number_after};
use crate::net::{self, now_nanos};
use crate::report::{new_histogram, progress, Report};
use crate::Target;
use futures_util::{SinkExt, StreamExt};
use hdrhistogram::Histogram;
use huddle::protocol::Role;
use serde_json::json;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;
use tokio_tungstenite::tungstenite::Message;

#[derive(Debug, Clone)]
pub struct RelayParams {
    pub pairs: usize,
    /// Aggregate signals per second, all senders together.
    pub rate: u64,
    pub duration: Duration,
    pub warmup: Duration,
    /// Padding in each signal's data, bytes (an ICE candidate is ~150 bytes).
    pub payload_bytes: usize,
    /// Cluster mode: the second person of each pair connects here (another node), so every
    /// signal crosses nodes; the first person's node owns the pair's meeting.
    pub peer: Option<PeerTarget>,
}

/// Another node of the same cluster (same key), for [`RelayParams::peer`].
#[derive(Clone)]
pub struct PeerTarget(pub Arc<Target>);

impl std::fmt::Debug for PeerTarget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "PeerTarget({})", self.0.url)
    }
}

/// Sender tick: messages due are sent in a batch every tick (open loop: the schedule does not
/// wait for replies).
const TICK: Duration = Duration::from_millis(2);

pub async fn run(target: Arc<Target>, p: &RelayParams) -> Result<Report, String> {
    let mut report = Report::new(
        "relay",
        target.protocol,
        json!({"pairs": p.pairs, "rate": p.rate, "duration_s": p.duration.as_secs_f64(), "payload_bytes": p.payload_bytes}),
    );
    let joined = match &p.peer {
        None => {
            let who = (0..p.pairs)
                .flat_map(|i| {
                    [
                        (format!("relay-{i}"), format!("a-{i}"), Role::Participant),
                        (format!("relay-{i}"), format!("b-{i}"), Role::Participant),
                    ]
                })
                .collect();
            join_all(&target, who, 64, None).await?
        }
        Some(PeerTarget(peer)) => {
            // The first of each pair on `target` (its node takes the meeting), then the second
            // on the peer node; paired up again as a0, b0, a1, b1…
            let firsts = (0..p.pairs)
                .map(|i| (format!("relay-{i}"), format!("a-{i}"), Role::Participant))
                .collect();
            let seconds = (0..p.pairs)
                .map(|i| (format!("relay-{i}"), format!("b-{i}"), Role::Participant))
                .collect();
            let firsts = join_all(&target, firsts, 64, None).await?;
            let seconds = join_all(peer, seconds, 64, None).await?;
            firsts
                .into_iter()
                .zip(seconds)
                .flat_map(|(a, b)| [a, b])
                .collect()
        }
    };
    let ids: Vec<String> = joined.iter().map(|j| j.id.clone()).collect();

    let senders = joined.len() as u64;
    let per_sender = p.rate as f64 / senders.max(1) as f64;
    let start = now_nanos();
    let measure_from = start + p.warmup.as_nanos() as u64;
    let measure_until = measure_from + p.duration.as_nanos() as u64;
    let sent_in_window = Arc::new(AtomicU64::new(0));
    let (stop_tx, stop_rx) = watch::channel(false);
    let padding = "x".repeat(p.payload_bytes);

    let mut receivers = Vec::new();
    let mut send_tasks = Vec::new();
    for (k, j) in joined.into_iter().enumerate() {
        let partner = ids[k ^ 1].clone();
        let (mut sink, mut stream) = j.ws.split();
        let mut stop = stop_rx.clone();
        receivers.push(tokio::spawn(async move {
            let mut h = new_histogram();
            let mut received = 0u64;
            loop {
                tokio::select! {
                    frame = stream.next() => {
                        let Some(Ok(Message::Text(text))) = frame else {
                            if frame.is_none() { break } else { continue }
                        };
                        if let Some(t) = number_after(&text, "\"t\":") {
                            if (measure_from..measure_until).contains(&t) {
                                received += 1;
                                h.saturating_record((now_nanos().saturating_sub(t)) / 1000);
                            }
                        }
                    }
                    _ = stop.changed() => break,
                }
            }
            (h, received)
        }));
        let protocol = target.protocol;
        let sent = Arc::clone(&sent_in_window);
        let padding = padding.clone();
        send_tasks.push(tokio::spawn(async move {
            let mut tick = tokio::time::interval(TICK);
            let mut done = 0u64;
            loop {
                tick.tick().await;
                let now = now_nanos();
                if now >= measure_until {
                    break;
                }
                let due = ((now - start) as f64 / 1e9 * per_sender) as u64;
                while done < due {
                    let t = now_nanos();
                    let data = format!(r#"{{"t":{t},"p":"{padding}"}}"#);
                    if sink
                        .feed(Message::text(net::signal_frame(protocol, &partner, &data)))
                        .await
                        .is_err()
                    {
                        return;
                    }
                    if (measure_from..measure_until).contains(&t) {
                        sent.fetch_add(1, Ordering::Relaxed);
                    }
                    done += 1;
                }
                if sink.flush().await.is_err() {
                    return;
                }
            }
            let _ = sink.close().await;
        }));
    }

    let bar = progress((p.warmup + p.duration).as_secs(), "relaying");
    let cpu_start_at = measure_from;
    let mut cpu_start = None;
    while now_nanos() < measure_until {
        tokio::time::sleep(Duration::from_millis(100)).await;
        if cpu_start.is_none() && now_nanos() >= cpu_start_at {
            cpu_start = target.hub_pid.and_then(net::cpu_seconds);
        }
        bar.set_position((now_nanos() - start) / 1_000_000_000);
    }
    let cpu_end = target.hub_pid.and_then(net::cpu_seconds);
    bar.finish_and_clear();
    for t in send_tasks {
        let _ = t.await;
    }
    // Let in-flight messages land before counting loss.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let _ = stop_tx.send(true);
    let mut all: Histogram<u64> = new_histogram();
    let mut received = 0;
    for r in receivers {
        let (h, n) = r.await.map_err(|e| e.to_string())?;
        all.add(&h).map_err(|e| e.to_string())?;
        received += n;
    }
    let sent = sent_in_window.load(Ordering::Relaxed);
    let window = p.duration.as_secs_f64();
    report.figure("target rate (signals/s)", p.rate as f64);
    report.figure("sent rate (signals/s)", sent as f64 / window);
    report.figure("achieved rate (signals/s)", received as f64 / window);
    report.figure("lost", sent.saturating_sub(received) as f64);
    if let (Some(a), Some(b)) = (cpu_start, cpu_end) {
        report.figure("hub CPU (% of one core)", (b - a) / window * 100.0);
    }
    report.latency("signal one-way", all);
    Ok(report)
}

/// Runs `relay` at rising rates until p99 passes `p99_limit_ms` (or the hub stops keeping up);
/// reports every step and the highest passing rate.
pub async fn sweep(
    target: Arc<Target>,
    base: &RelayParams,
    rates: &[u64],
    p99_limit_ms: f64,
) -> Result<Report, String> {
    let mut report = Report::new(
        "relay-sweep",
        target.protocol,
        json!({"pairs": base.pairs, "rates": rates, "p99_limit_ms": p99_limit_ms, "step_s": base.duration.as_secs_f64()}),
    );
    let mut best = 0.0;
    for &rate in rates {
        let step = run(
            Arc::clone(&target),
            &RelayParams {
                rate,
                ..base.clone()
            },
        )
        .await?;
        let achieved = step.get("achieved rate (signals/s)").unwrap_or(0.0);
        let p99 = step
            .latencies
            .first()
            .map(|(_, l)| l.p99_ms)
            .unwrap_or(f64::INFINITY);
        let cpu = step.get("hub CPU (% of one core)");
        let ok = p99 <= p99_limit_ms && achieved >= 0.9 * rate as f64;
        report.rows.push(json!({"rate": rate, "achieved": achieved.round(), "p99_ms": p99, "hub_cpu_pct": cpu, "ok": ok}));
        eprintln!(
            "sweep: {rate}/s -> achieved {achieved:.0}/s, p99 {p99:.2} ms{}",
            if ok { "" } else { "  (limit passed)" }
        );
        if !ok {
            break;
        }
        best = achieved;
        if let Some((_, h)) = step.histograms.into_iter().next() {
            report.histograms = vec![(format!("{rate}/s"), h)];
        }
    }
    report.figure("highest rate with p99 under the limit (signals/s)", best);
    Ok(report)
}
