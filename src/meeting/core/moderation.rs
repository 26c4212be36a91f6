//! Moderation (PROTOCOL.md "Moderation"): what hosts and cohosts do to people — remove and ban,
//! end the meeting, roles and the host handover, the lock, mute requests, hands, pull-aside —
//! plus media state, and the audit trail every moderator action leaves.

use super::events::EventKind;
use super::{
    AuditSubs, BreakoutClock, Effect, Meeting, Millis, Outcome, Room, Sends, MAIN_ROOM_NAME,
};
use crate::limits;
use crate::protocol::{
    AuditTerms, CloseCode, ErrorCode, PeerId, PeerLeftReason, Role, RoomId, ServerMessage,
};
use std::collections::{HashMap, HashSet};

impl Meeting {
    /// After a moderator's `welcome` (join, takeover, resume) or a promotion: the waiting room
    /// and the hand queue as they are now, which otherwise arrive only with the next change.
    pub(super) fn moderator_state(&self, peer: PeerId, effects: &mut Vec<Effect>) {
        if !self.role_of(peer).is_moderator() {
            return;
        }
        let people = ServerMessage::People {
            peers: self.peers_of(self.members.keys().copied()),
        };
        effects.send_one(peer, people);
        effects.send_one(peer, self.lobby_message());
        effects.send_one(peer, self.hands_message());
        if self.agreement.is_some() {
            effects.send_one(peer, self.agreements_message());
        }
    }

    pub(super) fn announce_hands(&self, effects: &mut Vec<Effect>) {
        effects.send(self.moderators(), self.hands_message());
    }

    pub(super) fn hands_message(&self) -> ServerMessage {
        ServerMessage::Hands {
            queue: self.hands.queue(),
        }
    }

    /// Raises or lowers `peer`'s hand. Hosts see the queue; the person's room and the hosts
    /// see the hand on the person (`peer_updated`), so the person learns it too when a host
    /// lowers it. Not the whole meeting: anyone may toggle a hand ten times a second.
    pub(super) fn set_hand(&mut self, peer: PeerId, raised: bool, effects: &mut Vec<Effect>) {
        if !self.hands.set(peer, raised) {
            return;
        }
        self.announce_hands(effects);
        let Some((room, p)) = self.room_of(peer).cloned().zip(self.peer_of(peer)) else {
            return;
        };
        let mut to = self.room_members(&room);
        let elsewhere: Vec<PeerId> = self
            .moderators()
            .into_iter()
            .filter(|m| !to.contains(m))
            .collect();
        to.extend(elsewhere);
        effects.send(to, ServerMessage::PeerUpdated { peer: p });
    }

    pub(super) fn audit(
        &self,
        by: PeerId,
        action: &'static str,
        terms: AuditTerms,
        subs: AuditSubs,
        now: Millis,
        effects: &mut Vec<Effect>,
    ) {
        let AuditTerms {
            subject,
            detail,
            other,
        } = terms;
        effects.push(Effect::Audit {
            by,
            action,
            subject,
            detail: detail.clone(),
            other,
            subs,
        });
        let notice = ServerMessage::Audit {
            by,
            action: action.to_owned(),
            subject,
            detail,
            other,
            ts: now,
        };
        effects.send(self.moderators(), notice);
    }

