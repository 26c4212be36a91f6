//! The network edge: binds the listener, routes HTTP (`/v1/ws`, `/healthz`, the web client at
//! `/`), caps connections, and hands each upgraded socket to [`connection`].

mod accept;
pub mod api;
mod budget;
use self::budget::ReadBudget;
mod client_addr;
mod connection;
mod forward;
pub mod hello;
mod web;

use crate::auth::Verifier;
use crate::config::Config;
use crate::limits;
use crate::media::{MediaConfig, MediaHub};
use crate::meeting::Directory;
use crate::protocol::MediaMode;
use axum::extract::{ConnectInfo, Request, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Extension;
use axum::Router;
use ipnet::IpNet;
use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::AtomicU64;
use std::sync::{Arc, Mutex};
use tokio::net::TcpListener;
use tokio::sync::{watch, Semaphore};
use tokio::task::JoinHandle;
use tokio_util::task::TaskTracker;
use tungstenite::handshake::derive_accept_key;
use tungstenite::protocol::WebSocketConfig;

/// State shared by every connection: read-mostly, cheap to clone behind an `Arc`.
pub(crate) struct AppState {
    pub config: Config,
    pub verifier: Verifier,
    pub directory: Arc<Directory>,
    /// Caps open WebSocket connections: a permit is taken before the upgrade and held for the
    /// socket's life, so refusal is a cheap HTTP 503 instead of a half-made session.
    pub connection_permits: Arc<Semaphore>,
    /// Source of peer ids: unique for the process, never reused.
    pub next_peer: AtomicU64,
    /// Cluster mode: this node's part (kept alive here; the directory holds it weakly).
    pub cluster: Option<Arc<crate::cluster::Cluster>>,
    /// Flips to true on shutdown; every connection closes with 1001 (reconnectable).
    pub shutdown: watch::Receiver<bool>,
    /// Open sockets per client address (IPv6: per /64), and (`true` in the key) those of them
    /// that have not said `hello` yet. A std `Mutex`: held only to bump a counter, never across
    /// an `.await`.
    per_ip: Mutex<HashMap<(bool, IpAddr), usize>>,
    /// Sockets that have not said `hello` yet: a small budget of their own (see
    /// `limits::MAX_PENDING_HELLOS`); the permit is dropped when the hello phase ends.
    pub pending_hellos: Arc<Semaphore>,
    /// Proxies whose forwarding headers name the client (`trusted_proxies`).
    trusted_proxies: Vec<IpNet>,
    /// Every WebSocket task (they run detached from the HTTP connection that upgraded): on
    /// shutdown the hub waits, bounded, until each has sent its 1001 and ended.
    tasks: TaskTracker,
}

/// One socket's place in a per-address count; gives it back when dropped.
pub(crate) struct IpSlot {
    state: Arc<AppState>,
    key: (bool, IpAddr),
}

impl Drop for IpSlot {
    fn drop(&mut self) {
        let mut counts = self.state.per_ip.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(n) = counts.get_mut(&self.key) {
            *n -= 1;
            if *n == 0 {
                counts.remove(&self.key);
            }
        }
    }
}

impl AppState {
    /// A place for one socket of `ip` (`pre_hello`: among its sockets that have not said
    /// `hello`, at most `max_pending_hellos_per_ip`).
    fn take_ip_slot(self: &Arc<Self>, ip: IpAddr, pre_hello: bool) -> Option<IpSlot> {
        let key = (pre_hello, client_addr::ip_key(ip));
        let max = if pre_hello {
            self.config.max_pending_hellos_per_ip
        } else {
            self.config.max_connections_per_ip
        };
        let mut counts = self.per_ip.lock().unwrap_or_else(|e| e.into_inner());
        let n = counts.entry(key).or_insert(0);
        if *n >= max {
            return None;
        }
        *n += 1;
        Some(IpSlot {
            state: Arc::clone(self),
            key,
        })
    }

    /// Browsers send `Origin`; when an allowlist is configured, a foreign one is refused before
    /// the upgrade. Clients without `Origin` (servers, native apps) are not browsers and pass.
    fn origin_allowed(&self, headers: &HeaderMap) -> bool {
        if self.config.allowed_origins.is_empty() {
            return true;
        }
        match headers.get(header::ORIGIN).and_then(|o| o.to_str().ok()) {
            None => true,
            Some(origin) => self.config.allowed_origins.iter().any(|a| a == origin),
        }
    }
}

/// The SFU's counters (packets, connections; nothing about anyone), for the load generator.
async fn media_stats(media: Option<MediaHub>) -> axum::response::Response {
    use axum::response::IntoResponse;
    match media {
        Some(hub) => {
            let mut body = hub.stats().snapshot();
            body["hub_latency"] = serde_json::json!(hub.latency().await);
            (
                [(header::CONTENT_TYPE, "application/json")],
                body.to_string(),
            )
                .into_response()
        }
        None => (StatusCode::NOT_FOUND, "media goes peer to peer (mesh)\n").into_response(),
    }
}

/// Readiness for a load balancer: 503 while shutting down or if the SFU engine has stopped
/// (its thread ends only on a fatal error), so traffic goes elsewhere; `/healthz` stays the
/// process's liveness.
async fn readyz(State(state): State<Arc<AppState>>) -> Response {
    let why = if *state.shutdown.borrow() {
        Some("shutting down")
    } else if state.directory.media().is_some_and(|m| !m.is_running()) {
        Some("media engine stopped")
    } else if state.cluster.as_ref().is_some_and(|c| !c.healthy()) {
        Some("redis unreachable")
    } else {
        None
    };
    let status = if why.is_some() {
        StatusCode::SERVICE_UNAVAILABLE
    } else {
        StatusCode::OK
    };
    let body = serde_json::json!({
        "ready": why.is_none(),
        "reason": why,
        "node_id": state.cluster.as_ref().map(|c| c.node_id()),
    });
    (
        status,
        [(header::CONTENT_TYPE, "application/json")],
        body.to_string(),
    )
        .into_response()
}

/// `GET /metrics`: every metric in the Prometheus text format, gauges read now.
async fn scrape(State(state): State<Arc<AppState>>) -> Response {
    let metrics = state.directory.metrics();
    let open = state
        .config
        .max_connections
        .saturating_sub(state.connection_permits.available_permits());
    metrics.connections.set(open as i64);
    metrics.meetings.set(state.directory.len() as i64);
    if let Some(cluster) = &state.cluster {
        metrics.owned_meetings.set(cluster.owned_count() as i64);
    }
    (
        [(
            header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        metrics.encode(),
    )
        .into_response()
}

/// A running hub.
pub struct Server {
    addr: SocketAddr,
    shutdown: watch::Sender<bool>,
    task: JoinHandle<std::io::Result<()>>,
    directory: Arc<Directory>,
    tasks: TaskTracker,
}

impl Server {
    /// Binds `config.listen` (port 0 picks a free port) and starts serving.
    pub async fn start(config: Config) -> Result<Server, String> {
        let verifier = config.verifier()?;
        let listener = TcpListener::bind(config.listen)
            .await
            .map_err(|e| format!("cannot listen on {}: {e}", config.listen))?;
        Self::start_on(listener, config, verifier).await
    }

    /// Serves on an already bound listener with a ready verifier.
    pub async fn start_on(
        listener: TcpListener,
        config: Config,
        verifier: Verifier,
    ) -> Result<Server, String> {
        let addr = listener.local_addr().map_err(|e| e.to_string())?;
        let (shutdown_tx, shutdown_rx) = watch::channel(false);
        let media = match config.media_mode {
            MediaMode::Sfu => Some(MediaHub::start(MediaConfig {
                listen: config.rtc_listen,
                public_ip: config.rtc_public_ip,
            })?),
            MediaMode::Mesh => None,
        };
        let metrics = Arc::new(crate::metrics::Metrics::new());
        let mut events = crate::events::Events::new(std::time::Duration::from_secs(
            config.attendance_retention_secs,
        ));
        let webhooks = config.webhooks()?;
        let cluster_config = config.cluster(addr)?;
        if webhooks.is_some() {
            tracing::info!("webhooks on");
        }
        // In cluster mode the outbox is a Redis stream, started with the cluster below.
        if let (Some(webhooks), None) = (&webhooks, &cluster_config) {
            events = events.with_webhooks(crate::webhooks::Outbox::start(
                webhooks.clone(),
                Arc::clone(&metrics),
            ));
        }
        let mut meeting_config = config.meeting_config();
        meeting_config.turn = config.turn()?.map(Arc::new);
        meeting_config.agreement = config.agreement()?;
        if let Some(cluster) = &cluster_config {
            // Any node that takes a meeting over can check its resume tokens.
            meeting_config.resume_key =
                Some(crate::meeting::ResumeKey::derive(cluster.secret.as_bytes()));
        }
        let directory = Directory::new(
            meeting_config,
            Arc::new(config.pseudonyms()?),
            media.clone(),
            Arc::new(events),
            Arc::clone(&metrics),
        );
        // Cluster mode: this node's part, before anyone can join.
        let cluster = match cluster_config {
            Some(cluster) => {
                let cluster =
                    crate::cluster::Cluster::start(cluster, Arc::clone(&directory)).await?;
                cluster.share_events(webhooks)?;
                directory.set_cluster(&cluster);
                Some(cluster)
            }
            None => None,
        };
        let first_peer = cluster.as_ref().map_or(1, |c| c.first_peer_id());
        let trusted_proxies = config.trusted_proxy_nets()?;
        let tls = config.tls()?;
        let tasks = TaskTracker::new();
        let max_http = config.max_http_connections;
        let header_timeout = config.header_timeout();
        let state = Arc::new(AppState {
            connection_permits: Arc::new(Semaphore::new(config.max_connections)),
            pending_hellos: Arc::new(Semaphore::new(config.max_pending_hellos.max(1))),
            trusted_proxies,
            tasks: tasks.clone(),
            verifier,
            directory: Arc::clone(&directory),
            next_peer: AtomicU64::new(first_peer),
            cluster: cluster.clone(),
            shutdown: shutdown_rx.clone(),
            per_ip: Mutex::new(HashMap::new()),
            config,
        });
        let files = web::routes(&state.config.web_root, &state.config.frame_ancestors)?;
        // `/metrics` on its own listener when `metrics_listen` is set (operators keep it off
        // the public address), else beside everything else.
        let metrics_route = Router::new()
            .route("/metrics", get(scrape))
            .with_state(Arc::clone(&state));
        let metrics_task = match state.config.metrics_listen {
            Some(listen) => {
                let listener = TcpListener::bind(listen)
                    .await
                    .map_err(|e| format!("cannot listen on {listen} for metrics: {e}"))?;
                let mut shutdown = shutdown_rx.clone();
                tracing::info!(addr = %listen, "metrics listening");
                Some(tokio::spawn(async move {
                    let _ = axum::serve(listener, metrics_route)
                        .with_graceful_shutdown(async move {
                            let _ = shutdown.wait_for(|&s| s).await;
                        })
                        .await;
                }))
            }
            None => None,
        };
        let app = Router::new()
            .route("/v1/ws", get(upgrade))
            .route("/healthz", get(|| async { "ok\n" }))
            .route("/readyz", get(readyz))
            .route("/debug/media", get(move || media_stats(media.clone())))
            .route("/favicon.ico", get(|| async { StatusCode::NO_CONTENT }))
            .merge(api::routes(Arc::clone(&state)))
            .merge(files)
            .with_state(Arc::clone(&state));
        let app = if metrics_task.is_none() {
            app.route("/metrics", get(scrape).with_state(state))
        } else {
            app
        };
        let task = tokio::spawn(accept::serve(
            listener,
            app,
            max_http,
            header_timeout,
            tls,
            shutdown_rx,
        ));
        tracing::info!(%addr, "huddle listening");
        Ok(Server {
            addr,
            shutdown: shutdown_tx,
            task,
            directory,
            tasks,
        })
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// Meetings with a running actor (for tests and health).
    pub fn meeting_count(&self) -> usize {
        self.directory.len()
    }

    /// Tells every client to reconnect elsewhere (close 1001), stops listening, and waits
    /// (at most [`limits::SHUTDOWN_DRAIN`]) until every WebSocket task has closed its socket.
    pub async fn shutdown(self) {
        let _ = self.shutdown.send(true);
        // Cluster mode: hand every meeting over first (records written, leases given up,
        // members closed with 4108 so that they resume at once on another node).
        if let Some(cluster) = self.directory.cluster() {
            cluster.drain().await;
        }
        self.directory.shut_down();
        let _ = self.task.await;
        self.tasks.close();
        if tokio::time::timeout(limits::SHUTDOWN_DRAIN, self.tasks.wait())
            .await
            .is_err()
        {
            tracing::warn!(
                left = self.tasks.len(),
                "shutdown: connections still open after the drain time"
            );
        }
    }
}

async fn upgrade(
    State(state): State<Arc<AppState>>,
    ConnectInfo(client): ConnectInfo<SocketAddr>,
    budget: Option<Extension<Arc<ReadBudget>>>,
    mut request: Request,
) -> Response {
    let headers = request.headers().clone();
    let key = match handshake_key(&request) {
        Ok(key) => key,
        Err(refusal) => return refusal.into_response(),
    };
    // hyper's handle on the connection, which yields the raw socket once the 101 is sent.
    let Some(on_upgrade) = request
        .extensions_mut()
        .remove::<hyper::upgrade::OnUpgrade>()
    else {
        return (
            StatusCode::UPGRADE_REQUIRED,
            "not an upgradable connection\n",
        )
            .into_response();
    };
    if *state.shutdown.borrow() {
        // Shutting down: no new WebSocket (its task could outlive the drain).
        return (StatusCode::SERVICE_UNAVAILABLE, "shutting down\n").into_response();
    }
    if !state.origin_allowed(&headers) {
        return (StatusCode::FORBIDDEN, "origin not allowed\n").into_response();
    }
    // Cluster mode: a connection another node of ours forwarded (it proves so with the cluster
    // secret) is its client's, at the address that node saw.
    let forwarded = state
        .directory
        .cluster()
        .zip(headers.get(connection::FORWARDED_HEADER))
        .is_some_and(|(cluster, proof)| proof.to_str().is_ok_and(|p| cluster.verify(p)));
    let client = if forwarded {
        headers
            .get("x-forwarded-for")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or(client.ip())
    } else {
        client_addr::client_ip(client.ip(), &headers, &state.trusted_proxies)
    };
    let Some(slot) = state.take_ip_slot(client, false) else {
        return (
            StatusCode::TOO_MANY_REQUESTS,
            "too many connections from this address\n",
        )
            .into_response();
    };
    let Ok(permit) = Arc::clone(&state.connection_permits).try_acquire_owned() else {
        return (StatusCode::SERVICE_UNAVAILABLE, "server full\n").into_response();
    };
    // Before hello, an address gets only its share of the pre-hello places (a few addresses must
    // not take them all), then one of the places themselves.
    let Some(hello_slot) = state.take_ip_slot(client, true) else {
        return (
            StatusCode::TOO_MANY_REQUESTS,
            "too many connections from this address waiting to say hello\n",
        )
            .into_response();
    };
    let Ok(hello_place) = Arc::clone(&state.pending_hellos).try_acquire_owned() else {
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            "too many connections waiting to say hello\n",
        )
            .into_response();
    };
    let config = WebSocketConfig::default()
        .read_buffer_size(limits::READ_BUFFER_BYTES)
        .write_buffer_size(limits::WRITE_BUFFER_BYTES)
        .max_message_size(Some(limits::HARD_FRAME_BYTES))
        .max_frame_size(Some(limits::HARD_FRAME_BYTES));
    let budget = budget
        .map(|Extension(b)| b)
        .unwrap_or_else(ReadBudget::unlimited);
    let tasks = state.tasks.clone();
    tasks.spawn(connection::serve(Box::new(connection::Upgrade {
        on_upgrade,
        config,
        state,
        places: (permit, slot),
        hello: (hello_place, hello_slot, budget),
        forwarded,
        client,
    })));
    Response::builder()
        .status(StatusCode::SWITCHING_PROTOCOLS)
        .header(header::CONNECTION, "upgrade")
        .header(header::UPGRADE, "websocket")
        .header(
            header::SEC_WEBSOCKET_ACCEPT,
            derive_accept_key(key.as_bytes()),
        )
        .body(axum::body::Body::empty())
        .unwrap_or_else(|_| StatusCode::INTERNAL_SERVER_ERROR.into_response())
}

/// Checks a WebSocket handshake request (RFC 6455 §4.2.1) and returns its key. Our own check
/// rather than axum's extractor because the connection needs the raw socket, which axum's
/// `WebSocket` does not give back; the refusals are the same.
fn handshake_key(request: &Request) -> Result<String, (StatusCode, &'static str)> {
    let bad = |why: &'static str| (StatusCode::BAD_REQUEST, why);
    if request.method() != axum::http::Method::GET {
        return Err((
            StatusCode::METHOD_NOT_ALLOWED,
            "websocket upgrades use GET\n",
        ));
    }
    let headers = request.headers();
    let has_token = |name: header::HeaderName, token: &str| {
        headers.get_all(name).iter().any(|v| {
            v.to_str()
                .is_ok_and(|v| v.split(',').any(|t| t.trim().eq_ignore_ascii_case(token)))
        })
    };
    if !has_token(header::CONNECTION, "upgrade") {
        return Err(bad("Connection header did not include 'upgrade'\n"));
    }
    if !has_token(header::UPGRADE, "websocket") {
        return Err(bad("Upgrade header did not include 'websocket'\n"));
    }
    if headers
        .get(header::SEC_WEBSOCKET_VERSION)
        .map(|v| v.as_bytes())
        != Some(b"13")
    {
        return Err(bad("Sec-WebSocket-Version header did not include '13'\n"));
    }
    match headers
        .get(header::SEC_WEBSOCKET_KEY)
        .and_then(|k| k.to_str().ok())
    {
        Some(key) if !key.is_empty() => Ok(key.to_owned()),
        _ => Err(bad("Sec-WebSocket-Key header missing\n")),
    }
}
