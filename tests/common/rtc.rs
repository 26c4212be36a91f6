//! Real WebRTC peers (the `webrtc` crate) that negotiate through the hub: offer/answer and
//! trickle ICE travel as `signal` frames; each pair opens a data channel on loopback.
//!
//! A node follows the room: it connects to everyone the hub says is in its room (welcome,
//! peer_joined, room_changed, peer_reconnected) and tears down connections to those who left or
//! whose connection dropped (peer_left, peer_reconnecting). Of each pair, the peer with the lower
//! id makes the offer, so there is no glare.
#![allow(dead_code)]

use crate::common::{Client, DEADLINE};
use futures_util::{SinkExt, StreamExt};
use serde_json::{json, Value};
use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::Message;
use webrtc::api::setting_engine::SettingEngine;
use webrtc::api::{APIBuilder, API};
use webrtc::data_channel::data_channel_message::DataChannelMessage;
use webrtc::data_channel::RTCDataChannel;
use webrtc::ice::mdns::MulticastDnsMode;
use webrtc::ice::network_type::NetworkType;
use webrtc::ice_transport::ice_candidate::{RTCIceCandidate, RTCIceCandidateInit};
use webrtc::peer_connection::configuration::RTCConfiguration;
use webrtc::peer_connection::peer_connection_state::RTCPeerConnectionState;
use webrtc::peer_connection::sdp::session_description::RTCSessionDescription;
use webrtc::peer_connection::RTCPeerConnection;

/// What a node reports to the test.
#[derive(Debug, Clone, PartialEq)]
pub enum RtcEvent {
    /// The data channel to this peer is open.
    Open(u64),
    /// A data-channel message from this peer.
    Message(u64, String),
    /// The connection to this peer was torn down (it left the room).
    Closed(u64),
    /// A frame from the hub other than signaling.
    Hub(Value),
}

enum Cmd {
    /// Send `text` over the data channel to a peer.
    Send(u64, String),
    /// Send a frame to the hub.
    Hub(Value),
    /// The network drops: the hub socket ends without a close frame, the peer connections close.
    DropNetwork,
}

/// Internal notices from WebRTC callbacks to the node task.
enum Local {
    Candidate(u64, RTCIceCandidateInit),
    Channel(u64, Arc<RTCDataChannel>),
}

struct Link {
    pc: Arc<RTCPeerConnection>,
    channel: Option<Arc<RTCDataChannel>>,
    /// Candidates that arrived before the remote description.
    pending: Vec<RTCIceCandidateInit>,
    remote_set: bool,
}

/// A hub client with a WebRTC mesh to the others in its room.
pub struct RtcNode {
    pub id: u64,
    cmd: mpsc::UnboundedSender<Cmd>,
    pub events: mpsc::UnboundedReceiver<RtcEvent>,
    /// Peers whose data channel is open, as of the events consumed so far.
    pub open: HashSet<u64>,
}

fn loopback_api() -> API {
    let mut settings = SettingEngine::default();
    settings.set_include_loopback_candidate(true);
    settings.set_ip_filter(Box::new(|ip| ip.is_loopback()));
    settings.set_network_types(vec![NetworkType::Udp4]);
    settings.set_ice_multicast_dns_mode(MulticastDnsMode::Disabled);
    APIBuilder::new().with_setting_engine(settings).build()
}

impl RtcNode {
    /// Takes over a joined client and starts following its room.
    pub fn start(client: Client) -> RtcNode {
        let id = client.id;
        let (cmd_tx, cmd_rx) = mpsc::unbounded_channel();
        let (ev_tx, ev_rx) = mpsc::unbounded_channel();
        tokio::spawn(run(client, cmd_rx, ev_tx));
        RtcNode {
            id,
            cmd: cmd_tx,
            events: ev_rx,
            open: HashSet::new(),
        }
    }

    pub fn send(&self, to: u64, text: &str) {
        let _ = self.cmd.send(Cmd::Send(to, text.to_owned()));
    }

    pub fn hub(&self, frame: Value) {
        let _ = self.cmd.send(Cmd::Hub(frame));
    }

    /// Simulates a network drop (see [`Cmd::DropNetwork`]).
    pub fn drop_network(&self) {
        let _ = self.cmd.send(Cmd::DropNetwork);
    }

    /// The next event, within `give_up`; keeps [`RtcNode::open`] current.
    async fn next_event(&mut self, give_up: tokio::time::Instant) -> RtcEvent {
        let event = tokio::time::timeout_at(give_up, self.events.recv())
            .await
            .unwrap_or_else(|_| {
                panic!(
                    "node {}: expected WebRTC event never came (open: {:?})",
                    self.id, self.open
                )
            })
            .expect("node task alive");
        match &event {
            RtcEvent::Open(p) => {
                self.open.insert(*p);
            }
            RtcEvent::Closed(p) => {
                self.open.remove(p);
            }
            _ => {}
        }
        event
    }

