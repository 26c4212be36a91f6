//! The sans-IO meeting core: all state of one meeting (main room, breakout rooms, members, chat
//! histories, the breakout timer) and every rule about who may do what to whom.
//! `handle(input, now)` is the only way in and returns the effects to carry out; no sockets, clocks
//! or tasks in here, so tests drive it directly and deterministically. Split, merge and move are
//! single calls on `&mut self`: atomic, and every client sees one order of events.
//!
//! This file holds the types, the queries, `handle`, the request table (every arm delegates) and
//! `tick`. The rules live in one file per chapter of `proto/PROTOCOL.md`:
//! - [`membership`] — "Joining, one seat per person, leaving": join, seat, takeover, leave, drop.
//! - [`resume`] — "Resume after a drop": taking a held seat back, the notices replayed.
//! - [`waiting_room`] — "Waiting room": `set_lobby`, `admit`, `deny`.
//! - [`moderation`] — "Moderation": remove, end, roles, host handover, lock, hands, mute
//!   requests, media state, pull-aside, the audit trail.
//! - [`breakouts`] — "Breakout rooms": split, move, swap, visit, choose, broadcast, merge, the
//!   timer, reopen, help requests.
//! - [`rooms`] — "Rooms": room lists, and moving people between rooms in one step.
//! - [`relay`] — "Relay": signal, chat, data.
//! - [`agreement`] — "Consent before the group": the group's agreement, accepted before entering.
//! - [`rotation`] — rotating pairs: the round-robin schedule behind `split {strategy: rotate}`.
//! - [`schedule`] — "Scheduled sessions": the door before the start, the closing notice, the
//!   end, `extend_session`.
//! - [`media`] — "Media through the hub": the SFU's routes (who hears and sees whom), hard
//!   mutes, and the `sfu_*` requests handed to the media engine.
//! - [`events`] — "Server API", events: joined, left, moved, … as thin records.
//! - [`api`] — "Server API": a partner's backend reading and moderating the meeting by `sub`.
//! - [`invariants`] — what must hold after every step (checked by the tests).
//!
//! Invariants that several rules touch have one owner each: [`held_seats`], [`hand_queue`],
//! [`waiting_list`] and [`bounded_log`] (chat history, private replay, held notices).

mod agreement;
mod api;
mod bounded_log;
mod breakouts;
mod durable;
mod events;
mod hand_queue;
mod held_seats;
mod invariants;
mod media;
mod membership;
mod moderation;
mod relay;
mod resume;
mod rooms;
mod rotation;
mod schedule;
mod waiting_list;
mod waiting_room;

#[cfg(test)]
pub(crate) mod harness;
#[cfg(test)]
mod tests;

pub use self::api::{
    ApiAction, ApiAnswer, MeetingSnapshot, PersonAction, PersonSnapshot, PersonState,
};
pub use self::durable::Durable;
pub use self::events::{EventKind, EventPerson, MeetingEvent};
pub use self::media::{MediaEffect, MediaRequest, MediaRoute};
pub use self::moderation::Remembered;
pub use self::relay::is_offer;
pub use self::resume::ResumeKey;
pub use self::schedule::Schedule;

use self::bounded_log::BoundedLog;
use self::breakouts::SplitRequest;
use self::hand_queue::HandQueue;
use self::held_seats::HeldSeats;
use self::waiting_list::WaitingList;
use crate::limits;
use crate::protocol::{
    Access, ChatChannel, ChatHistory, ChatMessage, ClientMessage, CloseCode, ErrorCode, IceServer,
    IceTransportPolicy, MediaMode, MeetingKind, Peer, PeerId, PeerLeftReason, Refusal, RequestId,
    ResumeRequest, Role, RoomId, ServerMessage,
};
use rand::rngs::StdRng;
use rand::SeedableRng;
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

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
    /// The server API (a partner's backend) reads or moderates the meeting; answered with one
    /// [`Effect::ApiReply`].
    Api { action: ApiAction },
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
    /// The join of `peer` was refused: tell that connection why and close it as `refusal` says.
    Refuse { peer: PeerId, refusal: Refusal },
    /// The connection that asked to join as `by` is the same person (`sub`) as member `seat`: it
    /// takes over that seat (id, room, role) and the old connection is closed as replaced.
    /// Carried out before the effects that follow it, which address the seat.
    TakeOver { seat: PeerId, by: PeerId },
    /// Close `peer`'s connection with `code` (removed, meeting ended). The core has already
    /// taken the peer out; sends after this one skip it.
    Close { peer: PeerId, code: CloseCode },
    /// A moderator action, for the audit log (who, what, to whom). Never carries chat text.
    /// `subs` are the people's `sub`s as they were when the action was asked for (a removed
    /// subject is gone by the time this is carried out), for the log's keyed pseudonyms.
    Audit {
        by: PeerId,
        action: &'static str,
        subject: Option<PeerId>,
        detail: Option<String>,
        other: Option<PeerId>,
        subs: AuditSubs,
    },
    /// Something happened that the partner hears of (webhooks, the event log, attendance).
    Event(MeetingEvent),
    /// The answer to an [`Input::Api`].
    ApiReply(Result<ApiAnswer, Rejection>),
    /// For the media engine (SFU meetings). Routes come first in their batch: the engine has
    /// them before anyone is told of the change.
    Media(MediaEffect),
}

