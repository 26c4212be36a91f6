//! The meeting events as the partner hears them: numbered per meeting, kept in a bounded
//! in-memory log for `GET /v1/events`, and folded into each meeting's attendance for
//! `GET /v1/meetings/{meeting}/attendance`. Actors record their meetings' events here as they
//! carry out their effects (one order per meeting, as the meeting decided it). Nothing here is
//! ever written to disk; attendance is forgotten `attendance_retention_secs` after its meeting
//! ended. Opaque ids only: `sub`, peer id, role, room.

use crate::limits;
use crate::meeting::{EventKind, EventPerson, MeetingEvent, Millis};
use crate::protocol::{PeerId, Role};
use crate::webhooks::Outbox;
use serde::Serialize;
use serde_json::value::RawValue;
use serde_json::{json, Value};
use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::Mutex;
use std::time::{Duration, UNIX_EPOCH};

/// RFC 3339 with milliseconds, UTC.
pub fn rfc3339(ms: Millis) -> String {
    humantime::format_rfc3339_millis(UNIX_EPOCH + Duration::from_millis(ms)).to_string()
}

/// One recorded event: `{type, timestamp, data}` as webhooks carry it, with its log id.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Envelope {
    /// The event's id: the cursor of `GET /v1/events`, and `webhook-id`.
    pub id: String,
    #[serde(rename = "type")]
    #[schema(value_type = String)]
    pub kind: std::borrow::Cow<'static, str>,
    pub timestamp: String,
    /// Always `meeting` and its `seq`; for participant events `sub`, `peer`, `role`, `room`;
    /// `reason` and `session_seconds` when someone left; `from` for room and role changes.
    // Kept as its JSON text: the log holds 10,000 of these, and a parsed object costs five times
    // the memory (and a dozen allocations) of its text.
    #[schema(value_type = Object)]
    pub data: Box<RawValue>,
}

fn raw(data: &Value) -> Box<RawValue> {
    serde_json::value::to_raw_value(data)
        .unwrap_or_else(|_| RawValue::from_string("{}".into()).unwrap_or_else(|_| unreachable!()))
}

/// Hub-wide: the event log and every meeting's attendance.
#[derive(Debug)]
pub struct Events {
    retention_ms: Millis,
    inner: Mutex<Inner>,
    /// Webhook deliveries, when configured.
    outbox: Option<Outbox>,
    /// Cluster mode: the event log and the webhook outbox are Redis streams, written through
    /// this (the local log then only feeds attendance).
    shared: std::sync::OnceLock<crate::cluster::EventSink>,
}

#[derive(Debug, Default)]
struct Inner {
    next_id: u64,
    log: VecDeque<(u64, Envelope)>,
    seq: HashMap<String, u64>,
    attendance: HashMap<String, Attendance>,
    /// When expired attendance was last forgotten (event time, ms).
    pruned_at: Millis,
}

/// Attendance of one meeting, for billing: when it ran, how many at most, when a clinician
/// was present, and each person's sessions.
#[derive(Debug, Clone, Default, Serialize, utoipa::ToSchema)]
pub struct Attendance {
    pub meeting: String,
    pub started_at: Option<String>,
    pub ended_at: Option<String>,
    pub max_concurrent: usize,
    pub host_present: Vec<Interval>,
    pub people: Vec<PersonAttendance>,
    #[serde(skip)]
    #[schema(ignore)]
    state: AttendanceState,
}

// Times are kept as milliseconds and written as RFC 3339 when read.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Interval {
    #[serde(serialize_with = "as_rfc3339")]
    #[schema(value_type = String)]
    pub from: Millis,
    /// Absent while still present.
    #[serde(
        skip_serializing_if = "Option::is_none",
        serialize_with = "opt_rfc3339"
    )]
    #[schema(value_type = Option<String>)]
    pub to: Option<Millis>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct PersonAttendance {
    pub sub: String,
    pub sessions: Vec<Session>,
    pub in_meeting_seconds: u64,
    pub waiting_seconds: u64,
}

