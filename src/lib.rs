//! Huddle: a WebSocket signaling hub for group-therapy video.
//!
//! Layout (one line per module; start here):
//! - [`protocol`] — the wire protocol as Rust types: client and server messages, error and close
//!   codes, refusals, and each message's policy (who may send it, its rate class, its audit
//!   terms). `proto/` and the SDK's types and constants are generated from and checked against it.
//! - [`auth`] — JWT verification with a pinned algorithm; token minting for dev mode and tools.
//! - [`meeting`] — the sans-IO meeting core (`meeting/core/`, one file per PROTOCOL.md chapter),
//!   the actor task that owns one meeting (`meeting/actor.rs`), and the directory of running
//!   meetings (`meeting/directory.rs`).
//! - [`media`] — the SFU: one UDP socket and thread forwarding everyone's audio and video to
//!   their roommates, driven by the meeting core's routes (`media/engine.rs`, `conn.rs`, and the
//!   pure `routing`, `munger`, `vp8`, `speaker`).
//! - [`server`] — HTTP routes, WebSocket upgrade, connection cap, and the per-connection task;
//!   the partner's server API (`server/api.rs`, with its OpenAPI document).
//! - [`cluster`] — cluster mode over Redis: meeting leases with fencing epochs, the node
//!   registry, meetings' durable records (`cluster/mod.rs`); the cluster-wide event log and
//!   webhook outboxes as Redis streams (`cluster/events.rs`); forwarding to the owner is
//!   `server/forward.rs`.
//! - [`config`] — configuration layering (defaults, TOML, env, flags), the key setup and the
//!   meetings' settings.
//! - [`events`] — the meeting events as the partner hears them: the log behind `GET /v1/events`
//!   and each meeting's attendance, in memory (in cluster mode the log is Redis's).
//! - [`webhooks`] — the events POSTed to the partner, signed (Standard Webhooks), in order,
//!   retried (the sender both outboxes use).
//! - [`metrics`] — the Prometheus metrics behind `GET /metrics`: closed label sets, no ids.
//! - [`pseudonym`] — keyed pseudonyms of people (`sub`) for join and audit log lines.
//! - [`turn`] — per-person TURN REST credentials (coturn `use-auth-secret`) for `welcome`.
//! - [`limits`] — every size, rate and timeout limit with the reason for its value.
//! - [`schema`] — JSON Schema and protocol constants for `proto/schema/`.
//! - [`fuzzing`] — fuzz entry points (targets in `fuzz/`, corpus replayed by a test).
//!
//! Error policy, one for the crate, sorted by what happens next (as Galène does):
//! - A client's request the meeting will not carry out is answered with `error {code}` (a stable
//!   [`protocol::ErrorCode`]) and the connection stays: the core returns it as a `Rejection`.
//! - A connection that cannot be let in or must go is closed with a [`protocol::Refusal`]: the
//!   `error` frame (if any) and the close code are decided together, once, where the refusal is
//!   made (the core for the meeting's door, the connection for `hello`).
//! - Operator mistakes at start-up (missing key, unreadable file, bad setting) are `String`
//!   messages that say what to set; the binary prints them and exits non-zero.
//! - Anything that came off the network is parsed, never `unwrap`ped: a broken frame costs its
//!   sender an error or its connection, never the hub a panic. I/O errors end only the
//!   connection they happened on and are logged at DEBUG.

pub mod auth;
pub mod cluster;
pub mod config;
pub mod events;
pub mod fuzzing;
pub mod limits;
pub mod media;
pub mod meeting;
pub mod metrics;
pub mod protocol;
pub mod pseudonym;
pub mod schema;
pub mod server;
pub mod turn;
pub mod webhooks;

pub use config::Config;
pub use server::Server;
