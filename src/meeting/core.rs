//! The sans-IO meeting core: all state of one meeting (main room, breakout rooms, members, chat
//! histories, the breakout timer) and every rule about who may do what to whom.
//! `handle(input, now)` is the only way in and returns the effects to carry out; no sockets, clocks
//! or tasks in here, so tests drive it directly and deterministically. Split, merge and move are
//! single calls on `&mut self`: atomic, and every client sees one order of events.

use crate::limits;
use crate::protocol::{
    BreakoutRoomSpec, ChatMessage, ClientMessage, CloseCode, ErrorCode, IceServer, OpaqueJson,
    Peer, PeerId, PeerLeftReason, RequestId, ResumeRequest, Role, RoomId, RoomInfo, ServerMessage,
    SplitStrategy, PROTOCOL_VERSION,
};
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use std::collections::{BTreeMap, BTreeSet, HashSet, VecDeque};

/// Milliseconds since the Unix epoch. Time is always passed in, never read here.
pub type Millis = u64;

/// Who a connection is, as proven by its token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    /// The partner's opaque user id (`sub`). Never sent to other clients.
    pub sub: String,
    pub name: String,
    pub role: Role,
}

/// What happens to a meeting.
#[derive(Debug, Clone, PartialEq)]
pub enum Input {
    /// An authenticated connection asks to enter, under a peer id the caller chose (unique).
    Join { peer: PeerId, identity: Identity },
    /// A member's connection is gone for good (a clean close, or closed by the hub for cause).
    Leave {
        peer: PeerId,
        reason: PeerLeftReason,
    },
    /// A member's connection dropped without a goodbye (network loss, keepalive timeout, slow
    /// consumer). The seat is held for the resume grace period; the room sees
    /// `peer_reconnecting`, and `peer_left {timeout}` if no resume comes in time.
    Dropped { peer: PeerId },
    /// An authenticated connection asks to take back a held seat with `hello.resume`.
    Resume {
        peer: PeerId,
        identity: Identity,
        resume: ResumeRequest,
    },
    /// A decoded frame from a member. `id` is the frame's request id.
    Request {
        from: PeerId,
        id: Option<RequestId>,
        message: ClientMessage,
    },
    /// Time passed: the caller sends this at (or after) [`Meeting::next_deadline`].
    Tick,
}

/// What the caller must carry out, in order.
// `Send` is by far the most common effect and the largest; boxing it would cost an allocation per
// message on the relay path to save a few bytes on the rare small variants.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq)]
pub enum Effect {
    /// Deliver `message` to every peer in `to` (serialize once, enqueue for each).
    Send {
        to: Vec<PeerId>,
        message: ServerMessage,
    },
    /// The join of `peer` was refused: tell that connection and close it.
    Refuse {
        peer: PeerId,
        code: ErrorCode,
        message: String,
    },
    /// The connection that asked to join as `by` is the same person (`sub`) as member `seat`: it
    /// takes over that seat (id, room, role) and the old connection is closed as replaced.
    /// Carried out before the effects that follow it, which address the seat.
    TakeOver { seat: PeerId, by: PeerId },
    /// Close `peer`'s connection with `code` (removed, meeting ended). The core has already
    /// taken the peer out; sends after this one skip it.
    Close { peer: PeerId, code: CloseCode },
    /// A moderator action, for the audit log (who, what, to whom). Never carries chat text.
    Audit {
        by: PeerId,
        action: &'static str,
        subject: Option<PeerId>,
        detail: Option<String>,
        other: Option<PeerId>,
    },
}

/// Settings a meeting is created with.
#[derive(Debug, Clone)]
pub struct MeetingConfig {
    pub max_members: usize,
    pub ice_servers: Vec<IceServer>,
    /// How long before a breakout timer ends everyone gets the closing notice.
    pub breakout_warning_ms: Millis,
    /// How long a dropped member's seat is held for `hello.resume` (0: not at all).
    pub resume_grace_ms: Millis,
    /// Meetings start with the waiting room on: nobody but hosts and cohosts gets in before a
    /// host or cohost admits them.
    pub waiting_room: bool,
    /// How long an ended meeting stays closed to everyone but hosts and cohosts.
    pub ended_meeting_memory_ms: Millis,
}

impl Default for MeetingConfig {
    fn default() -> Self {
        MeetingConfig {
            max_members: limits::MAX_MEETING_MEMBERS,
            ice_servers: Vec::new(),
            breakout_warning_ms: limits::BREAKOUT_WARNING_SECS * 1000,
            resume_grace_ms: limits::RESUME_GRACE_SECS * 1000,
            waiting_room: false,
            ended_meeting_memory_ms: limits::ENDED_MEETING_MEMORY_SECS * 1000,
        }
    }
}

#[derive(Debug)]
struct Member {
    identity: Identity,
    room: RoomId,
    /// The secret that takes this seat back after a drop; a new one with every `welcome`.
    resume_token: String,
    /// While the connection is dropped: when the held seat is given up.
    away_until: Option<Millis>,
    /// The last private messages to or from this member, to replay those a dropped
    /// connection lost in flight (group messages replay from the room's history).
    recent_private: VecDeque<ChatMessage>,
    /// Text bytes in `recent_private` (bounded: anyone may send private messages).
    recent_private_bytes: usize,
    /// Microphone and camera on/off as last reported with `media_state`.
    media: Option<(bool, bool)>,
    /// Notices (broadcasts, help requests, mute requests, audit events, closing warnings) sent
    /// while the seat was held, replayed after the resumed `welcome`.
    missed: VecDeque<ServerMessage>,
}

impl Member {
    /// Keeps a private message for replay, within [`limits::RESUME_PRIVATE_REPLAY`] messages and
    /// [`limits::RESUME_PRIVATE_REPLAY_BYTES`].
    fn remember_private(&mut self, message: &ChatMessage) {
        self.recent_private_bytes += message.text.len();
        self.recent_private.push_back(message.clone());
        while self.recent_private.len() > limits::RESUME_PRIVATE_REPLAY
            || self.recent_private_bytes > limits::RESUME_PRIVATE_REPLAY_BYTES
        {
            match self.recent_private.pop_front() {
                Some(old) => self.recent_private_bytes -= old.text.len(),
                None => break,
            }
        }
    }

    fn new(identity: Identity, room: RoomId, resume_token: String) -> Self {
        Member {
            identity,
            room,
            resume_token,
            away_until: None,
            recent_private: VecDeque::new(),
            recent_private_bytes: 0,
            media: None,
            missed: VecDeque::new(),
        }
    }
}

#[derive(Debug)]
struct Room {
    /// Creation order: the main room is 0, breakouts count up. Lists are sorted by it.
    order: u64,
    /// A host's 1:1 "pull aside" room: listed to no one, and no one else can enter it.
    private: bool,
    name: String,
    topic: Option<String>,
    /// Ordered so that rosters and fan-out are in a stable order.
    members: BTreeSet<PeerId>,
    /// Last `seq` given to a chat message of this room.
    seq: u64,
    /// Recent group messages, oldest first, bounded by count and bytes.
    history: VecDeque<ChatMessage>,
    history_bytes: usize,
}

impl Room {
    fn new(order: u64, name: String, topic: Option<String>) -> Self {
        Room {
            order,
            private: false,
            name,
            topic,
            members: BTreeSet::new(),
            seq: 0,
            history: VecDeque::new(),
            history_bytes: 0,
        }
    }

    fn push_history(&mut self, message: ChatMessage) {
        self.history_bytes += message.text.len();
        self.history.push_back(message);
        while self.history.len() > limits::CHAT_HISTORY_LEN
            || self.history_bytes > limits::CHAT_HISTORY_BYTES
        {
            match self.history.pop_front() {
                Some(old) => self.history_bytes -= old.text.len(),
                None => break,
            }
        }
    }
}

/// The breakout rooms' shared timer and mode.
#[derive(Debug, Default)]
struct BreakoutClock {
    /// When the open breakouts close on their own.
    closes_at: Option<Millis>,
    /// Whether the closing notice for `closes_at` has gone out.
    warned: bool,
    /// Participants may pick their own room.
    choosing: bool,
}

/// What the last merge closed, for `reopen`.
#[derive(Debug, Clone)]
struct ClosedRoom {
    name: String,
    topic: Option<String>,
    members: Vec<PeerId>,
}

/// One meeting: its rooms and members. Owned by exactly one actor task.
#[derive(Debug)]
pub struct Meeting {
    id: String,
    config: MeetingConfig,
    members: BTreeMap<PeerId, Member>,
    rooms: BTreeMap<RoomId, Room>,
    /// Last chat message id given out (unique within the meeting).
    chat_id: u64,
    /// Last breakout number given out; breakout ids are never reused within a meeting, so a stale
    /// reference to a closed room cannot reach a new one.
    room_counter: u64,
    clock: BreakoutClock,
    last_split: Vec<ClosedRoom>,
    /// People (`sub`) removed with a ban: refused for the rest of the meeting.
    banned: HashSet<String>,
    /// While locked, only hosts and cohosts may join.
    locked: bool,
    /// Raised hands, first raised first.
    hands: Vec<PeerId>,
    /// With the waiting room on, people other than hosts and cohosts wait here until admitted.
    lobby_enabled: bool,
    /// Connected but not admitted: not members, in no room, they see no one and nothing.
    waiting: BTreeMap<PeerId, Identity>,
    /// Pull-aside rooms and where each of their two people came from.
    asides: BTreeMap<RoomId, Vec<(PeerId, RoomId)>>,
    /// Held seats by when they end (an index of `Member::away_until`): the next deadline is
    /// its first entry, and nobody held costs nothing per message.
    held: BTreeSet<(Millis, PeerId)>,
    /// When a host or cohost ended the meeting, while that is remembered (see `end`).
    ended_at: Option<Millis>,
    /// For the `random` strategy; seeded by the caller so tests are reproducible.
    rng: StdRng,
    /// For resume tokens. The hub seeds it from the OS with [`Meeting::with_token_seed`].
    tokens: StdRng,
}

