//! The SFU: the hub receives each person's audio and video once, over one peer connection to the
//! hub, and forwards it to their roommates. Everything here runs on one thread (`huddle-media`)
//! that owns the one UDP socket and every peer connection, with no locks on the packet path.
//! Meetings talk to it through [`MeetingMedia`]: the core's routes (who is in which room, who may
//! send, hard mutes) and the `sfu_*` requests go in; `sfu_*` answers, offers, track maps and
//! `active_speaker` come back to the meeting's actor as [`MediaEvent`]s.
//!
//! - [`engine`] — the thread: socket, demultiplexing, negotiation, forwarding, keyframes, timers.
//! - [`conn`] — one person's peer connection to the hub, built on `rtc` (the `webrtc` crate's
//!   sans-IO core, 0.21): ICE-lite, DTLS-SRTP, slots, negotiation state.
//! - [`routing`] — which roommate each receive slot carries (pure).
//! - [`munger`] — one continuous RTP stream per slot across switches (pure).
//! - [`vp8`] — keyframe detection (pure).
//! - [`speaker`] — active speaker from RFC 6464 audio levels (pure).

mod conn;
mod engine;
pub mod munger;
pub mod routing;
pub mod speaker;
pub mod vp8;

use crate::limits;
use crate::meeting::{MediaRequest, MediaRoute};
use crate::protocol::{PeerId, RequestId, ServerMessage};
use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use tokio::sync::mpsc;

/// Where the SFU listens and what it tells clients.
#[derive(Debug, Clone)]
pub struct MediaConfig {
    /// The one UDP socket for everyone.
    pub listen: SocketAddr,
    /// The address in the hub's ICE candidate, when the socket's own address is not reachable
    /// (1:1 NAT). `None`: the bound address.
    pub public_ip: Option<IpAddr>,
}

/// A message from the media engine to some members of a meeting.
#[derive(Debug, Clone)]
pub struct MediaEvent {
    pub to: Vec<PeerId>,
    pub message: ServerMessage,
}

/// Counters for the load generator and operators (never anything about a person).
#[derive(Debug, Default)]
pub struct MediaStats {
    /// RTP packets written to a subscriber's slot.
    pub forwarded: AtomicU64,
    /// Datagrams received on the socket.
    pub received: AtomicU64,
    /// Peer connections open now.
    pub connections: AtomicU64,
    /// Connections closed since the heap was last trimmed (0: RSS reflects the departures).
    pub closed_since_trim: AtomicU64,
}

impl MediaStats {
    pub fn snapshot(&self) -> serde_json::Value {
        serde_json::json!({
            "forwarded": self.forwarded.load(Ordering::Relaxed),
            "received": self.received.load(Ordering::Relaxed),
            "connections": self.connections.load(Ordering::Relaxed),
            "closed_since_trim": self.closed_since_trim.load(Ordering::Relaxed),
        })
    }
}

/// What the meetings send the engine.
#[derive(Debug)]
enum EngineCmd {
    Open {
        meeting: u64,
        events: mpsc::Sender<MediaEvent>,
    },
    Routes {
        meeting: u64,
        routes: Vec<MediaRoute>,
    },
    Request {
        meeting: u64,
        peer: PeerId,
        id: Option<RequestId>,
        request: MediaRequest,
    },
    Close {
        meeting: u64,
    },
    /// The hub-added latency since the last reset, and start a new window.
    Latency {
        reply: tokio::sync::oneshot::Sender<HubLatency>,
    },
}

/// Time from reading a datagram to sending what it was forwarded as, over the packets
/// forwarded in a window (the socket's own queueing before the read is not in it).
#[derive(Debug, Clone, Copy, Default, serde::Serialize)]
pub struct HubLatency {
    pub packets: u64,
    pub p50_us: u64,
    pub p99_us: u64,
    pub p999_us: u64,
    pub max_us: u64,
}

/// The running SFU: a handle to its thread.
#[derive(Debug, Clone)]
pub struct MediaHub {
    // Unbounded on purpose: routes cannot be dropped (isolation depends on them) and the actor
    // must never wait; what comes in is bounded by the rate limits on the requests behind it.
    tx: mpsc::UnboundedSender<EngineCmd>,
    addr: SocketAddr,
    stats: Arc<MediaStats>,
    /// This engine's name for clients (`welcome.sfu_instance`): random per start, so a client
    /// whose meeting moved to another hub (a cluster failover) knows its peer connection is to
    /// an engine that no longer serves it.
    instance: Arc<str>,
}