/// The `sub`s behind an audit line's peer ids (never sent to clients; logged only as keyed
/// pseudonyms).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuditSubs {
    pub by: Option<String>,
    pub subject: Option<String>,
    pub other: Option<String>,
}

/// Settings a meeting is created with.
#[derive(Debug, Clone)]
pub struct MeetingConfig {
    pub max_members: usize,
    pub ice_servers: Vec<IceServer>,
    /// Handed to clients with `ice_servers`: `relay` keeps IP addresses from other participants.
    pub ice_transport_policy: IceTransportPolicy,
    /// How long before a breakout timer ends everyone gets the closing notice.
    pub breakout_warning_ms: Millis,
    /// How long a dropped member's seat is held for `hello.resume` (0: not at all).
    pub resume_grace_ms: Millis,
    /// Meetings start with the waiting room on: nobody but hosts and cohosts gets in before a
    /// host or cohost admits them.
    pub waiting_room: bool,
    /// How long an ended meeting stays closed to everyone but hosts and cohosts.
    pub ended_meeting_memory_ms: Millis,
    /// Participants who arrive before any host or cohost wait, and are let in when one arrives
    /// (unless the waiting room is on: then a host admits them).
    pub wait_for_host: bool,
    /// Whether media goes through the hub (`sfu`) or browser to browser (`mesh`).
    pub media_mode: MediaMode,
    /// SFU meetings: the media engine's instance (`welcome.sfu_instance`).
    pub sfu_instance: Option<String>,
    /// Cluster mode: resume tokens are self-verifying (see [`ResumeKey`]).
    pub resume_key: Option<ResumeKey>,
    /// How long before a scheduled end everyone gets `session_ending`.
    pub session_ending_warning_ms: Millis,
    /// TURN servers whose credentials are minted for each person in their `welcome`.
    pub turn: Option<std::sync::Arc<crate::turn::TurnConfig>>,
    /// Whether meetings start keeping their chat (`keep`) or not (`none`).
    pub chat_history: ChatHistory,
    /// A clinician's session, or a drop-in run by mentors.
    pub kind: MeetingKind,
    /// The group's agreement every participant, mentor and observer accepts before entering.
    pub agreement: Option<String>,
}

impl Default for MeetingConfig {
    fn default() -> Self {
        MeetingConfig {
            max_members: limits::MAX_MEETING_MEMBERS,
            ice_servers: Vec::new(),
            ice_transport_policy: IceTransportPolicy::All,
            breakout_warning_ms: limits::BREAKOUT_WARNING_SECS * 1000,
            resume_grace_ms: limits::RESUME_GRACE_SECS * 1000,
            waiting_room: false,
            ended_meeting_memory_ms: limits::ENDED_MEETING_MEMORY_SECS * 1000,
            // Off in the core's own default, which tests build on; the hub's default is on
            // (`Config::wait_for_host`).
            wait_for_host: false,
            // Mesh in the core's own default, which the relay tests build on; the hub's default
            // is `sfu` (`Config::media_mode`).
            media_mode: MediaMode::Mesh,
            sfu_instance: None,
            resume_key: None,
            session_ending_warning_ms: limits::SESSION_ENDING_WARNING_SECS * 1000,
            turn: None,
            chat_history: ChatHistory::Keep,
            kind: MeetingKind::Session,
            agreement: None,
        }
    }
}

