//! Property tests of the meeting core: random sequences of joins, leaves, splits (every strategy),
//! moves, swaps, visits, merges, timer ticks, chat and signals, takeovers, removals and bans, the
//! lobby, pull-asides, dropped connections and resumes, with the invariants checked after every
//! step. Each seat's chat view is modelled as a client would build it, so a resume is checked to
//! miss nothing and show nothing twice.

use super::core::{Effect, Identity, Input, Meeting, MeetingConfig, Millis};
use crate::protocol::{
    BreakoutRoomSpec, ClientMessage, ErrorCode, PeerId, PeerLeftReason, ResumeRequest, Role,
    RoomId, ServerMessage, SplitStrategy,
};
use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};
use std::collections::{BTreeSet, HashMap};
use std::sync::atomic::{AtomicUsize, Ordering};

#[derive(Debug, Clone)]
enum Op {
    Join(u8),
    /// The same person as member i connects again (takeover).
    Rejoin(usize),
    /// A host removes member `who`, banning them when `ban`.
    Remove {
        by: usize,
        who: usize,
        ban: bool,
    },
    /// Someone banned earlier tries to come back with a fresh connection.
    ReturnBanned(usize),
    Lobby {
        by: usize,
        enabled: bool,
    },
    PullAside {
        by: usize,
        who: usize,
    },
    EndAside(usize),
    Admit {
        by: usize,
        who: Option<usize>,
    },
    Deny {
        by: usize,
        who: Option<usize>,
    },
    Leave(usize),
    Split {
        strategy: u8,
        count: u8,
        duration: Option<u8>,
        spread: bool,
        by: usize,
    },
    Move {
        by: usize,
        who: usize,
        room: usize,
    },
    Swap {
        by: usize,
        a: usize,
        b: usize,
    },
    Visit {
        by: usize,
        room: usize,
    },
    Choose {
        who: usize,
        room: usize,
    },
    MergeAll {
        by: usize,
        countdown: Option<u8>,
    },
    MergeSome {
        by: usize,
        rooms: Vec<usize>,
    },
    Extend {
        by: usize,
        secs: u8,
    },
    Reopen {
        by: usize,
    },
    Tick(u16),
    Chat {
        who: usize,
        to: Option<usize>,
    },
    Signal {
        who: usize,
        to: usize,
    },
    AskHelp(usize),
    Broadcast(usize),
    /// Member i's connection drops; the last `lost` frames sent to it never arrived.
    Drop {
        who: usize,
        lost: u8,
    },
    /// A dropped member i comes back with `hello.resume`.
    Resume(usize),
    /// Someone tries to resume with a token that was already used or whose seat is gone.
    ResumeStale(usize),
    /// A host or cohost ends the meeting.
    End(usize),
    /// Someone raises or lowers their hand, or (with `by`) a host lowers theirs.
    Hand {
        who: usize,
        raised: bool,
        by: Option<usize>,
    },
}

fn op() -> impl Strategy<Value = Op> {
    let i = || any::<usize>();
    prop_oneof![
        4 => (0u8..5).prop_map(Op::Join),
        1 => any::<usize>().prop_map(Op::Rejoin),
        1 => (any::<usize>(), any::<usize>(), any::<bool>()).prop_map(|(by, who, ban)| Op::Remove { by, who, ban }),
        1 => any::<usize>().prop_map(Op::ReturnBanned),
        1 => (any::<usize>(), any::<bool>()).prop_map(|(by, enabled)| Op::Lobby { by, enabled }),
        1 => (any::<usize>(), any::<usize>()).prop_map(|(by, who)| Op::PullAside { by, who }),
        1 => any::<usize>().prop_map(Op::EndAside),
        1 => (any::<usize>(), proptest::option::of(any::<usize>())).prop_map(|(by, who)| Op::Admit { by, who }),
        1 => (any::<usize>(), proptest::option::of(any::<usize>())).prop_map(|(by, who)| Op::Deny { by, who }),
        1 => i().prop_map(Op::Leave),
        2 => (0u8..5, 0u8..6, proptest::option::of(1u8..120), any::<bool>(), i())
            .prop_map(|(strategy, count, duration, spread, by)| Op::Split { strategy, count, duration, spread, by }),
        2 => (i(), i(), i()).prop_map(|(by, who, room)| Op::Move { by, who, room }),
        1 => (i(), i(), i()).prop_map(|(by, a, b)| Op::Swap { by, a, b }),
        1 => (i(), i()).prop_map(|(by, room)| Op::Visit { by, room }),
        1 => (i(), i()).prop_map(|(who, room)| Op::Choose { who, room }),
        1 => (i(), proptest::option::of(0u8..30)).prop_map(|(by, countdown)| Op::MergeAll { by, countdown }),
        1 => (i(), proptest::collection::vec(i(), 0..4)).prop_map(|(by, rooms)| Op::MergeSome { by, rooms }),
        1 => (i(), 0u8..90).prop_map(|(by, secs)| Op::Extend { by, secs }),
        1 => i().prop_map(|by| Op::Reopen { by }),
        2 => (0u16..40_000).prop_map(Op::Tick),
        3 => (i(), proptest::option::of(i())).prop_map(|(who, to)| Op::Chat { who, to }),
        2 => (i(), i()).prop_map(|(who, to)| Op::Signal { who, to }),
        1 => i().prop_map(Op::AskHelp),
        1 => i().prop_map(Op::Broadcast),
        2 => (i(), 0u8..4).prop_map(|(who, lost)| Op::Drop { who, lost }),
        2 => i().prop_map(Op::Resume),
        1 => i().prop_map(Op::ResumeStale),
        1 => i().prop_map(Op::End),
        2 => (i(), any::<bool>(), proptest::option::of(i())).prop_map(|(who, raised, by)| Op::Hand { who, raised, by }),
    ]
}

