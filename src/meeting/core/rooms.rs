//! Rooms (PROTOCOL.md "Rooms"): the room list and who is told it, and moving people between
//! rooms in one step (`room_changed` to the movers, `peer_left` / `peer_joined` to those who
//! stay), which every breakout action, pull-aside and merge goes through.

use super::events::EventKind;
use super::{BreakoutClock, Effect, Meeting, Millis, Room, Sends};
use crate::limits;
use crate::protocol::{PeerId, PeerLeftReason, RoomId, RoomInfo, ServerMessage};
use std::collections::{BTreeMap, HashSet};

impl Meeting {
    pub(super) fn room_list(&self) -> Vec<RoomInfo> {
        self.room_ids()
            .into_iter()
            .filter_map(|id| {
                let room = self.rooms.get(&id)?;
                Some(RoomInfo {
                    name: room.name.clone(),
                    topic: room.topic.clone(),
                    members: room.members.iter().copied().collect(),
                    id,
                })
            })
            .collect()
    }

    pub(super) fn has_breakouts(&self) -> bool {
        self.rooms.values().filter(|r| !r.private).count() > 1
    }

    /// A room people may be moved, visit or choose into: exists and is not private.
    pub(super) fn public_room(&self, room: &RoomId) -> bool {
        self.rooms.get(room).is_some_and(|r| !r.private)
    }

    pub(super) fn in_private_room(&self, peer: PeerId) -> bool {
        self.room_of(peer)
            .and_then(|r| self.rooms.get(r))
            .is_some_and(|r| r.private)
    }

    /// Tells everyone the new room list: hosts and cohosts at once (they run the rooms), everyone
    /// else once, shortly after (`flush_rooms`). A split, merge or move already told each person
    /// what they need at once (`room_changed`: their room, its name, topic and roster); the
    /// overview follows, and changes close together go out as one list. At a 1,000-person merge
    /// that keeps 1,000 copies of the list out of the way of the `room_changed` everyone waits for.
    pub(super) fn announce_rooms(&mut self, effects: &mut Vec<Effect>) {
        if self.members.is_empty() {
            return;
        }
        effects.send(self.moderators(), self.rooms_message());
        self.rooms_due
            .get_or_insert(self.now.saturating_add(limits::ROOMS_DEBOUNCE_MS));
    }

    pub(super) fn rooms_message(&self) -> ServerMessage {
        ServerMessage::Rooms {
            rooms: self.room_list(),
            closes_at: self.clock.closes_at,
            choosing: self.clock.choosing,
            round: self.clock.round,
        }
    }

    /// After a join or leave: hosts and cohosts get the room list at once (they run the roster).
    /// With breakouts open everyone's list changes too, but a join or leave storm must not send
    /// everyone the whole list each time (nor a reconnect loop make the room chatty): the others
    /// get it once, [`limits::ROOMS_DEBOUNCE_MS`] after the first change (see `flush_rooms`).
    pub(super) fn roster_changed(&mut self, effects: &mut Vec<Effect>) {
        if self.has_breakouts() {
            self.announce_rooms(effects);
        } else {
            effects.send(self.moderators(), self.rooms_message());
        }
    }

    /// The room list to everyone but hosts and cohosts, once it is due: one list for every
    /// change since the first one scheduled it.
    pub(super) fn flush_rooms(&mut self, now: Millis, effects: &mut Vec<Effect>) {
        if self.rooms_due.is_none_or(|due| due > now) {
            return;
        }
        self.rooms_due = None;
        let others: Vec<PeerId> = self
            .members
            .iter()
            .filter(|(_, m)| !m.identity.role.is_moderator())
            .map(|(p, _)| *p)
            .collect();
        effects.send(others, self.rooms_message());
    }

    /// Moves people between rooms in one step. Each mover gets `room_changed` (its new room's
    /// roster, the mover included, and history) before anything else from the new room; people
    /// who stay in a room that someone left or entered get `peer_left {moved}` / `peer_joined`. Moves to the current room are
    /// skipped. The caller has checked that every peer and room exists. Returns how many moved.
    pub(super) fn relocate(
        &mut self,
        moves: Vec<(PeerId, RoomId)>,
        effects: &mut Vec<Effect>,
    ) -> usize {
        let mut done: Vec<(PeerId, RoomId, RoomId)> = Vec::with_capacity(moves.len());
        for (peer, to) in moves {
            let Some(member) = self.members.get_mut(&peer) else {
                continue;
            };
            if member.room == to || !self.rooms.contains_key(&to) {
                continue;
            }
            let from = std::mem::replace(&mut member.room, to.clone());
            if let Some(room) = self.rooms.get_mut(&from) {
                room.members.remove(&peer);
            }
            if let Some(room) = self.rooms.get_mut(&to) {
                room.members.insert(peer);
            }
            done.push((peer, from, to));
        }
        for (peer, from, _) in &done {
            let from = from.clone();
            self.person_event(*peer, EventKind::RoomChanged { from });
        }
        let movers: HashSet<PeerId> = done.iter().map(|(p, _, _)| *p).collect();
        // One `room_changed` per destination room, shared by everyone who arrived there: it is
        // serialized once, which matters when a merge brings a thousand people into one room.
        let mut arrivals: BTreeMap<&RoomId, Vec<PeerId>> = BTreeMap::new();
        for (peer, _, to) in &done {
            arrivals.entry(to).or_default().push(*peer);
        }
        for (to, arrived) in arrivals {
            let Some(room) = self.rooms.get(to) else {
                continue;
            };
            let changed = ServerMessage::RoomChanged {
                room: to.clone(),
                name: room.name.clone(),
                topic: room.topic.clone(),
                peers: self.peers_of(room.members.iter().copied()),
                // Moved into a room whose chat is not kept: no history.
                chat: self.shown_history(room).cloned().collect(),
                private: room.private,
            };
            effects.send(arrived, changed);
        }
        let stayers = |room: &RoomId| -> Vec<PeerId> {
            self.rooms
                .get(room)
                .map(|r| {
                    r.members
                        .iter()
                        .copied()
                        .filter(|p| !movers.contains(p))
                        .collect()
                })
                .unwrap_or_default()
        };
        for (peer, from, to_room) in &done {
            // The group sees only that someone stepped out, not where.
            let reason = if self.rooms.get(to_room).is_some_and(|r| r.private) {
                PeerLeftReason::SteppedOut
            } else {
                PeerLeftReason::Moved
            };
            effects.send(stayers(from), ServerMessage::PeerLeft { id: *peer, reason });
        }
        for (peer, _, to_room) in &done {
            let to = stayers(to_room);
            if let (false, Some(peer)) = (to.is_empty(), self.peer_of(*peer)) {
                effects.send(to, ServerMessage::PeerJoined { peer });
            }
        }
        done.len()
    }

    pub(super) fn open_room(&mut self, name: String, topic: Option<String>) -> RoomId {
        self.room_counter += 1;
        let id = RoomId(format!("b{}", self.room_counter));
        self.rooms
            .insert(id.clone(), Room::new(self.room_counter, name, topic));
        id
    }

    /// Removes empty breakout rooms; clears the timer when none are left.
    pub(super) fn close_empty_breakouts(&mut self) {
        self.rooms
            .retain(|id, room| id.is_main() || !room.members.is_empty());
        // (Private rooms with people in them stay; empty ones go.)
        if !self.has_breakouts() {
            self.clock = BreakoutClock::default();
        }
    }
}
