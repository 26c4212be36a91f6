//! Hub → client messages: the one enum every outbound frame is serialized from.

use super::codes::ErrorCode;
use super::types::{
    ChatHistory, ChatMessage, IceServer, IceTransportPolicy, MediaMode, MeetingKind, OpaqueJson,
    Peer, PeerId, PeerLeftReason, Reaction, RequestId, RoomId, RoomInfo, SfuSlot,
};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Every message the hub sends, tagged by `"type"`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ServerMessage {
    /// The answer to an accepted `hello`: who you are and what your room looks like now.
    Welcome {
        protocol: u32,
        you: Peer,
        meeting: String,
        room: RoomId,
        /// Everyone else in your room.
        peers: Vec<Peer>,
        /// The room's recent group chat, oldest first.
        chat: Vec<ChatMessage>,
        /// For `RTCPeerConnection({iceServers})`.
        ice_servers: Vec<IceServer>,
        /// For `RTCPeerConnection({iceTransportPolicy})`: `relay` means TURN only (absent: all).
        #[serde(default, skip_serializing_if = "IceTransportPolicy::is_all")]
        ice_transport_policy: IceTransportPolicy,
        /// The meeting's rooms, as in `rooms`.
        rooms: Vec<RoomInfo>,
        /// How audio and video travel: `sfu` (send `sfu_publish`; never `signal`) or `mesh`
        /// (one `RTCPeerConnection` per peer, negotiated with `signal`).
        media: MediaMode,
        /// SFU meetings: which of the hub's media engines this seat's peer connection must
        /// reach (opaque). A resumed `welcome` naming another one than the connection was made
        /// for (the meeting moved to another hub node) means: make a new connection
        /// (`sfu_publish`) at once, rather than wait for the old one to fail.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        sfu_instance: Option<String>,
        /// When the breakout rooms close (ms since the epoch), if a timer runs.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        closes_at: Option<u64>,
        /// True while participants may pick their own breakout room (`choose_room`).
        choosing: bool,
        /// `drop_in` for a peer support room run by mentors; absent: a clinician's session.
        #[serde(default, skip_serializing_if = "MeetingKind::is_session")]
        kind: MeetingKind,
        /// `none` while the meeting's chat is not kept (show "messages are not saved"); absent:
        /// `keep`.
        #[serde(default, skip_serializing_if = "ChatHistory::is_keep")]
        chat_history: ChatHistory,
        /// True while a host has turned reactions off (`set_reactions`).
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        reactions_off: bool,
        /// True while participants and mentors may share their screen (hosts and cohosts always
        /// may).
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        screen_share_allowed: bool,
        /// When the scheduled session ends for everyone (ms since the epoch), if it has an end.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        ends_at: Option<u64>,
        /// True while the meeting is locked (see `locked`).
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        locked: bool,
        /// True when `room` is a host's private 1:1 room (`pull_aside`), as in `room_changed`.
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        private: bool,
        /// On a resumed `welcome`: how many notices sent while the seat was held follow it
        /// (after `people`, `lobby` and `hands` for hosts and cohosts). Absent when none.
        #[serde(default, skip_serializing_if = "is_zero")]
        replayed: u32,
        /// Send it back in `hello.resume` to take this seat again after a dropped connection.
        /// A secret: keep it in memory only. Every `welcome` carries a new one.
        resume_token: String,
        /// True when this answers `hello.resume`: `you.id` is the same as before. If `room` is
        /// the room named in `resume.room`, `chat` holds exactly the messages missed (append
        /// them); otherwise `chat` is the new room's history (replace, as for `room_changed`).
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        resumed: bool,
    },
    /// You were moved to another room. Comes before any event from the new room. Tear down peer
    /// connections to people not in `peers` and connect to those who are.
    RoomChanged {
        room: RoomId,
        name: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        topic: Option<String>,
        /// Everyone in the new room, **you included** (skip your own id). One frame is shared by
        /// everyone moved into the room at once, so a thousand-person merge is serialized once.
        peers: Vec<Peer>,
        /// The new room's recent group chat.
        chat: Vec<ChatMessage>,
        /// True for a host's private 1:1 room (`pull_aside`): listed nowhere, closed by `end_aside`.
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        private: bool,
    },
    /// The meeting's room list changed (split, move, merge, timer).
    Rooms {
        rooms: Vec<RoomInfo>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        closes_at: Option<u64>,
        choosing: bool,
        /// After a `rotate` split: which round of the rotation this is (1, 2, 3…).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        round: Option<u32>,
    },
    /// A host's notice to every room; show it prominently.
    Broadcast {
        from: PeerId,
        text: String,
        ts: u64,
        /// Present when the notice went to this one room (and to hosts and cohosts).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        room: Option<RoomId>,
    },
    /// The breakout rooms close at `closes_at`; `seconds` left when this was sent.
    BreakoutClosing { closes_at: u64, seconds: u64 },
    /// The scheduled session ends for everyone at `at` (ms since the epoch); `seconds` left when
    /// this was sent. Sent `session_ending_warning_secs` before, and at once to anyone who
    /// arrives (or resumes) after that.
    SessionEnding { at: u64, seconds: u64 },
    /// The scheduled end moved (a host's `extend_session`, or the partner's server API):
    /// `ends_at` is the new end (ms since the epoch), absent if the session no longer has one.
    /// Any `session_ending` shown so far no longer holds.
    SessionRescheduled {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        ends_at: Option<u64>,
    },
    /// A host or cohost asks you to turn off your microphone and/or camera. Clients honour it
    /// (and report with `media_state`).
    MuteRequested {
        by: PeerId,
        audio: bool,
        video: bool,
    },
    /// Someone in your room turned their microphone or camera on or off.
    PeerMedia {
        id: PeerId,
        audio: bool,
        video: bool,
        /// True while they share their screen.
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        screen: bool,
    },
    /// Whether participants and mentors may share their screen now (`allow_screen_share`).
    ScreenShareAllowed { allowed: bool },
    /// Someone in your room reacted (you included): show it on their tile for a few seconds.
    Reaction { from: PeerId, reaction: Reaction },
    /// A host or cohost turned reactions on or off.
    ReactionsEnabled { enabled: bool },
    /// Instead of `welcome`: read and accept the group's agreement first (`accept_agreement`
    /// with this `version`); until then you see no one and nothing. Also to members when the
    /// text changes (they stay, and are asked to accept the new version).
    AgreementRequired { text: String, version: String },
    /// To hosts and cohosts: the agreement's version in force (absent: none), who in the
    /// meeting has accepted it, and who is reading it before entering.
    Agreements {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        version: Option<String>,
        accepted: Vec<PeerId>,
        reading: Vec<PeerId>,
    },
    /// A host or cohost changed whether chat is kept (`set_chat_history`).
    ChatHistory { mode: ChatHistory },
    /// A person's role or name changed (sent to the whole meeting) or their hand (their room
    /// and the hosts), or — to hosts and cohosts outside that person's room — someone joined
    /// the meeting, so they can name everyone.
    PeerUpdated { peer: Peer },
    /// To hosts and cohosts, right after their `welcome` and on promotion: everyone in the
    /// meeting, in every room (names for the ids in `rooms`, `help_requested`, `audit`).
    People { peers: Vec<Peer> },
    /// To hosts and cohosts: raised hands, first raised first.
    Hands { queue: Vec<PeerId> },
    /// Instead of `welcome` while the waiting room is on, or while no host or cohost has
    /// arrived yet (`for_host`): you wait until a host lets you in, or arrives (then `welcome`
    /// follows), or turns you away (close 4011). You see no one and nothing.
    Waiting {
        meeting: String,
        you: Peer,
        /// Waiting because no host or cohost is here yet (let in when one arrives), rather than
        /// for a host to admit you.
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        for_host: bool,
    },
    /// To hosts and cohosts: the waiting room, after every change.
    Lobby { enabled: bool, waiting: Vec<Peer> },
    /// The meeting was locked or unlocked.
    Locked { locked: bool, by: PeerId },
    /// To hosts and cohosts: a moderator action happened (who, what, to whom, when). Never
    /// carries chat text.
    Audit {
        by: PeerId,
        action: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        subject: Option<PeerId>,
        /// A word on how: `on`/`off` (lock, set_lobby), `ban` (remove), the new role (set_role),
        /// `lowered` (raise_hand on someone else), the strategy (split).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        detail: Option<String>,
        /// The second person, for actions on two (`swap`).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        other: Option<PeerId>,
        ts: u64,
    },
    /// To hosts and cohosts: someone in a breakout room asks for help.
    HelpRequested { from: PeerId, room: RoomId, ts: u64 },
    /// SFU meetings: the hub's answer to `sfu_publish`. Apply it with `setRemoteDescription`.
    SfuPublishAnswer { sdp: String },
    /// SFU meetings: the hub offers receive slots (more of them as rooms grow). Answer with
    /// `sfu_answer {rev}`. Only ever one in flight.
    SfuOffer { rev: u64, sdp: String },
    /// SFU meetings: whom each receive slot carries now. Authoritative: slots are reused as
    /// rooms change, so stream ids say nothing; map `ontrack`'s `transceiver.mid` through this.
    /// Sent after every change, before media from a new roommate arrives on a slot.
    SfuTracks { rev: u64, slots: Vec<SfuSlot> },
    /// SFU meetings: who in your room is speaking now, loudest first (empty: nobody). At most
    /// about three a second, only when it changes.
    ActiveSpeaker { peers: Vec<PeerId> },
    /// Signaling relayed from a peer in your room; `data` is exactly what that peer sent.
    Signal { from: PeerId, data: OpaqueJson },
    /// A group or private chat message (private ones carry `to`).
    Chat(ChatMessage),
    /// Application data from a peer in your room (`to` is set when it was sent to you alone).
    Data {
        from: PeerId,
        payload: OpaqueJson,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        to: Option<PeerId>,
    },
    /// Someone entered your room.
    PeerJoined { peer: Peer },
    /// Someone left your room.
    PeerLeft { id: PeerId, reason: PeerLeftReason },
    /// Someone's connection in your room dropped. The hub holds their seat for the resume grace
    /// period: tear down the peer connection and show them as reconnecting. Either
    /// `peer_reconnected` or `peer_left {reason: "timeout"}` follows.
    PeerReconnecting { id: PeerId },
    /// A reconnecting peer is back, with the same id, on a new connection: connect to it again
    /// as for `peer_joined`.
    PeerReconnected { id: PeerId },
    /// The answer to `ping`.
    Pong {},
    /// The request with this `id` was carried out.
    Ack {
        #[serde(rename = "ref")]
        reference: RequestId,
    },
    /// A request was refused, or the connection is about to close (then a close frame follows).
    Error {
        code: ErrorCode,
        /// For people reading logs; clients branch on `code`.
        message: String,
        /// The `id` of the refused frame, when it had one.
        #[serde(rename = "ref", default, skip_serializing_if = "Option::is_none")]
        reference: Option<RequestId>,
    },
}

