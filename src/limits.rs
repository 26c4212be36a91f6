//! Every fixed limit of the hub in one place, with why it has the value it has. Limits that a
//! deployment may want to change are fields of [`crate::config::Config`] whose defaults are here.

use std::time::Duration;

/// Largest WebSocket message the hub accepts. A mesh SDP offer for a handful of tracks is
/// 5–15 KiB; 64 KiB leaves room without letting one client make the hub buffer megabytes. A
/// message over this (but under [`HARD_FRAME_BYTES`]) is answered with `error too_large` and the
/// connection stays up.
pub const MAX_FRAME_BYTES: usize = 64 * 1024;

/// Largest `sfu_publish` / `sfu_answer`: a browser's offer with 16 receive slot pairs lists every
/// codec it has in each of 34 sections, 60–110 KiB; once per connection.
pub const MAX_SFU_SDP_FRAME_BYTES: usize = 192 * 1024;

/// Largest message the WebSocket layer reads at all. Past this the hub cannot skip the message
/// and closes with 1009 (message too big). The gap above [`MAX_FRAME_BYTES`] lets a client that
/// sent one oversized message get a clear error and keep its session.
pub const HARD_FRAME_BYTES: usize = 256 * 1024;

/// Bytes a WebSocket may make the hub read before its `hello` is admitted: a hello (at most
/// [`MAX_HELLO_BYTES`]) and a little framing. Past it the socket is closed (1009) without reading
/// the rest of whatever frame it announced, so a socket without a login costs the hub a few KiB.
pub const PRE_HELLO_READ_BYTES: usize = 24 * 1024;

/// Largest first frame (`hello`): a token and a resume request are a few KiB at most, so a
/// socket without a login gets no more.
pub const MAX_HELLO_BYTES: usize = 16 * 1024;

/// Largest chat text, in bytes of UTF-8.
pub const MAX_CHAT_TEXT_BYTES: usize = 8 * 1024;

/// Largest `data` frame (app data is small state, not file transfer).
pub const MAX_APP_DATA_FRAME_BYTES: usize = 16 * 1024;

/// Group messages kept per room for late joiners.
pub const CHAT_HISTORY_LEN: usize = 200;

/// Bytes of chat text kept per room, whichever bound is hit first.
pub const CHAT_HISTORY_BYTES: usize = 256 * 1024;

/// Longest display name kept from a token, in characters.
pub const MAX_NAME_CHARS: usize = 64;

/// Default cap on people in one meeting (main room and breakouts together).
pub const MAX_MEETING_MEMBERS: usize = 2_000;

/// Default cap on open WebSocket connections per hub. Each idle connection costs a few KiB.
pub const MAX_CONNECTIONS: usize = 20_000;

/// Default cap on open connections from one client address (an IPv6 client counts by its /64,
/// which one subscriber usually holds whole). A clinic behind one NAT can have
/// many people; one address with thousands of sockets is an attack or a load test (raise it
/// for those).
pub const MAX_CONNECTIONS_PER_IP: usize = 1_000;

/// Messages queued for one connection before it counts as a slow consumer and is disconnected.
/// It must absorb the largest burst one action sends a single person: when a 2,000-person
/// meeting merges, a host who stayed in the main room gets one `peer_joined` per returning
/// person at once. Memory stays bounded anyway: broadcast frames are shared, not copied, per
/// recipient, and a socket that accepts no bytes for [`WRITE_TIMEOUT`] is dropped long before
/// the queue could fill with chat.
pub const OUTBOUND_QUEUE_LEN: usize = 4_096;

/// Bytes queued for one connection before it counts as a slow consumer (whichever of this and
/// [`OUTBOUND_QUEUE_LEN`] comes first). Room for a welcome with a full chat history (256 KiB), a
/// 1,000-person room list and a burst of signals; not for a reader that stopped reading.
pub const OUTBOUND_QUEUE_BYTES: usize = 4 * 1024 * 1024;

/// Commands queued for one meeting actor. Connections wait (backpressure onto their own socket)
/// when it is full; the actor never waits on a connection.
pub const MEETING_INBOX_LEN: usize = 4_096;

