//! Meeting events (PROTOCOL.md "Server API", events): who joined, left, waited, moved, changed
//! role, and when breakouts opened, as thin records with opaque ids only. The core emits them as
//! [`Effect::Event`] (last in their batch) from the one place each change happens; the hub numbers them per meeting and
//! turns them into webhooks, the event log and attendance.

use super::{Effect, Meeting, Millis};
use crate::protocol::{PeerId, PeerLeftReason, Role, RoomId};

/// One thing that happened to a meeting.
#[derive(Debug, Clone, PartialEq)]
pub struct MeetingEvent {
    pub kind: EventKind,
    pub at: Millis,
    /// Whom it is about (participant events).
    pub person: Option<EventPerson>,
}

/// A person in an event: the partner's `sub`, our peer id, role and room (none while waiting).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventPerson {
    pub sub: String,
    pub peer: PeerId,
    pub role: Role,
    pub room: Option<RoomId>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum EventKind {
    MeetingStarted,
    MeetingEnded,
    Joined,
    /// Gone for good (a drop with a held seat is not a leave; a resume continues the session).
    Left {
        reason: &'static str,
        /// Since they took their seat (0 for someone who only waited).
        session_ms: Millis,
    },
    Resumed,
    RoomChanged {
        from: RoomId,
    },
    Waiting,
    Admitted,
    Denied,
    RoleChanged {
        from: Role,
    },
    BreakoutsOpened {
        rooms: usize,
    },
    BreakoutsClosed,
    /// A mentor in a drop-in called for a host: for the partner's on-call staff.
    HelpRequested,
}

impl EventKind {
    /// The webhook `type`.
    pub fn name(&self) -> &'static str {
        match self {
            EventKind::MeetingStarted => "meeting.started",
            EventKind::MeetingEnded => "meeting.ended",
            EventKind::Joined => "participant.joined",
            EventKind::Left { .. } => "participant.left",
            EventKind::Resumed => "participant.resumed",
            EventKind::RoomChanged { .. } => "participant.room_changed",
            EventKind::Waiting => "participant.waiting",
            EventKind::Admitted => "participant.admitted",
            EventKind::Denied => "participant.denied",
            EventKind::RoleChanged { .. } => "participant.role_changed",
            EventKind::BreakoutsOpened { .. } => "breakouts.opened",
            EventKind::BreakoutsClosed => "breakouts.closed",
            EventKind::HelpRequested => "help.requested",
        }
    }
}

/// The event's name for why someone left.
pub(super) fn left_reason(reason: PeerLeftReason) -> &'static str {
    match reason {
        PeerLeftReason::Left => "left",
        PeerLeftReason::Disconnected => "disconnected",
        PeerLeftReason::Moved => "moved",
        PeerLeftReason::Replaced => "replaced",
        PeerLeftReason::Removed => "removed",
        PeerLeftReason::SteppedOut => "stepped_out",
        PeerLeftReason::Timeout => "resume_expired",
    }
}

impl Meeting {
    /// After an input: breakouts opened or closed, and the end of a session once nobody is left
    /// (everyone went, or the meeting was ended).
    pub(super) fn session_events(&mut self, had_breakouts: bool, effects: &mut Vec<Effect>) {
        // Events go last in the batch: what they describe is carried out by then.
        let has = self.has_breakouts();
        if has && !had_breakouts {
            let rooms = self.rooms.values().filter(|r| !r.private).count() - 1;
            self.meeting_event(EventKind::BreakoutsOpened { rooms });
        } else if had_breakouts && !has {
            self.meeting_event(EventKind::BreakoutsClosed);
        }
        if self.started && self.members.is_empty() && self.waiting.is_empty() {
            self.started = false;
            self.meeting_event(EventKind::MeetingEnded);
        }
        effects.extend(self.events.drain(..).map(Effect::Event));
    }

    /// A person leaves for good: the event before they are taken out.
    pub(super) fn left_event(&mut self, peer: PeerId, reason: &'static str) {
        let session_ms = self
            .members
            .get(&peer)
            .map_or(0, |m| self.now.saturating_sub(m.joined_at));
        self.person_event(peer, EventKind::Left { reason, session_ms });
    }

    /// An event about the meeting as a whole.
    pub(super) fn meeting_event(&mut self, kind: EventKind) {
        self.events.push(MeetingEvent {
            kind,
            at: self.now,
            person: None,
        });
    }

    /// An event about `peer` as they are now (a member or someone waiting).
    pub(super) fn person_event(&mut self, peer: PeerId, kind: EventKind) {
        let person = match self.members.get(&peer) {
            Some(m) => EventPerson {
                sub: m.identity.sub.clone(),
                peer,
                role: m.identity.role,
                room: Some(m.room.clone()),
            },
            None => match self.waiting.identity(peer) {
                Some(i) => EventPerson {
                    sub: i.sub.clone(),
                    peer,
                    role: i.role,
                    room: None,
                },
                None => return,
            },
        };
        self.events.push(MeetingEvent {
            kind,
            at: self.now,
            person: Some(person),
        });
    }
}
