//! Webhooks: every meeting event POSTed to the partner's `webhook_url`, signed as Standard
//! Webhooks v1 defines (`webhook-id`, `webhook-timestamp`, `webhook-signature: v1,<base64
//! HMAC-SHA256 of "id.timestamp.body">`). At least once and in order: one delivery at a time,
//! retried with backoff under the same `webhook-id` until it succeeds; a 410 disables the
//! endpoint. The outbox is bounded; what it cannot take is dropped, counted and logged.
//! Bodies are the thin `{type, timestamp, data}` of the event log: opaque ids only.

use crate::events::Envelope;
use crate::limits;
use crate::metrics::Metrics;
use base64::Engine;
use hmac::{Hmac, Mac};
use serde::Serialize;
use sha2::Sha256;
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};
use tokio::sync::mpsc;

/// Where and how to deliver.
#[derive(Clone)]
pub struct WebhookConfig {
    pub url: String,
    /// The secret's bytes (after `whsec_` and base64).
    key: Vec<u8>,
}

impl std::fmt::Debug for WebhookConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WebhookConfig")
            .field("url", &self.url)
            .finish_non_exhaustive()
    }
}

impl WebhookConfig {
    /// Checks the URL (https, or http to a loopback address where local receivers live) and
    /// the secret (`whsec_` + base64 of 24–64 bytes).
    pub fn new(url: &str, secret: &str) -> Result<WebhookConfig, String> {
        let target = Target::parse(url)?;
        if !target.tls && !target.loopback() {
            return Err(format!(
                "webhook_url {url}: use https (plain http only to a loopback address)"
            ));
        }
        let key = secret
            .strip_prefix("whsec_")
            .and_then(|b| base64::engine::general_purpose::STANDARD.decode(b).ok())
            .filter(|k| (24..=64).contains(&k.len()))
            .ok_or("webhook_secret must be whsec_ followed by base64 of 24 to 64 random bytes")?;
        Ok(WebhookConfig {
            url: url.to_owned(),
            key,
        })
    }

    /// `v1,<base64 HMAC-SHA256 of "id.timestamp.body">`.
    pub fn sign(&self, id: &str, timestamp: u64, body: &str) -> String {
        let mut mac =
            Hmac::<Sha256>::new_from_slice(&self.key).expect("HMAC takes keys of any length");
        mac.update(format!("{id}.{timestamp}.{body}").as_bytes());
        let tag = base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes());
        format!("v1,{tag}")
    }
}

/// The outbox's sending end, held by the event log.
#[derive(Debug, Clone)]
pub struct Outbox {
    tx: mpsc::Sender<Envelope>,
    /// Deliveries and drops are counted here (`huddle_webhook_deliveries_total`).
    metrics: Arc<Metrics>,
}

impl Outbox {
    /// Starts the delivery task.
    pub fn start(config: WebhookConfig, metrics: Arc<Metrics>) -> Outbox {
        let (tx, rx) = mpsc::channel(limits::WEBHOOK_OUTBOX_LEN);
        tokio::spawn(deliver_all(config, rx, Arc::clone(&metrics)));
        Outbox { tx, metrics }
    }

    /// Queues `event`; if the outbox is full, drops it (counted, logged).
    pub fn push(&self, event: Envelope) {
        if self.tx.try_send(event).is_err() {
            self.metrics.webhook("dropped");
            tracing::warn!("webhook outbox full: event dropped (see GET /v1/events)");
        }
    }
}

#[derive(Serialize)]
struct Body<'a> {
    #[serde(rename = "type")]
    kind: &'a str,
    timestamp: &'a str,
    data: &'a serde_json::value::RawValue,
}

async fn deliver_all(
    config: WebhookConfig,
    mut rx: mpsc::Receiver<Envelope>,
    metrics: Arc<Metrics>,
) {
    let Ok(sender) = Sender::new(config, metrics) else {
        return;
    };
    while let Some(event) = rx.recv().await {
        let body = body_of(&event.kind, &event.timestamp, &event.data);
        if sender.deliver(&event.id, &body).await == Delivery::Gone {
            // Keep draining so the event log's pushes never block; deliver nothing.
            while rx.recv().await.is_some() {
                sender.metrics.webhook("dropped");
            }
            return;
        }
    }
}

/// The body of an event's webhook: `{type, timestamp, data}`.
pub fn body_of(kind: &str, timestamp: &str, data: &serde_json::value::RawValue) -> String {
    serde_json::to_string(&Body {
        kind,
        timestamp,
        data,
    })
    .unwrap_or_default()
}

/// How a delivery ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Delivery {
    Delivered,
    /// The endpoint answered 410 Gone: deliver nothing more.
    Gone,
}

/// Delivers events to the partner's endpoint, one at a time (the in-process outbox and cluster
/// mode's outbox in Redis both use it).
pub struct Sender {
    config: WebhookConfig,
    target: Target,
    metrics: Arc<Metrics>,
}

impl Sender {
    pub fn new(config: WebhookConfig, metrics: Arc<Metrics>) -> Result<Sender, String> {
        let target = Target::parse(&config.url)?;
        Ok(Sender {
            config,
            target,
            metrics,
        })
    }

