//! The hub's Prometheus metrics (`GET /metrics`): what operators watch, as counters, gauges and
//! one histogram in one registry per hub. No label ever carries a meeting id, a `sub`, a name or
//! an address: every label value is one of a closed set (a message kind, an error or close code's
//! name, a role, a route template), so cardinality is bounded and nothing in here is PHI.

use crate::meeting::{EventKind, MeetingEvent};
use crate::protocol::{ErrorCode, Role, ServerMessage};
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::{Registry, Unit};
use rustc_hash::FxHashMap;
use std::cell::RefCell;
use std::sync::atomic::{AtomicU64, Ordering};

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct KindLabel {
    kind: &'static str,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct CodeLabel {
    code: &'static str,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RoleLabel {
    role: &'static str,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ResultLabel {
    result: &'static str,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RouteLabels {
    /// The route template (`/v1/meetings/{meeting}`), never the path.
    route: String,
    status: u16,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct VersionLabel {
    version: &'static str,
}

#[derive(Debug, Clone, Copy, Hash, PartialEq, Eq)]
enum Direction {
    Received,
    Sent,
}

/// Tells hubs in one process apart (tests run several).
static NEXT_ID: AtomicU64 = AtomicU64::new(0);

/// Every metric of one hub.
#[derive(Debug)]
pub struct Metrics {
    id: u64,
    registry: Registry,
    /// Open WebSockets (set when scraped).
    pub connections: Gauge,
    /// Meetings with a running actor (set when scraped).
    pub meetings: Gauge,
    members: Family<RoleLabel, Gauge>,
    frames_received: Family<KindLabel, Counter>,
    frames_sent: Family<KindLabel, Counter>,
    refusals: Family<CodeLabel, Counter>,
    closes: Family<CodeLabel, Counter>,
    resumes: Family<ResultLabel, Counter>,
    slow_consumers: Counter,
    webhook_deliveries: Family<ResultLabel, Counter>,
    api_requests: Family<RouteLabels, Counter>,
    relay_latency: Histogram,
    forwarded_connections: Counter,
    forwarded_frames: Counter,
    /// Cluster mode: meetings this node holds the lease of (set when scraped).
    pub owned_meetings: Gauge,
    /// Cluster mode: nodes registered in Redis, as of the last renewal round.
    pub cluster_nodes: Gauge,
    ownership_changes: Family<ReasonLabel, Counter>,
    bus_errors: Counter,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ReasonLabel {
    reason: &'static str,
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics::new()
    }
}

impl Metrics {
    pub fn new() -> Metrics {
        let mut registry = Registry::with_prefix("huddle");
        let connections = Gauge::default();
        let meetings = Gauge::default();
        let members: Family<RoleLabel, Gauge> = Family::default();
        let frames_received: Family<KindLabel, Counter> = Family::default();
        let frames_sent: Family<KindLabel, Counter> = Family::default();
        let refusals: Family<CodeLabel, Counter> = Family::default();
        let closes: Family<CodeLabel, Counter> = Family::default();
        let resumes: Family<ResultLabel, Counter> = Family::default();
        let slow_consumers = Counter::default();
        let webhook_deliveries: Family<ResultLabel, Counter> = Family::default();
        let api_requests: Family<RouteLabels, Counter> = Family::default();
        // 10 µs to about 6 s: a relayed message normally takes tens of microseconds.
        let relay_latency = Histogram::new(exponential_buckets(0.000_01, 2.5, 15));
        let build: Family<VersionLabel, Gauge> = Family::default();
        build
            .get_or_create(&VersionLabel {
                version: env!("CARGO_PKG_VERSION"),
            })
            .set(1);

        registry.register(
            "connections",
            "Open WebSocket connections",
            connections.clone(),
        );
        registry.register(
            "meetings",
            "Meetings with someone in them",
            meetings.clone(),
        );
        registry.register(
            "members",
            "People seated in meetings (held seats included), by role",
            members.clone(),
        );
        registry.register(
            "frames_received",
            "Client frames decoded, by message type",
            frames_received.clone(),
        );
        registry.register(
            "frames_sent",
            "Hub frames queued to connections, by message type",
            frames_sent.clone(),
        );
        registry.register(
            "refusals",
            "error frames sent, by error code",
            refusals.clone(),
        );
        registry.register(
            "closes",
            "WebSocket closes sent by the hub, by close code name",
            closes.clone(),
        );
        registry.register(
            "resumes",
            "hello.resume attempts, by result",
            resumes.clone(),
        );
        registry.register(
            "slow_consumers_dropped",
            "Connections closed because they did not read their messages",
            slow_consumers.clone(),
        );
        registry.register(
            "webhook_deliveries",
            "Webhook delivery attempts and drops, by result",
            webhook_deliveries.clone(),
        );
        registry.register(
            "api_requests",
            "Server API requests, by route template and status",
            api_requests.clone(),
        );
        registry.register_with_unit(
            "relay_latency",
            "From a relayed frame (signal, chat, data) leaving its sender's connection task to \
             its copies in the recipients' queues",
            Unit::Seconds,
            relay_latency.clone(),
        );
        registry.register("build_info", "The hub's version (always 1)", build);
        let forwarded_connections = Counter::default();
        let forwarded_frames = Counter::default();
        let owned_meetings = Gauge::default();
        registry.register(
            "forwarded_connections",
            "Cluster mode: client connections forwarded to the node that owns their meeting",
            forwarded_connections.clone(),
        );
        registry.register(
            "forwarded_frames",
            "Cluster mode: frames forwarded between clients and owner nodes, both ways",
            forwarded_frames.clone(),
        );
        let cluster_nodes = Gauge::default();
        let ownership_changes: Family<ReasonLabel, Counter> = Family::default();
        let bus_errors = Counter::default();
        registry.register(
            "cluster_nodes",
            "Cluster mode: nodes registered in Redis at the last lease renewal",
            cluster_nodes.clone(),
        );
        registry.register(
            "cluster_ownership_changes",
            "Cluster mode: meetings this node took or gave up, by reason (taken, lease_lost, \
             lease_not_fresh, redis_unreachable, drained, closed)",
            ownership_changes.clone(),
        );
        registry.register(
            "cluster_redis_errors",
            "Cluster mode: Redis calls that failed (leases, records, lookups)",
            bus_errors.clone(),
        );
        registry.register(
            "cluster_owned_meetings",
            "Cluster mode: meetings whose lease this node holds",
            owned_meetings.clone(),
        );
        Metrics {
            id: NEXT_ID.fetch_add(1, Ordering::Relaxed),
            registry,
            connections,
            meetings,
            members,
            frames_received,
            frames_sent,
            refusals,
            closes,
            resumes,
            slow_consumers,
            webhook_deliveries,
            api_requests,
            relay_latency,
            forwarded_connections,
            forwarded_frames,
            owned_meetings,
            cluster_nodes,
            ownership_changes,
            bus_errors,
        }
    }

    /// The OpenMetrics text of every metric.
    pub fn encode(&self) -> String {
        let mut text = String::new();
        // Writing to a String cannot fail.
        let _ = prometheus_client::encoding::text::encode(&mut text, &self.registry);
        text
    }

    pub fn frame_received(&self, kind: &'static str) {
        self.count_kind(Direction::Received, kind, 1);
    }

    /// Counts `n` frames of `kind` through a per-thread cache of this hub's counters. Once per
    /// relayed frame each way, `Family::get_or_create` (a read lock and a SipHash of the label)
    /// was about 900 instructions of a relayed signal's 17,000 (#17); the cache is a small
    /// hash map keyed by numbers, and the counter it holds is the family's own.
    fn count_kind(&self, direction: Direction, kind: &'static str, n: u64) {
        thread_local! {
            static CACHE: RefCell<FxHashMap<(u64, Direction, usize, usize), Counter>> =
                RefCell::default();
        }
        // The hub's id, not its address: a test's next hub may reuse the address.
        let key = (self.id, direction, kind.as_ptr() as usize, kind.len());
        CACHE.with(|cache| {
            if let Some(counter) = cache.borrow().get(&key) {
                counter.inc_by(n);
                return;
            }
            let family = match direction {
                Direction::Received => &self.frames_received,
                Direction::Sent => &self.frames_sent,
            };
            let counter = family.get_or_create(&KindLabel { kind }).clone();
            counter.inc_by(n);
            cache.borrow_mut().insert(key, counter);
        });
    }

    /// Cluster mode: a client connection forwarded to the meeting's owner node.
    pub fn forwarded_connection(&self) {
        self.forwarded_connections.inc();
    }

    /// Cluster mode: this node took or gave up a meeting, for `reason` (a fixed name).
    pub fn ownership_changed(&self, reason: &'static str) {
        self.ownership_changes
            .get_or_create(&ReasonLabel { reason })
            .inc();
    }

    /// Cluster mode: a Redis call failed.
    pub fn redis_error(&self) {
        self.bus_errors.inc();
    }

    /// Cluster mode: a frame forwarded between a client and the owner node (either way).
    pub fn frame_forwarded(&self) {
        self.forwarded_frames.inc();
    }

    /// `message` queued for `count` connections; an `error` is a refusal too.
    pub fn frames_sent(&self, message: &ServerMessage, count: usize) {
        self.count_kind(Direction::Sent, message.kind(), count as u64);
        if let ServerMessage::Error { code, .. } = message {
            self.refusals
                .get_or_create(&CodeLabel {
                    code: code.as_str(),
                })
                .inc_by(count as u64);
        }
    }

    /// A refusal that is not an `error` frame of ours (an HTTP status of the API).
    pub fn refusal(&self, code: ErrorCode) {
        self.refusals
            .get_or_create(&CodeLabel {
                code: code.as_str(),
            })
            .inc();
    }

    /// A close frame sent, by the code's stable name.
    pub fn closed(&self, reason: &'static str) {
        self.closes.get_or_create(&CodeLabel { code: reason }).inc();
    }

    /// `ok`, `expired` or `refused`.
    pub fn resume(&self, result: &'static str) {
        self.resumes.get_or_create(&ResultLabel { result }).inc();
    }

    pub fn slow_consumer(&self) {
        self.slow_consumers.inc();
    }

    /// `delivered`, `failed` (to be retried), `disabled` (410) or `dropped` (outbox full).
    pub fn webhook(&self, result: &'static str) {
        self.webhook_deliveries
            .get_or_create(&ResultLabel { result })
            .inc();
    }

    pub fn api_request(&self, route: String, status: u16) {
        self.api_requests
            .get_or_create(&RouteLabels { route, status })
            .inc();
    }

    pub fn relayed(&self, took: std::time::Duration) {
        self.relay_latency.observe(took.as_secs_f64());
    }

    /// Keeps the members-by-role gauges with a meeting's events: a seat taken or given up, a
    /// role changed.
    pub fn event(&self, event: &MeetingEvent) {
        let gauge = |role: Role| {
            self.members.get_or_create(&RoleLabel {
                role: role.as_str(),
            })
        };
        let Some(person) = &event.person else {
            return;
        };
        match &event.kind {
            EventKind::Joined => {
                gauge(person.role).inc();
            }
            // Someone who leaves from the waiting room never had a seat.
            EventKind::Left { .. } if person.room.is_some() => {
                gauge(person.role).dec();
            }
            EventKind::RoleChanged { from } => {
                gauge(*from).dec();
                gauge(person.role).inc();
            }
            _ => {}
        }
    }
}
