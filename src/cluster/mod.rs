//! Cluster mode over Redis: which node owns which meeting (a lease with a fencing epoch), where a
//! client that reached another node is sent, and the record of each meeting that outlives its
//! node. The meeting core and its actor know nothing of it: ownership is settled at the edge,
//! before a connection joins, and a node that cannot renew a lease stops serving that meeting on
//! its own (its members are closed with 4108 `moved` and resume on the next owner).
//!
//! Redis holds (see README "Running a cluster"):
//! - `huddle:node:{node}` = the address other nodes reach it at, expiring after one lease;
//! - `huddle:m:{meeting}:owner` = `{node} {epoch}`, set only if absent, expiring after one lease
//!   and renewed by its node every third of one; `huddle:m:{meeting}:epoch` counts owners;
//! - `huddle:m:{meeting}:rec` = the meeting's [`Durable`] record (JSON), written only by the
//!   lease's holder (a Lua script checks), kept for a day after the last write;
//! - the event log and webhook outboxes as streams (see [`events`]).

mod events;

pub use events::EventSink;

use crate::meeting::{Directory, Durable, MeetingSettings};
use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use redis::{AsyncCommands, Script};
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// How long a meeting's record is kept after its last write.
const RECORD_TTL_SECS: u64 = 24 * 3600;

/// Cluster settings, from `redis_url`, `node_id`, `cluster_secret`, `cluster_advertise` and
/// `lease_ms`.
#[derive(Clone)]
pub struct ClusterConfig {
    pub redis_url: String,
    pub node_id: String,
    pub secret: String,
    /// `host:port` other nodes forward clients to.
    pub advertise: String,
    pub lease: Duration,
}

/// Where a connection for a meeting is served.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Route {
    /// Here: this node holds the meeting's lease.
    Local,
    /// At the node that holds it, reached at this `host:port`.
    Remote(String),
    /// Nobody can serve it now (Redis unreachable, or the owner died and its lease has not run
    /// out within the wait): the client should come back (close 4108).
    Retry,
}

/// A meeting this node holds: under which epoch, and since when (one taken within the last
/// lease may have no actor yet, its first person still on the way in: not a closed one to give
/// up).
#[derive(Debug, Clone, Copy)]
struct Held {
    epoch: u64,
    since: Instant,
}

/// Where a server API request about a meeting is served.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ApiOwner {
    /// Here: this node holds the meeting.
    Here,
    /// At its owner, reached at this `host:port`.
    Remote(String),
    /// Nobody holds it (it does not run): any node answers, from the settings Redis keeps.
    Nobody,
}

/// This node's part in the cluster.
pub struct Cluster {
    config: ClusterConfig,
    redis: ConnectionManager,
    /// Meetings this node holds.
    owned: Mutex<HashMap<String, Held>>,
    /// One taking-over at a time per meeting (see [`Cluster::route`]).
    gates: dashmap::DashMap<String, Arc<tokio::sync::Mutex<()>>>,
    /// Redis answered the last renewal round.
    healthy: AtomicBool,
    directory: Arc<Directory>,
    /// This node's start number in the cluster (see [`Cluster::first_peer_id`]).
    sequence: u64,
    /// Until when (ms since `started`) this node's leases are surely still its own: the start
    /// of the last renewal round that succeeded, plus five sixths of a lease.
    /// Meetings check it before every command, so a node that was paused (or cut off from
    /// Redis) past it acts on nothing more (fencing; see [`Cluster::lease_fresh`]).
    fresh_until: AtomicU64,
    started: Instant,
}

/// Takes the lease if nobody holds it; answers who holds it (`{node} {epoch}`) either way.
const ACQUIRE: &str = r"
local owner = redis.call('GET', KEYS[1])
if owner then return owner end
local epoch = redis.call('INCR', KEYS[2])
owner = ARGV[1] .. ' ' .. epoch
redis.call('SET', KEYS[1], owner, 'PX', ARGV[2])
return owner
";

