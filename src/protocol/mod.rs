//! The wire protocol, defined once: one enum per direction, the error and close codes, and the
//! shared value types. `proto/` (prose spec, JSON Schema, examples) and the web client's types are
//! generated from or checked against these definitions.
//!
//! Frames are JSON text, one object per frame, tagged by `"type"`. See `proto/PROTOCOL.md`.

mod client;
mod codes;
mod policy;
mod server;
mod types;

pub use client::{ClientFrame, ClientMessage, FrameId};
pub use codes::{CloseCode, ErrorCode, Refusal};
pub use policy::{Access, AuditTerms, Policy, RateClass};
pub use server::ServerMessage;
pub use types::{
    BreakoutRoomSpec, ChatChannel, ChatHistory, ChatMessage, IceServer, IceTransportPolicy,
    MediaKind, MediaMode, MeetingKind, OpaqueJson, Peer, PeerId, PeerLeftReason, Reaction,
    RequestId, ResumeRequest, Role, RoomId, RoomInfo, SfuSlot, SplitStrategy, VideoQuality,
    MAIN_ROOM,
};

/// The protocol version this hub speaks. A `hello` with any other number is refused with
/// `unsupported_protocol` (close code 4002).
pub const PROTOCOL_VERSION: u32 = 1;

/// The hub-to-client notices kept for a held seat and replayed after its resumed `welcome`
/// (`welcome.replayed` counts them). Everything else comes back as state with the `welcome`.
pub const REPLAYED_NOTICES: [&str; 5] = [
    "broadcast",
    "help_requested",
    "mute_requested",
    "audit",
    "breakout_closing",
];
