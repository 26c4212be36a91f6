//! Hub configuration: defaults, then a TOML file, then `HUDDLE_*` environment variables, then
//! command-line flags (each later layer wins). Also turns the JWT settings into a [`Verifier`].

use crate::auth::{TokenAlgorithm, Verifier, VerifyKey};
use crate::limits;
use crate::meeting::MeetingConfig;
use crate::protocol::{IceServer, IceTransportPolicy, MediaMode};
use crate::pseudonym::Pseudonyms;
use ipnet::IpNet;
use serde::{Deserialize, Serialize};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

/// Everything a running hub is configured with. Field names are the TOML keys.
#[derive(Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// host:port to listen on (env `HUDDLE_LISTEN`).
    pub listen: SocketAddr,
    /// host:port of a separate listener for `GET /metrics` (env `HUDDLE_METRICS_LISTEN`), so
    /// it stays off the public address. Unset: `/metrics` is served on `listen`.
    pub metrics_listen: Option<SocketAddr>,
    /// HS256 shared secret, at least 32 bytes (env `HUDDLE_JWT_SECRET`).
    pub jwt_secret: Option<String>,
    /// Path to the partner's public key PEM for RS256/ES256/EdDSA (env `HUDDLE_JWT_PUBLIC_KEY`).
    pub jwt_public_key: Option<PathBuf>,
    /// `HS256`, `RS256`, `ES256` or `EdDSA` (env `HUDDLE_JWT_ALGORITHM`). Defaults to HS256 with a
    /// secret; required with a public key.
    pub jwt_algorithm: Option<String>,
    /// Required `iss` claim (env `HUDDLE_JWT_ISSUER`).
    pub jwt_issuer: String,
    /// Required `aud` claim (env `HUDDLE_JWT_AUDIENCE`).
    pub jwt_audience: String,
    /// Required `aud` claim of server API tokens (env `HUDDLE_API_AUDIENCE`); must differ from
    /// `jwt_audience`, so a client token never opens the API nor an API token a meeting.
    pub api_audience: String,
    /// Where meeting events are POSTed (env `HUDDLE_WEBHOOK_URL`): https, or http to a
    /// loopback address. Unset: no webhooks.
    pub webhook_url: Option<String>,
    /// `whsec_` + base64 of 24–64 random bytes (env `HUDDLE_WEBHOOK_SECRET`), the Standard
    /// Webhooks signing key. Required with `webhook_url`.
    pub webhook_secret: Option<String>,
    /// How long a meeting's attendance stays readable through the API after it ended, seconds
    /// (env `HUDDLE_ATTENDANCE_RETENTION_SECS`). Memory only, never on disk.
    pub attendance_retention_secs: u64,
    /// Clock skew allowed on `exp`/`nbf`, seconds, at most 30.
    pub jwt_leeway_secs: u64,
    /// Key for the pseudonyms of people in join and audit log lines (HMAC of `sub`), at least
    /// 16 bytes. Unset: a random key per process (pseudonyms then change on restart).
    pub audit_key: Option<String>,
    /// Longest token lifetime accepted (`exp − iat`, or `exp − now` without `iat`), seconds;
    /// 0: no limit.
    pub max_token_lifetime_secs: u64,
    /// TLS certificate chain (PEM) and private key (PEM): set both to serve HTTPS/WSS directly.
    pub tls_cert: Option<PathBuf>,
    pub tls_key: Option<PathBuf>,
    /// Directory served at `/` (the reference web client).
    pub web_root: PathBuf,
    /// ICE servers handed to clients in `welcome`.
    pub ice_servers: Vec<IceServer>,
    /// TURN server URLs (`turn:host:3478?transport=udp`, `turns:…`) whose credentials each
    /// person gets in `welcome`, minted with `turn_secret` (env `HUDDLE_TURN_URLS`, comma
    /// separated).
    pub turn_urls: Vec<String>,
    /// coturn's `static-auth-secret` (`use-auth-secret`), at least 16 bytes (env
    /// `HUDDLE_TURN_SECRET`). Unset: no TURN credentials are minted.
    pub turn_secret: Option<String>,
    /// How long minted TURN credentials hold, seconds: longer than the longest session, since
    /// a TURN allocation is refreshed with the same credentials (env `HUDDLE_TURN_TTL_SECS`).
    pub turn_ttl_secs: u64,
    /// Cluster mode (`HUDDLE_REDIS_URL`): the Redis that holds which node owns which meeting and
    /// what of a meeting outlives its node. Unset: one process, everything in memory.
    pub redis_url: Option<String>,
    /// This node's name in the cluster (`HUDDLE_NODE_ID`); random when unset.
    pub node_id: Option<String>,
    /// Shared by every node of a cluster, at least 16 bytes (`HUDDLE_CLUSTER_SECRET`); required
    /// in cluster mode. Proves a forwarded connection came from a node of ours.
    pub cluster_secret: Option<String>,
    /// How other nodes reach this one (`HUDDLE_CLUSTER_ADVERTISE`, `host:port`); defaults to
    /// `listen` (fine when that is not a wildcard address).
    pub cluster_advertise: Option<String>,
    /// How long a node's hold on a meeting lasts unless renewed (`HUDDLE_LEASE_MS`); renewed every
    /// third of it. After a node dies, its meetings move within about this long.
    pub lease_ms: u64,
    /// `all` or `relay` (TURN only: no participant learns another's IP address), handed to
    /// clients in `welcome` and obeyed by the SDK.
    pub ice_transport_policy: IceTransportPolicy,
    /// Cap on open WebSocket connections; more are refused with HTTP 503.
    pub max_connections: usize,
    /// Cap on open sockets from one client address (IPv6: one /64); more get HTTP 429.
    pub max_connections_per_ip: usize,
    /// Cap on TCP connections that are not (yet) WebSockets; more are closed at once.
    pub max_http_connections: usize,
    /// Cap on WebSockets that have not said `hello` yet; more get HTTP 503.
    pub max_pending_hellos: usize,
    /// Of those, at most this many from one client address (IPv6: one /64); more get HTTP 429.
    pub max_pending_hellos_per_ip: usize,
    /// Time a TCP connection has to send a complete request head, milliseconds.
    pub header_timeout_ms: u64,
    /// Proxies (addresses or CIDR ranges) whose `X-Forwarded-For` headers are
    /// believed about the client's address. Empty: the TCP peer is the client.
    pub trusted_proxies: Vec<String>,
    /// CSP `frame-ancestors` of the reference UI: who may embed it in an iframe (`'self'`,
    /// `'none'`, or origins such as `https://app.partner.example`).
    pub frame_ancestors: String,
    /// Browser origins allowed to open the WebSocket (exact `scheme://host[:port]`). Empty: any.
    pub allowed_origins: Vec<String>,
    /// Cap on people per meeting.
    pub max_meeting_members: usize,
    /// Messages queued per connection before it is dropped as a slow consumer.
    pub outbound_queue_len: usize,
    /// Bytes queued per connection before it is dropped as a slow consumer.
    pub outbound_queue_bytes: usize,
    /// Time a new socket has to send `hello`, milliseconds.
    pub hello_timeout_ms: u64,
    /// Keepalive ping interval, milliseconds.
    pub ping_interval_ms: u64,
    /// Silence (no frame, no pong) after which a connection is dropped, milliseconds.
    pub idle_timeout_ms: u64,
    /// Seconds before a breakout timer ends that everyone gets the closing notice.
    pub breakout_warning_secs: u64,
    /// Seconds before a scheduled session's end that everyone gets `session_ending` (env
    /// `HUDDLE_SESSION_ENDING_WARNING_SECS`).
    pub session_ending_warning_secs: u64,
    /// `keep` (late joiners see a room's recent chat) or `none` (chat is delivered and not
    /// kept) for every meeting at its start (env `HUDDLE_CHAT_HISTORY`); hosts may change it.
    pub chat_history: crate::protocol::ChatHistory,
    /// A plain-text file with the group agreement every meeting starts with (env
    /// `HUDDLE_AGREEMENT_FILE`, at most 8 KiB): participants, mentors and observers accept it
    /// before they enter. Hosts may change it per meeting (`set_agreement`).
    pub agreement_file: Option<PathBuf>,
    /// Seconds a dropped connection's seat is held for `hello.resume` (0 turns resume off).
    pub resume_grace_secs: u64,
    /// Meetings start with the waiting room on (a host or cohost admits everyone else).
    pub waiting_room: bool,
    /// Participants who arrive before any host or cohost wait and are let in when one arrives.
    pub wait_for_host: bool,
    /// How meetings' media travels: `sfu` (through the hub: one connection per person, the
    /// hub's address only) or `mesh` (browser to browser).
    pub media_mode: MediaMode,
    /// The one UDP socket of the SFU, for every participant (ICE-lite). Port 0: any free port.
    pub rtc_listen: SocketAddr,
    /// The address put in the SFU's ICE candidate when the hub sits behind 1:1 NAT (a cloud
    /// VM's public IP); absent: `rtc_listen`'s address.
    pub rtc_public_ip: Option<std::net::IpAddr>,
    /// Per-connection token buckets: steady rate per second and burst size.
    pub chat_rate: u32,
    pub chat_burst: u32,
    pub signal_rate: u32,
    pub signal_burst: u32,
    pub data_rate: u32,
    pub data_burst: u32,
}

