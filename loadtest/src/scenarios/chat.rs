//! `chat`: S meetings × M participants, each sending a group message at a fixed interval; fan-out
//! delivery latency (to the others in the room) and deliveries/s.

use super::{join_all, number_after};
use crate::net::now_nanos;
use crate::report::{new_histogram, progress, Report};
use crate::Target;
use futures_util::{SinkExt, StreamExt};
use huddle::protocol::Role;
use serde_json::json;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;
use tokio_tungstenite::tungstenite::Message;

#[derive(Debug, Clone)]
pub struct ChatParams {
    pub meetings: usize,
    pub size: usize,
    pub interval: Duration,
    pub duration: Duration,
    /// Messages sent before this much time has passed are delivered but not measured (the join
    /// storm of tens of thousands of sockets is still settling).
    pub warmup: Duration,
}

pub async fn run(target: Arc<Target>, p: &ChatParams) -> Result<Report, String> {
    if target.protocol != crate::Protocol::Huddle {
        return Err("chat is a Huddle scenario".into());
    }
    let mut report = Report::new(
        "chat",
        target.protocol,
        json!({"meetings": p.meetings, "size": p.size, "interval_s": p.interval.as_secs_f64(), "duration_s": p.duration.as_secs_f64(), "warmup_s": p.warmup.as_secs_f64()}),
    );
    let total = p.meetings * p.size;
    let who = (0..total)
        .map(|i| {
            (
                format!("chat-{}", i / p.size),
                format!("c-{i}"),
                Role::Participant,
            )
        })
        .collect();
    let bar = progress(total as u64, "joining");
    let joined = join_all(&target, who, 100, Some(&bar)).await?;
    bar.finish_and_clear();

    let measure_from = now_nanos() + p.warmup.as_nanos() as u64;
    let until = measure_from + p.duration.as_nanos() as u64;
    let (stop_tx, stop_rx) = watch::channel(false);
    let mut tasks = Vec::new();
    let interval_ns = p.interval.as_nanos() as u64;
    for (k, j) in joined.into_iter().enumerate() {
        let own = format!("\"from\":{},", j.id);
        let (mut sink, mut stream) = j.ws.split();
        let mut stop = stop_rx.clone();
        tasks.push(tokio::spawn(async move {
            let mut h = new_histogram();
            // Spread first messages over the interval so the load is steady.
            let offset = interval_ns * (k as u64 % 97) / 97;
            let mut next_send = now_nanos() + offset;
            loop {
                let wait = Duration::from_nanos(next_send.saturating_sub(now_nanos()));
                tokio::select! {
                    frame = stream.next() => {
                        let Some(Ok(Message::Text(text))) = frame else {
                            if frame.is_none() { break } else { continue }
                        };
                        if text.contains("\"type\":\"chat\"") && !text.contains(own.as_str()) {
                            if let Some(t) = number_after(&text, "\"text\":\"") {
                                if t >= measure_from {
                                    h.saturating_record(now_nanos().saturating_sub(t) / 1000);
                                }
                            }
                        }
                    }
                    _ = tokio::time::sleep(wait), if next_send < until => {
                        let frame = json!({"type": "chat", "text": now_nanos().to_string()}).to_string();
                        if sink.send(Message::text(frame)).await.is_err() { break }
                        next_send += interval_ns;
                    }
                    _ = stop.changed() => break,
                }
            }
            h
        }));
    }
    tokio::time::sleep(p.warmup + p.duration + Duration::from_millis(500)).await;
    let _ = stop_tx.send(true);
    let mut all = new_histogram();
    for t in tasks {
        all.add(t.await.map_err(|e| e.to_string())?)
            .map_err(|e| e.to_string())?;
    }
    report.figure("participants", total as f64);
    report.figure(
        "deliveries per second",
        all.len() as f64 / p.duration.as_secs_f64(),
    );
    report.latency("chat fan-out delivery", all);
    Ok(report)
}
