//! One person's peer connection to the hub: the `rtc` peer connection (ICE-lite on the hub's one
//! UDP address, DTLS-SRTP), what they publish (an `ssrc` → source map filled as their tracks
//! start), their receive slots (audio and video in pairs, each pair carrying one roommate), and
//! the state of the hub's offers (one in flight at a time). Every `rtc` type the engine touches
//! is wrapped here.

use super::munger::Munger;
use crate::limits;
use crate::protocol::{MediaKind, PeerId, SfuSlot, VideoQuality};
use rand::Rng;
use rtc::media_stream::MediaStreamTrack;
use rtc::peer_connection::configuration::interceptor_registry::{
    configure_simulcast_extension_headers, configure_twcc_receiver_only,
};
use rtc::peer_connection::configuration::media_engine::{
    MediaEngine, MIME_TYPE_OPUS, MIME_TYPE_VP8,
};
use rtc::peer_connection::configuration::setting_engine::SettingEngineBuilder;
use rtc::peer_connection::configuration::RTCConfigurationBuilder;
use rtc::peer_connection::sdp::RTCSessionDescription;
use rtc::peer_connection::transport::{
    CandidateConfig, CandidateHostConfig, RTCDtlsRole, RTCIceCandidate,
};
use rtc::peer_connection::{RTCPeerConnection, RTCPeerConnectionBuilder};
use rtc::rtp_transceiver::rtp_sender::{
    RTCPFeedback, RTCRtpCodec, RTCRtpCodecParameters, RTCRtpCodingParameters,
    RTCRtpEncodingParameters, RTCRtpHeaderExtensionCapability, RtpCodecKind,
};
use rtc::rtp_transceiver::{
    RTCRtpReceiverId, RTCRtpSenderId, RTCRtpTransceiverDirection, RTCRtpTransceiverId,
    RTCRtpTransceiverInit,
};
use std::collections::HashMap;
use std::net::SocketAddr;
use std::time::Instant;

/// The RFC 6464 audio level header extension.
pub const AUDIO_LEVEL_URI: &str = "urn:ietf:params:rtp-hdrext:ssrc-audio-level";

/// Which simulcast layer a published video stream is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Layer {
    Low,
    High,
    /// No simulcast: the one stream serves every request.
    Only,
}

impl Layer {
    /// From the `rid` a browser gives the encoding (ours: `l`, `h`; also the common `q`/`h`/`f`).
    pub fn from_rid(rid: Option<&str>) -> Layer {
        match rid {
            None | Some("") => Layer::Only,
            Some("l" | "q" | "low") => Layer::Low,
            Some(_) => Layer::High,
        }
    }

    /// The wish this layer answers (`None`: any, no simulcast).
    pub fn quality(self) -> Option<VideoQuality> {
        match self {
            Layer::Low => Some(VideoQuality::Low),
            Layer::High => Some(VideoQuality::High),
            Layer::Only => None,
        }
    }

    /// Whether this layer answers a subscriber's wish.
    pub fn serves(self, want: VideoQuality) -> bool {
        match (self, want) {
            (_, VideoQuality::Off) => false,
            (Layer::Only, _) => true,
            (Layer::Low, VideoQuality::Low) | (Layer::High, VideoQuality::High) => true,
            _ => false,
        }
    }
}

/// What a receive slot pair carries: a roommate's camera and microphone, or their shared screen
/// (video only; the pair's audio slot stays silent).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Feed {
    pub peer: PeerId,
    pub screen: bool,
}

impl Feed {
    pub fn camera(peer: PeerId) -> Feed {
        Feed {
            peer,
            screen: false,
        }
    }

    pub fn screen(peer: PeerId) -> Feed {
        Feed { peer, screen: true }
    }
}

/// One stream a person publishes.
#[derive(Debug, Clone)]
pub struct Source {
    pub kind: MediaKind,
    /// Their shared screen (the second sending video section of their offer), not their camera.
    pub screen: bool,
    pub layer: Layer,
    pub receiver: RTCRtpReceiverId,
    pub last_ms: u64,
    /// When the hub last asked for a keyframe of it.
    pub pli_ms: Option<u64>,
}

