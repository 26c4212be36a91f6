//! One task per WebSocket: waits for `hello`, verifies the token, joins the meeting, then relays
//! frames both ways — decoding, rate limiting and size checks on the way in; the bounded
//! outbound queue, keepalive and close codes on the way out.

use super::budget::ReadBudget;
use super::hello::{self, Hello};
use super::AppState;
use crate::cluster::Route;
use crate::limits;
use crate::meeting::{
    outbound_queue, ConnHandle, Forwarded, KillSwitch, MeetingHandle, OutboundRx, SessionEnd,
};
use crate::metrics::Metrics;
use crate::protocol::{
    ClientFrame, ClientMessage, CloseCode, ErrorCode, FrameId, PeerId, PeerLeftReason, RateClass,
    Refusal, ServerMessage,
};
use futures_util::{SinkExt, StreamExt};
use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};
use std::num::NonZeroU32;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Instant;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::sync::OwnedSemaphorePermit;
use tokio::time::timeout;
use tokio_tungstenite::WebSocketStream;
use tungstenite::protocol::frame::coding::CloseCode as WsCloseCode;
use tungstenite::protocol::CloseFrame;
use tungstenite::protocol::Role;
use tungstenite::{Message, Utf8Bytes};

/// The byte stream under a WebSocket, and whether it can say "readable" without a read.
///
/// Why: tungstenite zero-fills its whole read buffer on every read attempt, before it learns
/// that nothing has arrived. A connection task wakes for its outbound queue far more often
/// than for input, and polling the reader on each wake cost about a third of a relayed
/// signal's instructions (#17). Where the socket's readiness is known (plain TCP), the reader
/// is polled only after the kernel reported input, and until it runs dry.
pub(super) trait Transport: AsyncRead + AsyncWrite + Unpin + Send + 'static {
    /// `Ready` when a read may make progress (input, end of stream or an error); `Pending`,
    /// with the waker registered, when the kernel has nothing. Transports that cannot tell
    /// (TLS, which may hold decrypted bytes) are always ready, and the reader is polled on
    /// every wake as before.
    fn poll_read_ready(&self, cx: &mut Context<'_>) -> Poll<()>;
}

impl Transport for super::budget::Metered<tokio::net::TcpStream> {
    fn poll_read_ready(&self, cx: &mut Context<'_>) -> Poll<()> {
        // An error is "ready" too: the read that follows reports it.
        self.get_ref().poll_read_ready(cx).map(|_| ())
    }
}

impl Transport for hyper_util::rt::TokioIo<hyper::upgrade::Upgraded> {
    fn poll_read_ready(&self, _cx: &mut Context<'_>) -> Poll<()> {
        Poll::Ready(())
    }
}

type Ws<S> = WebSocketStream<S>;

/// What the WebSocket upgrade hands over: hyper's handle on the socket, and the places the
/// connection holds (`places` for its whole life, so the connection caps count it; `hello`
/// only until the hello phase is over). One box, so it costs the task one pointer.
pub(super) struct Upgrade {
    pub on_upgrade: hyper::upgrade::OnUpgrade,
    pub config: tungstenite::protocol::WebSocketConfig,
    pub state: Arc<AppState>,
    pub places: (OwnedSemaphorePermit, super::IpSlot),
    pub hello: (OwnedSemaphorePermit, super::IpSlot, Arc<ReadBudget>),
    /// Cluster mode: forwarded by another node of ours (it proved so), not a client's own.
    pub forwarded: bool,
    /// The client's address (for a forwarded connection, the one the forwarding node saw).
    pub client: std::net::IpAddr,
}

/// The header a node forwarding a client proves itself with (see `forward.rs`).
pub(super) const FORWARDED_HEADER: &str = "x-huddle-node";

/// A joined connection and what it relays with.
struct Joined<S> {
    session: Session<S>,
    outbound: OutboundRx,
    kill: Arc<KillSwitch>,
    _places: (OwnedSemaphorePermit, super::IpSlot),
}

/// A joined connection, by what is under its WebSocket.
enum Live {
    /// Plain TCP, taken back from hyper: the connection waits for input without a read attempt
    /// (see [`Transport`]).
    Tcp(Joined<super::budget::Metered<tokio::net::TcpStream>>),
    /// TLS, behind hyper's box.
    Other(Joined<hyper_util::rt::TokioIo<hyper::upgrade::Upgraded>>),
}

