//! `webrtc`: K pairs of real `webrtc`-crate peers negotiate through the hub on loopback (offer,
//! answer, trickle ICE as `signal`); time until the data channel is open on both sides, and
//! failures.

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
use webrtc::api::setting_engine::SettingEngine;
use webrtc::api::{APIBuilder, API};
use webrtc::data_channel::RTCDataChannel;
use webrtc::ice::mdns::MulticastDnsMode;
use webrtc::ice::network_type::NetworkType;
use webrtc::ice_transport::ice_candidate::{RTCIceCandidate, RTCIceCandidateInit};
use webrtc::peer_connection::configuration::RTCConfiguration;
use webrtc::peer_connection::sdp::session_description::RTCSessionDescription;

#[derive(Debug, Clone)]
pub struct WebrtcParams {
    pub pairs: usize,
    pub timeout: Duration,
}

fn loopback_api() -> API {
    let mut settings = SettingEngine::default();
    settings.set_include_loopback_candidate(true);
    settings.set_ip_filter(Box::new(|ip| ip.is_loopback()));
    settings.set_network_types(vec![NetworkType::Udp4]);
    settings.set_ice_multicast_dns_mode(MulticastDnsMode::Disabled);
    APIBuilder::new().with_setting_engine(settings).build()
}

pub async fn run(target: Arc<Target>, p: &WebrtcParams) -> Result<Report, String> {
    if target.protocol != crate::Protocol::Huddle {
        return Err("webrtc is a Huddle scenario".into());
    }
    let mut report = Report::new("webrtc", target.protocol, json!({"pairs": p.pairs}));
    let who = (0..p.pairs)
        .flat_map(|i| {
            [
                (format!("rtc-{i}"), format!("o-{i}"), Role::Participant),
                (format!("rtc-{i}"), format!("a-{i}"), Role::Participant),
            ]
        })
        .collect();
    let bar = progress(2 * p.pairs as u64, "joining");
    let joined = join_all(&target, who, 50, Some(&bar)).await?;
    bar.finish_and_clear();
    let api = Arc::new(loopback_api());
    let ids: Vec<String> = joined.iter().map(|j| j.id.clone()).collect();
    let started = Instant::now();
    let (done_tx, mut done_rx) = mpsc::unbounded_channel::<(usize, Result<Duration, String>)>();
    for (k, j) in joined.into_iter().enumerate() {
        let api = Arc::clone(&api);
        let partner = ids[k ^ 1].clone();
        let done = done_tx.clone();
        let timeout = p.timeout;
        tokio::spawn(async move {
            let result =
                tokio::time::timeout(timeout, peer(api, j.ws, partner, k % 2 == 0, started))
                    .await
                    .unwrap_or_else(|_| Err("timed out".into()));
            let _ = done.send((k / 2, result));
        });
    }
    drop(done_tx);
    let mut per_pair: Vec<Option<Result<Duration, String>>> = vec![None; p.pairs];
    let mut h = new_histogram();
    let bar = progress(2 * p.pairs as u64, "connecting");
    while let Some((pair, result)) = done_rx.recv().await {
        bar.inc(1);
        per_pair[pair] = Some(match (per_pair[pair].take(), result) {
            (None, r) => r,
            (Some(Ok(a)), Ok(b)) => Ok(a.max(b)),
            (Some(Err(e)), _) | (_, Err(e)) => Err(e),
        });
    }
    bar.finish_and_clear();
    let mut failures = 0;
    for r in per_pair.iter().flatten() {
        match r {
            Ok(d) => h.saturating_record(d.as_micros() as u64),
            Err(_) => failures += 1,
        }
    }
    report.figure("pairs", p.pairs as f64);
    report.figure("pairs connected", (p.pairs - failures) as f64);
    report.figure("failures", failures as f64);
    report.figure("all pairs, wall time (s)", started.elapsed().as_secs_f64());
    report.latency("negotiation start to data channel open", h);
    Ok(report)
}

/// One side of a pair: negotiates through the hub and returns when its data channel is open
/// and a message has crossed it.
async fn peer(
    api: Arc<API>,
    ws: crate::net::Ws,
    partner: String,
    offerer: bool,
    started: Instant,
) -> Result<Duration, String> {
    let (mut sink, mut stream) = ws.split();
    let pc = Arc::new(
        api.new_peer_connection(RTCConfiguration::default())
            .await
            .map_err(|e| e.to_string())?,
    );
    let (local_tx, mut local_rx) = mpsc::unbounded_channel::<Value>();
    let tx = local_tx.clone();
    pc.on_ice_candidate(Box::new(move |c: Option<RTCIceCandidate>| {
        if let Some(init) = c.and_then(|c| c.to_json().ok()) {
            let _ = tx.send(json!({"candidate": init}));
        }
        Box::pin(async {})
    }));
    let (open_tx, mut open_rx) = mpsc::unbounded_channel::<()>();
    let watch = move |dc: &Arc<RTCDataChannel>| {
        let open = open_tx.clone();
        dc.on_open(Box::new(move || {
            let _ = open.send(());
            Box::pin(async {})
        }));
    };
    let _keep;
    if offerer {
        let dc = pc
            .create_data_channel("load", None)
            .await
            .map_err(|e| e.to_string())?;
        watch(&dc);
        _keep = Some(dc);
        let offer = pc.create_offer(None).await.map_err(|e| e.to_string())?;
        pc.set_local_description(offer.clone())
            .await
            .map_err(|e| e.to_string())?;
        let _ = local_tx.send(json!({"description": offer}));
    } else {
        _keep = None;
        pc.on_data_channel(Box::new(move |dc: Arc<RTCDataChannel>| {
            watch(&dc);
            Box::pin(async {})
        }));
    }
    let mut pending: Vec<RTCIceCandidateInit> = Vec::new();
    let mut remote_set = false;
    let result = loop {
        tokio::select! {
            Some(data) = local_rx.recv() => {
                let frame = json!({"type": "signal", "to": partner.parse::<u64>().unwrap_or(0), "data": data});
                sink.send(Message::text(frame.to_string())).await.map_err(|e| e.to_string())?;
            }
            Some(()) = open_rx.recv() => break Ok(started.elapsed()),
            frame = stream.next() => {
                let Some(Ok(Message::Text(text))) = frame else {
                    if frame.is_none() { break Err("hub closed".to_owned()) } else { continue }
                };
                let v: Value = serde_json::from_str(&text).map_err(|e| e.to_string())?;
                if v["type"] != "signal" { continue }
                if let Some(desc) = v["data"].get("description") {
                    let desc: RTCSessionDescription = serde_json::from_value(desc.clone()).map_err(|e| e.to_string())?;
                    pc.set_remote_description(desc).await.map_err(|e| e.to_string())?;
                    remote_set = true;
                    for c in pending.drain(..) {
                        let _ = pc.add_ice_candidate(c).await;
                    }
                    if !offerer {
                        let answer = pc.create_answer(None).await.map_err(|e| e.to_string())?;
                        pc.set_local_description(answer.clone()).await.map_err(|e| e.to_string())?;
                        let _ = local_tx.send(json!({"description": answer}));
                    }
                } else if let Some(c) = v["data"].get("candidate") {
                    let init: RTCIceCandidateInit = serde_json::from_value(c.clone()).map_err(|e| e.to_string())?;
                    if remote_set { let _ = pc.add_ice_candidate(init).await; } else { pending.push(init); }
                }
            }
        }
    };
    // Keep the connection up briefly so the other side also reaches `open`.
    tokio::time::sleep(Duration::from_millis(200)).await;
    let _ = pc.close().await;
    result
}
