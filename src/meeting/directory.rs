//! The directory of running meetings: meeting id → the handle of its actor, started on first
//! join. Only a directory: all meeting state lives in the actors, and an actor that empties
//! removes itself, leaving its moderation decisions (bans, assigned roles, the lock, the waiting
//! room) here for [`limits::MODERATION_MEMORY`], so a fresh actor of the same meeting starts
//! from them.

use super::actor::{self, Command, ConnHandle, Join, MeetingHandle};
use super::core::Durable;
use super::core::{
    ApiAction, ApiAnswer, Identity, Meeting, MeetingConfig, Rejection, Remembered, Schedule,
};
use crate::auth::ApiCaller;
use crate::events::Events;
use crate::limits;
use crate::media::MediaHub;
use crate::metrics::Metrics;
use crate::protocol::{
    CloseCode, ErrorCode, MediaMode, MeetingKind, PeerId, Refusal, ResumeRequest,
};
use crate::pseudonym::Pseudonyms;
use dashmap::DashMap;
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use std::num::NonZeroU32;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Instant;
use tokio::sync::oneshot;

/// A partner's settings for one meeting (`PUT /v1/meetings/{meeting}`), kept whether or not it
/// runs: a meeting's actor starts from them. (Cluster mode keeps a copy in Redis, as JSON.)
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct MeetingSettings {
    pub schedule: Schedule,
    /// Start sessions with the waiting room on or off (absent: the hub's `waiting_room`).
    pub waiting_room: Option<bool>,
    /// Cap on people (absent: the hub's `max_meeting_members`, which is also the most allowed).
    pub max_members: Option<usize>,
    /// `sfu` or `mesh` for the meeting's next session (absent: the hub's `media_mode`).
    pub media_mode: Option<MediaMode>,
    /// The partner's own reference, opaque to the hub (documented as "no PHI").
    pub metadata: Option<serde_json::Value>,
    /// `session` or `drop_in` (absent: what the token of whoever starts it says).
    pub kind: Option<MeetingKind>,
    /// The group's agreement (absent: the hub's `agreement_file`, if any).
    pub agreement: Option<String>,
}

/// Meeting id → running actor. Only a directory: all meeting state lives in the actors.
#[derive(Debug)]
pub struct Directory {
    meetings: DashMap<String, MeetingHandle>,
    /// Cluster mode: this node's part (leases, records). Set once at start.
    cluster: std::sync::OnceLock<std::sync::Weak<crate::cluster::Cluster>>,
    /// Records to start meetings from (cluster mode: what the previous owner wrote), taken by
    /// the next actor of that meeting.
    restored: DashMap<String, Durable>,
    /// Set by [`Directory::shut_down`]: no more joins.
    shutting_down: AtomicBool,
    generations: AtomicU64,
    config: MeetingConfig,
    /// Pseudonyms of people for the actors' log lines.
    pseudonyms: Arc<Pseudonyms>,
    /// What stopped actors remembered, and until when (monotonic).
    remembered: DashMap<String, (Remembered, Instant)>,
    /// Joins, takeovers and resumes per person per meeting (`limits::REJOIN_BURST`,
    /// `REJOIN_EVERY`). Here, not in the actor: a meeting that empties between two rejoins
    /// (someone alone reconnecting in a loop) must not start each one afresh.
    rejoins: DefaultKeyedRateLimiter<(String, String)>,
    /// The SFU, when meetings' media goes through the hub.
    media: Option<MediaHub>,
    /// Where actors record their meetings' events (the API's event log and attendance).
    events: Arc<Events>,
    /// The partner's settings by meeting id, running or not (bounded by
    /// `limits::MAX_MEETING_SETTINGS`; memory only).
    settings: DashMap<String, MeetingSettings>,
    /// The hub's metrics, which actors keep up to date.
    metrics: Arc<Metrics>,
}