    pub(super) fn remove(
        &mut self,
        by: PeerId,
        peer: PeerId,
        ban: bool,
        effects: &mut Vec<Effect>,
    ) -> Outcome {
        if peer == by {
            return Err((ErrorCode::BadRequest, "you cannot remove yourself"));
        }
        if self.waiting.contains(peer) {
            self.left_event(peer, "removed");
        }
        if let Some(waiting) = self.waiting.remove(peer) {
            // Someone in the waiting room: turned away, and with `ban` for good (a `deny` lets
            // them knock again).
            if ban {
                self.banned.insert(waiting.sub);
            }
            effects.push(Effect::Close {
                peer,
                code: CloseCode::Removed,
            });
            self.announce_lobby(effects);
            return Ok(());
        }
        let Some(member) = self.members.get(&peer) else {
            return Err((ErrorCode::NotFound, "no such peer in this meeting"));
        };
        if self.role_of(by) == Role::Mentor
            && !matches!(member.identity.role, Role::Participant | Role::Observer)
        {
            return Err((
                ErrorCode::Forbidden,
                "a mentor removes participants and observers only",
            ));
        }
        if member.identity.role == Role::Host && self.role_of(by) != Role::Host {
            return Err((ErrorCode::Forbidden, "only a host can remove a host"));
        }
        if ban {
            self.banned.insert(member.identity.sub.clone());
        }
        effects.push(Effect::Close {
            peer,
            code: CloseCode::Removed,
        });
        self.leave(peer, PeerLeftReason::Removed, effects);
        Ok(())
    }

    /// `end_meeting`: see [`Meeting::end`].
    pub(super) fn end_meeting(&mut self, now: Millis, effects: &mut Vec<Effect>) -> Outcome {
        if !self.config.kind.is_session() {
            return Err((
                ErrorCode::Conflict,
                "a drop-in never ends for everyone: people come and go",
            ));
        }
        self.end(now, effects);
        Ok(())
    }

    /// Ends the session: everyone out, every trace of it (chat, rooms, timer, hands) gone. The
    /// meeting id stays closed to everyone but hosts and cohosts for
    /// `ended_meeting_memory_ms`, so nobody can slip back into an unsupervised group; a host
    /// joining starts a new session (bans still hold).
    pub(super) fn end(&mut self, now: Millis, effects: &mut Vec<Effect>) {
        for peer in self.member_ids().into_iter().chain(self.waiting.ids()) {
            self.left_event(peer, "meeting_ended");
        }
        for peer in self
            .member_ids()
            .into_iter()
            .chain(self.waiting.ids())
            .chain(self.agreeing.ids())
        {
            effects.push(Effect::Close {
                peer,
                code: CloseCode::MeetingEnded,
            });
        }
        self.agreeing.clear();
        self.members.clear();
        self.held.clear();
        self.waiting.clear();
        self.asides.clear();
        self.rooms.clear();
        self.rooms
            .insert(RoomId::main(), Room::new(0, MAIN_ROOM_NAME.into(), None));
        self.clock = BreakoutClock::default();
        self.rotation = super::rotation::Rotation::default();
        self.rooms_due = None;
        self.last_split.clear();
        self.hands.clear();
        self.locked = false;
        self.lobby_enabled = self.config.waiting_room;
        self.ended_at = Some(now);
    }

    pub(super) fn set_role(
        &mut self,
        by: PeerId,
        peer: PeerId,
        role: Role,
        effects: &mut Vec<Effect>,
    ) -> Outcome {
        if self.role_of(by) != Role::Host {
            return Err((ErrorCode::Forbidden, "only the host changes roles"));
        }
        if role == Role::Host {
            return Err((
                ErrorCode::BadRequest,
                "use transfer_host to hand over the host role",
            ));
        }
        let Some(member) = self.members.get_mut(&peer) else {
            return Err((ErrorCode::NotFound, "no such peer in this meeting"));
        };
        if member.identity.role == Role::Host {
            return Err((
                ErrorCode::Forbidden,
                "a host's role changes only by transfer_host",
            ));
        }
        let promoted = role.is_moderator() && !member.identity.role.is_moderator();
        let from = std::mem::replace(&mut member.identity.role, role);
        self.assigned_roles
            .insert(member.identity.sub.clone(), role);
        if from != role {
            self.person_event(peer, EventKind::RoleChanged { from });
        }
        if !role.may_speak() && self.hands.set(peer, false) {
            self.announce_hands(effects);
        }
        self.announce_peer(peer, effects);
        if !role.is_moderator() {
            self.end_unsupervised_aside(peer, effects);
        }
        if promoted {
            self.moderator_state(peer, effects);
        }
        Ok(())
    }

