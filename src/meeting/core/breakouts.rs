//! Breakout rooms (PROTOCOL.md "Breakout rooms"): split (every strategy), move, swap, visit,
//! choose, broadcast, merge (all, with a countdown, or chosen rooms), the timer and its closing
//! notice, reopen, and help requests from a breakout.

use super::events::EventKind;
use super::relay::check_chat_text;
use super::{BreakoutClock, ClosedRoom, Effect, Meeting, Millis, Outcome, Rejection, Sends};
use crate::limits;
use crate::protocol::{
    BreakoutRoomSpec, ErrorCode, MeetingKind, PeerId, Role, RoomId, ServerMessage, SplitStrategy,
};
use rand::seq::SliceRandom;
use std::collections::HashSet;

impl Meeting {
    pub(super) fn split(
        &mut self,
        req: SplitRequest,
        now: Millis,
        effects: &mut Vec<Effect>,
    ) -> Outcome {
        if self.has_breakouts() {
            return Err((
                ErrorCode::Conflict,
                "breakout rooms are open: merge them first",
            ));
        }
        let duration_ms = check_secs(req.duration_secs)?;
        let topic = check_text(
            req.topic.as_deref(),
            limits::MAX_ROOM_TOPIC_CHARS,
            "topic too long",
        )?;
        let main = RoomId::main();
        // Hosts, cohosts and observers stay in the main room.
        let mut mentors = Vec::new();
        let mut participants = Vec::new();
        for &peer in self
            .rooms
            .get(&main)
            .map(|r| &r.members)
            .into_iter()
            .flatten()
        {
            match self.role_of(peer) {
                Role::Mentor if req.spread_mentors => mentors.push(peer),
                Role::Mentor | Role::Participant => participants.push(peer),
                _ => {}
            }
        }
        let people = mentors.len() + participants.len();
        // `rotate`: the schedule's next round, tried on a copy (kept only if the split happens).
        let mut rotation = self.rotation.clone();
        let round = if req.strategy == SplitStrategy::Rotate {
            if people < 2 {
                return Err((
                    ErrorCode::Conflict,
                    "rotate needs at least two participants",
                ));
            }
            let subs: Vec<String> = mentors
                .iter()
                .chain(&participants)
                .filter_map(|p| self.sub_of(*p))
                .collect();
            Some(rotation.next(&subs))
        } else {
            None
        };
        let count = match req.strategy {
            SplitStrategy::Rotate => round.as_ref().map_or(0, |r| r.pairs.len()),
            SplitStrategy::Pairs => {
                if people < 2 {
                    return Err((ErrorCode::Conflict, "pairs need at least two participants"));
                }
                people / 2
            }
            SplitStrategy::Manual => req.rooms.len(),
            _ => match (req.count, req.rooms.len()) {
                (Some(n), specs) if specs == 0 || specs == n as usize => n as usize,
                (Some(_), _) => return Err((ErrorCode::BadRequest, "count and rooms disagree")),
                (None, specs) => specs,
            },
        };
        if count == 0 || count > limits::MAX_BREAKOUT_ROOMS {
            return Err((ErrorCode::BadRequest, "room count out of range"));
        }
        if !req.rooms.is_empty() && req.rooms.len() != count {
            return Err((
                ErrorCode::BadRequest,
                "pairs decides the room count: omit rooms",
            ));
        }
        // Nobody alone in a room unless asked: `even` and `random` open at most one room per
        // two people (3 people asked into 2 rooms get one room of 3; the rooms asked for beyond
        // that are not opened).
        let dealt = matches!(req.strategy, SplitStrategy::Even | SplitStrategy::Random);
        let count = if dealt && !req.allow_solo {
            count.min((people / 2).max(1))
        } else {
            count
        };
        for spec in &req.rooms {
            check_text(
                spec.name.as_deref(),
                limits::MAX_ROOM_NAME_CHARS,
                "room name too long",
            )?;
            check_text(
                spec.topic.as_deref(),
                limits::MAX_ROOM_TOPIC_CHARS,
                "topic too long",
            )?;
        }
        // Manual assignments must name members of the main room, each once.
        if req.strategy == SplitStrategy::Manual {
            let mut seen = HashSet::new();
            for peer in req.rooms.iter().flat_map(|r| &r.members) {
                if self.room_of(*peer) != Some(&main) {
                    return Err((
                        ErrorCode::NotFound,
                        "manual assignment names someone not in the main room",
                    ));
                }
                if !seen.insert(*peer) {
                    return Err((ErrorCode::BadRequest, "someone is assigned twice"));
                }
            }
        } else if req.rooms.iter().any(|r| !r.members.is_empty()) {
            return Err((
                ErrorCode::BadRequest,
                "members are only for the manual strategy",
            ));
        }

        // (`rooms` may be longer than `count` once rooms of one were avoided.)
        let specs: Vec<BreakoutRoomSpec> = (0..count)
            .map(|i| req.rooms.get(i).cloned().unwrap_or_default())
            .collect();
        let ids: Vec<RoomId> = specs
            .iter()
            .enumerate()
            .map(|(i, spec)| {
                let name = spec.name.clone().unwrap_or_else(|| match req.strategy {
                    SplitStrategy::Rotate => format!("Pair {}", i + 1),
                    _ => format!("Room {}", i + 1),
                });
                self.open_room(name, spec.topic.clone().or_else(|| topic.clone()))
            })
            .collect();
        let mut moves = Vec::new();
        match req.strategy {
            SplitStrategy::Manual => {
                for (spec, id) in specs.iter().zip(&ids) {
                    moves.extend(spec.members.iter().map(|p| (*p, id.clone())));
                }
            }
            SplitStrategy::Choose => {}
            SplitStrategy::Rotate => {
                let peer_of = |sub: &str| {
                    mentors
                        .iter()
                        .chain(&participants)
                        .copied()
                        .find(|p| self.sub_of(*p).as_deref() == Some(sub))
                };
                for ((a, b), id) in round.iter().flat_map(|r| &r.pairs).zip(&ids) {
                    for sub in [a, b] {
                        if let Some(peer) = peer_of(sub) {
                            moves.push((peer, id.clone()));
                        }
                    }
                }
            }
            SplitStrategy::Even | SplitStrategy::Random | SplitStrategy::Pairs => {
                if req.strategy == SplitStrategy::Random {
                    mentors.shuffle(&mut self.rng);
                    participants.shuffle(&mut self.rng);
                }
                // Dealt round-robin, mentors first: at most one mentor per room while there are
                // enough rooms, sizes never differ by more than one. With `pairs`, the room count
                // is half the people, so an odd one out makes one room of three.
                for (i, peer) in mentors.into_iter().chain(participants).enumerate() {
                    moves.push((peer, ids[i % count].clone()));
                }
            }
        }
        self.clock = BreakoutClock {
            closes_at: duration_ms.map(|d| now + d),
            warned: false,
            choosing: req.strategy == SplitStrategy::Choose,
            round: round
                .as_ref()
                .map(|r| u32::try_from(r.number).unwrap_or(u32::MAX)),
        };
        if round.is_some() {
            self.rotation = rotation;
        }
        self.last_split.clear();
        self.relocate(moves, effects);
        self.announce_rooms(effects);
        Ok(())
    }

