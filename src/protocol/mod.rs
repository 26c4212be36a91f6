//! The wire protocol, defined once: one enum per direction, the error and close codes, and the
//! shared value types. `proto/` (prose spec, JSON Schema, examples) and the web client's types are
//! generated from or checked against these definitions.
//!
//! Frames are JSON text, one object per frame, tagged by `"type"`. See `proto/PROTOCOL.md`.

mod client;
mod codes;
mod server;
mod types;

pub use client::{ClientFrame, ClientMessage, FrameId};
pub use codes::{CloseCode, ErrorCode};
pub use server::ServerMessage;
pub use types::{
    BreakoutRoomSpec, ChatMessage, IceServer, OpaqueJson, Peer, PeerId, PeerLeftReason, RequestId,
    ResumeRequest, Role, RoomId, RoomInfo, SplitStrategy, MAIN_ROOM,
};

/// The protocol version this hub speaks. A `hello` with any other number is refused with
/// `unsupported_protocol` (close code 4002).
pub const PROTOCOL_VERSION: u32 = 1;
