//! The meeting actor: one task per meeting owning its [`Meeting`] core and the outbound queues of
//! its members. Commands come in over one bounded channel; effects go out with `try_send` so the
//! actor never waits on a connection. The directory (`directory.rs`) finds or starts them.

use super::core::{
    ApiAction, ApiAnswer, Durable, Effect, Identity, Input, MediaEffect, Meeting, Millis, Rejection,
};
use super::directory::Directory;
use super::outbound::{OutboundTx, QueueError};
use crate::auth::ApiCaller;
use crate::limits::MEETING_INBOX_LEN;
use crate::media::{MediaEvent, MeetingMedia};
use crate::protocol::{
    ClientMessage, CloseCode, PeerId, PeerLeftReason, RateClass, Refusal, RequestId, ResumeRequest,
    ServerMessage,
};
use crate::pseudonym::Pseudonyms;
use futures_util::task::AtomicWaker;
use std::collections::HashMap;
use std::sync::atomic::{AtomicU16, Ordering};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use tokio::sync::{mpsc, oneshot, watch};
use tungstenite::Utf8Bytes;

/// One serialized frame, shared by every recipient of a broadcast (cloning is a refcount bump).
pub type Outbound = Utf8Bytes;

/// How the actor tells a connection to close when its queue cannot take another message: the
/// queue is full, so the signal must travel outside it.
///
/// One atomic and one waker slot: the connection polls it on every wake (each relayed frame),
/// and a `Notify` cost a lock per poll there (#17). Only the connection task waits on it.
#[derive(Debug, Default)]
pub struct KillSwitch {
    /// Close code to send, 0 while not tripped.
    code: AtomicU16,
    waiter: AtomicWaker,
}

impl KillSwitch {
    pub fn trip(&self, code: CloseCode) {
        self.code.store(code.code(), Ordering::Release);
        self.waiter.wake();
    }

    /// Waits until tripped; returns the close code. For the one connection task that owns it.
    pub fn tripped(&self) -> impl std::future::Future<Output = u16> + '_ {
        std::future::poll_fn(move |cx| {
            // Register, then look: a trip in between wakes us.
            self.waiter.register(cx.waker());
            match self.code.load(Ordering::Acquire) {
                0 => std::task::Poll::Pending,
                code => std::task::Poll::Ready(code),
            }
        })
    }
}

/// What the actor holds for each member's connection.
#[derive(Debug, Clone)]
pub struct ConnHandle {
    /// Which socket this is (the peer id it first asked under; unique for the process). A late
    /// `leave` from a replaced socket must not take out the socket that now holds the seat.
    pub id: PeerId,
    /// Bounded in frames (`outbound_queue_len`) and bytes (`outbound_queue_bytes`): a full
    /// queue means a slow consumer.
    pub tx: OutboundTx,
    pub kill: Arc<KillSwitch>,
}

/// Commands a connection sends its meeting.
#[derive(Debug)]
pub(super) enum Command {
    /// Boxed, as `Api` is: the inbox's storage is sized by its largest command, and these two
    /// are rare and large (#17: the inbox of a meeting of ten was 700 bytes per member).
    Join(Box<Join>),
    Leave {
        peer: PeerId,
        conn: PeerId,
        end: SessionEnd,
    },
    Request {
        from: PeerId,
        conn: PeerId,
        id: Option<RequestId>,
        message: ClientMessage,
        /// When the connection handed it over, for the relay latency metric.
        sent: std::time::Instant,
    },
    /// A barrier: answered once every command queued before it is carried out.
    Flush { reply: oneshot::Sender<()> },
    /// The server API: `caller` reads or moderates the meeting.
    Api(Box<ApiCommand>),
    /// The hub is shutting down (1001), or in cluster mode this node gave the meeting up
    /// (4108): every member's connection closes with that code, and nobody else joins.
    Shutdown(CloseCode),
    /// Cluster mode: the meeting's durable record now.
    Durable(oneshot::Sender<Durable>),
}

#[derive(Debug)]
pub(super) struct Join {
    pub peer: PeerId,
    pub identity: Identity,
    pub resume: Option<ResumeRequest>,
    pub conn: ConnHandle,
    pub reply: oneshot::Sender<Result<PeerId, Refusal>>,
}

#[derive(Debug)]
pub(super) struct ApiCommand {
    action: ApiAction,
    caller: ApiCaller,
    reply: oneshot::Sender<Result<ApiAnswer, Rejection>>,
}

