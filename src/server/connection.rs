//! One task per WebSocket: waits for `hello`, verifies the token, joins the meeting, then relays
//! frames both ways — decoding, rate limiting and size checks on the way in; the bounded
//! outbound queue, keepalive and close codes on the way out.

use super::budget::ReadBudget;
use super::hello::{self, Hello};
use super::AppState;
use crate::limits;
use crate::meeting::{
    outbound_queue, ConnHandle, KillSwitch, MeetingHandle, OutboundRx, SessionEnd,
};
use crate::metrics::Metrics;
use crate::protocol::{
    ClientFrame, ClientMessage, CloseCode, ErrorCode, FrameId, PeerId, PeerLeftReason, RateClass,
    Refusal, ServerMessage,
};
use axum::extract::ws::{CloseFrame, Message, Utf8Bytes, WebSocket};
use futures_util::stream::{SplitSink, SplitStream};
use futures_util::{SinkExt, StreamExt};
use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};
use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::Instant;
use tokio::sync::OwnedSemaphorePermit;
use tokio::time::{interval_at, timeout, MissedTickBehavior};

type Sink = SplitSink<WebSocket, Message>;
type Stream = SplitStream<WebSocket>;

/// Runs one connection to the end. `_places` are held so the connection caps (total and per
/// address) count this socket; `hello_place` only until the hello phase is over.
pub(super) async fn run(
    socket: WebSocket,
    state: Arc<AppState>,
    _places: (OwnedSemaphorePermit, super::IpSlot),
    (hello_place, hello_slot, budget): (OwnedSemaphorePermit, super::IpSlot, Arc<ReadBudget>),
) {
    let (mut sink, mut stream) = socket.split();
    // A shutdown during the hello phase closes with 1001 at once, within the drain time, rather
    // than after the hello timeout.
    let mut shutdown = state.shutdown.clone();
    let hello = tokio::select! {
        hello = timeout(state.config.hello_timeout(), read_hello(&mut stream, &state, &budget)) => hello,
        _ = async {
            if shutdown.wait_for(|&s| s).await.is_err() {
                std::future::pending::<()>().await;
            }
        } => Ok(Err(Refusal::close_only(CloseCode::GoingAway))),
    };
    let hello = match hello {
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
                send_now(
                    state.directory.metrics(),
                    &mut sink,
                    &ServerMessage::error(code, message, None),
                )
                .await;
            }
            close_with(state.directory.metrics(), &mut sink, close).await;
            linger(&mut stream).await;
            return;
        }
        Err(_elapsed) => {
            close_with(
                state.directory.metrics(),
                &mut sink,
                CloseCode::HelloTimeout,
            )
            .await;
            linger(&mut stream).await;
            return;
        }
    };

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
                send_now(state.directory.metrics(), &mut sink, &error).await;
            }
            close_with(state.directory.metrics(), &mut sink, refused.close).await;
            linger(&mut stream).await;
            return;
        }
    };

    let mut session = Session {
        peer,
        conn: asked_as,
        meeting,
        limits: RateLimits::new(&state.config),
        refusals: RateLimiter::direct(
            Quota::per_second(
                NonZeroU32::new(limits::rates::REFUSALS_PER_SEC).unwrap_or(NonZeroU32::MIN),
            )
            .allow_burst(NonZeroU32::new(limits::rates::REFUSALS_BURST).unwrap_or(NonZeroU32::MIN)),
        ),
        sink,
        meeting_id,
        state: Arc::clone(&state),
        sub,
        expires_at: hello.expires_at,
    };
    let end = session.pump(&mut stream, rx, &kill, &state).await;
    if let Some(end) = end {
        session.meeting.leave(peer, asked_as, end).await;
    }
    linger(&mut stream).await;
}