    /// POSTs one event until the endpoint takes it (2xx) or answers 410, with backoff between
    /// attempts and the same `webhook-id` every time.
    pub async fn deliver(&self, id: &str, body: &str) -> Delivery {
        let mut attempt = 0usize;
        loop {
            let timestamp = SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map(|d| d.as_secs())
                .unwrap_or(0);
            let signature = self.config.sign(id, timestamp, body);
            let headers = [
                ("webhook-id", id),
                ("webhook-timestamp", &timestamp.to_string()),
                ("webhook-signature", &signature),
            ]
            .map(|(k, v)| (k, v.to_owned()));
            let outcome =
                tokio::time::timeout(limits::WEBHOOK_TIMEOUT, self.target.post(&headers, body))
                    .await;
            match outcome {
                Ok(Ok(status)) if (200..300).contains(&status) => {
                    self.metrics.webhook("delivered");
                    return Delivery::Delivered;
                }
                Ok(Ok(410)) => {
                    tracing::warn!("webhook endpoint answered 410 Gone: webhooks disabled");
                    self.metrics.webhook("disabled");
                    return Delivery::Gone;
                }
                other => {
                    self.metrics.webhook("failed");
                    let why = match other {
                        Ok(Ok(status)) => format!("HTTP {status}"),
                        Ok(Err(e)) => e,
                        Err(_) => "timed out".into(),
                    };
                    let wait =
                        limits::WEBHOOK_BACKOFF[attempt.min(limits::WEBHOOK_BACKOFF.len() - 1)];
                    tracing::info!(id, attempt, error = why, retry_in = ?wait, "webhook delivery failed");
                    attempt += 1;
                    tokio::time::sleep(wait).await;
                }
            }
        }
    }

    pub fn metrics(&self) -> &Metrics {
        &self.metrics
    }
}

/// Where webhooks go, parsed once with `http::Uri`.
#[derive(Debug, Clone)]
struct Target {
    tls: bool,
    host: String,
    port: u16,
    uri: axum::http::Uri,
}

impl Target {
    fn parse(url: &str) -> Result<Target, String> {
        let uri: axum::http::Uri = url.parse().map_err(|e| format!("webhook_url {url}: {e}"))?;
        let tls = match uri.scheme_str() {
            Some("https") => true,
            Some("http") => false,
            _ => return Err(format!("webhook_url {url}: not an http(s) URL")),
        };
        let host = uri
            .host()
            .ok_or_else(|| format!("webhook_url {url}: no host"))?
            .trim_start_matches('[')
            .trim_end_matches(']')
            .to_owned();
        let port = uri.port_u16().unwrap_or(if tls { 443 } else { 80 });
        Ok(Target {
            tls,
            host,
            port,
            uri,
        })
    }

    fn loopback(&self) -> bool {
        self.host == "localhost"
            || self
                .host
                .parse::<std::net::IpAddr>()
                .is_ok_and(|ip| ip.is_loopback())
    }

    /// One POST over a fresh connection (hyper's HTTP/1 client); the response status.
    async fn post(&self, headers: &[(&str, String); 3], body: &str) -> Result<u16, String> {
        let target = self.uri.path_and_query().map_or("/", |p| p.as_str());
        let mut request = axum::http::Request::post(target)
            .header(
                axum::http::header::HOST,
                self.uri
                    .authority()
                    .map_or(self.host.as_str(), |a| a.as_str()),
            )
            .header(axum::http::header::CONTENT_TYPE, "application/json")
            .header(axum::http::header::USER_AGENT, "huddle-webhooks");
        for (k, v) in headers {
            request = request.header(*k, v);
        }
        let request = request.body(body.to_owned()).map_err(|e| e.to_string())?;
        let tcp = tokio::net::TcpStream::connect((self.host.as_str(), self.port))
            .await
            .map_err(|e| e.to_string())?;
        if !self.tls {
            return send(tcp, request).await;
        }
        let mut roots = tokio_rustls::rustls::RootCertStore::empty();
        roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
        let provider = Arc::new(tokio_rustls::rustls::crypto::ring::default_provider());
        let tls = tokio_rustls::rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| e.to_string())?
            .with_root_certificates(roots)
            .with_no_client_auth();
        let name =
            rustls_pki_types::ServerName::try_from(self.host.clone()).map_err(|e| e.to_string())?;
        let stream = tokio_rustls::TlsConnector::from(Arc::new(tls))
            .connect(name, tcp)
            .await
            .map_err(|e| e.to_string())?;
        send(stream, request).await
    }
}

/// Sends `request` over `stream` with hyper's HTTP/1 client; the response status.
async fn send<S>(stream: S, request: axum::http::Request<String>) -> Result<u16, String>
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    Ok(exchange(stream, request).await?.status().as_u16())
}

/// One HTTP/1 request over `stream` (hyper's client; also cluster mode's API forwarding): the
/// response, its body still to read.
pub(crate) async fn exchange<S, B>(
    stream: S,
    request: axum::http::Request<B>,
) -> Result<axum::http::Response<hyper::body::Incoming>, String>
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
    B: hyper::body::Body + Send + 'static,
    B::Data: Send,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    let (mut sender, connection) =
        hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream))
            .await
            .map_err(|e| e.to_string())?;
    // The connection task ends when the exchange is over: the response's body read through,
    // or dropped (a timeout).
    tokio::spawn(connection);
    sender
        .send_request(request)
        .await
        .map_err(|e| e.to_string())
}
