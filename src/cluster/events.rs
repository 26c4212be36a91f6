//! Cluster mode's event log and webhook outbox, as Redis streams, so that what a node has written
//! outlives it.
//!
//! - `huddle:events`: every meeting's events, cluster-wide, for `GET /v1/events` (its entry ids
//!   are the event ids: `evt_{stream id}`); trimmed to about `EVENT_LOG_LEN` in all.
//! - `huddle:outbox:{node}`: the webhooks a node still has to deliver, in order. The node
//!   deletes each entry once the partner took it. When a node dies, a live one adopts its outbox
//!   (a claim key, renewed while it works) and delivers the rest: at least once, as before.
//! - `huddle:m:{meeting}:seq`: the last `seq` written for a meeting, so that an event sent again
//!   (a batch whose reply was lost) is not written twice;
//! - `huddle:m:{meeting}:log`: the meeting's own events (at most `MEETING_LOG_LEN`), from which
//!   its next owner folds the attendance so far and numbers on after the last, and any node the
//!   attendance of a meeting that runs nowhere. Both are kept a day after the meeting's last event.
//!
//! The owner appends in the meeting's order, from one writer task per node; a Lua script refuses
//! the events of a node that is no longer the meeting's newest owner (fencing, as for records).

use super::{node_key, Cluster};
use crate::events::Envelope;
use crate::limits;
use crate::metrics::Metrics;
use crate::webhooks::{body_of, Delivery, Sender, WebhookConfig};
use redis::aio::ConnectionManager;
use redis::Script;
use std::sync::{Arc, Weak};
use std::time::{Duration, Instant};
use tokio::sync::{mpsc, Notify};

/// The cluster-wide event log.
pub const EVENTS_KEY: &str = "huddle:events";
/// The nodes that have (or had) a webhook outbox.
const OUTBOXES_KEY: &str = "huddle:outboxes";
/// Events waiting for the writer; beyond this, Redis has been away for long and events drop.
const PENDING_LEN: usize = 65_536;
/// Events per round trip.
const WRITE_BATCH: usize = 256;
/// Webhooks a node may owe before the oldest go (a partner endpoint down for a long time).
const OUTBOX_LEN: usize = 100_000;
/// How long the events' numbering of a meeting is kept after its last event.
const SEQ_TTL_SECS: u64 = limits::ATTENDANCE_RETENTION_SECS;

fn outbox_key(node: &str) -> String {
    format!("huddle:outbox:{node}")
}

fn seq_key(meeting: &str) -> String {
    format!("huddle:m:{meeting}:seq")
}

pub(super) fn log_key(meeting: &str) -> String {
    format!("huddle:m:{meeting}:log")
}

/// Events kept per meeting for its attendance (a day-long drop-in with much coming and going
/// stays far below).
const MEETING_LOG_LEN: usize = 50_000;

pub(super) fn epoch_key(meeting: &str) -> String {
    format!("huddle:m:{meeting}:epoch")
}

/// Appends one event (KEYS: epoch, log, seq, outbox, the meeting's log; ARGV: epoch, type,
/// timestamp, data, seq, log length, seq TTL, "1" to queue its webhook, outbox length, the event
/// as the meeting's log keeps it, its length). Nil when a newer owner took the meeting (a fenced
/// node's events are not the meeting's), or when this `seq` of the meeting is in already.
const APPEND: &str = r"
local newest = redis.call('GET', KEYS[1])
if newest and tonumber(newest) > tonumber(ARGV[1]) then return false end
-- Written already (a batch sent again after a reply was lost): not twice.
local last = redis.call('GET', KEYS[3])
if last and tonumber(last) and tonumber(ARGV[5]) <= tonumber(last) then return false end
local id = redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[6], '*',
  'type', ARGV[2], 'ts', ARGV[3], 'data', ARGV[4])
redis.call('SET', KEYS[3], ARGV[5], 'EX', ARGV[7])
redis.call('RPUSH', KEYS[5], ARGV[10])
redis.call('LTRIM', KEYS[5], -tonumber(ARGV[11]), -1)
redis.call('EXPIRE', KEYS[5], ARGV[7])
if ARGV[8] == '1' then
  redis.call('XADD', KEYS[4], 'MAXLEN', '~', ARGV[9], '*',
    'id', id, 'type', ARGV[2], 'ts', ARGV[3], 'data', ARGV[4])
end
return id
";

/// Forgets a dead node's outbox once it is empty, unless the node came back; gives the claim
/// up if it is still ours (ARGV[2]).
const FORGET: &str = r"
if redis.call('XLEN', KEYS[1]) == 0 and redis.call('EXISTS', KEYS[2]) == 0 then
  redis.call('DEL', KEYS[1])
  redis.call('SREM', KEYS[3], ARGV[1])
