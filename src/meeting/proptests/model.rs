//! The model: the meeting under test, each seat's view as its client builds it, and one step of
//! the test (an operation applied, with what must be true right after it).

use super::super::core::harness::named;
use super::super::core::{Effect, Input, Meeting, Millis};
use super::ops::{Op, ROLES, STRATEGIES};
use super::RESUMES;
use crate::protocol::{
    BreakoutRoomSpec, ChatMessage, ClientMessage, ErrorCode, PeerId, PeerLeftReason, Refusal,
    ResumeRequest, Role, RoomId, ServerMessage, SplitStrategy,
};
use proptest::prelude::*;
use std::collections::{BTreeSet, HashMap};
use std::sync::atomic::Ordering;

/// A client's chat view: its room and the chat ids it shows, folded from the frames it got
/// exactly as the SDK does (welcome and room_changed replace, chat appends).
#[derive(Debug, Clone, Default)]
pub(super) struct View {
    pub(super) room: Option<RoomId>,
    pub(super) chat: Vec<Shown>,
    /// The highest private id ever received: a client keeps it across room changes (which
    /// replace the shown log with the room's history), since its private series is its own.
    pub(super) last_private: u64,
}

/// A chat message as a client shows it: when, and which series (group or the client's own
/// private one) and id.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Shown {
    pub(super) ts: u64,
    pub(super) private: bool,
    pub(super) id: u64,
}

impl Shown {
    fn of(message: &ChatMessage) -> Self {
        Shown {
            ts: message.ts,
            private: message.to.is_some(),
            id: message.id,
        }
    }
}

impl View {
    pub(super) fn apply(&mut self, message: &ServerMessage) {
        match message {
            ServerMessage::Welcome { room, chat, .. }
            | ServerMessage::RoomChanged { room, chat, .. } => {
                self.room = Some(room.clone());
                self.chat = chat.iter().map(Shown::of).collect();
                self.note_private(chat.iter());
            }
            ServerMessage::Chat(c) => {
                self.chat.push(Shown::of(c));
                self.note_private(std::iter::once(c));
            }
            _ => {}
        }
    }

    fn note_private<'a>(&mut self, chat: impl Iterator<Item = &'a ChatMessage>) {
        for c in chat.filter(|c| c.to.is_some()) {
            self.last_private = self.last_private.max(c.id);
        }
    }

    /// The highest id the view shows of one series (0 if none), as `hello.resume` names it.
    pub(super) fn last(&self, private: bool) -> u64 {
        self.chat
            .iter()
            .filter(|s| s.private == private)
            .map(|s| s.id)
            .max()
            .unwrap_or(0)
    }

    /// In order: by time, each series by id, nothing twice.
    pub(super) fn in_order(&self) -> bool {
        let by_time = self.chat.windows(2).all(|w| w[0].ts <= w[1].ts);
        let series = [false, true].iter().all(|&private| {
            let ids: Vec<u64> = self
                .chat
                .iter()
                .filter(|s| s.private == private)
                .map(|s| s.id)
                .collect();
            ids.windows(2).all(|w| w[0] < w[1])
        });
        by_time && series
    }
}

/// One seat as its client sees it: a base view plus the frames addressed to the seat since.
#[derive(Debug, Clone, Default)]
pub(super) struct Seat {
    pub(super) base: View,
    pub(super) frames: Vec<ServerMessage>,
    /// How many of `frames` the current connection received (all of them while connected).
    pub(super) delivered: usize,
    /// Fewest frames a drop can leave delivered (the welcome itself, which holds the token).
    pub(super) min_delivered: usize,
    pub(super) away: bool,
    /// The resume token of the latest welcome.
    pub(super) token: String,
    /// Tokens given out before, now spent.
    pub(super) spent: Vec<String>,
}

impl Seat {
    pub(super) fn view(&self, upto: usize) -> View {
        let mut view = self.base.clone();
        for frame in &self.frames[..upto] {
            view.apply(frame);
        }
        view
    }
}