/// How a member's connection ended, as its task saw it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SessionEnd {
    /// Gone for good (a clean close, or closed by the hub for cause): leave the room at once.
    Left(PeerLeftReason),
    /// Dropped without a goodbye: hold the seat for `hello.resume`.
    Dropped,
}

/// A cheap handle to a running meeting actor.
#[derive(Debug, Clone)]
pub struct MeetingHandle {
    pub(super) tx: mpsc::Sender<Command>,
    /// Tells this actor apart from a later one for the same meeting id.
    pub(super) generation: u64,
}

impl Command {
    /// A relayed signal, chat message or app data: nothing durable changes.
    fn is_relay(&self) -> bool {
        matches!(self, Command::Request { message, .. }
            if matches!(message.policy().rate, RateClass::Signal | RateClass::Chat | RateClass::Data))
    }
}

/// A request the meeting's full inbox could not take yet (see [`MeetingHandle::try_request`]).
pub struct HeldRequest(Command);

/// What became of a request handed to [`MeetingHandle::try_request`].
pub enum Forwarded {
    /// In the meeting's inbox.
    Queued,
    /// The inbox is full: wait for room with [`MeetingHandle::queue`].
    Held(HeldRequest),
    /// The meeting is gone.
    Gone,
}

impl MeetingHandle {
    /// Forwards a request of member `from`, read from connection `conn`, if the meeting's inbox
    /// has room. When it is full the request comes back, for [`Self::queue`] to wait with
    /// (backpressure onto this one connection).
    pub fn try_request(
        &self,
        from: PeerId,
        conn: PeerId,
        id: Option<RequestId>,
        message: ClientMessage,
    ) -> Forwarded {
        let command = Command::Request {
            from,
            conn,
            id,
            message,
            sent: std::time::Instant::now(),
        };
        // The meeting's queue almost always has room. When it has none, the command comes back
        // and the connection waits with [`Self::queue`] (its waiting future is boxed, so it is
        // not part of every connection's state; #17).
        match self.tx.try_send(command) {
            Ok(()) => Forwarded::Queued,
            Err(mpsc::error::TrySendError::Closed(_)) => Forwarded::Gone,
            Err(mpsc::error::TrySendError::Full(command)) => Forwarded::Held(HeldRequest(command)),
        }
    }

    /// Waits for room in the meeting's queue for `command`; false if the meeting is gone.
    pub async fn queue(&self, held: HeldRequest) -> bool {
        self.tx.send(held.0).await.is_ok()
    }

    /// Waits until the meeting has carried out every request this connection sent before, so
    /// their acks and echoes are in the connection's queue (a connection about to be closed for
    /// flooding owes its client those). False if the meeting is gone.
    pub async fn flush(&self) -> bool {
        let (reply, done) = oneshot::channel();
        if self.tx.send(Command::Flush { reply }).await.is_err() {
            return false;
        }
        done.await.is_ok()
    }

    /// Asks the meeting to carry out a server API action; `None` if the meeting is gone.
    pub async fn api(
        &self,
        action: ApiAction,
        caller: ApiCaller,
    ) -> Option<Result<ApiAnswer, Rejection>> {
        let (reply, answer) = oneshot::channel();
        self.tx
            .send(Command::Api(Box::new(ApiCommand {
                action,
                caller,
                reply,
            })))
            .await
            .ok()?;
        answer.await.ok()
    }

    /// Tells the meeting that the connection `conn`, holding `peer`'s seat, has ended.
    pub async fn leave(&self, peer: PeerId, conn: PeerId, end: SessionEnd) {
        let _ = self.tx.send(Command::Leave { peer, conn, end }).await;
    }
}

struct Actor {
    meeting: Meeting,
    conns: HashMap<PeerId, ConnHandle>,
    directory: Arc<Directory>,
    /// Keyed pseudonyms of people for log lines (never a `sub` or a name in the log).
    pseudonyms: Arc<Pseudonyms>,
    generation: u64,
    clock: Clock,
    /// The meeting's line to the SFU engine (SFU meetings).
    media: Option<MeetingMedia>,
    /// The hub is shutting down, or this node gave the meeting up: the close code its members
    /// got (see [`Command::Shutdown`]).
    shutting_down: Option<CloseCode>,
    /// Cluster mode: checked before every command (see `Cluster::lease_fresh`).
    cluster: Option<Arc<crate::cluster::Cluster>>,
    /// Cluster mode: the last durable record handed to the writer, and the writer's mailbox
    /// (the newest record wins; the writer writes it to Redis, fenced by the lease).
    record: Option<(Durable, watch::Sender<Durable>)>,
}