/// Runs one connection to the end.
///
/// Only the relay loop's state lives in the task for the connection's life: taking the socket
/// over, the hello phase and the join, and the leave are boxed, run once each, and freed (#17:
/// memory per idle connection; an async fn keeps room for every argument and local it ever
/// held, so the joined connection is borrowed in place, never moved again).
pub(super) async fn serve(upgrade: Box<Upgrade>) {
    let Some(mut live) = Box::pin(open_any(upgrade)).await else {
        return;
    };
    match &mut live {
        Live::Tcp(joined) => joined.relay().await,
        // Boxed, so that the plain socket's state alone sizes the task (TLS is the rarer
        // deployment: a load balancer usually terminates it).
        Live::Other(joined) => Box::pin(joined.relay()).await,
    }
}

impl<S: Transport> Joined<S> {
    async fn relay(&mut self) {
        let state = Arc::clone(&self.session.state);
        let end = self
            .session
            .pump(&mut self.outbound, &self.kill, &state)
            .await;
        let session = &mut self.session;
        Box::pin(async move {
            if let Some(end) = end {
                session.meeting.leave(session.peer, session.conn, end).await;
            }
            linger(&mut session.ws).await;
        })
        .await;
    }
}

/// Takes the socket over from hyper, puts a WebSocket on it, and admits and joins it.
async fn open_any(upgrade: Box<Upgrade>) -> Option<Live> {
    let Upgrade {
        on_upgrade,
        config,
        state,
        places,
        hello,
        forwarded,
        client,
    } = *upgrade;
    let upgraded = on_upgrade.await.ok()?;
    // Until `hello` is admitted, the socket may make the hub read only a little.
    hello.2.arm(limits::PRE_HELLO_READ_BYTES);
    type Plain = hyper_util::rt::TokioIo<super::budget::Metered<tokio::net::TcpStream>>;
    match upgraded.downcast::<Plain>() {
        Ok(parts) => {
            // What hyper read past the request head. Copied out and dropped here: the bytes
            // share hyper's whole 8 KiB read buffer, which they would otherwise keep alive for
            // the connection's life (#17: it was half of an idle connection's memory).
            let early = parts.read_buf.to_vec();
            let io = parts.io.into_inner();
            drop(parts.read_buf);
            let ws =
                WebSocketStream::from_partially_read(io, early, Role::Server, Some(config)).await;
            let (session, outbound, kill) = open(ws, &state, hello, (forwarded, client)).await?;
            Some(Live::Tcp(Joined {
                session,
                outbound,
                kill,
                _places: places,
            }))
        }
        Err(upgraded) => {
            let io = hyper_util::rt::TokioIo::new(upgraded);
            let ws = WebSocketStream::from_raw_socket(io, Role::Server, Some(config)).await;
            let (session, outbound, kill) = open(ws, &state, hello, (forwarded, client)).await?;
            Some(Live::Other(Joined {
                session,
                outbound,
                kill,
                _places: places,
            }))
        }
    }
}