const ROLES: [Role; 5] = [
    Role::Host,
    Role::Cohost,
    Role::Mentor,
    Role::Participant,
    Role::Participant,
];
const STRATEGIES: [SplitStrategy; 5] = [
    SplitStrategy::Even,
    SplitStrategy::Random,
    SplitStrategy::Pairs,
    SplitStrategy::Manual,
    SplitStrategy::Choose,
];

/// A client's chat view: its room and the chat ids it shows, folded from the frames it got
/// exactly as the SDK does (welcome and room_changed replace, chat appends).
#[derive(Debug, Clone, Default)]
struct View {
    room: Option<RoomId>,
    chat: Vec<u64>,
}

impl View {
    fn apply(&mut self, message: &ServerMessage) {
        match message {
            ServerMessage::Welcome { room, chat, .. }
            | ServerMessage::RoomChanged { room, chat, .. } => {
                self.room = Some(room.clone());
                self.chat = chat.iter().map(|c| c.id).collect();
            }
            ServerMessage::Chat(c) => self.chat.push(c.id),
            _ => {}
        }
    }
}

/// One seat as its client sees it: a base view plus the frames addressed to the seat since.
#[derive(Debug, Clone, Default)]
struct Seat {
    base: View,
    frames: Vec<ServerMessage>,
    /// How many of `frames` the current connection received (all of them while connected).
    delivered: usize,
    /// Fewest frames a drop can leave delivered (the welcome itself, which holds the token).
    min_delivered: usize,
    away: bool,
    /// The resume token of the latest welcome.
    token: String,
    /// Tokens given out before, now spent.
    spent: Vec<String>,
}

impl Seat {
    fn view(&self, upto: usize) -> View {
        let mut view = self.base.clone();
        for frame in &self.frames[..upto] {
            view.apply(frame);
        }
        view
    }
}

struct Model {
    meeting: Meeting,
    seats: HashMap<PeerId, Seat>,
    /// Tokens of seats that are gone (left, removed, timed out): never valid again.
    gone: Vec<(PeerId, String)>,
    now: Millis,
    next_peer: u64,
    last_seq: HashMap<RoomId, u64>,
    /// Subs removed with a ban.
    banned: Vec<String>,
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

