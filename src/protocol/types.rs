//! Value types shared by both directions: ids, roles, peers, chat messages, ICE servers.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::fmt;

/// A peer's id, assigned by the hub, unique for the life of the process. Numbers (not names or
/// the partner's `sub`) so that nothing identifying travels in signaling and logs.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    Serialize,
    Deserialize,
    JsonSchema,
    utoipa::ToSchema,
)]
#[serde(transparent)]
pub struct PeerId(pub u64);

impl PeerId {
    /// The server API, acting as a host (in `audit.by` and `broadcast.from`). Never a
    /// connection's id: those start at 1.
    pub const API: PeerId = PeerId(0);
}

impl fmt::Display for PeerId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "p{}", self.0)
    }
}

/// A room of a meeting: `"main"` for the main room, a hub-chosen id for each breakout.
#[derive(
    Debug,
    Clone,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    Serialize,
    Deserialize,
    JsonSchema,
    utoipa::ToSchema,
)]
#[serde(transparent)]
pub struct RoomId(pub String);

/// Id of the main room of every meeting.
pub const MAIN_ROOM: &str = "main";

impl RoomId {
    pub fn main() -> Self {
        RoomId(MAIN_ROOM.to_owned())
    }

    pub fn is_main(&self) -> bool {
        self.0 == MAIN_ROOM
    }
}

impl fmt::Display for RoomId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The `id` a client may put on any frame; the hub echoes it as `ref` in `ack` or `error`.
pub type RequestId = u64;

/// What a person may do in a meeting. Comes from the token's `role` claim and is checked on every
/// message, not only at join.
#[derive(
    Debug,
    Clone,
    Copy,
    Default,
    PartialEq,
    Eq,
    Hash,
    Serialize,
    Deserialize,
    JsonSchema,
    utoipa::ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// The therapist running the group: every host action.
    Host,
    /// A co-facilitator with the host's powers.
    Cohost,
    /// A peer mentor: a participant who can be spread one per breakout.
    Mentor,
    /// A group member. The default: a roster leaves it out (most of a group is participants,
    /// and a 1,000-person roster is then 40 % smaller).
    #[default]
    Participant,
    /// Watches and listens: cannot chat, send app data or offer media.
    Observer,
}

impl Role {
    /// The default role, left out of rosters.
    pub fn is_participant(&self) -> bool {
        *self == Role::Participant
    }

    /// Hosts and cohosts run the meeting.
    pub fn is_moderator(self) -> bool {
        matches!(self, Role::Host | Role::Cohost)
    }

    /// Everyone but observers may speak (chat, app data, media offers).
    pub fn may_speak(self) -> bool {
        !matches!(self, Role::Observer)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Host => "host",
            Role::Cohost => "cohost",
            Role::Mentor => "mentor",
            Role::Participant => "participant",
            Role::Observer => "observer",
        }
    }
}

/// A person in the meeting as others see them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Peer {
    pub id: PeerId,
    /// Display name from the token (trimmed, control characters removed, at most 64 characters).
    pub name: String,
    /// Absent: `participant`.
    #[serde(default, skip_serializing_if = "Role::is_participant")]
    pub role: Role,
    /// True while this person's connection has dropped and the hub holds their seat for the
    /// resume grace period (see `peer_reconnecting`).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub reconnecting: bool,
    /// Whether their microphone is on, as they last reported with `media_state` (absent until
    /// they do), so people who arrive later see who is muted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub audio: Option<bool>,
    /// Whether their camera is on, likewise.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub video: Option<bool>,
    /// True while their hand is raised.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub hand: bool,
    /// SFU meetings: true while a host or cohost stops the hub from forwarding this person's
    /// microphone (`block_media`). Absent: not blocked.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub audio_blocked: bool,
    /// Likewise for their camera (and shared screen).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub video_blocked: bool,
    /// True while they share their screen.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub screen: bool,
}

/// How a meeting's audio and video travel (`welcome.media`).
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema, utoipa::ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum MediaMode {
    /// Through the hub (a selective forwarding unit): one peer connection per person, to the
    /// hub, negotiated with the `sfu_*` messages. Clients only ever see the hub's address.
    #[default]
    Sfu,
    /// Browser to browser: one peer connection per pair, negotiated with `signal`.
    Mesh,
}

