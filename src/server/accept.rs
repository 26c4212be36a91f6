//! The TCP accept loop, ours rather than `axum::serve`'s because that one has neither a time
//! limit on reading a request head nor a cap on connections: a client that connects and sends
//! nothing, or half a request, would hold a socket and a task for ever. Here every connection
//! takes a place under `max_http_connections` before a byte is read (a full hub closes the new
//! connection at once), and hyper closes one whose request head is not complete within
//! `header_timeout_ms`. A connection that upgrades to a WebSocket gives its place back: the socket
//! then counts under `max_connections` (and, until `hello`, `max_pending_hellos`). With
//! `tls_cert` and `tls_key` set, every connection is TLS (rustls), and its handshake has to
//! finish within `header_timeout_ms` too (then the request head gets its own).

use super::budget::{Metered, ReadBudget};
use crate::limits;
use axum::extract::ConnectInfo;
use axum::Router;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::Request;
use hyper_util::rt::{TokioIo, TokioTimer};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::sync::{watch, Semaphore};
use tokio_rustls::TlsAcceptor;

/// How long an HTTP connection still serving a request may finish it after shutdown begins.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(1);

/// Serves `app` on `listener` until `stop` turns true.
pub(super) async fn serve(
    listener: TcpListener,
    app: Router,
    max_connections: usize,
    header_timeout: Duration,
    tls: Option<TlsAcceptor>,
    mut stop: watch::Receiver<bool>,
) -> std::io::Result<()> {
    // Places for TCP connections that are not WebSockets (yet). A semaphore: a place is taken
    // without waiting and given back by dropping the permit, whichever way the connection ends.
    let places = Arc::new(Semaphore::new(max_connections.max(1)));
    loop {
        let accepted = tokio::select! {
            accepted = listener.accept() => Some(accepted),
            _ = stop.wait_for(|&s| s) => None,
        };
        let (tcp, peer) = match accepted {
            None => return Ok(()),
            Some(Ok(accepted)) => accepted,
            Some(Err(e)) => {
                // Out of file descriptors and the like: nothing to do for this one; give the
                // process a moment instead of spinning on the same error.
                tracing::warn!(error = %e, "accept failed");
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let Ok(place) = Arc::clone(&places).try_acquire_owned() else {
            tracing::debug!("http connection cap reached: connection closed");
            drop(tcp);
            continue;
        };
        // Small signaling frames must not wait for ACKs (Nagle): p99 latency depends on it.
        let _ = tcp.set_nodelay(true);
        let router = app.clone();
        let stop = stop.clone();
        let tls = tls.clone();
        tokio::spawn(async move {
            match tls {
                None => serve_connection(tcp, peer, router, header_timeout, stop).await,
                Some(acceptor) => {
                    // The TLS handshake is part of the request head's time budget.
                    match tokio::time::timeout(header_timeout, acceptor.accept(tcp)).await {
                        Ok(Ok(tls)) => {
                            serve_connection(tls, peer, router, header_timeout, stop).await
                        }
                        Ok(Err(e)) => tracing::debug!(error = %e, "tls handshake failed"),
                        Err(_) => tracing::debug!("tls handshake timed out"),
                    }
                }
            }
            drop(place);
        });
    }
}

/// Serves HTTP/1.1 (with upgrades) on one accepted connection, plain or TLS.
async fn serve_connection<I>(
    io: I,
    peer: SocketAddr,
    router: Router,
    header_timeout: Duration,
    mut stop: watch::Receiver<bool>,
) where
    I: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let budget = ReadBudget::unlimited();
    let io = Metered::new(io, Arc::clone(&budget));
    let service = hyper::service::service_fn(move |mut request: Request<Incoming>| {
        request.extensions_mut().insert(ConnectInfo(peer));
        // The WebSocket upgrade arms it: until `hello`, little may be read.
        request.extensions_mut().insert(Arc::clone(&budget));
        // A `Router` is always ready; calling it directly is what axum::serve does too.
        tower::Service::call(&mut router.clone(), request.map(axum::body::Body::new))
    });
    let mut builder = http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(header_timeout)
        // hyper reads ahead into this buffer; what it holds past the request head goes to the
        // WebSocket unmetered, so it must stay small (request heads are a few KiB).
        .max_buf_size(limits::MAX_REQUEST_HEAD_BYTES);
    let connection = builder
        .serve_connection(TokioIo::new(io), service)
        .with_upgrades();
    tokio::pin!(connection);
    // The whole HTTP phase has a deadline too: a client that sends requests and never reads the
    // answers would otherwise hold its place for ever (the head timeout covers reading only).
    // An upgrade ends this phase at once; the WebSocket then lives on its own.
    let deadline = tokio::time::sleep(limits::HTTP_CONNECTION_LIFETIME);
    tokio::pin!(deadline);
    let stopping = tokio::select! {
        result = connection.as_mut() => {
            if let Err(e) = result {
                tracing::debug!(error = %e, "http connection ended with an error");
            }
            false
        }
        _ = &mut deadline => {
            tracing::debug!("http connection past its lifetime: closed");
            false
        }
        _ = stop.wait_for(|&s| s) => true,
    };
    if stopping {
        // Finish the request in flight, briefly; a half-sent request does not hold shutdown up.
        connection.as_mut().graceful_shutdown();
        let _ = tokio::time::timeout(SHUTDOWN_GRACE, connection).await;
    }
}
