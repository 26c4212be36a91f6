//! The media thread: one UDP socket for every participant, every peer connection, and the
//! forwarding table. One loop: apply the meetings' commands, read datagrams (commands are applied
//! again before *each* datagram, so a packet read after a route change is routed by it),
//! forward, run timers, send. Nothing here awaits anything but the socket, the command channel
//! and the next deadline.

use super::conn::{clock_hz, Conn, Feed, Layer, Source};
use super::speaker::{self, Loudness};
use super::{routing, vp8, EngineCmd, MediaEvent, MediaStats};
use crate::limits;
use crate::meeting::{MediaRequest, MediaRoute};
use crate::protocol::{ErrorCode, MediaKind, PeerId, RequestId, RoomId, ServerMessage};
use bytes::BytesMut;
use rtc::peer_connection::event::{RTCPeerConnectionEvent, RTCTrackEvent};
use rtc::peer_connection::message::RTCMessage;
use rtc::peer_connection::state::{RTCIceConnectionState, RTCPeerConnectionState};
use rtc::rtcp::payload_feedbacks::picture_loss_indication::PictureLossIndication;
use rtc::rtp_transceiver::rtp_sender::RtpCodecKind;
use rtc::sansio::Protocol;
use rtc::shared::{TaggedBytesMut, TransportContext, TransportProtocol};
use std::cmp::Reverse;
use std::collections::{BTreeMap, BinaryHeap, HashMap};
use std::net::SocketAddr;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::mpsc;

type Key = u64;

/// Housekeeping (keyframe retries, stale layers) runs this often.
const HOUSEKEEPING: Duration = Duration::from_millis(50);
/// A keyframe request to one publisher's stream is repeated at most this often while a
/// subscriber waits (LiveKit retries at 2×RTT clamped to 200 ms–1 s).
const PLI_INTERVAL_MS: u64 = 250;
/// A layer not heard from for this long has stopped (the browser dropped it for bandwidth).
const LAYER_STALE_MS: u64 = 1_000;
/// `active_speaker` goes out at most this often per room.
const SPEAKER_INTERVAL_MS: u64 = 333;
/// Datagrams read per loop turn before timers and sends get a turn.
const BATCH: usize = 64;

struct MeetingState {
    events: mpsc::Sender<MediaEvent>,
    routes: BTreeMap<PeerId, MediaRoute>,
    conns: HashMap<PeerId, Key>,
    /// The last `active_speaker` each room got.
    speakers: HashMap<RoomId, Vec<PeerId>>,
}

impl MeetingState {
    fn send(&self, to: Vec<PeerId>, message: ServerMessage) {
        if to.is_empty() {
            return;
        }
        if self.events.try_send(MediaEvent { to, message }).is_err() {
            tracing::debug!("media event dropped: the meeting's queue is full or gone");
        }
    }
}

struct Engine {
    addr: SocketAddr,
    conns: HashMap<Key, Conn>,
    next_key: Key,
    meetings: HashMap<u64, MeetingState>,
    by_addr: HashMap<SocketAddr, Key>,
    by_ufrag: HashMap<String, Key>,
    /// Publisher → every (subscriber, slot pair) carrying them. Rebuilt on changes only.
    fanout: HashMap<Key, Vec<(Key, usize)>>,
    loudness: HashMap<Key, Loudness>,
    /// Each connection's next `rtc` deadline; heap entries not matching it are stale.
    deadlines: HashMap<Key, Instant>,
    timers: BinaryHeap<Reverse<(Instant, Key)>>,
    /// Connections with datagrams to send.
    dirty: Vec<Key>,
    outbox: Vec<(SocketAddr, BytesMut)>,
    epoch: Instant,
    last_housekeeping: Instant,
    last_speakers_ms: u64,
    stats: Arc<MediaStats>,
    /// Forwarded packets this turn per datagram read: (when read, how many).
    turn: Vec<(Instant, u64)>,
    latency: hdrhistogram::Histogram<u64>,
    last_trim: Instant,
}

/// How often at most the engine hands freed memory back to the system after departures.
const TRIM_INTERVAL: Duration = Duration::from_secs(1);

/// Hands the allocator's free pages back to the system. A departed connection frees a few
/// hundred KiB (packet buffers, SRTP and interceptor state) allocated on this thread and on the
/// runtime's; without this, glibc keeps the freed pages, and RSS follows the highest number of
/// connections ever open at once rather than the number open now (join/leave churn made it
/// creep about 1 % per 1,000 cycles).
fn trim_heap() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim only returns free memory to the system; it is thread-safe in glibc.
    unsafe {
        libc::malloc_trim(0);
    }
}