impl Directory {
    pub fn new(
        config: MeetingConfig,
        pseudonyms: Arc<Pseudonyms>,
        media: Option<MediaHub>,
        events: Arc<Events>,
        metrics: Arc<Metrics>,
    ) -> Arc<Self> {
        Arc::new(Directory {
            metrics,
            media,
            events,
            meetings: DashMap::new(),
            shutting_down: AtomicBool::new(false),
            cluster: std::sync::OnceLock::new(),
            restored: DashMap::new(),
            generations: AtomicU64::new(0),
            config,
            pseudonyms,
            remembered: DashMap::new(),
            settings: DashMap::new(),
            rejoins: RateLimiter::keyed(
                Quota::with_period(limits::REJOIN_EVERY)
                    .unwrap_or_else(|| Quota::per_second(NonZeroU32::MIN))
                    .allow_burst(NonZeroU32::new(limits::REJOIN_BURST).unwrap_or(NonZeroU32::MIN)),
            ),
        })
    }

    /// Number of meetings with a running actor.
    pub fn len(&self) -> usize {
        self.meetings.len()
    }

    pub fn is_empty(&self) -> bool {
        self.meetings.is_empty()
    }

    /// Puts `peer` into `meeting`, starting the meeting's actor if needed. On success the
    /// `welcome` is already in `conn`'s queue, and the returned id is the connection's peer id:
    /// `peer`, or the seat it took over (the same person already connected, or a resume).
    /// Cluster mode: the node's cluster part, for the actors' records.
    pub fn set_cluster(&self, cluster: &Arc<crate::cluster::Cluster>) {
        let _ = self.cluster.set(Arc::downgrade(cluster));
    }

    pub fn cluster(&self) -> Option<Arc<crate::cluster::Cluster>> {
        self.cluster.get().and_then(std::sync::Weak::upgrade)
    }

    /// Cluster mode, this node just took `meeting`'s lease: its next actor starts from `record`
    /// (what the previous owner wrote). A stale actor of it (from before a lost lease) goes.
    pub fn restore(&self, meeting: &str, record: Option<Durable>) {
        self.evict(meeting);
        if let Some(record) = record {
            self.restored.insert(meeting.to_owned(), record);
        }
    }

    /// Cluster mode: this node no longer serves `meeting`. Its actor closes every member's
    /// connection with 4108 (they resume on the next owner) and leaves the directory.
    pub fn evict(&self, meeting: &str) {
        if let Some((_, handle)) = self.meetings.remove(meeting) {
            tokio::spawn(async move {
                let _ = handle.tx.send(Command::Shutdown(CloseCode::Moved)).await;
            });
        }
    }

    /// Whether `meeting` has a running actor here.
    pub fn is_running(&self, meeting: &str) -> bool {
        self.meetings
            .get(meeting)
            .is_some_and(|h| !h.tx.is_closed())
    }

    /// `meeting`'s durable record now, from its actor.
    pub async fn durable(&self, meeting: &str) -> Option<Durable> {
        let handle = self.meetings.get(meeting)?.clone();
        let (reply, answer) = oneshot::channel();
        handle.tx.send(Command::Durable(reply)).await.ok()?;
        answer.await.ok()
    }

    /// Shutting down: refuses joins from now on and tells every meeting to close its members'
    /// connections with 1001 (they reconnect, and resume, elsewhere or after the restart).
    pub fn shut_down(&self) {
        self.shutting_down.store(true, Ordering::Release);
        for meeting in self.meetings.iter() {
            let tx = meeting.value().tx.clone();
            // The inbox may be full for a moment; the command must still arrive.
            tokio::spawn(async move {
                let _ = tx.send(Command::Shutdown(CloseCode::GoingAway)).await;
            });
        }
    }