    pub(super) fn move_one(
        &mut self,
        peer: PeerId,
        room: RoomId,
        effects: &mut Vec<Effect>,
    ) -> Outcome {
        if !self.members.contains_key(&peer) {
            return Err((ErrorCode::NotFound, "no such peer in this meeting"));
        }
        if !self.public_room(&room) {
            return Err((ErrorCode::NotFound, "no such room"));
        }
        if self.in_private_room(peer) {
            return Err((
                ErrorCode::Conflict,
                "in a private conversation: end it first",
            ));
        }
        if self.relocate(vec![(peer, room)], effects) > 0 {
            self.announce_rooms(effects);
        }
        Ok(())
    }

    pub(super) fn swap(&mut self, a: PeerId, b: PeerId, effects: &mut Vec<Effect>) -> Outcome {
        let (Some(room_a), Some(room_b)) = (self.room_of(a).cloned(), self.room_of(b).cloned())
        else {
            return Err((ErrorCode::NotFound, "no such peer in this meeting"));
        };
        if self.in_private_room(a) || self.in_private_room(b) {
            return Err((
                ErrorCode::Conflict,
                "in a private conversation: end it first",
            ));
        }
        if self.relocate(vec![(a, room_b), (b, room_a)], effects) > 0 {
            self.announce_rooms(effects);
        }
        Ok(())
    }

    pub(super) fn choose_room(
        &mut self,
        from: PeerId,
        room: RoomId,
        effects: &mut Vec<Effect>,
    ) -> Outcome {
        if !matches!(self.role_of(from), Role::Participant | Role::Mentor) {
            return Err((
                ErrorCode::Forbidden,
                "only participants and mentors choose rooms",
            ));
        }
        if !self.clock.choosing {
            return Err((ErrorCode::Conflict, "rooms are not open for choosing"));
        }
        self.move_one(from, room, effects)
    }