pub(super) fn run(
    socket: std::net::UdpSocket,
    advertised: SocketAddr,
    mut rx: mpsc::UnboundedReceiver<EngineCmd>,
    stats: Arc<MediaStats>,
) {
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            tracing::error!(error = %e, "media thread: no runtime; SFU media is off");
            return;
        }
    };
    runtime.block_on(async move {
        let socket = match tokio::net::UdpSocket::from_std(socket) {
            Ok(s) => s,
            Err(e) => {
                tracing::error!(error = %e, "media thread: socket; SFU media is off");
                return;
            }
        };
        let now = Instant::now();
        let mut engine = Engine {
            addr: advertised,
            conns: HashMap::new(),
            next_key: 1,
            meetings: HashMap::new(),
            by_addr: HashMap::new(),
            by_ufrag: HashMap::new(),
            fanout: HashMap::new(),
            loudness: HashMap::new(),
            deadlines: HashMap::new(),
            timers: BinaryHeap::new(),
            dirty: Vec::new(),
            outbox: Vec::new(),
            epoch: now,
            last_housekeeping: now,
            last_speakers_ms: 0,
            stats,
            turn: Vec::with_capacity(BATCH),
            latency: hdrhistogram::Histogram::new_with_bounds(1, 60_000_000, 2)
                .expect("valid histogram bounds"),
            last_trim: now,
        };
        let mut buf = vec![0u8; 2048];
        loop {
            let mut read = 0;
            while read < BATCH {
                // The barrier: whatever a meeting decided before this datagram arrived applies
                // to it.
                while let Ok(cmd) = rx.try_recv() {
                    engine.command(cmd);
                }
                match socket.try_recv_from(&mut buf) {
                    Ok((n, from)) => {
                        read += 1;
                        engine.stats.received.fetch_add(1, Ordering::Relaxed);
                        let at = Instant::now();
                        let before = engine.stats.forwarded.load(Ordering::Relaxed);
                        engine.datagram(&buf[..n], from);
                        let forwarded = engine.stats.forwarded.load(Ordering::Relaxed) - before;
                        if forwarded > 0 {
                            engine.turn.push((at, forwarded));
                        }
                        // Out at once: a batch of 64 publishers' packets fanned out to a room
                        // of 15 is ~900 encryptions, too long for the first to wait for.
                        engine.send(&socket);
                    }
                    Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => break,
                    Err(e) => {
                        // ICMP errors surface here on Linux; they concern one peer only.
                        tracing::debug!(error = %e, "media socket read");
                        break;
                    }
                }
            }
            let now = Instant::now();
            engine.timeouts(now);
            if now.duration_since(engine.last_housekeeping) >= HOUSEKEEPING {
                engine.last_housekeeping = now;
                engine.housekeeping(now);
            }
            engine.send(&socket);
            if read == BATCH {
                continue;
            }
            let next = engine
                .timers
                .peek()
                .map(|Reverse((t, _))| *t)
                .unwrap_or(now + HOUSEKEEPING)
                .min(engine.last_housekeeping + HOUSEKEEPING);
            tokio::select! {
                _ = socket.readable() => {}
                cmd = rx.recv() => match cmd {
                    Some(cmd) => engine.command(cmd),
                    None => break,
                },
                _ = tokio::time::sleep_until(tokio::time::Instant::from_std(next)) => {}
            }
        }
        tracing::debug!("media thread stopped");
    });
}

impl Engine {
    /// Everything the connections have to send, out on the socket.
    fn send(&mut self, socket: &tokio::net::UdpSocket) {
        self.flush();
        for (to, datagram) in self.outbox.drain(..) {
            // UDP: a full socket buffer drops the datagram, as the network would.
            let _ = socket.try_send_to(&datagram, to);
        }
        let sent = Instant::now();
        for (at, n) in self.turn.drain(..) {
            let us = sent.duration_since(at).as_micros().max(1) as u64;
            let _ = self.latency.record_n(us, n);
        }
    }

    fn now_ms(&self, now: Instant) -> u64 {
        now.duration_since(self.epoch).as_millis() as u64
    }

