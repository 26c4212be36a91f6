//! `huddle-loadtest`: one subcommand per scenario. Every run is bounded in time and count and
//! targets only loopback addresses. See loadtest/README.md.

use clap::{Args, Parser, Subcommand};
use huddle_loadtest::report::Report;
use huddle_loadtest::scenarios::{breakouts, chat, idle, relay, sfu, webrtc};
use huddle_loadtest::{Protocol, Target};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

#[derive(Parser)]
#[command(
    name = "huddle-loadtest",
    version,
    about = "Load generator and benchmarks for the Huddle hub"
)]
struct Cli {
    #[command(flatten)]
    common: Common,
    #[command(subcommand)]
    scenario: Scenario,
}

#[derive(Args)]
struct Common {
    /// Huddle: ws://127.0.0.1:8080/v1/ws. Matchbox: ws://127.0.0.1:3536. Loopback only.
    #[arg(long, global = true, default_value = "ws://127.0.0.1:8080/v1/ws")]
    url: String,
    /// Which server speaks at --url.
    #[arg(long, global = true, value_enum, default_value = "huddle")]
    protocol: Protocol,
    /// The hub's HS256 secret, to mint tokens (same as its HUDDLE_JWT_SECRET).
    #[arg(
        long,
        global = true,
        env = "HUDDLE_JWT_SECRET",
        hide_env_values = true,
        default_value = ""
    )]
    secret: String,
    /// The hub's `iss` / `aud`.
    #[arg(long, global = true, default_value = "huddle")]
    issuer: String,
    #[arg(long, global = true, default_value = "huddle")]
    audience: String,
    /// The hub's process id (same machine) for RSS and CPU figures.
    #[arg(long, global = true)]
    hub_pid: Option<u32>,
    /// Write the report as JSON.
    #[arg(long, global = true)]
    json: Option<PathBuf>,
    /// Write a latency plot (SVG).
    #[arg(long, global = true)]
    plot: Option<PathBuf>,
}