#[derive(Debug)]
struct Member {
    identity: Identity,
    room: RoomId,
    /// The secret that takes this seat back after a drop; a new one with every `welcome`.
    resume_token: String,
    /// The last private messages to or from this member, to replay those a dropped
    /// connection lost in flight (group messages replay from the room's history). Bounded in
    /// bytes too: anyone may send private messages.
    recent_private: BoundedLog<ChatMessage>,
    /// Microphone and camera on/off as last reported with `media_state`.
    media: Option<(bool, bool)>,
    /// When this person last raised their hand (see `limits::HAND_RAISE_MIN_MS`).
    hand_raised_at: Option<Millis>,
    /// Last id of this person's private-message series (see `ChatMessage::id`).
    private_seq: u64,
    /// Notices (broadcasts, help requests, mute requests, audit events, closing warnings) sent
    /// while the seat was held, replayed after the resumed `welcome`.
    missed: BoundedLog<ServerMessage>,
    /// When this person took the seat (a takeover or resume keeps it).
    joined_at: Millis,
    /// Sharing their screen, as they last reported with `media_state` (and allowed to).
    screen: bool,
}

impl Member {
    fn new(identity: Identity, room: RoomId, resume_token: String, now: Millis) -> Self {
        Member {
            screen: false,
            joined_at: now,
            identity,
            room,
            resume_token,
            recent_private: BoundedLog::new(
                limits::RESUME_PRIVATE_REPLAY,
                limits::RESUME_PRIVATE_REPLAY_BYTES,
            ),
            media: None,
            hand_raised_at: None,
            private_seq: 0,
            missed: BoundedLog::new(limits::RESUME_NOTICE_REPLAY, usize::MAX),
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
    history: BoundedLog<ChatMessage>,
    /// When the hosts were last asked for help from this room (see `limits::HELP_REPEAT_MS`).
    help_asked_at: Option<Millis>,
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
            history: BoundedLog::new(limits::CHAT_HISTORY_LEN, limits::CHAT_HISTORY_BYTES),
            help_asked_at: None,
        }
    }
}

/// The breakout rooms' shared timer and mode. (Kept in cluster mode's record: the next owner
/// closes the rooms when they were due to close.)
#[derive(Debug, Default, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
struct BreakoutClock {
    /// When the open breakouts close on their own.
    closes_at: Option<Millis>,
    /// Whether the closing notice for `closes_at` has gone out.
    warned: bool,
    /// Participants may pick their own room.
    choosing: bool,
    /// The round of a `rotate` split.
    round: Option<u32>,
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
    /// Last group chat message id given out (unique within the meeting; private messages are
    /// numbered per person).
    chat_id: u64,
    /// Last breakout number given out; breakout ids are never reused within a meeting, so a stale
    /// reference to a closed room cannot reach a new one.
    room_counter: u64,
    clock: BreakoutClock,
    last_split: Vec<ClosedRoom>,
    /// People (`sub`) removed with a ban: refused for the rest of the meeting.
    banned: HashSet<String>,
    /// Roles a host gave people (`set_role`, `transfer_host`), by `sub`: they hold for the rest
    /// of the meeting whatever token the person comes back with, so a demoted cohost cannot
    /// leave and rejoin to moderate again, and a host handover never leaves two hosts.
    assigned_roles: HashMap<String, Role>,
    /// While locked, only hosts and cohosts may join.
    locked: bool,
    /// Participants and mentors may share their screen (hosts and cohosts always may).
    screen_share_allowed: bool,
    /// A host turned reactions off.
    reactions_off: bool,
    /// Whether chat is kept for late joiners, or only as long as a resume may need it.
    chat_history: ChatHistory,
    /// The group's agreement in force, who (`sub`) accepted which version, and who is held
    /// apart reading it.
    agreement: Option<agreement::Agreement>,
    agreed: HashMap<String, String>,
    agreeing: WaitingList,
    /// Since chat was last kept again: group messages up to this id, and private ones before
    /// this time (ms), were said while it was not, and are never shown as history.
    chat_kept_since: (u64, Millis),
    /// Last id given to a staff-channel message (numbered apart from the rooms' messages, so
    /// their ids and counts say nothing of it).
    staff_id: u64,
    /// Raised hands, first raised first.
    hands: HandQueue,
    /// With the waiting room on, people other than hosts and cohosts wait here until admitted.
    lobby_enabled: bool,
    /// Connected but not admitted: not members, in no room, they see no one and nothing.
    waiting: WaitingList,
    /// Pull-aside rooms and where each of their two people came from.
    asides: BTreeMap<RoomId, Vec<(PeerId, RoomId)>>,
    /// Seats whose connection dropped, held for a resume until their deadline.
    held: HeldSeats,
    /// The time of the input being handled (helpers that schedule something read it here).
    now: Millis,
    /// When the debounced room list goes to everyone but hosts and cohosts (see
    /// `roster_changed`).
    rooms_due: Option<Millis>,
    /// When a host or cohost ended the meeting, while that is remembered (see `end`).
    ended_at: Option<Millis>,
    /// Hard mutes (`block_media`) by person (`sub`): (audio, video). Kept for the meeting's life
    /// like assigned roles, so leaving and rejoining does not lift one.
    /// Someone has been seated since the meeting was last empty or ended: a session is on
    /// (`meeting.started` was sent, `meeting.ended` is owed).
    started: bool,
    /// Cluster mode, a meeting started from another node's record: which self-verifying tokens
    /// may give back a seat the record lacks: those minted after the record's last mint (so the
    /// seat came after the last write that landed; an older one missing from the record was
    /// vacated) and before the restore (a seat this owner knew and lost stays lost).
    recoverable: Option<(u64, Millis)>,
    /// Resume tokens minted so far, across owners (kept in the record, see `recoverable`).
    mints: u64,
    /// Events of the input being handled, put at the end of its effects.
    events: Vec<MeetingEvent>,
    media_blocks: HashMap<String, (bool, bool)>,
    /// When the session may run (a partner's schedule), and what was done about its end.
    schedule: Schedule,
    end_state: schedule::EndState,
    /// The rotating pairs' schedule of this session.
    rotation: rotation::Rotation,
    /// The media routes last emitted (SFU meetings).
    routes: Vec<media::MediaRoute>,
    /// For the `random` strategy; seeded by the caller so tests are reproducible.
    rng: StdRng,
    /// For resume tokens. The hub seeds it from the OS with [`Meeting::with_token_seed`].
    tokens: StdRng,
}

