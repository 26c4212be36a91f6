//! Resume after a drop (PROTOCOL.md "Resume after a drop"): taking a held seat back with
//! `hello.resume`, the chat missed meanwhile, and the notices kept for a held seat and replayed.

use super::events::EventKind;
use super::membership::refusals;
use super::{Effect, Identity, Meeting, Millis, Sends};
use crate::protocol::{ChatMessage, PeerId, ResumeRequest, ServerMessage};

impl Meeting {
    /// `hello.resume`: the connection asking as `by` takes back the held seat named by the
    /// token, if it is the same person and the grace period has not ended (an ended grace has
    /// already removed the seat, so its token names nothing).
    pub(super) fn resume(
        &mut self,
        by: PeerId,
        identity: Identity,
        resume: ResumeRequest,
        now: Millis,
        effects: &mut Vec<Effect>,
    ) {
        if self.banned.contains(&identity.sub) {
            effects.push(Effect::Refuse {
                peer: by,
                refusal: refusals::BANNED,
            });
            return;
        }
        if self.ended_at.is_some() {
            // Not `resume_expired`: a client would join afresh at once, and a cohost doing so
            // would reopen the meeting by accident.
            effects.push(Effect::Refuse {
                peer: by,
                refusal: refusals::ENDED,
            });
            return;
        }
        let seat = self
            .members
            .iter()
            .find(|(p, m)| {
                m.resume_token == resume.token
                    && m.identity.sub == identity.sub
                    // A grace that ended but has not been ticked yet is over all the same.
                    && self.held.until(**p).is_none_or(|t| t > now)
            })
            .map(|(p, _)| *p);
        let Some(seat) = seat else {
            effects.push(Effect::Refuse {
                peer: by,
                refusal: refusals::RESUME_EXPIRED,
            });
            return;
        };
        let Some(renamed) = self.reseat(seat, by, identity, effects) else {
            return;
        };
        self.person_event(seat, EventKind::Resumed);
        let Some(member) = self.members.get_mut(&seat) else {
            return;
        };
        let missed: Vec<ServerMessage> = member
            .missed
            .take()
            .into_iter()
            .filter_map(|notice| match notice {
                // A closing warning only while that timer still runs, with the time left now.
                ServerMessage::BreakoutClosing { closes_at, .. } => (self.clock.closes_at
                    == Some(closes_at)
                    && closes_at > now)
                    .then(|| ServerMessage::BreakoutClosing {
                        closes_at,
                        seconds: (closes_at - now).div_ceil(1000),
                    }),
                other => Some(other),
            })
            .collect();
        let room_id = member.room.clone();
        // Private messages to or from this person that it may not have seen; group messages
        // come from the room's history below.
        let private: Vec<ChatMessage> = member
            .recent_private
            .iter()
            .filter(|m| m.id > resume.last_private)
            .cloned()
            .collect();
        let Some(room) = self.rooms.get(&room_id) else {
            return;
        };
        let same_room = resume.room.as_ref() == Some(&room_id);
        // Same room: exactly what was missed. Another room (moved or merged meanwhile): that
        // room's history, as `room_changed` would have brought it.
        // Chat that is not kept: only what this connection itself missed in its own room.
        let mut chat: Vec<ChatMessage> = if same_room {
            room.history
                .iter()
                .filter(|m| m.id > resume.last_chat)
                .cloned()
                .collect()
        } else {
            self.shown_history(room).cloned().collect()
        };
        chat.extend(private);
        // In the order they were sent: group ids and private ids are separate series, so by
        // hub time (a stable sort keeps each series' own order within a millisecond).
        chat.sort_by_key(|m| m.ts);
        let others = self.roommates(seat);
        let Some(mut welcome) = self.welcome_for(seat) else {
            return;
        };
        if let ServerMessage::Welcome {
            chat: missed_chat,
            replayed,
            resumed,
            ..
        } = &mut welcome
        {
            *missed_chat = chat;
            *replayed = u32::try_from(missed.len()).unwrap_or(u32::MAX);
            *resumed = true;
        }
        effects.send_one(seat, welcome);
        self.moderator_state(seat, effects);
        for message in missed {
            effects.send_one(seat, message);
        }
        effects.send(others, ServerMessage::PeerReconnected { id: seat });
        self.schedule_greet(seat, effects);
        if renamed {
            self.announce_peer(seat, effects);
        }
    }

    /// Keeps the notices addressed to held seats, to replay after a resume. Chat is not kept
    /// here (it replays from history); rosters, rooms, the lock, the lobby and hands come back
    /// as state with the resumed `welcome`.
    pub(super) fn hold_notices(&mut self, effects: &[Effect]) {
        for effect in effects {
            let Effect::Send { to, message } = effect else {
                continue;
            };
            if !message.is_replayed_notice() {
                continue;
            }
            for peer in to.iter().filter(|p| self.held.is_held(**p)) {
                if let Some(member) = self.members.get_mut(peer) {
                    member.missed.push(message.clone());
                }
            }
        }
    }
}
