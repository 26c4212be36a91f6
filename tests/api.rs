//! The server API over real HTTP on 127.0.0.1: API tokens (audience and scopes, both ways),
//! problem+json errors, and every endpoint acting on a real meeting whose members are real
//! WebSocket clients.

mod common;

use common::*;
use huddle::auth::{Minter, SignKey, TokenAlgorithm};
use huddle::protocol::{CloseCode, Role};
use serde_json::{json, Value};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const API_AUDIENCE: &str = "huddle-api";

struct Reply {
    status: u16,
    content_type: String,
    body: Value,
}

/// One HTTP/1.1 request over a fresh connection.
async fn http(
    hub: &TestServer,
    method: &str,
    path: &str,
    token: Option<&str>,
    body: Option<Value>,
) -> Reply {
    let addr = hub.server.local_addr();
    let mut tcp = tokio::net::TcpStream::connect(addr).await.expect("connect");
    let body = body.map(|b| b.to_string()).unwrap_or_default();
    let auth = token
        .map(|t| format!("Authorization: Bearer {t}\r\n"))
        .unwrap_or_default();
    let request = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\n{auth}Content-Type: application/json\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    tcp.write_all(request.as_bytes()).await.expect("write");
    let mut raw = Vec::new();
    tokio::time::timeout(DEADLINE, tcp.read_to_end(&mut raw))
        .await
        .expect("reply in time")
        .expect("read");
    let raw = String::from_utf8(raw).expect("utf-8");
    let (head, body) = raw.split_once("\r\n\r\n").expect("head and body");
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .expect("status");
    let content_type = head
        .lines()
        .find_map(|l| {
            l.to_ascii_lowercase()
                .strip_prefix("content-type:")
                .map(|v| v.trim().to_owned())
        })
        .unwrap_or_default();
    let body = serde_json::from_str(body).unwrap_or(Value::Null);
    Reply {
        status,
        content_type,
        body,
    }
}

fn api_token(hub: &TestServer, scope: &str) -> String {
    hub.minter
        .mint_api(
            API_AUDIENCE,
            "partner-backend",
            scope,
            Duration::from_secs(300),
        )
        .expect("mint")
}

fn assert_problem(r: &Reply, status: u16, code: &str) {
    assert_eq!(r.status, status, "{:?}", r.body);
    assert_eq!(r.content_type, "application/problem+json");
    assert_eq!(r.body["code"], code, "{:?}", r.body);
    assert_eq!(r.body["status"], status);
}

#[tokio::test]
async fn client_and_api_tokens_are_never_taken_for_each_other_and_scopes_are_enforced() {
    let hub = start_server().await;
    let _host = hub.join("m", "host", Role::Host).await;

    assert_problem(
        &http(&hub, "GET", "/v1/meetings", None, None).await,
        401,
        "unauthorized",
    );
    // A client token (even a host's) does not open the API.
    let client = hub.token("m", "host", "Host", Role::Host);
    assert_problem(
        &http(&hub, "GET", "/v1/meetings", Some(&client), None).await,
        401,
        "unauthorized",
    );
    // An API token signed with another key.
    let stranger = Minter::new(
        TokenAlgorithm::Hs256,
        SignKey::Secret(huddle::auth::random_secret().as_bytes()),
        &hub.minter.issuer,
        API_AUDIENCE,
    )
    .unwrap()
    .mint_api(API_AUDIENCE, "x", "meetings:read", Duration::from_secs(60))
    .unwrap();
    assert_problem(
        &http(&hub, "GET", "/v1/meetings", Some(&stranger), None).await,
        401,
        "unauthorized",
    );

    // Each route wants its scope, and only that one.
    let read = api_token(&hub, "meetings:read");
    let moderation = api_token(&hub, "moderation");
    assert_eq!(
        http(&hub, "GET", "/v1/meetings", Some(&read), None)
            .await
            .status,
        200
    );
    assert_problem(
        &http(&hub, "GET", "/v1/meetings", Some(&moderation), None).await,
        403,
        "forbidden",
    );
    assert_problem(
        &http(
            &hub,
            "GET",
            "/v1/meetings/m/participants",
            Some(&moderation),
            None,
        )
        .await,
        403,
        "forbidden",
    );
    assert_problem(
        &http(&hub, "POST", "/v1/meetings/m/end", Some(&read), None).await,
        403,
        "forbidden",
    );
    assert_problem(
        &http(
            &hub,
            "POST",
            "/v1/meetings/m/broadcast",
            Some(&read),
            Some(json!({"text": "hi"})),
        )
        .await,
        403,
        "forbidden",
    );

    // An API token is not a ticket into a meeting.
    let mut c = connect(&hub.url).await;
    c.hello(&read).await;
    let closed = c.expect_close().await;
    assert_eq!(closed.code, Some(CloseCode::Unauthorized.code()));

    // The OpenAPI document needs no token.
    let doc = http(&hub, "GET", "/v1/openapi.json", None, None).await;
    assert_eq!(doc.status, 200);
    assert!(doc.body["paths"]["/v1/meetings/{meeting}/participants/{sub}/remove"].is_object());
}

