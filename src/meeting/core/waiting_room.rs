//! The waiting room (PROTOCOL.md "Waiting room"): people who wait to be let in, the hosts' lobby
//! list, and `set_lobby`, `admit` and `deny`.

use super::events::EventKind;
use super::{Effect, Identity, Meeting, Outcome, Rejection, Sends};
use crate::protocol::{CloseCode, ErrorCode, Peer, PeerId, ServerMessage};

impl Meeting {
    /// Puts someone in the waiting room. The same person waiting on an older connection is
    /// replaced, as for members.
    pub(super) fn wait(&mut self, peer: PeerId, identity: Identity, effects: &mut Vec<Effect>) {
        let you = waiting_peer(peer, &identity);
        for old in self.waiting.add(peer, identity) {
            effects.push(Effect::Close {
                peer: old,
                code: CloseCode::Replaced,
            });
        }
        let waiting = ServerMessage::Waiting {
            meeting: self.id.clone(),
            you,
            for_host: !self.lobby_enabled,
        };
        effects.send_one(peer, waiting);
        self.person_event(peer, EventKind::Waiting);
        self.announce_lobby(effects);
    }

    pub(super) fn announce_lobby(&self, effects: &mut Vec<Effect>) {
        effects.send(self.moderators(), self.lobby_message());
    }

    pub(super) fn lobby_message(&self) -> ServerMessage {
        let waiting = self
            .waiting
            .iter()
            .map(|(id, w)| waiting_peer(*id, w))
            .collect();
        ServerMessage::Lobby {
            enabled: self.lobby_enabled,
            waiting,
        }
    }

    /// Turns the waiting room on or off. Off lets everyone waiting in.
    pub(super) fn set_lobby(&mut self, enabled: bool, effects: &mut Vec<Effect>) -> Outcome {
        self.lobby_enabled = enabled;
        if enabled {
            self.announce_lobby(effects);
            Ok(())
        } else {
            self.admit(None, effects)
        }
    }

    /// Lets waiting people in (`None`: everyone waiting).
    pub(super) fn admit(&mut self, peer: Option<PeerId>, effects: &mut Vec<Effect>) -> Outcome {
        for p in self.chosen_waiting(peer)? {
            if self.members.len() >= self.config.max_members {
                // Those let in so far are in: the hosts' lobby list must say so.
                self.announce_lobby(effects);
                return Err((ErrorCode::MeetingFull, "the meeting is full"));
            }
            self.person_event(p, EventKind::Admitted);
            if let Some(identity) = self.waiting.remove(p) {
                self.seat(p, identity, effects);
            }
        }
        self.announce_lobby(effects);
        Ok(())
    }

    /// Turns waiting people away (`None`: everyone waiting).
    pub(super) fn deny(&mut self, peer: Option<PeerId>, effects: &mut Vec<Effect>) -> Outcome {
        for p in self.chosen_waiting(peer)? {
            self.person_event(p, EventKind::Denied);
            self.left_event(p, "denied");
            self.waiting.remove(p);
            effects.push(Effect::Close {
                peer: p,
                code: CloseCode::Denied,
            });
        }
        self.announce_lobby(effects);
        Ok(())
    }

    /// The waiting people an `admit` or `deny` names (`None`: everyone waiting).
    fn chosen_waiting(&self, peer: Option<PeerId>) -> Result<Vec<PeerId>, Rejection> {
        match peer {
            Some(p) if self.waiting.contains(p) => Ok(vec![p]),
            Some(_) => Err((ErrorCode::NotFound, "no such person in the waiting room")),
            None => Ok(self.waiting.ids()),
        }
    }
}

/// Someone in the waiting room as hosts (and they themselves) see them: no room, no media yet.
pub(super) fn waiting_peer(id: PeerId, identity: &Identity) -> Peer {
    Peer {
        id,
        name: identity.name.clone(),
        role: identity.role,
        reconnecting: false,
        hand: false,
        audio: None,
        video: None,
        audio_blocked: false,
        video_blocked: false,
        screen: false,
    }
}