/// Starts the actor task of `meeting`, which removes itself from `directory` when it stops.
pub(super) fn spawn(
    meeting: Meeting,
    directory: Arc<Directory>,
    pseudonyms: Arc<Pseudonyms>,
    generation: u64,
    media: Option<(MeetingMedia, mpsc::Receiver<MediaEvent>)>,
) -> MeetingHandle {
    let (tx, rx) = mpsc::channel(MEETING_INBOX_LEN);
    let (media, events) = match media {
        Some((media, events)) => (Some(media), Some(events)),
        None => (None, None),
    };
    // Cluster mode: a writer per meeting puts its newest durable record in Redis, in order
    // (two writes in flight at once could land the older last).
    let record = directory.cluster().map(|cluster| {
        let first = meeting.durable();
        let (writer, mut newest) = watch::channel(first.clone());
        let id = meeting.id().to_owned();
        tokio::spawn(async move {
            while newest.changed().await.is_ok() {
                let record = newest.borrow_and_update().clone();
                // A write Redis did not take is tried again until it is, or a newer record
                // replaces it: the last record must land, or a failover loses seats.
                while !cluster.save(&id, &record).await {
                    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
                    if newest.has_changed().unwrap_or(true) {
                        break;
                    }
                }
            }
        });
        (first, writer)
    });
    let cluster = directory.cluster();
    let actor = Actor {
        media,
        meeting,
        conns: HashMap::new(),
        directory,
        pseudonyms,
        generation,
        clock: Clock::start(),
        shutting_down: None,
        cluster,
        record,
    };
    tokio::spawn(actor.run(rx, events));
    MeetingHandle { tx, generation }
}

/// The meeting's clock: milliseconds since the Unix epoch, read from the wall clock once when the
/// actor starts and advanced by the monotonic clock from then on. Held seats, breakout timers and
/// the ended-meeting memory run on it, so a wall-clock step (NTP, an operator) neither expires
/// every held seat at once nor stretches a breakout; timestamps sent to clients stay wall time
/// within the drift of one meeting's life.
#[derive(Debug, Clone, Copy)]
struct Clock {
    wall_at_start: Millis,
    started: tokio::time::Instant,
}

/// Milliseconds since the Unix epoch now, as a fresh actor's clock starts.
pub(super) fn wall_clock_ms() -> Millis {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

impl Clock {
    fn start() -> Self {
        let wall_at_start = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_millis() as u64)
            .unwrap_or(0);
        Clock {
            wall_at_start,
            started: tokio::time::Instant::now(),
        }
    }

    fn now(&self) -> Millis {
        let elapsed = u64::try_from(self.started.elapsed().as_millis()).unwrap_or(u64::MAX);
        self.wall_at_start.saturating_add(elapsed)
    }
}