/// Reads and admits `hello`, joins the meeting, and returns the joined session with its
/// outbound queue and kill switch; `None` when the socket was refused (and closed).
async fn open<S: Transport>(
    mut ws: Ws<S>,
    state: &Arc<AppState>,
    (hello_place, hello_slot, budget): (OwnedSemaphorePermit, super::IpSlot, Arc<ReadBudget>),
    (forwarded, client): (bool, std::net::IpAddr),
) -> Option<(Session<S>, OutboundRx, Arc<KillSwitch>)> {
    // A shutdown during the hello phase closes with 1001 at once, within the drain time, rather
    // than after the hello timeout.
    let mut shutdown = state.shutdown.clone();
    let hello = tokio::select! {
        hello = timeout(state.config.hello_timeout(), read_hello(&mut ws, state, &budget)) => hello,
        _ = async {
            if shutdown.wait_for(|&s| s).await.is_err() {
                std::future::pending::<()>().await;
            }
        } => Ok(Err(Refusal::close_only(CloseCode::GoingAway))),
    };
    let (hello, hello_text) = match hello {
        Ok(Ok(admission)) => {
            drop(hello_place);
            drop(hello_slot);
            budget.lift();
            admission
        }
        Ok(Err(Refusal {
            error,
            message,
            close,
        })) => {
            if let Some(code) = error {
                let error = ServerMessage::error(code, message, None);
                send_now(state.directory.metrics(), &mut ws, &error).await;
            }
            close_with(state.directory.metrics(), &mut ws, close).await;
            linger(&mut ws).await;
            return None;
        }
        Err(_elapsed) => {
            close_with(state.directory.metrics(), &mut ws, CloseCode::HelloTimeout).await;
            linger(&mut ws).await;
            return None;
        }
    };
    // Cluster mode: the meeting is served by the node holding its lease; elsewhere this
    // connection is forwarded there.
    if let Some(cluster) = state.directory.cluster() {
        // An owner that cannot be reached may have just died: ask again who owns the meeting
        // (its lease runs out within one lease) before sending the client away.
        let give_up = tokio::time::Instant::now() + state.config.lease() * 2;
        loop {
            match cluster.route(&hello.meeting).await {
                Route::Local => break,
                Route::Remote(owner) if !forwarded => {
                    let hello = hello_text.clone();
                    if super::forward::forward(&mut ws, state, &cluster, &owner, hello, client)
                        .await
                    {
                        state.directory.metrics().forwarded_connection();
                        linger(&mut ws).await;
                        return None;
                    }
                    if tokio::time::Instant::now() < give_up {
                        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
                        continue;
                    }
                }
                // A forwarded connection that does not land here goes back to its client,
                // which comes again (never a chain of forwards).
                Route::Remote(_) | Route::Retry => {}
            }
            close_with(state.directory.metrics(), &mut ws, CloseCode::Moved).await;
            linger(&mut ws).await;
            return None;
        }
    }

    let asked_as = PeerId(
        state
            .next_peer
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed),
    );
    let (tx, rx) = outbound_queue(
        state.config.outbound_queue_len,
        state.config.outbound_queue_bytes,
    );
    let kill = Arc::new(KillSwitch::default());
    let conn = ConnHandle {
        id: asked_as,
        tx,
        kill: Arc::clone(&kill),
    };
    let sub = hello.identity.sub.clone();
    let meeting_id = hello.meeting.clone();
    let (meeting, peer) = match state
        .directory
        .join(
            &hello.meeting,
            asked_as,
            hello.identity,
            (hello.resume, hello.kind),
            conn,
        )
        .await
    {
        Ok(joined) => joined,
        Err(refused) => {
            if let Some(code) = refused.error {
                let error = ServerMessage::error(code, refused.message, None);
                send_now(state.directory.metrics(), &mut ws, &error).await;
            }
            close_with(state.directory.metrics(), &mut ws, refused.close).await;
            linger(&mut ws).await;
            return None;
        }
    };

    let session = Session {
        peer,
        conn: asked_as,
        meeting,
        limits: RateLimits::new(&state.config),
        refusals: Bucket::new(
            limits::rates::REFUSALS_PER_SEC,
            limits::rates::REFUSALS_BURST,
        ),
        ws,
        read_armed: true,
        meeting_id,
        state: Arc::clone(state),
        sub,
        expires_at: hello.expires_at,
    };
    Some((session, rx, kill))
}

/// Reads frames until the first meaningful one, which must be a valid `hello`.
async fn read_hello<S: Transport>(
    stream: &mut Ws<S>,
    state: &AppState,
    budget: &ReadBudget,
) -> Result<(Hello, String), Refusal> {
    loop {
        let text = match stream.next().await {
            Some(Ok(Message::Text(text))) => text,
            Some(Ok(Message::Ping(_) | Message::Pong(_) | Message::Frame(_))) => continue,
            Some(Ok(Message::Binary(_))) => {
                return Err(Refusal::new(
                    ErrorCode::BadRequest,
                    "binary frames are not part of the protocol",
                    CloseCode::ProtocolViolation,
                ))
            }
            Some(Err(e)) if read_error_close(&e) == Some(CloseCode::MessageTooBig) => {
                return Err(Refusal::new(
                    ErrorCode::TooLarge,
                    "frame too large",
                    CloseCode::MessageTooBig,
                ))
            }
            // Past the pre-hello read budget: a frame too large for someone not logged in.
            Some(Err(_)) if budget.exhausted() => {
                return Err(Refusal::new(
                    ErrorCode::TooLarge,
                    "frame too large before hello",
                    CloseCode::MessageTooBig,
                ))
            }
            Some(Ok(Message::Close(_))) | Some(Err(_)) | None => {
                return Err(Refusal::close_only(CloseCode::Normal))
            }
        };
        return hello::admit(&text, &state.verifier).map(|hello| (hello, text.to_string()));
    }
}

