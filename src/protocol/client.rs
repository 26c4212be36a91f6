//! Client → hub messages: the one enum a connection decodes every inbound frame into.

use super::types::{
    BreakoutRoomSpec, ChatChannel, ChatHistory, OpaqueJson, PeerId, Reaction, RequestId,
    ResumeRequest, Role, RoomId, SplitStrategy, VideoQuality,
};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// One client frame: an optional request `id` (answered by `ack` or `error` with `ref`) and the
/// message itself. Unknown fields are ignored, so a field the hub sets (like `from`) cannot be
/// forged by putting it in a frame.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[schemars(title = "ClientFrame")]
pub struct ClientFrame {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<RequestId>,
    #[serde(flatten)]
    pub message: ClientMessage,
}

/// Every message a client may send, tagged by `"type"`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ClientMessage {
    /// The first frame on every socket, and only the first. The token is never put in the URL.
    Hello {
        /// Must be 1.
        protocol: u32,
        /// A JWT minted by the partner's backend (see PROTOCOL.md, "Tokens").
        token: String,
        /// Optional: the meeting the client means to join. When present it must equal the token's
        /// `meeting` claim, so a page that mixes up tokens is refused rather than put in the wrong group.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        meeting: Option<String>,
        /// Optional: take back the seat of a connection that dropped, within the resume grace
        /// period (same peer id, same place, the chat missed meanwhile). The token must still be
        /// the same person's. A resume that comes too late is refused with `resume_expired`
        /// (close 4106): join again without `resume`.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        resume: Option<ResumeRequest>,
    },
    /// WebRTC signaling (SDP offer/answer, ICE candidate) for one peer in the sender's room. `data`
    /// is relayed untouched, except that observers may not send offers (`data.type` or
    /// `data.description.type` equal to `"offer"`).
    Signal { to: PeerId, data: OpaqueJson },
    /// SFU meetings: open (or reopen) this person's one peer connection to the hub. `sdp` is the
    /// client's offer: first its receive slots (`recvonly` sections in audio+video pairs, up to
    /// 16 pairs), then at most one microphone and one camera (`sendonly`; the camera may carry
    /// simulcast `rid`s, e.g. `l` and `h`). The hub answers with `sfu_publish_answer`, sending
    /// on the receive slots from then on, and offers more slots with `sfu_offer` only if a room
    /// outgrows them. An observer's offer must only receive. Without `sdp` the hub makes the
    /// first offer itself. A second `sfu_publish` replaces the connection (a reloaded page).
    SfuPublish {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        sdp: Option<String>,
    },
    /// SFU meetings: the answer to the hub's `sfu_offer` with the same `rev`.
    SfuAnswer { rev: u64, sdp: String },
    /// SFU meetings: which quality of `peer`'s camera to receive (default `low`).
    SfuSubscribe { peer: PeerId, video: VideoQuality },
    /// Host/cohost, SFU meetings: stop (`true`) or allow again (`false`) the hub forwarding
    /// `peer`'s microphone and/or camera, whatever their device does. Absent: unchanged.
    BlockMedia {
        peer: PeerId,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        audio: Option<bool>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        video: Option<bool>,
    },
    /// A chat message: to the sender's room, or with `to`, privately to one person, or (hosts
    /// and cohosts) with `channel: "staff"` to every host and cohost wherever they are.
    Chat {
        text: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        to: Option<PeerId>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        channel: Option<ChatChannel>,
    },
    /// Anyone but observers: a non-verbal reaction, shown on your tile to your room for a few
    /// seconds; never stored or replayed.
    React { reaction: Reaction },
    /// Host/cohost: turn reactions on or off for the meeting.
    SetReactions { enabled: bool },
    /// Anyone asked with `agreement_required`: accept that version of the group's agreement.
    AcceptAgreement { version: String },
    /// Host/cohost: the group's agreement (plain text, at most 8 KiB); empty text removes it.
    SetAgreement { text: String },
    /// Host/cohost: keep the meeting's chat (`keep`: late joiners see recent history) or not
    /// (`none`).
    SetChatHistory { mode: ChatHistory },
    /// Application data (exercise state, games) to the sender's room or, with `to`, one peer in it.
    Data {
        payload: OpaqueJson,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        to: Option<PeerId>,
    },
    /// Host/cohost: split the main room's participants into breakout rooms.
    Split {
        strategy: SplitStrategy,
        /// Number of rooms (`even`, `random`, `choose`); ignored by `pairs`; with `rooms`, defaults
        /// to its length.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        count: Option<u32>,
        /// Per-room name, topic and (for `manual`) members.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        rooms: Vec<BreakoutRoomSpec>,
        /// Topic for every room that has none of its own (the icebreaker prompt).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        topic: Option<String>,
        /// Close the breakouts automatically after this many seconds.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        duration_secs: Option<u64>,
        /// Put mentors one per room before the participants (default true).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        spread_mentors: Option<bool>,
        /// `even` and `random` never leave anyone alone in a room: they open at most one room
        /// per two people (the extra rooms asked for are not opened). `true` asks for rooms of
        /// one anyway (solo reflection).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        allow_solo: Option<bool>,
    },
    /// Host/cohost: move one person to a room (`"main"` included).
    Move { peer: PeerId, room: RoomId },
    /// Host/cohost: swap the rooms of two people.
    Swap { a: PeerId, b: PeerId },
    /// Host/cohost: move yourself into a room (and back with `"main"`).
    Visit { room: RoomId },
    /// Participant or mentor: pick a breakout room while the host has rooms open for choosing.
    ChooseRoom { room: RoomId },
    /// Host/cohost: a notice to every room at once, or with `room` to that room only (its
    /// members, and every host and cohost).
    Broadcast {
        text: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        room: Option<RoomId>,
    },
    /// Host/cohost: close breakouts. Without `rooms`: all of them, everyone back to the main room,
    /// optionally after a countdown. With `rooms`: those rooms become one (the first listed).
    Merge {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        countdown_secs: Option<u64>,
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        rooms: Vec<RoomId>,
    },
    /// Host/cohost: add time to the running breakout timer.
    ExtendTimer { secs: u64 },
    /// Host/cohost: move a scheduled session's end `secs` later (from now, if it has passed);
    /// everyone gets `session_rescheduled`.
    ExtendSession { secs: u64 },
    /// Host/cohost: re-open the last breakout assignment after a merge.
    Reopen {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        duration_secs: Option<u64>,
    },
    /// Anyone in a breakout room: ask the hosts for help.
    AskHelp {},
    /// Host/cohost: remove someone from the meeting; with `ban`, the same person (`sub`) cannot
    /// come back for the rest of the meeting, even with a new token.
    Remove {
        peer: PeerId,
        #[serde(default)]
        ban: bool,
    },
    /// Host/cohost: end the meeting for everyone.
    EndMeeting {},
    /// Host/cohost: ask someone to turn off their microphone and/or camera.
    RequestMute {
        peer: PeerId,
        #[serde(default)]
        audio: bool,
        #[serde(default)]
        video: bool,
    },
    /// Anyone: tell the room whether your microphone and camera are on (shown on the roster),
    /// and whether you share your screen (`screen`: absent is unchanged; participants and
    /// mentors only while a host allows it, see `allow_screen_share`).
    MediaState {
        audio: bool,
        video: bool,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        screen: Option<bool>,
    },
    /// Host/cohost: let participants and mentors share their screen, or stop them (whoever
    /// shares stops at once). Hosts and cohosts may always share.
    AllowScreenShare { allowed: bool },
    /// Anyone but observers: raise or lower your hand. Hosts and cohosts may lower someone
    /// else's with `peer` (and `raised: false`).
    RaiseHand {
        raised: bool,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        peer: Option<PeerId>,
    },
    /// Host: make someone a cohost, mentor, participant or observer.
    SetRole { peer: PeerId, role: Role },
    /// Host: hand the host role to someone else (you become a cohost).
    TransferHost { peer: PeerId },
    /// Host/cohost: lock or unlock the meeting. New joiners are refused while locked, except
    /// hosts and cohosts.
    Lock { locked: bool },
    /// Host/cohost: turn the waiting room on or off. Off lets everyone waiting in.
    SetLobby { enabled: bool },
    /// Host/cohost: let someone in from the waiting room (without `peer`: everyone waiting).
    Admit {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        peer: Option<PeerId>,
    },
    /// Host/cohost: turn someone away from the waiting room (without `peer`: everyone waiting).
    Deny {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        peer: Option<PeerId>,
    },
    /// Host/cohost: take someone aside into a private 1:1 room with you. The group sees only that
    /// you both stepped out; nobody else can enter or see into the room.
    PullAside { peer: PeerId },
    /// Host/cohost: end a private conversation; everyone in it goes back where they came from.
    /// Without `peer`: the one you are in. With `peer`: the one that person is in (so a host can
    /// end another moderator's).
    EndAside {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        peer: Option<PeerId>,
    },
    /// A fresher token for the same person and meeting, before the current one expires. Without
    /// it the hub closes the socket at expiry (close 4006).
    Refresh { token: String },
    /// A heartbeat the client can see: answered at once with `pong`. Browsers cannot see
    /// WebSocket pings, so this is how a page notices a silently dead connection.
    Ping {},
}