/// One receive slot of a subscriber.
#[derive(Debug)]
pub struct Slot {
    pub kind: MediaKind,
    pub sender: RTCRtpSenderId,
    pub ssrc: u32,
    /// Known once the offer carrying it is set locally.
    pub mid: String,
    /// Set once the subscriber's answer covered it: only then may it carry media.
    pub pt: Option<u8>,
    /// Whom it carries, and (video) which of their layers now; `None` while waiting for a
    /// keyframe to start on.
    pub source: Option<Feed>,
    pub layer: Option<Layer>,
    /// The source's SSRC the munger is based on.
    pub from_ssrc: Option<u32>,
    pub munger: Munger,
}

/// The hub's offers to this person.
#[derive(Debug, Default)]
pub struct Negotiation {
    /// The `rev` of the last offer sent.
    pub rev: u64,
    /// The offer waiting for its answer, and how many slot pairs it covers.
    pub in_flight: Option<(u64, usize)>,
}

pub struct Conn {
    pub meeting: u64,
    pub peer: PeerId,
    pub pc: RTCPeerConnection,
    pub ufrag: String,
    pub connected: bool,
    /// Addresses this connection answered STUN from (for the demultiplexer to forget).
    pub addrs: Vec<SocketAddr>,
    pub sources: HashMap<u32, Source>,
    /// The extension id of the audio level in this person's packets, from their offer.
    pub audio_level_id: Option<u8>,
    /// Slot pairs: `audio[k]` and `video[k]` carry the same person.
    pub audio: Vec<Slot>,
    pub video: Vec<Slot>,
    /// Whom each pair should carry (the routing result; the slots follow once negotiated).
    pub assignment: Vec<Option<Feed>>,
    /// The `mid` of the offer's second sending video section: the person's shared screen.
    pub screen_mid: Option<String>,
    /// Video quality wished per roommate (`sfu_subscribe`); default low.
    pub prefs: HashMap<PeerId, VideoQuality>,
    pub negotiation: Negotiation,
    /// The `rev` of the last `sfu_tracks` and what it said, to send only changes.
    pub tracks_rev: u64,
    pub tracks_sent: Vec<SfuSlot>,
}

fn codec(kind: MediaKind) -> RTCRtpCodecParameters {
    match kind {
        MediaKind::Audio => RTCRtpCodecParameters {
            rtp_codec: RTCRtpCodec {
                mime_type: MIME_TYPE_OPUS.to_owned(),
                clock_rate: 48000,
                channels: 2,
                sdp_fmtp_line: "minptime=10;useinbandfec=1".to_owned(),
                rtcp_feedback: vec![],
            },
            payload_type: 111,
        },
        MediaKind::Video => RTCRtpCodecParameters {
            rtp_codec: RTCRtpCodec {
                mime_type: MIME_TYPE_VP8.to_owned(),
                clock_rate: 90000,
                channels: 0,
                sdp_fmtp_line: String::new(),
                rtcp_feedback: vec![],
            },
            payload_type: 96,
        },
    }
}

pub fn clock_hz(kind: MediaKind) -> u32 {
    match kind {
        MediaKind::Audio => 48_000,
        MediaKind::Video => 90_000,
    }
}

fn random_token(len: usize) -> String {
    const ALPHABET: &[u8] = b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
    let mut rng = rand::rng();
    (0..len)
        .map(|_| ALPHABET[rng.random_range(0..ALPHABET.len())] as char)
        .collect()
}

/// Slot `k`'s track: a random SSRC, fixed for the slot's life, and one stream id per pair (a
/// browser then syncs that pair's audio and video).
fn slot_track(k: usize, kind: MediaKind) -> (MediaStreamTrack, u32) {
    let ssrc: u32 = rand::rng().random();
    let (rtc_kind, tag) = match kind {
        MediaKind::Audio => (RtpCodecKind::Audio, "a"),
        MediaKind::Video => (RtpCodecKind::Video, "v"),
    };
    let track = MediaStreamTrack::new(
        format!("s{k}"),
        format!("{tag}{k}"),
        format!("{tag}{k}"),
        rtc_kind,
        vec![RTCRtpEncodingParameters {
            rtp_coding_parameters: RTCRtpCodingParameters {
                ssrc: Some(ssrc),
                ..Default::default()
            },
            codec: codec(kind).rtp_codec,
            ..Default::default()
        }],
    );
    (track, ssrc)
}