impl MediaMode {
    pub fn as_str(self) -> &'static str {
        match self {
            MediaMode::Sfu => "sfu",
            MediaMode::Mesh => "mesh",
        }
    }
}

/// Which quality of someone's camera a subscriber wants (`sfu_subscribe`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum VideoQuality {
    /// Not at all (a tile scrolled out of view): the hub forwards none of it.
    Off,
    /// The low simulcast layer (thumbnails). The default.
    #[default]
    Low,
    /// The high layer (the speaker, a pinned person).
    High,
}

/// Audio or video, for a receive slot in `sfu_tracks`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum MediaKind {
    Audio,
    Video,
}

/// One receive slot of a subscriber's connection to the hub: the transceiver `mid` and whom it
/// carries now (`peer` absent: nobody; the slot is silent).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct SfuSlot {
    pub mid: String,
    pub kind: MediaKind,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub peer: Option<PeerId>,
    /// True on a video slot carrying `peer`'s shared screen rather than their camera.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub screen: bool,
}

/// `hello.resume`: take back a seat after a dropped connection.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct ResumeRequest {
    /// The `resume_token` of the latest `welcome`.
    pub token: String,
    /// The room the client believes it is in. When the hub's answer names the same room, its
    /// `chat` holds only what was missed; otherwise the new room's history (as `room_changed`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub room: Option<RoomId>,
    /// The highest group chat message `id` the client has received (0 if none).
    #[serde(default)]
    pub last_chat: u64,
    /// The highest private message `id` the client has received (0 if none). Private messages
    /// are numbered per person (see [`ChatMessage::id`]).
    #[serde(default)]
    pub last_private: u64,
}

/// Why a peer left a room, as told to the others in it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum PeerLeftReason {
    /// The client said goodbye (closed its socket normally).
    Left,
    /// The connection dropped or was closed by the hub (slow consumer, keepalive timeout).
    Disconnected,
    /// The peer was moved to another room of the same meeting.
    Moved,
    /// The same person connected again (another tab or device) and took over this seat; a
    /// `peer_joined` with the same id follows. Renegotiate media with it.
    Replaced,
    /// Removed by a host or cohost.
    Removed,
    /// Stepped out for a private conversation with a host (where to is not said).
    SteppedOut,
    /// The connection dropped and the resume grace period ended without a resume.
    Timeout,
}

/// How `split` assigns people to breakout rooms.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema, utoipa::ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum SplitStrategy {
    /// Balanced sizes, people dealt round-robin in join order.
    Even,
    /// Balanced sizes, shuffled.
    Random,
    /// Rooms of two; with an odd count one pair becomes three.
    Pairs,
    /// Exactly as listed in `rooms[].members`; others stay in the main room.
    Manual,
    /// Rooms open empty; participants pick one with `choose_room`.
    Choose,
    /// Rooms of two that rotate: round after round in the same session, nobody meets the same
    /// person twice until every pairing has happened (an odd one out rests in the main room).
    Rotate,
}

/// One breakout room asked for in `split`.
#[derive(
    Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema, utoipa::ToSchema,
)]
pub struct BreakoutRoomSpec {
    /// At most 80 characters.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(max_length = 80)]
    pub name: Option<String>,
    /// The prompt shown to this room (at most 500 characters).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(max_length = 500)]
    pub topic: Option<String>,
    /// For `manual`: who goes here.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub members: Vec<PeerId>,
}

/// A room as listed to everyone.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct RoomInfo {
    pub id: RoomId,
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub topic: Option<String>,
    pub members: Vec<PeerId>,
}

/// A chat message as delivered (group or private) and as kept in a room's history.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct ChatMessage {
    /// Group messages: unique within the meeting, counting up. Private messages (with `to`)
    /// have their own numbering, per person: 1, 2, 3… over the private messages that person sent
    /// or received, so the two people see different ids for the same message and nobody's ids
    /// say anything about private messages between others.
    pub id: u64,
    /// Counts the group messages of `room`: 1, 2, 3… without gaps, so a client can tell when it
    /// missed one. Private messages carry 0 so that they leave no trace in the room's count.
    pub seq: u64,
    /// Group messages: the room they were said in. Private messages: the reader's own room (the
    /// sender's could be a private conversation that is nobody else's business).
    pub room: RoomId,
    /// Set by the hub, never taken from the client.
    pub from: PeerId,
    /// Present on private messages: the one recipient.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub to: Option<PeerId>,
    /// `staff`: the hosts' and cohosts' back channel (`seq` 0, numbered apart from the room's
    /// messages, kept in no history). Absent: the room's chat or a private message.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub channel: Option<ChatChannel>,
    pub text: String,
    /// Hub time when accepted, milliseconds since the Unix epoch.
    pub ts: u64,
}

