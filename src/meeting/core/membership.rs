//! Joining, one seat per person, leaving (PROTOCOL.md "Joining, one seat per person,
//! leaving"): who gets in and in what order the refusals apply, taking a seat, a second connection
//! taking the seat over, a clean leave and a dropped connection whose seat is held.

use super::events::{left_reason, EventKind};
use super::{Effect, Identity, Meeting, Member, Millis, Sends};
use crate::protocol::{
    ChatMessage, CloseCode, ErrorCode, MediaMode, PeerId, PeerLeftReason, Refusal, RoomId,
    ServerMessage, PROTOCOL_VERSION,
};

/// Every way the door can refuse someone, with the close code that goes with it.
pub(super) mod refusals {
    use super::{CloseCode, ErrorCode, Refusal};

    pub const ENDED: Refusal = Refusal::new(
        ErrorCode::MeetingEnded,
        "the host ended this meeting",
        CloseCode::MeetingEnded,
    );
    pub const BANNED: Refusal = Refusal::new(
        ErrorCode::Forbidden,
        "you were removed from this meeting",
        CloseCode::Removed,
    );
    pub const ID_IN_USE: Refusal = Refusal::new(
        ErrorCode::Internal,
        "peer id already in use",
        CloseCode::Internal,
    );
    pub const LOCKED: Refusal = Refusal::new(
        ErrorCode::MeetingLocked,
        "the meeting is locked",
        CloseCode::MeetingLocked,
    );
    pub const FULL: Refusal = Refusal::new(
        ErrorCode::MeetingFull,
        "the meeting is full",
        CloseCode::MeetingFull,
    );
    pub const NOT_STARTED: Refusal = Refusal::new(
        ErrorCode::NotStarted,
        "this session has not opened yet",
        CloseCode::NotStarted,
    );
    pub const SESSION_OVER: Refusal = Refusal::new(
        ErrorCode::MeetingEnded,
        "this session's scheduled time is over",
        CloseCode::MeetingEnded,
    );
    pub const RESUME_EXPIRED: Refusal = Refusal::new(
        ErrorCode::ResumeExpired,
        "nothing to resume: join again",
        CloseCode::ResumeExpired,
    );
}

impl Meeting {
    pub(super) fn join(&mut self, peer: PeerId, identity: Identity, effects: &mut Vec<Effect>) {
        // The role a host gave this person wins over the token's, before any rule that
        // depends on the role (the lock, the waiting room, an ended meeting).
        let identity = self.with_assigned_role(identity);
        if self.ended_at.is_some() && !identity.role.is_moderator() {
            effects.push(Effect::Refuse {
                peer,
                refusal: refusals::ENDED,
            });
            return;
        }
        if self.banned.contains(&identity.sub) {
            effects.push(Effect::Refuse {
                peer,
                refusal: refusals::BANNED,
            });
            return;
        }
        if let Some(refusal) = self.schedule_door(&identity) {
            effects.push(Effect::Refuse { peer, refusal });
            return;
        }
        if let Some(seat) = self
            .members
            .iter()
            .find(|(_, m)| m.identity.sub == identity.sub)
            .map(|(p, _)| *p)
        {
            self.take_over(seat, peer, identity, effects);
            return;
        }
        if self.members.contains_key(&peer) {
            effects.push(Effect::Refuse {
                peer,
                refusal: refusals::ID_IN_USE,
            });
            return;
        }
        if self.locked && !identity.role.is_moderator() {
            effects.push(Effect::Refuse {
                peer,
                refusal: refusals::LOCKED,
            });
            return;
        }
        if self.members.len() >= self.config.max_members {
            effects.push(Effect::Refuse {
                peer,
                refusal: refusals::FULL,
            });
            return;
        }
        if self.needs_agreement(&identity) {
            // The group's agreement first: until they accept it, they see no one and nothing.
            let again = self.agreeing.iter().any(|(_, w)| w.sub == identity.sub);
            if !again && self.agreeing.len() >= self.config.max_members {
                effects.push(Effect::Refuse {
                    peer,
                    refusal: refusals::FULL,
                });
                return;
            }
            self.ask_agreement(peer, identity, effects);
            return;
        }
        self.enter(peer, identity, effects);
    }

    /// Past every check at the door (and the agreement): waits for a host or the waiting room,
    /// or takes a seat.
    pub(super) fn enter(&mut self, peer: PeerId, identity: Identity, effects: &mut Vec<Effect>) {
        // A drop-in needs no host: mentors and participants come and go on their own.
        let no_host_yet = self.config.wait_for_host
            && self.config.kind.is_session()
            && self.moderators().is_empty();
        if (self.lobby_enabled || no_host_yet) && !identity.role.is_moderator() {
            // The waiting room is bounded too: as many waiting as the meeting holds (the same
            // person again replaces their older place, so a reconnect always fits).
            let again = self.waiting.iter().any(|(_, w)| w.sub == identity.sub);
            if !again && self.waiting.len() >= self.config.max_members {
                effects.push(Effect::Refuse {
                    peer,
                    refusal: refusals::FULL,
                });
                return;
            }
            self.wait(peer, identity, effects);
            return;
        }
        // A host or cohost who gets in starts the next session of an ended meeting (only once
        // every refusal is past: a banned cohost must not reopen it).
        self.ended_at = None;
        let moderator = identity.role.is_moderator();
        self.seat(peer, identity, effects);
        if moderator && self.config.wait_for_host && !self.lobby_enabled && !self.waiting.is_empty()
        {
            // The first host or cohost arrived: those waiting for one come in.
            let _ = self.admit(None, effects);
        }
    }