fn new_slot(kind: MediaKind, sender: RTCRtpSenderId, ssrc: u32) -> Slot {
    let mut rng = rand::rng();
    Slot {
        kind,
        sender,
        ssrc,
        mid: String::new(),
        pt: None,
        source: None,
        layer: None,
        from_ssrc: None,
        munger: Munger::new(rng.random(), rng.random()),
    }
}

/// Lets a subscriber's keyframe requests (PLI, FIR) through to the engine, which asks the
/// publisher of whatever that slot carries now. `rtc` keeps inbound RTCP inside the chain unless
/// something marks it for the application; without this, a subscriber that lost a frame would
/// wait for the publisher's next keyframe of its own accord (Chrome: minutes).
#[derive(Default)]
struct KeyframeRequests {
    read: std::collections::VecDeque<rtc::interceptor::TaggedPacket>,
    write: std::collections::VecDeque<rtc::interceptor::TaggedPacket>,
}

/// The stream an RTCP packet asks a keyframe of, if it is a PLI or FIR.
pub fn keyframe_request_ssrc(p: &(dyn rtc::rtcp::Packet + Send + Sync)) -> Option<u32> {
    use rtc::rtcp::payload_feedbacks::full_intra_request::FullIntraRequest;
    use rtc::rtcp::payload_feedbacks::picture_loss_indication::PictureLossIndication;
    let any = p.as_any();
    if let Some(pli) = any.downcast_ref::<PictureLossIndication>() {
        return Some(pli.media_ssrc);
    }
    any.downcast_ref::<FullIntraRequest>()
        .map(|fir| fir.fir.first().map(|e| e.ssrc).unwrap_or(fir.media_ssrc))
}

impl rtc::sansio::Protocol<rtc::interceptor::TaggedPacket, rtc::interceptor::TaggedPacket, ()>
    for KeyframeRequests
{
    type Rout = rtc::interceptor::TaggedPacket;
    type Wout = rtc::interceptor::TaggedPacket;
    type Eout = ();
    type Error = rtc::shared::error::Error;
    type Time = Instant;

    fn handle_read(&mut self, mut msg: rtc::interceptor::TaggedPacket) -> Result<(), Self::Error> {
        if let rtc::interceptor::Packet::Rtcp(packets) = &msg.message.packet {
            if packets
                .iter()
                .any(|p| keyframe_request_ssrc(p.as_ref()).is_some())
            {
                msg.message
                    .add(rtc::interceptor::Attribute::DeliverToApplication);
            }
        }
        self.read.push_back(msg);
        Ok(())
    }

    fn poll_read(&mut self) -> Option<Self::Rout> {
        self.read.pop_front()
    }

    fn handle_write(&mut self, msg: rtc::interceptor::TaggedPacket) -> Result<(), Self::Error> {
        self.write.push_back(msg);
        Ok(())
    }

    fn poll_write(&mut self) -> Option<Self::Wout> {
        self.write.pop_front()
    }

    fn handle_timeout(&mut self, _now: Instant) -> Result<(), Self::Error> {
        Ok(())
    }

    fn poll_timeout(&mut self) -> Option<Self::Time> {
        None
    }
}

impl rtc::interceptor::Interceptor for KeyframeRequests {
    fn bind_local_stream(&mut self, _info: &rtc::interceptor::StreamInfo) {}
    fn unbind_local_stream(&mut self, _info: &rtc::interceptor::StreamInfo) {}
    fn bind_remote_stream(&mut self, _info: &rtc::interceptor::StreamInfo) {}
    fn unbind_remote_stream(&mut self, _info: &rtc::interceptor::StreamInfo) {}
}