#[tokio::test]
async fn the_hub_refuses_to_start_when_the_api_audience_is_the_client_audience() {
    let config = huddle::Config {
        listen: "127.0.0.1:0".parse().unwrap(),
        jwt_secret: Some(huddle::auth::random_secret()),
        jwt_audience: "same".into(),
        api_audience: "same".into(),
        ..huddle::Config::default()
    };
    let err = huddle::Server::start(config).await.err().expect("refused");
    assert!(err.contains("api_audience"), "{err}");
}

#[tokio::test]
async fn every_endpoint_acts_on_the_meeting_through_its_actor() {
    let hub = start_server().await;
    let read = api_token(&hub, "meetings:read");
    let moderate = api_token(&hub, "moderation");
    let mut host = hub.join("g1", "therapist", Role::Host).await;
    let mut p1 = hub.join("g1", "alex", Role::Participant).await;
    host.wait_joined(p1.id).await;

    // Reading.
    let list = http(&hub, "GET", "/v1/meetings", Some(&read), None).await;
    assert_eq!(
        list.body["meetings"],
        json!([{"meeting": "g1", "active": true}])
    );
    let m = http(&hub, "GET", "/v1/meetings/g1", Some(&read), None).await;
    assert_eq!(m.status, 200);
    assert_eq!(m.body["breakouts_open"], false);
    let counts = m.body["members"].as_array().unwrap();
    assert!(counts.contains(&json!({"role": "host", "count": 1})));
    assert!(counts.contains(&json!({"role": "participant", "count": 1})));
    let people = http(
        &hub,
        "GET",
        "/v1/meetings/g1/participants",
        Some(&read),
        None,
    )
    .await;
    let people = people.body["participants"].as_array().unwrap().clone();
    assert_eq!(people.len(), 2);
    let alex = people
        .iter()
        .find(|p| p["sub"] == "alex")
        .expect("alex listed");
    assert_eq!(alex["peer"], p1.id);
    assert_eq!(alex["room"], "main");
    assert_eq!(alex["state"], "joined");
    assert!(alex["joined_at"].as_str().is_some_and(|t| t.ends_with('Z')));
    assert!(alex.get("name").is_none(), "no names in the API");
    assert_problem(
        &http(&hub, "GET", "/v1/meetings/nobody-here", Some(&read), None).await,
        404,
        "not_found",
    );
    assert_problem(
        &http(&hub, "GET", "/v1/meetings/bad%20id", Some(&read), None).await,
        400,
        "bad_request",
    );

    // Breakouts: open (manual), move back, close.
    let open = json!({"strategy": "manual", "rooms": [{"name": "Pairs", "members": [p1.id]}]});
    let r = http(
        &hub,
        "POST",
        "/v1/meetings/g1/breakouts",
        Some(&moderate),
        Some(open),
    )
    .await;
    assert_eq!(r.status, 204, "{:?}", r.body);
    let moved = p1.recv_type("room_changed").await;
    assert_ne!(moved["room"], "main");
    let again = json!({"strategy": "even", "count": 1});
    assert_problem(
        &http(
            &hub,
            "POST",
            "/v1/meetings/g1/breakouts",
            Some(&moderate),
            Some(again),
        )
        .await,
        409,
        "conflict",
    );
    assert_eq!(
        http(&hub, "GET", "/v1/meetings/g1", Some(&read), None)
            .await
            .body["breakouts_open"],
        true
    );
    let r = http(
        &hub,
        "POST",
        "/v1/meetings/g1/participants/alex/move",
        Some(&moderate),
        Some(json!({"room": "main"})),
    )
    .await;
    assert_eq!(r.status, 204, "{:?}", r.body);
    assert_eq!(p1.recv_type("room_changed").await["room"], "main");
    assert_problem(
        &http(
            &hub,
            "POST",
            "/v1/meetings/g1/participants/alex/move",
            Some(&moderate),
            Some(json!({"to": "main"})),
        )
        .await,
        400,
        "bad_request",
    );
    let r = http(
        &hub,
        "DELETE",
        "/v1/meetings/g1/breakouts",
        Some(&moderate),
        None,
    )
    .await;
    assert_eq!(r.status, 204, "{:?}", r.body);
    assert_eq!(
        http(&hub, "GET", "/v1/meetings/g1", Some(&read), None)
            .await
            .body["breakouts_open"],
        false
    );

    // A broadcast from the partner's system (peer 0), and its audit notice to the hosts.
    let r = http(
        &hub,
        "POST",
        "/v1/meetings/g1/broadcast",
        Some(&moderate),
        Some(json!({"text": "Five minutes left"})),
    )
    .await;
    assert_eq!(r.status, 204);
    let b = p1.recv_type("broadcast").await;
    assert_eq!(b["from"], 0);
    assert_eq!(b["text"], "Five minutes left");
    let audit = host
        .recv_until(|v| v["type"] == "audit" && v["action"] == "broadcast")
        .await;
    assert_eq!(audit["by"], 0);

    // The waiting room: admit one, deny another.
    host.request(json!({"type": "set_lobby", "enabled": true}))
        .await;
    let mut p2 = connect(&hub.url).await;
    p2.hello(&hub.token("g1", "sam", "Sam", Role::Participant))
        .await;
    p2.recv_type("waiting").await;
    let people = http(
        &hub,
        "GET",
        "/v1/meetings/g1/participants",
        Some(&read),
        None,
    )
    .await;
    let sam = people.body["participants"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["sub"] == "sam")
        .cloned()
        .expect("sam listed");
    assert_eq!(sam["state"], "waiting");
    assert!(sam.get("room").is_none());
    assert_eq!(
        http(
            &hub,
            "POST",
            "/v1/meetings/g1/participants/sam/admit",
            Some(&moderate),
            None
        )
        .await
        .status,
        204
    );
    p2.recv_type("welcome").await;
    let mut p3 = connect(&hub.url).await;
    p3.hello(&hub.token("g1", "kim", "Kim", Role::Participant))
        .await;
    p3.recv_type("waiting").await;
    assert_eq!(
        http(
            &hub,
            "POST",
            "/v1/meetings/g1/participants/kim/deny",
            Some(&moderate),
            None
        )
        .await
        .status,
        204
    );
    assert_eq!(p3.expect_close().await.code, Some(CloseCode::Denied.code()));

    // Remove with a ban: gone, and kept out.
    let r = http(
        &hub,
        "POST",
        "/v1/meetings/g1/participants/sam/remove",
        Some(&moderate),
        Some(json!({"ban": true})),
    )
    .await;
    assert_eq!(r.status, 204, "{:?}", r.body);
    assert_eq!(
        p2.expect_close().await.code,
        Some(CloseCode::Removed.code())
    );
    let mut back = connect(&hub.url).await;
    back.hello(&hub.token("g1", "sam", "Sam", Role::Participant))
        .await;
    assert_eq!(
        back.expect_close().await.code,
        Some(CloseCode::Removed.code())
    );
    assert_problem(
        &http(
            &hub,
            "POST",
            "/v1/meetings/g1/participants/nobody/remove",
            Some(&moderate),
            None,
        )
        .await,
        404,
        "not_found",
    );

    // End: everyone out.
    assert_eq!(
        http(&hub, "POST", "/v1/meetings/g1/end", Some(&moderate), None)
            .await
            .status,
        204
    );
    assert_eq!(
        p1.expect_close().await.code,
        Some(CloseCode::MeetingEnded.code())
    );
    assert_eq!(
        host.expect_close().await.code,
        Some(CloseCode::MeetingEnded.code())
    );
}
