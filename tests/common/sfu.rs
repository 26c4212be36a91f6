//! Synthetic SFU participants on the `webrtc` crate (0.17.2, independent of the hub's `rtc`
//! stack): each publishes a microphone (Opus-shaped packets, 50 a second, with an RFC 6464 audio
//! level) and a camera (VP8-shaped packets, a keyframe every 3 s and on every PLI the hub sends),
//! negotiates with the hub through `sfu_publish` / `sfu_offer` / `sfu_answer`, and reports every
//! packet it receives. Payloads are tagged (publisher, kind, sequence, send time), so receivers
//! attribute packets by what they carry, never by SSRC or slot.
//!
//! Self-contained (a joined WebSocket in, events out): the SFU tests use it, and the load
//! generator's `sfu` scenario includes this same file.
#![allow(dead_code)]

use futures_util::{SinkExt, StreamExt};
use serde_json::{json, Value};
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::Message;
use webrtc::api::interceptor_registry::register_default_interceptors;
use webrtc::api::media_engine::{MediaEngine, MIME_TYPE_OPUS, MIME_TYPE_VP8};
use webrtc::api::setting_engine::SettingEngine;
use webrtc::api::APIBuilder;
use webrtc::ice::mdns::MulticastDnsMode;
use webrtc::ice::network_type::NetworkType;
use webrtc::interceptor::registry::Registry;
use webrtc::peer_connection::configuration::RTCConfiguration;
use webrtc::peer_connection::peer_connection_state::RTCPeerConnectionState;
use webrtc::peer_connection::sdp::session_description::RTCSessionDescription;
use webrtc::peer_connection::RTCPeerConnection;
use webrtc::rtp_transceiver::rtp_codec::{
    RTCRtpCodecCapability, RTCRtpHeaderExtensionCapability, RTPCodecType,
};
use webrtc::rtp_transceiver::rtp_transceiver_direction::RTCRtpTransceiverDirection;
use webrtc::rtp_transceiver::RTCRtpTransceiverInit;
use webrtc::track::track_local::track_local_static_rtp::TrackLocalStaticRTP;
use webrtc::track::track_local::TrackLocalWriter;

/// How long any single expected event may take.
pub const DEADLINE: Duration = Duration::from_secs(10);

/// A joined hub connection (after `welcome`).
pub type Ws =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// Receive slot pairs offered up front: a room of up to 17 without renegotiation.
const SLOT_PAIRS: usize = 16;

const AUDIO_LEVEL_URI: &str = "urn:ietf:params:rtp-hdrext:ssrc-audio-level";
const TAG: &[u8; 2] = b"HD";
/// A video packet's payload size (about 500 kbit/s at the rate below).
const VIDEO_PAYLOAD: usize = 1_100;

/// One received media packet, as its tag says.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Received {
    pub from: u64,
    pub video: bool,
    /// A packet of the publisher's shared screen (a video packet).
    pub screen: bool,
    pub seq: u32,
    pub keyframe: bool,
    /// When the publisher sent it and when it arrived, since the shared epoch (ns).
    pub sent_ns: u64,
    pub recv_ns: u64,
}

/// What a node reports.
#[derive(Debug, Clone)]
pub enum SfuEvent {
    Media(Received),
    /// A frame from the hub (everything but the SFU negotiation, which the node answers).
    Hub(Value),
    /// The one peer connection to the hub changed state.
    State(RTCPeerConnectionState),
}

enum Cmd {
    Hub(Value),
    /// Ask the hub for a keyframe of the video slot carrying this peer (as a decoder that lost
    /// a frame does).
    Pli(u64),
}

/// One synthetic participant.
pub struct SfuNode {
    pub id: u64,
    cmd: mpsc::UnboundedSender<Cmd>,
    pub events: mpsc::UnboundedReceiver<SfuEvent>,
    /// Peer connections this node ever created (must stay 1 across room changes).
    pub connections_made: Arc<AtomicU32>,
    /// Keyframe requests (PLI) the hub sent this node as a publisher.
    pub plis_received: Arc<AtomicU32>,
    /// When this node first read that its connection to the hub was up (ICE and DTLS done).
    pub connected_at: Option<tokio::time::Instant>,
    stop: Arc<AtomicBool>,
}