    pub async fn join(
        self: &Arc<Self>,
        meeting: &str,
        peer: PeerId,
        identity: Identity,
        (resume, kind): (Option<ResumeRequest>, MeetingKind),
        conn: ConnHandle,
    ) -> Result<(MeetingHandle, PeerId), Refusal> {
        if self.shutting_down.load(Ordering::Acquire) {
            return Err(Refusal::close_only(CloseCode::GoingAway));
        }
        let key = (meeting.to_owned(), identity.sub.clone());
        if self.rejoins.check_key(&key).is_err() {
            tracing::info!(
                meeting,
                who = self.pseudonyms.of(&identity.sub),
                "rejoining too fast: refused"
            );
            return Err(Refusal::new(
                ErrorCode::RateLimited,
                "rejoining too fast: wait a moment",
                CloseCode::RejoiningTooFast,
            ));
        }
        if self.rejoins.len() > limits::REJOIN_KEYS_KEPT {
            // People who came and went long ago: their buckets are full again anyway.
            self.rejoins.retain_recent();
        }
        // An actor that just emptied removes itself and drops its inbox; a join that raced with
        // that sees a closed channel or a dropped reply and tries again with a fresh actor.
        for _ in 0..8 {
            let handle = self.handle_for(meeting, kind);
            let (reply, answer) = oneshot::channel();
            let command = Command::Join(Box::new(Join {
                peer,
                identity: identity.clone(),
                resume: resume.clone(),
                conn: conn.clone(),
                reply,
            }));
            if handle.tx.send(command).await.is_err() {
                continue;
            }
            let resuming = resume.is_some();
            match answer.await {
                Ok(Ok(seat)) => {
                    if resuming {
                        self.metrics.resume("ok");
                    }
                    return Ok((handle, seat));
                }
                Ok(Err(refused)) => {
                    if resuming {
                        self.metrics
                            .resume(if refused.error == Some(ErrorCode::ResumeExpired) {
                                "expired"
                            } else {
                                "refused"
                            });
                    }
                    return Err(refused);
                }
                Err(_) => continue,
            }
        }
        Err(Refusal::new(
            ErrorCode::Internal,
            "meeting is restarting, retry",
            CloseCode::Internal,
        ))
    }

    /// Carries out a server API action in `meeting` if it is running (`None` if not: a meeting
    /// runs while anyone is in it, and the API never starts one).
    pub async fn api(
        &self,
        meeting: &str,
        action: ApiAction,
        caller: ApiCaller,
    ) -> Option<Result<ApiAnswer, Rejection>> {
        let handle = self.meetings.get(meeting).map(|h| h.clone())?;
        handle.api(action, caller).await
    }

    /// Sets a meeting's settings (`Ok(true)` if it had none), and hands the schedule and the
    /// cap to its actor if it runs, as an API action in the meeting's order.
    pub async fn put_settings(
        &self,
        meeting: &str,
        settings: MeetingSettings,
        caller: ApiCaller,
        now_ms: u64,
    ) -> Result<bool, Rejection> {
        if settings.media_mode == Some(MediaMode::Sfu) && self.media.is_none() {
            return Err((
                ErrorCode::Conflict,
                "this hub runs with media_mode mesh: it has no SFU for this meeting",
            ));
        }
        if !self.settings.contains_key(meeting)
            && self.settings.len() >= limits::MAX_MEETING_SETTINGS
        {
            // Settings of sessions long over make room first.
            let keep_after = now_ms.saturating_sub(limits::ATTENDANCE_RETENTION_SECS * 1000);
            self.settings
                .retain(|_, s| s.schedule.ends_at.is_none_or(|end| end > keep_after));
            if self.settings.len() >= limits::MAX_MEETING_SETTINGS {
                return Err((ErrorCode::Conflict, "too many meetings have settings"));
            }
        }
        let action = ApiAction::Settings {
            schedule: settings.schedule,
            max_members: self.max_members(&settings),
        };
        let created = self.settings.insert(meeting.to_owned(), settings).is_none();
        match self.api(meeting, action, caller.clone()).await {
            Some(Err(refused)) => return Err(refused),
            // The running meeting's actor wrote the audit line.
            Some(Ok(_)) => {}
            None => caller.audit(meeting, "settings", None),
        }
        Ok(created)
    }

    /// Cluster mode: the settings the cluster keeps for `meeting` (set through another node),
    /// taken as they are. The meeting does not run here (its owner has them already).
    pub fn keep_settings(&self, meeting: &str, settings: MeetingSettings) {
        self.settings.insert(meeting.to_owned(), settings);
    }

