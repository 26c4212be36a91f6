//! What every step must leave true: seats' views and tokens tracked from the effects, then the
//! invariants checked against them.

use super::super::core::Effect;
use super::model::{Model, Seat};
use super::ops::Op;
use super::MOVES;
use crate::protocol::{ChatMessage, PeerId, PeerLeftReason, ServerMessage};
use proptest::prelude::*;
use std::collections::{BTreeSet, HashMap};
use std::sync::atomic::Ordering;

impl Model {
    /// Records the frames each seat was sent, as its client would receive them.
    pub(super) fn track(&mut self, effects: &[Effect]) {
        for effect in effects {
            let Effect::Send { to, message } = effect else {
                continue;
            };
            match message {
                ServerMessage::Welcome {
                    resumed: false,
                    resume_token,
                    ..
                } => {
                    for r in to {
                        let seat = self.seats.entry(*r).or_default();
                        let mut spent = std::mem::take(&mut seat.spent);
                        if !seat.token.is_empty() {
                            spent.push(seat.token.clone());
                        }
                        *seat = Seat {
                            frames: vec![message.clone()],
                            min_delivered: 1,
                            token: resume_token.clone(),
                            spent,
                            ..Seat::default()
                        };
                    }
                }
                ServerMessage::RoomChanged { .. }
                | ServerMessage::Chat(ChatMessage { channel: None, .. }) => {
                    for r in to {
                        if let Some(seat) = self.seats.get_mut(r) {
                            seat.frames.push(message.clone());
                        }
                    }
                }
                _ => {}
            }
        }
        for seat in self.seats.values_mut() {
            if !seat.away {
                seat.delivered = seat.frames.len();
            }
        }
        let gone: Vec<PeerId> = self
            .seats
            .keys()
            .copied()
            .filter(|p| !self.meeting.contains(*p))
            .collect();
        for peer in gone {
            if let Some(seat) = self.seats.remove(&peer) {
                self.gone.push((peer, seat.token));
                self.gone
                    .extend(seat.spent.into_iter().map(|token| (peer, token)));
            }
        }
    }

    pub(super) fn check(
        &mut self,
        op: &Op,
        before: &BTreeSet<PeerId>,
        membership_may_change: bool,
        effects: &[Effect],
    ) -> Result<(), TestCaseError> {
        let m = &self.meeting;
        m.check_invariants().map_err(TestCaseError::fail)?;
        let after: BTreeSet<PeerId> = m.member_ids().into_iter().collect();
        if !membership_may_change {
            prop_assert_eq!(before, &after, "{:?} changed who is in the meeting", op);
        }
        let room_of = |p: &PeerId| m.room_of(*p).cloned();
        let mut first_seen: HashMap<PeerId, &ServerMessage> = HashMap::new();
        for effect in effects {
            let Effect::Send { to, message } = effect else {
                continue;
            };
            for r in to {
                prop_assert!(
                    after.contains(r) || m.is_waiting(*r) || m.is_agreeing(*r),
                    "delivery to a non-member {} ({:?})",
                    r,
                    message
                );
                // Held apart until they accept: the agreement and refusals, and nothing else —
                // no roster, chat, signal or data.
                if m.is_agreeing(*r) {
                    prop_assert!(
                        matches!(
                            message,
                            ServerMessage::AgreementRequired { .. } | ServerMessage::Error { .. }
                        ),
                        "{} got {:?} before accepting the agreement",
                        r,
                        message
                    );
                }
                // Room-scoped events only: meeting-wide notices may come first.
                if matches!(
                    message,
                    ServerMessage::Chat(ChatMessage { channel: None, .. })
                        | ServerMessage::Signal { .. }
                        | ServerMessage::Data { .. }
                        | ServerMessage::PeerJoined { .. }
                        | ServerMessage::PeerLeft { .. }
                        | ServerMessage::RoomChanged { .. }
                ) {
                    first_seen.entry(*r).or_insert(message);
                }
            }
            match message {
                // The staff back channel: hosts and cohosts only, never a participant.
                ServerMessage::Chat(c) if c.channel.is_some() => {
                    for r in to {
                        prop_assert!(
                            m.role(*r).is_some_and(|role| role.is_moderator()),
                            "staff chat reached {} ({:?})",
                            r,
                            m.role(*r)
                        );
                    }
                }
                ServerMessage::Chat(c) => {
                    match c.to {
                        None => {
                            for r in to {
                                prop_assert_eq!(
                                    room_of(r),
                                    Some(c.room.clone()),
                                    "group chat outside its room"
                                );
                            }
                        }
                        Some(dest) => {
                            // One copy to each of the two, never to anyone else.
                            prop_assert_eq!(to.len(), 1, "a private message to several");
                            prop_assert!(
                                to[0] == c.from || to[0] == dest,
                                "a private message to a third person"
                            );
                        }
                    }
                    if c.to.is_none() {
                        // Group messages of a room count 1, 2, 3… without gaps.
                        let last = self.last_seq.entry(c.room.clone()).or_insert(0);
                        prop_assert_eq!(c.seq, *last + 1, "seq gap or repeat in {}", c.room);
                        *last = c.seq;
                    } else {
                        prop_assert_eq!(c.seq, 0, "a private message took a group seq");
                    }
                }
                ServerMessage::Signal { from, .. } | ServerMessage::Data { from, .. } => {
                    for r in to {
                        prop_assert_eq!(room_of(r), room_of(from), "signal/data across rooms");
                    }
                }
                ServerMessage::PeerJoined { peer } => {
                    for r in to {
                        prop_assert_eq!(
                            room_of(r),
                            room_of(&peer.id),
                            "peer_joined to another room"
                        );
                    }
                }
                ServerMessage::PeerLeft {
                    id,
                    reason: PeerLeftReason::Moved | PeerLeftReason::SteppedOut,
                } => {
                    for r in to {
                        prop_assert_ne!(
                            room_of(r),
                            room_of(id),
                            "peer_left(moved) to the peer's new room"
                        );
                    }
                }
                ServerMessage::RoomChanged { room, peers, .. } => {
                    MOVES.fetch_add(to.len(), Ordering::Relaxed);
                    let listed: BTreeSet<PeerId> = peers.iter().map(|p| p.id).collect();
                    let actual: BTreeSet<PeerId> = m.room_members(room).into_iter().collect();
                    prop_assert_eq!(listed, actual);
                    for r in to {
                        prop_assert_eq!(room_of(r), Some(room.clone()));
                        prop_assert!(
                            matches!(first_seen.get(r), Some(ServerMessage::RoomChanged { .. })),
                            "an event of the room came before room_changed"
                        );
                    }
                }
                _ => {}
            }
        }
        let merged = matches!(
            op,
            Op::MergeAll {
                countdown: None | Some(0),
                ..
            } | Op::MergeSome { .. }
                | Op::Tick(_)
        );
        let acked = effects.iter().any(|e| {
            matches!(
                e,
                Effect::Send {
                    message: ServerMessage::Ack { .. },
                    ..
                }
            )
        });
        if merged && (acked || matches!(op, Op::Tick(_))) {
            for room in m.room_ids().iter().filter(|r| !r.is_main()) {
                if matches!(op, Op::MergeAll { .. }) {
                    prop_assert!(false, "breakout {} left after merging all", room);
                }
                if matches!(op, Op::MergeSome { .. }) {
                    prop_assert!(
                        !m.room_members(room).is_empty(),
                        "empty room {} lingers after a merge",
                        room
                    );
                }
            }
        }
        Ok(())
    }
}