/// A token bucket made on first use. A bucket made later is the same as one made at join and
/// left alone until then (both are full), so nothing changes for the client; an idle
/// participant, who never chats or moderates, then holds no bucket at all (#17: 72 bytes each).
struct Bucket {
    limiter: Option<Box<DefaultDirectRateLimiter>>,
    rate: u32,
    burst: u32,
}

impl Bucket {
    fn new(rate: u32, burst: u32) -> Self {
        Bucket {
            limiter: None,
            rate,
            burst,
        }
    }

    fn check(&mut self) -> bool {
        let (rate, burst) = (self.rate, self.burst);
        self.limiter
            .get_or_insert_with(|| {
                let rate = NonZeroU32::new(rate).unwrap_or(NonZeroU32::MIN);
                let burst = NonZeroU32::new(burst).unwrap_or(rate);
                Box::new(RateLimiter::direct(
                    Quota::per_second(rate).allow_burst(burst),
                ))
            })
            .check()
            .is_ok()
    }
}

/// Per-connection token buckets, one per kind of message.
struct RateLimits {
    chat: Bucket,
    signal: Bucket,
    data: Bucket,
    /// Host actions (split, move, merge…) and room choices.
    control: Bucket,
}

impl RateLimits {
    fn new(config: &crate::config::Config) -> Self {
        RateLimits {
            chat: Bucket::new(config.chat_rate, config.chat_burst),
            signal: Bucket::new(config.signal_rate, config.signal_burst),
            data: Bucket::new(config.data_rate, config.data_burst),
            control: Bucket::new(limits::rates::CONTROL_PER_SEC, limits::rates::CONTROL_BURST),
        }
    }

    fn allow(&mut self, message: &ClientMessage) -> bool {
        let bucket = match message.policy().rate {
            RateClass::Free => return true,
            RateClass::Chat => &mut self.chat,
            RateClass::Signal => &mut self.signal,
            RateClass::Data => &mut self.data,
            RateClass::Control => &mut self.control,
        };
        bucket.check()
    }

    /// Whether an unusable frame (malformed, unknown, too large, binary) may be answered: it
    /// draws from the control bucket.
    fn allow_invalid(&mut self) -> bool {
        self.control.check()
    }
}

type BoxFuture<'a, T> = std::pin::Pin<Box<dyn std::future::Future<Output = T> + Send + 'a>>;

/// What is left to do for a frame after [`Session::on_text`] decided on it.
enum Step {
    /// Nothing: the request is in the meeting's queue, or needed no answer.
    Done,
    /// An answer from the connection itself (a refusal, `pong`, a refresh's `ack`).
    Reply(ServerMessage),
    /// A request for a meeting whose queue is full: wait for room.
    Queue(crate::meeting::HeldRequest),
}

/// A joined connection.
struct Session<S> {
    peer: PeerId,
    /// This socket's own id (the peer id it asked under), which the meeting checks a request
    /// against: after a takeover `peer` is the seat's id and `conn` tells the sockets apart.
    conn: PeerId,
    meeting: MeetingHandle,
    limits: RateLimits,
    /// Refused-for-rate messages: a client that keeps sending past `rate_limited` errors drains
    /// this bucket too and is disconnected as a flooder.
    refusals: Bucket,
    ws: Ws<S>,
    /// Whether the reader may have input: set when the transport reports readiness, cleared
    /// when a read finds nothing (see [`Transport`]). True after `hello`, whose read may have
    /// brought more.
    read_armed: bool,
    meeting_id: String,
    state: Arc<AppState>,
    /// Whose token this connection holds; a `refresh` must be for the same person.
    sub: String,
    /// `exp` of the newest token, seconds since the epoch.
    expires_at: u64,
}

/// When a token with `exp` (seconds since the epoch) stops being accepted, as a tokio instant.
fn expiry_instant(exp: u64, leeway_secs: u64) -> tokio::time::Instant {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default()
        .as_secs();
    // Saturating, and capped: a token with `exp` near u64::MAX (allowed when
    // `max_token_lifetime_secs` is 0) must not overflow the clock and panic this task.
    let left = exp
        .saturating_add(leeway_secs.min(limits::MAX_JWT_LEEWAY_SECS))
        .saturating_sub(now)
        .min(limits::LONGEST_SLEEP.as_secs());
    tokio::time::Instant::now() + std::time::Duration::from_secs(left)
}