impl std::fmt::Debug for Config {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The secret never reaches a log line.
        f.debug_struct("Config")
            .field("listen", &self.listen)
            .field(
                "jwt_secret",
                &self.jwt_secret.as_ref().map(|_| "<redacted>"),
            )
            .field("audit_key", &self.audit_key.as_ref().map(|_| "<redacted>"))
            .field(
                "turn_secret",
                &self.turn_secret.as_ref().map(|_| "<redacted>"),
            )
            .field(
                "cluster_secret",
                &self.cluster_secret.as_ref().map(|_| "<redacted>"),
            )
            // A Redis URL may carry a password.
            .field("redis_url", &self.redis_url.as_ref().map(|_| "<redacted>"))
            .field("node_id", &self.node_id)
            .field(
                "webhook_secret",
                &self.webhook_secret.as_ref().map(|_| "<redacted>"),
            )
            .field("jwt_public_key", &self.jwt_public_key)
            .field("jwt_algorithm", &self.jwt_algorithm)
            .field("jwt_issuer", &self.jwt_issuer)
            .field("jwt_audience", &self.jwt_audience)
            .field("web_root", &self.web_root)
            .field("max_connections", &self.max_connections)
            .finish_non_exhaustive()
    }
}

impl Default for Config {
    fn default() -> Self {
        Config {
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            metrics_listen: None,
            jwt_secret: None,
            jwt_public_key: None,
            jwt_algorithm: None,
            jwt_issuer: "huddle".into(),
            jwt_audience: "huddle".into(),
            api_audience: "huddle-api".into(),
            attendance_retention_secs: limits::ATTENDANCE_RETENTION_SECS,
            webhook_url: None,
            webhook_secret: None,
            jwt_leeway_secs: 5,
            max_token_lifetime_secs: limits::MAX_TOKEN_LIFETIME_SECS,
            audit_key: None,
            web_root: default_web_root(),
            tls_cert: None,
            tls_key: None,
            ice_servers: Vec::new(),
            ice_transport_policy: IceTransportPolicy::All,
            turn_urls: Vec::new(),
            turn_secret: None,
            turn_ttl_secs: limits::TURN_TTL_SECS,
            redis_url: None,
            node_id: None,
            cluster_secret: None,
            cluster_advertise: None,
            lease_ms: limits::LEASE.as_millis() as u64,
            max_connections: limits::MAX_CONNECTIONS,
            max_connections_per_ip: limits::MAX_CONNECTIONS_PER_IP,
            max_http_connections: limits::MAX_HTTP_CONNECTIONS,
            max_pending_hellos: limits::MAX_PENDING_HELLOS,
            max_pending_hellos_per_ip: limits::MAX_PENDING_HELLOS_PER_IP,
            header_timeout_ms: limits::HEADER_TIMEOUT.as_millis() as u64,
            trusted_proxies: Vec::new(),
            allowed_origins: Vec::new(),
            frame_ancestors: "'self'".into(),
            max_meeting_members: limits::MAX_MEETING_MEMBERS,
            outbound_queue_len: limits::OUTBOUND_QUEUE_LEN,
            outbound_queue_bytes: limits::OUTBOUND_QUEUE_BYTES,
            hello_timeout_ms: limits::HELLO_TIMEOUT.as_millis() as u64,
            ping_interval_ms: limits::PING_INTERVAL.as_millis() as u64,
            idle_timeout_ms: limits::IDLE_TIMEOUT.as_millis() as u64,
            breakout_warning_secs: limits::BREAKOUT_WARNING_SECS,
            session_ending_warning_secs: limits::SESSION_ENDING_WARNING_SECS,
            chat_history: crate::protocol::ChatHistory::Keep,
            agreement_file: None,
            resume_grace_secs: limits::RESUME_GRACE_SECS,
            waiting_room: false,
            wait_for_host: true,
            media_mode: MediaMode::Sfu,
            rtc_listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            rtc_public_ip: None,
            chat_rate: limits::rates::CHAT_PER_SEC,
            chat_burst: limits::rates::CHAT_BURST,
            signal_rate: limits::rates::SIGNAL_PER_SEC,
            signal_burst: limits::rates::SIGNAL_BURST,
            data_rate: limits::rates::DATA_PER_SEC,
            data_burst: limits::rates::DATA_BURST,
        }
    }
}