/// Errors of building or negotiating, as text for the client's `error` (no SDP in it).
pub type ConnResult<T> = Result<T, String>;

fn err(what: &str) -> impl Fn(rtc::shared::error::Error) -> String + '_ {
    move |e| format!("{what}: {e}")
}

impl Conn {
    /// A new connection for `peer`, answering on `addr` (the advertised address).
    pub fn new(meeting: u64, peer: PeerId, addr: SocketAddr, now: Instant) -> ConnResult<Conn> {
        let mut media = MediaEngine::default();
        // Only Opus and VP8: every browser has both, and one codec per kind means any
        // publisher's packets fit any subscriber's slot.
        media
            .register_codec(codec(MediaKind::Audio), RtpCodecKind::Audio)
            .map_err(err("audio codec"))?;
        media
            .register_codec(codec(MediaKind::Video), RtpCodecKind::Video)
            .map_err(err("video codec"))?;
        for (uri, kind) in [
            ("urn:ietf:params:rtp-hdrext:sdes:mid", RtpCodecKind::Video),
            ("urn:ietf:params:rtp-hdrext:sdes:mid", RtpCodecKind::Audio),
            (
                "urn:ietf:params:rtp-hdrext:sdes:rtp-stream-id",
                RtpCodecKind::Video,
            ),
            (
                "urn:ietf:params:rtp-hdrext:sdes:repaired-rtp-stream-id",
                RtpCodecKind::Video,
            ),
            (AUDIO_LEVEL_URI, RtpCodecKind::Audio),
        ] {
            media
                .register_header_extension(
                    RTCRtpHeaderExtensionCapability {
                        uri: uri.to_owned(),
                    },
                    kind,
                    None,
                )
                .map_err(err("header extension"))?;
        }
        // NACK (both ways), TWCC feedback to publishers (their bandwidth estimate) and sender
        // reports on the slots (lip sync): rtc's defaults less receiver reports. rtc 0.21.1
        // forgets a simulcast layer's SSRC on every renegotiation (`start_rtp` resets rid
        // tracks) and learns it again only from the RID header extension, which Chrome stops
        // sending once a receiver report acknowledges the SSRC. Without receiver reports Chrome
        // keeps sending MID/RID (about 10 bytes a packet) and a renegotiation loses nothing.
        for parameter in ["", "pli"] {
            media.register_feedback(
                RTCPFeedback {
                    typ: "nack".to_owned(),
                    parameter: parameter.to_owned(),
                },
                RtpCodecKind::Video,
            );
        }
        // The NACK responder keeps 1,024 packets per forwarded stream by default (over 1 MB a
        // video slot). Each buffer fills and stays full for the connection's life, even for a
        // slot nobody uses any more (rtc 0.21.1 cannot empty one), so its size is what every
        // subscriber holds: 128 × ~1.1 KB × 16 video slots ≈ 2.3 MB. 128 is 1–2 s of video,
        // more than a retransmission (asked within a round trip or two) can use.
        let registry = rtc::interceptor::Registry::new()
            .with(
                rtc::interceptor::Slot::NackResponder,
                rtc::interceptor::NackResponderBuilder::new()
                    .with_size(limits::NACK_BUFFER_PACKETS)
                    .build(),
            )
            .with(
                rtc::interceptor::Slot::NackGenerator,
                rtc::interceptor::NackGeneratorBuilder::new().build(),
            );
        configure_simulcast_extension_headers(&mut media).map_err(err("extensions"))?;
        let registry =
            configure_twcc_receiver_only(registry, &mut media).map_err(err("interceptors"))?;
        let registry = registry
            .with(
                rtc::interceptor::Slot::SenderReport,
                rtc::interceptor::SenderReportBuilder::new().build(),
            )
            // Application-ward of everything above (the chain has acted on the packet first).
            .with(
                rtc::interceptor::Slot::from(14_000),
                KeyframeRequests::default(),
            );
        let ufrag = random_token(16);
        let settings = SettingEngineBuilder::new()
            .with_lite(true)
            .with_ice_credentials(ufrag.clone(), random_token(24))
            .with_answering_dtls_role(RTCDtlsRole::Server)
            .build();
        let mut pc = RTCPeerConnectionBuilder::new()
            .with_configuration(RTCConfigurationBuilder::new().build())
            .with_setting_engine(settings)
            .with_media_engine(media)
            .with_interceptor_registry(registry)
            .build(now)
            .map_err(err("peer connection"))?;
        let candidate = CandidateHostConfig {
            base_config: CandidateConfig {
                network: "udp".to_owned(),
                address: addr.ip().to_string(),
                port: addr.port(),
                component: 1,
                ..Default::default()
            },
            ..Default::default()
        }
        .new_candidate_host()
        .map_err(|e| format!("candidate: {e}"))?;
        let init = RTCIceCandidate::from(&candidate)
            .to_json()
            .map_err(err("candidate"))?;
        pc.add_local_candidate(init).map_err(err("candidate"))?;
        Ok(Conn {
            meeting,
            peer,
            pc,
            ufrag,
            connected: false,
            addrs: Vec::new(),
            sources: HashMap::new(),
            audio_level_id: None,
            audio: Vec::new(),
            video: Vec::new(),
            assignment: Vec::new(),
            screen_mid: None,
            prefs: HashMap::new(),
            negotiation: Negotiation::default(),
            tracks_rev: 0,
            tracks_sent: Vec::new(),
        })
    }

