//! The `huddle` command: `serve` runs the hub, `token` mints a token for integration testing,
//! `schema` regenerates `proto/schema/`.

use clap::{Args, Parser, Subcommand};
use huddle::auth::{Minter, SignKey, TokenAlgorithm};
use huddle::protocol::Role;
use huddle::{Config, Server};
use serde::Serialize;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

#[derive(Parser)]
#[command(
    name = "huddle",
    version,
    about = "WebSocket signaling hub for group-therapy video"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the hub.
    Serve(ServeArgs),
    /// Mint a token with the configured key (for testing a partner integration).
    Token(TokenArgs),
    /// Write the protocol's JSON Schema files (proto/schema/) and the server API's OpenAPI
    /// document (proto/openapi.json, beside the schema directory).
    Schema {
        /// Output directory.
        #[arg(long, default_value = "proto/schema")]
        out: PathBuf,
    },
}

/// Settings shared by `serve` and `token`. Each may also come from the TOML file given with
/// `--config` (same names, snake_case); flags and environment variables win over the file.
#[derive(Args, Serialize)]
struct ConfigArgs {
    /// TOML config file (keys as in the README's configuration table).
    #[arg(long, env = "HUDDLE_CONFIG")]
    #[serde(skip)]
    config: Option<PathBuf>,
    /// Address to listen on, host:port.
    #[arg(long, env = "HUDDLE_LISTEN")]
    #[serde(skip_serializing_if = "Option::is_none")]
    listen: Option<SocketAddr>,
    /// HS256 shared secret (at least 32 bytes). Prefer the environment variable to the flag.
    #[arg(long, env = "HUDDLE_JWT_SECRET", hide_env_values = true)]
    #[serde(skip_serializing_if = "Option::is_none")]
    jwt_secret: Option<String>,
    /// Path to the token issuer's public key (PEM) for RS256, ES256 or EdDSA.
    #[arg(long, env = "HUDDLE_JWT_PUBLIC_KEY")]
    #[serde(skip_serializing_if = "Option::is_none")]
    jwt_public_key: Option<PathBuf>,
    /// Token algorithm: HS256 (default with a secret), RS256, ES256 or EdDSA. Pinned: the token's
    /// own header is never trusted.
    #[arg(long, env = "HUDDLE_JWT_ALGORITHM")]
    #[serde(skip_serializing_if = "Option::is_none")]
    jwt_algorithm: Option<String>,
    /// Required `iss` claim [default: huddle].
    #[arg(long, env = "HUDDLE_JWT_ISSUER")]
    #[serde(skip_serializing_if = "Option::is_none")]
    jwt_issuer: Option<String>,
    /// Required `aud` claim [default: huddle].
    #[arg(long, env = "HUDDLE_JWT_AUDIENCE")]
    #[serde(skip_serializing_if = "Option::is_none")]
    jwt_audience: Option<String>,
    /// Required `aud` claim of server API tokens; must differ from jwt_audience [default:
    /// huddle-api].
    #[arg(long, env = "HUDDLE_API_AUDIENCE")]
    #[serde(skip_serializing_if = "Option::is_none")]
    api_audience: Option<String>,
    /// Where meeting events are POSTed: https, or http to a loopback address.
    #[arg(long, env = "HUDDLE_WEBHOOK_URL")]
    #[serde(skip_serializing_if = "Option::is_none")]
    webhook_url: Option<String>,
    /// Webhook signing secret, whsec_ + base64 (Standard Webhooks). Prefer the environment.
    #[arg(long, env = "HUDDLE_WEBHOOK_SECRET", hide_env_values = true)]
    #[serde(skip_serializing_if = "Option::is_none")]
    webhook_secret: Option<String>,
    /// How long a meeting's attendance stays readable after it ended, seconds (memory only)
    /// [default: 86400].
    #[arg(long, env = "HUDDLE_ATTENDANCE_RETENTION_SECS")]
    #[serde(skip_serializing_if = "Option::is_none")]
    attendance_retention_secs: Option<u64>,
    /// Seconds before a scheduled session's end that everyone gets `session_ending`
    /// [default: 300].
    #[arg(long, env = "HUDDLE_SESSION_ENDING_WARNING_SECS")]
    #[serde(skip_serializing_if = "Option::is_none")]
    session_ending_warning_secs: Option<u64>,
    /// A plain-text file (at most 8 KiB) with the group agreement participants accept before
    /// entering a meeting.
    #[arg(long, env = "HUDDLE_AGREEMENT_FILE")]
    #[serde(skip_serializing_if = "Option::is_none")]
    agreement_file: Option<PathBuf>,
    /// `keep` (late joiners see a room's recent chat) or `none` (chat is delivered, not kept)
    /// [default: keep].
    #[arg(long, env = "HUDDLE_CHAT_HISTORY", value_parser = ["keep", "none"])]
    #[serde(skip_serializing_if = "Option::is_none")]
    chat_history: Option<String>,
    /// A separate host:port for GET /metrics (keep it off the public address) [default: served
    /// on --listen].
    #[arg(long, env = "HUDDLE_METRICS_LISTEN")]
    #[serde(skip_serializing_if = "Option::is_none")]
    metrics_listen: Option<std::net::SocketAddr>,
    /// Allowed clock skew for exp/nbf in seconds, at most 30 [default: 5].
    #[arg(long, env = "HUDDLE_JWT_LEEWAY_SECS")]
    #[serde(skip_serializing_if = "Option::is_none")]
    jwt_leeway_secs: Option<u64>,
    /// Directory served at / (the reference web client) [default: web-client].
    #[arg(long, env = "HUDDLE_WEB_ROOT")]
    #[serde(skip_serializing_if = "Option::is_none")]
    web_root: Option<PathBuf>,
    /// Cap on open WebSocket connections [default: 20000].
    #[arg(long, env = "HUDDLE_MAX_CONNECTIONS")]
    #[serde(skip_serializing_if = "Option::is_none")]
    max_connections: Option<usize>,
    /// Cap on open WebSocket connections from one client address [default: 1000].
    #[arg(long, env = "HUDDLE_MAX_CONNECTIONS_PER_IP")]
    #[serde(skip_serializing_if = "Option::is_none")]
    max_connections_per_ip: Option<usize>,
    /// TURN server URLs whose per-person credentials go in each welcome, comma separated
    /// (turn:host:3478?transport=udp,turns:host:5349).
    #[arg(long, env = "HUDDLE_TURN_URLS", value_delimiter = ',')]
    #[serde(skip_serializing_if = "Option::is_none")]
    turn_urls: Option<Vec<String>>,
    /// coturn's static-auth-secret (use-auth-secret) to mint TURN credentials with. Prefer the
    /// environment.
    #[arg(long, env = "HUDDLE_TURN_SECRET", hide_env_values = true)]
    #[serde(skip_serializing_if = "Option::is_none")]
    turn_secret: Option<String>,
    /// How long minted TURN credentials hold, seconds [default: 43200].
    #[arg(long, env = "HUDDLE_TURN_TTL_SECS")]
    #[serde(skip_serializing_if = "Option::is_none")]
    turn_ttl_secs: Option<u64>,
    /// Cluster mode: the Redis shared by every node (redis://host:6379). Unset: one process.
    #[arg(long, env = "HUDDLE_REDIS_URL", hide_env_values = true)]
    #[serde(skip_serializing_if = "Option::is_none")]
    redis_url: Option<String>,
    /// Cluster mode: this node's name [default: random].
    #[arg(long, env = "HUDDLE_NODE_ID")]
    #[serde(skip_serializing_if = "Option::is_none")]
    node_id: Option<String>,
    /// Cluster mode: the secret every node shares (at least 16 bytes). Prefer the environment.
    #[arg(long, env = "HUDDLE_CLUSTER_SECRET", hide_env_values = true)]
    #[serde(skip_serializing_if = "Option::is_none")]
    cluster_secret: Option<String>,
    /// Cluster mode: host:port other nodes reach this one at [default: listen].
    #[arg(long, env = "HUDDLE_CLUSTER_ADVERTISE")]
    #[serde(skip_serializing_if = "Option::is_none")]
    cluster_advertise: Option<String>,
    /// Cluster mode: how long a meeting's lease lasts unless renewed, ms [default: 6000].
    #[arg(long, env = "HUDDLE_LEASE_MS")]
    #[serde(skip_serializing_if = "Option::is_none")]
    lease_ms: Option<u64>,
    /// ICE transport policy handed to clients: all, or relay (TURN only, so no participant
    /// learns another's IP address; needs ice_servers with a TURN server) [default: all].
    #[arg(long, env = "HUDDLE_ICE_TRANSPORT_POLICY", value_parser = ["all", "relay"])]
    #[serde(skip_serializing_if = "Option::is_none")]
    ice_transport_policy: Option<String>,
    /// Participants who arrive before any host or cohost wait, and are let in when one arrives
    /// [default: true]. The load generator's host-less scenarios need it off.
    #[arg(long, env = "HUDDLE_WAIT_FOR_HOST")]
    #[serde(skip_serializing_if = "Option::is_none")]
    wait_for_host: Option<bool>,
    /// How meetings' media travels: `sfu` (through the hub; the default) or `mesh` (browser to
    /// browser).
    #[arg(long, env = "HUDDLE_MEDIA_MODE")]
    #[serde(skip_serializing_if = "Option::is_none")]
    media_mode: Option<String>,
    /// The SFU's one UDP socket [default: 127.0.0.1:0, any free port].
    #[arg(long, env = "HUDDLE_RTC_LISTEN")]
    #[serde(skip_serializing_if = "Option::is_none")]
    rtc_listen: Option<std::net::SocketAddr>,
    /// The address put in the SFU's ICE candidate, for a hub behind 1:1 NAT.
    #[arg(long, env = "HUDDLE_RTC_PUBLIC_IP")]
    #[serde(skip_serializing_if = "Option::is_none")]
    rtc_public_ip: Option<std::net::IpAddr>,
    /// Key for the pseudonyms of people in join and audit log lines (HMAC of sub), at least 16
    /// bytes. Unset: random per process.
    #[arg(long, env = "HUDDLE_AUDIT_KEY", hide_env_values = true)]
    #[serde(skip_serializing_if = "Option::is_none")]
    audit_key: Option<String>,
    /// Longest token lifetime accepted, seconds (exp − iat, or exp − now without iat); 0: no
    /// limit [default: 86400].
    #[arg(long, env = "HUDDLE_MAX_TOKEN_LIFETIME_SECS")]
    #[serde(skip_serializing_if = "Option::is_none")]
    max_token_lifetime_secs: Option<u64>,
    /// TLS certificate chain, PEM (with --tls-key: serve https/wss directly).
    #[arg(long, env = "HUDDLE_TLS_CERT")]
    #[serde(skip_serializing_if = "Option::is_none")]
    tls_cert: Option<PathBuf>,
    /// TLS private key, PEM.
    #[arg(long, env = "HUDDLE_TLS_KEY")]
    #[serde(skip_serializing_if = "Option::is_none")]
    tls_key: Option<PathBuf>,
    /// Cap on TCP connections that are not (yet) WebSockets [default: 2048].
    #[arg(long, env = "HUDDLE_MAX_HTTP_CONNECTIONS")]
    #[serde(skip_serializing_if = "Option::is_none")]
    max_http_connections: Option<usize>,
    /// Cap on WebSockets that have not said hello yet [default: 1024].
    #[arg(long, env = "HUDDLE_MAX_PENDING_HELLOS")]
    #[serde(skip_serializing_if = "Option::is_none")]
    max_pending_hellos: Option<usize>,
    /// Of those, at most this many from one client address [default: 32]; load generators need
    /// more.
    #[arg(long, env = "HUDDLE_MAX_PENDING_HELLOS_PER_IP")]
    #[serde(skip_serializing_if = "Option::is_none")]
    max_pending_hellos_per_ip: Option<usize>,
    /// Milliseconds a TCP connection has to send a complete request head [default: 10000].
    #[arg(long, env = "HUDDLE_HEADER_TIMEOUT_MS")]
    #[serde(skip_serializing_if = "Option::is_none")]
    header_timeout_ms: Option<u64>,
    /// Proxies (addresses or CIDR ranges, comma-separated) whose X-Forwarded-For
    /// headers name the client's address. Unset: the TCP peer is the client.
    #[arg(long, env = "HUDDLE_TRUSTED_PROXIES", value_delimiter = ',')]
    #[serde(skip_serializing_if = "Option::is_none")]
    trusted_proxies: Option<Vec<String>>,
    /// Who may embed the reference UI in an iframe (CSP frame-ancestors), e.g.
    /// "'self' https://app.partner.example" [default: 'self'].
    #[arg(long, env = "HUDDLE_FRAME_ANCESTORS")]
    #[serde(skip_serializing_if = "Option::is_none")]
    frame_ancestors: Option<String>,
    /// Browser origins allowed to connect, comma-separated (e.g. https://app.partner.example).
    /// Unset: any origin.
    #[arg(long, env = "HUDDLE_ALLOWED_ORIGINS", value_delimiter = ',')]
    #[serde(skip_serializing_if = "Option::is_none")]
    allowed_origins: Option<Vec<String>>,
    /// Cap on people in one meeting [default: 2000].
    #[arg(long, env = "HUDDLE_MAX_MEETING_MEMBERS")]
    #[serde(skip_serializing_if = "Option::is_none")]
    max_meeting_members: Option<usize>,
    /// Per-connection outbound queue length before a slow consumer is dropped [default: 4096].
    #[arg(long, env = "HUDDLE_OUTBOUND_QUEUE_LEN")]
    #[serde(skip_serializing_if = "Option::is_none")]
    outbound_queue_len: Option<usize>,
    /// Per-connection outbound queue in bytes before a slow consumer is dropped [default: 4194304].
    #[arg(long, env = "HUDDLE_OUTBOUND_QUEUE_BYTES")]
    #[serde(skip_serializing_if = "Option::is_none")]
    outbound_queue_bytes: Option<usize>,
    /// Milliseconds a new socket has to send hello [default: 5000].
    #[arg(long, env = "HUDDLE_HELLO_TIMEOUT_MS")]
    #[serde(skip_serializing_if = "Option::is_none")]
    hello_timeout_ms: Option<u64>,
    /// Keepalive ping interval in milliseconds [default: 20000].
    #[arg(long, env = "HUDDLE_PING_INTERVAL_MS")]
    #[serde(skip_serializing_if = "Option::is_none")]
    ping_interval_ms: Option<u64>,
    /// Milliseconds of silence after which a connection is dropped [default: 45000].
    #[arg(long, env = "HUDDLE_IDLE_TIMEOUT_MS")]
    #[serde(skip_serializing_if = "Option::is_none")]
    idle_timeout_ms: Option<u64>,
    /// Seconds before a breakout timer ends that everyone is warned [default: 60].
    #[arg(long, env = "HUDDLE_BREAKOUT_WARNING_SECS")]
    #[serde(skip_serializing_if = "Option::is_none")]
    breakout_warning_secs: Option<u64>,
    /// Seconds a dropped connection's seat is held for resume; 0 turns resume off [default: 30].
    #[arg(long, env = "HUDDLE_RESUME_GRACE_SECS")]
    #[serde(skip_serializing_if = "Option::is_none")]
    resume_grace_secs: Option<u64>,
    /// Meetings start with the waiting room on: hosts and cohosts admit everyone else [default: false].
    #[arg(long, env = "HUDDLE_WAITING_ROOM")]
    #[serde(skip_serializing_if = "Option::is_none")]
    waiting_room: Option<bool>,
    /// Chat messages per second per connection [default: 5].
    #[arg(long, env = "HUDDLE_CHAT_RATE")]
    #[serde(skip_serializing_if = "Option::is_none")]
    chat_rate: Option<u32>,
    /// Chat burst size [default: 10].
    #[arg(long, env = "HUDDLE_CHAT_BURST")]
    #[serde(skip_serializing_if = "Option::is_none")]
    chat_burst: Option<u32>,
    /// Signal messages per second per connection [default: 50].
    #[arg(long, env = "HUDDLE_SIGNAL_RATE")]
    #[serde(skip_serializing_if = "Option::is_none")]
    signal_rate: Option<u32>,
    /// Signal burst size, sized for trickle ICE [default: 200].
    #[arg(long, env = "HUDDLE_SIGNAL_BURST")]
    #[serde(skip_serializing_if = "Option::is_none")]
    signal_burst: Option<u32>,
    /// App data messages per second per connection [default: 30].
    #[arg(long, env = "HUDDLE_DATA_RATE")]
    #[serde(skip_serializing_if = "Option::is_none")]
    data_rate: Option<u32>,
    /// App data burst size [default: 60].
    #[arg(long, env = "HUDDLE_DATA_BURST")]
    #[serde(skip_serializing_if = "Option::is_none")]
    data_burst: Option<u32>,
}