/// Media engine events (SFU answers, offers, track maps, speakers) queued for one meeting's
/// actor. The actor drains them as fast as it relays chat; a full queue drops an
/// `active_speaker` or a track map, which the next change sends again.
pub const MEDIA_EVENTS_LEN: usize = 1_024;

/// Receive slot pairs (audio + video) per person in an SFU meeting: everyone in a room of 17
/// is heard and seen. A bigger room (a large main room) forwards the first 16 roommates to
/// each person (speaker-first selection is not done yet); a phone cannot decode more anyway.
pub const SFU_MAX_SLOT_PAIRS: usize = 16;

/// Packets kept per forwarded video stream for retransmission (NACK). A power of two (rtc's
/// ring); see `media/conn.rs` for why the size is what every subscriber holds.
pub const NACK_BUFFER_PACKETS: u16 = 128;

/// Receive and send buffer asked for the SFU's one UDP socket: about 3,500 full-size packets,
/// 0.4 s of a room of 15 sending 500 kbit/s each to 14 others.
pub const MEDIA_SOCKET_BUFFER_BYTES: usize = 4 * 1024 * 1024;

/// Default time a new socket has to send a valid `hello`. A client sends it as soon as the socket
/// opens, one round trip after the upgrade, so a few seconds are plenty even on a bad phone
/// network; a socket that says nothing holds a pre-hello place ([`MAX_PENDING_HELLOS`]) no longer.
pub const HELLO_TIMEOUT: Duration = Duration::from_secs(5);

/// Default time a TCP connection has to send a complete request head (request line and headers).
/// Without it a connection that sends nothing, or half a request, stays open for ever.
pub const HEADER_TIMEOUT: Duration = Duration::from_secs(10);

/// Largest request head (request line and headers) the hub reads, and so the most hyper reads
/// ahead of it: a WebSocket's first bytes past the head are not metered by the pre-hello budget.
pub const MAX_REQUEST_HEAD_BYTES: usize = 32 * 1024;

/// Longest life of a connection that has not become a WebSocket (page loads, the SDK's files,
/// keep-alive between them). Past it the connection is closed, even mid-answer: a client that
/// asks and never reads must not hold a place for ever.
pub const HTTP_CONNECTION_LIFETIME: Duration = Duration::from_secs(120);

/// Pre-hello places one client address may hold (IPv6: one /64): a share of
/// [`MAX_PENDING_HELLOS`], so a few addresses cannot take them all and keep everyone else from
/// logging in.
pub const MAX_PENDING_HELLOS_PER_IP: usize = 32;

/// Default cap on TCP connections that have not (yet) become a WebSocket: page loads, the SDK's
/// files and upgrade requests. Upgraded sockets count against [`MAX_CONNECTIONS`] instead, so
/// every TCP connection the hub holds is under one of the two caps. Past it a new connection is
/// closed at once, before any byte of it is read.
pub const MAX_HTTP_CONNECTIONS: usize = 2_048;

/// Default cap on WebSockets that have not said a valid `hello` yet: a small budget of its own, so
/// sockets without a token cannot take the places of people in meetings. Past it an upgrade gets
/// HTTP 503. A join storm of thousands (a 1,000-person merge reconnecting) passes because each
/// socket holds its place for one round trip.
pub const MAX_PENDING_HELLOS: usize = 1_024;

/// Default interval between keepalive pings.
pub const PING_INTERVAL: Duration = Duration::from_secs(20);

/// Default time without any frame (a pong included) after which a connection is dropped.
pub const IDLE_TIMEOUT: Duration = Duration::from_secs(45);

/// How long shutdown waits for every WebSocket to be closed with 1001 (each lingers up to
/// [`CLOSE_LINGER`] for the client's reply).
pub const SHUTDOWN_DRAIN: Duration = Duration::from_secs(5);

/// A write to a socket that takes longer than this marks the client as a slow consumer.
pub const WRITE_TIMEOUT: Duration = Duration::from_secs(10);

/// Bytes of outgoing frames tungstenite gathers before writing to the socket (a flush writes
/// sooner). Lets a batch of queued frames go out in one syscall; small so an idle connection
/// keeps little.
pub const WRITE_BUFFER_BYTES: usize = 8 * 1024;

/// Cluster mode: how long a node's hold on a meeting lasts unless renewed (renewed every third
/// of it). A dead node's meetings move after about this long; shorter means faster failover and
/// more Redis traffic (one renewal per meeting every 2 s here).
pub const LEASE: Duration = Duration::from_secs(6);

