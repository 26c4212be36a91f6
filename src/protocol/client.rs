//! Client → hub messages: the one enum a connection decodes every inbound frame into.

use super::types::{PeerId, RequestId};
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
    },
    /// WebRTC signaling (SDP offer/answer, ICE candidate) for one peer in the sender's room. `data`
    /// is relayed untouched, except that observers may not send offers (`data.type` or
    /// `data.description.type` equal to `"offer"`).
    Signal { to: PeerId, data: serde_json::Value },
    /// A chat message: to the sender's room, or with `to`, privately to one person.
    Chat {
        text: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        to: Option<PeerId>,
    },
    /// Application data (exercise state, games) to the sender's room or, with `to`, one peer in it.
    Data {
        payload: serde_json::Value,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        to: Option<PeerId>,
    },
}

impl ClientMessage {
    /// The `type` tag, for logs and metrics (never the content).
    pub fn kind(&self) -> &'static str {
        match self {
            ClientMessage::Hello { .. } => "hello",
            ClientMessage::Signal { .. } => "signal",
            ClientMessage::Chat { .. } => "chat",
            ClientMessage::Data { .. } => "data",
        }
    }
}

/// Just the `id` of a frame, read when the frame as a whole does not decode, so the error can
/// still carry `ref`.
#[derive(Debug, Deserialize)]
pub struct FrameId {
    #[serde(default)]
    pub id: Option<RequestId>,
}