impl ConfigArgs {
    fn load(&self) -> Result<Config, String> {
        Config::load(self.config.as_deref(), self)
    }
}

#[derive(Args)]
struct ServeArgs {
    /// Demo mode: in memory, an ephemeral HS256 key, and ready-to-use join links for a demo
    /// meeting (one host, three participants) printed at start.
    #[arg(long)]
    dev: bool,
    /// With --dev: allow a listen address other than loopback. Dev links carry tokens anyone
    /// on the network could use, and the key is ephemeral: only for a trusted network.
    #[arg(long, requires = "dev")]
    dev_allow_remote: bool,
    #[command(flatten)]
    config: ConfigArgs,
}

#[derive(Args)]
struct TokenArgs {
    /// Mint a server API token (aud = api_audience) for the calling system `--sub` with
    /// `--scope`, instead of a client token.
    #[arg(long)]
    api: bool,
    /// With --api: space-separated scopes from meetings:read, meetings:write, moderation,
    /// attendance:read, events:read.
    #[arg(long, requires = "api")]
    scope: Option<String>,
    /// host, cohost, mentor, participant or observer.
    #[arg(long, default_value = "participant")]
    role: String,
    /// Meeting id.
    #[arg(long, required_unless_present = "api")]
    meeting: Option<String>,
    /// The person's opaque user id (with --api: the calling system's name).
    #[arg(long)]
    sub: String,
    /// Display name.
    #[arg(long, required_unless_present = "api")]
    name: Option<String>,
    /// Lifetime, e.g. 30m, 1h.
    #[arg(long, default_value = "1h", value_parser = humantime::parse_duration)]
    ttl: Duration,
    /// Private key PEM, for RS256/ES256/EdDSA deployments (HS256 uses the secret).
    #[arg(long, env = "HUDDLE_JWT_PRIVATE_KEY")]
    private_key: Option<PathBuf>,
    #[command(flatten)]
    config: ConfigArgs,
}