#[derive(Subcommand)]
enum Scenario {
    /// Open N participants in meetings of size M and hold them.
    Idle {
        #[arg(long, default_value_t = 10_000)]
        participants: usize,
        #[arg(long, default_value_t = 10)]
        meeting_size: usize,
        #[arg(long, default_value_t = 100)]
        concurrency: usize,
        /// Meetings are named PREFIX-0, PREFIX-1…: several generators (one per cluster node)
        /// use different prefixes so that each fills meetings of its own.
        #[arg(long, default_value = "idle")]
        meeting_prefix: String,
        /// How long everyone stays connected after the last join (several generators must
        /// overlap to hold their participants at once).
        #[arg(long, default_value_t = 2)]
        hold_secs: u64,
    },
    /// P pairs exchange signals at an aggregate rate (open loop).
    Relay {
        #[arg(long, default_value_t = 100)]
        pairs: usize,
        #[arg(long, default_value_t = 10_000)]
        rate: u64,
        #[arg(long, default_value_t = 10.0)]
        duration_secs: f64,
        #[arg(long, default_value_t = 2.0)]
        warmup_secs: f64,
        #[arg(long, default_value_t = 100)]
        payload_bytes: usize,
        /// Find the highest rate whose p99 stays under --p99-limit-ms, trying these rates in order.
        #[arg(long, value_delimiter = ',')]
        sweep: Vec<u64>,
        #[arg(long, default_value_t = 50.0)]
        p99_limit_ms: f64,
        /// Cluster mode: the second person of each pair connects to this hub node instead
        /// (`ws://HOST:PORT/v1/ws`), so every signal crosses nodes.
        #[arg(long)]
        peer_url: Option<String>,
    },
    /// S meetings × M participants chatting at an interval.
    Chat {
        #[arg(long, default_value_t = 2_000)]
        meetings: usize,
        #[arg(long, default_value_t = 10)]
        size: usize,
        #[arg(long, default_value_t = 10.0)]
        interval_secs: f64,
        #[arg(long, default_value_t = 30.0)]
        duration_secs: f64,
        /// Seconds of chat before measuring starts.
        #[arg(long, default_value_t = 10.0)]
        warmup_secs: f64,
    },
    /// One big meeting split into rooms and merged back, repeatedly.
    Breakouts {
        #[arg(long, default_value_t = 1_000)]
        participants: usize,
        #[arg(long, default_value_t = 4)]
        room_size: usize,
        #[arg(long, default_value_t = 5)]
        rounds: usize,
    },
    /// R meetings of N synthetic publishers through the hub's SFU (hub in sfu mode).
    Sfu {
        #[arg(long, default_value_t = 1)]
        rooms: usize,
        #[arg(long, default_value_t = 15)]
        size: usize,
        #[arg(long, default_value_t = 20.0)]
        secs: f64,
        #[arg(long, default_value_t = 2.0)]
        warmup_secs: f64,
        /// Each meeting's host pulls someone aside and back this often (0: never).
        #[arg(long, default_value_t = 4.0)]
        reroute_secs: f64,
    },
    /// Join, publish through the SFU and leave, many times; the hub's RSS (needs --hub-pid).
    SfuChurn {
        #[arg(long, default_value_t = 1_000)]
        cycles: usize,
        #[arg(long, default_value_t = 100)]
        warmup: usize,
        #[arg(long, default_value_t = 10)]
        concurrency: usize,
    },
    /// K pairs of real WebRTC peers negotiate through the hub.
    Webrtc {
        #[arg(long, default_value_t = 200)]
        pairs: usize,
        #[arg(long, default_value_t = 60.0)]
        timeout_secs: f64,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("huddle-loadtest: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("huddle-loadtest: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn run(cli: Cli) -> Result<(), String> {
    let c = cli.common;
    let mut target = if c.protocol == Protocol::Huddle {
        if c.secret.is_empty() {
            return Err("give the hub's secret with --secret or HUDDLE_JWT_SECRET".into());
        }
        Target::huddle(&c.url, &c.secret, &c.issuer, &c.audience, c.hub_pid)?
    } else {
        // Matchbox has no auth; a throwaway minter keeps one Target type.
        Target::huddle(&c.url, &huddle::auth::random_secret(), "x", "x", c.hub_pid)?
    };
    target.protocol = c.protocol;
    target.check_loopback()?;
    let target = Arc::new(target);
    let secs = Duration::from_secs_f64;
    let report: Report = match cli.scenario {
        Scenario::Idle {
            participants,
            meeting_size,
            concurrency,
            meeting_prefix,
            hold_secs,
        } => {
            idle::run(
                target,
                &idle::IdleParams {
                    participants,
                    meeting_size,
                    concurrency,
                    meeting_prefix,
                    settle: Duration::from_secs(hold_secs),
                },
            )
            .await?
        }
        Scenario::Relay {
            pairs,
            rate,
            duration_secs,
            warmup_secs,
            payload_bytes,
            sweep,
            p99_limit_ms,
            peer_url,
        } => {
            let peer = match peer_url {
                Some(url) => Some(relay::PeerTarget(Arc::new(Target::huddle(
                    &url,
                    &c.secret,
                    &c.issuer,
                    &c.audience,
                    None,
                )?))),
                None => None,
            };
            let params = relay::RelayParams {
                pairs,
                rate,
                duration: secs(duration_secs),
                warmup: secs(warmup_secs),
                payload_bytes,
                peer,
            };
            if sweep.is_empty() {
                relay::run(target, &params).await?
            } else {
                relay::sweep(target, &params, &sweep, p99_limit_ms).await?
            }
        }
        Scenario::Chat {
            meetings,
            size,
            interval_secs,
            duration_secs,
            warmup_secs,
        } => {
            chat::run(
                target,
                &chat::ChatParams {
                    meetings,
                    size,
                    interval: secs(interval_secs),
                    duration: secs(duration_secs),
                    warmup: secs(warmup_secs),
                },
            )
            .await?
        }
        Scenario::Breakouts {
            participants,
            room_size,
            rounds,
        } => {
            breakouts::run(
                target,
                &breakouts::BreakoutParams {
                    participants,
                    room_size,
                    rounds,
                },
            )
            .await?
        }
        Scenario::Sfu {
            rooms,
            size,
            secs: s,
            warmup_secs,
            reroute_secs,
        } => {
            sfu::run(
                target,
                &sfu::SfuParams {
                    rooms,
                    size,
                    secs: s,
                    warmup: warmup_secs,
                    reroute_every: reroute_secs,
                },
            )
            .await?
        }
        Scenario::SfuChurn {
            cycles,
            warmup,
            concurrency,
        } => {
            sfu::churn(
                target,
                &sfu::ChurnParams {
                    cycles,
                    warmup,
                    concurrency,
                },
            )
            .await?
        }
        Scenario::Webrtc {
            pairs,
            timeout_secs,
        } => {
            webrtc::run(
                target,
                &webrtc::WebrtcParams {
                    pairs,
                    timeout: secs(timeout_secs),
                },
            )
            .await?
        }
    };
    report.print();
    if let Some(path) = c.json {
        report.write_json(&path)?;
    }
    if let Some(path) = c.plot {
        report.write_plot(&path)?;
    }
    Ok(())
}