    /// Answers the person's publishing offer. Refuses more than one audio or video section.
    pub fn answer_publish(&mut self, sdp: String, now: Instant) -> ConnResult<String> {
        let media: Vec<&str> = sdp.split("\nm=").skip(1).collect();
        let sends = |m: &&str| m.contains("a=sendonly") || m.contains("a=sendrecv");
        let sending = |kind: &str| {
            media
                .iter()
                .filter(|m| m.starts_with(kind) && sends(m))
                .count()
        };
        if sending("audio") > 1 || sending("video") > 2 {
            return Err(
                "publish at most one microphone, one camera and one screen (the second video)"
                    .into(),
            );
        }
        // The second sending video section is the screen (its track may start later, with
        // `replaceTrack`, so no renegotiation is needed to share).
        self.screen_mid = media
            .iter()
            .filter(|m| m.starts_with("video") && sends(m))
            .nth(1)
            .and_then(|m| {
                m.lines()
                    .find_map(|l| l.trim_end().strip_prefix("a=mid:").map(str::to_owned))
            });
        if let Some(first_send) = media.iter().position(sends) {
            if media[first_send..].iter().any(|m| m.contains("a=recvonly")) {
                return Err("put the receive (recvonly) sections before the sending ones".into());
            }
        }
        self.audio_level_id = sdp.lines().find_map(|l| {
            let rest = l.strip_prefix("a=extmap:")?;
            let (id, uri) = rest.split_once(' ')?;
            (uri.trim() == AUDIO_LEVEL_URI)
                .then(|| id.split('/').next()?.parse().ok())
                .flatten()
        });
        // Receive slots the client offered (`recvonly` sections, before its own send
        // sections): the hub sends on them from this first answer on, so a room of up to that
        // many never needs another negotiation.
        let recvonly = |kind: &str| {
            sdp.split("\nm=")
                .filter(|m| m.starts_with(kind) && m.contains("a=recvonly"))
                .count()
        };
        let pairs = recvonly("audio")
            .min(recvonly("video"))
            .min(crate::limits::SFU_MAX_SLOT_PAIRS);
        let offer = RTCSessionDescription::offer(sdp).map_err(err("offer"))?;
        self.pc
            .set_remote_description(now, offer)
            .map_err(err("offer"))?;
        for k in 0..pairs {
            for kind in [MediaKind::Audio, MediaKind::Video] {
                let (track, ssrc) = slot_track(k, kind);
                // `add_track` takes the first transceiver of the kind with no sender: the
                // client's receive sections come first in its offer, so these land in order.
                let sender = self.pc.add_track(track).map_err(err("slot"))?;
                let slot = new_slot(kind, sender, ssrc);
                match kind {
                    MediaKind::Audio => self.audio.push(slot),
                    MediaKind::Video => self.video.push(slot),
                }
            }
        }
        let answer = self.pc.create_answer(None).map_err(err("answer"))?;
        let text = answer.sdp.clone();
        self.pc
            .set_local_description(now, answer)
            .map_err(err("answer"))?;
        self.learn_mids();
        self.learn_payload_types(pairs);
        Ok(text)
    }