/// Reads frames until the first meaningful one, which must be a valid `hello`.
async fn read_hello(
    stream: &mut Stream,
    state: &AppState,
    budget: &ReadBudget,
) -> Result<Hello, Refusal> {
    loop {
        let text = match stream.next().await {
            Some(Ok(Message::Text(text))) => text,
            Some(Ok(Message::Ping(_) | Message::Pong(_))) => continue,
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
        return hello::admit(&text, &state.verifier);
    }
}

/// Per-connection token buckets, one per kind of message.
struct RateLimits {
    chat: DefaultDirectRateLimiter,
    signal: DefaultDirectRateLimiter,
    data: DefaultDirectRateLimiter,
    /// Host actions (split, move, merge…) and room choices.
    control: DefaultDirectRateLimiter,
}

impl RateLimits {
    fn new(config: &crate::config::Config) -> Self {
        let bucket = |rate: u32, burst: u32| {
            let rate = NonZeroU32::new(rate).unwrap_or(NonZeroU32::MIN);
            let burst = NonZeroU32::new(burst).unwrap_or(rate);
            RateLimiter::direct(Quota::per_second(rate).allow_burst(burst))
        };
        RateLimits {
            chat: bucket(config.chat_rate, config.chat_burst),
            signal: bucket(config.signal_rate, config.signal_burst),
            data: bucket(config.data_rate, config.data_burst),
            control: bucket(limits::rates::CONTROL_PER_SEC, limits::rates::CONTROL_BURST),
        }
    }

    fn allow(&self, message: &ClientMessage) -> bool {
        let bucket = match message.policy().rate {
            RateClass::Free => return true,
            RateClass::Chat => &self.chat,
            RateClass::Signal => &self.signal,
            RateClass::Data => &self.data,
            RateClass::Control => &self.control,
        };
        bucket.check().is_ok()
    }

    /// Whether an unusable frame (malformed, unknown, too large, binary) may be answered: it
    /// draws from the control bucket.
    fn allow_invalid(&self) -> bool {
        self.control.check().is_ok()
    }
}

/// A joined connection.
struct Session {
    peer: PeerId,
    /// This socket's own id (the peer id it asked under), which the meeting checks a request
    /// against: after a takeover `peer` is the seat's id and `conn` tells the sockets apart.
    conn: PeerId,
    meeting: MeetingHandle,
    limits: RateLimits,
    /// Refused-for-rate messages: a client that keeps sending past `rate_limited` errors drains
    /// this bucket too and is disconnected as a flooder.
    refusals: DefaultDirectRateLimiter,
    sink: Sink,
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

impl Session {
    /// Relays until the connection ends. Returns how it ended, for the meeting, or `None` when
    /// the meeting itself closed it (kill switch). A socket that simply fails (no close frame,
    /// keepalive timeout, a write that cannot get through) is `Dropped`, and its seat is held
    /// for a resume; a close frame or a close for cause is a leave.
    async fn pump(
        &mut self,
        stream: &mut Stream,
        mut outbound: OutboundRx,
        kill: &KillSwitch,
        state: &AppState,
    ) -> Option<SessionEnd> {
        const GONE: Option<SessionEnd> = Some(SessionEnd::Left(PeerLeftReason::Disconnected));
        const DROPPED: Option<SessionEnd> = Some(SessionEnd::Dropped);
        let ping_every = state.config.ping_interval();
        let idle_timeout = state.config.idle_timeout();
        let mut ping = interval_at(tokio::time::Instant::now() + ping_every, ping_every);
        ping.set_missed_tick_behavior(MissedTickBehavior::Delay);
        let mut last_heard = Instant::now();
        let mut shutdown = state.shutdown.clone();
        let leeway = state.config.jwt_leeway_secs;
        let mut token_valid_for = self.expires_at;
        let expiry = tokio::time::sleep_until(expiry_instant(token_valid_for, leeway));
        tokio::pin!(expiry);
        loop {
            if self.expires_at != token_valid_for {
                // A `refresh` extended the session.
                token_valid_for = self.expires_at;
                expiry
                    .as_mut()
                    .reset(expiry_instant(token_valid_for, leeway));
            }
            tokio::select! {
                // Removal by the meeting and shutdown come first: they end the session whatever
                // else is pending.
                biased;
                code = kill.tripped() => {
                    // The socket may be backed up (that is why we were removed): give the close
                    // frame a full write timeout to get through behind the queued data.
                    let reason = CloseCode::from_code(code).map_or("closed", CloseCode::reason);
                    self.state.directory.metrics().closed(reason);
                    let _ = timeout(limits::WRITE_TIMEOUT, self.sink.send(close_message(code, reason))).await;
                    return None;
                }
                _ = async {
                    // A dropped sender is not a shutdown: wait forever then.
                    if shutdown.wait_for(|&s| s).await.is_err() {
                        std::future::pending::<()>().await;
                    }
                } => {
                    close_with(self.state.directory.metrics(), &mut self.sink, CloseCode::GoingAway).await;
                    return GONE;
                }
                _ = &mut expiry => {
                    tracing::info!(peer = %self.peer, "token expired");
                    self.reply(ServerMessage::error(ErrorCode::Unauthorized, "token expired", None)).await;
                    close_with(self.state.directory.metrics(), &mut self.sink, CloseCode::TokenExpired).await;
                    return GONE;
                }
                frame = stream.next() => {
                    last_heard = Instant::now();
                    match frame {
                        Some(Ok(Message::Text(text))) => {
                            if let Err(code) = self.on_text(&text).await {
                                if code == CloseCode::Flood {
                                    self.settle(&mut outbound).await;
                                }
                                close_with(self.state.directory.metrics(), &mut self.sink, code).await;
                                return GONE;
                            }
                        }
                        Some(Ok(Message::Binary(_))) => {
                            let refusal = ServerMessage::error(ErrorCode::BadRequest, "binary frames are not part of the protocol", None);
                            if let Err(code) = self.refuse(refusal).await {
                                self.settle(&mut outbound).await;
                                close_with(self.state.directory.metrics(), &mut self.sink, code).await;
                                return GONE;
                            }
                        }
                        Some(Ok(Message::Ping(_) | Message::Pong(_))) => {}
                        // 4100 is the client saying "my connection looks dead, I will resume".
                        Some(Ok(Message::Close(Some(frame)))) if frame.code == CloseCode::Reconnecting.code() => return DROPPED,
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
                                close_with(self.state.directory.metrics(), &mut self.sink, code).await;
                                return GONE;
                            }
                            tracing::debug!(peer = %self.peer, error = %e, "dropped: read error");
                            return DROPPED;
                        }
                    }
                }
                next = outbound.recv() => {
                    let Some(frame) = next else { return GONE };
                    match timeout(limits::WRITE_TIMEOUT, write_batch(&mut self.sink, frame, &mut outbound)).await {
                        Ok(Ok(())) => {}
                        Ok(Err(e)) => {
                            tracing::debug!(peer = %self.peer, error = %e, "dropped: write failed");
                            return DROPPED;
                        }
                        Err(_) => {
                            self.state.directory.metrics().slow_consumer();
                            close_with(self.state.directory.metrics(), &mut self.sink, CloseCode::SlowConsumer).await;
                            return DROPPED;
                        }
                    }
                }
                _ = ping.tick() => {
                    if last_heard.elapsed() >= idle_timeout {
                        tracing::info!(peer = %self.peer, "keepalive timeout");
                        close_with(self.state.directory.metrics(), &mut self.sink, CloseCode::PingTimeout).await;
                        return DROPPED;
                    }
                    if !matches!(timeout(limits::WRITE_TIMEOUT, self.sink.send(Message::Ping(Default::default()))).await, Ok(Ok(()))) {
                        return DROPPED;
                    }
                }
            }
        }
    }

    /// Handles one text frame. An `Err` ends the session with that close code.
    async fn on_text(&mut self, text: &str) -> Result<(), CloseCode> {
        if text.len() > limits::MAX_SFU_SDP_FRAME_BYTES {
            let reference = frame_ref(text);
            let message = format!("frame over {} bytes", limits::MAX_SFU_SDP_FRAME_BYTES);
            return self
                .refuse(ServerMessage::error(
                    ErrorCode::TooLarge,
                    message,
                    reference,
                ))
                .await;
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
                return self
                    .refuse(ServerMessage::error(
                        ErrorCode::BadRequest,
                        message,
                        reference,
                    ))
                    .await;
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
            return self.refuse(error).await;
        }
        if matches!(message, ClientMessage::Hello { .. }) {
            let error = ServerMessage::error(ErrorCode::BadRequest, "already joined", reference);
            return self.refuse(error).await;
        }
        if matches!(message, ClientMessage::Data { .. })
            && text.len() > limits::MAX_APP_DATA_FRAME_BYTES
        {
            let error =
                ServerMessage::error(ErrorCode::TooLarge, "app data frame too large", reference);
            return self.refuse(error).await;
        }
        if !self.limits.allow(&message) {
            if self.refusals.check().is_err() {
                tracing::info!(peer = %self.peer, kind = message.kind(), "flooding: disconnected");
                return Err(CloseCode::Flood);
            }
            self.reply(ServerMessage::error(
                ErrorCode::RateLimited,
                "slow down",
                reference,
            ))
            .await;
            return Ok(());
        }
        // Ping and refresh are the connection's own business; they come after the rate limit
        // because a refresh costs a signature check.
        if matches!(message, ClientMessage::Ping {}) {
            // Answered here, never queued behind the meeting: it measures this socket only.
            self.reply(ServerMessage::Pong {}).await;
            return Ok(());
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
            if let Some(answer) = answer {
                self.reply(answer).await;
            }
            return Ok(());
        }
        if self
            .meeting
            .request(self.peer, self.conn, reference, message)
            .await
        {
            Ok(())
        } else {
            Err(CloseCode::Internal)
        }
    }

    /// Checks a `refresh` token: valid, same meeting, same person. Returns its `exp`.
    fn verifier_check(&self, token: &str) -> Result<u64, &'static str> {
        hello::check_refresh(&self.state.verifier, token, &self.meeting_id, &self.sub)
    }

    /// Answers a frame the hub could not use (too large, malformed, unknown, binary). Such frames
    /// cost like any other: they draw from the control bucket, and past it they count as refusals
    /// toward the flood close, so garbage cannot be sent faster than requests.
    async fn refuse(&mut self, error: ServerMessage) -> Result<(), CloseCode> {
        if !self.limits.allow_invalid() {
            if self.refusals.check().is_err() {
                tracing::info!(peer = %self.peer, "flooding with invalid frames: disconnected");
                return Err(CloseCode::Flood);
            }
            let slow_down = ServerMessage::error(ErrorCode::RateLimited, "slow down", None);
            self.reply(slow_down).await;
            return Ok(());
        }
        self.reply(error).await;
        Ok(())
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
                if write_batch(&mut self.sink, frame, outbound).await.is_err() {
                    return;
                }
            }
        };
        let _ = timeout(limits::WRITE_TIMEOUT, drained).await;
    }

    /// Sends a reply that does not involve the meeting (decode errors, rate limits).
    async fn reply(&mut self, message: ServerMessage) {
        send_now(self.state.directory.metrics(), &mut self.sink, &message).await;
    }
}