pub(super) struct Model {
    pub(super) meeting: Meeting,
    pub(super) seats: HashMap<PeerId, Seat>,
    /// Tokens of seats that are gone (left, removed, timed out): never valid again.
    pub(super) gone: Vec<(PeerId, String)>,
    pub(super) now: Millis,
    pub(super) next_peer: u64,
    pub(super) last_seq: HashMap<RoomId, u64>,
    /// Subs removed with a ban.
    pub(super) banned: Vec<String>,
}

impl Model {
    fn pick(&self, i: usize) -> Option<PeerId> {
        let ids = self.meeting.member_ids();
        (!ids.is_empty()).then(|| ids[i % ids.len()])
    }

    /// Mostly a host or cohost (so actions succeed and move people), sometimes anyone (so
    /// refusals are exercised too).
    fn pick_by(&self, i: usize) -> Option<PeerId> {
        let moderators: Vec<PeerId> = self
            .meeting
            .member_ids()
            .into_iter()
            .filter(|p| self.meeting.role(*p).is_some_and(Role::is_moderator))
            .collect();
        if i.is_multiple_of(5) || moderators.is_empty() {
            self.pick(i)
        } else {
            Some(moderators[i % moderators.len()])
        }
    }

    fn pick_room(&self, i: usize) -> RoomId {
        let rooms = self.meeting.room_ids();
        rooms[i % rooms.len()].clone()
    }

    fn request(&mut self, from: Option<PeerId>, message: ClientMessage) -> Vec<Effect> {
        match from {
            Some(from) => self.meeting.handle(
                Input::Request {
                    from,
                    id: Some(1),
                    message,
                },
                self.now,
            ),
            None => Vec::new(),
        }
    }