impl<S: Transport> Session<S> {
    /// Relays until the connection ends. Returns how it ended, for the meeting, or `None` when
    /// the meeting itself closed it (kill switch). A socket that simply fails (no close frame,
    /// keepalive timeout, a write that cannot get through) is `Dropped`, and its seat is held
    /// for a resume; a close frame or a close for cause is a leave.
    async fn pump(
        &mut self,
        outbound: &mut OutboundRx,
        kill: &KillSwitch,
        state: &AppState,
    ) -> Option<SessionEnd> {
        const GONE: Option<SessionEnd> = Some(SessionEnd::Left(PeerLeftReason::Disconnected));
        const DROPPED: Option<SessionEnd> = Some(SessionEnd::Dropped);
        let ping_every = state.config.ping_interval();
        let idle_timeout = state.config.idle_timeout();
        let mut last_heard = Instant::now();
        let leeway = state.config.jwt_leeway_secs;
        let mut token_valid_for = self.expires_at;
        // One timer for the next keepalive ping and the token's expiry, whichever comes first:
        // a timer is a hundred-odd bytes of every connection's state (#17).
        let mut expires = expiry_instant(token_valid_for, leeway);
        let mut next_ping = tokio::time::Instant::now() + ping_every;
        let timer = tokio::time::sleep_until(next_ping.min(expires));
        tokio::pin!(timer);
        // The kill switch is waited on by a future made once, not once per turn of the loop. A
        // shutdown comes through it too (1001 from the meeting), so nothing else is polled on
        // every wake (#17).
        let killed = kill.tripped();
        tokio::pin!(killed);
        loop {
            if self.expires_at != token_valid_for {
                // A `refresh` extended the session.
                token_valid_for = self.expires_at;
                expires = expiry_instant(token_valid_for, leeway);
                timer.as_mut().reset(next_ping.min(expires));
            }
            tokio::select! {
                // Removal by the meeting and shutdown come first: they end the session whatever
                // else is pending.
                biased;
                code = &mut killed => {
                    if code == CloseCode::GoingAway.code() {
                        // The hub is shutting down: the seat is left as on any close by the hub.
                        close_with(self.state.directory.metrics(), &mut self.ws, CloseCode::GoingAway).await;
                        return GONE;
                    }
                    // The socket may be backed up (that is why we were removed): give the close
                    // frame a full write timeout to get through behind the queued data.
                    let reason = CloseCode::from_code(code).map_or("closed", CloseCode::reason);
                    self.state.directory.metrics().closed(reason);
                    let _ = Box::pin(timeout(limits::WRITE_TIMEOUT, self.ws.send(close_message(code, reason)))).await;
                    return None;
                }
                frame = std::future::poll_fn(|cx| poll_frame(&mut self.ws, &mut self.read_armed, cx)) => {
                    last_heard = Instant::now();
                    match frame {
                        Some(Ok(Message::Text(text))) => {
                            let done = match self.on_text(&text) {
                                Ok(Step::Done) => Ok(()),
                                Ok(step) => self.finish(step).await,
                                Err(code) => Err(code),
                            };
                            if let Err(code) = done {
                                if code == CloseCode::Flood {
                                    Box::pin(self.settle(outbound)).await;
                                }
                                close_with(self.state.directory.metrics(), &mut self.ws, code).await;
                                return GONE;
                            }
                        }
                        Some(Ok(Message::Binary(_))) => {
                            let refusal = ServerMessage::error(ErrorCode::BadRequest, "binary frames are not part of the protocol", None);
                            let done = match self.refuse(refusal) {
                                Ok(step) => self.finish(step).await,
                                Err(code) => Err(code),
                            };
                            if let Err(code) = done {
                                Box::pin(self.settle(outbound)).await;
                                close_with(self.state.directory.metrics(), &mut self.ws, code).await;
                                return GONE;
                            }
                        }
                        Some(Ok(Message::Ping(_) | Message::Pong(_) | Message::Frame(_))) => {}
                        // 4100 is the client saying "my connection looks dead, I will resume".
                        Some(Ok(Message::Close(Some(frame)))) if u16::from(frame.code) == CloseCode::Reconnecting.code() => return DROPPED,
                        Some(Ok(Message::Close(_))) => return Some(SessionEnd::Left(PeerLeftReason::Left)),
                        // The stream ended without a close frame: the network dropped.
                        None => {
                            tracing::debug!(peer = %self.peer, "dropped: the stream ended without a close frame");
                            return DROPPED;
                        }
                        Some(Err(e)) => {
                            let code = read_error_close(&e);
                            if code == Some(CloseCode::MessageTooBig) {
                                self.reply(ServerMessage::error(ErrorCode::TooLarge, "frame too large", None)).await;
                            }
                            if let Some(code) = code {
                                close_with(self.state.directory.metrics(), &mut self.ws, code).await;
                                return GONE;
                            }
                            tracing::debug!(peer = %self.peer, error = %e, "dropped: read error");
                            return DROPPED;
                        }
                    }
                }
                next = outbound.recv() => {
                    let Some(frame) = next else { return GONE };
                    // Boxed: one small allocation per batch written keeps the write's state
                    // (and its timeout's timer) out of every idle connection's memory (#17).
                    match Box::pin(timeout(limits::WRITE_TIMEOUT, write_batch(&mut self.ws, frame, outbound))).await {
                        Ok(Ok(())) => {}
                        Ok(Err(e)) => {
                            tracing::debug!(peer = %self.peer, error = %e, "dropped: write failed");
                            return DROPPED;
                        }
                        Err(_) => {
                            self.state.directory.metrics().slow_consumer();
                            close_with(self.state.directory.metrics(), &mut self.ws, CloseCode::SlowConsumer).await;
                            return DROPPED;
                        }
                    }
                }
                _ = &mut timer => {
                    if tokio::time::Instant::now() >= expires {
                        tracing::info!(peer = %self.peer, "token expired");
                        self.reply(ServerMessage::error(ErrorCode::Unauthorized, "token expired", None)).await;
                        close_with(self.state.directory.metrics(), &mut self.ws, CloseCode::TokenExpired).await;
                        return GONE;
                    }
                    // The keepalive. The next ping is one interval from now, as a delayed
                    // interval would have it.
                    next_ping = tokio::time::Instant::now() + ping_every;
                    timer.as_mut().reset(next_ping.min(expires));
                    if last_heard.elapsed() >= idle_timeout {
                        tracing::info!(peer = %self.peer, "keepalive timeout");
                        close_with(self.state.directory.metrics(), &mut self.ws, CloseCode::PingTimeout).await;
                        return DROPPED;
                    }
                    // Boxed: once per ping interval, and it would otherwise sit in the state.
                    if !matches!(Box::pin(timeout(limits::WRITE_TIMEOUT, self.ws.send(Message::Ping(Default::default())))).await, Ok(Ok(()))) {
                        return DROPPED;
                    }
                }
            }
        }
    }