    fn command(&mut self, cmd: EngineCmd) {
        match cmd {
            EngineCmd::Open { meeting, events } => {
                self.meetings.insert(
                    meeting,
                    MeetingState {
                        events,
                        routes: BTreeMap::new(),
                        conns: HashMap::new(),
                        speakers: HashMap::new(),
                    },
                );
            }
            EngineCmd::Routes { meeting, routes } => self.routes(meeting, routes),
            EngineCmd::Request {
                meeting,
                peer,
                id,
                request,
            } => self.request(meeting, peer, id, request),
            EngineCmd::Latency { reply } => {
                let h = &self.latency;
                let _ = reply.send(super::HubLatency {
                    packets: h.len(),
                    p50_us: h.value_at_quantile(0.5),
                    p99_us: h.value_at_quantile(0.99),
                    p999_us: h.value_at_quantile(0.999),
                    max_us: h.max(),
                });
                self.latency.reset();
            }
            EngineCmd::Close { meeting } => {
                if let Some(m) = self.meetings.remove(&meeting) {
                    for key in m.conns.into_values() {
                        self.close(key);
                    }
                }
            }
        }
    }

    fn routes(&mut self, meeting: u64, routes: Vec<MediaRoute>) {
        let Some(m) = self.meetings.get_mut(&meeting) else {
            return;
        };
        m.routes = routes.into_iter().map(|r| (r.peer, r)).collect();
        let gone: Vec<Key> = m
            .conns
            .iter()
            .filter(|(p, _)| !m.routes.contains_key(p))
            .map(|(_, k)| *k)
            .collect();
        for key in gone {
            self.close(key);
        }
        self.reassign(meeting, Instant::now());
    }

    fn request(
        &mut self,
        meeting: u64,
        peer: PeerId,
        id: Option<RequestId>,
        request: MediaRequest,
    ) {
        let now = Instant::now();
        let Some(m) = self.meetings.get(&meeting) else {
            return;
        };
        if !m.routes.contains_key(&peer) {
            return;
        }
        let outcome = match request {
            MediaRequest::Publish { sdp } => self.publish(meeting, peer, sdp, now),
            MediaRequest::Answer { rev, sdp } => {
                match m.conns.get(&peer).and_then(|k| self.conns.get_mut(k)) {
                    Some(conn) => conn.apply_answer(rev, sdp, now).map(|()| None),
                    None => Err("send sfu_publish first".into()),
                }
            }
            // A wish for the forwarding to follow: no routes change, and the core has acked it.
            MediaRequest::Subscribe { peer: of, video } => {
                if let Some(conn) = m.conns.get(&peer).and_then(|k| self.conns.get_mut(k)) {
                    conn.prefs.insert(of, video);
                }
                return;
            }
        };
        let key = self
            .meetings
            .get(&meeting)
            .and_then(|m| m.conns.get(&peer).copied());
        let Some(m) = self.meetings.get(&meeting) else {
            return;
        };
        match outcome {
            Ok(answer) => {
                if let Some(sdp) = answer {
                    m.send(vec![peer], ServerMessage::SfuPublishAnswer { sdp });
                }
                if let Some(reference) = id {
                    m.send(vec![peer], ServerMessage::Ack { reference });
                }
            }
            Err(why) => {
                tracing::debug!(meeting, %peer, error = %why, "sfu request refused");
                m.send(
                    vec![peer],
                    ServerMessage::error(ErrorCode::BadRequest, why, id),
                );
            }
        }
        if let Some(key) = key {
            self.touch(key);
        }
        self.reassign(meeting, now);
    }

    /// A new peer connection for `peer` (replacing any), answering its offer if it sent one.
    fn publish(
        &mut self,
        meeting: u64,
        peer: PeerId,
        sdp: Option<String>,
        now: Instant,
    ) -> Result<Option<String>, String> {
        if let Some(old) = self
            .meetings
            .get_mut(&meeting)
            .and_then(|m| m.conns.remove(&peer))
        {
            self.close(old);
        }
        let mut conn = Conn::new(meeting, peer, self.addr, now)?;
        let answer = match sdp {
            Some(sdp) => Some(conn.answer_publish(sdp, now)?),
            None => None,
        };
        let key = self.next_key;
        self.next_key += 1;
        self.by_ufrag.insert(conn.ufrag.clone(), key);
        self.conns.insert(key, conn);
        self.stats.connections.fetch_add(1, Ordering::Relaxed);
        if let Some(m) = self.meetings.get_mut(&meeting) {
            m.conns.insert(peer, key);
        }
        Ok(answer)
    }