/// For each lease (`KEYS[i]`, expected holder `ARGV[i + 1]`, length `ARGV[1]` ms): extends it if
/// it is still ours (1); when nobody holds it (Redis restarted without its data) takes it back
/// (2: the caller writes the meeting's record again); when another node holds it, 0.
const RENEW: &str = r"
local out = {}
for i, key in ipairs(KEYS) do
  local want = ARGV[i + 1]
  local owner = redis.call('GET', key)
  if owner == want then
    out[i] = redis.call('PEXPIRE', key, ARGV[1])
  elseif not owner then
    redis.call('SET', key, want, 'PX', ARGV[1])
    out[i] = 2
  else
    out[i] = 0
  end
end
return out
";

/// Leases renewed per round trip.
const RENEW_BATCH: usize = 500;

/// Gives the lease up if it is still ours.
const RELEASE: &str = r"
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
";

/// Writes a meeting's record if the lease is still ours (fencing: a node that lost it cannot
/// overwrite what the next owner writes).
const SAVE: &str = r"
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('SET', KEYS[2], ARGV[2], 'EX', ARGV[3])
  return 1
end
return 0
";

fn owner_key(meeting: &str) -> String {
    format!("huddle:m:{meeting}:owner")
}

fn settings_key(meeting: &str) -> String {
    format!("huddle:m:{meeting}:settings")
}

fn node_key(node: &str) -> String {
    format!("huddle:node:{node}")
}

impl Cluster {
    /// Connects to Redis, registers this node and starts renewing its leases.
    pub async fn start(
        config: ClusterConfig,
        directory: Arc<Directory>,
    ) -> Result<Arc<Cluster>, String> {
        let client = redis::Client::open(config.redis_url.as_str())
            .map_err(|e| format!("redis_url: {e}"))?;
        // Short timeouts and one retry: a renewal that waits on a dead Redis for longer than a
        // third of a lease is worth nothing (the node fences itself by then anyway), and
        // `/readyz` must say so promptly. The manager reconnects by itself when Redis is back.
        let patience = config.lease / 3;
        let manager = ConnectionManagerConfig::new()
            .set_number_of_retries(1)
            .set_max_delay(patience)
            .set_connection_timeout(Some(patience))
            .set_response_timeout(Some(patience));
        // Records and lookups may wait up to a lease (a busy Redis is not a dead one); the
        // lease thread keeps the short timeouts.
        let patient = manager
            .clone()
            .set_connection_timeout(Some(config.lease))
            .set_response_timeout(Some(config.lease));
        let mut redis = ConnectionManager::new_with_config(client, patient)
            .await
            .map_err(|e| format!("cannot reach Redis at redis_url: {e}"))?;
        let sequence: u64 = redis
            .incr("huddle:nodes:started", 1)
            .await
            .map_err(|e| format!("cannot reach Redis at redis_url: {e}"))?;
        let cluster = Arc::new(Cluster {
            config,
            redis,
            owned: Mutex::default(),
            gates: dashmap::DashMap::new(),
            healthy: AtomicBool::new(false),
            directory,
            sequence,
            fresh_until: AtomicU64::new(0),
            started: Instant::now(),
        });
        cluster.renew_round(&cluster.redis).await;
        // Renewals run on a thread and runtime of their own, with their own Redis connection:
        // a node whose workers are saturated (a burst of joins) must still renew on time, or it
        // would fence itself for nothing.
        let renewer = Arc::clone(&cluster);
        let client = redis::Client::open(renewer.config.redis_url.as_str())
            .map_err(|e| format!("redis_url: {e}"))?;
        std::thread::Builder::new()
            .name("huddle-lease".into())
            .spawn(move || {
                let Ok(runtime) = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                else {
                    tracing::error!("cluster: cannot start the lease thread's runtime");
                    return;
                };
                runtime.block_on(async move {
                    match ConnectionManager::new_with_config(client, manager).await {
                        Ok(redis) => renewer.renew_loop(redis).await,
                        Err(e) => {
                            tracing::error!(error = %e, "cluster: lease thread cannot reach Redis")
                        }
                    }
                });
            })
            .map_err(|e| format!("cannot start the lease thread: {e}"))?;
        tracing::info!(node = %cluster.config.node_id, "cluster node started");
        Ok(cluster)
    }