fn parse_role(s: &str) -> Result<Role, String> {
    serde_json::from_value(serde_json::Value::String(s.to_owned()))
        .map_err(|_| format!("unknown role {s:?}: host, cohost, mentor, participant or observer"))
}

fn init_logging() {
    use tracing_subscriber::EnvFilter;
    let filter = EnvFilter::try_from_env("HUDDLE_LOG").unwrap_or_else(|_| EnvFilter::new("info"));
    // Logs go to stderr: stdout carries only what a command prints for people (dev-mode links,
    // minted tokens), so the two never mix.
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .init();
}

/// glibc gives every thread that allocates its own arena, up to 8 per core. The media thread and
/// the runtime's workers allocate and free each other's buffers (datagrams, SDP, frames), so with
/// join/leave churn the arenas fragment and RSS creeps: +7 % per 1,000 SFU join/leave cycles
/// after 3,000 (loadtest `sfu-churn`), +1.4 % with one arena. Two keep most of the concurrency.
/// Set before any thread starts; `MALLOC_ARENA_MAX` in the environment still wins.
fn limit_malloc_arenas() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    if std::env::var_os("MALLOC_ARENA_MAX").is_none() {
        // SAFETY: mallopt only sets an allocator parameter; called first thing in main, before
        // any other thread exists.
        unsafe {
            libc::mallopt(libc::M_ARENA_MAX, 2);
        }
    }
}