impl MediaHub {
    /// See [`MediaHub::instance`]'s field: which engine a client's peer connection must reach.
    pub fn instance(&self) -> &str {
        &self.instance
    }

    /// Whether the engine thread still runs (it stops only on a fatal socket or runtime error).
    pub fn is_running(&self) -> bool {
        !self.tx.is_closed()
    }

    /// Binds the UDP socket and starts the engine thread.
    pub fn start(config: MediaConfig) -> Result<MediaHub, String> {
        let socket = std::net::UdpSocket::bind(config.listen)
            .map_err(|e| format!("cannot bind rtc_listen {}: {e}", config.listen))?;
        socket
            .set_nonblocking(true)
            .map_err(|e| format!("rtc_listen: {e}"))?;
        // One socket carries every participant's media: a burst (a keyframe to fifteen people)
        // or a moment without CPU must not overflow the default ~200 KiB buffer and drop
        // packets. The kernel caps the size at net.core.rmem_max / wmem_max; a smaller buffer
        // still works, so a refusal is only logged.
        let sock = socket2::SockRef::from(&socket);
        for (what, set) in [
            (
                "receive",
                sock.set_recv_buffer_size(limits::MEDIA_SOCKET_BUFFER_BYTES),
            ),
            (
                "send",
                sock.set_send_buffer_size(limits::MEDIA_SOCKET_BUFFER_BYTES),
            ),
        ] {
            if let Err(e) = set {
                tracing::warn!(error = %e, "SFU socket: could not enlarge the {what} buffer");
            }
        }
        let bound = socket.local_addr().map_err(|e| e.to_string())?;
        let advertised = SocketAddr::new(config.public_ip.unwrap_or(bound.ip()), bound.port());
        if advertised.ip().is_unspecified() {
            return Err(format!(
                "rtc_listen {bound} is a wildcard address: set rtc_public_ip to the address clients reach"
            ));
        }
        let (tx, rx) = mpsc::unbounded_channel();
        let stats = Arc::new(MediaStats::default());
        let engine_stats = Arc::clone(&stats);
        std::thread::Builder::new()
            .name("huddle-media".into())
            .spawn(move || engine::run(socket, advertised, rx, engine_stats))
            .map_err(|e| format!("cannot start the media thread: {e}"))?;
        tracing::info!(udp = %bound, advertised = %advertised, "SFU media listening");
        Ok(MediaHub {
            tx,
            addr: advertised,
            stats,
            instance: format!("{:016x}", rand::random::<u64>()).into(),
        })
    }

    /// The address clients send media to.
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    pub fn stats(&self) -> &MediaStats {
        &self.stats
    }

    /// The hub-added latency of forwarded packets since the last call (which starts a new
    /// window).
    pub async fn latency(&self) -> Option<HubLatency> {
        let (reply, rx) = tokio::sync::oneshot::channel();
        self.tx.send(EngineCmd::Latency { reply }).ok()?;
        rx.await.ok()
    }

    /// Registers a meeting (by its actor's unique generation); its events arrive on the
    /// returned receiver. Dropping the handle closes every connection of the meeting.
    pub fn meeting(&self, meeting: u64) -> (MeetingMedia, mpsc::Receiver<MediaEvent>) {
        let (events, rx) = mpsc::channel(crate::limits::MEDIA_EVENTS_LEN);
        let _ = self.tx.send(EngineCmd::Open { meeting, events });
        (
            MeetingMedia {
                meeting,
                tx: self.tx.clone(),
            },
            rx,
        )
    }
}

/// One meeting's line to the engine, held by its actor.
#[derive(Debug)]
pub struct MeetingMedia {
    meeting: u64,
    tx: mpsc::UnboundedSender<EngineCmd>,
}

impl MeetingMedia {
    pub fn routes(&self, routes: Vec<MediaRoute>) {
        let _ = self.tx.send(EngineCmd::Routes {
            meeting: self.meeting,
            routes,
        });
    }

    pub fn request(&self, peer: PeerId, id: Option<RequestId>, request: MediaRequest) {
        let _ = self.tx.send(EngineCmd::Request {
            meeting: self.meeting,
            peer,
            id,
            request,
        });
    }
}

impl Drop for MeetingMedia {
    fn drop(&mut self) {
        let _ = self.tx.send(EngineCmd::Close {
            meeting: self.meeting,
        });
    }
}