/// Most queued frames written before one flush.
pub const WRITE_BATCH: usize = 64;

/// After the hub closes a socket, how long it keeps reading for the client's closing reply.
pub const CLOSE_LINGER: Duration = Duration::from_secs(2);

/// WebSocket read buffer per connection: tungstenite holds it for the connection's life and
/// zero-fills it on every read. Its default (128 KiB) stays resident per idle connection
/// (../shared/PERFORMANCE.md). 1 KiB holds any signal, chat or control frame in one read; a
/// larger frame (an SDP offer) grows the buffer to its size, read 1 KiB at a time, which costs
/// a few more reads once per negotiation (#17: from 4 KiB, about 3 KiB less per idle
/// participant and a quarter of the zero-filling per read).
pub const READ_BUFFER_BYTES: usize = 1024;

/// Token-bucket rates per connection, per kind of message.
pub mod rates {
    /// Chat: a steady 5 messages/s, bursts of 10.
    pub const CHAT_PER_SEC: u32 = 5;
    pub const CHAT_BURST: u32 = 10;
    /// Signaling: 50/s steady, bursts of 200 — trickle ICE sends dozens of candidates at once when
    /// a client joins a room full of peers.
    pub const SIGNAL_PER_SEC: u32 = 50;
    pub const SIGNAL_BURST: u32 = 200;
    /// App data: 30/s, bursts of 60.
    pub const DATA_PER_SEC: u32 = 30;
    pub const DATA_BURST: u32 = 60;
    /// Host actions and room choices: 10/s, bursts of 30 (a host dragging people between rooms).
    pub const CONTROL_PER_SEC: u32 = 10;
    pub const CONTROL_BURST: u32 = 30;
    /// Messages refused with `rate_limited`: 5/s, bursts of 50. A client that goes past this is
    /// not a burst but a flood and is disconnected (close 4005).
    pub const REFUSALS_PER_SEC: u32 = 5;
    pub const REFUSALS_BURST: u32 = 50;
}

/// Default longest lifetime of a token (`exp − iat`), refused beyond: a leaked link is only as
/// dangerous as it is long-lived, and the SDK refreshes its token before expiry.
pub const MAX_TOKEN_LIFETIME_SECS: u64 = 24 * 3600;

/// The longest any timer of the hub waits (a token's expiry with no lifetime limit): far beyond
/// any session, and far from overflowing the clock.
pub const LONGEST_SLEEP: Duration = Duration::from_secs(365 * 24 * 3600);

/// Longest accepted clock skew between the token issuer and the hub.
pub const MAX_JWT_LEEWAY_SECS: u64 = 30;

/// Most breakout rooms one split may open (a 2,000-person meeting in pairs needs 1,000).
pub const MAX_BREAKOUT_ROOMS: usize = 1_000;

/// Longest room name and topic, in characters.
pub const MAX_ROOM_NAME_CHARS: usize = 80;
pub const MAX_ROOM_TOPIC_CHARS: usize = 500;

/// Longest breakout duration, countdown or extension: a therapy session is not longer than this.
pub const MAX_BREAKOUT_SECS: u64 = 6 * 3600;

/// A help request from a breakout room within this long of the last one from the same room is
/// acknowledged but not sent again: the hosts already know, and a frightened or mischievous
/// participant cannot flood the therapist's screen.
pub const HELP_REPEAT_MS: u64 = 30_000;

/// Least time between two raises of one person's hand (lowering is always allowed): each raise
/// notifies the room and every host.
pub const HAND_RAISE_MIN_MS: u64 = 1_000;

/// Default lead time of the "breakouts closing" notice before a timer ends.
pub const BREAKOUT_WARNING_SECS: u64 = 60;

/// Seconds before a scheduled session's end that everyone gets `session_ending` (config
/// `session_ending_warning_secs`).
pub const SESSION_ENDING_WARNING_SECS: u64 = 300;

/// How long minted TURN credentials hold by default: 12 hours, longer than a day program's
/// longest block (IOP sessions run about 3 h), because a TURN allocation is refreshed with the
/// credentials it was made with.
pub const TURN_TTL_SECS: u64 = 12 * 3600;