impl Actor {
    async fn run(
        mut self,
        mut rx: mpsc::Receiver<Command>,
        mut media_events: Option<mpsc::Receiver<MediaEvent>>,
    ) {
        // Breakout timers, held seats and ended meetings run on the hub's clock, whoever is
        // connected. One timer, re-armed only when the deadline moves: commands (every relayed
        // signal) must not each set up a timer while a seat is held.
        let timer = tokio::time::sleep(Duration::ZERO);
        tokio::pin!(timer);
        let mut armed: Option<Millis> = None;
        loop {
            let deadline = self.meeting.next_deadline();
            if deadline != armed {
                if let Some(at) = deadline {
                    let wait = Duration::from_millis(at.saturating_sub(self.clock.now()));
                    timer.as_mut().reset(tokio::time::Instant::now() + wait);
                }
                armed = deadline;
            }
            // `None`: the deadline came first.
            let command = tokio::select! {
                event = next_media_event(&mut media_events) => {
                    match event {
                        // The engine speaks to members only; sends skip anyone who left.
                        Some(MediaEvent { to, message }) => {
                            self.dispatch(vec![Effect::Send { to, message }]);
                        }
                        None => media_events = None,
                    }
                    continue;
                }
                command = rx.recv() => match command {
                    Some(command) => Some(command),
                    None => break,
                },
                _ = &mut timer, if armed.is_some() => {
                    // Re-arm next time round even if the deadline stays (still due: tick again).
                    armed = None;
                    None
                }
            };
            match command {
                Some(command) => {
                    // Relayed signals, chat and app data change nothing durable: the hot path
                    // skips the record.
                    let relayed = command.is_relay();
                    self.apply(command);
                    if !relayed {
                        self.record();
                    }
                }
                None => {
                    let now = self.clock.now();
                    if let Some(peer) = self.meeting.due_held_seat(now) {
                        tracing::info!(meeting = self.meeting.id(), %peer, "held seat given up: no resume within the grace period");
                    }
                    if !self.fenced(true) {
                        let effects = self.meeting.handle(Input::Tick, now);
                        self.dispatch(effects);
                        self.record();
                    }
                }
            }
            if self.meeting.can_stop() {
                // Leave the directory before closing the inbox so no new join can reach a
                // closing actor unnoticed (see Directory::join).
                let remembered = self.meeting.remembered();
                self.directory
                    .forget(self.meeting.id(), self.generation, remembered);
                rx.close();
                // Commands already queued are dropped: joins see their reply dropped and retry.
                break;
            }
        }
        tracing::debug!(meeting = self.meeting.id(), "meeting actor stopped");
    }

    /// Cluster mode: hands the meeting's durable record to its writer if it changed.
    fn record(&mut self) {
        let Some((last, writer)) = &mut self.record else {
            return;
        };
        let now = self.meeting.durable();
        if now != *last {
            *last = now.clone();
            let _ = writer.send(now);
        }
    }

    /// Closes every member's connection with `code` and takes nobody in any more.
    fn shut_down(&mut self, code: CloseCode) {
        self.shutting_down = Some(code);
        for conn in self.conns.values() {
            conn.kill.trip(code);
        }
    }

    /// Cluster mode: whether this meeting may no longer act here. A node whose leases may be
    /// someone else's by now (it was paused, or cut off from Redis) carries out nothing, so two
    /// owners never act at once; its members resume on the next owner.
    ///
    /// `check_owner`: also whether this node still holds the meeting at all (a mutex, so not
    /// for every relayed signal). A join that reached an actor whose lease was just given up
    /// as closed (the renewal round saw no actor a moment before) is sent to the next owner
    /// rather than seated here without a lease.
    fn fenced(&mut self, check_owner: bool) -> bool {
        let stale = self.cluster.as_ref().is_some_and(|c| {
            !c.lease_fresh() || (check_owner && c.epoch_of(self.meeting.id()).is_none())
        });
        if self.shutting_down.is_none() && stale {
            tracing::warn!(
                meeting = self.meeting.id(),
                "lease not fresh, or not held here: meeting fenced"
            );
            self.shut_down(CloseCode::Moved);
            if let Some(cluster) = &self.cluster {
                cluster.fence(self.meeting.id(), "lease_not_fresh");
            }
        }
        self.shutting_down == Some(CloseCode::Moved)
    }

