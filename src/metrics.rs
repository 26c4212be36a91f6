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

/// Every metric of one hub.
#[derive(Debug)]
pub struct Metrics {
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
        Metrics {
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
        self.frames_received
            .get_or_create(&KindLabel { kind })
            .inc();
    }

    /// `message` queued for `count` connections; an `error` is a refusal too.
    pub fn frames_sent(&self, message: &ServerMessage, count: usize) {
        self.frames_sent
            .get_or_create(&KindLabel {
                kind: message.kind(),
            })
            .inc_by(count as u64);
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
