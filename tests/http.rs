//! The plain HTTP side of the hub: health, the reference UI at `/`, and the SDK served so that a
//! partner page on another origin can import it.

mod common;

use common::*;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

async fn get(hub: &TestServer, path: &str) -> String {
    let mut tcp = tokio::net::TcpStream::connect(hub.server.local_addr())
        .await
        .unwrap();
    let request = format!("GET {path} HTTP/1.1\r\nHost: localhost\r\nOrigin: https://partner.example\r\nConnection: close\r\n\r\n");
    tcp.write_all(request.as_bytes()).await.unwrap();
    let mut response = String::new();
    tokio::time::timeout(DEADLINE, tcp.read_to_string(&mut response))
        .await
        .unwrap()
        .unwrap();
    response
}

#[tokio::test]
async fn health_ui_and_sdk_are_served() {
    let hub = start_server().await;
    let health = get(&hub, "/healthz").await;
    assert!(health.starts_with("HTTP/1.1 200"), "{health}");
    assert!(health.ends_with("ok\n"));
    let ready = get(&hub, "/readyz").await;
    assert!(
        ready.starts_with("HTTP/1.1 200")
            && ready.ends_with(r#"{"node_id":null,"ready":true,"reason":null}"#),
        "{ready}"
    );
    let sfu = start_server_with(|c| c.media_mode = huddle::protocol::MediaMode::Sfu).await;
    let ready = get(&sfu, "/readyz").await;
    assert!(
        ready.starts_with("HTTP/1.1 200") && ready.contains(r#""ready":true"#),
        "{ready}"
    );

    let index = get(&hub, "/").await;
    assert!(index.starts_with("HTTP/1.1 200"));
    assert!(index.to_lowercase().contains("<!doctype html"));

    let sdk = get(&hub, "/sdk/huddle.js").await;
    assert!(
        sdk.starts_with("HTTP/1.1 200"),
        "{}",
        &sdk[..sdk.len().min(200)]
    );
    let head = sdk.split("\r\n\r\n").next().unwrap().to_lowercase();
    assert!(
        head.contains("access-control-allow-origin: *"),
        "cross-origin import allowed: {head}"
    );
    assert!(head.contains("javascript"), "served as a script: {head}");
    assert!(sdk.contains("export"), "an ES module");

    let missing = get(&hub, "/no-such-file").await;
    assert!(missing.starts_with("HTTP/1.1 404"));
    let favicon = get(&hub, "/favicon.ico").await;
    assert!(favicon.starts_with("HTTP/1.1 204"));
}

/// The head of a response, lower-cased.
fn head(response: &str) -> String {
    response
        .split("\r\n\r\n")
        .next()
        .unwrap_or_default()
        .to_lowercase()
}

#[tokio::test]
async fn only_the_ui_and_sdk_are_served_with_safe_headers() {
    let hub = start_server_with(|c| c.frame_ancestors = "https://app.partner.example".into()).await;
    // The web root's tests, tools and dependencies are not the public's business.
    for path in [
        "/test/e2e.mjs",
        "/tools/gen-types.mjs",
        "/package.json",
        "/node_modules/typescript/package.json",
        "/README.md",
    ] {
        let response = get(&hub, path).await;
        assert!(
            response.starts_with("HTTP/1.1 404"),
            "{path}: {}",
            head(&response)
        );
    }
    for path in [
        "/",
        "/index.html",
        "/app/main.js",
        "/sdk/huddle.js",
        "/examples/embed.html",
    ] {
        let response = get(&hub, path).await;
        assert!(response.starts_with("HTTP/1.1 200"), "{path}");
        assert!(
            head(&response).contains("x-content-type-options: nosniff"),
            "{path}: {}",
            head(&response)
        );
    }
    let page = head(&get(&hub, "/").await);
    assert!(page.contains("content-security-policy:"), "{page}");
    assert!(
        page.contains("frame-ancestors https://app.partner.example"),
        "{page}"
    );
    assert!(page.contains("object-src 'none'"), "{page}");
}