end
if redis.call('GET', KEYS[4]) == ARGV[2] then redis.call('DEL', KEYS[4]) end
return 1
";

/// Extends a claim if it is still ours (KEYS[1] the claim, ARGV: holder, length ms): 1, else 0.
const RENEW_CLAIM: &str = r"
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return 0
";

/// Where a meeting's actor hands its events in cluster mode (see `Events::share`).
#[derive(Clone)]
pub struct EventSink {
    tx: mpsc::Sender<Item>,
    cluster: Weak<Cluster>,
    metrics: Arc<Metrics>,
}

impl std::fmt::Debug for EventSink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EventSink").finish_non_exhaustive()
    }
}

struct Pending {
    meeting: String,
    seq: u64,
    epoch: u64,
    env: Envelope,
}

/// What the writer is handed: an event, or a request to say when everything before it is in.
enum Item {
    Event(Pending),
    Flush(tokio::sync::oneshot::Sender<()>),
}

impl EventSink {
    /// Queues `env` (the `seq`-th event of `meeting`) for the streams. Never waits: the actor
    /// calls this. Events of a meeting this node no longer holds are not written.
    pub fn push(&self, meeting: &str, seq: u64, env: Envelope) {
        let Some(epoch) = self.cluster.upgrade().and_then(|c| c.epoch_of(meeting)) else {
            tracing::debug!(meeting, "event of a meeting not held here: not written");
            return;
        };
        let pending = Pending {
            meeting: meeting.to_owned(),
            seq,
            epoch,
            env,
        };
        if self.tx.try_send(Item::Event(pending)).is_err() {
            self.metrics.redis_error();
            tracing::warn!("cluster event queue full (Redis away for long): event dropped");
        }
    }

    /// Waits until every event queued before this call is in Redis (a draining node calls it
    /// before it gives its leases up).
    pub async fn flush(&self) {
        let (done, written) = tokio::sync::oneshot::channel();
        if self.tx.send(Item::Flush(done)).await.is_ok() {
            let _ = written.await;
        }
    }
}

/// Starts this node's event writer and, when webhooks are configured, its outbox delivery.
pub(super) fn start(
    cluster: &Arc<Cluster>,
    webhooks: Option<WebhookConfig>,
    metrics: Arc<Metrics>,
) -> Result<EventSink, String> {
    let (tx, rx) = mpsc::channel(PENDING_LEN);
    let wake = Arc::new(Notify::new());
    let node = cluster.node_id().to_owned();
    let sender = match webhooks {
        Some(config) => Some(Sender::new(config, Arc::clone(&metrics))?),
        None => None,
    };
    tokio::spawn(write_loop(
        rx,
        cluster.redis.clone(),
        node.clone(),
        sender.is_some(),
        Arc::clone(&wake),
        Arc::clone(&metrics),
    ));
    if let Some(sender) = sender {
        tokio::spawn(deliver_loop(
            cluster.redis.clone(),
            node,
            cluster.lease(),
            sender,
            wake,
        ));
    }
    Ok(EventSink {
        tx,
        cluster: Arc::downgrade(cluster),
        metrics,
    })
}