    fn close(&mut self, key: Key) {
        let Some(mut conn) = self.conns.remove(&key) else {
            return;
        };
        // DTLS close_notify, so the browser knows at once rather than by timeout.
        let _ = conn.pc.close();
        while let Some(out) = conn.pc.poll_write() {
            self.outbox.push((out.transport.peer_addr, out.message));
        }
        for addr in &conn.addrs {
            if self.by_addr.get(addr) == Some(&key) {
                self.by_addr.remove(addr);
            }
        }
        self.by_ufrag.remove(&conn.ufrag);
        self.fanout.remove(&key);
        self.loudness.remove(&key);
        self.deadlines.remove(&key);
        if let Some(m) = self.meetings.get_mut(&conn.meeting) {
            if m.conns.get(&conn.peer) == Some(&key) {
                m.conns.remove(&conn.peer);
            }
        }
        self.stats.connections.fetch_sub(1, Ordering::Relaxed);
        self.stats.closed_since_trim.fetch_add(1, Ordering::Relaxed);
    }

    /// Brings every subscriber of `meeting` in line with its routes: slot assignments, new
    /// slots (an offer), `sfu_tracks`, and the forwarding table.
    fn reassign(&mut self, meeting: u64, now: Instant) {
        let Some(m) = self.meetings.get(&meeting) else {
            return;
        };
        let subs: Vec<(PeerId, Key)> = m.conns.iter().map(|(p, k)| (*p, *k)).collect();
        let mut messages = Vec::new();
        let mut touched = Vec::new();
        for (peer, key) in &subs {
            let Some(route) = m.routes.get(peer) else {
                continue;
            };
            // Screens first: when a room outgrows the slots, the shared screen is what must not
            // go missing.
            let others = || {
                m.routes
                    .values()
                    .filter(|r| r.room == route.room && r.peer != *peer && r.publish)
            };
            let roommates: Vec<Feed> = others()
                .filter(|r| r.screen)
                .map(|r| Feed::screen(r.peer))
                .chain(others().map(|r| Feed::camera(r.peer)))
                .collect();
            let Some(conn) = self.conns.get_mut(key) else {
                continue;
            };
            conn.assignment =
                routing::assign(&conn.assignment, &roommates, limits::SFU_MAX_SLOT_PAIRS);
            for k in 0..conn.audio.len() {
                let want = conn.assignment.get(k).copied().flatten();
                for slot in [&mut conn.audio[k], &mut conn.video[k]] {
                    if slot.source != want {
                        slot.source = want;
                        slot.layer = None;
                        slot.from_ssrc = None;
                    }
                }
            }
            // Offer more slots when the room outgrew them (or a first offer to someone who
            // publishes nothing), one offer at a time.
            let first = conn.pc.remote_description().is_none();
            let needed = conn.assignment.len().max(usize::from(first));
            if conn.negotiation.in_flight.is_none() && needed > conn.ready_pairs() {
                match conn.offer_slots(needed.max(conn.audio.len()), now) {
                    Ok((rev, sdp)) => {
                        for k in 0..conn.audio.len() {
                            let want = conn.assignment.get(k).copied().flatten();
                            conn.audio[k].source = want;
                            conn.video[k].source = want;
                        }
                        messages.push((*peer, ServerMessage::SfuOffer { rev, sdp }));
                        touched.push(*key);
                    }
                    Err(e) => tracing::warn!(meeting, %peer, error = %e, "SFU offer failed"),
                }
            }
            let tracks = conn.tracks();
            if tracks != conn.tracks_sent {
                conn.tracks_rev += 1;
                conn.tracks_sent = tracks.clone();
                messages.push((
                    *peer,
                    ServerMessage::SfuTracks {
                        rev: conn.tracks_rev,
                        slots: tracks,
                    },
                ));
            }
        }
        // The forwarding table of this meeting.
        for (_, key) in &subs {
            self.fanout.remove(key);
        }
        for (_, sub) in &subs {
            let Some(conn) = self.conns.get(sub) else {
                continue;
            };
            for k in 0..conn.ready_pairs() {
                let Some(feed) = conn.assignment.get(k).copied().flatten() else {
                    continue;
                };
                if let Some(pk) = m.conns.get(&feed.peer) {
                    self.fanout.entry(*pk).or_default().push((*sub, k));
                }
            }
        }
        for (peer, message) in messages {
            m.send(vec![peer], message);
        }
        for key in touched {
            self.touch(key);
        }
    }

