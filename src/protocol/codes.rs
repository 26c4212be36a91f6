//! Stable error codes (`error.code`) and WebSocket close codes, defined in this one place.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// The `code` of an `error` frame. These strings are stable: clients branch on them.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema, utoipa::ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    /// The frame is not valid JSON, not a known message, or breaks a rule of its message.
    BadRequest,
    /// The token was refused (signature, expiry, issuer, audience, meeting). Terminal.
    Unauthorized,
    /// The sender's role does not allow this (for example an observer chatting).
    Forbidden,
    /// The named peer or room is not there (or not in the sender's room).
    NotFound,
    /// A frame or a field is over its size limit.
    TooLarge,
    /// Too many messages of this kind too fast; the message was dropped.
    RateLimited,
    /// `hello.protocol` is not a version this hub speaks. Terminal.
    UnsupportedProtocol,
    /// The meeting has no room for another person.
    MeetingFull,
    /// The meeting is locked: no new joiners except hosts and cohosts.
    MeetingLocked,
    /// Not possible in the meeting's current state (e.g. split while breakouts are open, extend
    /// with no timer running, choose a room when choosing is closed).
    Conflict,
    /// A host ended this meeting; only a host or cohost can start it again. Terminal.
    MeetingEnded,
    /// The meeting's scheduled session has not opened yet: participants may enter from
    /// `early_join_secs` before its `starts_at` (hosts and cohosts at any time). Terminal for
    /// now: join again when it opens.
    NotStarted,
    /// `hello.resume` came too late (the grace period is over) or names no held seat. Join
    /// again without `resume`.
    ResumeExpired,
    /// Something went wrong in the hub; the request may be retried.
    Internal,
}

impl ErrorCode {
    /// The stable name (`error.code`), for metrics and logs.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCode::BadRequest => "bad_request",
            ErrorCode::Unauthorized => "unauthorized",
            ErrorCode::Forbidden => "forbidden",
            ErrorCode::NotFound => "not_found",
            ErrorCode::TooLarge => "too_large",
            ErrorCode::RateLimited => "rate_limited",
            ErrorCode::UnsupportedProtocol => "unsupported_protocol",
            ErrorCode::MeetingFull => "meeting_full",
            ErrorCode::MeetingLocked => "meeting_locked",
            ErrorCode::Conflict => "conflict",
            ErrorCode::MeetingEnded => "meeting_ended",
            ErrorCode::NotStarted => "not_started",
            ErrorCode::ResumeExpired => "resume_expired",
            ErrorCode::Internal => "internal",
        }
    }
}

/// WebSocket close codes the hub sends. `40xx` are terminal: reconnecting with the same token
/// will fail the same way. `41xx` (and 1001) are reconnectable: the client should reconnect with
/// backoff. 1009 is the standard "message too big".
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u16)]
pub enum CloseCode {
    /// The client closed and the hub answers in kind.
    Normal = 1000,
    /// The hub is shutting down. Reconnectable.
    GoingAway = 1001,
    /// A broken WebSocket frame (bad opcode, unmasked client frame, bad fragmentation). Terminal.
    ProtocolError = 1002,
    /// A text frame that is not valid UTF-8. Terminal.
    InvalidData = 1007,
    /// A frame over the size limit. Terminal.
    MessageTooBig = 1009,
    /// The token was refused. Terminal (get a new token).
    Unauthorized = 4001,
    /// Unsupported protocol version. Terminal.
    UnsupportedProtocol = 4002,
    /// A frame before `hello`, a second `hello`, a binary frame or a broken hello. Terminal.
    ProtocolViolation = 4003,
    /// The meeting is full. Terminal for this meeting.
    MeetingFull = 4004,
    /// The client kept sending after `rate_limited` errors. Terminal.
    Flood = 4005,
    /// The token expired and no fresher one was sent with `refresh`. Terminal (get a new token).
    TokenExpired = 4006,
    /// The same person connected again elsewhere and took over this seat. Terminal: do not
    /// reconnect, or the two connections would take the seat from each other in a loop.
    Replaced = 4007,
    /// Removed by a host or cohost (or banned from this meeting). Terminal.
    Removed = 4008,
    /// A host or cohost ended the meeting. Terminal.
    MeetingEnded = 4009,
    /// The meeting is locked. Terminal for now (a host may unlock it).
    MeetingLocked = 4010,
    /// A host turned you away from the waiting room. Terminal.
    Denied = 4011,
    /// The meeting's scheduled session has not opened yet. Terminal for now (join again when it
    /// opens).
    NotStarted = 4012,
    /// Sent by a *client* whose heartbeat found its connection dead: "hold my seat, I will
    /// resume on a new socket". The hub treats it as a drop, not a goodbye.
    Reconnecting = 4100,
    /// No valid `hello` within the hello timeout. Reconnectable.
    HelloTimeout = 4101,
    /// The client did not read its messages fast enough and its queue overflowed. Reconnectable.
    SlowConsumer = 4102,
    /// The client stopped answering keepalive pings. Reconnectable.
    PingTimeout = 4103,
    /// The hub is at its connection cap. Reconnectable after a backoff.
    ServerFull = 4104,
    /// An internal failure in the hub. Reconnectable.
    Internal = 4105,
    /// `hello.resume` was refused (too late, or no such seat). Reconnect at once without
    /// `resume`, as a fresh join.
    ResumeExpired = 4106,
    /// The same person joined, took over or resumed their seat too often in a short time (a
    /// reconnect loop makes every roommate rebuild its connections). Reconnectable after a
    /// backoff.
    RejoiningTooFast = 4107,
    /// Cluster mode: this hub node no longer serves the meeting (it is draining, or it lost the
    /// meeting's lease). Reconnect at once, to any node, with `hello.resume`.
    Moved = 4108,
}