// Times are kept as milliseconds (a churny group makes many sessions) and written as RFC 3339.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Session {
    #[serde(serialize_with = "as_rfc3339")]
    #[schema(value_type = String)]
    pub joined_at: Millis,
    /// Absent while the session goes on.
    #[serde(
        skip_serializing_if = "Option::is_none",
        serialize_with = "opt_rfc3339"
    )]
    #[schema(value_type = Option<String>)]
    pub left_at: Option<Millis>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<&'static str>,
}

/// The running sums behind [`Attendance`], in milliseconds.
#[derive(Debug, Clone, Default)]
struct AttendanceState {
    ended_ms: Option<Millis>,
    /// Seated now: peer → (sub, role).
    seated: BTreeMap<PeerId, (String, Role)>,
    /// Per sub: open session start, waiting since, totals.
    open: HashMap<String, Millis>,
    waiting_since: HashMap<String, Millis>,
    in_ms: HashMap<String, Millis>,
    waiting_ms: HashMap<String, Millis>,
    clinician_since: Option<Millis>,
}

impl Events {
    pub fn new(retention: Duration) -> Events {
        Events {
            retention_ms: retention.as_millis() as Millis,
            inner: Mutex::new(Inner::default()),
            outbox: None,
            shared: std::sync::OnceLock::new(),
        }
    }

    /// Also POST every event to the partner.
    pub fn with_webhooks(mut self, outbox: Outbox) -> Events {
        self.outbox = Some(outbox);
        self
    }

    pub fn webhooks(&self) -> Option<&Outbox> {
        self.outbox.as_ref()
    }

    /// Cluster mode: every event from now on goes to the cluster's streams through `sink`.
    pub fn share(&self, sink: crate::cluster::EventSink) {
        let _ = self.shared.set(sink);
    }

    /// The cluster's event streams, in cluster mode.
    pub fn shared(&self) -> Option<&crate::cluster::EventSink> {
        self.shared.get()
    }

    /// Records `event` of `meeting` (the actor calls this in the meeting's order) and queues
    /// its webhook.
    pub fn record(&self, meeting: &str, event: &MeetingEvent) {
        let envelopes = self.log(meeting, event);
        if let Some(sink) = self.shared.get() {
            for (env, seq) in envelopes {
                sink.push(meeting, seq, env);
            }
            return;
        }
        if let Some(outbox) = &self.outbox {
            // Outside the lock: one order still, since each meeting's actor calls in turn and
            // the outbox keeps the order it is given.
            for (env, _) in envelopes {
                outbox.push(env);
            }
        }
    }

    /// Logs `event`, and after a `meeting.ended` the `attendance.finalized` that follows it.
    /// Each with its `seq` in the meeting.
    fn log(&self, meeting: &str, event: &MeetingEvent) -> Vec<(Envelope, u64)> {
        let Ok(mut inner) = self.inner.lock() else {
            // A panic elsewhere poisoned the log: keep serving, lose only the event.
            return vec![(envelope(0, meeting, 0, event), 0)];
        };
        // Forgetting expired attendance walks every meeting's: once a minute, not per event.
        if event.at >= inner.pruned_at + 60_000 {
            inner.pruned_at = event.at;
            let retention = self.retention_ms;
            let Inner {
                attendance, seq, ..
            } = &mut *inner;
            attendance.retain(|_, a| a.state.ended_ms.is_none_or(|t| event.at < t + retention));
            // A meeting's numbering goes with its attendance (a meeting id reused a day later
            // starts again at 1), so neither map grows with every meeting ever held.
            seq.retain(|m, _| attendance.contains_key(m));
        }
        let env = inner.append(meeting, |id, seq| envelope(id, meeting, seq, event));
        let a = inner
            .attendance
            .entry(meeting.to_owned())
            .or_insert_with(|| Attendance {
                meeting: meeting.to_owned(),
                ..Attendance::default()
            });
        a.fold(event);
        if event.kind != EventKind::MeetingEnded {
            return vec![env];
        }
        // The session is over: its attendance is complete as of now (a later session of the
        // same meeting within the retention continues it, and is finalized again).
        let summary = [
            ("started_at", json!(a.started_at)),
            ("ended_at", json!(a.ended_at)),
            ("max_concurrent", json!(a.max_concurrent)),
            ("people", json!(a.people.len())),
        ];
        let finalized = inner.append(meeting, |id, seq| {
            make_envelope(id, "attendance.finalized", event.at, meeting, seq, |data| {
                for (key, value) in summary {
                    data[key] = value;
                }
            })
        });
        vec![env, finalized]
    }