    /// One datagram from `from`: to the connection it belongs to (by address, or by the ICE
    /// username of a STUN request; anything else from an unknown address is dropped).
    fn datagram(&mut self, data: &[u8], from: SocketAddr) {
        // A STUN check names its connection (the ICE username): it wins over the address, which
        // a departed client's port, reused by the next one, may still point elsewhere.
        let key = match self.stun_owner(data) {
            Some(k) => {
                if self.by_addr.get(&from).is_some_and(|old| *old != k) {
                    self.by_addr.remove(&from);
                }
                k
            }
            None => match self.by_addr.get(&from) {
                Some(k) => *k,
                None => return,
            },
        };
        let now = Instant::now();
        let Some(conn) = self.conns.get_mut(&key) else {
            return;
        };
        let input = TaggedBytesMut {
            now,
            transport: TransportContext {
                // rtc accepts only traffic to one of its candidates: the advertised address.
                local_addr: self.addr,
                peer_addr: from,
                ecn: None,
                transport_protocol: TransportProtocol::UDP,
            },
            message: BytesMut::from(data),
        };
        if let Err(e) = conn.pc.handle_read(input) {
            tracing::trace!(error = %e, "media datagram refused");
        }
        // Learn the address once the connection answered it (ICE checked the request's
        // integrity first), so knowing a username alone claims nothing.
        if !self.by_addr.contains_key(&from) {
            while let Some(out) = conn.pc.poll_write() {
                if out.transport.peer_addr == from && !conn.addrs.contains(&from) {
                    conn.addrs.push(from);
                    self.by_addr.insert(from, key);
                }
                self.outbox.push((out.transport.peer_addr, out.message));
            }
        }
        self.drain(key, now);
    }

    fn stun_owner(&self, data: &[u8]) -> Option<Key> {
        use rtc::stun::attributes::ATTR_USERNAME;
        use rtc::stun::message::{is_stun_message, Message};
        use rtc::stun::textattrs::TextAttribute;
        if !is_stun_message(data) {
            return None;
        }
        let mut message = Message::new();
        message.unmarshal_binary(data).ok()?;
        let username = TextAttribute::get_from_as(&message, ATTR_USERNAME).ok()?;
        let local = username.text.split(':').next()?;
        self.by_ufrag.get(local).copied()
    }