impl CloseCode {
    pub fn code(self) -> u16 {
        self as u16
    }

    /// Whether a client may reconnect (with backoff) after this close.
    pub fn is_reconnectable(self) -> bool {
        matches!(self.code(), 1001 | 4100..=4199)
    }

    /// What a client does after this close: `normal` (the answer to its own close), `terminal`
    /// (the same token would fail the same way) or `reconnectable`. Exported to the SDK through
    /// `proto/schema/constants.json`.
    pub fn kind(self) -> &'static str {
        match self {
            CloseCode::Normal => "normal",
            c if c.is_reconnectable() => "reconnectable",
            _ => "terminal",
        }
    }

    /// The close frame's reason text: the code's stable name.
    pub fn reason(self) -> &'static str {
        match self {
            CloseCode::Normal => "normal",
            CloseCode::GoingAway => "going_away",
            CloseCode::ProtocolError => "protocol_error",
            CloseCode::InvalidData => "invalid_utf8",
            CloseCode::MessageTooBig => "too_large",
            CloseCode::Unauthorized => "unauthorized",
            CloseCode::UnsupportedProtocol => "unsupported_protocol",
            CloseCode::ProtocolViolation => "protocol_violation",
            CloseCode::MeetingFull => "meeting_full",
            CloseCode::Flood => "flood",
            CloseCode::TokenExpired => "token_expired",
            CloseCode::Replaced => "replaced",
            CloseCode::Removed => "removed",
            CloseCode::MeetingEnded => "meeting_ended",
            CloseCode::MeetingLocked => "meeting_locked",
            CloseCode::Denied => "denied",
            CloseCode::NotStarted => "not_started",
            CloseCode::Reconnecting => "reconnecting",
            CloseCode::HelloTimeout => "hello_timeout",
            CloseCode::SlowConsumer => "slow_consumer",
            CloseCode::PingTimeout => "ping_timeout",
            CloseCode::ServerFull => "server_full",
            CloseCode::Internal => "internal",
            CloseCode::ResumeExpired => "resume_expired",
            CloseCode::RejoiningTooFast => "rejoining_too_fast",
            CloseCode::Moved => "moved",
        }
    }

    /// The code for a number the hub sends, if it is one of ours.
    pub fn from_code(code: u16) -> Option<CloseCode> {
        CloseCode::ALL.into_iter().find(|c| c.code() == code)
    }

    /// Every code, for documentation and tests.
    pub const ALL: [CloseCode; 26] = [
        CloseCode::Normal,
        CloseCode::GoingAway,
        CloseCode::ProtocolError,
        CloseCode::InvalidData,
        CloseCode::MessageTooBig,
        CloseCode::Unauthorized,
        CloseCode::UnsupportedProtocol,
        CloseCode::ProtocolViolation,
        CloseCode::MeetingFull,
        CloseCode::Flood,
        CloseCode::TokenExpired,
        CloseCode::Replaced,
        CloseCode::Removed,
        CloseCode::MeetingEnded,
        CloseCode::MeetingLocked,
        CloseCode::Denied,
        CloseCode::NotStarted,
        CloseCode::Reconnecting,
        CloseCode::HelloTimeout,
        CloseCode::SlowConsumer,
        CloseCode::PingTimeout,
        CloseCode::ServerFull,
        CloseCode::Internal,
        CloseCode::ResumeExpired,
        CloseCode::RejoiningTooFast,
        CloseCode::Moved,
    ];
}

/// Why a connection is turned away (at `hello`, or at the door of its meeting): the `error`
/// frame to send first, if any, and the close code. The meeting core decides both for its own
/// refusals, so the code and the close never drift apart on the way out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Refusal {
    pub error: Option<ErrorCode>,
    pub message: &'static str,
    pub close: CloseCode,
}

impl Refusal {
    /// An `error {code, message}` frame, then a close with `close`.
    pub const fn new(error: ErrorCode, message: &'static str, close: CloseCode) -> Self {
        Refusal {
            error: Some(error),
            message,
            close,
        }
    }

    /// A close with no `error` frame first (a broken or missing frame: nothing to answer).
    pub const fn close_only(close: CloseCode) -> Self {
        Refusal {
            error: None,
            message: "",
            close,
        }
    }
}