async fn send_now(metrics: &Metrics, sink: &mut Sink, message: &ServerMessage) {
    metrics.frames_sent(message, 1);
    if let Ok(text) = serde_json::to_string(message) {
        let _ = timeout(limits::WRITE_TIMEOUT, sink.send(Message::Text(text.into()))).await;
    }
}

/// Writes `first` and whatever else is already queued (up to [`limits::WRITE_BATCH`] frames),
/// then flushes once: under load one syscall carries many frames instead of one each.
async fn write_batch(
    sink: &mut Sink,
    first: Utf8Bytes,
    queued: &mut OutboundRx,
) -> Result<(), axum::Error> {
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
async fn linger(stream: &mut Stream) {
    let _ = timeout(limits::CLOSE_LINGER, async {
        while let Some(Ok(message)) = stream.next().await {
            if matches!(message, Message::Close(_)) {
                break;
            }
        }
    })
    .await;
}

fn close_message(code: u16, reason: &'static str) -> Message {
    Message::Close(Some(CloseFrame {
        code,
        reason: Utf8Bytes::from_static(reason),
    }))
}

async fn close_with(metrics: &Metrics, sink: &mut Sink, code: CloseCode) {
    metrics.closed(code.reason());
    let _ = timeout(
        limits::WRITE_TIMEOUT / 10,
        sink.send(close_message(code.code(), code.reason())),
    )
    .await;
}

/// The close code for a WebSocket read error that came from the client's bytes (a frame over
/// the size limit, invalid UTF-8, a broken frame); `None` when the connection simply failed.
fn read_error_close(error: &axum::Error) -> Option<CloseCode> {
    let inner: &(dyn std::error::Error + 'static) = error;
    let mut source = Some(inner);
    while let Some(e) = source {
        match e.downcast_ref::<tungstenite::Error>() {
            Some(tungstenite::Error::Capacity(_)) => return Some(CloseCode::MessageTooBig),
            Some(tungstenite::Error::Utf8(_)) => return Some(CloseCode::InvalidData),
            // The peer vanished without a close frame: the network dropped, not a bad client.
            Some(tungstenite::Error::Protocol(
                tungstenite::error::ProtocolError::ResetWithoutClosingHandshake,
            )) => return None,
            Some(tungstenite::Error::Protocol(_)) => return Some(CloseCode::ProtocolError),
            _ => {}
        }
        source = e.source();
    }
    None
}