    /// A meeting lease's length.
    pub fn lease(&self) -> Duration {
        self.config.lease
    }

    pub fn node_id(&self) -> &str {
        &self.config.node_id
    }

    pub fn secret(&self) -> &str {
        &self.config.secret
    }

    /// What this node sends when it forwards a client: its name and an HMAC of it with the
    /// cluster secret, so the owner knows the connection is a node's and not a client's.
    pub fn proof(&self) -> String {
        format!("{} {}", self.config.node_id, self.mac(&self.config.node_id))
    }

    /// Whether `proof` was made by a node of this cluster.
    pub fn verify(&self, proof: &str) -> bool {
        proof.split_once(' ').is_some_and(|(node, mac)| {
            crate::auth::same_secret(mac.as_bytes(), self.mac(node).as_bytes())
        })
    }

    fn mac(&self, text: &str) -> String {
        crate::auth::hmac_hex(self.config.secret.as_bytes(), text.as_bytes())
    }

    /// The first peer id this node hands out: nodes count from different bases (a number Redis
    /// gives each node as it starts, times 2^40), so a meeting restored from another node's
    /// record never meets one of its peer ids again. Below 2^53, so JavaScript reads it exactly.
    pub fn first_peer_id(&self) -> u64 {
        ((self.sequence % 4096) << 40) + 1
    }

    /// Whether this node's leases are surely its own right now. False after the process was
    /// paused, or Redis went unanswered, for most of a lease: another node may hold its
    /// meetings already, so they must act on nothing until the next renewal says otherwise.
    pub fn lease_fresh(&self) -> bool {
        (self.started.elapsed().as_millis() as u64) < self.fresh_until.load(Ordering::Acquire)
    }

    /// Redis answered the last renewal round.
    pub fn healthy(&self) -> bool {
        self.healthy.load(Ordering::Acquire)
    }

    /// Meetings this node holds now.
    pub fn owned_count(&self) -> usize {
        self.lock_owned().len()
    }

    fn lock_owned(&self) -> std::sync::MutexGuard<'_, HashMap<String, Held>> {
        self.owned.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// A copy of what this node holds (to work through without the lock).
    fn held(&self) -> Vec<(String, Held)> {
        self.lock_owned()
            .iter()
            .map(|(m, h)| (m.clone(), *h))
            .collect()
    }

    fn lease_ms(&self) -> u64 {
        self.config.lease.as_millis() as u64
    }