    fn apply(&mut self, command: Command) {
        if self.fenced(!command.is_relay()) {
            let code = CloseCode::Moved;
            // Only a join (refused with the code) or a read of the record gets an answer.
            match command {
                Command::Join(join) => {
                    let _ = join.reply.send(Err(Refusal::close_only(code)));
                }
                Command::Durable(reply) => {
                    let _ = reply.send(self.meeting.durable());
                }
                Command::Api(api) => drop(api),
                _ => {}
            }
            return;
        }
        let now = self.clock.now();
        match command {
            Command::Join(join) => {
                let Join {
                    peer,
                    identity,
                    resume,
                    conn,
                    reply,
                } = *join;
                if let Some(code) = self.shutting_down {
                    let _ = reply.send(Err(Refusal::close_only(code)));
                    return;
                }
                let role = identity.role;
                let who = self.pseudonyms.of(&identity.sub);
                let resuming = resume.is_some();
                self.conns.insert(peer, conn);
                let input = match resume {
                    Some(resume) => Input::Resume {
                        peer,
                        identity,
                        resume,
                    },
                    None => Input::Join { peer, identity },
                };
                let effects = self.meeting.handle(input, now);
                let refusal = effects.iter().find_map(|e| match e {
                    Effect::Refuse { peer: p, refusal } if *p == peer => Some(*refusal),
                    _ => None,
                });
                match refusal {
                    Some(refused) => {
                        self.conns.remove(&peer);
                        let _ = reply.send(Err(refused));
                    }
                    None => {
                        let seat = self.seat_of(peer, &effects);
                        let meeting = self.meeting.id();
                        if resuming {
                            tracing::info!(meeting, peer = %seat, who, "resumed");
                        } else if seat != peer {
                            tracing::info!(meeting, peer = %seat, who, "connection replaced");
                        } else if self.meeting.is_waiting(peer) {
                            tracing::info!(meeting, %peer, who, role = role.as_str(), "waiting in the lobby");
                        } else {
                            tracing::info!(meeting, %peer, who, role = role.as_str(), members = self.meeting.member_count(), "joined");
                        }
                        self.dispatch(effects);
                        if reply.send(Ok(seat)).is_err() {
                            // The connection gave up while waiting: it dropped.
                            self.remove(seat, SessionEnd::Dropped, None);
                        }
                    }
                }
            }
            Command::Leave { peer, conn, end } => {
                if self.holds_seat(peer, conn) {
                    self.remove(peer, end, None);
                }
            }
            Command::Request {
                from,
                conn,
                id,
                message,
                sent,
            } => {
                if !self.holds_seat(from, conn) {
                    return;
                }
                let relayed = matches!(
                    message,
                    ClientMessage::Signal { .. }
                        | ClientMessage::Chat { .. }
                        | ClientMessage::Data { .. }
                );
                let effects = self
                    .meeting
                    .handle(Input::Request { from, id, message }, now);
                self.dispatch(effects);
                if relayed {
                    self.directory.metrics().relayed(sent.elapsed());
                }
            }
            // Everything this connection sent before has been carried out, and its answers are
            // in the connection's queue.
            Command::Flush { reply } => {
                let _ = reply.send(());
            }
            // Through the kill switches rather than a shutdown signal every connection polls:
            // a connection polls its kill switch on every wake anyway (#17).
            Command::Shutdown(code) => self.shut_down(code),
            Command::Durable(reply) => {
                let _ = reply.send(self.meeting.durable());
            }
            Command::Api(api) => {
                let ApiCommand {
                    action,
                    caller,
                    reply,
                } = *api;
                let kind = action.kind();
                let mut effects = self.meeting.handle(Input::Api { action }, now);
                let answer = effects
                    .iter()
                    .position(|e| matches!(e, Effect::ApiReply(_)))
                    .map(|i| effects.remove(i));
                let answer = match answer {
                    Some(Effect::ApiReply(answer)) => answer,
                    _ => Err((crate::protocol::ErrorCode::Internal, "no answer")),
                };
                if kind != "snapshot" {
                    // The audit trail names the calling system (never a person's name or chat);
                    // the moderator-action line that follows says what it did to whom.
                    let refused = answer.as_ref().err().map(|(code, _)| *code);
                    caller.audit(self.meeting.id(), kind, refused);
                }
                self.dispatch(effects);
                let _ = reply.send(answer);
            }
        }
    }

    /// Carries out a takeover among `effects` (before they are dispatched): the new connection,
    /// registered as `peer`, becomes the seat's connection and the old one is closed as
    /// replaced. Returns the peer id the new connection now has.
    fn seat_of(&mut self, peer: PeerId, effects: &[Effect]) -> PeerId {
        for effect in effects {
            if let Effect::TakeOver { seat, by } = effect {
                if *by == peer {
                    if let Some(conn) = self.conns.remove(&peer) {
                        if let Some(old) = self.conns.insert(*seat, conn) {
                            old.kill.trip(CloseCode::Replaced);
                        }
                    }
                    return *seat;
                }
            }
        }
        peer
    }

    /// Whether socket `conn` is the one holding `peer`'s seat. Only that socket speaks for the
    /// seat: after a takeover or a resume, the replaced socket's late goodbye must not end its
    /// successor's session, nor its still-buffered frames be answered to the successor.
    fn holds_seat(&self, peer: PeerId, conn: PeerId) -> bool {
        self.conns.get(&peer).is_some_and(|c| c.id == conn)
    }

