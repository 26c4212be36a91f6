//! huddle-loadtest: drives a Huddle hub (or, for comparison, a matchbox_server) with real
//! WebSocket clients and real WebRTC peers on loopback, and reports what it measured.
//!
//! Layout:
//! - [`net`] — connecting and joining (Huddle and matchbox protocols), the hub's /proc figures.
//! - [`report`] — HDR latency summaries, the summary table, JSON and SVG plot output.
//! - [`scenarios`] — `idle`, `relay` (with sweep), `chat`, `breakouts`, `webrtc`.

pub mod net;
pub mod report;
pub mod scenarios;

use huddle::auth::{Minter, SignKey, TokenAlgorithm};

/// Which signaling server is being driven.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Protocol {
    Huddle,
    Matchbox,
}

/// Where the load goes and how to get in.
pub struct Target {
    /// Huddle: `ws://HOST:PORT/v1/ws`. Matchbox: `ws://HOST:PORT` (rooms are appended).
    pub url: String,
    pub protocol: Protocol,
    /// Mints Huddle tokens (HS256 with the hub's secret).
    pub minter: Minter,
    /// The hub's process id, for RSS and CPU figures (same machine only).
    pub hub_pid: Option<u32>,
}

impl Target {
    /// A Huddle target with the hub's HS256 secret and its issuer/audience.
    pub fn huddle(
        url: &str,
        secret: &str,
        issuer: &str,
        audience: &str,
        hub_pid: Option<u32>,
    ) -> Result<Self, String> {
        let minter = Minter::new(
            TokenAlgorithm::Hs256,
            SignKey::Secret(secret.as_bytes()),
            issuer,
            audience,
        )?;
        Ok(Target {
            url: url.to_owned(),
            protocol: Protocol::Huddle,
            minter,
            hub_pid,
        })
    }

    /// Refuses anything but loopback: the load generator never sends traffic elsewhere.
    pub fn check_loopback(&self) -> Result<(), String> {
        let rest = self
            .url
            .strip_prefix("ws://")
            .ok_or_else(|| "the URL must start with ws://".to_owned())?;
        let host = rest.split('/').next().unwrap_or("");
        let host = match host.rsplit_once(':') {
            Some((h, _)) => h,
            None => host,
        };
        let host = host.trim_start_matches('[').trim_end_matches(']');
        let loopback = host == "localhost"
            || host
                .parse::<std::net::IpAddr>()
                .map(|ip| ip.is_loopback())
                .unwrap_or(false);
        if loopback {
            Ok(())
        } else {
            Err(format!(
                "{host} is not a loopback address: huddle-loadtest only targets this machine"
            ))
        }
    }
}