    pub(super) fn step(&mut self, op: &Op) -> Result<(), TestCaseError> {
        let before_members: BTreeSet<PeerId> = self.meeting.member_ids().into_iter().collect();
        // Ticks end held seats whose grace is over.
        let membership_may_change = matches!(
            op,
            Op::Agreement { .. }
                | Op::Accept(_)
                | Op::Join(_)
                | Op::Leave(_)
                | Op::Remove { .. }
                | Op::Lobby { .. }
                | Op::Admit { .. }
                | Op::Tick(_)
                | Op::End(_)
        );
        let effects = match op.clone() {
            Op::Join(role) => {
                self.next_peer += 1;
                let peer = PeerId(self.next_peer);
                let role = ROLES[role as usize];
                let identity = named(format!("s{}", peer.0), "N", role);
                let ended = self.meeting.is_ended();
                let effects = self
                    .meeting
                    .handle(Input::Join { peer, identity }, self.now);
                if ended && !role.is_moderator() {
                    prop_assert!(!self.meeting.contains(peer) && !self.meeting.is_waiting(peer));
                    prop_assert!(self.meeting.is_ended(), "a participant restarted a meeting");
                }
                effects
            }
            Op::Hand { who, raised, by } => {
                let Some(who) = self.pick(who) else {
                    return Ok(());
                };
                let (from, peer) = match by {
                    Some(by) => (self.pick_by(by), Some(who)),
                    None => (Some(who), None),
                };
                let effects = self.request(from, ClientMessage::RaiseHand { raised, peer });
                let acked = effects.iter().any(|e| {
                    matches!(
                        e,
                        Effect::Send {
                            message: ServerMessage::Ack { .. },
                            ..
                        }
                    )
                });
                if acked {
                    let want = raised && (peer.is_none() || from == Some(who));
                    let shown = self
                        .meeting
                        .member_ids()
                        .contains(&who)
                        .then(|| self.meeting.hand_raised(who));
                    prop_assert_eq!(shown, Some(want), "hand state after {:?}", op);
                }
                effects
            }
            Op::End(by) => {
                if !by.is_multiple_of(4) {
                    // Rarer than other actions: an ended meeting starts over, which would cut
                    // most sequences short before they reach deep states.
                    return Ok(());
                }
                let effects = self.request(self.pick_by(by), ClientMessage::EndMeeting {});
                if self.meeting.is_ended() {
                    prop_assert_eq!(
                        self.meeting.member_count(),
                        0,
                        "people left in an ended meeting"
                    );
                    prop_assert_eq!(self.meeting.room_ids(), vec![RoomId::main()]);
                    // The next session's main room counts from 1 again.
                    self.last_seq.clear();
                }
                effects
            }
            Op::Rejoin(i) => match self.pick(i) {
                Some(seat) => {
                    self.next_peer += 1;
                    let identity = named(format!("s{}", seat.0), "N2", Role::Participant);
                    let room = self.meeting.room_of(seat).cloned();
                    let effects = self.meeting.handle(
                        Input::Join {
                            peer: PeerId(self.next_peer),
                            identity,
                        },
                        self.now,
                    );
                    let takeover = Effect::TakeOver {
                        seat,
                        by: PeerId(self.next_peer),
                    };
                    prop_assert!(effects.contains(&takeover), "no takeover effect");
                    prop_assert_eq!(
                        self.meeting.room_of(seat).cloned(),
                        room,
                        "a takeover keeps the room"
                    );
                    effects
                }
                None => Vec::new(),
            },
            Op::Remove { by, who, ban } => {
                let (Some(by), Some(who)) = (self.pick_by(by), self.pick(who)) else {
                    return Ok(());
                };
                let sub = format!("s{}", who.0);
                let effects = self.request(Some(by), ClientMessage::Remove { peer: who, ban });
                let removed = !self.meeting.contains(who);
                if removed {
                    let close = Effect::Close {
                        peer: who,
                        code: crate::protocol::CloseCode::Removed,
                    };
                    prop_assert!(effects.contains(&close), "removed without a close");
                    if ban {
                        self.banned.push(sub);
                    }
                }
                effects
            }
            Op::ReturnBanned(i) => {
                if self.banned.is_empty() {
                    return Ok(());
                }
                let sub = self.banned[i % self.banned.len()].clone();
                self.next_peer += 1;
                let peer = PeerId(self.next_peer);
                let identity = named(sub, "again", Role::Participant);
                let effects = self
                    .meeting
                    .handle(Input::Join { peer, identity }, self.now);
                prop_assert!(!self.meeting.contains(peer), "a banned person rejoined");
                let refused = matches!(effects.first(), Some(Effect::Refuse { .. }));
                prop_assert!(refused, "a banned join was not refused");
                effects
            }
            Op::PullAside { by, who } => {
                let (Some(by), Some(who)) = (self.pick_by(by), self.pick(who)) else {
                    return Ok(());
                };
                let effects = self.request(Some(by), ClientMessage::PullAside { peer: who });
                let acked = effects.iter().any(|e| {
                    matches!(
                        e,
                        Effect::Send {
                            message: ServerMessage::Ack { .. },
                            ..
                        }
                    )
                });
                if acked {
                    // Together, in a room nobody else can see (a second moderator may join
                    // someone's private conversation).
                    let room = self.meeting.room_of(by).cloned();
                    prop_assert_eq!(room.clone(), self.meeting.room_of(who).cloned());
                    let room = room.unwrap_or_else(RoomId::main);
                    prop_assert!(self.meeting.room_members(&room).len() >= 2);
                    prop_assert!(
                        !self.meeting.room_ids().contains(&room),
                        "a private room is listed"
                    );
                }
                effects
            }
            Op::EndAside(i) => {
                let peer = if i % 2 == 0 { self.pick(i / 2) } else { None };
                self.request(self.pick_by(i), ClientMessage::EndAside { peer })
            }
            Op::Lobby { by, enabled } => {
                self.request(self.pick_by(by), ClientMessage::SetLobby { enabled })
            }
            Op::Admit { by, who } | Op::Deny { by, who } => {
                let waiting = self.meeting.waiting_ids();
                let peer =
                    who.and_then(|w| (!waiting.is_empty()).then(|| waiting[w % waiting.len()]));
                let message = if matches!(op, Op::Admit { .. }) {
                    ClientMessage::Admit { peer }
                } else {
                    ClientMessage::Deny { peer }
                };
                let effects = self.request(self.pick_by(by), message);
                for p in &waiting {
                    // Nobody is both waiting and admitted; a denied person is gone.
                    prop_assert!(!(self.meeting.is_waiting(*p) && self.meeting.contains(*p)));
                }
                effects
            }
            Op::Leave(i) => match self.pick(i) {
                Some(peer) => self.meeting.handle(
                    Input::Leave {
                        peer,
                        reason: PeerLeftReason::Left,
                    },
                    self.now,
                ),
                None => Vec::new(),
            },
            Op::Split {
                strategy,
                count,
                duration,
                spread,
                by,
            } => {
                let strategy = STRATEGIES[strategy as usize];
                let mut rooms = Vec::new();
                if strategy == SplitStrategy::Manual {
                    let n = count.max(1) as usize;
                    rooms = vec![BreakoutRoomSpec::default(); n];
                    for (k, p) in self
                        .meeting
                        .room_members(&RoomId::main())
                        .into_iter()
                        .enumerate()
                    {
                        if k % 3 != 0 {
                            rooms[k % n].members.push(p);
                        }
                    }
                }
                // Rooms of one only when asked (a quarter of the splits ask).
                let solo = count % 4 == 3;
                let message = ClientMessage::Split {
                    strategy,
                    count: (strategy != SplitStrategy::Manual).then_some(count as u32),
                    rooms,
                    topic: Some("icebreaker".into()),
                    duration_secs: duration.map(u64::from),
                    spread_mentors: Some(spread),
                    allow_solo: Some(solo),
                };
                let main = RoomId::main();
                let dealt = self
                    .meeting
                    .room_members(&main)
                    .into_iter()
                    .filter(|p| {
                        matches!(
                            self.meeting.role(*p),
                            Some(Role::Participant | Role::Mentor)
                        )
                    })
                    .count();
                let had_breakouts = self.meeting.room_ids().len() > 1;
                let effects = self.request(self.pick_by(by), message);
                let dealing = matches!(strategy, SplitStrategy::Even | SplitStrategy::Random);
                if dealing && !solo && !had_breakouts && dealt >= 2 {
                    for room in self.meeting.room_ids().into_iter().filter(|r| *r != main) {
                        prop_assert_ne!(
                            self.meeting.room_members(&room).len(),
                            1,
                            "{:?} split {} people into rooms with someone alone",
                            strategy,
                            dealt
                        );
                    }
                }
                effects
            }
            Op::Move { by, who, room } => {
                let (Some(by), Some(peer)) = (self.pick_by(by), self.pick(who)) else {
                    return Ok(());
                };
                let room = self.pick_room(room);
                self.request(Some(by), ClientMessage::Move { peer, room })
            }
            Op::Swap { by, a, b } => {
                let (Some(by), Some(a), Some(b)) = (self.pick_by(by), self.pick(a), self.pick(b))
                else {
                    return Ok(());
                };
                self.request(Some(by), ClientMessage::Swap { a, b })
            }
            Op::Visit { by, room } => {
                let room = self.pick_room(room);
                self.request(self.pick_by(by), ClientMessage::Visit { room })
            }
            Op::Choose { who, room } => {
                let room = self.pick_room(room);
                self.request(self.pick(who), ClientMessage::ChooseRoom { room })
            }
            Op::MergeAll { by, countdown } => {
                let message = ClientMessage::Merge {
                    countdown_secs: countdown.map(u64::from),
                    rooms: vec![],
                };
                self.request(self.pick_by(by), message)
            }
            Op::MergeSome { by, rooms } => {
                let rooms = rooms.iter().map(|&r| self.pick_room(r)).collect();
                self.request(
                    self.pick_by(by),
                    ClientMessage::Merge {
                        countdown_secs: None,
                        rooms,
                    },
                )
            }
            Op::Extend { by, secs } => self.request(
                self.pick_by(by),
                ClientMessage::ExtendTimer { secs: secs as u64 },
            ),
            Op::Reopen { by } => self.request(
                self.pick_by(by),
                ClientMessage::Reopen {
                    duration_secs: None,
                },
            ),
            Op::Tick(ms) => {
                self.now += ms as u64;
                self.meeting.handle(Input::Tick, self.now)
            }
            Op::Chat { who, to } => {
                // A group message now and then goes on the staff channel instead: refused
                // unless a host or cohost sends it, and never delivered to anyone else.
                let staff = to.is_none() && who % 3 == 0;
                let to = to.and_then(|t| self.pick(t));
                self.request(
                    self.pick(who),
                    ClientMessage::Chat {
                        text: "hi".into(),
                        to,
                        channel: staff.then_some(crate::protocol::ChatChannel::Staff),
                    },
                )
            }
            Op::Signal { who, to } => {
                let Some(to) = self.pick(to) else {
                    return Ok(());
                };
                self.request(
                    self.pick(who),
                    ClientMessage::Signal {
                        to,
                        data: serde_json::json!({"candidate": "c"}).into(),
                    },
                )
            }
            Op::AskHelp(who) => self.request(self.pick(who), ClientMessage::AskHelp {}),
            Op::Agreement { by, on } => {
                let text = if on {
                    "What is said here stays here."
                } else {
                    ""
                };
                self.request(
                    self.pick_by(by),
                    ClientMessage::SetAgreement { text: text.into() },
                )
            }
            Op::Accept(who) => {
                let reading = self.meeting.agreeing_ids();
                let (Some(version), false) = (self.meeting.agreement_version(), reading.is_empty())
                else {
                    return Ok(());
                };
                let peer = reading[who % reading.len()];
                self.request(Some(peer), ClientMessage::AcceptAgreement { version })
            }
            Op::Broadcast(who) => self.request(
                self.pick(who),
                ClientMessage::Broadcast {
                    text: "back in 1 min".into(),
                    room: None,
                },
            ),
            Op::Drop { who, lost } => {
                let Some(peer) = self.pick(who) else {
                    return Ok(());
                };
                if let Some(seat) = self.seats.get_mut(&peer) {
                    if !seat.away {
                        seat.away = true;
                        seat.delivered = seat
                            .frames
                            .len()
                            .saturating_sub(lost as usize)
                            .max(seat.min_delivered);
                    }
                }
                let effects = self.meeting.handle(Input::Dropped { peer }, self.now);
                prop_assert!(self.meeting.is_away(peer), "a dropped seat is not held");
                effects
            }
            Op::Resume(i) => {
                let away: Vec<PeerId> = self
                    .meeting
                    .member_ids()
                    .into_iter()
                    .filter(|p| self.meeting.is_away(*p))
                    .collect();
                if away.is_empty() {
                    return Ok(());
                }
                let peer = away[i % away.len()];
                let Some(seat) = self.seats.get(&peer).cloned() else {
                    return Ok(());
                };
                let expired = self.meeting.away_until(peer).is_some_and(|t| t <= self.now);
                let before = seat.view(seat.delivered);
                let ideal = seat.view(seat.frames.len());
                self.next_peer += 1;
                let by = PeerId(self.next_peer);
                let effects = self.meeting.handle(
                    Input::Resume {
                        peer: by,
                        identity: named(format!("s{}", peer.0), "N3", Role::Participant),
                        resume: ResumeRequest {
                            token: seat.token.clone(),
                            room: before.room.clone(),
                            last_chat: before.last(false),
                            last_private: before.last_private,
                        },
                    },
                    self.now,
                );
                if expired {
                    // The grace is over even if no tick has given up the seat yet.
                    let refused = matches!(
                        effects.as_slice(),
                        [Effect::Refuse {
                            refusal: Refusal {
                                error: Some(ErrorCode::ResumeExpired),
                                ..
                            },
                            ..
                        }]
                    );
                    prop_assert!(refused, "a late resume was not refused: {:?}", effects);
                    prop_assert!(self.meeting.is_away(peer));
                    return Ok(());
                }
                prop_assert!(
                    effects.contains(&Effect::TakeOver { seat: peer, by }),
                    "resume within the grace did not take the seat back: {:?}",
                    effects
                );
                prop_assert!(!self.meeting.is_away(peer));
                let welcome = effects.iter().find_map(|e| match e {
                    Effect::Send { to, message } if to == &vec![peer] => match message {
                        ServerMessage::Welcome { resumed: true, .. } => Some(message.clone()),
                        _ => None,
                    },
                    _ => None,
                });
                let Some(ServerMessage::Welcome {
                    room,
                    chat,
                    resume_token,
                    you,
                    ..
                }) = welcome
                else {
                    return Err(TestCaseError::fail("no resumed welcome"));
                };
                prop_assert_eq!(you.id, peer, "a resume keeps the peer id");
                prop_assert_eq!(Some(&room), self.meeting.room_of(peer), "resumed elsewhere");
                prop_assert_eq!(
                    Some(&room),
                    ideal.room.as_ref(),
                    "resumed view in another room"
                );
                let mut after = before.clone();
                let replayed: Vec<Shown> = chat.iter().map(Shown::of).collect();
                let mut after_private = before.last_private;
                for c in chat.iter().filter(|c| c.to.is_some()) {
                    after_private = after_private.max(c.id);
                }
                after.last_private = after_private;
                if before.room.as_ref() == Some(&room) {
                    after.chat.extend(replayed);
                } else {
                    after.room = Some(room);
                    after.chat = replayed;
                }
                prop_assert!(
                    after.in_order(),
                    "a resumed view shows a message twice or out of order: {:?}",
                    after.chat
                );
                for shown in &ideal.chat {
                    prop_assert!(
                        after
                            .chat
                            .iter()
                            .any(|s| s.private == shown.private && s.id == shown.id),
                        "resume missed chat {:?}: ideal {:?}, resumed {:?}",
                        shown,
                        ideal.chat,
                        after.chat
                    );
                }
                RESUMES.fetch_add(1, Ordering::Relaxed);
                let seat = self.seats.entry(peer).or_default();
                seat.spent
                    .push(std::mem::replace(&mut seat.token, resume_token));
                seat.base = after;
                seat.frames.clear();
                seat.delivered = 0;
                seat.min_delivered = 0;
                seat.away = false;
                effects
            }
            Op::ResumeStale(i) => {
                let mut stale: Vec<(PeerId, String)> = self
                    .seats
                    .iter()
                    .flat_map(|(p, s)| s.spent.iter().map(|t| (*p, t.clone())))
                    .collect();
                stale.extend(self.gone.iter().cloned());
                if stale.is_empty() {
                    return Ok(());
                }
                stale.sort();
                let (peer, token) = stale[i % stale.len()].clone();
                self.next_peer += 1;
                let by = PeerId(self.next_peer);
                let effects = self.meeting.handle(
                    Input::Resume {
                        peer: by,
                        identity: named(format!("s{}", peer.0), "N4", Role::Participant),
                        resume: ResumeRequest {
                            token,
                            room: None,
                            last_chat: 0,
                            last_private: 0,
                        },
                    },
                    self.now,
                );
                let refused = matches!(
                    effects.as_slice(),
                    [Effect::Refuse {
                        refusal: Refusal {
                            error: Some(
                                ErrorCode::ResumeExpired
                                    | ErrorCode::Forbidden
                                    | ErrorCode::MeetingEnded
                            ),
                            ..
                        },
                        ..
                    }]
                );
                prop_assert!(refused, "a stale resume was not refused: {:?}", effects);
                effects
            }
        };
        self.now += 1;
        self.track(&effects);
        self.check(op, &before_members, membership_may_change, &effects)
    }
}
