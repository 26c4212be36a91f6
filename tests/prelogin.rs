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

/// Upgrades a raw TCP connection to a WebSocket by hand (so the test can send half a frame).
async fn raw_websocket(hub: &TestServer) -> TcpStream {
    let mut tcp = TcpStream::connect(tcp_addr(hub)).await.unwrap();
    let request = "GET /v1/ws HTTP/1.1\r\nHost: hub\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
                   Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n";
    tcp.write_all(request.as_bytes()).await.unwrap();
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        tcp.read_exact(&mut byte).await.unwrap();
        head.push(byte[0]);
    }
    assert!(
        head.starts_with(b"HTTP/1.1 101"),
        "{}",
        String::from_utf8_lossy(&head)
    );
    tcp
}

#[tokio::test]
async fn before_hello_the_hub_reads_only_a_few_kib_of_a_frame() {
    // A long hello timeout: without the read budget the hub would wait for the rest of the frame.
    let hub = start_server_with(|c| c.hello_timeout_ms = 60_000).await;
    let mut tcp = raw_websocket(&hub).await;
    // A masked text frame announcing 200 KiB (under the hub's 256 KiB frame limit), of which
    // 64 KiB are sent; then nothing.
    let announced: u64 = 200 * 1024;
    let mut frame = vec![0x81, 0x80 | 127];
    frame.extend_from_slice(&announced.to_be_bytes());
    frame.extend_from_slice(&[1, 2, 3, 4]);
    frame.extend(std::iter::repeat_n(b'a' ^ 1, 64 * 1024));
    tcp.write_all(&frame).await.unwrap();
    // The hub gives up on it at once: an error frame, then close 1009.
    let mut got = Vec::new();
    let read_all = async {
        let mut buf = [0u8; 4096];
        loop {
            match tcp.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(n) => got.extend_from_slice(&buf[..n]),
            }
        }
    };
    tokio::time::timeout(DEADLINE, read_all)
        .await
        .expect("the hub closed the socket without waiting for the rest");
    let text = String::from_utf8_lossy(&got);
    assert!(text.contains("too_large"), "{text}");
    let close = got
        .windows(2)
        .position(|w| w[0] == 0x88)
        .map(|i| u16::from_be_bytes([got[i + 2], got[i + 3]]));
    assert_eq!(close, Some(1009));
    // A proper hello still works on a fresh socket.
    hub.join("m", "a", Role::Participant).await;
}

#[tokio::test]
async fn one_address_gets_only_its_share_of_the_pre_hello_places() {
    let hub = start_server_with(|c| c.max_pending_hellos_per_ip = 2).await;
    let mut quiet = connect(&hub.url).await;
    let _also_quiet = connect(&hub.url).await;
    assert_eq!(upgrade_status(&hub, None).await, Some(429));
    // Saying hello frees the place; members do not count against it.
    quiet
        .hello(&hub.token("m", "q", "Q", Role::Participant))
        .await;
    quiet.recv_type("welcome").await;
    let mut tries = 0;
    while upgrade_status(&hub, None).await.is_some() {
        tries += 1;
        assert!(tries < 200, "the address's pre-hello place never came back");
        tokio::task::yield_now().await;
    }
}