    /// Events after `cursor` (an event id; 0 for the oldest kept), at most `limit`.
    pub fn after(&self, cursor: u64, limit: usize) -> Vec<Envelope> {
        let Ok(inner) = self.inner.lock() else {
            return Vec::new();
        };
        inner
            .log
            .iter()
            .filter(|(id, _)| *id > cursor)
            .take(limit)
            .map(|(_, e)| e.clone())
            .collect()
    }

    /// Cluster mode: a meeting taken over from another node goes on from what its previous
    /// owners logged (`logged`, oldest first, as [`logged`] writes each event): its attendance
    /// folds on from theirs, and its events are numbered after the last of theirs.
    pub fn take_over(&self, meeting: &str, logged: &[String]) {
        let (attendance, last_seq) = fold_logged(meeting, logged);
        if let Ok(mut inner) = self.inner.lock() {
            inner.attendance.insert(meeting.to_owned(), attendance);
            let s = inner.seq.entry(meeting.to_owned()).or_insert(0);
            *s = (*s).max(last_seq);
        }
    }

    /// Cluster mode: the attendance of a meeting that runs on no node, folded from what its
    /// owners logged, as it stands at `now` (if it ran within the retention).
    pub fn attendance_of_logged(
        &self,
        meeting: &str,
        logged: &[String],
        now: Millis,
    ) -> Option<Attendance> {
        if logged.is_empty() {
            return None;
        }
        let (a, _) = fold_logged(meeting, logged);
        if a.state
            .ended_ms
            .is_some_and(|t| now >= t + self.retention_ms)
        {
            return None;
        }
        Some(a.report(now))
    }

    /// The attendance of `meeting` as it stands at `now`, if it ran within the retention.
    pub fn attendance(&self, meeting: &str, now: Millis) -> Option<Attendance> {
        let inner = self.inner.lock().ok()?;
        let a = inner.attendance.get(meeting)?;
        if a.state
            .ended_ms
            .is_some_and(|t| now >= t + self.retention_ms)
        {
            return None;
        }
        Some(a.report(now))
    }
}

/// An envelope of `kind`: `data` holds `meeting` and `seq`, and what `fill` adds.
fn make_envelope(
    id: u64,
    kind: &'static str,
    at: Millis,
    meeting: &str,
    seq: u64,
    fill: impl FnOnce(&mut Value),
) -> Envelope {
    let mut data = json!({"meeting": meeting, "seq": seq});
    fill(&mut data);
    Envelope {
        id: format!("evt_{id}"),
        kind: kind.into(),
        timestamp: rfc3339(at),
        data: raw(&data),
    }
}

fn envelope(id: u64, meeting: &str, seq: u64, event: &MeetingEvent) -> Envelope {
    make_envelope(id, event.kind.name(), event.at, meeting, seq, |data| {
        event_data(data, event)
    })
}

/// What an event adds to its envelope's `data`: the person, and the event's own fields.
fn event_data(data: &mut Value, event: &MeetingEvent) {
    if let Some(p) = &event.person {
        data["sub"] = json!(p.sub);
        data["peer"] = json!(p.peer);
        data["role"] = json!(p.role);
        data["room"] = json!(p.room);
    }
    match &event.kind {
        EventKind::Left { reason, session_ms } => {
            data["reason"] = json!(reason);
            data["session_seconds"] = json!(session_ms / 1000);
        }
        EventKind::RoomChanged { from } => data["from"] = json!(from),
        EventKind::RoleChanged { from } => data["from"] = json!(from),
        EventKind::BreakoutsOpened { rooms } => data["rooms"] = json!(rooms),
        _ => {}
    }
}

/// An event as cluster mode keeps it in each meeting's log in Redis: its webhook body,
/// `{type, timestamp, data}`.
pub fn logged(env: &Envelope) -> String {
    crate::webhooks::body_of(&env.kind, &env.timestamp, &env.data)
}