    /// Waits (with a deadline) for an event matching `pred`.
    pub async fn until(&mut self, pred: impl Fn(&RtcEvent) -> bool) -> RtcEvent {
        let give_up = tokio::time::Instant::now() + DEADLINE * 3;
        loop {
            let event = self.next_event(give_up).await;
            if pred(&event) {
                return event;
            }
        }
    }

    /// Waits until data channels to exactly `peers` are open (and no others).
    pub async fn until_open_with(&mut self, peers: &[u64]) {
        let want: HashSet<u64> = peers.iter().copied().collect();
        let give_up = tokio::time::Instant::now() + DEADLINE * 3;
        while self.open != want {
            self.next_event(give_up).await;
        }
    }
}

async fn run(
    client: Client,
    mut cmds: mpsc::UnboundedReceiver<Cmd>,
    events: mpsc::UnboundedSender<RtcEvent>,
) {
    let me = client.id;
    let welcome = client.welcome.clone();
    let (mut sink, mut stream) = client.ws.split();
    let api = loopback_api();
    let (local_tx, mut local_rx) = mpsc::unbounded_channel();
    let mut links: HashMap<u64, Link> = HashMap::new();

    let mut initial = Vec::new();
    for p in welcome["peers"].as_array().into_iter().flatten() {
        initial.push(p["id"].as_u64().unwrap());
    }
    for peer in initial {
        if let Some(offer) = ensure_link(&api, me, peer, &mut links, &local_tx, &events).await {
            send_signal(&mut sink, peer, offer).await;
        }
    }

    loop {
        tokio::select! {
            frame = stream.next() => {
                let Some(Ok(frame)) = frame else { break };
                let Message::Text(text) = frame else { continue };
                let v: Value = serde_json::from_str(&text).unwrap();
                match v["type"].as_str() {
                    Some("signal") => {
                        let from = v["from"].as_u64().unwrap();
                        on_signal(&api, me, from, &v["data"], &mut links, &local_tx, &events, &mut sink).await;
                    }
                    Some("peer_joined") | Some("peer_reconnected") => {
                        let peer = v["peer"]["id"].as_u64().or(v["id"].as_u64()).unwrap();
                        if let Some(offer) = ensure_link(&api, me, peer, &mut links, &local_tx, &events).await {
                            send_signal(&mut sink, peer, offer).await;
                        }
                        let _ = events.send(RtcEvent::Hub(v));
                    }
                    Some("peer_left") | Some("peer_reconnecting") => {
                        let peer = v["id"].as_u64().unwrap();
                        drop_link(peer, &mut links, &events).await;
                        let _ = events.send(RtcEvent::Hub(v));
                    }
                    Some("room_changed") => {
                        let now: HashSet<u64> = v["peers"].as_array().into_iter().flatten()
                            .map(|p| p["id"].as_u64().unwrap()).collect();
                        let gone: Vec<u64> = links.keys().copied().filter(|p| !now.contains(p)).collect();
                        for peer in gone {
                            drop_link(peer, &mut links, &events).await;
                        }
                        for peer in now {
                            if let Some(offer) = ensure_link(&api, me, peer, &mut links, &local_tx, &events).await {
                                send_signal(&mut sink, peer, offer).await;
                            }
                        }
                        let _ = events.send(RtcEvent::Hub(v));
                    }
                    _ => { let _ = events.send(RtcEvent::Hub(v)); }
                }
            }
            local = local_rx.recv() => {
                match local {
                    Some(Local::Candidate(peer, init)) => {
                        if links.contains_key(&peer) {
                            let data = json!({"candidate": init});
                            let _ = sink.send(Message::text(json!({"type": "signal", "to": peer, "data": data}).to_string())).await;
                        }
                    }
                    Some(Local::Channel(peer, dc)) => {
                        if let Some(link) = links.get_mut(&peer) {
                            link.channel = Some(dc);
                        }
                    }
                    None => break,
                }
            }
            cmd = cmds.recv() => {
                match cmd {
                    Some(Cmd::Send(peer, text)) => {
                        if let Some(dc) = links.get(&peer).and_then(|l| l.channel.clone()) {
                            let _ = dc.send_text(text).await;
                        }
                    }
                    Some(Cmd::Hub(frame)) => {
                        let _ = sink.send(Message::text(frame.to_string())).await;
                    }
                    Some(Cmd::DropNetwork) | None => break,
                }
            }
        }
    }
    for (_, link) in links {
        let _ = link.pc.close().await;
    }
}

async fn send_signal<S>(sink: &mut S, to: u64, data: Value)
where
    S: SinkExt<Message> + Unpin,
{
    let _ = sink
        .send(Message::text(
            json!({"type": "signal", "to": to, "data": data}).to_string(),
        ))
        .await;
}