    /// Decides what one text frame leads to, without waiting for anything: the common case, a
    /// request queued to the meeting, is done here; what needs a write or a wait comes back as
    /// a [`Step`]. An `Err` ends the session with that close code.
    fn on_text(&mut self, text: &str) -> Result<Step, CloseCode> {
        if text.len() > limits::MAX_SFU_SDP_FRAME_BYTES {
            let reference = frame_ref(text);
            let message = format!("frame over {} bytes", limits::MAX_SFU_SDP_FRAME_BYTES);
            return self.refuse(ServerMessage::error(
                ErrorCode::TooLarge,
                message,
                reference,
            ));
        }
        let frame = match ClientFrame::decode(text) {
            Ok(frame) => frame,
            Err(e) => {
                let reference = frame_ref(text);
                let message = if e.is_syntax() || e.is_eof() {
                    "malformed JSON".to_owned()
                } else {
                    format!("invalid message: {e}")
                };
                return self.refuse(ServerMessage::error(
                    ErrorCode::BadRequest,
                    message,
                    reference,
                ));
            }
        };
        let reference = frame.id;
        let message = frame.message;
        self.state
            .directory
            .metrics()
            .frame_received(message.kind());
        let sdp = matches!(
            message,
            ClientMessage::SfuPublish { .. } | ClientMessage::SfuAnswer { .. }
        );
        if !sdp && text.len() > limits::MAX_FRAME_BYTES {
            let message = format!("frame over {} bytes", limits::MAX_FRAME_BYTES);
            let error = ServerMessage::error(ErrorCode::TooLarge, message, reference);
            return self.refuse(error);
        }
        if matches!(message, ClientMessage::Hello { .. }) {
            let error = ServerMessage::error(ErrorCode::BadRequest, "already joined", reference);
            return self.refuse(error);
        }
        if matches!(message, ClientMessage::Data { .. })
            && text.len() > limits::MAX_APP_DATA_FRAME_BYTES
        {
            let error =
                ServerMessage::error(ErrorCode::TooLarge, "app data frame too large", reference);
            return self.refuse(error);
        }
        if !self.limits.allow(&message) {
            if !self.refusals.check() {
                tracing::info!(peer = %self.peer, kind = message.kind(), "flooding: disconnected");
                return Err(CloseCode::Flood);
            }
            return Ok(Step::Reply(ServerMessage::error(
                ErrorCode::RateLimited,
                "slow down",
                reference,
            )));
        }
        // Ping and refresh are the connection's own business; they come after the rate limit
        // because a refresh costs a signature check.
        if matches!(message, ClientMessage::Ping {}) {
            // Answered here, never queued behind the meeting: it measures this socket only.
            return Ok(Step::Reply(ServerMessage::Pong {}));
        }
        if let ClientMessage::Refresh { token } = &message {
            let answer = match self.verifier_check(token) {
                Ok(expires_at) => {
                    self.expires_at = self.expires_at.max(expires_at);
                    reference.map(|reference| ServerMessage::Ack { reference })
                }
                Err(why) => Some(ServerMessage::error(
                    ErrorCode::Unauthorized,
                    why,
                    reference,
                )),
            };
            return Ok(answer.map_or(Step::Done, Step::Reply));
        }
        match self
            .meeting
            .try_request(self.peer, self.conn, reference, message)
        {
            Forwarded::Queued => Ok(Step::Done),
            Forwarded::Held(held) => Ok(Step::Queue(held)),
            Forwarded::Gone => Err(CloseCode::Internal),
        }
    }

