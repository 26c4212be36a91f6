//! What of a meeting outlives its node in cluster mode (PROTOCOL.md "Cluster mode"): the facts a
//! new owner must not forget (ended, bans, roles a host gave, lock, waiting room), the open
//! rooms, and the seats, so that people who resume on the new owner keep their peer id, their
//! room and their resume token. Chat history, raised hands, the waiting list and notices owed
//! to held seats are not kept: they are lost with the node, as PROTOCOL.md says.

use super::{Identity, Meeting, Member, Millis, Room};
use crate::protocol::{PeerId, Role, RoomId};
use serde::{Deserialize, Serialize};

/// A meeting's durable record, as the owner writes it to Redis after each change.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Durable {
    ended: bool,
    /// A session is running (`meeting.started` was sent): the next owner owes its
    /// `meeting.ended`, and sends no second `meeting.started`.
    #[serde(default)]
    started: bool,
    /// The breakout rooms' deadline (and whether its notice went out), the choosing mode and
    /// the rotation round.
    #[serde(default)]
    clock: super::BreakoutClock,
    /// Resume tokens minted so far: a seat missing from this record whose token was minted
    /// before (a lower number) was vacated before the record was written.
    #[serde(default)]
    mints: u64,
    banned: Vec<String>,
    roles: Vec<(String, Role)>,
    locked: bool,
    lobby_enabled: bool,
    room_counter: u64,
    rooms: Vec<RoomRecord>,
    seats: Vec<Seat>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct RoomRecord {
    id: RoomId,
    order: u64,
    name: String,
    topic: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Seat {
    peer: PeerId,
    sub: String,
    name: String,
    role: Role,
    room: RoomId,
    /// The seat's resume token: with it (and the same person's login) the seat is taken back on
    /// whichever node owns the meeting next. Redis is the cluster's own store; a token alone
    /// takes nothing (the hello's login must be the seat's person's too).
    token: String,
    joined_at: Millis,
}

impl Meeting {
    /// The durable record of this meeting now (sorted, so equal meetings give equal records and
    /// the owner writes only changes).
    pub fn durable(&self) -> Durable {
        let mut banned: Vec<String> = self.banned.iter().cloned().collect();
        banned.sort();
        let mut roles: Vec<(String, Role)> = self
            .assigned_roles
            .iter()
            .map(|(sub, role)| (sub.clone(), *role))
            .collect();
        roles.sort_by(|a, b| a.0.cmp(&b.0));
        Durable {
            ended: self.ended_at.is_some(),
            started: self.started,
            clock: self.clock.clone(),
            mints: self.mints,
            banned,
            roles,
            locked: self.locked,
            lobby_enabled: self.lobby_enabled,
            room_counter: self.room_counter,
            // Private (pull-aside) rooms are not kept: their two people come back to where they
            // were before, the main room.
            rooms: self
                .rooms
                .iter()
                .filter(|(id, room)| **id != RoomId::main() && !room.private)
                .map(|(id, room)| RoomRecord {
                    id: id.clone(),
                    order: room.order,
                    name: room.name.clone(),
                    topic: room.topic.clone(),
                })
                .collect(),
            seats: self
                .members
                .iter()
                .map(|(peer, m)| Seat {
                    peer: *peer,
                    sub: m.identity.sub.clone(),
                    name: m.identity.name.clone(),
                    role: m.identity.role,
                    room: m.room.clone(),
                    token: m.resume_token.clone(),
                    joined_at: m.joined_at,
                })
                .collect(),
        }
    }

    /// Starts this (fresh) meeting from the record a node that owned it before wrote: every seat
    /// is held for a resume, for the usual grace, as if its connection had just dropped.
    pub fn restore(mut self, record: Durable, now: Millis) -> Self {
        self.now = now;
        self.recoverable = Some((record.mints, now));
        self.mints = record.mints;
        self.banned = record.banned.into_iter().collect();
        self.assigned_roles = record.roles.into_iter().collect();
        self.locked = record.locked;
        self.lobby_enabled = record.lobby_enabled;
        self.started = record.started;
        self.clock = record.clock;
        self.room_counter = self.room_counter.max(record.room_counter);
        if record.ended {
            self.ended_at = Some(now);
        }
        for room in record.rooms {
            self.rooms
                .entry(room.id)
                .or_insert_with(|| Room::new(room.order, room.name, room.topic));
        }
        let grace = self.config.resume_grace_ms;
        for seat in record.seats {
            let room = if self.rooms.contains_key(&seat.room) {
                seat.room
            } else {
                RoomId::main()
            };
            let identity = Identity {
                sub: seat.sub,
                name: seat.name,
                role: seat.role,
            };
            let mut member = Member::new(identity, room.clone(), seat.token, now);
            member.joined_at = seat.joined_at;
            if let Some(r) = self.rooms.get_mut(&room) {
                r.members.insert(seat.peer);
            }
            self.members.insert(seat.peer, member);
            self.held.hold(seat.peer, now.saturating_add(grace));
        }
        self
    }

    /// The highest peer id among the seats, so a node that restores them hands out none of
    /// those ids again.
    pub fn highest_peer(&self) -> Option<PeerId> {
        self.members.keys().next_back().copied()
    }
}

#[cfg(test)]
mod tests {
    use super::super::harness::{
        join, meeting, refused_as_expired, request, resume, resume_token, sent_to, welcome_of,
    };
    use super::super::{MeetingConfig, ResumeKey};
    use super::*;
    use crate::protocol::{ClientMessage, ServerMessage};

    /// A node takes a meeting over from another's record: the seats are held with their peer ids
    /// and tokens, a ban and the lock hold, and a person resumes with the same id.
    #[test]
    fn a_restored_meeting_holds_every_seat_and_keeps_its_bans() {
        let mut old = meeting();
        join(&mut old, 1, Role::Host);
        let effects = join(&mut old, 2, Role::Participant);
        let token = resume_token(&effects, 2);
        join(&mut old, 3, Role::Participant);
        request(
            &mut old,
            1,
            ClientMessage::Remove {
                peer: PeerId(3),
                ban: true,
            },
        );
        request(&mut old, 1, ClientMessage::Lock { locked: true });
        let record = old.durable();
        // Round trip through JSON, as through Redis.
        let text = serde_json::to_string(&record).unwrap();
        let record: Durable = serde_json::from_str(&text).unwrap();

        let mut new = meeting().restore(record.clone(), 100);
        new.check_invariants().unwrap();
        assert_eq!(
            new.away_until(PeerId(1)),
            Some(100 + new.config.resume_grace_ms)
        );
        assert_eq!(
            new.away_until(PeerId(2)),
            Some(100 + new.config.resume_grace_ms)
        );
        assert!(new.banned.contains("s3"));
        assert!(new.locked);
        assert!(
            new.started,
            "the session goes on: no second meeting.started"
        );
        // The restored meeting's record is the one it started from.
        assert_eq!(new.durable(), record);

        let effects = resume(&mut new, 9, "s2", &token, None, 0, 200);
        match welcome_of(&effects, 2) {
            Some(ServerMessage::Welcome { you, resumed, .. }) => {
                assert_eq!(you.id, PeerId(2));
                assert!(resumed);
            }
            other => panic!("no resumed welcome: {other:?}"),
        }
        assert_eq!(new.away_until(PeerId(2)), None);
    }

    /// Cluster mode: the previous owner died before the record with person 2's seat landed. The
    /// next owner gives the seat back from the self-verifying token, with the same peer id; a
    /// token of someone else's, a tampered or expired one, and a meeting without the cluster's
    /// key give nothing.
    #[test]
    fn a_seat_the_record_lost_comes_back_from_its_self_verifying_token() {
        let key = ResumeKey::derive(b"the cluster secret of this test");
        let config = |key: Option<ResumeKey>| MeetingConfig {
            max_members: 4,
            resume_key: key,
            ..MeetingConfig::default()
        };
        let mut old = Meeting::new("m", config(Some(key.clone())), 7);
        let host_token = resume_token(&join(&mut old, 1, Role::Host), 1);
        let record = old.durable(); // the last write that landed
        let token = resume_token(&join(&mut old, 2, Role::Participant), 2);
        assert!(token.starts_with("2."), "names its seat: {token}");

        let restored = |key| Meeting::new("m", config(key), 8).restore(record.clone(), 100);
        let mut new = restored(Some(key.clone()));
        let host_back = resume(&mut new, 8, "s1", &host_token, None, 0, 150);
        assert!(
            welcome_of(&host_back, 1).is_some(),
            "the host's seat was in the record"
        );
        assert!(
            refused_as_expired(&resume(&mut new, 9, "s3", &token, None, 0, 200)),
            "another person's token"
        );
        let mut tampered = token.clone();
        tampered.replace_range(0..1, "3");
        assert!(
            refused_as_expired(&resume(&mut new, 9, "s2", &tampered, None, 0, 200)),
            "another seat named"
        );
        let effects = resume(&mut new, 9, "s2", &token, None, 0, 200);
        match welcome_of(&effects, 2) {
            Some(ServerMessage::Welcome {
                you, resumed, room, ..
            }) => {
                assert_eq!(you.id, PeerId(2), "the same peer id");
                assert!(resumed);
                assert_eq!(room, crate::protocol::RoomId::main());
            }
            other => panic!("no resumed welcome: {other:?}"),
        }
        assert!(
            sent_to(&effects, 1)
                .iter()
                .any(|m| matches!(m, ServerMessage::PeerJoined { peer } if peer.id == PeerId(2))),
            "the host never knew of the seat here: it is a newcomer to them"
        );
        new.check_invariants().unwrap();
        // The seat is taken: its old token does nothing more.
        assert!(refused_as_expired(&resume(
            &mut new, 10, "s2", &token, None, 0, 300
        )));

        // No key (one hub, no cluster): nothing is given back.
        let mut plain = restored(None);
        assert!(refused_as_expired(&resume(
            &mut plain, 9, "s2", &token, None, 0, 200
        )));
        // A day later, the token has run out.
        let mut late = restored(Some(key.clone()));
        let day = 24 * 3600 * 1000;
        assert!(refused_as_expired(&resume(
            &mut late,
            9,
            "s2",
            &token,
            None,
            0,
            day + 2
        )));
        // Another cluster's key: refused.
        let mut other = restored(Some(ResumeKey::derive(b"another cluster")));
        assert!(refused_as_expired(&resume(
            &mut other, 9, "s2", &token, None, 0, 200
        )));
    }

    /// A seat vacated before the last record write that landed (a leave, a removal) stays
    /// vacated on the next owner, though its token is still within its day.
    #[test]
    fn a_seat_vacated_before_the_last_record_stays_vacated() {
        let key = ResumeKey::derive(b"the cluster secret of this test");
        let config = || MeetingConfig {
            max_members: 4,
            resume_key: Some(key.clone()),
            ..MeetingConfig::default()
        };
        let mut old = Meeting::new("m", config(), 7);
        join(&mut old, 1, Role::Host);
        let token = resume_token(&join(&mut old, 2, Role::Participant), 2);
        old.handle(
            super::super::Input::Leave {
                peer: PeerId(2),
                reason: crate::protocol::PeerLeftReason::Removed,
            },
            5,
        );
        let mut new = Meeting::new("m", config(), 8).restore(old.durable(), 100);
        assert!(refused_as_expired(&resume(
            &mut new, 9, "s2", &token, None, 0, 200
        )));
    }

    /// A token this owner minted itself never re-creates a seat: a person who left is gone.
    #[test]
    fn a_token_minted_after_the_takeover_does_not_bring_back_a_seat_that_left() {
        let key = ResumeKey::derive(b"the cluster secret of this test");
        let config = MeetingConfig {
            max_members: 4,
            resume_key: Some(key),
            ..MeetingConfig::default()
        };
        let mut m = Meeting::new("m", config, 7).restore(meeting().durable(), 0);
        join(&mut m, 1, Role::Host);
        let token = resume_token(&join(&mut m, 2, Role::Participant), 2);
        m.handle(
            super::super::Input::Leave {
                peer: PeerId(2),
                reason: crate::protocol::PeerLeftReason::Left,
            },
            5,
        );
        assert!(refused_as_expired(&resume(
            &mut m, 9, "s2", &token, None, 0, 10
        )));
    }

    /// The breakout deadline survives the owner: the next one closes the rooms when due.
    #[test]
    fn a_restored_meeting_closes_its_breakouts_when_they_were_due() {
        let mut old = meeting();
        join(&mut old, 1, Role::Host);
        join(&mut old, 2, Role::Participant);
        join(&mut old, 3, Role::Participant);
        request(&mut old, 1, super::super::harness::split_even(2, Some(600)));
        assert!(old.has_breakouts());
        let record = old.durable();
        let text = serde_json::to_string(&record).unwrap();
        let record: Durable = serde_json::from_str(&text).unwrap();
        // Seats held long, so that only the timer can close the rooms.
        let config = MeetingConfig {
            max_members: 4,
            resume_grace_ms: 3_600_000,
            ..MeetingConfig::default()
        };
        let mut new = Meeting::new("m", config, 8).restore(record, 100);
        assert!(new.has_breakouts());
        let mut ticks = 0;
        while let Some(due) = new.next_deadline().filter(|d| *d <= 700_000) {
            new.handle(super::super::Input::Tick, due);
            ticks += 1;
            assert!(ticks < 10, "a deadline that does not move: {due}");
        }
        assert!(!new.has_breakouts(), "closed when due, by the next owner");
        assert_eq!(new.members.len(), 3, "nobody's seat went");
        new.check_invariants().unwrap();
    }
}