    pub(super) fn broadcast(
        &mut self,
        from: PeerId,
        text: String,
        room: Option<RoomId>,
        now: Millis,
        effects: &mut Vec<Effect>,
    ) -> Outcome {
        check_chat_text(&text)?;
        let to = match &room {
            None => self.member_ids(),
            // One room: its members, and every host and cohost (co-facilitators see what was
            // said to whom).
            Some(room) if self.public_room(room) => {
                let mut to = self.room_members(room);
                to.extend(self.moderators());
                to.sort_unstable();
                to.dedup();
                to
            }
            Some(_) => return Err((ErrorCode::NotFound, "no such room")),
        };
        effects.send(
            to,
            ServerMessage::Broadcast {
                from,
                text,
                ts: now,
                room,
            },
        );
        Ok(())
    }

    pub(super) fn merge(
        &mut self,
        countdown_secs: Option<u64>,
        rooms: Vec<RoomId>,
        now: Millis,
        effects: &mut Vec<Effect>,
    ) -> Outcome {
        if !self.has_breakouts() {
            return Err((ErrorCode::Conflict, "no breakout rooms are open"));
        }
        let countdown = check_secs(countdown_secs)?.filter(|&ms| ms > 0);
        if rooms.is_empty() {
            match countdown {
                Some(ms) => {
                    self.clock.closes_at = Some(now + ms);
                    self.clock.warned = true;
                    self.closing_notice(now, effects);
                    self.announce_rooms(effects);
                }
                None => self.close_all(effects),
            }
            return Ok(());
        }
        if countdown.is_some() {
            return Err((
                ErrorCode::BadRequest,
                "a countdown applies to closing all rooms",
            ));
        }
        if rooms.len() < 2 {
            return Err((ErrorCode::BadRequest, "name at least two rooms to merge"));
        }
        let mut seen = HashSet::new();
        for room in &rooms {
            if !self.public_room(room) {
                return Err((ErrorCode::NotFound, "no such room"));
            }
            if !seen.insert(room) {
                return Err((ErrorCode::BadRequest, "a room is named twice"));
            }
        }
        let target = rooms[0].clone();
        let moves: Vec<(PeerId, RoomId)> = rooms[1..]
            .iter()
            .flat_map(|r| self.room_members(r))
            .map(|p| (p, target.clone()))
            .collect();
        self.relocate(moves, effects);
        self.close_empty_breakouts();
        self.announce_rooms(effects);
        Ok(())
    }

    /// Everyone back to the main room; all breakouts closed. Remembers the assignment for `reopen`.
    pub(super) fn close_all(&mut self, effects: &mut Vec<Effect>) {
        let main = RoomId::main();
        let mut closed = Vec::new();
        let mut moves = Vec::new();
        for id in self.room_ids() {
            if id.is_main() {
                continue;
            }
            let Some(room) = self.rooms.get(&id) else {
                continue;
            };
            let members: Vec<PeerId> = room.members.iter().copied().collect();
            moves.extend(members.iter().map(|p| (*p, main.clone())));
            closed.push(ClosedRoom {
                name: room.name.clone(),
                topic: room.topic.clone(),
                members,
            });
        }
        self.relocate(moves, effects);
        // Pull-aside rooms are not breakouts: a merge leaves them alone.
        self.rooms.retain(|id, room| id.is_main() || room.private);
        self.clock = BreakoutClock::default();
        self.last_split = closed;
        self.announce_rooms(effects);
    }

    pub(super) fn reopen(
        &mut self,
        duration_secs: Option<u64>,
        now: Millis,
        effects: &mut Vec<Effect>,
    ) -> Outcome {
        if self.has_breakouts() {
            return Err((ErrorCode::Conflict, "breakout rooms are open already"));
        }
        if self.last_split.is_empty() {
            return Err((ErrorCode::Conflict, "nothing to re-open"));
        }
        let duration_ms = check_secs(duration_secs)?;
        let main = RoomId::main();
        let mut moves = Vec::new();
        for closed in std::mem::take(&mut self.last_split) {
            let id = self.open_room(closed.name, closed.topic);
            // Only people still here and still in the main room go back.
            moves.extend(
                closed
                    .members
                    .into_iter()
                    .filter(|p| self.room_of(*p) == Some(&main))
                    .map(|p| (p, id.clone())),
            );
        }
        self.clock = BreakoutClock {
            closes_at: duration_ms.map(|d| now + d),
            warned: false,
            choosing: false,
            round: None,
        };
        self.relocate(moves, effects);
        self.announce_rooms(effects);
        Ok(())
    }