fn watch_channel(peer: u64, dc: &Arc<RTCDataChannel>, events: &mpsc::UnboundedSender<RtcEvent>) {
    let ev = events.clone();
    dc.on_open(Box::new(move || {
        let _ = ev.send(RtcEvent::Open(peer));
        Box::pin(async {})
    }));
    let ev = events.clone();
    dc.on_message(Box::new(move |msg: DataChannelMessage| {
        let text = String::from_utf8_lossy(&msg.data).into_owned();
        let _ = ev.send(RtcEvent::Message(peer, text));
        Box::pin(async {})
    }));
}

/// Creates the link to `peer` if missing. Returns the offer to send when this side offers.
async fn ensure_link(
    api: &API,
    me: u64,
    peer: u64,
    links: &mut HashMap<u64, Link>,
    local: &mpsc::UnboundedSender<Local>,
    events: &mpsc::UnboundedSender<RtcEvent>,
) -> Option<Value> {
    if peer == me || links.contains_key(&peer) {
        return None;
    }
    let pc = Arc::new(
        api.new_peer_connection(RTCConfiguration::default())
            .await
            .unwrap(),
    );
    let tx = local.clone();
    pc.on_ice_candidate(Box::new(move |c: Option<RTCIceCandidate>| {
        if let Some(init) = c.and_then(|c| c.to_json().ok()) {
            let _ = tx.send(Local::Candidate(peer, init));
        }
        Box::pin(async {})
    }));
    let ev = events.clone();
    pc.on_peer_connection_state_change(Box::new(move |s: RTCPeerConnectionState| {
        if s == RTCPeerConnectionState::Failed {
            let _ = ev.send(RtcEvent::Hub(
                json!({"type": "local_failure", "peer": peer}),
            ));
        }
        Box::pin(async {})
    }));
    let offerer = me < peer;
    let mut link = Link {
        pc: Arc::clone(&pc),
        channel: None,
        pending: Vec::new(),
        remote_set: false,
    };
    let offer = if offerer {
        let dc = pc.create_data_channel("huddle", None).await.unwrap();
        watch_channel(peer, &dc, events);
        link.channel = Some(dc);
        let offer = pc.create_offer(None).await.unwrap();
        pc.set_local_description(offer.clone()).await.unwrap();
        Some(json!({"description": offer}))
    } else {
        let ev = events.clone();
        let tx = local.clone();
        pc.on_data_channel(Box::new(move |dc: Arc<RTCDataChannel>| {
            watch_channel(peer, &dc, &ev);
            let _ = tx.send(Local::Channel(peer, dc));
            Box::pin(async {})
        }));
        None
    };
    links.insert(peer, link);
    offer
}

async fn drop_link(
    peer: u64,
    links: &mut HashMap<u64, Link>,
    events: &mpsc::UnboundedSender<RtcEvent>,
) {
    if let Some(link) = links.remove(&peer) {
        let _ = link.pc.close().await;
        let _ = events.send(RtcEvent::Closed(peer));
    }
}

#[allow(clippy::too_many_arguments)]
async fn on_signal<S>(
    api: &API,
    me: u64,
    from: u64,
    data: &Value,
    links: &mut HashMap<u64, Link>,
    local: &mpsc::UnboundedSender<Local>,
    events: &mpsc::UnboundedSender<RtcEvent>,
    sink: &mut S,
) where
    S: SinkExt<Message> + Unpin,
{
    if let Some(desc) = data.get("description") {
        let desc: RTCSessionDescription = serde_json::from_value(desc.clone()).unwrap();
        let is_offer = desc.sdp_type == webrtc::peer_connection::sdp::sdp_type::RTCSdpType::Offer;
        if is_offer {
            // The offer may arrive before this side heard of the peer from the hub.
            let _ = ensure_link(api, me, from, links, local, events).await;
        }
        let Some(link) = links.get_mut(&from) else {
            return;
        };
        link.pc.set_remote_description(desc).await.unwrap();
        link.remote_set = true;
        for c in link.pending.drain(..) {
            let _ = link.pc.add_ice_candidate(c).await;
        }
        if is_offer {
            let answer = link.pc.create_answer(None).await.unwrap();
            link.pc.set_local_description(answer.clone()).await.unwrap();
            send_signal(sink, from, json!({"description": answer})).await;
        }
    } else if let Some(c) = data.get("candidate") {
        let init: RTCIceCandidateInit = serde_json::from_value(c.clone()).unwrap();
        let Some(link) = links.get_mut(&from) else {
            return;
        };
        if link.remote_set {
            let _ = link.pc.add_ice_candidate(init).await;
        } else {
            link.pending.push(init);
        }
    }
}