    pub(super) fn transfer_host(
        &mut self,
        by: PeerId,
        peer: PeerId,
        effects: &mut Vec<Effect>,
    ) -> Outcome {
        if self.role_of(by) != Role::Host {
            return Err((
                ErrorCode::Forbidden,
                "only the host hands over the host role",
            ));
        }
        if peer == by {
            return Err((ErrorCode::BadRequest, "you are the host already"));
        }
        if self.held.is_held(peer) {
            // If the seat timed out, the meeting would be left without a host.
            return Err((ErrorCode::Conflict, "that person is reconnecting"));
        }
        let Some(member) = self.members.get_mut(&peer) else {
            return Err((ErrorCode::NotFound, "no such peer in this meeting"));
        };
        let promoted = !member.identity.role.is_moderator();
        let from = std::mem::replace(&mut member.identity.role, Role::Host);
        self.assigned_roles
            .insert(member.identity.sub.clone(), Role::Host);
        self.person_event(peer, EventKind::RoleChanged { from });
        if let Some(me) = self.members.get_mut(&by) {
            me.identity.role = Role::Cohost;
            self.assigned_roles
                .insert(me.identity.sub.clone(), Role::Cohost);
        }
        if self.members.contains_key(&by) {
            self.person_event(by, EventKind::RoleChanged { from: Role::Host });
        }
        self.announce_peer(peer, effects);
        self.announce_peer(by, effects);
        if promoted {
            self.moderator_state(peer, effects);
        }
        Ok(())
    }

    pub(super) fn announce_peer(&self, peer: PeerId, effects: &mut Vec<Effect>) {
        if let Some(p) = self.peer_of(peer) {
            effects.send(self.member_ids(), ServerMessage::PeerUpdated { peer: p });
        }
    }

    pub(super) fn pull_aside(
        &mut self,
        host: PeerId,
        peer: PeerId,
        effects: &mut Vec<Effect>,
    ) -> Outcome {
        if peer == host {
            return Err((ErrorCode::BadRequest, "pull someone else aside"));
        }
        if !self.members.contains_key(&peer) {
            return Err((ErrorCode::NotFound, "no such peer in this meeting"));
        }
        if self.is_away(peer) {
            return Err((ErrorCode::Conflict, "that person is reconnecting"));
        }
        if self.in_private_room(host) {
            return Err((ErrorCode::Conflict, "already in a private conversation"));
        }
        if self.in_private_room(peer) {
            // Another moderator's conversation with this person: join it.
            return self.join_aside(host, peer, effects);
        }
        self.room_counter += 1;
        let id = RoomId(format!("a{}", self.room_counter));
        let mut room = Room::new(self.room_counter, "Private conversation".into(), None);
        room.private = true;
        self.rooms.insert(id.clone(), room);
        let origins: Vec<(PeerId, RoomId)> = [host, peer]
            .into_iter()
            .filter_map(|p| self.room_of(p).cloned().map(|r| (p, r)))
            .collect();
        self.asides.insert(id.clone(), origins);
        self.relocate(vec![(host, id.clone()), (peer, id)], effects);
        self.announce_rooms(effects);
        Ok(())
    }

    /// Everyone in pull-aside room `room` goes back where they came from (the main room if that
    /// room has closed meanwhile); the room closes.
    pub(super) fn end_aside(&mut self, room: &RoomId, effects: &mut Vec<Effect>) {
        let origins = self.asides.remove(room).unwrap_or_default();
        let moves: Vec<(PeerId, RoomId)> = self
            .room_members(room)
            .into_iter()
            .map(|p| {
                let back = origins
                    .iter()
                    .find(|(q, _)| *q == p)
                    .map(|(_, r)| r.clone())
                    .filter(|r| self.public_room(r))
                    .unwrap_or_else(RoomId::main);
                (p, back)
            })
            .collect();
        self.relocate(moves, effects);
        self.rooms.remove(room);
        self.announce_rooms(effects);
    }