    pub(super) fn extend_timer(
        &mut self,
        secs: u64,
        now: Millis,
        effects: &mut Vec<Effect>,
    ) -> Outcome {
        let Some(closes_at) = self.clock.closes_at else {
            return Err((ErrorCode::Conflict, "no breakout timer is running"));
        };
        let add = check_secs(Some(secs))?.unwrap_or(0);
        if add == 0 {
            return Err((ErrorCode::BadRequest, "extend by at least one second"));
        }
        let closes_at = closes_at + add;
        self.clock.closes_at = Some(closes_at);
        if closes_at.saturating_sub(now) > self.config.breakout_warning_ms {
            self.clock.warned = false;
        } else if self.clock.warned {
            // Those already counting down need the new time.
            self.closing_notice(now, effects);
        }
        self.announce_rooms(effects);
        Ok(())
    }

    pub(super) fn closing_notice(&self, now: Millis, effects: &mut Vec<Effect>) {
        if let Some(closes_at) = self.clock.closes_at {
            effects.send(
                self.member_ids(),
                ServerMessage::BreakoutClosing {
                    closes_at,
                    seconds: closes_at.saturating_sub(now).div_ceil(1000),
                },
            );
        }
    }

    /// The breakout timer's part of a tick: the closing notice when it is due, then closing
    /// every breakout when the time is up.
    pub(super) fn breakout_tick(&mut self, now: Millis, effects: &mut Vec<Effect>) {
        let Some(closes_at) = self.clock.closes_at else {
            return;
        };
        if !self.clock.warned && now + self.config.breakout_warning_ms >= closes_at {
            self.clock.warned = true;
            self.closing_notice(now, effects);
        }
        if now >= closes_at {
            self.close_all(effects);
        }
    }

    pub(super) fn ask_help(
        &mut self,
        from: PeerId,
        now: Millis,
        effects: &mut Vec<Effect>,
    ) -> Outcome {
        let Some(room) = self.room_of(from).cloned() else {
            return Ok(());
        };
        // A mentor in a drop-in calls a host from anywhere, present or not: the partner hears
        // of it (`help.requested`) and pages its on-call staff.
        let on_call = self.config.kind == MeetingKind::DropIn && self.role_of(from) == Role::Mentor;
        if room.is_main() && !on_call {
            return Err((ErrorCode::Conflict, "help requests are for breakout rooms"));
        }
        let hosts = self.moderators();
        if hosts.is_empty() && !on_call {
            return Err((ErrorCode::NotFound, "no host is in the meeting right now"));
        }
        if let Some(asked) = self.rooms.get_mut(&room) {
            if asked
                .help_asked_at
                .is_some_and(|t| now < t.saturating_add(limits::HELP_REPEAT_MS))
            {
                // The hosts were told a moment ago: acknowledged, not repeated.
                return Ok(());
            }
            asked.help_asked_at = Some(now);
        }
        effects.send(
            hosts,
            ServerMessage::HelpRequested {
                from,
                room,
                ts: now,
            },
        );
        if on_call {
            self.person_event(from, EventKind::HelpRequested);
        }
        Ok(())
    }
}

/// A `split` request, unpacked.
pub(super) struct SplitRequest {
    pub(super) strategy: SplitStrategy,
    pub(super) count: Option<u32>,
    pub(super) rooms: Vec<BreakoutRoomSpec>,
    pub(super) topic: Option<String>,
    pub(super) duration_secs: Option<u64>,
    pub(super) spread_mentors: bool,
    pub(super) allow_solo: bool,
}

/// Seconds from a request, bounded, as milliseconds.
pub(super) fn check_secs(secs: Option<u64>) -> Result<Option<Millis>, Rejection> {
    match secs {
        Some(s) if s > limits::MAX_BREAKOUT_SECS => {
            Err((ErrorCode::BadRequest, "duration too long"))
        }
        other => Ok(other.map(|s| s * 1000)),
    }
}

pub(super) fn check_text(
    text: Option<&str>,
    max_chars: usize,
    why: &'static str,
) -> Result<Option<String>, Rejection> {
    match text.map(str::trim) {
        Some(t) if t.chars().count() > max_chars => Err((ErrorCode::TooLarge, why)),
        Some("") | None => Ok(None),
        Some(t) => Ok(Some(t.to_owned())),
    }
}