/// One clock for every node in the test process, so send and receive times compare.
pub fn epoch_ns() -> u64 {
    static EPOCH: std::sync::OnceLock<Instant> = std::sync::OnceLock::new();
    EPOCH.get_or_init(Instant::now).elapsed().as_nanos() as u64
}

fn tag(from: u64, video: bool, seq: u32, keyframe: bool) -> Vec<u8> {
    tag_feed(from, u8::from(video), seq, keyframe)
}

/// `feed`: 0 microphone, 1 camera, 2 screen.
fn tag_feed(from: u64, feed: u8, seq: u32, keyframe: bool) -> Vec<u8> {
    let video = feed > 0;
    let mut p = Vec::with_capacity(if video { VIDEO_PAYLOAD } else { 100 });
    if video {
        // VP8 payload descriptor (S=1, partition 0), then the frame tag's inverse key bit.
        p.push(0x10);
        p.push(if keyframe { 0x00 } else { 0x01 });
    }
    p.extend_from_slice(TAG);
    p.extend_from_slice(&from.to_be_bytes());
    p.push(feed);
    p.extend_from_slice(&seq.to_be_bytes());
    p.extend_from_slice(&epoch_ns().to_be_bytes());
    p.resize(if video { VIDEO_PAYLOAD } else { 100 }, 0xAB);
    p
}

fn untag(payload: &[u8]) -> Option<Received> {
    let at = payload.windows(2).position(|w| w == TAG)?;
    let b = payload.get(at + 2..at + 2 + 8 + 1 + 4 + 8)?;
    let from = u64::from_be_bytes(b[0..8].try_into().ok()?);
    let video = b[8] >= 1;
    let screen = b[8] == 2;
    let seq = u32::from_be_bytes(b[9..13].try_into().ok()?);
    let sent_ns = u64::from_be_bytes(b[13..21].try_into().ok()?);
    let keyframe = video && payload.get(1) == Some(&0x00);
    Some(Received {
        from,
        video,
        screen,
        seq,
        keyframe,
        sent_ns,
        recv_ns: epoch_ns(),
    })
}

async fn new_pc(config: RTCConfiguration) -> Arc<RTCPeerConnection> {
    let mut media = MediaEngine::default();
    media.register_default_codecs().expect("codecs");
    media
        .register_header_extension(
            RTCRtpHeaderExtensionCapability {
                uri: AUDIO_LEVEL_URI.to_owned(),
            },
            RTPCodecType::Audio,
            None,
        )
        .expect("audio level");
    let registry = register_default_interceptors(Registry::new(), &mut media).expect("registry");
    let mut settings = SettingEngine::default();
    settings.set_include_loopback_candidate(true);
    settings.set_ip_filter(Box::new(|ip| ip.is_loopback()));
    settings.set_network_types(vec![NetworkType::Udp4]);
    settings.set_ice_multicast_dns_mode(MulticastDnsMode::Disabled);
    let api = APIBuilder::new()
        .with_media_engine(media)
        .with_interceptor_registry(registry)
        .with_setting_engine(settings)
        .build();
    Arc::new(
        api.new_peer_connection(config)
            .await
            .expect("peer connection"),
    )
}

impl SfuNode {
    /// Takes over a joined client; publishes audio and video unless `publish` is false (then it
    /// sends `sfu_publish` without an offer, as observers do).
    pub async fn start(id: u64, ws: Ws, publish: bool) -> SfuNode {
        Self::start_with(id, ws, publish, RTCConfiguration::default()).await
    }

    /// As [`SfuNode::start`], with the peer connection configured by `config` (ICE servers, a
    /// relay-only policy).
    pub async fn start_with(id: u64, ws: Ws, publish: bool, config: RTCConfiguration) -> SfuNode {
        Self::spawn(id, ws, (publish, false, config)).await
    }

