//! `breakouts`: one large meeting split into rooms of K and merged back, repeatedly; the time
//! until every participant has its `room_changed`.

use super::join_all;
use crate::report::{new_histogram, progress, Report};
use crate::Target;
use futures_util::{SinkExt, StreamExt};
use huddle::protocol::Role;
use serde_json::{json, Value};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::Message;

#[derive(Debug, Clone)]
pub struct BreakoutParams {
    pub participants: usize,
    pub room_size: usize,
    pub rounds: usize,
}

/// Longest wait for one split or merge to reach everyone.
const STEP_DEADLINE: Duration = Duration::from_secs(60);

pub async fn run(target: Arc<Target>, p: &BreakoutParams) -> Result<Report, String> {
    if target.protocol != crate::Protocol::Huddle {
        return Err("breakouts is a Huddle scenario".into());
    }
    let mut report = Report::new(
        "breakouts",
        target.protocol,
        json!({"participants": p.participants, "room_size": p.room_size, "rounds": p.rounds}),
    );
    let mut who = vec![("breakouts".to_owned(), "host".to_owned(), Role::Host)];
    who.extend(
        (0..p.participants).map(|i| ("breakouts".to_owned(), format!("b-{i}"), Role::Participant)),
    );
    let bar = progress(who.len() as u64, "joining");
    let mut joined = join_all(&target, who, 50, Some(&bar)).await?;
    bar.finish_and_clear();

    // Every participant reports the moment it sees a room_changed.
    let (tx, mut rx) = mpsc::unbounded_channel::<Instant>();
    let host = joined.remove(0);
    let mut readers = Vec::new();
    for j in joined {
        let tx = tx.clone();
        let mut ws = j.ws;
        readers.push(tokio::spawn(async move {
            while let Some(Ok(frame)) = ws.next().await {
                if let Message::Text(text) = frame {
                    // A substring check: the big `rooms` list is never parsed.
                    if text.starts_with("{\"type\":\"room_changed\"") {
                        let _ = tx.send(Instant::now());
                    }
                }
            }
        }));
    }
    let (mut host_sink, mut host_stream) = host.ws.split();
    let (ack_tx, mut ack_rx) = mpsc::unbounded_channel::<Value>();
    readers.push(tokio::spawn(async move {
        while let Some(Ok(frame)) = host_stream.next().await {
            if let Message::Text(text) = frame {
                if text.starts_with("{\"type\":\"ack\"") || text.starts_with("{\"type\":\"error\"")
                {
                    let _ = ack_tx.send(serde_json::from_str(&text).unwrap_or(Value::Null));
                }
            }
        }
    }));

    let rooms = p.participants.div_ceil(p.room_size.max(1)).max(1);
    let mut split_hist = new_histogram();
    let mut merge_hist = new_histogram();
    let mut split_all = new_histogram();
    let mut merge_all = new_histogram();
    let steps = [
        (
            "split",
            json!({"type": "split", "strategy": "even", "count": rooms}),
        ),
        ("merge", json!({"type": "merge"})),
    ];
    for round in 0..p.rounds {
        for (name, frame) in &steps {
            let mut frame = frame.clone();
            frame["id"] = json!(round);
            let started = Instant::now();
            host_sink
                .send(Message::text(frame.to_string()))
                .await
                .map_err(|e| e.to_string())?;
            let mut last = Duration::ZERO;
            for _ in 0..p.participants {
                let at = tokio::time::timeout(STEP_DEADLINE, rx.recv())
                    .await
                    .map_err(|_| format!("{name}: not everyone got room_changed in time"))?
                    .ok_or("participants gone")?;
                let took = at.saturating_duration_since(started);
                last = last.max(took);
                let h = if *name == "split" {
                    &mut split_hist
                } else {
                    &mut merge_hist
                };
                h.saturating_record(took.as_micros() as u64);
            }
            let answer = tokio::time::timeout(STEP_DEADLINE, ack_rx.recv())
                .await
                .map_err(|_| "no ack")?
                .ok_or("host gone")?;
            if answer["type"] != "ack" {
                return Err(format!("{name} refused: {answer}"));
            }
            let all = if *name == "split" {
                &mut split_all
            } else {
                &mut merge_all
            };
            all.saturating_record(last.as_micros() as u64);
            report.rows.push(json!({"round": round, "step": name, "everyone_notified_ms": last.as_secs_f64() * 1000.0}));
        }
    }
    report.figure("participants", p.participants as f64);
    report.figure("breakout rooms", rooms as f64);
    report.latency("split: per participant", split_hist);
    report.latency("merge: per participant", merge_hist);
    report.latency("split: everyone notified", split_all);
    report.latency("merge: everyone notified", merge_all);
    for r in readers {
        r.abort();
    }
    Ok(report)
}