    /// `end_aside`: ends the private conversation `peer` is in (the sender's own, or another
    /// moderator's).
    pub(super) fn end_aside_of(&mut self, peer: PeerId, effects: &mut Vec<Effect>) -> Outcome {
        match self.room_of(peer).cloned() {
            Some(room) if self.asides.contains_key(&room) => {
                self.end_aside(&room, effects);
                Ok(())
            }
            _ => Err((ErrorCode::Conflict, "not in a private conversation")),
        }
    }

    /// A moderator joins the private conversation `peer` is in (another moderator's): the
    /// moderator's way back is recorded like the others'.
    fn join_aside(&mut self, host: PeerId, peer: PeerId, effects: &mut Vec<Effect>) -> Outcome {
        let Some(room) = self.room_of(peer).cloned() else {
            return Err((ErrorCode::NotFound, "no such peer in this meeting"));
        };
        let Some(origin) = self.room_of(host).cloned() else {
            return Err((ErrorCode::NotFound, "no such peer in this meeting"));
        };
        if let Some(origins) = self.asides.get_mut(&room) {
            origins.push((host, origin));
        }
        self.relocate(vec![(host, room)], effects);
        Ok(())
    }

    /// After someone in a private conversation lost the moderator role: if no moderator is left
    /// in it, it ends, so a participant is never left alone in private with a non-moderator.
    fn end_unsupervised_aside(&mut self, peer: PeerId, effects: &mut Vec<Effect>) {
        let Some(room) = self.room_of(peer).cloned() else {
            return;
        };
        if !self.asides.contains_key(&room) {
            return;
        }
        let supervised = self
            .room_members(&room)
            .iter()
            .any(|p| self.role_of(*p).is_moderator());
        if !supervised {
            self.end_aside(&room, effects);
        }
    }

    pub(super) fn request_mute(
        &mut self,
        by: PeerId,
        peer: PeerId,
        audio: bool,
        video: bool,
        effects: &mut Vec<Effect>,
    ) -> Outcome {
        if !self.members.contains_key(&peer) {
            return Err((ErrorCode::NotFound, "no such peer in this meeting"));
        }
        effects.send_one(peer, ServerMessage::MuteRequested { by, audio, video });
        Ok(())
    }

    /// `media_state`: kept for rosters, told to the room.
    pub(super) fn media_state(
        &mut self,
        from: PeerId,
        audio: bool,
        video: bool,
        screen: Option<bool>,
        effects: &mut Vec<Effect>,
    ) -> Outcome {
        if screen == Some(true) && !self.may_share_screen(from) {
            return Err((
                ErrorCode::Forbidden,
                "screen sharing is for hosts and cohosts unless a host allows it",
            ));
        }
        let Some(member) = self.members.get_mut(&from) else {
            return Ok(());
        };
        member.media = Some((audio, video));
        let was_sharing = member.screen;
        let screen = screen.unwrap_or(was_sharing);
        member.screen = screen;
        let media = ServerMessage::PeerMedia {
            id: from,
            audio,
            video,
            screen,
        };
        effects.send(self.roommates(from), media);
        if screen != was_sharing {
            // A screen starts or stops: the hub's forwarding follows (media_state is otherwise
            // left out of the route check, as relay messages are).
            self.reroute(effects);
        }
        Ok(())
    }

    /// Whether `peer` may share their screen now.
    pub(super) fn may_share_screen(&self, peer: PeerId) -> bool {
        let role = self.role_of(peer);
        role.is_moderator() || (role.may_speak() && self.screen_share_allowed)
    }