    /// Everything a connection produced after an input: events, media to forward, and (marked)
    /// datagrams to send.
    fn drain(&mut self, key: Key, now: Instant) {
        let mut packets = Vec::new();
        let mut reassign = None;
        // Subscribers' keyframe requests: (meeting, the feed and the layer the slot carries).
        let mut keyframes: Vec<(u64, Feed, Option<Layer>)> = Vec::new();
        {
            let Some(conn) = self.conns.get_mut(&key) else {
                return;
            };
            while let Some(event) = conn.pc.poll_event() {
                if let RTCPeerConnectionEvent::OnConnectionStateChangeEvent(s) = &event {
                    tracing::debug!(meeting = conn.meeting, peer = %conn.peer, state = %s, "media connection");
                }
                if let RTCPeerConnectionEvent::OnIceConnectionStateChangeEvent(s) = &event {
                    tracing::debug!(meeting = conn.meeting, peer = %conn.peer, state = %s, "media ICE");
                }
                match event {
                    RTCPeerConnectionEvent::OnConnectionStateChangeEvent(state) => match state {
                        RTCPeerConnectionState::Connected => {
                            conn.connected = true;
                            reassign = Some(conn.meeting);
                        }
                        RTCPeerConnectionState::Failed | RTCPeerConnectionState::Closed => {
                            conn.connected = false;
                        }
                        _ => {}
                    },
                    RTCPeerConnectionEvent::OnIceConnectionStateChangeEvent(
                        RTCIceConnectionState::Disconnected | RTCIceConnectionState::Failed,
                    ) => {
                        // Forget its addresses: they are learned again from its next checks.
                        for addr in conn.addrs.drain(..) {
                            if self.by_addr.get(&addr) == Some(&key) {
                                self.by_addr.remove(&addr);
                            }
                        }
                    }
                    RTCPeerConnectionEvent::OnTrack(RTCTrackEvent::OnOpen(init)) => {
                        let kind = conn
                            .pc
                            .rtp_receiver(init.receiver_id)
                            .map(|r| r.track().kind());
                        let kind = match kind {
                            Some(RtpCodecKind::Audio) => MediaKind::Audio,
                            Some(RtpCodecKind::Video) => MediaKind::Video,
                            _ => continue,
                        };
                        tracing::debug!(
                            meeting = conn.meeting,
                            peer = %conn.peer,
                            ssrc = init.ssrc,
                            rid = ?init.rid,
                            ?kind,
                            "stream started"
                        );
                        let screen = kind == MediaKind::Video && conn.is_screen(init.receiver_id);
                        conn.sources.insert(
                            init.ssrc,
                            Source {
                                kind,
                                screen,
                                layer: match kind {
                                    MediaKind::Audio => Layer::Only,
                                    MediaKind::Video => Layer::from_rid(init.rid.as_deref()),
                                },
                                receiver: init.receiver_id,
                                last_ms: 0,
                                pli_ms: None,
                            },
                        );
                    }
                    _ => {}
                }
            }
            while let Some(message) = conn.pc.poll_read() {
                match message.message {
                    RTCMessage::RtpPacket(_, packet) => packets.push(packet),
                    RTCMessage::RtcpPacket(_, rtcp) => {
                        for p in &rtcp {
                            let Some(ssrc) = super::conn::keyframe_request_ssrc(p.as_ref()) else {
                                continue;
                            };
                            if let Some(slot) = conn.video.iter().find(|s| s.ssrc == ssrc) {
                                if let Some(feed) = slot.source {
                                    keyframes.push((conn.meeting, feed, slot.layer));
                                }
                            }
                        }
                    }
                    _ => {}
                }
            }
        }
        self.touch(key);
        for packet in packets {
            self.forward(key, packet, now);
        }
        for (meeting, feed, layer) in keyframes {
            let Some(pk) = self
                .meetings
                .get(&meeting)
                .and_then(|m| m.conns.get(&feed.peer).copied())
            else {
                continue;
            };
            let want = layer.and_then(Layer::quality);
            // Throttled per publisher stream, so subscribers cannot make a PLI storm.
            self.request_keyframe(pk, feed.screen, want, now, self.now_ms(now));
        }
        if let Some(meeting) = reassign {
            self.reassign(meeting, now);
        }
    }

    /// One RTP packet of publisher `key` to every subscriber carrying them now.
    fn forward(&mut self, key: Key, packet: rtc::rtp::Packet, now: Instant) {
        if packet.payload.is_empty() {
            // Padding only (bandwidth probes): nothing to forward.
            return;
        }
        let now_ms = self.now_ms(now);
        let ssrc = packet.header.ssrc;
        let Some(conn) = self.conns.get_mut(&key) else {
            return;
        };
        let (meeting, publisher) = (conn.meeting, conn.peer);
        let Some(source) = conn.sources.get_mut(&ssrc) else {
            tracing::debug!(meeting, peer = %publisher, ssrc, "media from an unknown stream dropped");
            return;
        };
        source.last_ms = now_ms;
        let (kind, layer) = (source.kind, source.layer);
        let feed = Feed {
            peer: publisher,
            screen: source.screen,
        };
        let level_id = conn.audio_level_id;
        let Some(route) = self
            .meetings
            .get(&meeting)
            .and_then(|m| m.routes.get(&publisher))
        else {
            return;
        };
        // Observers and hard-muted people: nothing leaves the hub.
        if !route.publish
            || (kind == MediaKind::Audio && route.audio_blocked)
            || (kind == MediaKind::Video && route.video_blocked)
        {
            return;
        }
        if kind == MediaKind::Audio {
            if let Some(level) = level_id.and_then(|id| packet.header.get_extension(id)) {
                if let Some(&b) = level.first() {
                    self.loudness.entry(key).or_default().observe(b, now_ms);
                }
            }
        }
        let keyframe = kind == MediaKind::Video && vp8::is_keyframe_start(&packet.payload);
        let Some(targets) = self.fanout.get(&key) else {
            return;
        };
        for &(sub, k) in targets {
            let Some(subscriber) = self.conns.get_mut(&sub) else {
                continue;
            };
            if !subscriber.connected {
                continue;
            }
            let want = subscriber.want(feed);
            let slot = match kind {
                MediaKind::Audio => &mut subscriber.audio[k],
                MediaKind::Video => &mut subscriber.video[k],
            };
            let Some(pt) = slot.pt else {
                continue;
            };
            if slot.source != Some(feed) {
                continue;
            }
            match kind {
                MediaKind::Audio => {
                    if slot.from_ssrc != Some(ssrc) {
                        slot.munger.rebase(
                            packet.header.sequence_number,
                            packet.header.timestamp,
                            now_ms,
                            clock_hz(kind),
                        );
                        slot.from_ssrc = Some(ssrc);
                    }
                }
                MediaKind::Video => {
                    if !layer.serves(want) && slot.layer.is_some() && slot.layer != Some(layer) {
                        continue;
                    }
                    let on_current = slot.layer == Some(layer) && slot.from_ssrc == Some(ssrc);
                    let better = layer.serves(want) && !slot.layer.is_some_and(|l| l.serves(want));
                    if keyframe && (slot.layer.is_none() || (better && !on_current)) {
                        // A switch point: a new roommate or a better layer starts here.
                        slot.layer = Some(layer);
                        slot.from_ssrc = Some(ssrc);
                        slot.munger.rebase(
                            packet.header.sequence_number,
                            packet.header.timestamp,
                            now_ms,
                            clock_hz(kind),
                        );
                    } else if !on_current || want == crate::protocol::VideoQuality::Off {
                        continue;
                    }
                }
            }
            let (seq, ts) = slot.munger.map(
                packet.header.sequence_number,
                packet.header.timestamp,
                now_ms,
            );
            let out = rtc::rtp::Packet {
                header: rtc::rtp::header::Header {
                    version: 2,
                    marker: packet.header.marker,
                    payload_type: pt,
                    sequence_number: seq,
                    timestamp: ts,
                    ssrc: slot.ssrc,
                    ..Default::default()
                },
                payload: packet.payload.clone(),
            };
            let sender = slot.sender;
            if let Some(mut s) = subscriber.pc.rtp_sender(sender) {
                if s.write_rtp(now, out).is_ok() {
                    self.stats.forwarded.fetch_add(1, Ordering::Relaxed);
                    self.dirty.push(sub);
                }
            }
        }
    }