    fn learn_mids(&mut self) {
        for slot in self.audio.iter_mut().chain(self.video.iter_mut()) {
            let id: RTCRtpTransceiverId = slot.sender.into();
            if let Some(t) = self.pc.rtp_transceiver(id) {
                if let Some(mid) = t.mid() {
                    slot.mid = mid.clone();
                }
            }
        }
    }

    /// The first `pairs` slot pairs are negotiated: note each one's payload type.
    fn learn_payload_types(&mut self, pairs: usize) {
        for slot in self.audio[..pairs]
            .iter_mut()
            .chain(self.video[..pairs].iter_mut())
        {
            if slot.pt.is_none() {
                slot.pt = self.pc.rtp_sender(slot.sender).and_then(|mut s| {
                    s.get_parameters()
                        .rtp_parameters
                        .codecs
                        .first()
                        .map(|c| c.payload_type)
                });
            }
        }
    }

    /// Adds slot pairs up to `pairs` and makes the offer that carries them: `(rev, sdp)`.
    pub fn offer_slots(&mut self, pairs: usize, now: Instant) -> ConnResult<(u64, String)> {
        while self.audio.len() < pairs {
            let k = self.audio.len();
            for kind in [MediaKind::Audio, MediaKind::Video] {
                let slot = self.add_slot(k, kind)?;
                match kind {
                    MediaKind::Audio => self.audio.push(slot),
                    MediaKind::Video => self.video.push(slot),
                }
            }
        }
        let offer = self.pc.create_offer(None).map_err(err("offer"))?;
        let text = offer.sdp.clone();
        self.pc
            .set_local_description(now, offer)
            .map_err(err("offer"))?;
        self.learn_mids();
        self.negotiation.rev += 1;
        self.negotiation.in_flight = Some((self.negotiation.rev, pairs));
        Ok((self.negotiation.rev, text))
    }

    fn add_slot(&mut self, k: usize, kind: MediaKind) -> ConnResult<Slot> {
        let (track, ssrc) = slot_track(k, kind);
        let id = self
            .pc
            .add_transceiver_from_track(
                track,
                Some(RTCRtpTransceiverInit {
                    direction: RTCRtpTransceiverDirection::Sendonly,
                    streams: vec![],
                    send_encodings: vec![],
                }),
            )
            .map_err(err("slot"))?;
        Ok(new_slot(kind, RTCRtpSenderId::from(id), ssrc))
    }

    /// The subscriber's answer to offer `rev`: the slots it covers may carry media now.
    pub fn apply_answer(&mut self, rev: u64, sdp: String, now: Instant) -> ConnResult<()> {
        let Some((expected, pairs)) = self.negotiation.in_flight else {
            return Err("no offer is waiting for an answer".into());
        };
        if rev != expected {
            return Err(format!(
                "that answers offer {rev}; the open offer is {expected}"
            ));
        }
        let answer = RTCSessionDescription::answer(sdp).map_err(err("answer"))?;
        self.pc
            .set_remote_description(now, answer)
            .map_err(err("answer"))?;
        self.negotiation.in_flight = None;
        self.learn_payload_types(pairs);
        Ok(())
    }

    /// Slot pairs negotiated so far.
    pub fn ready_pairs(&self) -> usize {
        self.audio.iter().take_while(|s| s.pt.is_some()).count()
    }