/// `web-client/` next to the binary's sources when run from a checkout, else `./web-client`.
fn default_web_root() -> PathBuf {
    let checkout = PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/web-client"));
    if checkout.is_dir() {
        checkout
    } else {
        PathBuf::from("web-client")
    }
}

impl Config {
    /// Layers `file` (if any) and `overrides` (flags and env, already merged by clap) over the
    /// defaults.
    pub fn load(file: Option<&std::path::Path>, overrides: impl Serialize) -> Result<Self, String> {
        use figment::providers::{Format, Serialized, Toml};
        let mut fig = figment::Figment::from(Serialized::defaults(Config::default()));
        if let Some(path) = file {
            if !path.is_file() {
                return Err(format!("config file {} not found", path.display()));
            }
            fig = fig.merge(Toml::file(path));
        }
        fig.merge(Serialized::defaults(overrides))
            .extract()
            .map_err(|e| e.to_string())
    }

    /// The default group agreement's text, read from `agreement_file`.
    pub fn agreement(&self) -> Result<Option<String>, String> {
        let Some(path) = &self.agreement_file else {
            return Ok(None);
        };
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("agreement_file {}: {e}", path.display()))?;
        if text.len() > limits::MAX_AGREEMENT_BYTES {
            return Err(format!(
                "agreement_file {}: over 8 KiB ({} bytes)",
                path.display(),
                text.len()
            ));
        }
        Ok(Some(text).filter(|t| !t.trim().is_empty()))
    }

    /// Cluster mode's settings, when `redis_url` is set; `listen` is the bound address (the
    /// default for `cluster_advertise`).
    pub fn cluster(
        &self,
        listen: SocketAddr,
    ) -> Result<Option<crate::cluster::ClusterConfig>, String> {
        let Some(redis_url) = &self.redis_url else {
            return Ok(None);
        };
        let secret =
            match &self.cluster_secret {
                Some(secret) if secret.len() >= 16 => secret.clone(),
                Some(_) => return Err("cluster_secret: at least 16 bytes".into()),
                None => return Err(
                    "redis_url is set (cluster mode): also set cluster_secret, the same on every \
                     node"
                        .into(),
                ),
            };
        let node_id = self
            .node_id
            .clone()
            .unwrap_or_else(|| format!("node-{:08x}", rand::random::<u32>()));
        if node_id.is_empty() || node_id.contains(char::is_whitespace) {
            return Err("node_id: a name without spaces".into());
        }
        Ok(Some(crate::cluster::ClusterConfig {
            redis_url: redis_url.clone(),
            node_id,
            secret,
            advertise: self
                .cluster_advertise
                .clone()
                .unwrap_or_else(|| listen.to_string()),
            lease: self.lease(),
        }))
    }

    /// The TURN credential settings, if a TURN secret is set.
    pub fn turn(&self) -> Result<Option<crate::turn::TurnConfig>, String> {
        match &self.turn_secret {
            None if !self.turn_urls.is_empty() => Err(
                "turn_urls is set: also set turn_secret (coturn's static-auth-secret), or list \
                 a TURN server with fixed credentials in ice_servers"
                    .into(),
            ),
            None => Ok(None),
            Some(secret) => crate::turn::TurnConfig::new(
                self.turn_urls.clone(),
                secret.clone(),
                self.turn_ttl_secs,
            )
            .map(Some),
        }
    }

    /// The webhook settings, if webhooks are on.
    pub fn webhooks(&self) -> Result<Option<crate::webhooks::WebhookConfig>, String> {
        match (&self.webhook_url, &self.webhook_secret) {
            (None, _) => Ok(None),
            (Some(_), None) => Err("webhook_url is set: also set webhook_secret (whsec_…)".into()),
            (Some(url), Some(secret)) => crate::webhooks::WebhookConfig::new(url, secret).map(Some),
        }
    }

    /// Cluster mode: a meeting lease's length.
    pub fn lease(&self) -> Duration {
        Duration::from_millis(self.lease_ms.max(300))
    }

    pub fn header_timeout(&self) -> Duration {
        Duration::from_millis(self.header_timeout_ms.max(1))
    }

    /// `trusted_proxies` parsed: each an address (`10.0.0.5`) or a range (`10.0.0.0/8`).
    pub fn trusted_proxy_nets(&self) -> Result<Vec<IpNet>, String> {
        self.trusted_proxies
            .iter()
            .map(|p| {
                let p = p.trim();
                p.parse::<IpNet>()
                    .or_else(|_| p.parse::<std::net::IpAddr>().map(IpNet::from))
                    .map_err(|_| format!("trusted_proxies: {p:?} is not an address or CIDR range"))
            })
            .collect()
    }

    pub fn hello_timeout(&self) -> Duration {
        Duration::from_millis(self.hello_timeout_ms)
    }

    pub fn ping_interval(&self) -> Duration {
        Duration::from_millis(self.ping_interval_ms.max(10))
    }

    pub fn idle_timeout(&self) -> Duration {
        Duration::from_millis(self.idle_timeout_ms)
    }

    pub fn algorithm(&self) -> Result<TokenAlgorithm, String> {
        match (&self.jwt_algorithm, &self.jwt_public_key) {
            (Some(a), _) => TokenAlgorithm::parse(a)
                .ok_or_else(|| format!("unknown jwt_algorithm {a:?}: use HS256, RS256, ES256 or EdDSA")),
            (None, Some(_)) => Err("jwt_public_key is set: also set jwt_algorithm (HUDDLE_JWT_ALGORITHM) to RS256, ES256 or EdDSA".into()),
            (None, None) => Ok(TokenAlgorithm::Hs256),
        }
    }

    /// The TLS acceptor for `tls_cert` and `tls_key`, `None` when neither is set, or what is
    /// wrong with them.
    pub fn tls(&self) -> Result<Option<tokio_rustls::TlsAcceptor>, String> {
        use rustls_pki_types::pem::PemObject;
        use rustls_pki_types::{CertificateDer, PrivateKeyDer};
        use tokio_rustls::rustls;
        let (cert, key) = match (&self.tls_cert, &self.tls_key) {
            (None, None) => return Ok(None),
            (Some(cert), Some(key)) => (cert, key),
            _ => return Err("set both tls_cert and tls_key (or neither)".into()),
        };
        let chain = CertificateDer::pem_file_iter(cert)
            .and_then(|certs| certs.collect::<Result<Vec<_>, _>>())
            .map_err(|e| format!("tls_cert {}: {e}", cert.display()))?;
        if chain.is_empty() {
            return Err(format!("tls_cert {}: no certificate in it", cert.display()));
        }
        let key = PrivateKeyDer::from_pem_file(key)
            .map_err(|e| format!("tls_key {}: {e}", key.display()))?;
        let provider = std::sync::Arc::new(rustls::crypto::ring::default_provider());
        let mut server = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| format!("tls: {e}"))?
            .with_no_client_auth()
            .with_single_cert(chain, key)
            .map_err(|e| format!("tls: certificate and key do not fit: {e}"))?;
        server.alpn_protocols = vec![b"http/1.1".to_vec()];
        Ok(Some(tokio_rustls::TlsAcceptor::from(std::sync::Arc::new(
            server,
        ))))
    }

    /// The pseudonym key for log lines, or why the configured one is refused.
    pub fn pseudonyms(&self) -> Result<Pseudonyms, String> {
        match &self.audit_key {
            Some(key) if key.len() < 16 => Err("audit_key must be at least 16 bytes".into()),
            Some(key) => Ok(Pseudonyms::new(key.as_bytes())),
            None => Ok(Pseudonyms::random()),
        }
    }

    /// The settings every meeting starts with, in the core's units (milliseconds).
    pub fn meeting_config(&self) -> MeetingConfig {
        MeetingConfig {
            max_members: self.max_meeting_members,
            ice_servers: self.ice_servers.clone(),
            ice_transport_policy: self.ice_transport_policy,
            breakout_warning_ms: self.breakout_warning_secs.saturating_mul(1000),
            resume_grace_ms: self.resume_grace_secs.saturating_mul(1000),
            waiting_room: self.waiting_room,
            ended_meeting_memory_ms: limits::ENDED_MEETING_MEMORY_SECS * 1000,
            wait_for_host: self.wait_for_host,
            media_mode: self.media_mode,
            // Set per meeting from the running engine (`Directory`).
            sfu_instance: None,
            // Set by the server in cluster mode, from `cluster_secret`.
            resume_key: None,
            session_ending_warning_ms: self.session_ending_warning_secs.saturating_mul(1000),
            // Set by the server once `turn()` has checked the settings.
            turn: None,
            chat_history: self.chat_history,
            kind: crate::protocol::MeetingKind::Session,
            // Read by the server once `agreement()` has checked the file.
            agreement: None,
        }
    }

    /// Builds the token verifier, or says clearly what key configuration is missing.
    pub fn verifier(&self) -> Result<Verifier, String> {
        let algorithm = self.algorithm()?;
        let pem;
        let key = match (algorithm, &self.jwt_secret, &self.jwt_public_key) {
            (_, Some(_), Some(_)) => {
                return Err("set either HUDDLE_JWT_SECRET or HUDDLE_JWT_PUBLIC_KEY, not both".into())
            }
            (TokenAlgorithm::Hs256, Some(secret), None) => VerifyKey::Secret(secret.as_bytes()),
            (_, None, Some(path)) => {
                pem = std::fs::read(path)
                    .map_err(|e| format!("cannot read public key {}: {e}", path.display()))?;
                VerifyKey::PublicPem(&pem)
            }
            (_, None, None) => {
                return Err("no token key configured: set HUDDLE_JWT_SECRET (HS256) or \
                            HUDDLE_JWT_PUBLIC_KEY with HUDDLE_JWT_ALGORITHM, or run `huddle serve --dev` \
                            for a demo with an ephemeral key"
                    .into())
            }
            (_, Some(_), None) => {
                return Err("an asymmetric jwt_algorithm needs HUDDLE_JWT_PUBLIC_KEY, not a secret".into())
            }
        };
        Verifier::new(
            algorithm,
            key,
            &self.jwt_issuer,
            &self.jwt_audience,
            self.jwt_leeway_secs,
        )
        .and_then(|v| v.with_api_audience(&self.api_audience))
        .map(|v| v.with_max_lifetime(self.max_token_lifetime_secs))
    }
}