    /// Checks a `refresh` token: valid, same meeting, same person. Returns its `exp`.
    fn verifier_check(&self, token: &str) -> Result<u64, &'static str> {
        hello::check_refresh(&self.state.verifier, token, &self.meeting_id, &self.sub)
    }

    /// Answers a frame the hub could not use (too large, malformed, unknown, binary). Such frames
    /// cost like any other: they draw from the control bucket, and past it they count as refusals
    /// toward the flood close, so garbage cannot be sent faster than requests.
    fn refuse(&mut self, error: ServerMessage) -> Result<Step, CloseCode> {
        if !self.limits.allow_invalid() {
            if !self.refusals.check() {
                tracing::info!(peer = %self.peer, "flooding with invalid frames: disconnected");
                return Err(CloseCode::Flood);
            }
            let slow_down = ServerMessage::error(ErrorCode::RateLimited, "slow down", None);
            return Ok(Step::Reply(slow_down));
        }
        Ok(Step::Reply(error))
    }

    /// Carries out what [`Self::on_text`] left to do. Boxed: these are the rare paths, and
    /// their futures would otherwise take room in every connection task's state for its whole
    /// life (#17: memory per idle connection).
    fn finish(&mut self, step: Step) -> BoxFuture<'_, Result<(), CloseCode>> {
        Box::pin(async move {
            match step {
                Step::Done => Ok(()),
                Step::Reply(message) => {
                    send_now(self.state.directory.metrics(), &mut self.ws, &message).await;
                    Ok(())
                }
                Step::Queue(command) => {
                    if self.meeting.queue(command).await {
                        Ok(())
                    } else {
                        Err(CloseCode::Internal)
                    }
                }
            }
        })
    }

    /// Before a close for flooding: waits until the meeting has carried out everything this
    /// connection sent, then writes what is queued for it, so every message carried out is
    /// acknowledged (and echoed) before the close, as the others received it.
    async fn settle(&mut self, outbound: &mut OutboundRx) {
        let drained = async {
            if !self.meeting.flush().await {
                return;
            }
            while let Some(frame) = outbound.try_recv() {
                if write_batch(&mut self.ws, frame, outbound).await.is_err() {
                    return;
                }
            }
        };
        let _ = timeout(limits::WRITE_TIMEOUT, drained).await;
    }

    /// Sends a reply that does not involve the meeting (decode errors, rate limits).
    fn reply(&mut self, message: ServerMessage) -> BoxFuture<'_, ()> {
        Box::pin(async move {
            send_now(self.state.directory.metrics(), &mut self.ws, &message).await;
        })
    }
}

async fn send_now<S: Transport>(metrics: &Metrics, sink: &mut Ws<S>, message: &ServerMessage) {
    metrics.frames_sent(message, 1);
    if let Ok(text) = serde_json::to_string(message) {
        let _ = timeout(limits::WRITE_TIMEOUT, sink.send(Message::Text(text.into()))).await;
    }
}