fn main() -> ExitCode {
    limit_malloc_arenas();
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Serve(args) => serve(args),
        Command::Token(args) => token(args),
        Command::Schema { out } => write_schema(&out),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("huddle: {message}");
            ExitCode::FAILURE
        }
    }
}

fn serve(args: ServeArgs) -> Result<(), String> {
    init_logging();
    let mut config = args.config.load()?;
    let dev_minter = if args.dev {
        if config.jwt_public_key.is_some() {
            return Err("--dev signs its own HS256 tokens: unset HUDDLE_JWT_PUBLIC_KEY".into());
        }
        if !config.listen.ip().is_loopback() && !args.dev_allow_remote {
            return Err(format!(
                "--dev listens on loopback only (asked for {}): its links hold tokens and its key is \
                 a demo key. Add --dev-allow-remote to serve a trusted network anyway",
                config.listen
            ));
        }
        if config.jwt_secret.is_some() {
            // Not an error (it lets `huddle token` mint more demo tokens), but a production
            // secret must not end up signing demo links by accident.
            eprintln!(
                "huddle: --dev is signing its demo links with HUDDLE_JWT_SECRET from the \
                 environment; do not use a production secret for a demo"
            );
        }
        // An ephemeral key unless HUDDLE_JWT_SECRET is set (then `huddle token` can mint more).
        let secret = config
            .jwt_secret
            .clone()
            .unwrap_or_else(huddle::auth::random_secret);
        let minter = Minter::new(
            TokenAlgorithm::Hs256,
            SignKey::Secret(secret.as_bytes()),
            &config.jwt_issuer,
            &config.jwt_audience,
        )?;
        config.jwt_secret = Some(secret);
        config.jwt_algorithm = None;
        Some(minter)
    } else {
        None
    };
    let scheme = if config.tls_cert.is_some() {
        "https"
    } else {
        "http"
    };
    let runtime = tokio::runtime::Runtime::new().map_err(|e| e.to_string())?;
    runtime.block_on(async move {
        let server = Server::start(config).await?;
        if let Some(minter) = dev_minter {
            print_dev_links(&minter, scheme, server.local_addr())?;
        }
        wait_for_signal().await;
        tracing::info!("shutting down");
        server.shutdown().await;
        Ok(())
    })
}

