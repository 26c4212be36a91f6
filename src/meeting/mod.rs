//! Meetings: the sans-IO core, the actor task that owns one meeting's core and its connections,
//! and the directory that finds or starts a meeting's actor.
//!
//! - [`core`] — `Meeting::handle(input, now) -> effects`; its files follow PROTOCOL.md's chapters:
//!   `core/membership.rs`, `resume.rs`, `waiting_room.rs`, `moderation.rs`, `breakouts.rs`,
//!   `rooms.rs`, `relay.rs`, `media.rs`, `invariants.rs`; the owners of shared invariants
//!   (`held_seats.rs`, `hand_queue.rs`, `waiting_list.rs`, `bounded_log.rs`); unit tests in
//!   `core/tests/` on the harness `core/harness.rs`.
//! - `actor.rs` — one task per meeting: commands in over a bounded channel, effects out with
//!   `try_send`; never awaits a connection.
//! - `directory.rs` — meeting id → actor handle.
//! - `outbound.rs` — one connection's outbound queue, bounded in frames and in bytes.
//! - `proptests/` — random operation sequences against the core (ops, model, checks).

mod actor;
pub mod core;
mod directory;
mod outbound;
#[cfg(test)]
mod proptests;

pub use self::actor::{
    ConnHandle, Forwarded, HeldRequest, KillSwitch, MeetingHandle, Outbound, SessionEnd,
};
pub use self::core::{
    ApiAction, ApiAnswer, AuditSubs, Durable, Effect, EventKind, EventPerson, Identity, Input,
    MediaEffect, MediaRequest, MediaRoute, Meeting, MeetingConfig, MeetingEvent, MeetingSnapshot,
    Millis, PersonAction, PersonSnapshot, PersonState, Rejection, Remembered, ResumeKey, Schedule,
};
pub use self::directory::{Directory, MeetingSettings};
pub use self::outbound::{outbound_queue, OutboundRx, OutboundTx, QueueError};