    /// A meeting's settings, if the partner set any.
    pub fn settings(&self, meeting: &str) -> Option<MeetingSettings> {
        self.settings.get(meeting).map(|s| s.clone())
    }

    /// The ids of meetings with settings, sorted.
    pub fn with_settings(&self) -> Vec<String> {
        let mut ids: Vec<String> = self.settings.iter().map(|e| e.key().clone()).collect();
        ids.sort();
        ids
    }

    fn max_members(&self, settings: &MeetingSettings) -> usize {
        settings
            .max_members
            .map_or(self.config.max_members, |n| n.min(self.config.max_members))
    }

    pub fn media(&self) -> Option<&MediaHub> {
        self.media.as_ref()
    }

    pub fn metrics(&self) -> &Arc<Metrics> {
        &self.metrics
    }

    pub fn events(&self) -> &Events {
        &self.events
    }

    /// The ids of the running meetings, sorted.
    pub fn running(&self) -> Vec<String> {
        let mut ids: Vec<String> = self.meetings.iter().map(|e| e.key().clone()).collect();
        ids.sort();
        ids
    }

    /// The running actor of `meeting`, or a new one (of `kind`, unless the partner's settings
    /// say what kind it is).
    fn handle_for(self: &Arc<Self>, meeting: &str, kind: MeetingKind) -> MeetingHandle {
        if let Some(handle) = self.meetings.get(meeting) {
            if !handle.tx.is_closed() {
                return handle.clone();
            }
        }
        let mut entry = self
            .meetings
            .entry(meeting.to_owned())
            .or_insert_with(|| self.spawn(meeting, kind));
        if entry.tx.is_closed() {
            *entry = self.spawn(meeting, kind);
        }
        entry.clone()
    }

    fn spawn(self: &Arc<Self>, meeting: &str, kind: MeetingKind) -> MeetingHandle {
        let generation = self.generations.fetch_add(1, Ordering::Relaxed);
        let settings = self.settings(meeting).unwrap_or_default();
        let mut config = self.config.clone();
        config.max_members = self.max_members(&settings);
        config.waiting_room = settings.waiting_room.unwrap_or(config.waiting_room);
        config.kind = settings.kind.unwrap_or(kind);
        if settings.agreement.is_some() {
            config.agreement = settings.agreement.clone();
        }
        config.media_mode = match (settings.media_mode, &self.media) {
            (Some(mode), Some(_)) => mode,
            _ => config.media_mode,
        };
        let sfu = config.media_mode == MediaMode::Sfu;
        config.sfu_instance = self
            .media
            .as_ref()
            .filter(|_| sfu)
            .map(|m| m.instance().to_owned());
        let mut core = Meeting::new(meeting, config, rand::random())
            .with_token_seed(rand::random())
            .with_schedule(settings.schedule);
        if let Some((_, (remembered, until))) = self.remembered.remove(meeting) {
            if Instant::now() < until {
                core = core.remember(remembered);
            }
        }
        if let Some((_, record)) = self.restored.remove(meeting) {
            core = core.restore(record, crate::meeting::actor::wall_clock_ms());
        }
        tracing::debug!(meeting, generation, "meeting actor started");
        let media = self
            .media
            .as_ref()
            .filter(|_| sfu)
            .map(|hub| hub.meeting(generation));
        actor::spawn(
            core,
            Arc::clone(self),
            Arc::clone(&self.pseudonyms),
            generation,
            media,
        )
    }

    /// Called by an actor that stops: keeps what it remembers (before the actor leaves the
    /// directory, so an actor started right after finds it), then removes it unless a later
    /// actor already took its place. Forgets what has been kept past its time.
    pub(super) fn forget(&self, meeting: &str, generation: u64, remembered: Option<Remembered>) {
        let now = Instant::now();
        self.remembered.retain(|_, (_, until)| now < *until);
        if let Some(remembered) = remembered {
            self.remembered.insert(
                meeting.to_owned(),
                (remembered, now + limits::MODERATION_MEMORY),
            );
        }
        self.meetings
            .remove_if(meeting, |_, h| h.generation == generation);
    }
}
