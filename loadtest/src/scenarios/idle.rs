//! `idle`: open N authenticated participants in meetings of size M and hold them; joins/s, join
//! latency and the hub's RSS per connection.

use super::join_all;
use crate::net;
use crate::report::{new_histogram, progress, Report};
use crate::{Protocol, Target};
use futures_util::StreamExt;
use huddle::protocol::Role;
use serde_json::json;
use std::sync::Arc;
use std::time::{Duration, Instant};

#[derive(Debug, Clone)]
pub struct IdleParams {
    pub participants: usize,
    pub meeting_size: usize,
    pub concurrency: usize,
    /// How long to hold the connections after the last join before measuring memory.
    pub meeting_prefix: String,
    pub settle: Duration,
}

pub async fn run(target: Arc<Target>, p: &IdleParams) -> Result<Report, String> {
    let mut report = Report::new(
        "idle",
        target.protocol,
        json!({"participants": p.participants, "meeting_size": p.meeting_size, "concurrency": p.concurrency}),
    );
    let rss_before = target.hub_pid.and_then(net::rss_kib);
    let who = (0..p.participants)
        .map(|i| {
            (
                format!("{}-{}", p.meeting_prefix, i / p.meeting_size.max(1)),
                format!("{}-{i}", p.meeting_prefix),
                Role::Participant,
            )
        })
        .collect();
    let bar = progress(p.participants as u64, "joining");
    let started = Instant::now();
    let joined = join_all(&target, who, p.concurrency, Some(&bar)).await?;
    let elapsed = started.elapsed().as_secs_f64();
    bar.finish_and_clear();

    let mut latency = new_histogram();
    let mut holders = Vec::with_capacity(joined.len());
    for j in joined {
        latency.saturating_record(j.join_time.as_micros() as u64);
        // Keep reading (roster events, pings) so the hub sees a healthy client.
        let mut ws = j.ws;
        holders.push(tokio::spawn(async move {
            while let Some(Ok(_)) = ws.next().await {}
        }));
    }
    tokio::time::sleep(p.settle).await;
    let rss_after = target.hub_pid.and_then(net::rss_kib);

    report.figure("participants joined", holders.len() as f64);
    report.figure("joins per second", holders.len() as f64 / elapsed.max(1e-9));
    if let (Some(before), Some(after)) = (rss_before, rss_after) {
        report.figure("hub RSS before (KiB)", before as f64);
        report.figure("hub RSS after (KiB)", after as f64);
        report.figure(
            "hub RSS per connection (KiB)",
            after.saturating_sub(before) as f64 / holders.len().max(1) as f64,
        );
    }
    report.latency("join (connect to welcome)", latency);
    if target.protocol == Protocol::Matchbox {
        report.figure("note: matchbox has no auth step", 0.0);
    }
    for h in holders {
        h.abort();
    }
    Ok(report)
}
