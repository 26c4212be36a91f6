//! Meetings: the sans-IO core ([`core`]), the actor task that owns one meeting's core and its
//! connections ([`actor`]), and the directory that finds or starts a meeting's actor.

mod actor;
pub mod core;
#[cfg(test)]
mod proptests;

pub use self::actor::{
    ConnHandle, Directory, JoinError, KillSwitch, MeetingHandle, Outbound, SessionEnd,
};
pub use self::core::{Effect, Identity, Input, Meeting, MeetingConfig, Millis};