impl ClientFrame {
    /// Decodes one text frame. `signal` frames — most of the traffic — take a fast path that
    /// keeps `data` as the sender's raw text instead of building a JSON tree.
    pub fn decode(text: &str) -> Result<ClientFrame, serde_json::Error> {
        if text.contains("\"signal\"") {
            if let Ok(frame) = serde_json::from_str::<SignalFrame<'_>>(text) {
                if frame.kind == "signal" {
                    return Ok(ClientFrame {
                        id: frame.id,
                        message: ClientMessage::Signal {
                            to: frame.to,
                            data: OpaqueJson::from_raw(frame.data),
                        },
                    });
                }
            }
        }
        serde_json::from_str(text)
    }
}

/// A `signal` frame with its `data` borrowed, unparsed. Unknown fields are ignored, as in
/// [`ClientFrame`].
#[derive(Deserialize)]
struct SignalFrame<'a> {
    #[serde(rename = "type", borrow)]
    kind: std::borrow::Cow<'a, str>,
    #[serde(default)]
    id: Option<RequestId>,
    to: PeerId,
    #[serde(borrow)]
    data: &'a serde_json::value::RawValue,
}

/// Just the `id` of a frame, read when the frame as a whole does not decode, so the error can
/// still carry `ref`.
#[derive(Debug, Deserialize)]
pub struct FrameId {
    #[serde(default)]
    pub id: Option<RequestId>,
}
