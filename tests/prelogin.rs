//! Before login: what a client without a token can hold. Each test fails on a hub without the
//! limit (the connection would stay open, or the upgrade would succeed): a request head that
//! never completes is cut off, TCP connections that never upgrade are capped, sockets that have
//! not said `hello` have a small budget of their own, and the per-address cap believes forwarding
//! headers only from a trusted proxy.

mod common;

use common::*;
use huddle::protocol::Role;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

/// Reads until the hub closes the TCP connection; fails at the deadline.
async fn expect_eof(tcp: &mut TcpStream) {
    let mut buf = [0u8; 1024];
    let closed = async {
        loop {
            match tcp.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(_) => continue,
            }
        }
    };
    tokio::time::timeout(DEADLINE, closed)
        .await
        .expect("the hub closed the connection");
}

fn tcp_addr(hub: &TestServer) -> String {
    hub.url
        .trim_start_matches("ws://")
        .trim_end_matches("/v1/ws")
        .to_owned()
}

/// The HTTP status of a refused upgrade (panics if it was accepted).
async fn upgrade_status(hub: &TestServer, forwarded_for: Option<&str>) -> Option<u16> {
    let mut request = hub.url.as_str().into_client_request().unwrap();
    if let Some(ip) = forwarded_for {
        request
            .headers_mut()
            .insert("x-forwarded-for", ip.parse().unwrap());
    }
    match tokio_tungstenite::connect_async(request).await {
        Ok(_) => None,
        Err(tokio_tungstenite::tungstenite::Error::Http(response)) => {
            Some(response.status().as_u16())
        }
        Err(other) => panic!("upgrade failed oddly: {other}"),
    }
}

#[tokio::test]
async fn half_a_request_head_is_cut_off() {
    let hub = start_server_with(|c| c.header_timeout_ms = 200).await;
    let mut silent = TcpStream::connect(tcp_addr(&hub)).await.unwrap();
    expect_eof(&mut silent).await;
    let mut half = TcpStream::connect(tcp_addr(&hub)).await.unwrap();
    half.write_all(b"GET /v1/ws HTTP/1.1\r\nHost: hub\r\n")
        .await
        .unwrap();
    expect_eof(&mut half).await;
    // People still get in.
    hub.join("m", "a", Role::Participant).await;
}

#[tokio::test]
async fn tcp_connections_that_never_upgrade_are_capped() {
    let hub = start_server_with(|c| c.max_http_connections = 2).await;
    let _one = TcpStream::connect(tcp_addr(&hub)).await.unwrap();
    let two = TcpStream::connect(tcp_addr(&hub)).await.unwrap();
    let mut three = TcpStream::connect(tcp_addr(&hub)).await.unwrap();
    expect_eof(&mut three).await;
    // A place comes back when a connection ends.
    drop(two);
    let mut tries = 0;
    loop {
        let mut tcp = TcpStream::connect(tcp_addr(&hub)).await.unwrap();
        tcp.write_all(b"GET /healthz HTTP/1.1\r\nHost: hub\r\n\r\n")
            .await
            .unwrap();
        let mut buf = [0u8; 64];
        let n = tcp.read(&mut buf).await.unwrap_or(0);
        if buf[..n].starts_with(b"HTTP/1.1 200") {
            break;
        }
        tries += 1;
        assert!(tries < 200, "the place never came back");
        tokio::task::yield_now().await;
    }
}

#[tokio::test]
async fn sockets_without_hello_have_a_small_budget_of_their_own() {
    let hub = start_server_with(|c| c.max_pending_hellos = 1).await;
    let mut quiet = connect(&hub.url).await;
    assert_eq!(upgrade_status(&hub, None).await, Some(503));
    // Saying hello gives the place back; members never count against it.
    quiet
        .hello(&hub.token("m", "q", "Q", Role::Participant))
        .await;
    quiet.recv_type("welcome").await;
    let mut tries = 0;
    while upgrade_status(&hub, None).await.is_some() {
        tries += 1;
        assert!(tries < 200, "the pre-hello place never came back");
        tokio::task::yield_now().await;
    }
    hub.join("m", "a", Role::Participant).await;
}

#[tokio::test]
async fn forwarded_addresses_count_only_behind_a_trusted_proxy() {
    // Not trusted: the header is ignored, everyone is 127.0.0.1.
    let hub = start_server_with(|c| c.max_connections_per_ip = 1).await;
    let _a = connect(&hub.url).await;
    assert_eq!(upgrade_status(&hub, Some("203.0.113.7")).await, Some(429));

    // Behind a trusted proxy (127.0.0.1 here), each forwarded client has its own count.
    let hub = start_server_with(|c| {
        c.max_connections_per_ip = 1;
        c.trusted_proxies = vec!["127.0.0.0/8".into()];
    })
    .await;
    let mut request = hub.url.as_str().into_client_request().unwrap();
    request
        .headers_mut()
        .insert("x-forwarded-for", "203.0.113.7".parse().unwrap());
    let _first = tokio_tungstenite::connect_async(request).await.unwrap();
    assert_eq!(upgrade_status(&hub, Some("198.51.100.2")).await, None);
    assert_eq!(upgrade_status(&hub, Some("203.0.113.7")).await, Some(429));
    // Two addresses in one IPv6 /64 are one client.
    let mut request = hub.url.as_str().into_client_request().unwrap();
    request
        .headers_mut()
        .insert("x-forwarded-for", "2001:db8:1:2::10".parse().unwrap());
    let _v6 = tokio_tungstenite::connect_async(request).await.unwrap();
    assert_eq!(
        upgrade_status(&hub, Some("2001:db8:1:2:ffff::1")).await,
        Some(429)
    );
}