/// What kind of meeting this is (`welcome.kind`; the token's `kind` claim or the partner's
/// settings decide it when the meeting starts).
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema, utoipa::ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum MeetingKind {
    /// A clinician's session: hosts run it, and it ends for everyone when they end it.
    #[default]
    Session,
    /// A peer support room run by mentors: it needs no host to stay open, never ends for
    /// everyone, and people come and go; mentors get a peer leader's moderation.
    DropIn,
}

impl MeetingKind {
    pub fn is_session(&self) -> bool {
        *self == MeetingKind::Session
    }
}

/// Whether a meeting keeps its chat (`welcome.chat_history`, `set_chat_history`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ChatHistory {
    /// Late joiners and people moved into a room get its recent history.
    #[default]
    Keep,
    /// Messages are delivered and not kept: nobody gets history, and the hub holds a message
    /// only as long as a dropped connection may still resume and need it.
    #[serde(rename = "none")]
    NotKept,
}

impl ChatHistory {
    pub fn is_keep(&self) -> bool {
        *self == ChatHistory::Keep
    }
}

/// A chat channel other than the room's.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ChatChannel {
    /// Hosts and cohosts only, wherever they are: co-facilitators coordinating.
    Staff,
}

/// The reactions a person can send (a fixed set: nothing free-form reaches a tile).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Reaction {
    Heart,
    Clap,
    ThumbsUp,
    MeToo,
    Tissue,
}

/// One ICE server for `RTCPeerConnection`, as in the WebRTC `RTCIceServer` dictionary.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct IceServer {
    pub urls: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub credential: Option<String>,
}

/// Which ICE candidates clients may use, as `RTCConfiguration.iceTransportPolicy`. With `relay`,
/// media goes only through the TURN servers in `ice_servers`, so no participant's browser learns
/// another's IP address (in mesh mode every roommate would otherwise).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum IceTransportPolicy {
    #[default]
    All,
    Relay,
}

impl IceTransportPolicy {
    pub fn is_all(&self) -> bool {
        *self == IceTransportPolicy::All
    }
}

/// Opaque JSON the hub relays without looking inside (signal `data`, app `payload`). Kept as the
/// sender's raw text, so relaying costs one copy instead of building and re-serializing a tree.
#[derive(Clone)]
pub struct OpaqueJson(Box<serde_json::value::RawValue>);

impl OpaqueJson {
    /// The JSON text as the sender wrote it.
    pub fn get(&self) -> &str {
        self.0.get()
    }

    /// From already validated JSON text (a borrowed slice of a decoded frame).
    pub fn from_raw(raw: &serde_json::value::RawValue) -> Self {
        OpaqueJson(raw.to_owned())
    }
}

impl From<serde_json::Value> for OpaqueJson {
    fn from(value: serde_json::Value) -> Self {
        // Serializing a Value cannot fail; `null` is a safe fallback all the same.
        let raw = serde_json::value::to_raw_value(&value).unwrap_or_else(|_| {
            serde_json::value::RawValue::from_string("null".into()).expect("null is JSON")
        });
        OpaqueJson(raw)
    }
}

impl fmt::Debug for OpaqueJson {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Never print the content (SDP, exercise state) in debug output.
        write!(f, "OpaqueJson({} bytes)", self.0.get().len())
    }
}

impl PartialEq for OpaqueJson {
    fn eq(&self, other: &Self) -> bool {
        self.0.get() == other.0.get()
    }
}

impl Serialize for OpaqueJson {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.0.serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for OpaqueJson {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        // Inside tagged enums serde buffers the input, so go through a Value here; the hot path
        // (signal frames) is decoded by the connection directly into raw text.
        serde_json::Value::deserialize(deserializer).map(OpaqueJson::from)
    }
}

impl JsonSchema for OpaqueJson {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "OpaqueJson".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "description": "Any JSON value, relayed unchanged."
        })
    }
}