/// Appends events in the order the actors recorded them, a batch per round trip; a batch Redis
/// did not take is sent again (at least once: a batch that reached Redis before the connection
/// failed is written twice, under new ids).
async fn write_loop(
    mut rx: mpsc::Receiver<Item>,
    mut redis: ConnectionManager,
    node: String,
    webhooks: bool,
    wake: Arc<Notify>,
    metrics: Arc<Metrics>,
) {
    let script = Script::new(APPEND);
    let outbox = outbox_key(&node);
    let mut batch: Vec<Pending> = Vec::new();
    let mut flushes: Vec<tokio::sync::oneshot::Sender<()>> = Vec::new();
    loop {
        if batch.is_empty() && flushes.is_empty() {
            match rx.recv().await {
                Some(Item::Event(p)) => batch.push(p),
                Some(Item::Flush(done)) => flushes.push(done),
                None => return,
            }
        }
        // A flush ends the batch: it is answered once what came before it is in.
        while batch.len() < WRITE_BATCH && flushes.is_empty() {
            match rx.try_recv() {
                Ok(Item::Event(p)) => batch.push(p),
                Ok(Item::Flush(done)) => flushes.push(done),
                Err(_) => break,
            }
        }
        if batch.is_empty() {
            for done in flushes.drain(..) {
                let _ = done.send(());
            }
            continue;
        }
        let calls: Vec<redis::ScriptInvocation<'_>> = batch
            .iter()
            .map(|p| {
                let mut call = script.prepare_invoke();
                call.key(epoch_key(&p.meeting))
                    .key(EVENTS_KEY)
                    .key(seq_key(&p.meeting))
                    .key(&outbox)
                    .key(log_key(&p.meeting))
                    .arg(p.epoch)
                    .arg(p.env.kind.as_ref())
                    .arg(&p.env.timestamp)
                    .arg(p.env.data.get())
                    .arg(p.seq)
                    .arg(limits::EVENT_LOG_LEN)
                    .arg(SEQ_TTL_SECS)
                    .arg(if webhooks { "1" } else { "0" })
                    .arg(OUTBOX_LEN)
                    .arg(crate::events::logged(&p.env))
                    .arg(MEETING_LOG_LEN);
                call
            })
            .collect();
        let mut pipe = redis::pipe();
        // One call Redis refuses (a key of the wrong type, say) must not hold the whole batch
        // back for ever: its event is counted and dropped, the others are written.
        pipe.ignore_errors();
        pipe.load_script(&script).ignore();
        for call in &calls {
            pipe.invoke_script(call);
        }
        let written: redis::RedisResult<Vec<redis::RedisResult<Option<String>>>> =
            pipe.query_async(&mut redis).await;
        drop(calls);
        match written {
            Ok(ids) => {
                let refused = ids.iter().filter(|id| matches!(id, Ok(None))).count();
                if refused > 0 {
                    tracing::info!(
                        refused,
                        "events of meetings a newer owner holds, or written already: skipped"
                    );
                }
                for e in ids.iter().filter_map(|id| id.as_ref().err()) {
                    metrics.redis_error();
                    tracing::warn!(error = %e, "cluster: an event Redis refused: dropped");
                }
                batch.clear();
                for done in flushes.drain(..) {
                    let _ = done.send(());
                }
                wake.notify_one();
            }
            Err(e) => {
                metrics.redis_error();
                tracing::warn!(error = %e, "cluster: events not written, trying again");
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
        }
    }
}

/// Delivers this node's outbox, and adopts the outboxes of dead nodes.
async fn deliver_loop(
    mut redis: ConnectionManager,
    node: String,
    lease: Duration,
    sender: Sender,
    wake: Arc<Notify>,
) {
    let own = outbox_key(&node);
    let mut gone = false;
    let mut adopted_at: Option<Instant> = None;
    loop {
        // Every round: a live node whose registration lapsed for a moment may have been taken
        // out of the set by whoever adopted (and emptied) its outbox meanwhile.
        let _: redis::RedisResult<i64> = redis::cmd("SADD")
            .arg(OUTBOXES_KEY)
            .arg(&node)
            .query_async(&mut redis)
            .await;
        let delivered = drain(&mut redis, &sender, &own, None, &mut gone).await;
        if adopted_at.is_none_or(|t| t.elapsed() >= lease) {
            adopted_at = Some(Instant::now());
            adopt_dead(&mut redis, &sender, &node, lease, &mut gone).await;
        }
        if delivered.unwrap_or(0) == 0 {
            tokio::select! {
                () = wake.notified() => {}
                () = tokio::time::sleep(Duration::from_secs(1)) => {}
            }
        }
    }
}

/// Delivers (then deletes) the oldest entries of outbox `key`, in order; how many (0 also when
/// the `claim` (key, holder, length ms) on an adopted outbox was lost: stop then).
async fn drain(
    redis: &mut ConnectionManager,
    sender: &Sender,
    key: &str,
    claim: Option<(&str, &str, u64)>,
    gone: &mut bool,
) -> redis::RedisResult<usize> {
    let entries: Vec<(String, Vec<String>)> = redis::cmd("XRANGE")
        .arg(key)
        .arg("-")
        .arg("+")
        .arg("COUNT")
        .arg(64)
        .query_async(redis)
        .await?;
    for (entry, fields) in &entries {
        if let Some((claim, holder, ms)) = claim {
            if !renew_claim(redis, claim, holder, ms).await? {
                // Another node holds this outbox now (ours ran out): it goes on from here.
                return Ok(0);
            }
        }
        // An outbox entry is the log entry's fields and, as `id`, the log entry's id.
        let event = field(fields, "id").and_then(|id| envelope_of(id, fields));
        match event {
            Some(env) if !*gone => {
                let body = body_of(&env.kind, &env.timestamp, &env.data);
                let delivery = sender.deliver(&env.id, &body);
                tokio::pin!(delivery);
                // A delivery may retry for minutes: the claim is kept alive meanwhile, and if it
                // is lost all the same, this node stops (the entry stays for the claim's holder).
                let outcome = match claim {
                    None => Some(delivery.await),
                    Some((claim, holder, ms)) => loop {
                        tokio::select! {
                            d = &mut delivery => break Some(d),
                            () = tokio::time::sleep(Duration::from_millis(ms / 3)) => {
                                if !renew_claim(redis, claim, holder, ms).await? {
                                    break None;
                                }
                            }
                        }
                    },
                };
                match outcome {
                    None => return Ok(0),
                    Some(Delivery::Gone) => *gone = true,
                    Some(Delivery::Delivered) => {}
                }
            }
            _ => sender.metrics().webhook("dropped"),
        }
        let _: i64 = redis::cmd("XDEL")
            .arg(key)
            .arg(entry)
            .query_async(redis)
            .await?;
    }
    Ok(entries.len())
}

/// Extends `claim` if `holder` still holds it.
async fn renew_claim(
    redis: &mut ConnectionManager,
    claim: &str,
    holder: &str,
    ms: u64,
) -> redis::RedisResult<bool> {
    let kept: i64 = Script::new(RENEW_CLAIM)
        .key(claim)
        .arg(holder)
        .arg(ms)
        .invoke_async(redis)
        .await?;
    Ok(kept == 1)
}

/// Takes over, one at a time, the outboxes of nodes whose registration ran out, and delivers
/// what they owed. A claim key keeps two nodes from delivering the same outbox at once.
async fn adopt_dead(
    redis: &mut ConnectionManager,
    sender: &Sender,
    me: &str,
    lease: Duration,
    gone: &mut bool,
) {
    let nodes: redis::RedisResult<Vec<String>> = redis::cmd("SMEMBERS")
        .arg(OUTBOXES_KEY)
        .query_async(redis)
        .await;
    let claim_ms = 3 * lease.as_millis() as u64;
    for node in nodes.unwrap_or_default() {
        if node == me {
            continue;
        }
        let alive: redis::RedisResult<bool> = redis::cmd("EXISTS")
            .arg(node_key(&node))
            .query_async(redis)
            .await;
        if alive.unwrap_or(true) {
            continue;
        }
        let claim = format!("huddle:outbox:{node}:claim");
        let took: redis::RedisResult<Option<String>> = redis::cmd("SET")
            .arg(&claim)
            .arg(me)
            .arg("NX")
            .arg("PX")
            .arg(claim_ms)
            .query_async(redis)
            .await;
        if !matches!(took, Ok(Some(_))) {
            continue;
        }
        let key = outbox_key(&node);
        tracing::info!(node, "delivering the webhooks of a node that is gone");
        loop {
            match drain(redis, sender, &key, Some((&claim, me, claim_ms)), gone).await {
                Ok(0) | Err(_) => break,
                Ok(_) => {}
            }
        }
        let _: redis::RedisResult<i64> = Script::new(FORGET)
            .key(&key)
            .key(node_key(&node))
            .key(OUTBOXES_KEY)
            .key(&claim)
            .arg(&node)
            .arg(me)
            .invoke_async(redis)
            .await;
    }
}

/// Events after `cursor` (a stream id; `None` for the oldest kept), at most `limit`, from the
/// cluster-wide log.
pub(super) async fn after(
    redis: &mut ConnectionManager,
    cursor: Option<&str>,
    limit: usize,
) -> redis::RedisResult<Vec<Envelope>> {
    let start = cursor.map_or_else(|| "-".to_owned(), |c| format!("({c}"));
    let entries: Vec<(String, Vec<String>)> = redis::cmd("XRANGE")
        .arg(EVENTS_KEY)
        .arg(start)
        .arg("+")
        .arg("COUNT")
        .arg(limit)
        .query_async(redis)
        .await?;
    Ok(entries
        .iter()
        .filter_map(|(id, fields)| envelope_of(id, fields))
        .collect())
}

/// Field `name` of a stream entry (its fields as Redis gives them: name, value, name, …).
fn field<'a>(fields: &'a [String], name: &str) -> Option<&'a str> {
    fields
        .chunks(2)
        .find(|kv| kv[0] == name)
        .and_then(|kv| kv.get(1))
        .map(String::as_str)
}

/// The event in a stream entry (`type`, `ts`, `data`) whose log id is `id`.
fn envelope_of(id: &str, fields: &[String]) -> Option<Envelope> {
    Some(Envelope {
        id: format!("evt_{id}"),
        kind: field(fields, "type")?.to_owned().into(),
        timestamp: field(fields, "ts")?.to_owned(),
        data: serde_json::value::RawValue::from_string(field(fields, "data")?.to_owned()).ok()?,
    })
}