    /// Makes an admitted person a member, in the main room, and tells everyone concerned.
    pub(super) fn seat(&mut self, peer: PeerId, identity: Identity, effects: &mut Vec<Effect>) {
        let room_id = RoomId::main();
        let resume_token = self.new_resume_token(peer, &identity.sub);
        self.members.insert(
            peer,
            Member::new(identity, room_id.clone(), resume_token, self.now),
        );
        if !self.started {
            self.started = true;
            self.meeting_event(EventKind::MeetingStarted);
        }
        self.person_event(peer, EventKind::Joined);
        let Some(room) = self.rooms.get_mut(&room_id) else {
            return;
        };
        let others: Vec<PeerId> = room.members.iter().copied().collect();
        room.members.insert(peer);
        let Some(welcome) = self.welcome_for(peer) else {
            return;
        };
        effects.send_one(peer, welcome);
        self.moderator_state(peer, effects);
        self.announce_newcomer(peer, others, effects);
        self.schedule_greet(peer, effects);
    }

    /// Tells roommates `others` that `peer` joined, and hosts elsewhere (in a breakout, say) the
    /// newcomer's name.
    pub(super) fn announce_newcomer(
        &mut self,
        peer: PeerId,
        others: Vec<PeerId>,
        effects: &mut Vec<Effect>,
    ) {
        let Some(you) = self.peer_of(peer) else {
            return;
        };
        let elsewhere: Vec<PeerId> = self
            .moderators()
            .into_iter()
            .filter(|m| *m != peer && !others.contains(m))
            .collect();
        effects.send(elsewhere, ServerMessage::PeerUpdated { peer: you.clone() });
        effects.send(others, ServerMessage::PeerJoined { peer: you });
        self.roster_changed(effects);
    }

    /// The `welcome` for member `peer`: its room as it is now, everyone else in it, its history
    /// with the person's own recent private messages among it (a second tab or device sees the
    /// private conversation too, and knows where its private series stands).
    pub(super) fn welcome_for(&self, peer: PeerId) -> Option<ServerMessage> {
        let room_id = self.room_of(peer)?.clone();
        let room = self.rooms.get(&room_id)?;
        let member = self.members.get(&peer)?;
        // Chat that is not kept reaches nobody who was not there when it was said (a resume
        // replays what its connection missed; see `resume`).
        let kept = self.chat_history.is_keep();
        let since = self.chat_kept_since.1;
        let mut chat: Vec<ChatMessage> = self
            .shown_history(room)
            .chain(
                member
                    .recent_private
                    .iter()
                    .filter(|m| kept && m.ts >= since),
            )
            .cloned()
            .collect();
        chat.sort_by_key(|m| m.ts);
        Some(ServerMessage::Welcome {
            protocol: PROTOCOL_VERSION,
            you: self.peer_of(peer)?,
            meeting: self.id.clone(),
            peers: self.peers_of(room.members.iter().copied().filter(|p| *p != peer)),
            chat,
            room: room_id,
            ice_servers: self.ice_servers_for(&member.identity.sub),
            ice_transport_policy: self.config.ice_transport_policy,
            rooms: self.room_list(),
            media: self.config.media_mode,
            sfu_instance: match self.config.media_mode {
                MediaMode::Sfu => self.config.sfu_instance.clone(),
                MediaMode::Mesh => None,
            },
            closes_at: self.clock.closes_at,
            choosing: self.clock.choosing,
            screen_share_allowed: self.screen_share_allowed,
            reactions_off: self.reactions_off,
            chat_history: self.chat_history,
            kind: self.config.kind,
            ends_at: self.schedule.ends_at,
            locked: self.locked,
            private: room.private,
            replayed: 0,
            resume_token: self.members.get(&peer)?.resume_token.clone(),
            resumed: false,
        })
    }

    /// The configured ICE servers, and TURN credentials minted for this person now (a resumed
    /// `welcome` brings fresh ones).
    fn ice_servers_for(&self, sub: &str) -> Vec<crate::protocol::IceServer> {
        let mut servers = self.config.ice_servers.clone();
        if let Some(turn) = &self.config.turn {
            servers.push(turn.credentials(sub, self.now));
        }
        servers
    }