/// Folds a meeting's logged events into its attendance; also the highest `seq` among them.
fn fold_logged(meeting: &str, logged: &[String]) -> (Attendance, u64) {
    let mut attendance = Attendance {
        meeting: meeting.to_owned(),
        ..Attendance::default()
    };
    let mut last_seq = 0;
    for text in logged {
        let Ok(v) = serde_json::from_str::<Value>(text) else {
            continue;
        };
        last_seq = last_seq.max(v["data"]["seq"].as_u64().unwrap_or(0));
        if let Some(event) = event_of_logged(&v) {
            attendance.fold(&event);
        }
    }
    (attendance, last_seq)
}

/// The event behind a logged one, for the kinds attendance folds.
fn event_of_logged(v: &Value) -> Option<MeetingEvent> {
    let at = humantime::parse_rfc3339(v["timestamp"].as_str()?)
        .ok()?
        .duration_since(UNIX_EPOCH)
        .ok()?
        .as_millis() as Millis;
    let data = &v["data"];
    let person = match (data["sub"].as_str(), data["peer"].as_u64()) {
        (Some(sub), Some(peer)) => Some(EventPerson {
            sub: sub.to_owned(),
            peer: PeerId(peer),
            role: serde_json::from_value(data["role"].clone()).ok()?,
            room: serde_json::from_value(data["room"].clone()).ok().flatten(),
        }),
        _ => None,
    };
    let kind = match v["type"].as_str()? {
        "meeting.started" => EventKind::MeetingStarted,
        "meeting.ended" => EventKind::MeetingEnded,
        "participant.joined" => EventKind::Joined,
        "participant.waiting" => EventKind::Waiting,
        "participant.role_changed" => EventKind::RoleChanged {
            from: serde_json::from_value(data["from"].clone()).ok()?,
        },
        "participant.left" => EventKind::Left {
            reason: LEFT_REASONS
                .into_iter()
                .find(|r| Some(*r) == data["reason"].as_str())
                .unwrap_or("left"),
            session_ms: data["session_seconds"].as_u64().unwrap_or(0) * 1000,
        },
        // The rest change no attendance.
        _ => return None,
    };
    Some(MeetingEvent { kind, at, person })
}

/// Every `reason` a `participant.left` carries.
const LEFT_REASONS: [&str; 9] = [
    "left",
    "disconnected",
    "moved",
    "replaced",
    "removed",
    "stepped_out",
    "resume_expired",
    "denied",
    "meeting_ended",
];

impl Inner {
    /// Numbers the next event of `meeting` (its log id and the meeting's `seq`) and keeps it.
    fn append(
        &mut self,
        meeting: &str,
        make: impl FnOnce(u64, u64) -> Envelope,
    ) -> (Envelope, u64) {
        let seq = {
            let s = self.seq.entry(meeting.to_owned()).or_insert(0);
            *s += 1;
            *s
        };
        self.next_id += 1;
        let id = self.next_id;
        let env = make(id, seq);
        self.log.push_back((id, env.clone()));
        while self.log.len() > limits::EVENT_LOG_LEN {
            self.log.pop_front();
        }
        (env, seq)
    }
}