    /// What `sfu_tracks` says now: every negotiated slot and whom it is assigned.
    pub fn tracks(&self) -> Vec<SfuSlot> {
        let ready = self.ready_pairs();
        let mut out = Vec::with_capacity(ready * 2);
        for k in 0..ready {
            let feed = self.assignment.get(k).copied().flatten();
            for slot in [&self.audio[k], &self.video[k]] {
                // A screen's pair carries video only: its audio slot is silent.
                let screen = feed.is_some_and(|f| f.screen);
                let silent = screen && slot.kind == MediaKind::Audio;
                out.push(SfuSlot {
                    mid: slot.mid.clone(),
                    kind: slot.kind,
                    peer: feed.filter(|_| !silent).map(|f| f.peer),
                    screen: screen && !silent,
                });
            }
        }
        out
    }

    /// What a roommate's camera should be sent to this person as. A screen always goes at its
    /// one quality: it is the thing everyone is looking at.
    pub fn want(&self, feed: Feed) -> VideoQuality {
        if feed.screen {
            return VideoQuality::High;
        }
        self.prefs.get(&feed.peer).copied().unwrap_or_default()
    }

    /// Whether the stream arriving on receiver `id` is the person's shared screen.
    pub fn is_screen(&mut self, id: RTCRtpReceiverId) -> bool {
        let Some(screen_mid) = &self.screen_mid else {
            return false;
        };
        self.pc
            .rtp_transceiver(id.into())
            .and_then(|t| t.mid().clone())
            .is_some_and(|mid| &mid == screen_mid)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A client offer from a plain `rtc` peer: one audio and one video section, send only.
    fn client_offer(now: Instant) -> (RTCPeerConnection, String) {
        let mut media = MediaEngine::default();
        media
            .register_codec(codec(MediaKind::Audio), RtpCodecKind::Audio)
            .unwrap();
        media
            .register_codec(codec(MediaKind::Video), RtpCodecKind::Video)
            .unwrap();
        let mut pc = RTCPeerConnectionBuilder::new()
            .with_configuration(RTCConfigurationBuilder::new().build())
            .with_media_engine(media)
            .build(now)
            .unwrap();
        for (kind, k) in [
            (RtpCodecKind::Audio, MediaKind::Audio),
            (RtpCodecKind::Video, MediaKind::Video),
        ] {
            let track = MediaStreamTrack::new(
                "s".into(),
                format!("{k:?}"),
                format!("{k:?}"),
                kind,
                vec![RTCRtpEncodingParameters {
                    rtp_coding_parameters: RTCRtpCodingParameters {
                        ssrc: Some(rand::random()),
                        ..Default::default()
                    },
                    codec: codec(k).rtp_codec,
                    ..Default::default()
                }],
            );
            pc.add_transceiver_from_track(
                track,
                Some(RTCRtpTransceiverInit {
                    direction: RTCRtpTransceiverDirection::Sendonly,
                    streams: vec![],
                    send_encodings: vec![],
                }),
            )
            .unwrap();
        }
        let offer = pc.create_offer(None).unwrap();
        let sdp = offer.sdp.clone();
        pc.set_local_description(now, offer).unwrap();
        (pc, sdp)
    }

    fn ice(sdp: &str) -> Vec<&str> {
        sdp.lines()
            .filter(|l| l.starts_with("a=ice-ufrag") || l.starts_with("a=ice-pwd"))
            .collect()
    }

    #[test]
    fn the_hubs_later_offers_keep_its_ice_credentials() {
        let now = Instant::now();
        let (_client, offer) = client_offer(now);
        let addr: SocketAddr = "127.0.0.1:40000".parse().unwrap();
        let mut conn = Conn::new(1, PeerId(1), addr, now).unwrap();
        let answer = conn.answer_publish(offer, now).unwrap();
        assert!(answer.contains("a=ice-lite"));
        let (rev, slots) = conn.offer_slots(2, now).unwrap();
        assert_eq!(rev, 1);
        let first: Vec<_> = ice(&answer).into_iter().take(2).collect();
        assert!(!first.is_empty());
        for line in ice(&slots) {
            assert!(
                first.contains(&line),
                "{line} is not in the answer's {first:?}"
            );
        }
    }
}