fn print_dev_links(minter: &Minter, scheme: &str, addr: SocketAddr) -> Result<(), String> {
    let people = [
        ("host", "Dr. Rivera", Role::Host),
        ("p1", "Alex", Role::Participant),
        ("p2", "Sam", Role::Participant),
        ("p3", "Jordan", Role::Participant),
    ];
    println!();
    println!("Huddle dev mode: an ephemeral key, everything in memory. Demo meeting \"demo\".");
    println!("Open each link in its own browser window (tokens last 8 hours):");
    println!();
    for (sub, name, role) in people {
        let token = minter.mint("demo", sub, name, role, Duration::from_secs(8 * 3600))?;
        println!("  {name} ({}):", role.as_str());
        println!("    {scheme}://{addr}/#token={token}");
    }
    println!();
    let ws = if scheme == "https" { "wss" } else { "ws" };
    println!("WebSocket endpoint: {ws}://{addr}/v1/ws (send {{\"type\":\"hello\",\"protocol\":1,\"token\":\"...\"}} first)");
    println!("More people: start dev mode with HUDDLE_JWT_SECRET set, then");
    println!("  HUDDLE_JWT_SECRET=... huddle token --meeting demo --role participant --sub p4 --name Casey");
    println!();
    Ok(())
}

async fn wait_for_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        if let Ok(mut term) = signal(SignalKind::terminate()) {
            tokio::select! {
                _ = term.recv() => {}
                _ = tokio::signal::ctrl_c() => {}
            }
            return;
        }
    }
    let _ = tokio::signal::ctrl_c().await;
}