    /// Records a connection's next deadline and marks it for sending.
    fn touch(&mut self, key: Key) {
        let Some(conn) = self.conns.get_mut(&key) else {
            return;
        };
        self.dirty.push(key);
        if let Some(at) = conn.pc.poll_timeout() {
            if self.deadlines.get(&key) != Some(&at) {
                self.deadlines.insert(key, at);
                self.timers.push(Reverse((at, key)));
            }
        }
    }

    fn timeouts(&mut self, now: Instant) {
        while let Some(Reverse((at, key))) = self.timers.peek().copied() {
            if at > now {
                break;
            }
            self.timers.pop();
            if self.deadlines.get(&key) != Some(&at) {
                continue;
            }
            self.deadlines.remove(&key);
            if let Some(conn) = self.conns.get_mut(&key) {
                let _ = conn.pc.handle_timeout(now);
                self.drain(key, now);
            }
        }
    }

    fn flush(&mut self) {
        let mut dirty = std::mem::take(&mut self.dirty);
        dirty.sort_unstable();
        dirty.dedup();
        for key in &dirty {
            if let Some(conn) = self.conns.get_mut(key) {
                while let Some(out) = conn.pc.poll_write() {
                    self.outbox.push((out.transport.peer_addr, out.message));
                }
            }
        }
        dirty.clear();
        self.dirty = dirty;
    }