    /// `allow_screen_share`: participants and mentors may share, or not (whoever shares then
    /// stops, as their room sees).
    pub(super) fn allow_screen_share(
        &mut self,
        allowed: bool,
        effects: &mut Vec<Effect>,
    ) -> Outcome {
        self.screen_share_allowed = allowed;
        let stopped: Vec<PeerId> = self
            .members
            .iter()
            .filter(|(p, m)| m.screen && !self.may_share_screen(**p))
            .map(|(p, _)| *p)
            .collect();
        for peer in stopped {
            let Some(member) = self.members.get_mut(&peer) else {
                continue;
            };
            member.screen = false;
            let (audio, video) = member.media.unwrap_or((false, false));
            let media = ServerMessage::PeerMedia {
                id: peer,
                audio,
                video,
                screen: false,
            };
            let to = self
                .room_of(peer)
                .map(|r| self.room_members(r))
                .unwrap_or_default();
            effects.send(to, media);
        }
        effects.send(
            self.member_ids(),
            ServerMessage::ScreenShareAllowed { allowed },
        );
        Ok(())
    }

    /// `raise_hand`: one's own hand up or down, or (a moderator, checked by `handle`) someone
    /// else's hand down.
    pub(super) fn raise_hand(
        &mut self,
        from: PeerId,
        raised: bool,
        peer: Option<PeerId>,
        now: Millis,
        effects: &mut Vec<Effect>,
    ) -> Outcome {
        match peer {
            Some(peer) if peer != from => {
                if raised {
                    return Err((ErrorCode::BadRequest, "you can only lower someone's hand"));
                }
                if !self.members.contains_key(&peer) {
                    return Err((ErrorCode::NotFound, "no such peer in this meeting"));
                }
                if !self.hands.contains(peer) {
                    return Err((ErrorCode::Conflict, "that hand is not raised"));
                }
                self.set_hand(peer, false, effects);
            }
            _ => {
                if raised && !self.role_of(from).may_speak() {
                    return Err((ErrorCode::Forbidden, "observers cannot raise a hand"));
                }
                if raised && !self.hands.contains(from) {
                    let member = self.members.get_mut(&from);
                    if let Some(member) = member {
                        if member
                            .hand_raised_at
                            .is_some_and(|t| now < t.saturating_add(limits::HAND_RAISE_MIN_MS))
                        {
                            return Err((
                                ErrorCode::RateLimited,
                                "raise your hand again in a moment",
                            ));
                        }
                        member.hand_raised_at = Some(now);
                    }
                }
                self.set_hand(from, raised, effects);
            }
        }
        Ok(())
    }

    pub(super) fn lock(&mut self, by: PeerId, locked: bool, effects: &mut Vec<Effect>) -> Outcome {
        self.locked = locked;
        effects.send(self.member_ids(), ServerMessage::Locked { locked, by });
        Ok(())
    }
}

/// The moderation decisions that outlive a meeting's actor: when everyone is gone for a moment
/// (a host alone with a banned person reloads the page), a fresh actor starts from these instead
/// of from nothing. Identities only (`sub`), never names.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Remembered {
    banned: HashSet<String>,
    assigned_roles: HashMap<String, Role>,
    locked: bool,
    lobby_enabled: bool,
}

impl Meeting {
    /// What to remember when this meeting's actor stops; `None` when there is nothing a fresh
    /// start would not do the same way.
    pub fn remembered(&self) -> Option<Remembered> {
        let remembered = Remembered {
            banned: self.banned.clone(),
            assigned_roles: self.assigned_roles.clone(),
            locked: self.locked,
            lobby_enabled: self.lobby_enabled,
        };
        let fresh = Remembered {
            lobby_enabled: self.config.waiting_room,
            ..Remembered::default()
        };
        (remembered != fresh).then_some(remembered)
    }

    /// Starts this (fresh) meeting from what an earlier actor of it remembered.
    pub fn remember(mut self, remembered: Remembered) -> Self {
        self.banned = remembered.banned;
        self.assigned_roles = remembered.assigned_roles;
        self.locked = remembered.locked;
        self.lobby_enabled = remembered.lobby_enabled;
        self
    }
}