impl ServerMessage {
    pub fn error(
        code: ErrorCode,
        message: impl Into<String>,
        reference: Option<RequestId>,
    ) -> Self {
        ServerMessage::Error {
            code,
            message: message.into(),
            reference,
        }
    }
}

fn is_zero(n: &u32) -> bool {
    *n == 0
}

impl ServerMessage {
    /// The `type` tag, for metrics and logs (never the content).
    pub fn kind(&self) -> &'static str {
        match self {
            ServerMessage::Welcome { .. } => "welcome",
            ServerMessage::RoomChanged { .. } => "room_changed",
            ServerMessage::Rooms { .. } => "rooms",
            ServerMessage::Broadcast { .. } => "broadcast",
            ServerMessage::BreakoutClosing { .. } => "breakout_closing",
            ServerMessage::SessionEnding { .. } => "session_ending",
            ServerMessage::SessionRescheduled { .. } => "session_rescheduled",
            ServerMessage::MuteRequested { .. } => "mute_requested",
            ServerMessage::PeerMedia { .. } => "peer_media",
            ServerMessage::ScreenShareAllowed { .. } => "screen_share_allowed",
            ServerMessage::Reaction { .. } => "reaction",
            ServerMessage::ReactionsEnabled { .. } => "reactions_enabled",
            ServerMessage::ChatHistory { .. } => "chat_history",
            ServerMessage::AgreementRequired { .. } => "agreement_required",
            ServerMessage::Agreements { .. } => "agreements",
            ServerMessage::PeerUpdated { .. } => "peer_updated",
            ServerMessage::People { .. } => "people",
            ServerMessage::Hands { .. } => "hands",
            ServerMessage::Waiting { .. } => "waiting",
            ServerMessage::Lobby { .. } => "lobby",
            ServerMessage::Locked { .. } => "locked",
            ServerMessage::Audit { .. } => "audit",
            ServerMessage::HelpRequested { .. } => "help_requested",
            ServerMessage::SfuPublishAnswer { .. } => "sfu_publish_answer",
            ServerMessage::SfuOffer { .. } => "sfu_offer",
            ServerMessage::SfuTracks { .. } => "sfu_tracks",
            ServerMessage::ActiveSpeaker { .. } => "active_speaker",
            ServerMessage::Signal { .. } => "signal",
            ServerMessage::Chat { .. } => "chat",
            ServerMessage::Data { .. } => "data",
            ServerMessage::PeerJoined { .. } => "peer_joined",
            ServerMessage::PeerLeft { .. } => "peer_left",
            ServerMessage::PeerReconnecting { .. } => "peer_reconnecting",
            ServerMessage::PeerReconnected { .. } => "peer_reconnected",
            ServerMessage::Pong { .. } => "pong",
            ServerMessage::Ack { .. } => "ack",
            ServerMessage::Error { .. } => "error",
        }
    }
}