    /// A second connection of the same person: it inherits the seat; the room sees that seat
    /// leave and come back (so everyone renegotiates media with the new connection).
    pub(super) fn take_over(
        &mut self,
        seat: PeerId,
        by: PeerId,
        identity: Identity,
        effects: &mut Vec<Effect>,
    ) {
        let Some(renamed) = self.reseat(seat, by, identity, effects) else {
            return;
        };
        if let Some(member) = self.members.get_mut(&seat) {
            // A takeover is a fresh start for the client: nothing to replay.
            member.missed.clear();
        }
        let others = self.roommates(seat);
        let (Some(welcome), Some(you)) = (self.welcome_for(seat), self.peer_of(seat)) else {
            return;
        };
        effects.send_one(seat, welcome);
        self.moderator_state(seat, effects);
        let replaced = ServerMessage::PeerLeft {
            id: seat,
            reason: PeerLeftReason::Replaced,
        };
        effects.send(others.clone(), replaced);
        effects.send(others, ServerMessage::PeerJoined { peer: you });
        if renamed {
            // The room heard the new name in `peer_joined`; hosts elsewhere hear it here.
            self.announce_peer(seat, effects);
        }
    }

    /// A new connection (`by`) takes seat `seat`, whether a takeover or a resume: a new resume
    /// token, the fresher token's name, the hold released. The role stays what the meeting made
    /// it, so a demoted cohost cannot win the role back by connecting again. Returns whether the
    /// name changed (`None`: no such seat).
    pub(super) fn reseat(
        &mut self,
        seat: PeerId,
        by: PeerId,
        identity: Identity,
        effects: &mut Vec<Effect>,
    ) -> Option<bool> {
        let resume_token = self.new_resume_token(seat, &identity.sub);
        let member = self.members.get_mut(&seat)?;
        let renamed = member.identity.name != identity.name;
        member.identity.name = identity.name;
        member.resume_token = resume_token;
        self.held.release(seat);
        effects.push(Effect::TakeOver { seat, by });
        Some(renamed)
    }

    pub(super) fn leave(
        &mut self,
        peer: PeerId,
        reason: PeerLeftReason,
        effects: &mut Vec<Effect>,
    ) {
        if self.agreeing.remove(peer).is_some() {
            // Never let in: nobody saw them, nothing to tell but the hosts' agreement list.
            self.announce_agreements(effects);
            return;
        }
        self.left_event(peer, left_reason(reason));
        if self.waiting.remove(peer).is_some() {
            self.announce_lobby(effects);
            return;
        }
        let Some(member) = self.members.remove(&peer) else {
            return;
        };
        self.held.release(peer);
        if self.hands.set(peer, false) {
            self.announce_hands(effects);
        }
        if let Some(origins) = self.asides.get_mut(&member.room) {
            // The room the leaver stepped out of saw it go as `stepped_out`: it hears that it is
            // gone for good.
            let origin = origins
                .iter()
                .find(|(p, _)| *p == peer)
                .map(|(_, r)| r.clone());
            origins.retain(|(p, _)| *p != peer);
            if let Some(room) = self.rooms.get_mut(&member.room) {
                room.members.remove(&peer);
            }
            if let Some(origin) = origin.filter(|r| self.public_room(r)) {
                let watchers = self.room_members(&origin);
                effects.send(watchers, ServerMessage::PeerLeft { id: peer, reason });
            }
            // The conversation goes on if two people and a host or cohost are still in it (a
            // second moderator who had joined leaves); otherwise it ends.
            let room = member.room.clone();
            let left = self.room_members(&room);
            let supervised = left.iter().any(|p| self.role_of(*p).is_moderator());
            if left.len() >= 2 && supervised {
                effects.send(left, ServerMessage::PeerLeft { id: peer, reason });
            } else {
                self.end_aside(&room, effects);
            }
            self.roster_changed(effects);
            return;
        }
        if let Some(room) = self.rooms.get_mut(&member.room) {
            room.members.remove(&peer);
            let others: Vec<PeerId> = room.members.iter().copied().collect();
            effects.send(others, ServerMessage::PeerLeft { id: peer, reason });
        }
        self.roster_changed(effects);
    }

    /// A member's connection dropped: hold the seat (the member stays in its room, keeps its
    /// role and hand, can be moved) until the grace period ends or it resumes.
    pub(super) fn dropped(&mut self, peer: PeerId, now: Millis, effects: &mut Vec<Effect>) {
        if self.waiting.contains(peer)
            || self.agreeing.contains(peer)
            || self.config.resume_grace_ms == 0
        {
            // The waiting room holds no seats: come back and wait again.
            self.leave(peer, PeerLeftReason::Disconnected, effects);
            return;
        }
        let until = now.saturating_add(self.config.resume_grace_ms);
        if !self.members.contains_key(&peer) || !self.held.hold(peer, until) {
            return;
        }
        effects.send(
            self.roommates(peer),
            ServerMessage::PeerReconnecting { id: peer },
        );
    }

    /// `identity` with the role a host assigned this person in this meeting, if any.
    pub(super) fn with_assigned_role(&self, mut identity: Identity) -> Identity {
        if let Some(role) = self.assigned_roles.get(&identity.sub) {
            identity.role = *role;
        }
        identity
    }
}