    /// Keyframe requests for slots waiting to start or to change layer, stale layers, and the
    /// active speaker.
    fn housekeeping(&mut self, now: Instant) {
        if self.stats.closed_since_trim.load(Ordering::Relaxed) > 0
            && now.duration_since(self.last_trim) >= TRIM_INTERVAL
        {
            self.last_trim = now;
            trim_heap();
            self.stats.closed_since_trim.store(0, Ordering::Relaxed);
        }
        let now_ms = self.now_ms(now);
        // (publisher key, wanted quality) pairs someone waits on.
        let mut wants: Vec<(Key, bool, Option<crate::protocol::VideoQuality>)> = Vec::new();
        let heard: HashMap<(Key, u32), u64> = self
            .conns
            .iter()
            .flat_map(|(k, c)| {
                c.sources
                    .iter()
                    .map(move |(s, src)| ((*k, *s), src.last_ms))
            })
            .collect();
        for conn in self.conns.values_mut() {
            if !conn.connected {
                continue;
            }
            let Some(m) = self.meetings.get(&conn.meeting) else {
                continue;
            };
            for k in 0..conn.video.len() {
                let Some(feed) = conn.video[k].source else {
                    continue;
                };
                if conn.video[k].pt.is_none() {
                    continue;
                }
                let want = conn.want(feed);
                let Some(&pk) = m.conns.get(&feed.peer) else {
                    continue;
                };
                let slot = &mut conn.video[k];
                if let (Some(layer), Some(ssrc)) = (slot.layer, slot.from_ssrc) {
                    let stale = heard
                        .get(&(pk, ssrc))
                        .is_none_or(|t| now_ms.saturating_sub(*t) > LAYER_STALE_MS);
                    if stale {
                        slot.layer = None;
                    } else if layer.serves(want) || want == crate::protocol::VideoQuality::Off {
                        continue;
                    }
                }
                if want != crate::protocol::VideoQuality::Off {
                    wants.push((pk, feed.screen, Some(want)));
                }
            }
        }
        wants.sort_unstable_by_key(|(k, screen, w)| (*k, *screen, w.map(|w| w as u8)));
        wants.dedup();
        for (pk, screen, want) in wants {
            self.request_keyframe(pk, screen, want, now, now_ms);
        }
        if now_ms.saturating_sub(self.last_speakers_ms) >= SPEAKER_INTERVAL_MS {
            self.last_speakers_ms = now_ms;
            self.speakers(now_ms);
        }
    }

    /// A PLI to publisher `pk` for the stream serving `want` (every video stream if none does
    /// or it is not known), at most every [`PLI_INTERVAL_MS`] per stream.
    fn request_keyframe(
        &mut self,
        pk: Key,
        screen: bool,
        want: Option<crate::protocol::VideoQuality>,
        now: Instant,
        now_ms: u64,
    ) {
        let Some(conn) = self.conns.get_mut(&pk) else {
            return;
        };
        let live = |s: &Source| now_ms.saturating_sub(s.last_ms) <= LAYER_STALE_MS;
        // The camera's layers or the screen, whichever the slot carries.
        let of_feed = |s: &Source| s.kind == MediaKind::Video && s.screen == screen;
        let fits = |s: &Source| of_feed(s) && live(s) && want.is_none_or(|w| s.layer.serves(w));
        let any_fits = conn.sources.values().any(fits);
        let mut sent = false;
        for (ssrc, source) in conn.sources.iter_mut() {
            if !of_feed(source) || !(if any_fits { fits(source) } else { live(source) }) {
                continue;
            }
            if source
                .pli_ms
                .is_some_and(|t| now_ms.saturating_sub(t) < PLI_INTERVAL_MS)
            {
                continue;
            }
            source.pli_ms = Some(now_ms);
            if let Some(mut receiver) = conn.pc.rtp_receiver(source.receiver) {
                let pli = PictureLossIndication {
                    sender_ssrc: 0,
                    media_ssrc: *ssrc,
                };
                if receiver.write_rtcp(now, vec![Box::new(pli)]).is_ok() {
                    sent = true;
                }
            }
        }
        if sent {
            self.touch(pk);
        }
    }

    /// `active_speaker` to every room whose speakers changed.
    fn speakers(&mut self, now_ms: u64) {
        for m in self.meetings.values_mut() {
            let mut rooms: HashMap<&RoomId, Vec<(PeerId, f32)>> = HashMap::new();
            for route in m.routes.values() {
                rooms.entry(&route.room).or_default();
                if route.audio_blocked || !route.publish {
                    continue;
                }
                let loud = m
                    .conns
                    .get(&route.peer)
                    .and_then(|k| self.loudness.get(k))
                    .and_then(|l| l.speaking(now_ms));
                if let Some(loud) = loud {
                    rooms
                        .entry(&route.room)
                        .or_default()
                        .push((route.peer, loud));
                }
            }
            let mut changed = Vec::new();
            for (room, speaking) in rooms {
                let ranked = speaker::rank(speaking);
                let before = m.speakers.get(room).cloned().unwrap_or_default();
                if ranked != before {
                    changed.push((room.clone(), ranked));
                }
            }
            for (room, peers) in changed {
                let to: Vec<PeerId> = m
                    .routes
                    .values()
                    .filter(|r| r.room == room)
                    .map(|r| r.peer)
                    .collect();
                m.speakers.insert(room, peers.clone());
                m.send(to, ServerMessage::ActiveSpeaker { peers });
            }
            m.speakers
                .retain(|room, _| m.routes.values().any(|r| &r.room == room));
        }
    }
}
