//! Hub → client messages: the one enum every outbound frame is serialized from.

use super::codes::ErrorCode;
use super::types::{ChatMessage, IceServer, Peer, PeerId, PeerLeftReason, RequestId, RoomId};
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
    },
    /// Signaling relayed from a peer in your room; `data` is exactly what that peer sent.
    Signal {
        from: PeerId,
        data: serde_json::Value,
    },
    /// A group or private chat message (private ones carry `to`).
    Chat(ChatMessage),
    /// Application data from a peer in your room (`to` is set when it was sent to you alone).
    Data {
        from: PeerId,
        payload: serde_json::Value,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        to: Option<PeerId>,
    },
    /// Someone entered your room.
    PeerJoined { peer: Peer },
    /// Someone left your room.
    PeerLeft { id: PeerId, reason: PeerLeftReason },
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