    /// As [`SfuNode::start`], also offering a screen section (the second sending video) and
    /// sending a synthetic shared screen on it (10 frames a second, tagged as the screen). The
    /// hub forwards it once `media_state {screen: true}` is accepted.
    pub async fn start_sharing(id: u64, ws: Ws) -> SfuNode {
        Self::spawn(id, ws, (true, true, RTCConfiguration::default())).await
    }

    async fn spawn(id: u64, ws: Ws, setup: (bool, bool, RTCConfiguration)) -> SfuNode {
        let (cmd_tx, cmd_rx) = mpsc::unbounded_channel();
        let (ev_tx, ev_rx) = mpsc::unbounded_channel();
        let made = Arc::new(AtomicU32::new(0));
        let plis = Arc::new(AtomicU32::new(0));
        let stop = Arc::new(AtomicBool::new(false));
        tokio::spawn(run(
            id,
            ws,
            setup,
            cmd_rx,
            ev_tx,
            [Arc::clone(&made), Arc::clone(&plis)],
            Arc::clone(&stop),
        ));
        SfuNode {
            id,
            cmd: cmd_tx,
            events: ev_rx,
            connections_made: made,
            plis_received: plis,
            connected_at: None,
            stop,
        }
    }

    pub fn hub(&self, frame: Value) {
        let _ = self.cmd.send(Cmd::Hub(frame));
    }

    /// Sends a PLI for the video slot that carries `peer` now.
    pub fn pli(&self, peer: u64) {
        let _ = self.cmd.send(Cmd::Pli(peer));
    }

    /// Sends hub frames for this node from elsewhere (another task).
    pub fn sender(&self) -> Box<dyn Fn(Value) + Send + Sync> {
        let tx = self.cmd.clone();
        Box::new(move |frame| {
            let _ = tx.send(Cmd::Hub(frame));
        })
    }

    /// The next event within `give_up`.
    pub async fn next(&mut self, give_up: tokio::time::Instant) -> Option<SfuEvent> {
        let event = tokio::time::timeout_at(give_up, self.events.recv())
            .await
            .ok()
            .flatten();
        if let Some(SfuEvent::State(RTCPeerConnectionState::Connected)) = &event {
            self.connected_at
                .get_or_insert_with(tokio::time::Instant::now);
        }
        event
    }

    /// Waits for a hub frame matching `pred`, collecting media meanwhile into `media`.
    pub async fn hub_frame(
        &mut self,
        media: &mut Vec<Received>,
        pred: impl Fn(&Value) -> bool,
    ) -> Value {
        let give_up = tokio::time::Instant::now() + DEADLINE;
        loop {
            match self.next(give_up).await {
                Some(SfuEvent::Hub(v)) if pred(&v) => return v,
                Some(SfuEvent::Media(r)) => media.push(r),
                Some(_) => {}
                None => panic!("node {}: the expected hub frame never came", self.id),
            }
        }
    }

    /// Collects media for `span`, keeping hub frames in `hub`.
    pub async fn collect(&mut self, span: Duration, hub: &mut Vec<Value>) -> Vec<Received> {
        let give_up = tokio::time::Instant::now() + span;
        let mut media = Vec::new();
        loop {
            match self.next(give_up).await {
                Some(SfuEvent::Media(r)) => media.push(r),
                Some(SfuEvent::Hub(v)) => hub.push(v),
                Some(_) => {}
                None => return media,
            }
        }
    }

    /// Waits until media from every one of `from` (video keyframe included) has arrived;
    /// returns how long each took, from now.
    pub async fn until_seen(&mut self, from: &[u64], within: Duration) -> Vec<(u64, Duration)> {
        match self.try_until_seen(from, within).await {
            Ok(seen) => seen,
            Err(why) => panic!("{why}"),
        }
    }

