//! Invariants (what must hold after every step): every member in exactly the room its record
//! names, private rooms tracked, the owners' indexes consistent, one seat per person. The unit
//! and property tests check them after every input.

use super::Meeting;
use crate::protocol::RoomId;
use std::collections::HashSet;

impl Meeting {
    /// Checks that the indexes agree: every member is in exactly the room its record names, and
    /// every room lists only members. Used by tests after every step.
    pub fn check_invariants(&self) -> Result<(), String> {
        // The media engine forwards by the routes last emitted: they must be the meeting as it
        // is, or media would flow where chat may not.
        if self.is_sfu() && self.routes != self.media_routes() {
            return Err("the last media routes emitted are not the meeting's rooms".into());
        }
        let mut seen = 0;
        for (room_id, room) in &self.rooms {
            for peer in &room.members {
                match self.members.get(peer) {
                    Some(m) if &m.room == room_id => seen += 1,
                    Some(m) => {
                        return Err(format!(
                            "{peer} listed in {room_id} but recorded in {}",
                            m.room
                        ))
                    }
                    None => return Err(format!("{peer} listed in {room_id} but not a member")),
                }
            }
            if !room.history.is_consistent() {
                return Err(format!("history of {room_id} over its bounds"));
            }
        }
        for (id, room) in &self.rooms {
            if room.private && (room.members.is_empty() || !self.asides.contains_key(id)) {
                return Err(format!("private room {id} empty or untracked"));
            }
            if room.private && !room.members.iter().any(|p| self.role_of(*p).is_moderator()) {
                return Err(format!("private room {id} without a host or cohost"));
            }
        }
        if self.asides.keys().any(|id| !self.rooms.contains_key(id)) {
            return Err("a pull-aside record without its room".into());
        }
        if self
            .waiting
            .ids()
            .iter()
            .any(|p| self.members.contains_key(p))
        {
            return Err("someone is both waiting and a member".into());
        }
        if !self.held.is_consistent() {
            return Err(format!(
                "held seats out of step with their index: {:?}",
                self.held
            ));
        }
        if let Some(p) = self.held.peers().find(|p| !self.members.contains_key(p)) {
            return Err(format!("{p} held but not a member"));
        }
        if self
            .members
            .values()
            .any(|m| !m.recent_private.is_consistent() || !m.missed.is_consistent())
        {
            return Err("a member's replay log over its bounds".into());
        }
        if self.hands.iter().any(|p| !self.members.contains_key(p)) {
            return Err("a raised hand of someone not in the meeting".into());
        }
        let subs: HashSet<&str> = self
            .members
            .values()
            .map(|m| m.identity.sub.as_str())
            .collect();
        if subs.len() != self.members.len() {
            return Err("two members with the same identity".into());
        }
        if seen != self.members.len() {
            return Err(format!(
                "{} members but {seen} room places",
                self.members.len()
            ));
        }
        if !self.rooms.contains_key(&RoomId::main()) {
            return Err("main room missing".into());
        }
        if !self.has_breakouts() && (self.clock.closes_at.is_some() || self.clock.choosing) {
            return Err("breakout timer or choosing without breakouts".into());
        }
        Ok(())
    }
}