/// Writes `first` and whatever else is already queued (up to [`limits::WRITE_BATCH`] frames),
/// then flushes once: under load one syscall carries many frames instead of one each.
async fn write_batch<S: Transport>(
    sink: &mut Ws<S>,
    first: Utf8Bytes,
    queued: &mut OutboundRx,
) -> Result<(), tungstenite::Error> {
    sink.feed(Message::Text(first)).await?;
    for _ in 1..limits::WRITE_BATCH {
        match queued.try_recv() {
            Some(frame) => sink.feed(Message::Text(frame)).await?,
            None => break,
        }
    }
    sink.flush().await
}

/// The `id` of a frame that was refused before (or instead of) decoding, so the error can
/// still carry `ref`.
fn frame_ref(text: &str) -> Option<crate::protocol::RequestId> {
    serde_json::from_str::<FrameId>(text)
        .ok()
        .and_then(|f| f.id)
}

/// After the hub sent a close frame: reads (and drops) what the client still sends until its
/// closing reply, for at most [`limits::CLOSE_LINGER`]. Dropping a socket with unread input makes
/// the kernel reset it, and the client would lose the close frame and its code.
async fn linger<S: Transport>(stream: &mut Ws<S>) {
    let _ = timeout(limits::CLOSE_LINGER, async {
        while let Some(Ok(message)) = stream.next().await {
            if matches!(message, Message::Close(_)) {
                break;
            }
        }
    })
    .await;
}

pub(super) fn close_message(code: u16, reason: &'static str) -> Message {
    Message::Close(Some(CloseFrame {
        code: WsCloseCode::from(code),
        reason: Utf8Bytes::from_static(reason),
    }))
}

/// Sends a close frame (briefly: the socket may be backed up). Boxed, as every path that ends
/// a connection is: they run once, and inline they would take room in every connection task's
/// state for its whole life (#17).
fn close_with<'a, S: Transport>(
    metrics: &'a Metrics,
    sink: &'a mut Ws<S>,
    code: CloseCode,
) -> BoxFuture<'a, ()> {
    Box::pin(async move {
        metrics.closed(code.reason());
        let _ = timeout(
            limits::WRITE_TIMEOUT / 10,
            sink.send(close_message(code.code(), code.reason())),
        )
        .await;
    })
}

/// The close code for a WebSocket read error that came from the client's bytes (a frame over
/// the size limit, invalid UTF-8, a broken frame); `None` when the connection simply failed.
fn read_error_close(error: &tungstenite::Error) -> Option<CloseCode> {
    match error {
        tungstenite::Error::Capacity(_) => Some(CloseCode::MessageTooBig),
        tungstenite::Error::Utf8(_) => Some(CloseCode::InvalidData),
        // The peer vanished without a close frame: the network dropped, not a bad client.
        tungstenite::Error::Protocol(
            tungstenite::error::ProtocolError::ResetWithoutClosingHandshake,
        ) => None,
        tungstenite::Error::Protocol(_) => Some(CloseCode::ProtocolError),
        _ => None,
    }
}

/// Polls the reader only while it may have input (see [`Transport`]): once the transport is
/// readable, frames are read until a read comes back empty, which disarms it again. Reading on
/// until empty matters: one read can bring several frames, and the kernel will not report the
/// socket readable for bytes already taken off it.
fn poll_frame<S: Transport>(
    ws: &mut Ws<S>,
    armed: &mut bool,
    cx: &mut Context<'_>,
) -> Poll<Option<Result<Message, tungstenite::Error>>> {
    if !*armed {
        std::task::ready!(ws.get_ref().poll_read_ready(cx));
        *armed = true;
    }
    match ws.poll_next_unpin(cx) {
        Poll::Ready(frame) => Poll::Ready(frame),
        Poll::Pending => {
            // The read hit "would block", and the transport registered this task's waker.
            *armed = false;
            Poll::Pending
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The size of the future a call to `f` returns, without calling it.
    fn future_size<A, F: FnOnce(A) -> Fut, Fut>(_: &F) -> usize {
        std::mem::size_of::<Fut>()
    }

    /// An idle connection's memory is mostly its task's state (#17: 7.2 KiB per participant
    /// in all, of which this future is about 1.5–1.7 KiB in debug and release builds). A change
    /// that puts a large future or value inline in the relay loop shows up here first; box it
    /// (as the hello phase, the join, replies and closes are) or keep it off the loop.
    #[test]
    fn a_connection_task_stays_small() {
        let size = future_size(&serve);
        assert!(
            size <= 2 * 1024,
            "the connection task's state is {size} bytes"
        );
    }
}
