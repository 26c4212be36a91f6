//! Huddle: a WebSocket signaling hub for group-therapy video.
//!
//! Layout (one line per module; start here):
//! - [`protocol`] — the wire protocol as Rust types: client and server messages, error and close
//!   codes. `proto/` is generated from and checked against it.
//! - [`auth`] — JWT verification with a pinned algorithm; token minting for dev mode and tools.
//! - [`meeting`] — the sans-IO meeting core (`Meeting::handle(input, now) -> effects`), the actor
//!   task that owns one meeting, and the directory of running meetings.
//! - [`server`] — HTTP routes, WebSocket upgrade, connection cap, and the per-connection task.
//! - [`config`] — configuration layering (defaults, TOML, env, flags) and the key setup.
//! - [`limits`] — every size, rate and timeout limit with the reason for its value.
//! - [`schema`] — JSON Schema generation for `proto/schema/`.
//! - [`fuzzing`] — fuzz entry points (targets in `fuzz/`, corpus replayed by a test).

pub mod auth;
pub mod config;
pub mod fuzzing;
pub mod limits;
pub mod meeting;
pub mod protocol;
pub mod schema;
pub mod server;

pub use config::Config;
pub use server::Server;
