//! Scheduled sessions (PROTOCOL.md "Scheduled sessions"): when participants may enter, the
//! `session_ending` notice before the end, the end itself, and moving it (`extend_session`, or
//! the server API setting a new schedule). A meeting without a schedule never reaches this file.

use super::membership::refusals;
use super::{Effect, Identity, Meeting, Millis, Outcome, Sends};
use crate::limits;
use crate::protocol::{ErrorCode, PeerId, Refusal, ServerMessage};

/// When a meeting's session may run. All times are ms since the epoch.
// Serialized only into cluster mode's copy of a meeting's settings in Redis.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Schedule {
    /// Before `starts_at − early_join_ms`, only hosts and cohosts get in.
    pub starts_at: Option<Millis>,
    /// At `ends_at` the meeting ends for everyone, as `end_meeting` does.
    pub ends_at: Option<Millis>,
    pub early_join_ms: Millis,
}

impl Schedule {
    /// The refusal for a participant (not a host or cohost) arriving at `now`, if any.
    fn door(&self, now: Millis) -> Option<Refusal> {
        if let Some(starts_at) = self.starts_at {
            if now < starts_at.saturating_sub(self.early_join_ms) {
                return Some(refusals::NOT_STARTED);
            }
        }
        match self.ends_at {
            Some(ends_at) if now >= ends_at => Some(refusals::SESSION_OVER),
            _ => None,
        }
    }
}

/// What has been done about the current `ends_at`, so each happens once per end time.
#[derive(Debug, Default)]
pub(super) struct EndState {
    /// `session_ending` went out for this end.
    pub warned: bool,
    /// The meeting was ended at this end.
    pub ended: bool,
}

impl Meeting {
    /// The meeting's schedule.
    pub fn schedule(&self) -> Schedule {
        self.schedule
    }

    /// The refusal for `identity` at the door, if the schedule keeps them out.
    pub(super) fn schedule_door(&self, identity: &Identity) -> Option<Refusal> {
        if identity.role.is_moderator() {
            return None;
        }
        self.schedule.door(self.now)
    }

    /// Everyone seated or in the waiting room: who hears of the schedule.
    fn present(&self) -> Vec<PeerId> {
        self.members
            .keys()
            .copied()
            .chain(self.waiting.ids())
            .collect()
    }

    /// When the schedule needs a tick next: the closing notice, then the end.
    pub(super) fn schedule_deadline(&self) -> Option<Millis> {
        let ends_at = self.schedule.ends_at?;
        if self.members.is_empty() && self.waiting.is_empty() {
            return None;
        }
        if !self.end_state.warned {
            Some(ends_at.saturating_sub(self.config.session_ending_warning_ms))
        } else if !self.end_state.ended {
            Some(ends_at)
        } else {
            None
        }
    }

    /// Sends the closing notice or ends the meeting, whichever is due at `now`.
    pub(super) fn schedule_tick(&mut self, now: Millis, effects: &mut Vec<Effect>) {
        let Some(ends_at) = self.schedule.ends_at else {
            return;
        };
        if self.members.is_empty() && self.waiting.is_empty() {
            return;
        }
        if now >= ends_at && !self.end_state.ended {
            self.end_state.ended = true;
            self.end_state.warned = true;
            self.end(now, effects);
            return;
        }
        if now >= ends_at.saturating_sub(self.config.session_ending_warning_ms)
            && !self.end_state.warned
        {
            self.end_state.warned = true;
            effects.send(self.present(), self.session_ending(ends_at, now));
        }
    }

    /// A newly seated or resumed person learns of a closing notice that already went out (or
    /// is due now: the first arrival in a window that has begun sends it). Someone seated after
    /// the end (a host, since the door keeps participants out) is not ended by it: a host who
    /// comes in late may extend the session.
    pub(super) fn schedule_greet(&mut self, peer: PeerId, effects: &mut Vec<Effect>) {
        let Some(ends_at) = self.schedule.ends_at else {
            return;
        };
        let now = self.now;
        if now >= ends_at {
            self.end_state = EndState {
                warned: true,
                ended: true,
            };
        } else if self.end_state.warned {
            effects.send_one(peer, self.session_ending(ends_at, now));
        } else {
            self.schedule_tick(now, effects);
        }
    }

    fn session_ending(&self, ends_at: Millis, now: Millis) -> ServerMessage {
        ServerMessage::SessionEnding {
            at: ends_at,
            seconds: ends_at.saturating_sub(now).div_ceil(1000),
        }
    }

    /// `extend_session`: the end moves `secs` later (from now, if it has passed).
    pub(super) fn extend_session(
        &mut self,
        secs: u64,
        now: Millis,
        effects: &mut Vec<Effect>,
    ) -> Outcome {
        let Some(ends_at) = self.schedule.ends_at else {
            return Err((ErrorCode::Conflict, "this meeting has no scheduled end"));
        };
        if secs == 0 || secs > limits::MAX_SESSION_EXTENSION_SECS {
            return Err((
                ErrorCode::BadRequest,
                "secs must be between 1 and 14400 (four hours)",
            ));
        }
        let schedule = Schedule {
            ends_at: Some(ends_at.max(now) + secs * 1000),
            ..self.schedule
        };
        self.set_schedule(schedule, now, effects);
        Ok(())
    }

    /// A new schedule (from the API, or an extension). A changed end starts its notice and end
    /// afresh and everyone hears of it; one already near sends its notice at once.
    pub(super) fn set_schedule(
        &mut self,
        schedule: Schedule,
        now: Millis,
        effects: &mut Vec<Effect>,
    ) {
        let old = std::mem::replace(&mut self.schedule, schedule);
        if old.ends_at == schedule.ends_at {
            return;
        }
        self.end_state = EndState::default();
        let ends_at = schedule.ends_at;
        effects.send(
            self.present(),
            ServerMessage::SessionRescheduled { ends_at },
        );
        self.schedule_tick(now, effects);
    }
}