    fn step(&mut self, op: &Op) -> Result<(), TestCaseError> {
        let before_members: BTreeSet<PeerId> = self.meeting.member_ids().into_iter().collect();
        // Ticks end held seats whose grace is over.
        let membership_may_change = matches!(
            op,
            Op::Join(_)
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
                let identity = Identity {
                    sub: format!("s{}", peer.0),
                    name: "N".into(),
                    role,
                };
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
                    let identity = Identity {
                        sub: format!("s{}", seat.0),
                        name: "N2".into(),
                        role: Role::Participant,
                    };
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
                let identity = Identity {
                    sub,
                    name: "again".into(),
                    role: Role::Participant,
                };
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
                    // Alone together, in a room nobody else can see.
                    let room = self.meeting.room_of(by).cloned();
                    prop_assert_eq!(room.clone(), self.meeting.room_of(who).cloned());
                    let room = room.unwrap_or_else(RoomId::main);
                    prop_assert_eq!(self.meeting.room_members(&room).len(), 2);
                    prop_assert!(
                        !self.meeting.room_ids().contains(&room),
                        "a private room is listed"
                    );
                }
                effects
            }
            Op::EndAside(i) => self.request(self.pick_by(i), ClientMessage::EndAside {}),
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
                let message = ClientMessage::Split {
                    strategy,
                    count: (strategy != SplitStrategy::Manual).then_some(count as u32),
                    rooms,
                    topic: Some("icebreaker".into()),
                    duration_secs: duration.map(u64::from),
                    spread_mentors: Some(spread),
                };
                self.request(self.pick_by(by), message)
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
                let to = to.and_then(|t| self.pick(t));
                self.request(
                    self.pick(who),
                    ClientMessage::Chat {
                        text: "hi".into(),
                        to,
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
            Op::Broadcast(who) => self.request(
                self.pick(who),
                ClientMessage::Broadcast {
                    text: "back in 1 min".into(),
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
                        identity: Identity {
                            sub: format!("s{}", peer.0),
                            name: "N3".into(),
                            role: Role::Participant,
                        },
                        resume: ResumeRequest {
                            token: seat.token.clone(),
                            room: before.room.clone(),
                            last_chat: before.chat.iter().copied().max().unwrap_or(0),
                        },
                    },
                    self.now,
                );
                if expired {
                    // The grace is over even if no tick has given up the seat yet.
                    let refused = matches!(
                        effects.as_slice(),
                        [Effect::Refuse {
                            code: ErrorCode::ResumeExpired,
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
                let replayed: Vec<u64> = chat.iter().map(|c| c.id).collect();
                if before.room.as_ref() == Some(&room) {
                    after.chat.extend(replayed);
                } else {
                    after.room = Some(room);
                    after.chat = replayed;
                }
                prop_assert!(
                    after.chat.windows(2).all(|w| w[0] < w[1]),
                    "a resumed view shows a message twice or out of order: {:?}",
                    after.chat
                );
                for id in &ideal.chat {
                    prop_assert!(
                        after.chat.contains(id),
                        "resume missed chat {}: ideal {:?}, resumed {:?}",
                        id,
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
                        identity: Identity {
                            sub: format!("s{}", peer.0),
                            name: "N4".into(),
                            role: Role::Participant,
                        },
                        resume: ResumeRequest {
                            token,
                            room: None,
                            last_chat: 0,
                        },
                    },
                    self.now,
                );
                let refused = matches!(
                    effects.as_slice(),
                    [Effect::Refuse {
                        code: ErrorCode::ResumeExpired
                            | ErrorCode::Forbidden
                            | ErrorCode::MeetingEnded,
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

    /// Records the frames each seat was sent, as its client would receive them.
    fn track(&mut self, effects: &[Effect]) {
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
                ServerMessage::RoomChanged { .. } | ServerMessage::Chat(_) => {
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

    fn check(
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
                    after.contains(r) || m.is_waiting(*r),
                    "delivery to a non-member {} ({:?})",
                    r,
                    message
                );
                // Room-scoped events only: meeting-wide notices may come first.
                if matches!(
                    message,
                    ServerMessage::Chat(_)
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
                            let want: BTreeSet<PeerId> = [c.from, dest].into();
                            prop_assert_eq!(to.iter().copied().collect::<BTreeSet<_>>(), want);
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

/// Room changes seen, so the test proves it exercised moves and not only refusals.
static MOVES: AtomicUsize = AtomicUsize::new(0);
/// Successful resumes, so the test proves it exercised them.
static RESUMES: AtomicUsize = AtomicUsize::new(0);

#[test]
fn random_operation_sequences_keep_the_invariants() {
    static STEPS: AtomicUsize = AtomicUsize::new(0);
    let cases = std::env::var("HUDDLE_PROPTEST_CASES")
        .ok()
        .and_then(|c| c.parse().ok())
        .unwrap_or(256);
    let mut runner = TestRunner::new(Config {
        cases,
        failure_persistence: None,
        ..Config::default()
    });
    runner
        .run(&proptest::collection::vec(op(), 20..100), |ops| {
            let mut model = Model {
                meeting: Meeting::new(
                    "m",
                    MeetingConfig {
                        breakout_warning_ms: 10_000,
                        ..MeetingConfig::default()
                    },
                    42,
                ),
                seats: HashMap::new(),
                gone: Vec::new(),
                now: 1_000_000,
                next_peer: 0,
                last_seq: HashMap::new(),
                banned: Vec::new(),
            };
            for op in &ops {
                model.step(op)?;
                STEPS.fetch_add(1, Ordering::Relaxed);
            }
            Ok(())
        })
        .unwrap();
    let steps = STEPS.load(Ordering::Relaxed);
    assert!(steps >= 10_000 || cases < 256, "only {steps} steps ran");
    let moves = MOVES.load(Ordering::Relaxed);
    let resumes = RESUMES.load(Ordering::Relaxed);
    eprintln!("meeting core property test: {cases} cases, {steps} steps, {moves} room changes, {resumes} resumes");
    assert!(
        resumes >= steps / 200 || cases < 256,
        "too few resumes ({resumes}) for {steps} steps"
    );
    assert!(
        moves >= steps / 40,
        "too few room changes ({moves}) for {steps} steps"
    );
}