    /// Ends `peer`'s connection: it leaves, or its seat is held (`Dropped`); `close` trips the
    /// connection's kill switch.
    fn remove(&mut self, peer: PeerId, end: SessionEnd, close: Option<CloseCode>) {
        if let Some(conn) = self.conns.remove(&peer) {
            if let Some(code) = close {
                conn.kill.trip(code);
            }
        }
        if self.meeting.contains(peer)
            || self.meeting.is_waiting(peer)
            || self.meeting.is_agreeing(peer)
        {
            let input = match end {
                SessionEnd::Left(reason) => {
                    tracing::info!(meeting = self.meeting.id(), %peer, ?reason, "left");
                    Input::Leave { peer, reason }
                }
                SessionEnd::Dropped => {
                    tracing::info!(meeting = self.meeting.id(), %peer, "dropped; seat held");
                    Input::Dropped { peer }
                }
            };
            let effects = self.meeting.handle(input, self.clock.now());
            self.dispatch(effects);
        }
    }

    /// Hands a media effect to the engine. Routes travel before the sends that follow them in
    /// the batch, and the engine applies them before it reads another datagram.
    fn media(&mut self, effect: MediaEffect) {
        let Some(media) = &self.media else {
            return;
        };
        match effect {
            MediaEffect::Routes(routes) => media.routes(routes),
            MediaEffect::Request { peer, id, request } => media.request(peer, id, request),
        }
    }

    /// Carries out effects: each message is serialized once and enqueued for every recipient.
    /// Recipients whose queue is full are disconnected as slow consumers afterwards (which may
    /// produce more effects, handled the same way).
    fn dispatch(&mut self, effects: Vec<Effect>) {
        let mut slow = Vec::new();
        for effect in effects {
            match effect {
                Effect::Send { to, message } => {
                    let frame = match serialize(&message) {
                        Some(f) => f,
                        None => continue,
                    };
                    self.directory.metrics().frames_sent(&message, to.len());
                    for peer in to {
                        let Some(conn) = self.conns.get(&peer) else {
                            continue;
                        };
                        match conn.tx.try_send(frame.clone()) {
                            Ok(()) => {}
                            Err(QueueError::Full) => slow.push(peer),
                            // The connection task has ended; its Leave is on the way.
                            Err(QueueError::Closed) => {}
                        }
                    }
                }
                Effect::Close { peer, code } => {
                    if let Some(conn) = self.conns.remove(&peer) {
                        conn.kill.trip(code);
                    }
                }
                Effect::Audit {
                    by,
                    action,
                    subject,
                    detail,
                    other,
                    subs,
                } => {
                    // The audit trail: who did what to whom. Ids and keyed pseudonyms only, never
                    // names, `sub`s or text.
                    let who = |sub: Option<String>| sub.map(|s| self.pseudonyms.of(&s));
                    tracing::info!(
                        target: "audit",
                        meeting = self.meeting.id(),
                        by = %by,
                        by_who = who(subs.by),
                        action,
                        subject = subject.map(|s| s.to_string()),
                        subject_who = who(subs.subject),
                        other = other.map(|s| s.to_string()),
                        other_who = who(subs.other),
                        detail,
                        "moderator action"
                    );
                }
                Effect::Media(media) => self.media(media),
                Effect::Event(event) => {
                    self.directory.metrics().event(&event);
                    self.directory.events().record(self.meeting.id(), &event);
                }
                Effect::Refuse { .. } | Effect::TakeOver { .. } | Effect::ApiReply(_) => {}
            }
        }
        slow.sort_unstable();
        slow.dedup();
        for peer in slow {
            tracing::info!(meeting = self.meeting.id(), %peer, "slow consumer disconnected");
            self.directory.metrics().slow_consumer();
            // Reconnectable: the client resumes; the chat it missed replays from the history.
            self.remove(peer, SessionEnd::Dropped, Some(CloseCode::SlowConsumer));
        }
    }
}

/// The next event from the media engine; never, for a meeting without one.
async fn next_media_event(events: &mut Option<mpsc::Receiver<MediaEvent>>) -> Option<MediaEvent> {
    match events {
        Some(rx) => rx.recv().await,
        None => std::future::pending().await,
    }
}

fn serialize(message: &ServerMessage) -> Option<Outbound> {
    match serde_json::to_string(message) {
        Ok(s) => Some(Utf8Bytes::from(s)),
        Err(e) => {
            // Our own types always serialize; if not, drop the message rather than the actor.
            tracing::error!(error = %e, "failed to serialize a server message");
            None
        }
    }
}