fn token(args: TokenArgs) -> Result<(), String> {
    let role = parse_role(&args.role)?;
    let config = args.config.load()?;
    let algorithm = config.algorithm()?;
    let pem;
    let key = match (algorithm, &config.jwt_secret, &args.private_key) {
        (TokenAlgorithm::Hs256, Some(secret), _) => SignKey::Secret(secret.as_bytes()),
        (TokenAlgorithm::Hs256, None, _) => {
            return Err("set HUDDLE_JWT_SECRET to mint HS256 tokens".into())
        }
        (_, _, Some(path)) => {
            pem =
                std::fs::read(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
            SignKey::PrivatePem(&pem)
        }
        (_, _, None) => return Err("RS256/ES256/EdDSA tokens need --private-key".into()),
    };
    let minter = Minter::new(algorithm, key, &config.jwt_issuer, &config.jwt_audience)?;
    if args.api {
        let scope = args.scope.unwrap_or_default();
        for s in scope.split_whitespace() {
            if !huddle::server::api::SCOPES.contains(&s) {
                return Err(format!(
                    "unknown scope {s:?}: {}",
                    huddle::server::api::SCOPES.join(", ")
                ));
            }
        }
        let token = minter.mint_api(&config.api_audience, &args.sub, &scope, args.ttl)?;
        println!("{token}");
        return Ok(());
    }
    let meeting = args.meeting.unwrap_or_default();
    if !huddle::auth::valid_meeting_id(&meeting) {
        return Err("meeting ids are 1-128 characters of A-Z a-z 0-9 . _ : -".into());
    }
    let name = args.name.unwrap_or_default();
    println!(
        "{}",
        minter.mint(&meeting, &args.sub, &name, role, args.ttl)?
    );
    Ok(())
}

fn write_schema(out: &std::path::Path) -> Result<(), String> {
    std::fs::create_dir_all(out).map_err(|e| e.to_string())?;
    for (name, text) in huddle::schema::generate() {
        let path = out.join(name);
        std::fs::write(&path, text).map_err(|e| format!("{}: {e}", path.display()))?;
        println!("wrote {}", path.display());
    }
    // The server API's OpenAPI document sits beside the schema directory (proto/openapi.json).
    let path = out
        .parent()
        .unwrap_or(std::path::Path::new("."))
        .join("openapi.json");
    std::fs::write(&path, huddle::server::api::openapi_json())
        .map_err(|e| format!("{}: {e}", path.display()))?;
    println!("wrote {}", path.display());
    Ok(())
}