    /// Where `meeting` is served. Takes its lease when nobody holds it (and then restores its
    /// record into this node's directory before anyone joins). While a dead node's lease runs
    /// out, waits for it, at most one lease.
    pub async fn route(&self, meeting: &str) -> Route {
        let deadline = Instant::now() + self.config.lease + Duration::from_millis(500);
        loop {
            if self.lock_owned().contains_key(meeting) {
                return Route::Local;
            }
            // One taking-over per meeting at a time on this node: the people of a new meeting
            // arrive together, and the record must be in place before the first of them joins.
            // The gate goes only once nobody holds or waits for it: a second taking-over that
            // slipped in while the first still restored would evict the actor the first
            // person's join had just started (a 60,000-person run found it).
            let gate = Arc::clone(self.gates.entry(meeting.to_owned()).or_default().value());
            let found = {
                let _taking_over = gate.lock().await;
                self.take_over(meeting).await
            };
            drop(gate);
            self.gates
                .remove_if(meeting, |_, g| Arc::strong_count(g) == 1);
            if let Some(route) = found {
                return route;
            }
            if Instant::now() >= deadline {
                return Route::Retry;
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    /// Under `meeting`'s gate: here if this node holds it, else takes its lease if nobody holds
    /// it; `None` while its holder is gone but its lease has not run out, or Redis failed.
    async fn take_over(&self, meeting: &str) -> Option<Route> {
        if self.lock_owned().contains_key(meeting) {
            return Some(Route::Local);
        }
        match self.acquire(meeting).await {
            Ok((node, epoch)) if node == self.config.node_id => {
                // The meeting's events first: without them its numbering would start again
                // (and Redis skip the new events as written already). Not read: try again.
                let logged = self.meeting_log(meeting).await.ok()?;
                let record = self.load(meeting).await;
                if let Some(settings) = self.load_settings(meeting).await {
                    self.directory.keep_settings(meeting, settings);
                }
                self.directory.restore(meeting, record);
                // Attendance folds on from the previous owners' events, numbering after theirs.
                self.directory.events().take_over(meeting, &logged);
                let since = Instant::now();
                self.lock_owned()
                    .insert(meeting.to_owned(), Held { epoch, since });
                tracing::info!(meeting, epoch, "meeting lease taken");
                self.directory.metrics().ownership_changed("taken");
                Some(Route::Local)
            }
            Ok((node, _)) => match self.address_of(&node).await {
                Ok(Some(addr)) => Some(Route::Remote(addr)),
                // The holder is gone (its registration expired): its lease will go too.
                _ => None,
            },
            Err(e) => {
                self.redis_failed(e);
                None
            }
        }
    }

    /// The epoch this node holds `meeting` under, if it holds it.
    pub fn epoch_of(&self, meeting: &str) -> Option<u64> {
        self.lock_owned().get(meeting).map(|h| h.epoch)
    }

    /// Starts writing this node's events to the cluster's streams (and delivering its
    /// webhooks from there); the directory's event log hands them over from now on.
    pub fn share_events(
        self: &Arc<Self>,
        webhooks: Option<crate::webhooks::WebhookConfig>,
    ) -> Result<(), String> {
        let sink = events::start(self, webhooks, Arc::clone(self.directory.metrics()))?;
        self.directory.events().share(sink);
        Ok(())
    }

    /// Events of every meeting in the cluster after `cursor` (a stream id, `None` for the
    /// oldest kept), at most `limit`.
    pub async fn events_after(
        &self,
        cursor: Option<&str>,
        limit: usize,
    ) -> Result<Vec<crate::events::Envelope>, String> {
        let mut redis = self.redis.clone();
        events::after(&mut redis, cursor, limit)
            .await
            .map_err(|e| self.redis_failed(e))
    }

    /// Where the server API serves a request about `meeting`.
    pub async fn api_owner(&self, meeting: &str) -> Result<ApiOwner, String> {
        if self.lock_owned().contains_key(meeting) {
            return Ok(ApiOwner::Here);
        }
        let mut redis = self.redis.clone();
        let owner: Option<String> = redis
            .get(owner_key(meeting))
            .await
            .map_err(|e| self.redis_failed(e))?;
        let Some(node) = owner.as_deref().and_then(|o| o.split(' ').next()) else {
            return Ok(ApiOwner::Nobody);
        };
        if node == self.config.node_id {
            return Ok(ApiOwner::Here);
        }
        match self.address_of(node).await {
            Ok(Some(addr)) => Ok(ApiOwner::Remote(addr)),
            // Its owner died; the meeting runs nowhere until someone comes back.
            Ok(None) => Ok(ApiOwner::Nobody),
            Err(e) => Err(self.redis_failed(e)),
        }
    }

    /// Counts and logs a Redis failure; its text.
    fn redis_failed(&self, e: redis::RedisError) -> String {
        self.directory.metrics().redis_error();
        tracing::warn!(error = %e, "cluster: cannot reach Redis");
        e.to_string()
    }

    /// Takes the settings Redis keeps for `meeting` into this node's directory.
    pub async fn sync_settings(&self, meeting: &str) {
        if let Some(settings) = self.load_settings(meeting).await {
            self.directory.keep_settings(meeting, settings);
        }
    }

    async fn load_settings(&self, meeting: &str) -> Option<MeetingSettings> {
        let mut redis = self.redis.clone();
        let text: Option<String> = redis.get(settings_key(meeting)).await.ok()?;
        serde_json::from_str(&text?).ok()
    }

    /// Keeps `meeting`'s settings in Redis for every node: until a day after the scheduled end,
    /// or for 90 days without one.
    pub async fn save_settings(
        &self,
        meeting: &str,
        settings: &MeetingSettings,
        now_ms: u64,
    ) -> Result<(), String> {
        let text = serde_json::to_string(settings).map_err(|e| e.to_string())?;
        let keep_secs = match settings.schedule.ends_at {
            Some(end) => {
                end.saturating_sub(now_ms) / 1000 + crate::limits::ATTENDANCE_RETENTION_SECS
            }
            None => 90 * 24 * 3600,
        };
        let mut redis = self.redis.clone();
        redis
            .set_ex::<_, _, ()>(settings_key(meeting), text, keep_secs.max(60))
            .await
            .map_err(|e| self.redis_failed(e))
    }

    /// Every meeting of the cluster that runs (has an owner) and every one with settings.
    pub async fn meetings(&self) -> Result<(Vec<String>, Vec<(String, MeetingSettings)>), String> {
        let mut redis = self.redis.clone();
        let running = self.scan(&mut redis, "owner").await?;
        let with_settings = self.scan(&mut redis, "settings").await?;
        let mut settings = Vec::with_capacity(with_settings.len());
        for chunk in with_settings.chunks(500) {
            let keys: Vec<String> = chunk.iter().map(|m| settings_key(m)).collect();
            let texts: Vec<Option<String>> = redis::cmd("MGET")
                .arg(&keys)
                .query_async(&mut redis)
                .await
                .map_err(|e| self.redis_failed(e))?;
            for (meeting, text) in chunk.iter().zip(texts) {
                if let Some(s) = text.and_then(|t| serde_json::from_str(&t).ok()) {
                    settings.push((meeting.clone(), s));
                }
            }
        }
        Ok((running, settings))
    }

    /// The ids of meetings with a `huddle:m:{meeting}:{kind}` key, sorted.
    async fn scan(&self, redis: &mut ConnectionManager, kind: &str) -> Result<Vec<String>, String> {
        let pattern = format!("huddle:m:*:{kind}");
        let suffix = format!(":{kind}");
        let mut cursor: u64 = 0;
        let mut ids = Vec::new();
        loop {
            let (next, keys): (u64, Vec<String>) = redis::cmd("SCAN")
                .arg(cursor)
                .arg("MATCH")
                .arg(&pattern)
                .arg("COUNT")
                .arg(1000)
                .query_async(redis)
                .await
                .map_err(|e| self.redis_failed(e))?;
            ids.extend(keys.iter().filter_map(|k| {
                k.strip_prefix("huddle:m:")
                    .and_then(|k| k.strip_suffix(suffix.as_str()))
                    .map(str::to_owned)
            }));
            if next == 0 {
                break;
            }
            cursor = next;
        }
        ids.sort();
        ids.dedup();
        Ok(ids)
    }

    /// The node holding `meeting`'s lease, if any (for the server API).
    pub async fn owner_of(&self, meeting: &str) -> Option<String> {
        let mut redis = self.redis.clone();
        let owner: Option<String> = redis.get(owner_key(meeting)).await.ok()?;
        owner.and_then(|o| o.split(' ').next().map(str::to_owned))
    }

    async fn acquire(&self, meeting: &str) -> redis::RedisResult<(String, u64)> {
        let mut redis = self.redis.clone();
        let owner: String = Script::new(ACQUIRE)
            .key(owner_key(meeting))
            .key(events::epoch_key(meeting))
            .arg(&self.config.node_id)
            .arg(self.lease_ms())
            .invoke_async(&mut redis)
            .await?;
        let (node, epoch) = owner.rsplit_once(' ').unwrap_or((owner.as_str(), "0"));
        Ok((node.to_owned(), epoch.parse().unwrap_or(0)))
    }

    async fn address_of(&self, node: &str) -> redis::RedisResult<Option<String>> {
        let mut redis = self.redis.clone();
        redis.get(node_key(node)).await
    }

    /// Every event of `meeting` its owners logged, oldest first (`events::logged`).
    pub async fn meeting_log(&self, meeting: &str) -> Result<Vec<String>, String> {
        let mut redis = self.redis.clone();
        redis
            .lrange(events::log_key(meeting), 0, -1)
            .await
            .map_err(|e| self.redis_failed(e))
    }

    async fn load(&self, meeting: &str) -> Option<Durable> {
        let mut redis = self.redis.clone();
        let text: Option<String> = redis.get(format!("huddle:m:{meeting}:rec")).await.ok()?;
        serde_json::from_str(&text?).ok()
    }

    /// Writes `meeting`'s record, if this node still holds its lease.
    /// False when Redis did not answer (the caller tries again); true when written, or when
    /// there is nothing this node may write.
    pub async fn save(&self, meeting: &str, record: &Durable) -> bool {
        let Some(epoch) = self.epoch_of(meeting) else {
            return true;
        };
        let Ok(text) = serde_json::to_string(record) else {
            return true;
        };
        let mut redis = self.redis.clone();
        let saved: redis::RedisResult<i64> = Script::new(SAVE)
            .key(owner_key(meeting))
            .key(format!("huddle:m:{meeting}:rec"))
            .arg(format!("{} {epoch}", self.config.node_id))
            .arg(text)
            .arg(RECORD_TTL_SECS)
            .invoke_async(&mut redis)
            .await;
        if let Err(e) = saved {
            self.directory.metrics().redis_error();
            tracing::warn!(meeting, error = %e, "cluster: meeting record not written");
            return false;
        }
        true
    }

    async fn renew_loop(self: Arc<Self>, redis: ConnectionManager) {
        let every = self.config.lease / 3;
        let mut last_ok = Instant::now();
        loop {
            tokio::time::sleep(every).await;
            if self.renew_round(&redis).await {
                last_ok = Instant::now();
            } else if last_ok.elapsed() + every >= self.config.lease {
                // Redis has not answered for most of a lease: another node may take our
                // meetings any moment now. Stop serving them before it can.
                let owned: Vec<String> = self.lock_owned().keys().cloned().collect();
                for meeting in owned {
                    self.fence(&meeting, "redis_unreachable");
                }
            }
        }
    }

    /// Registers this node and renews every lease it holds; gives up the leases of meetings
    /// that have closed here. False when Redis did not answer.
    async fn renew_round(&self, redis: &ConnectionManager) -> bool {
        let round_start = self.started.elapsed();
        let mut redis = redis.clone();
        let registered: redis::RedisResult<()> = redis
            .set_options(
                node_key(&self.config.node_id),
                &self.config.advertise,
                redis::SetOptions::default().with_expiration(redis::SetExpiry::PX(self.lease_ms())),
            )
            .await;
        if let Err(e) = registered {
            self.healthy.store(false, Ordering::Release);
            self.redis_failed(e);
            return false;
        }
        // Live nodes: a sorted set scored by when each node's registration runs out.
        let now_ms = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as u64);
        let nodes: redis::RedisResult<(i64, i64, u64)> = redis::pipe()
            .zadd(
                "huddle:nodes",
                &self.config.node_id,
                now_ms + self.lease_ms(),
            )
            .zrembyscore("huddle:nodes", 0, now_ms)
            .zcard("huddle:nodes")
            .query_async(&mut redis)
            .await;
        if let Ok((_, _, count)) = nodes {
            self.directory.metrics().cluster_nodes.set(count as i64);
        }
        let owned = self.held();
        // A meeting taken within the last lease may not run yet: its first person's join is on
        // its way to the actor (slow on a busy node). Giving it up then would let the next
        // person's node take it again and evict the actor that person's join just started.
        let (running, closed): (Vec<_>, Vec<_>) = owned.into_iter().partition(|(meeting, held)| {
            self.directory.is_running(meeting) || held.since.elapsed() < self.config.lease
        });
        let running: Vec<(String, u64)> = running.into_iter().map(|(m, h)| (m, h.epoch)).collect();
        for (meeting, Held { epoch, .. }) in closed {
            let _: redis::RedisResult<i64> = Script::new(RELEASE)
                .key(owner_key(&meeting))
                .arg(format!("{} {epoch}", self.config.node_id))
                .invoke_async(&mut redis)
                .await;
            self.lock_owned().remove(&meeting);
            self.directory.metrics().ownership_changed("closed");
        }
        // Every lease in a few round trips, not one each: a node holding thousands of meetings
        // must renew them all well within a third of a lease, even on a busy machine.
        for batch in running.chunks(RENEW_BATCH) {
            let script = Script::new(RENEW);
            let mut call = script.prepare_invoke();
            call.arg(self.lease_ms());
            for (meeting, epoch) in batch {
                call.key(owner_key(meeting))
                    .arg(format!("{} {epoch}", self.config.node_id));
            }
            let renewed: redis::RedisResult<Vec<i64>> = call.invoke_async(&mut redis).await;
            let renewed = match renewed {
                Ok(renewed) => renewed,
                Err(e) => {
                    self.healthy.store(false, Ordering::Release);
                    self.redis_failed(e);
                    return false;
                }
            };
            for ((meeting, _), answer) in batch.iter().zip(renewed) {
                match answer {
                    1 => {}
                    2 => {
                        // Redis lost its data: the meeting's record goes back from memory.
                        tracing::warn!(meeting, "lease taken back after Redis lost it");
                        if let Some(record) = self.directory.durable(meeting).await {
                            self.save(meeting, &record).await;
                        }
                    }
                    _ => self.fence(meeting, "lease_lost"),
                }
            }
        }
        // Redis extended each lease after this round started, so none runs out before
        // `round_start + lease`; a sixth of a lease is kept for clock and scheduling slack.
        let fresh = round_start + self.config.lease - self.config.lease / 6;
        self.fresh_until
            .store(fresh.as_millis() as u64, Ordering::Release);
        self.healthy.store(true, Ordering::Release);
        true
    }

    /// Stops serving `meeting` here: its members are closed with 4108 `moved` and resume on
    /// whichever node holds it next. Also called by a meeting that found its lease stale.
    pub fn fence(&self, meeting: &str, why: &'static str) {
        if self.lock_owned().remove(meeting).is_some() {
            tracing::warn!(meeting, why, "meeting given up");
            self.directory.metrics().ownership_changed(why);
            self.directory.evict(meeting);
        }
    }

    /// Shutting down: writes every meeting's record, gives up every lease, and closes members
    /// with 4108 so that they resume at once on another node.
    pub async fn drain(&self) {
        // Every event recorded so far goes in before the leases go: the next owner of a meeting
        // numbers on from what is in Redis, and fences out what comes after it.
        if let Some(sink) = self.directory.events().shared() {
            let _ = tokio::time::timeout(self.config.lease, sink.flush()).await;
        }
        let mut redis = self.redis.clone();
        for (meeting, Held { epoch, .. }) in self.held() {
            if let Some(record) = self.directory.durable(&meeting).await {
                let _ = self.save(&meeting, &record).await;
            }
            self.lock_owned().remove(&meeting);
            self.directory.metrics().ownership_changed("drained");
            self.directory.evict(&meeting);
            let _: redis::RedisResult<i64> = Script::new(RELEASE)
                .key(owner_key(&meeting))
                .arg(format!("{} {epoch}", self.config.node_id))
                .invoke_async(&mut redis)
                .await;
        }
        let _: redis::RedisResult<i64> = redis.del(node_key(&self.config.node_id)).await;
        let _: redis::RedisResult<i64> = redis.zrem("huddle:nodes", &self.config.node_id).await;
    }
}