/// A refused request: the `error` code and a human-readable reason; the connection stays.
pub type Rejection = (ErrorCode, &'static str);
type Outcome = Result<(), Rejection>;

const MAIN_ROOM_NAME: &str = "Main room";

impl Meeting {
    pub fn new(id: impl Into<String>, config: MeetingConfig, seed: u64) -> Self {
        let mut rooms = BTreeMap::new();
        rooms.insert(RoomId::main(), Room::new(0, MAIN_ROOM_NAME.into(), None));
        let waiting_room = config.waiting_room;
        let chat_history = config.chat_history;
        let agreement = config
            .agreement
            .as_deref()
            .and_then(agreement::Agreement::new);
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
            assigned_roles: HashMap::new(),
            locked: false,
            screen_share_allowed: false,
            reactions_off: false,
            chat_history,
            agreement,
            agreed: HashMap::new(),
            agreeing: WaitingList::default(),
            chat_kept_since: (0, 0),
            staff_id: 0,
            hands: HandQueue::default(),
            lobby_enabled: waiting_room,
            ended_at: None,
            held: HeldSeats::default(),
            now: 0,
            rooms_due: None,
            waiting: WaitingList::default(),
            asides: BTreeMap::new(),
            started: false,
            recoverable: None,
            mints: 0,
            events: Vec::new(),
            media_blocks: HashMap::new(),
            routes: Vec::new(),
            rotation: rotation::Rotation::default(),
            schedule: Schedule::default(),
            end_state: schedule::EndState::default(),
            rng: StdRng::seed_from_u64(seed),
            tokens: StdRng::seed_from_u64(!seed),
        }
    }

    /// Starts with `schedule` (a partner's, set before anyone arrived).
    pub fn with_schedule(mut self, schedule: Schedule) -> Self {
        self.schedule = schedule;
        self
    }

    /// Seeds resume tokens with 256 bits the caller took from the OS, so they cannot be guessed.
    pub fn with_token_seed(mut self, seed: [u8; 32]) -> Self {
        self.tokens = StdRng::from_seed(seed);
        self
    }

    /// Whether `peer`'s hand is raised.
    pub fn hand_raised(&self, peer: PeerId) -> bool {
        self.hands.contains(peer)
    }

    /// Until when `peer`'s dropped seat is held, if it is.
    pub fn away_until(&self, peer: PeerId) -> Option<Millis> {
        self.held.until(peer)
    }

    /// Whether `peer`'s connection has dropped and its seat is held.
    pub fn is_away(&self, peer: PeerId) -> bool {
        self.held.is_held(peer)
    }

    pub fn id(&self) -> &str {
        &self.id
    }

    /// No members, no one waiting, and no recently ended session to remember: the meeting's
    /// actor may stop.
    pub fn can_stop(&self) -> bool {
        self.members.is_empty()
            && self.waiting.is_empty()
            && self.agreeing.is_empty()
            && self.ended_at.is_none()
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
        self.waiting.contains(peer)
    }

    /// Everyone in the waiting room, in id order.
    pub fn waiting_ids(&self) -> Vec<PeerId> {
        self.waiting.ids()
    }

    /// The `sub` of a member or of someone waiting.
    pub fn sub_of(&self, peer: PeerId) -> Option<String> {
        match self.members.get(&peer) {
            Some(m) => Some(m.identity.sub.clone()),
            None => self
                .waiting
                .identity(peer)
                .or_else(|| self.agreeing.identity(peer))
                .map(|i| i.sub.clone()),
        }
    }

    /// The held seat whose grace is over at `now`, if any: the next tick gives it up.
    pub fn due_held_seat(&self, now: Millis) -> Option<PeerId> {
        self.held.first_due(now)
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

    /// A room's group history as late joiners and movers may see it (none while chat is not
    /// kept, and nothing said while it was not).
    fn shown_history<'a>(&'a self, room: &'a Room) -> impl Iterator<Item = &'a ChatMessage> + 'a {
        let shown = self.chat_history.is_keep();
        room.history
            .iter()
            .filter(move |m| shown && m.id > self.chat_kept_since.0)
    }

    /// Whether `from` may carry out this moderator message: hosts and cohosts always; in a
    /// drop-in, a mentor what a peer leader needs (admit from the waiting room, ask to mute,
    /// lower hands, remove without a ban) and no more.
    fn may_moderate(&self, from: PeerId, message: &ClientMessage) -> bool {
        let role = self.role_of(from);
        role.is_moderator()
            || (self.config.kind == MeetingKind::DropIn
                && role == Role::Mentor
                && matches!(
                    message,
                    ClientMessage::Admit { .. }
                        | ClientMessage::RequestMute { .. }
                        | ClientMessage::RaiseHand { .. }
                        | ClientMessage::Remove { ban: false, .. }
                ))
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
        let seats = self.held.next_deadline();
        let forget = self
            .ended_at
            .map(|t| t.saturating_add(self.config.ended_meeting_memory_ms));
        [
            breakouts,
            seats,
            forget,
            self.rooms_due,
            self.schedule_deadline(),
            self.chat_forget_deadline(),
        ]
        .into_iter()
        .flatten()
        .min()
    }

    /// The single entry point: apply `input` at time `now` and return what to do.
    pub fn handle(&mut self, input: Input, now: Millis) -> Vec<Effect> {
        self.now = now;
        let mut effects = Vec::new();
        // Relayed messages change no routes and are the hot path: no route check for them.
        let may_reroute = !matches!(
            &input,
            Input::Request {
                message: ClientMessage::Signal { .. }
                    | ClientMessage::Chat { .. }
                    | ClientMessage::React { .. }
                    | ClientMessage::Data { .. }
                    | ClientMessage::SfuAnswer { .. }
                    | ClientMessage::SfuSubscribe { .. }
                    | ClientMessage::MediaState { .. },
                ..
            }
        );
        let had_breakouts = may_reroute && self.has_breakouts();
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
            Input::Api { action } => self.api(action, now, &mut effects),
            Input::Request { from, id, message } => {
                self.answer(from, id, message, now, &mut effects)
            }
        }
        if may_reroute {
            self.session_events(had_breakouts, &mut effects);
            self.reroute(&mut effects);
        }
        if !self.held.is_empty() {
            self.hold_notices(&effects);
        }
        effects
    }

    /// A member's request: the coarse role gate from the message's policy, the request itself,
    /// its audit line, then `ack` or `error` to the sender.
    fn answer(
        &mut self,
        from: PeerId,
        id: Option<RequestId>,
        message: ClientMessage,
        now: Millis,
        effects: &mut Vec<Effect>,
    ) {
        if self.agreeing.contains(from) {
            // Held apart until they accept: nothing else is carried out for them.
            let outcome = match message {
                ClientMessage::AcceptAgreement { version } => {
                    self.accept_agreement(from, version, now, effects)
                }
                _ => Err((ErrorCode::Forbidden, "accept the group's agreement first")),
            };
            match (outcome, id) {
                (Ok(()), Some(reference)) if !self.agreeing.contains(from) => {
                    // Entered (or waiting): the ack follows their welcome or waiting notice.
                    effects.send_one(from, ServerMessage::Ack { reference })
                }
                (Ok(()), _) => {}
                (Err((code, why)), reference) => {
                    effects.send_one(from, ServerMessage::error(code, why, reference))
                }
            }
            return;
        }
        if self.waiting.contains(from) {
            let refusal =
                ServerMessage::error(ErrorCode::Forbidden, "waiting for a host to let you in", id);
            effects.send_one(from, refusal);
            return;
        }
        if !self.members.contains_key(&from) || self.held.is_held(from) {
            // A late frame from a connection that already left or dropped: nothing to
            // answer (a held seat speaks again only after a resume).
            return;
        }
        let action = message.kind();
        // The media engine answers these itself, once it has carried them out.
        let engine_answers = matches!(
            message,
            ClientMessage::SfuPublish { .. } | ClientMessage::SfuAnswer { .. }
        );
        let moderator_action = message.access_from(from) == Access::Moderator;
        let terms = moderator_action.then(|| message.audit_terms());
        let subs = terms.as_ref().map(|t| AuditSubs {
            by: self.sub_of(from),
            subject: t.subject.and_then(|p| self.sub_of(p)),
            other: t.other.and_then(|p| self.sub_of(p)),
        });
        let outcome = if moderator_action && !self.may_moderate(from, &message) {
            Err((ErrorCode::Forbidden, "only hosts and cohosts may do this"))
        } else {
            self.request(from, id, message, now, effects)
        };
        if let (Some(terms), Some(subs), Ok(())) = (terms, subs, &outcome) {
            self.audit(from, action, terms, subs, now, effects);
        }
        match (outcome, id) {
            // Ending the meeting closed the sender's socket too: no one to ack.
            (Ok(()), Some(_)) if !self.members.contains_key(&from) || engine_answers => {}
            (Ok(()), Some(reference)) => effects.send_one(from, ServerMessage::Ack { reference }),
            (Ok(()), None) => {}
            (Err((code, why)), reference) => {
                effects.send_one(from, ServerMessage::error(code, why, reference))
            }
        }
    }

    /// The request table: one arm per message, each delegating to its chapter's file.
    fn request(
        &mut self,
        from: PeerId,
        id: Option<RequestId>,
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
            // Relay
            M::Signal { to, data } => self.signal(from, to, data, effects),
            M::Chat { text, to, channel } => match channel {
                Some(ChatChannel::Staff) => self.staff_chat(from, text, to, now, effects),
                None => self.chat(from, text, to, now, effects),
            },
            M::React { reaction } => self.react(from, reaction, effects),
            M::SetReactions { enabled } => self.set_reactions(enabled, effects),
            M::SetChatHistory { mode } => self.set_chat_history(mode, now, effects),
            M::AcceptAgreement { version } => self.accept_agreement(from, version, now, effects),
            M::SetAgreement { text } => self.set_agreement(text, effects),
            M::Data { payload, to } => self.app_data(from, payload, to, effects),
            // Media through the hub
            M::SfuPublish { sdp } => {
                self.media_request(from, id, MediaRequest::Publish { sdp }, effects)
            }
            M::SfuAnswer { rev, sdp } => {
                self.media_request(from, id, MediaRequest::Answer { rev, sdp }, effects)
            }
            M::SfuSubscribe { peer, video } => {
                self.media_request(from, id, MediaRequest::Subscribe { peer, video }, effects)
            }
            M::BlockMedia { peer, audio, video } => self.block_media(peer, audio, video, effects),
            // Breakout rooms
            M::Split {
                strategy,
                count,
                rooms,
                topic,
                duration_secs,
                spread_mentors,
                allow_solo,
            } => self.split(
                SplitRequest {
                    strategy,
                    count,
                    rooms,
                    topic,
                    duration_secs,
                    spread_mentors: spread_mentors.unwrap_or(true),
                    allow_solo: allow_solo.unwrap_or(false),
                },
                now,
                effects,
            ),
            M::Move { peer, room } => self.move_one(peer, room, effects),
            M::Swap { a, b } => self.swap(a, b, effects),
            M::Visit { room } => self.move_one(from, room, effects),
            M::ChooseRoom { room } => self.choose_room(from, room, effects),
            M::Broadcast { text, room } => self.broadcast(from, text, room, now, effects),
            M::Merge {
                countdown_secs,
                rooms,
            } => self.merge(countdown_secs, rooms, now, effects),
            M::ExtendTimer { secs } => self.extend_timer(secs, now, effects),
            M::ExtendSession { secs } => self.extend_session(secs, now, effects),
            M::Reopen { duration_secs } => self.reopen(duration_secs, now, effects),
            M::AskHelp {} => self.ask_help(from, now, effects),
            // Moderation
            M::Remove { peer, ban } => self.remove(from, peer, ban, effects),
            M::EndMeeting {} => self.end_meeting(now, effects),
            M::RequestMute { peer, audio, video } => {
                self.request_mute(from, peer, audio, video, effects)
            }
            M::MediaState {
                audio,
                video,
                screen,
            } => self.media_state(from, audio, video, screen, effects),
            M::AllowScreenShare { allowed } => self.allow_screen_share(allowed, effects),
            M::RaiseHand { raised, peer } => self.raise_hand(from, raised, peer, now, effects),
            M::SetRole { peer, role } => self.set_role(from, peer, role, effects),
            M::TransferHost { peer } => self.transfer_host(from, peer, effects),
            M::Lock { locked } => self.lock(from, locked, effects),
            M::PullAside { peer } => self.pull_aside(from, peer, effects),
            M::EndAside { peer } => self.end_aside_of(peer.unwrap_or(from), effects),
            // Waiting room
            M::SetLobby { enabled } => self.set_lobby(enabled, effects),
            M::Admit { peer } => self.admit(peer, effects),
            M::Deny { peer } => self.deny(peer, effects),
        }
    }

    fn peer_of(&self, id: PeerId) -> Option<Peer> {
        self.members.get(&id).map(|m| {
            let (audio_blocked, video_blocked) = self.blocked_of(&m.identity.sub);
            Peer {
                id,
                audio_blocked,
                video_blocked,
                name: m.identity.name.clone(),
                role: m.identity.role,
                reconnecting: self.held.is_held(id),
                hand: self.hands.contains(id),
                audio: m.media.map(|(audio, _)| audio),
                video: m.media.map(|(_, video)| video),
                screen: m.screen,
            }
        })
    }

    fn peers_of(&self, ids: impl IntoIterator<Item = PeerId>) -> Vec<Peer> {
        ids.into_iter().filter_map(|p| self.peer_of(p)).collect()
    }

    fn role_of(&self, peer: PeerId) -> Role {
        if peer == PeerId::API {
            // The partner's backend moderates as a host does.
            return Role::Host;
        }
        self.members
            .get(&peer)
            .map(|m| m.identity.role)
            .unwrap_or(Role::Observer)
    }

    fn moderators(&self) -> Vec<PeerId> {
        self.members
            .iter()
            .filter(|(_, m)| m.identity.role.is_moderator())
            .map(|(p, _)| *p)
            .collect()
    }

    /// Time passed: an ended meeting's memory, then one held seat whose grace is over, then
    /// the breakout timer.
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
        if let Some(peer) = self.held.first_due(now) {
            self.leave(peer, PeerLeftReason::Timeout, effects);
            return;
        }
        self.breakout_tick(now, effects);
        self.flush_rooms(now, effects);
        self.schedule_tick(now, effects);
        self.forget_chat(now);
    }
}

/// Building effects: the one way the core addresses people, so every site skips an empty
/// audience the same way.
trait Sends {
    /// `message` to everyone in `to` (serialized once by the caller); nothing if `to` is empty.
    fn send(&mut self, to: Vec<PeerId>, message: ServerMessage);
    /// `message` to one person.
    fn send_one(&mut self, to: PeerId, message: ServerMessage);
}

impl Sends for Vec<Effect> {
    fn send(&mut self, to: Vec<PeerId>, message: ServerMessage) {
        if !to.is_empty() {
            self.push(Effect::Send { to, message });
        }
    }

    fn send_one(&mut self, to: PeerId, message: ServerMessage) {
        self.push(Effect::Send {
            to: vec![to],
            message,
        });
    }
}