    /// As [`SfuNode::until_seen`], saying what was missing instead of panicking.
    pub async fn try_until_seen(
        &mut self,
        from: &[u64],
        within: Duration,
    ) -> Result<Vec<(u64, Duration)>, String> {
        let start = tokio::time::Instant::now();
        let give_up = start + within;
        let mut seen: Vec<(u64, Duration)> = Vec::new();
        let mut audio: Vec<u64> = Vec::new();
        while seen.len() < from.len() || audio.len() < from.len() {
            match self.next(give_up).await {
                Some(SfuEvent::Media(r)) if from.contains(&r.from) => {
                    if r.keyframe && !seen.iter().any(|(p, _)| *p == r.from) {
                        seen.push((r.from, start.elapsed()));
                    }
                    if !r.video && !audio.contains(&r.from) {
                        audio.push(r.from);
                    }
                }
                Some(_) => {}
                None => {
                    return Err(format!(
                        "node {}: keyframes seen from {:?}, audio from {:?}, of {:?}",
                        self.id, seen, audio, from
                    ))
                }
            }
        }
        Ok(seen)
    }

    pub fn stop(&self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

impl Drop for SfuNode {
    fn drop(&mut self) {
        self.stop();
    }
}

async fn run(
    id: u64,
    ws: Ws,
    (publish, screen, config): (bool, bool, RTCConfiguration),
    mut cmds: mpsc::UnboundedReceiver<Cmd>,
    events: mpsc::UnboundedSender<SfuEvent>,
    [made, plis]: [Arc<AtomicU32>; 2],
    stop: Arc<AtomicBool>,
) {
    // Video slots: mid → the SSRC the hub sends on it (from `on_track`), and peer → mid (from
    // `sfu_tracks`), for `Cmd::Pli`.
    let ssrc_of_mid: Arc<std::sync::Mutex<std::collections::HashMap<String, u32>>> = Arc::default();
    let mut mid_of_peer: std::collections::HashMap<u64, String> = std::collections::HashMap::new();
    let (mut ws_tx, mut ws_rx) = ws.split();
    let pc = new_pc(config).await;
    made.fetch_add(1, Ordering::Relaxed);
    let (up_tx, mut up) = tokio::sync::watch::channel(false);
    {
        let events = events.clone();
        pc.on_peer_connection_state_change(Box::new(move |s| {
            if s == RTCPeerConnectionState::Connected {
                let _ = up_tx.send(true);
            }
            let _ = events.send(SfuEvent::State(s));
            Box::pin(async {})
        }));
    }
    {
        let events = events.clone();
        let stop = Arc::clone(&stop);
        let ssrc_of_mid = Arc::clone(&ssrc_of_mid);
        pc.on_track(Box::new(move |track, _, transceiver| {
            let events = events.clone();
            let stop = Arc::clone(&stop);
            if let Some(mid) = transceiver.mid() {
                if let Ok(mut map) = ssrc_of_mid.lock() {
                    map.insert(mid.to_string(), track.ssrc());
                }
            }
            // Each slot's reader runs for the connection's life (one per m-line).
            tokio::spawn(async move {
                while let Ok((packet, _)) = track.read_rtp().await {
                    if stop.load(Ordering::Relaxed) {
                        break;
                    }
                    if let Some(r) = untag(&packet.payload) {
                        if events.send(SfuEvent::Media(r)).is_err() {
                            break;
                        }
                    }
                }
            });
            Box::pin(async {})
        }));
    }
    let keyframe_now = Arc::new(AtomicBool::new(true));
    let mut first = json!({"type": "sfu_publish", "id": 1});
    // Receive slots first (the hub fills them in its answer), then what this node sends.
    for _ in 0..SLOT_PAIRS {
        for kind in [RTPCodecType::Audio, RTPCodecType::Video] {
            pc.add_transceiver_from_kind(
                kind,
                Some(RTCRtpTransceiverInit {
                    direction: RTCRtpTransceiverDirection::Recvonly,
                    send_encodings: vec![],
                }),
            )
            .await
            .expect("receive slot");
        }
    }
    if publish {
        let audio = Arc::new(TrackLocalStaticRTP::new(
            RTCRtpCodecCapability {
                mime_type: MIME_TYPE_OPUS.to_owned(),
                clock_rate: 48000,
                channels: 2,
                ..Default::default()
            },
            "mic".into(),
            format!("p{id}"),
        ));
        let video = vp8_track("camera", format!("p{id}"));
        let init = || {
            Some(RTCRtpTransceiverInit {
                direction: RTCRtpTransceiverDirection::Sendonly,
                send_encodings: vec![],
            })
        };
        pc.add_transceiver_from_track(audio.clone(), init())
            .await
            .expect("audio");
        let video_transceiver = pc
            .add_transceiver_from_track(video.clone(), init())
            .await
            .expect("video");
        // The hub's keyframe requests: send one at once.
        watch_plis(
            video_transceiver.sender().await,
            Arc::clone(&keyframe_now),
            Some(Arc::clone(&plis)),
        );
        if screen {
            let track = vp8_track("screen", format!("s{id}"));
            let transceiver = pc
                .add_transceiver_from_track(track.clone(), init())
                .await
                .expect("screen");
            let key = Arc::new(AtomicBool::new(true));
            watch_plis(transceiver.sender().await, Arc::clone(&key), None);
            tokio::spawn(screen_loop(id, track, key, Arc::clone(&stop)));
        }
        tokio::spawn(publish_loop(
            id,
            audio,
            video,
            Arc::clone(&keyframe_now),
            Arc::clone(&stop),
        ));
    }
    let offer = pc.create_offer(None).await.expect("offer");
    pc.set_local_description(offer.clone())
        .await
        .expect("local offer");
    first["sdp"] = json!(offer.sdp);
    let send = |v: Value| Message::Text(v.to_string().into());
    if ws_tx.send(send(first)).await.is_err() {
        return;
    }
    loop {
        tokio::select! {
            frame = ws_rx.next() => {
                let text = match frame {
                    Some(Ok(Message::Text(text))) => text,
                    // tungstenite queued the pong; it leaves with the next flush.
                    Some(Ok(Message::Ping(_))) => {
                        if ws_tx.flush().await.is_err() { break; }
                        continue;
                    }
                    Some(Ok(Message::Close(_))) | Some(Err(_)) | None => break,
                    Some(Ok(_)) => continue,
                };
                let Ok(v) = serde_json::from_str::<Value>(&text) else { continue };
                match v["type"].as_str() {
                    Some("sfu_publish_answer") => {
                        let sdp = v["sdp"].as_str().unwrap_or_default().to_owned();
                        let answer = RTCSessionDescription::answer(sdp).expect("answer");
                        pc.set_remote_description(answer).await.expect("hub answer applies");
                        // webrtc-rs starts its ICE transport in a task of its own; an offer
                        // applied before that finished is taken for an ICE restart
                        // (ErrRestartWhenGathering). Browsers do not do this; wait it out.
                        let _ = tokio::time::timeout(DEADLINE, up.wait_for(|c| *c)).await;
                    }
                    Some("sfu_offer") => {
                        let sdp = v["sdp"].as_str().unwrap_or_default().to_owned();
                        let offer = RTCSessionDescription::offer(sdp).expect("offer");
                        pc.set_remote_description(offer).await.expect("hub offer applies");
                        let answer = pc.create_answer(None).await.expect("answer");
                        pc.set_local_description(answer.clone()).await.expect("local answer");
                        let reply = json!({"type": "sfu_answer", "rev": v["rev"], "sdp": answer.sdp});
                        if ws_tx.send(send(reply)).await.is_err() { break; }
                    }
                    _ => {
                        if v["type"] == "sfu_tracks" {
                            for slot in v["slots"].as_array().into_iter().flatten() {
                                if let (Some("video"), Some(mid)) = (slot["kind"].as_str(), slot["mid"].as_str()) {
                                    if let Some(peer) = slot["peer"].as_u64() {
                                        mid_of_peer.insert(peer, mid.to_owned());
                                    }
                                }
                            }
                        }
                        // When this client learned it (for the isolation rule: packets sent
                        // after a client knew of a change must follow it).
                        let mut v = v;
                        v["_at"] = json!(epoch_ns());
                        let _ = events.send(SfuEvent::Hub(v));
                    }
                }
            }
            cmd = cmds.recv() => match cmd {
                Some(Cmd::Hub(frame)) => { if ws_tx.send(send(frame)).await.is_err() { break; } }
                Some(Cmd::Pli(peer)) => {
                    let ssrc = mid_of_peer
                        .get(&peer)
                        .and_then(|mid| ssrc_of_mid.lock().ok()?.get(mid).copied());
                    if let Some(media_ssrc) = ssrc {
                        let pli = webrtc::rtcp::payload_feedbacks::picture_loss_indication::PictureLossIndication {
                            sender_ssrc: 0,
                            media_ssrc,
                        };
                        let _ = pc.write_rtcp(&[Box::new(pli)]).await;
                    }
                }
                None => {
                    // The node was dropped: leave properly (a close frame, not a drop the hub
                    // would hold the seat for), and wait for the hub's reply as browsers do.
                    // Shutting the socket with the hub's frames unread would reset it, and
                    // the hub could see the reset before our close frame.
                    let _ = ws_tx.send(Message::Close(None)).await;
                    let _ = tokio::time::timeout(DEADLINE, async {
                        while let Some(Ok(m)) = ws_rx.next().await {
                            if matches!(m, Message::Close(_)) {
                                break;
                            }
                        }
                    })
                    .await;
                    break;
                }
            },
        }
    }
    stop.store(true, Ordering::Relaxed);
    let _ = pc.close().await;
}

/// 50 audio packets a second; video at about 500 kbit/s in 1,100-byte packets (about 57 a
/// second), a keyframe every 3 s or when asked.
async fn publish_loop(
    id: u64,
    audio: Arc<TrackLocalStaticRTP>,
    video: Arc<TrackLocalStaticRTP>,
    keyframe_now: Arc<AtomicBool>,
    stop: Arc<AtomicBool>,
) {
    use webrtc::rtp::extension::audio_level_extension::AudioLevelExtension;
    use webrtc::rtp::extension::HeaderExtension;
    let mut tick = tokio::time::interval(Duration::from_millis(20));
    let (mut aseq, mut vseq) = (0u32, 0u32);
    let mut last_key = Instant::now();
    let mut n = 0u64;
    while !stop.load(Ordering::Relaxed) {
        tick.tick().await;
        n += 1;
        let packet =
            |seq: u32, payload: Vec<u8>, ts: u32, marker: bool| webrtc::rtp::packet::Packet {
                header: webrtc::rtp::header::Header {
                    version: 2,
                    sequence_number: seq as u16,
                    timestamp: ts,
                    marker,
                    ..Default::default()
                },
                payload: payload.into(),
            };
        // The publisher with the lowest id speaks loudest.
        let level = AudioLevelExtension {
            level: (20 + (id % 50)) as u8,
            voice: true,
        };
        let _ = audio
            .write_rtp_with_extensions(
                &packet(aseq, tag(id, false, aseq, false), aseq * 960, false),
                &[HeaderExtension::AudioLevel(level)],
            )
            .await;
        aseq += 1;
        // One frame every 20 ms, 1 packet, plus one more every 7th frame (~57 packets/s).
        let frames = if n.is_multiple_of(7) { 2 } else { 1 };
        let key = keyframe_now.swap(false, Ordering::Relaxed)
            || last_key.elapsed() >= Duration::from_secs(3);
        if key {
            last_key = Instant::now();
        }
        for i in 0..frames {
            let first = i == 0;
            let mut payload = tag(id, true, vseq, key && first);
            if !first {
                // A continuation packet of the frame (S=0): never a switch point.
                payload[0] = 0x00;
            }
            let _ = video
                .write_rtp(&packet(vseq, payload, (n as u32) * 1800, i == frames - 1))
                .await;
            vseq += 1;
        }
    }
}

fn vp8_track(id: &str, stream: String) -> Arc<TrackLocalStaticRTP> {
    Arc::new(TrackLocalStaticRTP::new(
        RTCRtpCodecCapability {
            mime_type: MIME_TYPE_VP8.to_owned(),
            clock_rate: 90000,
            ..Default::default()
        },
        id.into(),
        stream,
    ))
}

/// Sets `keyframe_now` (and counts) on every PLI the hub sends for `sender`'s stream.
fn watch_plis(
    sender: Arc<webrtc::rtp_transceiver::rtp_sender::RTCRtpSender>,
    keyframe_now: Arc<AtomicBool>,
    count: Option<Arc<AtomicU32>>,
) {
    tokio::spawn(async move {
        while let Ok((packets, _)) = sender.read_rtcp().await {
            if packets.iter().any(|p| {
                p.as_any()
                    .is::<webrtc::rtcp::payload_feedbacks::picture_loss_indication::PictureLossIndication>()
            }) {
                if let Some(count) = &count {
                    count.fetch_add(1, Ordering::Relaxed);
                }
                keyframe_now.store(true, Ordering::Relaxed);
            }
        }
    });
}

/// A shared screen: 10 one-packet frames a second, a keyframe every 3 s or when asked.
async fn screen_loop(
    id: u64,
    track: Arc<TrackLocalStaticRTP>,
    keyframe_now: Arc<AtomicBool>,
    stop: Arc<AtomicBool>,
) {
    let mut tick = tokio::time::interval(Duration::from_millis(100));
    let mut seq = 0u32;
    let mut last_key = Instant::now();
    while !stop.load(Ordering::Relaxed) {
        tick.tick().await;
        let key = keyframe_now.swap(false, Ordering::Relaxed)
            || last_key.elapsed() >= Duration::from_secs(3);
        if key {
            last_key = Instant::now();
        }
        let packet = webrtc::rtp::packet::Packet {
            header: webrtc::rtp::header::Header {
                version: 2,
                sequence_number: seq as u16,
                timestamp: seq * 9000,
                marker: true,
                ..Default::default()
            },
            payload: tag_feed(id, 2, seq, key).into(),
        };
        let _ = track.write_rtp(&packet).await;
        seq += 1;
    }
}

/// Sends a frame and waits for its `ack` (or panics on `error`).
pub async fn act(node: &mut SfuNode, mut frame: Value) -> Vec<Value> {
    frame["id"] = json!(4242);
    node.hub(frame);
    let mut media = Vec::new();
    let mut seen = Vec::new();
    let give_up = tokio::time::Instant::now() + DEADLINE;
    loop {
        match node.next(give_up).await {
            Some(SfuEvent::Hub(v)) => {
                let done = v["ref"] == json!(4242);
                if done && v["type"] == "error" {
                    panic!("refused: {v}");
                }
                seen.push(v);
                if done {
                    return seen;
                }
            }
            Some(SfuEvent::Media(r)) => media.push(r),
            Some(_) => {}
            None => panic!("no ack"),
        }
    }
}

/// What one node saw in a window after a change it learned of at `t_change`.
#[derive(Debug)]
pub struct Window {
    /// Packets from people who were not roommates, sent after the node knew they were not.
    pub violations: Vec<Received>,
    /// For each roommate, how long after `t_change` their first keyframe arrived.
    pub keyframes: Vec<(u64, Option<Duration>)>,
    /// Packets received in the window.
    pub packets: usize,
}

/// Collects `span` of media on `node` and judges it against `roommates` as of `t_change` (ns).
pub async fn window(
    node: &mut SfuNode,
    t_change: u64,
    roommates: &[u64],
    span: Duration,
) -> Window {
    let mut hub = Vec::new();
    let media = node.collect(span, &mut hub).await;
    let violations = media
        .iter()
        .filter(|r| !roommates.contains(&r.from) && r.sent_ns > t_change)
        .copied()
        .collect();
    let keyframes = roommates
        .iter()
        .map(|p| {
            let first = media
                .iter()
                .find(|r| r.from == *p && r.keyframe && r.sent_ns > t_change)
                .map(|r| Duration::from_nanos(r.recv_ns.saturating_sub(t_change)));
            (*p, first)
        })
        .collect();
    Window {
        violations,
        keyframes,
        packets: media.len(),
    }
}

/// The ids of `peers` (a roster) other than `me`.
pub fn others(peers: &Value, me: u64) -> Vec<u64> {
    peers
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|p| p["id"].as_u64())
                .filter(|id| *id != me)
                .collect()
        })
        .unwrap_or_default()
}