/// A refusal of one request: the code and a human-readable reason.
type Refusal = (ErrorCode, &'static str);
type Outcome = Result<(), Refusal>;

const MAIN_ROOM_NAME: &str = "Main room";

impl Meeting {
    pub fn new(id: impl Into<String>, config: MeetingConfig, seed: u64) -> Self {
        let mut rooms = BTreeMap::new();
        rooms.insert(RoomId::main(), Room::new(0, MAIN_ROOM_NAME.into(), None));
        let waiting_room = config.waiting_room;
        Meeting {
            id: id.into(),
            config,
            members: BTreeMap::new(),
            rooms,
            chat_id: 0,
            room_counter: 0,
            clock: BreakoutClock::default(),
            last_split: Vec::new(),
            banned: HashSet::new(),
            locked: false,
            hands: Vec::new(),
            lobby_enabled: waiting_room,
            ended_at: None,
            held: BTreeSet::new(),
            waiting: BTreeMap::new(),
            asides: BTreeMap::new(),
            rng: StdRng::seed_from_u64(seed),
            tokens: StdRng::seed_from_u64(!seed),
        }
    }

    /// Seeds resume tokens with 256 bits the caller took from the OS, so they cannot be guessed.
    pub fn with_token_seed(mut self, seed: [u8; 32]) -> Self {
        self.tokens = StdRng::from_seed(seed);
        self
    }

    fn new_resume_token(&mut self) -> String {
        format!("{:032x}", self.tokens.random::<u128>())
    }

    /// Whether `peer`'s hand is raised.
    pub fn hand_raised(&self, peer: PeerId) -> bool {
        self.hands.contains(&peer)
    }

    /// Until when `peer`'s dropped seat is held, if it is.
    pub fn away_until(&self, peer: PeerId) -> Option<Millis> {
        self.members.get(&peer).and_then(|m| m.away_until)
    }

    /// Whether `peer`'s connection has dropped and its seat is held.
    pub fn is_away(&self, peer: PeerId) -> bool {
        self.members
            .get(&peer)
            .is_some_and(|m| m.away_until.is_some())
    }

    pub fn id(&self) -> &str {
        &self.id
    }

    /// No members, no one waiting, and no recently ended session to remember: the meeting's
    /// actor may stop.
    pub fn can_stop(&self) -> bool {
        self.members.is_empty() && self.waiting.is_empty() && self.ended_at.is_none()
    }

    /// Whether the meeting was ended by a host and no host has started it again.
    pub fn is_ended(&self) -> bool {
        self.ended_at.is_some()
    }

    pub fn member_count(&self) -> usize {
        self.members.len()
    }

    pub fn contains(&self, peer: PeerId) -> bool {
        self.members.contains_key(&peer)
    }

    /// Every member, in id order.
    pub fn member_ids(&self) -> Vec<PeerId> {
        self.members.keys().copied().collect()
    }

    /// Whether `peer` is in the waiting room.
    pub fn is_waiting(&self, peer: PeerId) -> bool {
        self.waiting.contains_key(&peer)
    }

    /// Everyone in the waiting room, in id order.
    pub fn waiting_ids(&self) -> Vec<PeerId> {
        self.waiting.keys().copied().collect()
    }

    /// The role of a member.
    pub fn role(&self, peer: PeerId) -> Option<Role> {
        self.members.get(&peer).map(|m| m.identity.role)
    }

    /// The room `peer` is in, if it is a member.
    pub fn room_of(&self, peer: PeerId) -> Option<&RoomId> {
        self.members.get(&peer).map(|m| &m.room)
    }

    /// Members of `room` in stable order (empty if there is no such room).
    pub fn room_members(&self, room: &RoomId) -> Vec<PeerId> {
        self.rooms
            .get(room)
            .map(|r| r.members.iter().copied().collect())
            .unwrap_or_default()
    }

    /// Everyone in `peer`'s room but `peer`, in stable order.
    fn roommates(&self, peer: PeerId) -> Vec<PeerId> {
        self.room_of(peer)
            .and_then(|r| self.rooms.get(r))
            .map(|r| r.members.iter().copied().filter(|p| *p != peer).collect())
            .unwrap_or_default()
    }

    /// Ids of all rooms, main first.
    pub fn room_ids(&self) -> Vec<RoomId> {
        // Private (pull-aside) rooms are nobody's business: left out of every list.
        let mut rooms: Vec<(&RoomId, &Room)> =
            self.rooms.iter().filter(|(_, r)| !r.private).collect();
        rooms.sort_by_key(|(_, r)| r.order);
        rooms.into_iter().map(|(id, _)| id.clone()).collect()
    }

    /// When the caller must send [`Input::Tick`] next: a breakout timer or a held seat's end.
    pub fn next_deadline(&self) -> Option<Millis> {
        let breakouts = self.clock.closes_at.map(|closes_at| {
            if self.clock.warned {
                closes_at
            } else {
                closes_at.saturating_sub(self.config.breakout_warning_ms)
            }
        });
        let seats = self.held.first().map(|(until, _)| *until);
        let forget = self
            .ended_at
            .map(|t| t.saturating_add(self.config.ended_meeting_memory_ms));
        [breakouts, seats, forget].into_iter().flatten().min()
    }

    /// The single entry point: apply `input` at time `now` and return what to do.
    pub fn handle(&mut self, input: Input, now: Millis) -> Vec<Effect> {
        let mut effects = Vec::new();
        match input {
            Input::Join { peer, identity } => self.join(peer, identity, &mut effects),
            Input::Leave { peer, reason } => self.leave(peer, reason, &mut effects),
            Input::Dropped { peer } => self.dropped(peer, now, &mut effects),
            Input::Resume {
                peer,
                identity,
                resume,
            } => self.resume(peer, identity, resume, now, &mut effects),
            Input::Tick => self.tick(now, &mut effects),
            Input::Request { from, id, message } => {
                if self.waiting.contains_key(&from) {
                    effects.push(Effect::Send {
                        to: vec![from],
                        message: ServerMessage::error(
                            ErrorCode::Forbidden,
                            "waiting for a host to let you in",
                            id,
                        ),
                    });
                    return effects;
                }
                if self
                    .members
                    .get(&from)
                    .is_none_or(|m| m.away_until.is_some())
                {
                    // A late frame from a connection that already left or dropped: nothing to
                    // answer (a held seat speaks again only after a resume).
                    return effects;
                }
                let action = message.kind();
                let moderator_action = is_moderator_action(&message)
                    || matches!(&message, ClientMessage::RaiseHand { peer: Some(p), .. } if *p != from);
                let terms = moderator_action.then(|| audit_terms(&message));
                let outcome = if moderator_action && !self.role_of(from).is_moderator() {
                    Err((ErrorCode::Forbidden, "only hosts and cohosts may do this"))
                } else {
                    self.request(from, message, now, &mut effects)
                };
                if let (Some(terms), Ok(())) = (terms, &outcome) {
                    self.audit(from, action, terms, now, &mut effects);
                }
                match (outcome, id) {
                    // Ending the meeting closed the sender's socket too: no one to ack.
                    (Ok(()), Some(_)) if !self.members.contains_key(&from) => {}
                    (Ok(()), Some(reference)) => effects.push(Effect::Send {
                        to: vec![from],
                        message: ServerMessage::Ack { reference },
                    }),
                    (Ok(()), None) => {}
                    (Err((code, why)), reference) => effects.push(Effect::Send {
                        to: vec![from],
                        message: ServerMessage::error(code, why, reference),
                    }),
                }
            }
        }
        if !self.held.is_empty() {
            self.hold_notices(&effects);
        }
        effects
    }

    fn request(
        &mut self,
        from: PeerId,
        message: ClientMessage,
        now: Millis,
        effects: &mut Vec<Effect>,
    ) -> Outcome {
        use ClientMessage as M;
        match message {
            // The connection handles `refresh` and `ping` itself; they never reach the meeting.
            M::Refresh { .. } | M::Ping {} => Err((
                ErrorCode::BadRequest,
                "refresh and ping are handled by the connection",
            )),
            M::Hello { .. } => Err((
                ErrorCode::BadRequest,
                "hello is only accepted as the first frame",
            )),
            M::Signal { to, data } => self.signal(from, to, data, effects),
            M::Chat { text, to } => self.chat(from, text, to, now, effects),
            M::Data { payload, to } => self.app_data(from, payload, to, effects),
            M::Split {
                strategy,
                count,
                rooms,
                topic,
                duration_secs,
                spread_mentors,
            } => self.split(
                SplitRequest {
                    strategy,
                    count,
                    rooms,
                    topic,
                    duration_secs,
                    spread_mentors: spread_mentors.unwrap_or(true),
                },
                now,
                effects,
            ),
            M::Move { peer, room } => self.move_one(peer, room, effects),
            M::Swap { a, b } => self.swap(a, b, effects),
            M::Visit { room } => self.move_one(from, room, effects),
            M::ChooseRoom { room } => self.choose_room(from, room, effects),
            M::Broadcast { text } => self.broadcast(from, text, now, effects),
            M::Merge {
                countdown_secs,
                rooms,
            } => self.merge(countdown_secs, rooms, now, effects),
            M::ExtendTimer { secs } => self.extend_timer(secs, now, effects),
            M::Reopen { duration_secs } => self.reopen(duration_secs, now, effects),
            M::AskHelp {} => self.ask_help(from, now, effects),
            M::Remove { peer, ban } => self.remove(from, peer, ban, effects),
            M::EndMeeting {} => {
                self.end(now, effects);
                Ok(())
            }
            M::RequestMute { peer, audio, video } => {
                if !self.members.contains_key(&peer) {
                    return Err((ErrorCode::NotFound, "no such peer in this meeting"));
                }
                effects.push(Effect::Send {
                    to: vec![peer],
                    message: ServerMessage::MuteRequested {
                        by: from,
                        audio,
                        video,
                    },
                });
                Ok(())
            }
            M::MediaState { audio, video } => {
                if let Some(member) = self.members.get_mut(&from) {
                    member.media = Some((audio, video));
                }
                let others = self.roommates(from);
                if !others.is_empty() {
                    effects.push(Effect::Send {
                        to: others,
                        message: ServerMessage::PeerMedia {
                            id: from,
                            audio,
                            video,
                        },
                    });
                }
                Ok(())
            }
            M::RaiseHand {
                raised,
                peer: Some(peer),
            } if peer != from => {
                // A host lowering someone's hand (the role check was done in `handle`).
                if raised {
                    return Err((ErrorCode::BadRequest, "you can only lower someone's hand"));
                }
                if !self.members.contains_key(&peer) {
                    return Err((ErrorCode::NotFound, "no such peer in this meeting"));
                }
                if !self.hands.contains(&peer) {
                    return Err((ErrorCode::Conflict, "that hand is not raised"));
                }
                self.set_hand(peer, false, effects);
                Ok(())
            }
            M::RaiseHand { raised, .. } => {
                if raised && !self.role_of(from).may_speak() {
                    return Err((ErrorCode::Forbidden, "observers cannot raise a hand"));
                }
                self.set_hand(from, raised, effects);
                Ok(())
            }
            M::SetRole { peer, role } => self.set_role(from, peer, role, effects),
            M::SetLobby { enabled } => {
                self.lobby_enabled = enabled;
                if enabled {
                    self.announce_lobby(effects);
                    Ok(())
                } else {
                    // Turning the waiting room off lets everyone waiting in.
                    self.admit(None, effects)
                }
            }
            M::Admit { peer } => self.admit(peer, effects),
            M::PullAside { peer } => self.pull_aside(from, peer, effects),
            M::EndAside {} => match self.room_of(from).cloned() {
                Some(room) if self.asides.contains_key(&room) => {
                    self.end_aside(&room, effects);
                    Ok(())
                }
                _ => Err((ErrorCode::Conflict, "you are not in a private conversation")),
            },
            M::Deny { peer } => self.deny(peer, effects),
            M::TransferHost { peer } => self.transfer_host(from, peer, effects),
            M::Lock { locked } => {
                self.locked = locked;
                effects.push(Effect::Send {
                    to: self.member_ids(),
                    message: ServerMessage::Locked { locked, by: from },
                });
                Ok(())
            }
        }
    }

    fn peer_of(&self, id: PeerId) -> Option<Peer> {
        self.members.get(&id).map(|m| Peer {
            id,
            name: m.identity.name.clone(),
            role: m.identity.role,
            reconnecting: m.away_until.is_some(),
            hand: self.hands.contains(&id),
            audio: m.media.map(|(audio, _)| audio),
            video: m.media.map(|(_, video)| video),
        })
    }

    fn peers_of(&self, ids: impl IntoIterator<Item = PeerId>) -> Vec<Peer> {
        ids.into_iter().filter_map(|p| self.peer_of(p)).collect()
    }

    fn room_list(&self) -> Vec<RoomInfo> {
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

    fn has_breakouts(&self) -> bool {
        self.rooms.values().filter(|r| !r.private).count() > 1
    }

    /// A room people may be moved, visit or choose into: exists and is not private.
    fn public_room(&self, room: &RoomId) -> bool {
        self.rooms.get(room).is_some_and(|r| !r.private)
    }

    fn in_private_room(&self, peer: PeerId) -> bool {
        self.room_of(peer)
            .and_then(|r| self.rooms.get(r))
            .is_some_and(|r| r.private)
    }

    /// Tells everyone the current room list.
    fn announce_rooms(&self, effects: &mut Vec<Effect>) {
        if self.members.is_empty() {
            return;
        }
        effects.push(Effect::Send {
            to: self.member_ids(),
            message: self.rooms_message(),
        });
    }

    fn rooms_message(&self) -> ServerMessage {
        ServerMessage::Rooms {
            rooms: self.room_list(),
            closes_at: self.clock.closes_at,
            choosing: self.clock.choosing,
        }
    }

    fn join(&mut self, peer: PeerId, identity: Identity, effects: &mut Vec<Effect>) {
        if self.ended_at.is_some() && !identity.role.is_moderator() {
            effects.push(Effect::Refuse {
                peer,
                code: ErrorCode::MeetingEnded,
                message: "the host ended this meeting".into(),
            });
            return;
        }
        if self.banned.contains(&identity.sub) {
            effects.push(Effect::Refuse {
                peer,
                code: ErrorCode::Forbidden,
                message: "you were removed from this meeting".into(),
            });
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
                code: ErrorCode::Internal,
                message: "peer id already in use".into(),
            });
            return;
        }
        if self.locked && !identity.role.is_moderator() {
            effects.push(Effect::Refuse {
                peer,
                code: ErrorCode::MeetingLocked,
                message: "the meeting is locked".into(),
            });
            return;
        }
        if self.members.len() >= self.config.max_members {
            effects.push(Effect::Refuse {
                peer,
                code: ErrorCode::MeetingFull,
                message: "the meeting is full".into(),
            });
            return;
        }
        if self.lobby_enabled && !identity.role.is_moderator() {
            self.wait(peer, identity, effects);
            return;
        }
        // A host or cohost who gets in starts the next session of an ended meeting (only once
        // every refusal is past: a banned cohost must not reopen it).
        self.ended_at = None;
        self.seat(peer, identity, effects);
    }

    /// Puts someone in the waiting room. The same person waiting on an older connection is
    /// replaced, as for members.
    fn wait(&mut self, peer: PeerId, identity: Identity, effects: &mut Vec<Effect>) {
        let older: Vec<PeerId> = self
            .waiting
            .iter()
            .filter(|(_, w)| w.sub == identity.sub)
            .map(|(p, _)| *p)
            .collect();
        for old in older {
            self.waiting.remove(&old);
            effects.push(Effect::Close {
                peer: old,
                code: CloseCode::Replaced,
            });
        }
        let you = waiting_peer(peer, &identity);
        self.waiting.insert(peer, identity);
        effects.push(Effect::Send {
            to: vec![peer],
            message: ServerMessage::Waiting {
                meeting: self.id.clone(),
                you,
            },
        });
        self.announce_lobby(effects);
    }

    fn announce_lobby(&self, effects: &mut Vec<Effect>) {
        let to = self.moderators();
        if !to.is_empty() {
            effects.push(Effect::Send {
                to,
                message: self.lobby_message(),
            });
        }
    }

    /// After a moderator's `welcome` (join, takeover, resume) or a promotion: the waiting room
    /// and the hand queue as they are now, which otherwise arrive only with the next change.
    fn moderator_state(&self, peer: PeerId, effects: &mut Vec<Effect>) {
        if !self.role_of(peer).is_moderator() {
            return;
        }
        effects.push(Effect::Send {
            to: vec![peer],
            message: ServerMessage::People {
                peers: self.peers_of(self.members.keys().copied()),
            },
        });
        effects.push(Effect::Send {
            to: vec![peer],
            message: self.lobby_message(),
        });
        effects.push(Effect::Send {
            to: vec![peer],
            message: self.hands_message(),
        });
    }

    fn lobby_message(&self) -> ServerMessage {
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

    /// Lets waiting people in (`None`: everyone waiting).
    fn admit(&mut self, peer: Option<PeerId>, effects: &mut Vec<Effect>) -> Outcome {
        let chosen: Vec<PeerId> = match peer {
            Some(p) if self.waiting.contains_key(&p) => vec![p],
            Some(_) => return Err((ErrorCode::NotFound, "no such person in the waiting room")),
            None => self.waiting.keys().copied().collect(),
        };
        for p in chosen {
            if self.members.len() >= self.config.max_members {
                return Err((ErrorCode::MeetingFull, "the meeting is full"));
            }
            if let Some(identity) = self.waiting.remove(&p) {
                self.seat(p, identity, effects);
            }
        }
        self.announce_lobby(effects);
        Ok(())
    }

    /// Turns waiting people away (`None`: everyone waiting).
    fn deny(&mut self, peer: Option<PeerId>, effects: &mut Vec<Effect>) -> Outcome {
        let chosen: Vec<PeerId> = match peer {
            Some(p) if self.waiting.contains_key(&p) => vec![p],
            Some(_) => return Err((ErrorCode::NotFound, "no such person in the waiting room")),
            None => self.waiting.keys().copied().collect(),
        };
        for p in chosen {
            self.waiting.remove(&p);
            effects.push(Effect::Close {
                peer: p,
                code: CloseCode::Denied,
            });
        }
        self.announce_lobby(effects);
        Ok(())
    }

    /// Makes an admitted person a member, in the main room, and tells everyone concerned.
    fn seat(&mut self, peer: PeerId, identity: Identity, effects: &mut Vec<Effect>) {
        let room_id = RoomId::main();
        let resume_token = self.new_resume_token();
        self.members
            .insert(peer, Member::new(identity, room_id.clone(), resume_token));
        let Some(room) = self.rooms.get_mut(&room_id) else {
            return;
        };
        let others: Vec<PeerId> = room.members.iter().copied().collect();
        room.members.insert(peer);
        let (Some(welcome), Some(you)) = (self.welcome_for(peer), self.peer_of(peer)) else {
            return;
        };
        effects.push(Effect::Send {
            to: vec![peer],
            message: welcome,
        });
        self.moderator_state(peer, effects);
        // Hosts elsewhere (in a breakout, say) learn the newcomer's name too.
        let elsewhere: Vec<PeerId> = self
            .moderators()
            .into_iter()
            .filter(|m| *m != peer && !others.contains(m))
            .collect();
        if !elsewhere.is_empty() {
            effects.push(Effect::Send {
                to: elsewhere,
                message: ServerMessage::PeerUpdated { peer: you.clone() },
            });
        }
        if !others.is_empty() {
            effects.push(Effect::Send {
                to: others,
                message: ServerMessage::PeerJoined { peer: you },
            });
        }
        self.roster_changed(effects);
    }

    /// The `welcome` for member `peer`: its room as it is now, everyone else in it, its history.
    fn welcome_for(&self, peer: PeerId) -> Option<ServerMessage> {
        let room_id = self.room_of(peer)?.clone();
        let room = self.rooms.get(&room_id)?;
        Some(ServerMessage::Welcome {
            protocol: PROTOCOL_VERSION,
            you: self.peer_of(peer)?,
            meeting: self.id.clone(),
            peers: self.peers_of(room.members.iter().copied().filter(|p| *p != peer)),
            chat: room.history.iter().cloned().collect(),
            room: room_id,
            ice_servers: self.config.ice_servers.clone(),
            rooms: self.room_list(),
            closes_at: self.clock.closes_at,
            choosing: self.clock.choosing,
            locked: self.locked,
            private: room.private,
            replayed: 0,
            resume_token: self.members.get(&peer)?.resume_token.clone(),
            resumed: false,
        })
    }

    /// A second connection of the same person: it inherits the seat; the room sees that seat
    /// leave and come back (so everyone renegotiates media with the new connection).
    fn take_over(
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
        effects.push(Effect::Send {
            to: vec![seat],
            message: welcome,
        });
        self.moderator_state(seat, effects);
        if !others.is_empty() {
            effects.push(Effect::Send {
                to: others.clone(),
                message: ServerMessage::PeerLeft {
                    id: seat,
                    reason: PeerLeftReason::Replaced,
                },
            });
            effects.push(Effect::Send {
                to: others,
                message: ServerMessage::PeerJoined { peer: you },
            });
        }
        if renamed {
            // The room heard the new name in `peer_joined`; hosts elsewhere hear it here.
            self.announce_peer(seat, effects);
        }
    }

    fn leave(&mut self, peer: PeerId, reason: PeerLeftReason, effects: &mut Vec<Effect>) {
        if self.waiting.remove(&peer).is_some() {
            self.announce_lobby(effects);
            return;
        }
        let Some(member) = self.members.remove(&peer) else {
            return;
        };
        if let Some(until) = member.away_until {
            self.held.remove(&(until, peer));
        }
        if self.hands.contains(&peer) {
            self.hands.retain(|p| *p != peer);
            self.announce_hands(effects);
        }
        if let Some(origins) = self.asides.get(&member.room) {
            // A private conversation ends when either person leaves. The room the leaver
            // stepped out of saw it go as `stepped_out`: it hears that it is gone for good.
            let origin = origins
                .iter()
                .find(|(p, _)| *p == peer)
                .map(|(_, r)| r.clone());
            if let Some(room) = self.rooms.get_mut(&member.room) {
                room.members.remove(&peer);
            }
            if let Some(origin) = origin.filter(|r| self.public_room(r)) {
                let watchers = self.room_members(&origin);
                if !watchers.is_empty() {
                    effects.push(Effect::Send {
                        to: watchers,
                        message: ServerMessage::PeerLeft { id: peer, reason },
                    });
                }
            }
            let room = member.room.clone();
            self.end_aside(&room, effects);
            self.roster_changed(effects);
            return;
        }
        if let Some(room) = self.rooms.get_mut(&member.room) {
            room.members.remove(&peer);
            let others: Vec<PeerId> = room.members.iter().copied().collect();
            if !others.is_empty() {
                effects.push(Effect::Send {
                    to: others,
                    message: ServerMessage::PeerLeft { id: peer, reason },
                });
            }
        }
        self.roster_changed(effects);
    }

    /// A member's connection dropped: hold the seat (the member stays in its room, keeps its
    /// role and hand, can be moved) until the grace period ends or it resumes.
    fn dropped(&mut self, peer: PeerId, now: Millis, effects: &mut Vec<Effect>) {
        if self.waiting.contains_key(&peer) || self.config.resume_grace_ms == 0 {
            // The waiting room holds no seats: come back and wait again.
            self.leave(peer, PeerLeftReason::Disconnected, effects);
            return;
        }
        let grace = self.config.resume_grace_ms;
        let Some(member) = self.members.get_mut(&peer) else {
            return;
        };
        if member.away_until.is_some() {
            return;
        }
        let until = now.saturating_add(grace);
        member.away_until = Some(until);
        self.held.insert((until, peer));
        let others = self.roommates(peer);
        if !others.is_empty() {
            effects.push(Effect::Send {
                to: others,
                message: ServerMessage::PeerReconnecting { id: peer },
            });
        }
    }

    /// `hello.resume`: the connection asking as `by` takes back the held seat named by the
    /// token, if it is the same person and the grace period has not ended (an ended grace has
    /// already removed the seat, so its token names nothing).
    fn resume(
        &mut self,
        by: PeerId,
        identity: Identity,
        resume: ResumeRequest,
        now: Millis,
        effects: &mut Vec<Effect>,
    ) {
        if self.banned.contains(&identity.sub) {
            effects.push(Effect::Refuse {
                peer: by,
                code: ErrorCode::Forbidden,
                message: "you were removed from this meeting".into(),
            });
            return;
        }
        if self.ended_at.is_some() {
            // Not `resume_expired`: a client would join afresh at once, and a cohost doing so
            // would reopen the meeting by accident.
            effects.push(Effect::Refuse {
                peer: by,
                code: ErrorCode::MeetingEnded,
                message: "the host ended this meeting".into(),
            });
            return;
        }
        let seat = self
            .members
            .iter()
            .find(|(_, m)| {
                m.resume_token == resume.token
                    && m.identity.sub == identity.sub
                    // A grace that ended but has not been ticked yet is over all the same.
                    && m.away_until.is_none_or(|t| t > now)
            })
            .map(|(p, _)| *p);
        let Some(seat) = seat else {
            effects.push(Effect::Refuse {
                peer: by,
                code: ErrorCode::ResumeExpired,
                message: "nothing to resume: join again".into(),
            });
            return;
        };
        let Some(renamed) = self.reseat(seat, by, identity, effects) else {
            return;
        };
        let Some(member) = self.members.get_mut(&seat) else {
            return;
        };
        let missed: Vec<ServerMessage> = std::mem::take(&mut member.missed)
            .into_iter()
            .filter_map(|notice| match notice {
                // A closing warning only while that timer still runs, with the time left now.
                ServerMessage::BreakoutClosing { closes_at, .. } => (self.clock.closes_at
                    == Some(closes_at)
                    && closes_at > now)
                    .then(|| ServerMessage::BreakoutClosing {
                        closes_at,
                        seconds: (closes_at - now).div_ceil(1000),
                    }),
                other => Some(other),
            })
            .collect();
        let room_id = member.room.clone();
        // Private messages to or from this person that it may not have seen; group messages
        // come from the room's history below.
        let private: Vec<ChatMessage> = member
            .recent_private
            .iter()
            .filter(|m| m.id > resume.last_chat)
            .cloned()
            .collect();
        let Some(room) = self.rooms.get(&room_id) else {
            return;
        };
        let same_room = resume.room.as_ref() == Some(&room_id);
        // Same room: exactly what was missed. Another room (moved or merged meanwhile): that
        // room's history, as `room_changed` would have brought it.
        let mut chat: Vec<ChatMessage> = room
            .history
            .iter()
            .filter(|m| !same_room || m.id > resume.last_chat)
            .cloned()
            .chain(private)
            .collect();
        // History and private messages never share a message, so sorting by id is enough.
        chat.sort_by_key(|m| m.id);
        let others = self.roommates(seat);
        let Some(mut welcome) = self.welcome_for(seat) else {
            return;
        };
        if let ServerMessage::Welcome {
            chat: missed_chat,
            replayed,
            resumed,
            ..
        } = &mut welcome
        {
            *missed_chat = chat;
            *replayed = u32::try_from(missed.len()).unwrap_or(u32::MAX);
            *resumed = true;
        }
        effects.push(Effect::Send {
            to: vec![seat],
            message: welcome,
        });
        self.moderator_state(seat, effects);
        for message in missed {
            effects.push(Effect::Send {
                to: vec![seat],
                message,
            });
        }
        if !others.is_empty() {
            effects.push(Effect::Send {
                to: others,
                message: ServerMessage::PeerReconnected { id: seat },
            });
        }
        if renamed {
            self.announce_peer(seat, effects);
        }
    }

    /// Keeps the notices addressed to held seats, to replay after a resume. Chat is not kept
    /// here (it replays from history); rosters, rooms, the lock, the lobby and hands come back
    /// as state with the resumed `welcome`.
    fn hold_notices(&mut self, effects: &[Effect]) {
        for effect in effects {
            let Effect::Send { to, message } = effect else {
                continue;
            };
            if !matches!(
                message,
                ServerMessage::Broadcast { .. }
                    | ServerMessage::HelpRequested { .. }
                    | ServerMessage::MuteRequested { .. }
                    | ServerMessage::Audit { .. }
                    | ServerMessage::BreakoutClosing { .. }
            ) {
                continue;
            }
            for peer in to {
                if let Some(member) = self
                    .members
                    .get_mut(peer)
                    .filter(|m| m.away_until.is_some())
                {
                    member.missed.push_back(message.clone());
                    if member.missed.len() > limits::RESUME_NOTICE_REPLAY {
                        member.missed.pop_front();
                    }
                }
            }
        }
    }

    /// A new connection (`by`) takes seat `seat`, whether a takeover or a resume: a new resume
    /// token, the fresher token's name, the hold released. The role stays what the meeting made
    /// it, so a demoted cohost cannot win the role back by connecting again. Returns whether the
    /// name changed (`None`: no such seat).
    fn reseat(
        &mut self,
        seat: PeerId,
        by: PeerId,
        identity: Identity,
        effects: &mut Vec<Effect>,
    ) -> Option<bool> {
        let resume_token = self.new_resume_token();
        let member = self.members.get_mut(&seat)?;
        let renamed = member.identity.name != identity.name;
        member.identity.name = identity.name;
        member.resume_token = resume_token;
        if let Some(until) = member.away_until.take() {
            self.held.remove(&(until, seat));
        }
        effects.push(Effect::TakeOver { seat, by });
        Some(renamed)
    }

    fn moderators(&self) -> Vec<PeerId> {
        self.members
            .iter()
            .filter(|(_, m)| m.identity.role.is_moderator())
            .map(|(p, _)| *p)
            .collect()
    }

    fn announce_hands(&self, effects: &mut Vec<Effect>) {
        let to = self.moderators();
        if !to.is_empty() {
            effects.push(Effect::Send {
                to,
                message: self.hands_message(),
            });
        }
    }

    fn hands_message(&self) -> ServerMessage {
        ServerMessage::Hands {
            queue: self.hands.clone(),
        }
    }

    /// Raises or lowers `peer`'s hand. Hosts see the queue; the person's room and the hosts
    /// see the hand on the person (`peer_updated`), so the person learns it too when a host
    /// lowers it. Not the whole meeting: anyone may toggle a hand ten times a second.
    fn set_hand(&mut self, peer: PeerId, raised: bool, effects: &mut Vec<Effect>) {
        let queued = self.hands.contains(&peer);
        if raised == queued {
            return;
        }
        if raised {
            self.hands.push(peer);
        } else {
            self.hands.retain(|p| *p != peer);
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
        effects.push(Effect::Send {
            to,
            message: ServerMessage::PeerUpdated { peer: p },
        });
    }

    fn audit(
        &self,
        by: PeerId,
        action: &'static str,
        terms: AuditTerms,
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
        });
        let to = self.moderators();
        if !to.is_empty() {
            effects.push(Effect::Send {
                to,
                message: ServerMessage::Audit {
                    by,
                    action: action.to_owned(),
                    subject,
                    detail,
                    other,
                    ts: now,
                },
            });
        }
    }

    fn remove(
        &mut self,
        by: PeerId,
        peer: PeerId,
        ban: bool,
        effects: &mut Vec<Effect>,
    ) -> Outcome {
        if peer == by {
            return Err((ErrorCode::BadRequest, "you cannot remove yourself"));
        }
        let Some(member) = self.members.get(&peer) else {
            return Err((ErrorCode::NotFound, "no such peer in this meeting"));
        };
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

    /// Everyone out; the meeting is empty afterwards (its actor then stops).
    /// Ends the session: everyone out, every trace of it (chat, rooms, timer, hands) gone. The
    /// meeting id stays closed to everyone but hosts and cohosts for
    /// `ended_meeting_memory_ms`, so nobody can slip back into an unsupervised group; a host
    /// joining starts a new session (bans still hold).
    fn end(&mut self, now: Millis, effects: &mut Vec<Effect>) {
        for peer in self
            .member_ids()
            .into_iter()
            .chain(self.waiting.keys().copied())
        {
            effects.push(Effect::Close {
                peer,
                code: CloseCode::MeetingEnded,
            });
        }
        self.members.clear();
        self.held.clear();
        self.waiting.clear();
        self.asides.clear();
        self.rooms.clear();
        self.rooms
            .insert(RoomId::main(), Room::new(0, MAIN_ROOM_NAME.into(), None));
        self.clock = BreakoutClock::default();
        self.last_split.clear();
        self.hands.clear();
        self.locked = false;
        self.lobby_enabled = self.config.waiting_room;
        self.ended_at = Some(now);
    }

    fn set_role(
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
        member.identity.role = role;
        if !role.may_speak() && self.hands.contains(&peer) {
            self.hands.retain(|p| *p != peer);
            self.announce_hands(effects);
        }
        self.announce_peer(peer, effects);
        if promoted {
            self.moderator_state(peer, effects);
        }
        Ok(())
    }

    fn transfer_host(&mut self, by: PeerId, peer: PeerId, effects: &mut Vec<Effect>) -> Outcome {
        if self.role_of(by) != Role::Host {
            return Err((
                ErrorCode::Forbidden,
                "only the host hands over the host role",
            ));
        }
        if peer == by {
            return Err((ErrorCode::BadRequest, "you are the host already"));
        }
        let Some(member) = self.members.get_mut(&peer) else {
            return Err((ErrorCode::NotFound, "no such peer in this meeting"));
        };
        if member.away_until.is_some() {
            // If the seat timed out, the meeting would be left without a host.
            return Err((ErrorCode::Conflict, "that person is reconnecting"));
        }
        let promoted = !member.identity.role.is_moderator();
        member.identity.role = Role::Host;
        if let Some(me) = self.members.get_mut(&by) {
            me.identity.role = Role::Cohost;
        }
        self.announce_peer(peer, effects);
        self.announce_peer(by, effects);
        if promoted {
            self.moderator_state(peer, effects);
        }
        Ok(())
    }

    fn announce_peer(&self, peer: PeerId, effects: &mut Vec<Effect>) {
        if let Some(p) = self.peer_of(peer) {
            effects.push(Effect::Send {
                to: self.member_ids(),
                message: ServerMessage::PeerUpdated { peer: p },
            });
        }
    }

    /// After a join or leave: with breakouts open everyone's room list changes; without, only
    /// hosts and cohosts get it (they run the roster; a 1,000-person lobby-free join storm must
    /// not send everyone the whole list each time).
    fn roster_changed(&self, effects: &mut Vec<Effect>) {
        if self.has_breakouts() {
            self.announce_rooms(effects);
            return;
        }
        let moderators = self.moderators();
        if !moderators.is_empty() {
            effects.push(Effect::Send {
                to: moderators,
                message: self.rooms_message(),
            });
        }
    }

    /// Moves people between rooms in one step. Each mover gets `room_changed` (its new room's
    /// roster, the mover included, and history) before anything else from the new room; people who stay in a room that someone
    /// left or entered get `peer_left {moved}` / `peer_joined`. Moves to the current room are
    /// skipped. The caller has checked that every peer and room exists. Returns how many moved.
    fn relocate(&mut self, moves: Vec<(PeerId, RoomId)>, effects: &mut Vec<Effect>) -> usize {
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
            effects.push(Effect::Send {
                to: arrived,
                message: ServerMessage::RoomChanged {
                    room: to.clone(),
                    name: room.name.clone(),
                    topic: room.topic.clone(),
                    peers: self.peers_of(room.members.iter().copied()),
                    chat: room.history.iter().cloned().collect(),
                    private: room.private,
                },
            });
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
            let to = stayers(from);
            if !to.is_empty() {
                effects.push(Effect::Send {
                    to,
                    message: ServerMessage::PeerLeft {
                        id: *peer,
                        // The group sees only that someone stepped out, not where.
                        reason: if self.rooms.get(to_room).is_some_and(|r| r.private) {
                            PeerLeftReason::SteppedOut
                        } else {
                            PeerLeftReason::Moved
                        },
                    },
                });
            }
        }
        for (peer, _, to_room) in &done {
            let to = stayers(to_room);
            if let (false, Some(peer)) = (to.is_empty(), self.peer_of(*peer)) {
                effects.push(Effect::Send {
                    to,
                    message: ServerMessage::PeerJoined { peer },
                });
            }
        }
        done.len()
    }

    fn open_room(&mut self, name: String, topic: Option<String>) -> RoomId {
        self.room_counter += 1;
        let id = RoomId(format!("b{}", self.room_counter));
        self.rooms
            .insert(id.clone(), Room::new(self.room_counter, name, topic));
        id
    }

    fn pull_aside(&mut self, host: PeerId, peer: PeerId, effects: &mut Vec<Effect>) -> Outcome {
        if peer == host {
            return Err((ErrorCode::BadRequest, "pull someone else aside"));
        }
        if !self.members.contains_key(&peer) {
            return Err((ErrorCode::NotFound, "no such peer in this meeting"));
        }
        if self.is_away(peer) {
            return Err((ErrorCode::Conflict, "that person is reconnecting"));
        }
        if self.in_private_room(host) || self.in_private_room(peer) {
            return Err((ErrorCode::Conflict, "already in a private conversation"));
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
    fn end_aside(&mut self, room: &RoomId, effects: &mut Vec<Effect>) {
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

    /// Removes empty breakout rooms; clears the timer when none are left.
    fn close_empty_breakouts(&mut self) {
        self.rooms
            .retain(|id, room| id.is_main() || !room.members.is_empty());
        // (Private rooms with people in them stay; empty ones go.)
        if !self.has_breakouts() {
            self.clock = BreakoutClock::default();
        }
    }

    fn split(&mut self, req: SplitRequest, now: Millis, effects: &mut Vec<Effect>) -> Outcome {
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
        let count = match req.strategy {
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

        let specs: Vec<BreakoutRoomSpec> = (0..count)
            .map(|i| req.rooms.get(i).cloned().unwrap_or_default())
            .collect();
        let ids: Vec<RoomId> = specs
            .iter()
            .enumerate()
            .map(|(i, spec)| {
                let name = spec
                    .name
                    .clone()
                    .unwrap_or_else(|| format!("Room {}", i + 1));
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
        };
        self.last_split.clear();
        self.relocate(moves, effects);
        self.announce_rooms(effects);
        Ok(())
    }

    fn move_one(&mut self, peer: PeerId, room: RoomId, effects: &mut Vec<Effect>) -> Outcome {
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

    fn swap(&mut self, a: PeerId, b: PeerId, effects: &mut Vec<Effect>) -> Outcome {
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

    fn choose_room(&mut self, from: PeerId, room: RoomId, effects: &mut Vec<Effect>) -> Outcome {
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

    fn broadcast(
        &mut self,
        from: PeerId,
        text: String,
        now: Millis,
        effects: &mut Vec<Effect>,
    ) -> Outcome {
        check_chat_text(&text)?;
        effects.push(Effect::Send {
            to: self.member_ids(),
            message: ServerMessage::Broadcast {
                from,
                text,
                ts: now,
            },
        });
        Ok(())
    }

    fn merge(
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
    fn close_all(&mut self, effects: &mut Vec<Effect>) {
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

    fn reopen(
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
        };
        self.relocate(moves, effects);
        self.announce_rooms(effects);
        Ok(())
    }

    fn extend_timer(&mut self, secs: u64, now: Millis, effects: &mut Vec<Effect>) -> Outcome {
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

    fn closing_notice(&self, now: Millis, effects: &mut Vec<Effect>) {
        if let Some(closes_at) = self.clock.closes_at {
            effects.push(Effect::Send {
                to: self.member_ids(),
                message: ServerMessage::BreakoutClosing {
                    closes_at,
                    seconds: closes_at.saturating_sub(now).div_ceil(1000),
                },
            });
        }
    }

    fn tick(&mut self, now: Millis, effects: &mut Vec<Effect>) {
        if self
            .ended_at
            .is_some_and(|t| now >= t.saturating_add(self.config.ended_meeting_memory_ms))
        {
            self.ended_at = None;
        }
        // One held seat per tick, the earliest: each batch of effects then describes one
        // change (a roster in it is still true at its end). `next_deadline` stays due, so the
        // caller ticks again at once for the next.
        let expired = self
            .held
            .first()
            .filter(|(until, _)| *until <= now)
            .copied();
        if let Some((_, peer)) = expired {
            self.leave(peer, PeerLeftReason::Timeout, effects);
            return;
        }
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

    fn ask_help(&mut self, from: PeerId, now: Millis, effects: &mut Vec<Effect>) -> Outcome {
        let Some(room) = self.room_of(from).cloned() else {
            return Ok(());
        };
        if room.is_main() {
            return Err((ErrorCode::Conflict, "help requests are for breakout rooms"));
        }
        let hosts = self.moderators();
        if hosts.is_empty() {
            return Err((ErrorCode::NotFound, "no host is in the meeting right now"));
        }
        effects.push(Effect::Send {
            to: hosts,
            message: ServerMessage::HelpRequested {
                from,
                room,
                ts: now,
            },
        });
        Ok(())
    }

    /// The room of `from` if `to` is in it too (and is not `from`).
    fn same_room(&self, from: PeerId, to: PeerId) -> Result<(), Refusal> {
        if from == to {
            return Err((ErrorCode::BadRequest, "cannot address yourself"));
        }
        match (self.members.get(&from), self.members.get(&to)) {
            (Some(a), Some(b)) if a.room == b.room => Ok(()),
            _ => Err((ErrorCode::NotFound, "no such peer in your room")),
        }
    }

    fn role_of(&self, peer: PeerId) -> Role {
        self.members
            .get(&peer)
            .map(|m| m.identity.role)
            .unwrap_or(Role::Observer)
    }

    fn signal(
        &mut self,
        from: PeerId,
        to: PeerId,
        data: OpaqueJson,
        effects: &mut Vec<Effect>,
    ) -> Result<(), Refusal> {
        if !self.role_of(from).may_speak() && is_offer(&data) {
            return Err((ErrorCode::Forbidden, "observers cannot offer media"));
        }
        self.same_room(from, to)?;
        effects.push(Effect::Send {
            to: vec![to],
            message: ServerMessage::Signal { from, data },
        });
        Ok(())
    }

    fn chat(
        &mut self,
        from: PeerId,
        text: String,
        to: Option<PeerId>,
        now: Millis,
        effects: &mut Vec<Effect>,
    ) -> Result<(), Refusal> {
        let role = self.role_of(from);
        if !role.may_speak() {
            return Err((ErrorCode::Forbidden, "observers cannot chat"));
        }
        check_chat_text(&text)?;
        if let Some(to) = to {
            if role.is_moderator() {
                // Hosts and cohosts may reach anyone in the meeting, in any room.
                if to == from {
                    return Err((ErrorCode::BadRequest, "cannot address yourself"));
                }
                if !self.members.contains_key(&to) {
                    return Err((ErrorCode::NotFound, "no such peer in this meeting"));
                }
            } else {
                self.same_room(from, to)?;
            }
        }
        let room_id = self
            .members
            .get(&from)
            .map(|m| m.room.clone())
            .unwrap_or_else(RoomId::main);
        let Some(room) = self.rooms.get_mut(&room_id) else {
            return Err((ErrorCode::Internal, "room missing"));
        };
        // Only group messages count in the room's `seq`: were private ones counted, everyone in
        // the room could see from the gaps that private messages were exchanged.
        let seq = if to.is_none() {
            room.seq += 1;
            room.seq
        } else {
            0
        };
        self.chat_id += 1;
        let message = ChatMessage {
            id: self.chat_id,
            seq,
            room: room_id,
            from,
            to,
            text,
            ts: now,
        };
        let recipients = match to {
            Some(to) => {
                for peer in [from, to] {
                    if let Some(member) = self.members.get_mut(&peer) {
                        member.remember_private(&message);
                    }
                }
                vec![from, to]
            }
            None => {
                room.push_history(message.clone());
                room.members.iter().copied().collect()
            }
        };
        effects.push(Effect::Send {
            to: recipients,
            message: ServerMessage::Chat(message),
        });
        Ok(())
    }

    fn app_data(
        &mut self,
        from: PeerId,
        payload: OpaqueJson,
        to: Option<PeerId>,
        effects: &mut Vec<Effect>,
    ) -> Result<(), Refusal> {
        if !self.role_of(from).may_speak() {
            return Err((ErrorCode::Forbidden, "observers cannot send app data"));
        }
        let recipients = match to {
            Some(to) => {
                self.same_room(from, to)?;
                vec![to]
            }
            None => {
                let room = self.room_of(from).cloned().unwrap_or_else(RoomId::main);
                self.room_members(&room)
                    .into_iter()
                    .filter(|&p| p != from)
                    .collect()
            }
        };
        if !recipients.is_empty() {
            effects.push(Effect::Send {
                to: recipients,
                message: ServerMessage::Data { from, payload, to },
            });
        }
        Ok(())
    }

    /// Checks that the indexes agree: every member is in exactly the room its record names, and
    /// every room lists only members. Used by tests after every step.
    pub fn check_invariants(&self) -> Result<(), String> {
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
            if room.history.len() > limits::CHAT_HISTORY_LEN
                || room.history_bytes > limits::CHAT_HISTORY_BYTES
            {
                return Err(format!("history of {room_id} over its bounds"));
            }
        }
        for (id, room) in &self.rooms {
            if room.private && (room.members.is_empty() || !self.asides.contains_key(id)) {
                return Err(format!("private room {id} empty or untracked"));
            }
        }
        if self.asides.keys().any(|id| !self.rooms.contains_key(id)) {
            return Err("a pull-aside record without its room".into());
        }
        if self.waiting.keys().any(|p| self.members.contains_key(p)) {
            return Err("someone is both waiting and a member".into());
        }
        let held: BTreeSet<(Millis, PeerId)> = self
            .members
            .iter()
            .filter_map(|(p, m)| m.away_until.map(|t| (t, *p)))
            .collect();
        if held != self.held {
            return Err(format!("held seats {held:?} but indexed {:?}", self.held));
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

/// Whether a signal's opaque `data` is an SDP offer, in either shape clients use:
/// `{"type":"offer",...}` or `{"description":{"type":"offer",...}}`.
pub fn is_offer(data: &OpaqueJson) -> bool {
    let Ok(data) = serde_json::from_str::<serde_json::Value>(data.get()) else {
        return false;
    };
    let data = &data;
    let kind = |v: &serde_json::Value| v.get("type").and_then(|t| t.as_str()) == Some("offer");
    kind(data) || data.get("description").is_some_and(kind)
}

/// Actions only hosts and cohosts may take (and that are audited).
/// Someone in the waiting room as hosts (and they themselves) see them: no room, no media yet.
fn waiting_peer(id: PeerId, identity: &Identity) -> Peer {
    Peer {
        id,
        name: identity.name.clone(),
        role: identity.role,
        reconnecting: false,
        hand: false,
        audio: None,
        video: None,
    }
}

/// Whom a moderator action concerns and a word on how, for the audit trail (never text).
#[derive(Debug, Default)]
struct AuditTerms {
    subject: Option<PeerId>,
    detail: Option<String>,
    other: Option<PeerId>,
}

fn audit_terms(message: &ClientMessage) -> AuditTerms {
    use ClientMessage as M;
    let on_off = |on: bool| Some(if on { "on" } else { "off" }.to_owned());
    let (subject, detail) = match message {
        M::Move { peer, .. } | M::RequestMute { peer, .. } | M::TransferHost { peer } => {
            (Some(*peer), None)
        }
        M::PullAside { peer } => (Some(*peer), None),
        M::Admit { peer } | M::Deny { peer } => (*peer, peer.is_none().then(|| "all".to_owned())),
        M::Remove { peer, ban } => (Some(*peer), ban.then(|| "ban".to_owned())),
        M::SetRole { peer, role } => (Some(*peer), Some(role.as_str().to_owned())),
        M::RaiseHand { peer, .. } => (*peer, Some("lowered".to_owned())),
        M::Swap { a, b } => {
            return AuditTerms {
                subject: Some(*a),
                detail: None,
                other: Some(*b),
            }
        }
        M::Lock { locked } => (None, on_off(*locked)),
        M::SetLobby { enabled } => (None, on_off(*enabled)),
        M::Split { strategy, .. } => (None, Some(format!("{strategy:?}").to_lowercase())),
        _ => (None, None),
    };
    AuditTerms {
        subject,
        detail,
        other: None,
    }
}

fn is_moderator_action(message: &ClientMessage) -> bool {
    use ClientMessage as M;
    matches!(
        message,
        M::Split { .. }
            | M::Move { .. }
            | M::Swap { .. }
            | M::Visit { .. }
            | M::Broadcast { .. }
            | M::Merge { .. }
            | M::ExtendTimer { .. }
            | M::Reopen { .. }
            | M::Remove { .. }
            | M::EndMeeting {}
            | M::RequestMute { .. }
            | M::SetRole { .. }
            | M::TransferHost { .. }
            | M::Lock { .. }
            | M::SetLobby { .. }
            | M::PullAside { .. }
            | M::EndAside {}
            | M::Admit { .. }
            | M::Deny { .. }
    )
}

/// A `split` request, unpacked.
struct SplitRequest {
    strategy: SplitStrategy,
    count: Option<u32>,
    rooms: Vec<BreakoutRoomSpec>,
    topic: Option<String>,
    duration_secs: Option<u64>,
    spread_mentors: bool,
}

/// Seconds from a request, bounded, as milliseconds.
fn check_secs(secs: Option<u64>) -> Result<Option<Millis>, Refusal> {
    match secs {
        Some(s) if s > limits::MAX_BREAKOUT_SECS => {
            Err((ErrorCode::BadRequest, "duration too long"))
        }
        other => Ok(other.map(|s| s * 1000)),
    }
}

fn check_text(
    text: Option<&str>,
    max_chars: usize,
    why: &'static str,
) -> Result<Option<String>, Refusal> {
    match text.map(str::trim) {
        Some(t) if t.chars().count() > max_chars => Err((ErrorCode::TooLarge, why)),
        Some("") | None => Ok(None),
        Some(t) => Ok(Some(t.to_owned())),
    }
}

fn check_chat_text(text: &str) -> Outcome {
    if text.trim().is_empty() {
        return Err((ErrorCode::BadRequest, "empty message"));
    }
    if text.len() > limits::MAX_CHAT_TEXT_BYTES {
        return Err((ErrorCode::TooLarge, "message too long"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn who(sub: &str, role: Role) -> Identity {
        Identity {
            sub: sub.into(),
            name: format!("Name {sub}"),
            role,
        }
    }

    fn meeting() -> Meeting {
        Meeting::new(
            "m",
            MeetingConfig {
                max_members: 4,
                ..MeetingConfig::default()
            },
            7,
        )
    }

    fn join(m: &mut Meeting, id: u64, role: Role) -> Vec<Effect> {
        let e = m.handle(
            Input::Join {
                peer: PeerId(id),
                identity: who(&format!("s{id}"), role),
            },
            1,
        );
        m.check_invariants().unwrap();
        e
    }

    fn request(m: &mut Meeting, from: u64, message: ClientMessage) -> Vec<Effect> {
        let e = m.handle(
            Input::Request {
                from: PeerId(from),
                id: Some(1),
                message,
            },
            5,
        );
        m.check_invariants().unwrap();
        e
    }

    fn error_code(effects: &[Effect]) -> Option<ErrorCode> {
        effects.iter().find_map(|e| match e {
            Effect::Send {
                message: ServerMessage::Error { code, .. },
                ..
            } => Some(*code),
            _ => None,
        })
    }

    #[test]
    fn join_welcomes_and_announces() {
        let mut m = meeting();
        let e = join(&mut m, 1, Role::Host);
        assert_eq!(
            e.len(),
            5,
            "welcome, everyone, the lobby and hands (for a host), and the roster"
        );
        assert!(
            matches!(&e[4], Effect::Send { to, message: ServerMessage::Rooms { .. } } if to == &vec![PeerId(1)])
        );
        let e = join(&mut m, 2, Role::Participant);
        match &e[0] {
            Effect::Send {
                to,
                message: ServerMessage::Welcome { peers, room, .. },
            } => {
                assert_eq!(to, &vec![PeerId(2)]);
                assert_eq!(room, &RoomId::main());
                assert_eq!(peers.len(), 1);
                assert_eq!(peers[0].id, PeerId(1));
            }
            other => panic!("expected welcome, got {other:?}"),
        }
        assert!(
            matches!(&e[1], Effect::Send { to, message: ServerMessage::PeerJoined { .. } } if to == &vec![PeerId(1)])
        );
    }

    #[test]
    fn full_meeting_refuses_and_duplicate_ids_are_refused() {
        let mut m = meeting();
        for i in 1..=4 {
            join(&mut m, i, Role::Participant);
        }
        let e = join(&mut m, 5, Role::Participant);
        assert!(matches!(
            e[0],
            Effect::Refuse {
                code: ErrorCode::MeetingFull,
                ..
            }
        ));
        assert_eq!(m.member_count(), 4);
        m.handle(
            Input::Leave {
                peer: PeerId(4),
                reason: PeerLeftReason::Left,
            },
            2,
        );
        // Peer id 1 again, for someone else: refused. (The same person would take over.)
        let e = m.handle(
            Input::Join {
                peer: PeerId(1),
                identity: who("someone-else", Role::Participant),
            },
            3,
        );
        assert!(matches!(
            e[0],
            Effect::Refuse {
                code: ErrorCode::Internal,
                ..
            }
        ));
    }

    #[test]
    fn leave_tells_the_room_and_late_frames_are_ignored() {
        let mut m = meeting();
        join(&mut m, 1, Role::Host);
        join(&mut m, 2, Role::Participant);
        let e = m.handle(
            Input::Leave {
                peer: PeerId(2),
                reason: PeerLeftReason::Disconnected,
            },
            3,
        );
        assert_eq!(
            e[..1],
            vec![Effect::Send {
                to: vec![PeerId(1)],
                message: ServerMessage::PeerLeft {
                    id: PeerId(2),
                    reason: PeerLeftReason::Disconnected
                }
            }]
        );
        assert!(
            matches!(&e[1], Effect::Send { to, message: ServerMessage::Rooms { .. } } if to == &vec![PeerId(1)])
        );
        let e = request(
            &mut m,
            2,
            ClientMessage::Chat {
                text: "late".into(),
                to: None,
            },
        );
        assert!(e.is_empty());
        m.handle(
            Input::Leave {
                peer: PeerId(1),
                reason: PeerLeftReason::Left,
            },
            4,
        );
        assert!(m.can_stop());
    }

    #[test]
    fn chat_sequence_history_and_privacy() {
        let mut m = meeting();
        join(&mut m, 1, Role::Host);
        join(&mut m, 2, Role::Participant);
        join(&mut m, 3, Role::Participant);
        let mut seqs = vec![];
        for i in 0..3 {
            let e = request(
                &mut m,
                2,
                ClientMessage::Chat {
                    text: format!("t{i}"),
                    to: None,
                },
            );
            match &e[0] {
                Effect::Send {
                    to,
                    message: ServerMessage::Chat(c),
                } => {
                    assert_eq!(to, &vec![PeerId(1), PeerId(2), PeerId(3)]);
                    assert_eq!(c.from, PeerId(2));
                    assert_eq!(c.ts, 5);
                    seqs.push(c.seq);
                }
                other => panic!("{other:?}"),
            }
        }
        assert!(seqs.windows(2).all(|w| w[0] < w[1]));
        let e = request(
            &mut m,
            2,
            ClientMessage::Chat {
                text: "psst".into(),
                to: Some(PeerId(3)),
            },
        );
        assert!(matches!(&e[0], Effect::Send { to, .. } if to == &vec![PeerId(2), PeerId(3)]));
        let e = join(&mut m, 4, Role::Participant);
        let Effect::Send {
            message: ServerMessage::Welcome { chat, .. },
            ..
        } = &e[0]
        else {
            panic!()
        };
        assert_eq!(
            chat.iter().map(|c| c.text.as_str()).collect::<Vec<_>>(),
            ["t0", "t1", "t2"]
        );
    }

    #[test]
    fn roles_are_enforced_on_every_message() {
        let mut m = meeting();
        join(&mut m, 1, Role::Host);
        join(&mut m, 2, Role::Observer);
        let chat = ClientMessage::Chat {
            text: "hi".into(),
            to: None,
        };
        assert_eq!(
            error_code(&request(&mut m, 2, chat)),
            Some(ErrorCode::Forbidden)
        );
        let offer = ClientMessage::Signal {
            to: PeerId(1),
            data: json!({"type": "offer", "sdp": ""}).into(),
        };
        assert_eq!(
            error_code(&request(&mut m, 2, offer)),
            Some(ErrorCode::Forbidden)
        );
        let answer = ClientMessage::Signal {
            to: PeerId(1),
            data: json!({"type": "answer", "sdp": ""}).into(),
        };
        assert_eq!(error_code(&request(&mut m, 2, answer)), None);
        let data = ClientMessage::Data {
            payload: json!(1).into(),
            to: None,
        };
        assert_eq!(
            error_code(&request(&mut m, 2, data)),
            Some(ErrorCode::Forbidden)
        );
    }

    #[test]
    fn history_is_bounded_by_count_and_bytes() {
        let mut m = Meeting::new("m", MeetingConfig::default(), 7);
        join(&mut m, 1, Role::Participant);
        for i in 0..(limits::CHAT_HISTORY_LEN + 50) {
            m.handle(
                Input::Request {
                    from: PeerId(1),
                    id: None,
                    message: ClientMessage::Chat {
                        text: format!("{i}"),
                        to: None,
                    },
                },
                1,
            );
        }
        m.check_invariants().unwrap();
        let big = "b".repeat(limits::MAX_CHAT_TEXT_BYTES);
        for _ in 0..40 {
            m.handle(
                Input::Request {
                    from: PeerId(1),
                    id: None,
                    message: ClientMessage::Chat {
                        text: big.clone(),
                        to: None,
                    },
                },
                1,
            );
        }
        m.check_invariants().unwrap();
    }

    #[test]
    fn offers_are_recognised_in_both_shapes() {
        assert!(is_offer(&json!({"type": "offer"}).into()));
        assert!(is_offer(&json!({"description": {"type": "offer"}}).into()));
        assert!(!is_offer(
            &json!({"description": {"type": "answer"}}).into()
        ));
        assert!(!is_offer(
            &json!({"candidate": {"candidate": "offer"}}).into()
        ));
        assert!(!is_offer(&json!("offer").into()));
    }

    fn welcome_of(effects: &[Effect], to: u64) -> Option<ServerMessage> {
        effects.iter().find_map(|e| match e {
            Effect::Send { to: t, message } if t == &vec![PeerId(to)] => match message {
                ServerMessage::Welcome { .. } => Some(message.clone()),
                _ => None,
            },
            _ => None,
        })
    }

    fn resume_token(effects: &[Effect], peer: u64) -> String {
        match welcome_of(effects, peer) {
            Some(ServerMessage::Welcome { resume_token, .. }) => resume_token,
            other => panic!("no welcome for {peer}: {other:?}"),
        }
    }

    fn chat_ids(message: &ServerMessage) -> Vec<u64> {
        match message {
            ServerMessage::Welcome { chat, .. } => chat.iter().map(|c| c.id).collect(),
            _ => Vec::new(),
        }
    }

    fn sent_to(effects: &[Effect], peer: u64) -> Vec<ServerMessage> {
        effects
            .iter()
            .filter_map(|e| match e {
                Effect::Send { to, message } if to.contains(&PeerId(peer)) => Some(message.clone()),
                _ => None,
            })
            .collect()
    }

    fn refused_as_expired(effects: &[Effect]) -> bool {
        matches!(
            effects,
            [Effect::Refuse {
                code: ErrorCode::ResumeExpired,
                ..
            }]
        )
    }

    fn resume(
        m: &mut Meeting,
        peer: u64,
        sub: &str,
        token: &str,
        room: Option<RoomId>,
        last_chat: u64,
        now: Millis,
    ) -> Vec<Effect> {
        let e = m.handle(
            Input::Resume {
                peer: PeerId(peer),
                identity: who(sub, Role::Participant),
                resume: ResumeRequest {
                    token: token.to_owned(),
                    room,
                    last_chat,
                },
            },
            now,
        );
        m.check_invariants().unwrap();
        e
    }

    #[test]
    fn a_dropped_seat_is_held_then_resumed_with_exactly_the_missed_chat() {
        let mut m = meeting();
        join(&mut m, 1, Role::Host);
        let e = join(&mut m, 2, Role::Participant);
        let token = resume_token(&e, 2);
        let say = |m: &mut Meeting, from: u64, text: &str| {
            request(
                m,
                from,
                ClientMessage::Chat {
                    text: text.into(),
                    to: None,
                },
            )
        };
        say(&mut m, 1, "before"); // id 1: seen
        say(&mut m, 1, "in flight"); // id 2: lost with the socket
        let e = m.handle(Input::Dropped { peer: PeerId(2) }, 10);
        assert!(m.is_away(PeerId(2)));
        assert!(sent_to(&e, 1)
            .iter()
            .any(|msg| matches!(msg, ServerMessage::PeerReconnecting { id } if *id == PeerId(2))));
        assert_eq!(m.next_deadline(), Some(10 + 30_000));
        say(&mut m, 1, "while away"); // id 3
        request(
            &mut m,
            1,
            ClientMessage::Chat {
                text: "private".into(),
                to: Some(PeerId(2)),
            },
        ); // id 4
           // A resume for someone else's seat, or with a wrong token, is refused.
        let e = resume(&mut m, 9, "s1", &token, Some(RoomId::main()), 1, 20);
        assert!(refused_as_expired(&e), "{e:?}");
        let e = resume(&mut m, 9, "s2", &token, Some(RoomId::main()), 1, 20);
        m.check_invariants().unwrap();
        assert!(matches!(
            e.first(),
            Some(Effect::TakeOver {
                seat: PeerId(2),
                by: PeerId(9)
            })
        ));
        let welcome = welcome_of(&e, 2).expect("resumed welcome");
        assert_eq!(chat_ids(&welcome), vec![2, 3, 4]);
        match &welcome {
            ServerMessage::Welcome {
                resumed,
                you,
                resume_token,
                ..
            } => {
                assert!(resumed);
                assert_eq!(you.id, PeerId(2));
                assert_ne!(resume_token, &token, "a new token with every welcome");
            }
            _ => unreachable!(),
        }
        assert!(!m.is_away(PeerId(2)));
        assert!(sent_to(&e, 1)
            .iter()
            .any(|msg| matches!(msg, ServerMessage::PeerReconnected { id } if *id == PeerId(2))));
        // The old token is spent.
        let e = resume(&mut m, 10, "s2", &token, None, 0, 21);
        assert!(refused_as_expired(&e), "{e:?}");
    }

    #[test]
    fn a_held_seat_times_out_and_then_resume_is_refused() {
        let mut m = meeting();
        join(&mut m, 1, Role::Host);
        let e = join(&mut m, 2, Role::Participant);
        let token = resume_token(&e, 2);
        m.handle(Input::Dropped { peer: PeerId(2) }, 100);
        // Not yet.
        let e = m.handle(Input::Tick, 100 + 29_999);
        assert!(m.contains(PeerId(2)) && e.is_empty());
        let e = m.handle(Input::Tick, 100 + 30_000);
        m.check_invariants().unwrap();
        assert!(!m.contains(PeerId(2)));
        assert!(sent_to(&e, 1).iter().any(|msg| matches!(
            msg,
            ServerMessage::PeerLeft {
                id: PeerId(2),
                reason: PeerLeftReason::Timeout
            }
        )));
        let e = resume(
            &mut m,
            3,
            "s2",
            &token,
            Some(RoomId::main()),
            0,
            100 + 31_000,
        );
        assert!(refused_as_expired(&e), "{e:?}");
    }

    #[test]
    fn a_resume_after_a_move_lands_in_the_new_room_with_its_history() {
        let mut m = meeting();
        join(&mut m, 1, Role::Host);
        let e = join(&mut m, 2, Role::Participant);
        let token = resume_token(&e, 2);
        join(&mut m, 3, Role::Participant);
        request(
            &mut m,
            1,
            ClientMessage::Chat {
                text: "main".into(),
                to: None,
            },
        );
        m.handle(Input::Dropped { peer: PeerId(2) }, 10);
        request(
            &mut m,
            1,
            ClientMessage::Split {
                strategy: SplitStrategy::Even,
                count: Some(1),
                rooms: Vec::new(),
                topic: None,
                duration_secs: None,
                spread_mentors: None,
            },
        );
        let room = m.room_of(PeerId(2)).cloned().expect("member");
        assert!(!room.is_main(), "a held seat is moved like any other");
        request(
            &mut m,
            3,
            ClientMessage::Chat {
                text: "breakout".into(),
                to: None,
            },
        );
        let e = resume(&mut m, 9, "s2", &token, Some(RoomId::main()), 1, 20);
        match welcome_of(&e, 2) {
            Some(ServerMessage::Welcome {
                room: r,
                chat,
                resumed,
                ..
            }) => {
                assert!(resumed);
                assert_eq!(r, room);
                assert_eq!(
                    chat.iter().map(|c| c.text.as_str()).collect::<Vec<_>>(),
                    vec!["breakout"],
                    "the new room's history, to replace the old room's"
                );
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_clean_leave_and_a_waiting_drop_hold_nothing() {
        let mut m = meeting();
        join(&mut m, 1, Role::Host);
        join(&mut m, 2, Role::Participant);
        m.handle(
            Input::Leave {
                peer: PeerId(2),
                reason: PeerLeftReason::Left,
            },
            10,
        );
        assert!(!m.contains(PeerId(2)));
        request(&mut m, 1, ClientMessage::SetLobby { enabled: true });
        join(&mut m, 3, Role::Participant);
        assert!(m.is_waiting(PeerId(3)));
        m.handle(Input::Dropped { peer: PeerId(3) }, 20);
        assert!(!m.is_waiting(PeerId(3)));
        m.check_invariants().unwrap();
    }

    #[test]
    fn an_ended_meeting_stays_closed_to_participants_until_a_host_starts_it_again() {
        let mut m = meeting();
        join(&mut m, 1, Role::Host);
        join(&mut m, 2, Role::Participant);
        request(
            &mut m,
            1,
            ClientMessage::Chat {
                text: "private to this session".into(),
                to: None,
            },
        );
        request(&mut m, 1, ClientMessage::EndMeeting {});
        assert!(m.is_ended() && !m.can_stop() && m.member_count() == 0);
        let e = join(&mut m, 3, Role::Participant);
        assert!(matches!(
            e.as_slice(),
            [Effect::Refuse {
                code: ErrorCode::MeetingEnded,
                ..
            }]
        ));
        let e = join(&mut m, 4, Role::Cohost);
        assert!(!m.is_ended());
        match welcome_of(&e, 4) {
            Some(ServerMessage::Welcome { chat, .. }) => {
                assert!(chat.is_empty(), "nothing of the last session")
            }
            other => panic!("{other:?}"),
        }
        join(&mut m, 3, Role::Participant);
        assert!(m.contains(PeerId(3)));
        // Forgotten after a while: the actor may stop.
        m.handle(
            Input::Leave {
                peer: PeerId(3),
                reason: PeerLeftReason::Left,
            },
            10,
        );
        request(&mut m, 4, ClientMessage::EndMeeting {});
        let forget = m
            .next_deadline()
            .expect("a deadline to forget the ended meeting");
        m.handle(Input::Tick, forget);
        assert!(m.can_stop());
    }

    #[test]
    fn every_moderator_action_is_audited() {
        let mut m = Meeting::new("m", MeetingConfig::default(), 3);
        for (id, role) in [
            (1, Role::Host),
            (2, Role::Participant),
            (3, Role::Participant),
            (4, Role::Participant),
        ] {
            join(&mut m, id, role);
        }
        let mut audited = BTreeSet::new();
        let mut act = |m: &mut Meeting, by: u64, message: ClientMessage| {
            let kind = message.kind();
            let e = request(m, by, message);
            assert_eq!(error_code(&e), None, "{kind} refused: {e:?}");
            assert!(
                e.iter().any(|e| matches!(
                    e,
                    Effect::Audit { by: b, action, .. } if *b == PeerId(by) && *action == kind
                )),
                "{kind} not audited"
            );
            audited.insert(kind);
        };
        act(
            &mut m,
            1,
            ClientMessage::RequestMute {
                peer: PeerId(2),
                audio: true,
                video: false,
            },
        );
        act(&mut m, 1, ClientMessage::Lock { locked: true });
        act(&mut m, 1, ClientMessage::Lock { locked: false });
        act(&mut m, 1, ClientMessage::SetLobby { enabled: true });
        join(&mut m, 5, Role::Participant);
        act(
            &mut m,
            1,
            ClientMessage::Admit {
                peer: Some(PeerId(5)),
            },
        );
        join(&mut m, 6, Role::Participant);
        act(&mut m, 1, ClientMessage::Deny { peer: None });
        act(&mut m, 1, ClientMessage::SetLobby { enabled: false });
        act(
            &mut m,
            1,
            ClientMessage::SetRole {
                peer: PeerId(2),
                role: Role::Cohost,
            },
        );
        act(
            &mut m,
            1,
            ClientMessage::Split {
                strategy: SplitStrategy::Even,
                count: Some(2),
                rooms: Vec::new(),
                topic: None,
                duration_secs: Some(600),
                spread_mentors: None,
            },
        );
        let breakouts: Vec<RoomId> = m.room_ids().into_iter().filter(|r| !r.is_main()).collect();
        let (a, b) = (
            m.room_members(&breakouts[0])[0],
            m.room_members(&breakouts[1])[0],
        );
        act(&mut m, 1, ClientMessage::Swap { a, b });
        act(
            &mut m,
            1,
            ClientMessage::Move {
                peer: a,
                room: breakouts[0].clone(),
            },
        );
        act(
            &mut m,
            1,
            ClientMessage::Visit {
                room: breakouts[1].clone(),
            },
        );
        act(
            &mut m,
            1,
            ClientMessage::Broadcast {
                text: "two minutes".into(),
            },
        );
        act(&mut m, 1, ClientMessage::ExtendTimer { secs: 60 });
        act(
            &mut m,
            1,
            ClientMessage::Merge {
                countdown_secs: None,
                rooms: Vec::new(),
            },
        );
        act(
            &mut m,
            1,
            ClientMessage::Reopen {
                duration_secs: None,
            },
        );
        act(
            &mut m,
            1,
            ClientMessage::Merge {
                countdown_secs: None,
                rooms: Vec::new(),
            },
        );
        act(&mut m, 1, ClientMessage::PullAside { peer: PeerId(3) });
        act(&mut m, 1, ClientMessage::EndAside {});
        act(
            &mut m,
            1,
            ClientMessage::Remove {
                peer: PeerId(4),
                ban: true,
            },
        );
        act(&mut m, 1, ClientMessage::TransferHost { peer: PeerId(2) });
        act(&mut m, 2, ClientMessage::EndMeeting {});
        let all = [
            "split",
            "move",
            "swap",
            "visit",
            "broadcast",
            "merge",
            "extend_timer",
            "reopen",
            "remove",
            "end_meeting",
            "request_mute",
            "set_role",
            "transfer_host",
            "lock",
            "set_lobby",
            "pull_aside",
            "end_aside",
            "admit",
            "deny",
        ];
        assert_eq!(audited, all.into_iter().collect::<BTreeSet<_>>());
    }

    #[test]
    fn moderators_get_the_lobby_and_hands_with_every_welcome_and_promotion() {
        let mut m = meeting();
        let e = join(&mut m, 1, Role::Host);
        let to_host = sent_to(&e, 1);
        assert!(matches!(to_host[0], ServerMessage::Welcome { .. }));
        assert!(to_host
            .iter()
            .any(|msg| matches!(msg, ServerMessage::Lobby { .. })));
        assert!(to_host
            .iter()
            .any(|msg| matches!(msg, ServerMessage::Hands { .. })));
        assert!(to_host
            .iter()
            .any(|msg| matches!(msg, ServerMessage::People { peers } if peers.len() == 1)));
        let e = join(&mut m, 2, Role::Participant);
        assert!(!sent_to(&e, 2).iter().any(|msg| matches!(
            msg,
            ServerMessage::Lobby { .. } | ServerMessage::Hands { .. }
        )));
        request(
            &mut m,
            2,
            ClientMessage::RaiseHand {
                raised: true,
                peer: None,
            },
        );
        let e = request(
            &mut m,
            1,
            ClientMessage::SetRole {
                peer: PeerId(2),
                role: Role::Cohost,
            },
        );
        assert!(sent_to(&e, 2)
            .iter()
            .any(|msg| matches!(msg, ServerMessage::Hands { queue } if queue == &vec![PeerId(2)])));
    }

    #[test]
    fn a_host_lowers_a_hand_and_the_person_hears_of_it() {
        let mut m = meeting();
        join(&mut m, 1, Role::Host);
        join(&mut m, 2, Role::Participant);
        join(&mut m, 3, Role::Participant);
        let e = request(
            &mut m,
            2,
            ClientMessage::RaiseHand {
                raised: true,
                peer: None,
            },
        );
        assert!(sent_to(&e, 3).iter().any(|msg| matches!(
            msg,
            ServerMessage::PeerUpdated { peer } if peer.id == PeerId(2) && peer.hand
        )));
        let e = request(
            &mut m,
            3,
            ClientMessage::RaiseHand {
                raised: false,
                peer: Some(PeerId(2)),
            },
        );
        assert_eq!(error_code(&e), Some(ErrorCode::Forbidden));
        let lower = ClientMessage::RaiseHand {
            raised: false,
            peer: Some(PeerId(2)),
        };
        let e = request(&mut m, 1, lower.clone());
        assert!(sent_to(&e, 2).iter().any(|msg| matches!(
            msg,
            ServerMessage::PeerUpdated { peer } if peer.id == PeerId(2) && !peer.hand
        )));
        assert!(e.iter().any(|e| matches!(
            e,
            Effect::Audit { action: "raise_hand", subject: Some(PeerId(2)), detail: Some(d), .. } if d == "lowered"
        )));
        assert!(sent_to(&e, 1)
            .iter()
            .any(|msg| matches!(msg, ServerMessage::Hands { queue } if queue.is_empty())));
        // Lowering a hand that is down is a conflict, not a second audit entry.
        let e = request(&mut m, 1, lower);
        assert_eq!(error_code(&e), Some(ErrorCode::Conflict));
    }

    #[test]
    fn a_replayed_closing_warning_is_current_or_dropped() {
        let mut m = Meeting::new(
            "m",
            MeetingConfig {
                breakout_warning_ms: 10_000,
                ..MeetingConfig::default()
            },
            5,
        );
        join(&mut m, 1, Role::Host);
        let e = join(&mut m, 2, Role::Participant);
        let token = resume_token(&e, 2);
        join(&mut m, 3, Role::Participant);
        request(
            &mut m,
            1,
            ClientMessage::Split {
                strategy: SplitStrategy::Even,
                count: Some(1),
                rooms: Vec::new(),
                topic: None,
                duration_secs: Some(60),
                spread_mentors: None,
            },
        );
        // The request helper runs at t = 5: the rooms close at 60,005; the warning is due at 50,005.
        m.handle(Input::Dropped { peer: PeerId(2) }, 40_000);
        m.handle(Input::Tick, 50_005);
        let e = resume(&mut m, 9, "s2", &token, None, 0, 55_005);
        let closing: Vec<u64> = sent_to(&e, 2)
            .iter()
            .filter_map(|msg| match msg {
                ServerMessage::BreakoutClosing { seconds, .. } => Some(*seconds),
                _ => None,
            })
            .collect();
        assert_eq!(closing, vec![5], "recounted from the resume time");
    }

    #[test]
    fn notices_sent_to_a_held_seat_are_replayed_after_the_resume() {
        let mut m = meeting();
        join(&mut m, 1, Role::Host);
        let e = join(&mut m, 2, Role::Participant);
        let token = resume_token(&e, 2);
        m.handle(Input::Dropped { peer: PeerId(2) }, 10);
        request(
            &mut m,
            1,
            ClientMessage::Broadcast {
                text: "back in five".into(),
            },
        );
        request(
            &mut m,
            1,
            ClientMessage::RequestMute {
                peer: PeerId(2),
                audio: true,
                video: false,
            },
        );
        let e = resume(&mut m, 9, "s2", &token, Some(RoomId::main()), 0, 20);
        let to_seat = sent_to(&e, 2);
        assert!(matches!(
            to_seat[0],
            ServerMessage::Welcome { replayed: 2, .. }
        ));
        let kinds: Vec<&str> = to_seat[1..]
            .iter()
            .map(|msg| match msg {
                ServerMessage::Broadcast { .. } => "broadcast",
                ServerMessage::MuteRequested { .. } => "mute_requested",
                _ => "other",
            })
            .collect();
        assert_eq!(kinds, vec!["broadcast", "mute_requested"]);
    }

    #[test]
    fn leaving_during_a_pull_aside_is_told_to_the_room_left_behind() {
        let mut m = meeting();
        join(&mut m, 1, Role::Host);
        join(&mut m, 2, Role::Participant);
        join(&mut m, 3, Role::Participant);
        request(&mut m, 1, ClientMessage::PullAside { peer: PeerId(2) });
        let e = m.handle(
            Input::Leave {
                peer: PeerId(2),
                reason: PeerLeftReason::Left,
            },
            10,
        );
        m.check_invariants().unwrap();
        assert!(sent_to(&e, 3).iter().any(|msg| matches!(
            msg,
            ServerMessage::PeerLeft {
                id: PeerId(2),
                reason: PeerLeftReason::Left
            }
        )));
        assert_eq!(
            m.room_of(PeerId(1)),
            Some(&RoomId::main()),
            "the host is back"
        );
    }

    #[test]
    fn an_ended_meeting_is_not_reopened_by_a_resume_or_a_banned_cohost() {
        let mut m = meeting();
        join(&mut m, 1, Role::Host);
        let e = join(&mut m, 2, Role::Cohost);
        let token = resume_token(&e, 2);
        join(&mut m, 3, Role::Cohost);
        request(
            &mut m,
            1,
            ClientMessage::Remove {
                peer: PeerId(3),
                ban: true,
            },
        );
        m.handle(Input::Dropped { peer: PeerId(2) }, 10);
        request(&mut m, 1, ClientMessage::EndMeeting {});
        // The held seat's owner comes back: told the meeting ended, not "join afresh".
        let e = m.handle(
            Input::Resume {
                peer: PeerId(9),
                identity: who("s2", Role::Cohost),
                resume: ResumeRequest {
                    token,
                    room: Some(RoomId::main()),
                    last_chat: 0,
                },
            },
            20,
        );
        assert!(matches!(
            e.as_slice(),
            [Effect::Refuse {
                code: ErrorCode::MeetingEnded,
                ..
            }]
        ));
        // The banned cohost is refused and the meeting stays ended.
        let e = join(&mut m, 3, Role::Cohost);
        assert_eq!(error_code(&e), None);
        assert!(matches!(
            e.as_slice(),
            [Effect::Refuse {
                code: ErrorCode::Forbidden,
                ..
            }]
        ));
        assert!(m.is_ended() && !m.can_stop());
    }

    #[test]
    fn the_host_role_is_not_handed_to_a_held_seat() {
        let mut m = meeting();
        join(&mut m, 1, Role::Host);
        join(&mut m, 2, Role::Participant);
        m.handle(Input::Dropped { peer: PeerId(2) }, 10);
        let e = request(&mut m, 1, ClientMessage::TransferHost { peer: PeerId(2) });
        assert_eq!(error_code(&e), Some(ErrorCode::Conflict));
        let e = request(&mut m, 1, ClientMessage::PullAside { peer: PeerId(2) });
        assert_eq!(error_code(&e), Some(ErrorCode::Conflict));
        assert_eq!(m.role(PeerId(1)), Some(Role::Host));
    }
}