impl Attendance {
    fn fold(&mut self, event: &MeetingEvent) {
        let at = event.at;
        let s = &mut self.state;
        match (&event.kind, &event.person) {
            (EventKind::MeetingStarted, _) => {
                if self.started_at.is_none() {
                    self.started_at = Some(rfc3339(at));
                }
                self.ended_at = None;
                s.ended_ms = None;
            }
            (EventKind::MeetingEnded, _) => {
                self.ended_at = Some(rfc3339(at));
                s.ended_ms = Some(at);
            }
            (EventKind::Waiting, Some(p)) => {
                s.waiting_since.entry(p.sub.clone()).or_insert(at);
                person(&mut self.people, &p.sub);
            }
            (EventKind::Joined, Some(p)) => {
                if let Some(since) = s.waiting_since.remove(&p.sub) {
                    *s.waiting_ms.entry(p.sub.clone()).or_default() += at.saturating_sub(since);
                }
                s.seated.insert(p.peer, (p.sub.clone(), p.role));
                s.open.insert(p.sub.clone(), at);
                person(&mut self.people, &p.sub).sessions.push(Session {
                    joined_at: at,
                    left_at: None,
                    reason: None,
                });
            }
            (EventKind::RoleChanged { .. }, Some(p)) => {
                s.seated.insert(p.peer, (p.sub.clone(), p.role));
            }
            (EventKind::Left { reason, .. }, Some(p)) => {
                if let Some(since) = s.waiting_since.remove(&p.sub) {
                    *s.waiting_ms.entry(p.sub.clone()).or_default() += at.saturating_sub(since);
                }
                if s.seated.remove(&p.peer).is_some() {
                    if let Some(from) = s.open.remove(&p.sub) {
                        *s.in_ms.entry(p.sub.clone()).or_default() += at.saturating_sub(from);
                    }
                    if let Some(last) = person(&mut self.people, &p.sub).sessions.last_mut() {
                        last.left_at = Some(at);
                        last.reason = Some(reason);
                    }
                }
            }
            _ => {}
        }
        self.max_concurrent = self.max_concurrent.max(s.seated.len());
        // When a host or cohost is in the meeting: the intervals billing counts.
        let clinician = s.seated.values().any(|(_, r)| r.is_moderator());
        match (clinician, s.clinician_since) {
            (true, None) => {
                s.clinician_since = Some(at);
                self.host_present.push(Interval { from: at, to: None });
            }
            (false, Some(_)) => {
                s.clinician_since = None;
                if let Some(last) = self.host_present.last_mut() {
                    last.to = Some(at);
                }
            }
            _ => {}
        }
    }

    /// With the totals brought up to `now` for sessions still open.
    fn report(&self, now: Millis) -> Attendance {
        let mut a = self.clone();
        let s = &self.state;
        for p in &mut a.people {
            let open = s
                .open
                .get(&p.sub)
                .map_or(0, |from| now.saturating_sub(*from));
            let waiting = s
                .waiting_since
                .get(&p.sub)
                .map_or(0, |since| now.saturating_sub(*since));
            p.in_meeting_seconds = (s.in_ms.get(&p.sub).copied().unwrap_or(0) + open) / 1000;
            p.waiting_seconds = (s.waiting_ms.get(&p.sub).copied().unwrap_or(0) + waiting) / 1000;
        }
        a
    }

    /// The attendance as CSV: one row per session (people who only waited get one row without
    /// times).
    pub fn csv(&self) -> String {
        let mut out = String::from(
            "meeting,sub,joined_at,left_at,reason,in_meeting_seconds,waiting_seconds\n",
        );
        for p in &self.people {
            let row = |joined: &str, left: &str, reason: &str| {
                format!(
                    "{},{},{},{},{},{},{}\n",
                    csv_field(&self.meeting),
                    csv_field(&p.sub),
                    joined,
                    left,
                    reason,
                    p.in_meeting_seconds,
                    p.waiting_seconds
                )
            };
            if p.sessions.is_empty() {
                out.push_str(&row("", "", ""));
            }
            for s in &p.sessions {
                out.push_str(&row(
                    &rfc3339(s.joined_at),
                    &s.left_at.map(rfc3339).unwrap_or_default(),
                    s.reason.unwrap_or(""),
                ));
            }
        }
        out
    }
}

/// A CSV field: quoted when it holds a comma, quote or line break; a leading `=`, `+`, `-` or
/// `@` is defused so a spreadsheet does not run it as a formula.
fn csv_field(s: &str) -> String {
    let s = if s.starts_with(['=', '+', '-', '@']) {
        format!("'{s}")
    } else {
        s.to_owned()
    };
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s
    }
}

fn as_rfc3339<S: serde::Serializer>(ms: &Millis, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&rfc3339(*ms))
}

fn opt_rfc3339<S: serde::Serializer>(ms: &Option<Millis>, s: S) -> Result<S::Ok, S::Error> {
    match ms {
        Some(ms) => as_rfc3339(ms, s),
        None => s.serialize_none(),
    }
}

fn person<'a>(people: &'a mut Vec<PersonAttendance>, sub: &str) -> &'a mut PersonAttendance {
    let i = match people.iter().position(|p| p.sub == sub) {
        Some(i) => i,
        None => {
            people.push(PersonAttendance {
                sub: sub.to_owned(),
                sessions: Vec::new(),
                in_meeting_seconds: 0,
                waiting_seconds: 0,
            });
            people.len() - 1
        }
    };
    &mut people[i]
}
