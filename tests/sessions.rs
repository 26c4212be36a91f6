//! Session lifetime: one seat per person (a second connection takes over), and token expiry with
//! in-band refresh.

mod common;

use common::*;
use huddle::protocol::Role;
use serde_json::json;
use std::time::Duration;

#[tokio::test]
async fn a_second_connection_of_the_same_person_takes_over_the_seat() {
    let hub = start_server().await;
    let mut host = hub.join("m", "host", Role::Host).await;
    let mut first = hub.join("m", "alice", Role::Participant).await;
    let mut other = hub.join("m", "bob", Role::Participant).await;
    host.wait_joined(other.id).await;
    first.recv_type("peer_joined").await;
    // Alice is in a breakout when she opens a second tab.
    host.send(json!({"type": "split", "strategy": "manual", "rooms": [{"members": [first.id, other.id]}]})).await;
    let room = first.recv_type("room_changed").await["room"]
        .as_str()
        .unwrap()
        .to_owned();
    other.recv_type("room_changed").await;

    let second = hub.join("m", "alice", Role::Participant).await;
    assert_eq!(second.id, first.id, "the new connection inherits the seat");
    assert_eq!(second.welcome["room"], room.as_str(), "and the room");
    assert_eq!(second.welcome["peers"][0]["id"], other.id);

    let closed = first.expect_close().await;
    assert_eq!(
        closed.code,
        Some(4007),
        "the old socket is told it was replaced (terminal)"
    );
    let left = other.recv_type("peer_left").await;
    assert_eq!(
        left,
        json!({"type": "peer_left", "id": second.id, "reason": "replaced"})
    );
    assert_eq!(
        other.recv_type("peer_joined").await["peer"]["id"],
        second.id
    );

    let mut second = second;
    second
        .send(json!({"type": "chat", "text": "new tab here"}))
        .await;
    let got = other.recv_type("chat").await;
    assert_eq!(got["from"], second.id);
    assert_eq!(got["room"], room.as_str());
    assert_eq!(hub.server.meeting_count(), 1);
}

#[tokio::test]
async fn an_expired_token_ends_the_session_unless_refreshed() {
    let hub = start_server_with(|c| c.jwt_leeway_secs = 0).await;
    let short = |sub: &str| {
        hub.minter
            .mint("m", sub, sub, Role::Participant, Duration::from_secs(1))
            .unwrap()
    };
    let mut lapsing = connect(&hub.url).await;
    lapsing.hello(&short("lapsing")).await;
    lapsing.recv_type("welcome").await;
    let mut renewed = connect(&hub.url).await;
    renewed.hello(&short("renewed")).await;
    renewed.id = renewed.recv_type("welcome").await["you"]["id"]
        .as_u64()
        .unwrap();

    // A token of someone else is refused, and the session goes on.
    renewed.send(json!({"type": "refresh", "token": hub.token("m", "mallory", "M", Role::Host), "id": 1})).await;
    let refused = renewed.recv_until(|f| f["ref"] == 1).await;
    assert_eq!(refused["code"], "unauthorized");
    renewed.send(json!({"type": "refresh", "token": hub.token("m", "renewed", "R", Role::Participant), "id": 2})).await;
    assert_eq!(renewed.recv_until(|f| f["ref"] == 2).await["type"], "ack");

    let closed = lapsing.expect_close().await;
    assert_eq!(closed.code, Some(4006));
    assert!(closed.frames.iter().any(|f| f["code"] == "unauthorized"));
    // The refreshed session outlived its first token.
    renewed
        .send(json!({"type": "chat", "text": "still here", "id": 3}))
        .await;
    assert_eq!(renewed.recv_until(|f| f["ref"] == 3).await["type"], "ack");
}