/// Meetings whose partner settings (`PUT /v1/meetings/{meeting}`) the hub keeps at once.
pub const MAX_MEETING_SETTINGS: usize = 10_000;

/// The group's agreement: plain text, at most this many bytes (a page of rules).
pub const MAX_AGREEMENT_BYTES: usize = 8 * 1024;

/// The most one `extend_session` adds: four hours.
pub const MAX_SESSION_EXTENSION_SECS: u64 = 4 * 3600;

/// Joins, takeovers and resumes one person (`sub`) may make in one meeting: a burst of
/// [`REJOIN_BURST`], then one per [`REJOIN_EVERY`]. A page reconnecting in a loop (or a script
/// opening tabs) makes every roommate tear down and rebuild its WebRTC connections; past this
/// it is refused with `rate_limited` and close 4107 (reconnect after a backoff).
pub const REJOIN_BURST: u32 = 10;
pub const REJOIN_EVERY: Duration = Duration::from_secs(6);

/// Rejoin buckets kept before the full ones (people who came and went long ago) are dropped.
pub const REJOIN_KEYS_KEPT: usize = 20_000;

/// Events kept for `GET /v1/events` (hub-wide, oldest dropped first): a day of a busy
/// partner's meetings is about this many joins, leaves and moves, and each is a few hundred
/// bytes.
pub const EVENT_LOG_LEN: usize = 10_000;

/// How long a meeting's attendance stays available after it ended (`attendance_retention_secs`).
pub const ATTENDANCE_RETENTION_SECS: u64 = 24 * 3600;

/// Webhook events waiting for delivery (one at a time, in order). A receiver down for longer
/// than this many events loses the oldest news to `GET /v1/events` only: dropped events are
/// counted and logged.
pub const WEBHOOK_OUTBOX_LEN: usize = 10_000;

/// One delivery attempt, connect to answer (Standard Webhooks suggests 15–30 s; a partner's
/// receiver should answer at once and work later).
pub const WEBHOOK_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

/// Waits between attempts of one delivery; the last repeats until it succeeds (at least once:
/// an event is never given up while the endpoint lives).
pub const WEBHOOK_BACKOFF: [std::time::Duration; 6] = [
    std::time::Duration::from_secs(1),
    std::time::Duration::from_secs(2),
    std::time::Duration::from_secs(5),
    std::time::Duration::from_secs(15),
    std::time::Duration::from_secs(60),
    std::time::Duration::from_secs(300),
];

/// With breakouts open, how long after a join or leave everyone but hosts and cohosts gets the
/// new room list: changes within this window go out as one list (hosts and cohosts get each at
/// once).
pub const ROOMS_DEBOUNCE_MS: u64 = 250;

/// Default time a dropped connection's seat is held for `hello.resume`: long enough for a phone
/// to switch from Wi-Fi to cellular, short enough that a vanished person does not linger.
pub const RESUME_GRACE_SECS: u64 = 30;

/// How long an ended meeting's id stays closed to all but hosts and cohosts (a therapy session is
/// not longer than [`MAX_BREAKOUT_SECS`]; tokens minted for it will have expired by then).
pub const ENDED_MEETING_MEMORY_SECS: u64 = 6 * 3600;

/// How long a meeting's moderation decisions (bans, roles given, the lock, the waiting room)
/// are kept after everyone has left, for a fresh start of the same meeting: a therapy session
/// is not longer than this, so the decisions hold for the session's whole life.
pub const MODERATION_MEMORY: Duration = Duration::from_secs(ENDED_MEETING_MEMORY_SECS);

/// Private messages kept per member to replay after a resume (group messages replay from the
/// room's history, bounded by [`CHAT_HISTORY_LEN`] and [`CHAT_HISTORY_BYTES`]).
pub const RESUME_PRIVATE_REPLAY: usize = 50;

/// Text bytes of those private messages kept per member: at most 64 MiB in a 2,000-person
/// meeting, whoever sends them.
pub const RESUME_PRIVATE_REPLAY_BYTES: usize = 32 * 1024;

/// Notices (broadcasts, help and mute requests, audit events, closing warnings) kept per held
/// seat to replay after a resume.
pub const RESUME_NOTICE_REPLAY: usize = 50;
