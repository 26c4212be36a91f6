//! The server API's actions on a meeting (PROTOCOL.md "Server API"): a partner's backend reads
//! the meeting's state and moderates it as a host would, by `sub`. Each action is one input of
//! the meeting, in the same order as everyone's frames, and goes through the same rules and audit
//! trail as a host's frame; the API's peer id is [`PeerId::API`].

use super::{AuditSubs, Effect, Meeting, Millis, Outcome, Schedule};
use crate::protocol::{Access, ClientMessage, ErrorCode, PeerId, Role, RoomId};

/// What the server API asks of a meeting.
#[derive(Debug, Clone, PartialEq)]
pub enum ApiAction {
    /// The meeting's state and the people in it.
    Snapshot,
    /// A moderator message about nobody in particular: `end_meeting`, `split`, `merge`,
    /// `broadcast`.
    Moderate(ClientMessage),
    /// A moderator action on the person `sub` (a member, or someone in the waiting room).
    About { sub: String, action: PersonAction },
    /// The partner's settings for the meeting changed (`PUT /v1/meetings/{meeting}`): the
    /// schedule applies at once, the cap on people to the next arrivals.
    Settings {
        schedule: Schedule,
        max_members: usize,
    },
}

impl ApiAction {
    /// What it is, for the audit line.
    pub fn kind(&self) -> &'static str {
        match self {
            ApiAction::Snapshot => "snapshot",
            ApiAction::Settings { .. } => "settings",
            ApiAction::Moderate(message) => message.kind(),
            ApiAction::About { action, .. } => match action {
                PersonAction::Remove { .. } => "remove",
                PersonAction::Move { .. } => "move",
                PersonAction::Admit => "admit",
                PersonAction::Deny => "deny",
            },
        }
    }
}

/// What the API does to one person.
#[derive(Debug, Clone, PartialEq)]
pub enum PersonAction {
    Remove { ban: bool },
    Move { room: RoomId },
    Admit,
    Deny,
}

/// The meeting as the API sees it: opaque ids only, never names or chat.
#[derive(Debug, Clone, PartialEq)]
pub struct MeetingSnapshot {
    pub ended: bool,
    pub locked: bool,
    pub waiting_room: bool,
    pub breakouts_open: bool,
    pub rooms: Vec<RoomId>,
    pub people: Vec<PersonSnapshot>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct PersonSnapshot {
    pub sub: String,
    pub peer: PeerId,
    pub role: Role,
    /// `None` while waiting to be admitted.
    pub room: Option<RoomId>,
    pub state: PersonState,
    /// When they took their seat (ms since the epoch); `None` while waiting.
    pub joined_at: Option<Millis>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PersonState {
    Joined,
    /// Dropped; the seat is held for a resume.
    Reconnecting,
    Waiting,
}

/// The API's answer.
#[derive(Debug, Clone, PartialEq)]
pub enum ApiAnswer {
    Done,
    Snapshot(MeetingSnapshot),
}

impl Meeting {
    pub(super) fn api(&mut self, action: ApiAction, now: Millis, effects: &mut Vec<Effect>) {
        let outcome = match action {
            ApiAction::Snapshot => Ok(ApiAnswer::Snapshot(self.snapshot())),
            ApiAction::Settings {
                schedule,
                max_members,
            } => {
                self.config.max_members = max_members;
                self.set_schedule(schedule, now, effects);
                Ok(ApiAnswer::Done)
            }
            ApiAction::Moderate(message) => self
                .api_moderate(message, now, effects)
                .map(|()| ApiAnswer::Done),
            ApiAction::About { sub, action } => match self.peer_by_sub(&sub) {
                None => Err((
                    ErrorCode::NotFound,
                    "nobody with that sub is in this meeting",
                )),
                Some(peer) => {
                    let message = match action {
                        PersonAction::Remove { ban } => ClientMessage::Remove { peer, ban },
                        PersonAction::Move { room } => ClientMessage::Move { peer, room },
                        PersonAction::Admit => ClientMessage::Admit { peer: Some(peer) },
                        PersonAction::Deny => ClientMessage::Deny { peer: Some(peer) },
                    };
                    self.api_moderate(message, now, effects)
                        .map(|()| ApiAnswer::Done)
                }
            },
        };
        effects.push(Effect::ApiReply(outcome));
    }

    /// A moderator message from the API: the request, then its audit line, as for a host.
    fn api_moderate(
        &mut self,
        message: ClientMessage,
        now: Millis,
        effects: &mut Vec<Effect>,
    ) -> Outcome {
        if message.access_from(PeerId::API) != Access::Moderator {
            return Err((ErrorCode::BadRequest, "the API only moderates"));
        }
        let action = message.kind();
        let terms = message.audit_terms();
        let subs = AuditSubs {
            by: None,
            subject: terms.subject.and_then(|p| self.sub_of(p)),
            other: terms.other.and_then(|p| self.sub_of(p)),
        };
        self.request(PeerId::API, None, message, now, effects)?;
        self.audit(PeerId::API, action, terms, subs, now, effects);
        Ok(())
    }

    /// The seat (or waiting place) of the person `sub`.
    fn peer_by_sub(&self, sub: &str) -> Option<PeerId> {
        self.members
            .iter()
            .find(|(_, m)| m.identity.sub == sub)
            .map(|(p, _)| *p)
            .or_else(|| {
                self.waiting
                    .iter()
                    .find(|(_, i)| i.sub == sub)
                    .map(|(p, _)| *p)
            })
    }

    fn snapshot(&self) -> MeetingSnapshot {
        let mut people: Vec<PersonSnapshot> = self
            .members
            .iter()
            .map(|(peer, m)| PersonSnapshot {
                sub: m.identity.sub.clone(),
                peer: *peer,
                role: m.identity.role,
                room: Some(m.room.clone()),
                state: if self.held.is_held(*peer) {
                    PersonState::Reconnecting
                } else {
                    PersonState::Joined
                },
                joined_at: Some(m.joined_at),
            })
            .collect();
        people.extend(self.waiting.iter().map(|(peer, i)| PersonSnapshot {
            sub: i.sub.clone(),
            peer: *peer,
            role: i.role,
            room: None,
            state: PersonState::Waiting,
            joined_at: None,
        }));
        MeetingSnapshot {
            ended: self.is_ended(),
            locked: self.locked,
            waiting_room: self.lobby_enabled,
            breakouts_open: self.has_breakouts(),
            rooms: self.room_ids(),
            people,
        }
    }
}
