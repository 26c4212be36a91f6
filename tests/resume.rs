//! Resume after a network drop, over real sockets: the seat is held for the grace period, the
//! room sees `peer_reconnecting`, a `hello.resume` gets the same peer id, the room the meeting
//! put the person in and exactly the chat it missed; after the grace the seat is given up
//! (`peer_left {timeout}`) and a resume is refused with 4106.

mod common;

use common::*;
use huddle::protocol::Role;
use serde_json::{json, Value};

fn chat_texts(frame: &Value) -> Vec<String> {
    frame["chat"]
        .as_array()
        .map(|c| {
            c.iter()
                .map(|m| m["text"].as_str().unwrap_or_default().to_owned())
                .collect()
        })
        .unwrap_or_default()
}

async fn say(client: &mut Client, text: &str) -> Value {
    client.send(json!({"type": "chat", "text": text})).await;
    client
        .recv_until(|f| f["type"] == "chat" && f["text"] == text)
        .await
}

#[tokio::test]
async fn a_dropped_client_resumes_with_its_id_and_exactly_the_chat_it_missed() {
    let hub = start_server().await;
    let mut host = hub.join("m", "host", Role::Host).await;
    let token = hub.token("m", "ann", "Ann", Role::Participant);
    let mut ann = connect(&hub.url).await;
    ann.hello(&token).await;
    let welcome = ann.recv_type("welcome").await;
    let ann_id = welcome["you"]["id"].as_u64().expect("id");
    let resume_token = welcome["resume_token"]
        .as_str()
        .expect("resume token")
        .to_owned();
    assert!(
        resume_token.len() >= 32,
        "a resume token is long enough not to guess"
    );

    let seen = say(&mut host, "before the drop").await;
    ann.recv_until(|f| f["type"] == "chat" && f["id"] == seen["id"])
        .await;
    let last_chat = seen["id"].as_u64().expect("chat id");

    ann.drop_connection();
    let held = host.recv_until(|f| f["type"] == "peer_reconnecting").await;
    assert_eq!(held["id"], ann_id);
    say(&mut host, "while you were away 1").await;
    say(&mut host, "while you were away 2").await;
    host.send(json!({"type": "chat", "text": "private while away", "to": ann_id}))
        .await;
    host.recv_until(|f| f["type"] == "chat" && f["to"] == ann_id)
        .await;

    let mut back = connect(&hub.url).await;
    back.hello_resume(&token, &resume_token, "main", last_chat)
        .await;
    let resumed = back.recv_type("welcome").await;
    assert_eq!(resumed["resumed"], true);
    assert_eq!(resumed["you"]["id"], ann_id, "same peer id");
    assert_eq!(resumed["room"], "main");
    assert_eq!(
        chat_texts(&resumed),
        vec![
            "while you were away 1",
            "while you were away 2",
            "private while away"
        ],
        "exactly what was missed, in order"
    );
    assert_ne!(resumed["resume_token"], resume_token.as_str());
    let peers = resumed["peers"].as_array().expect("peers");
    assert!(peers.iter().any(|p| p["id"] == host.id));

    let again = host.recv_until(|f| f["type"] == "peer_reconnected").await;
    assert_eq!(again["id"], ann_id);
    // The seat works again: signaling and chat reach the resumed connection.
    host.send(json!({"type": "signal", "to": ann_id, "data": {"candidate": "c"}}))
        .await;
    let signal = back.recv_type("signal").await;
    assert_eq!(signal["from"], host.id);
    let after = say(&mut host, "welcome back").await;
    let got = back.recv_type("chat").await;
    assert_eq!(got["id"], after["id"]);

    // The spent token is no good any more.
    let mut replay = connect(&hub.url).await;
    replay.hello_resume(&token, &resume_token, "main", 0).await;
    let closed = replay.expect_close().await;
    assert_eq!(closed.code, Some(4106));
    assert_eq!(closed.frames[0]["code"], "resume_expired");
}

#[tokio::test]
async fn after_the_grace_the_seat_is_given_up_and_a_resume_is_refused() {
    let hub = start_server_with(|c| c.resume_grace_secs = 1).await;
    let mut host = hub.join("m", "host", Role::Host).await;
    let token = hub.token("m", "bob", "Bob", Role::Participant);
    let mut bob = connect(&hub.url).await;
    bob.hello(&token).await;
    let welcome = bob.recv_type("welcome").await;
    let bob_id = welcome["you"]["id"].clone();
    let resume_token = welcome["resume_token"].as_str().expect("token").to_owned();

    bob.drop_connection();
    let held = host.recv_until(|f| f["type"] == "peer_reconnecting").await;
    assert_eq!(held["id"], bob_id);
    let gone = host.recv_until(|f| f["type"] == "peer_left").await;
    assert_eq!(gone["id"], bob_id);
    assert_eq!(gone["reason"], "timeout");

    let mut late = connect(&hub.url).await;
    late.hello_resume(&token, &resume_token, "main", 0).await;
    let closed = late.expect_close().await;
    assert_eq!(closed.code, Some(4106), "resume_expired: join fresh");
    assert_eq!(closed.frames[0]["code"], "resume_expired");

    // Joining fresh works, with a new id.
    let mut fresh = connect(&hub.url).await;
    fresh.hello(&token).await;
    let welcome = fresh.recv_type("welcome").await;
    assert_ne!(welcome["you"]["id"], bob_id);
    assert_eq!(welcome["resumed"], Value::Null);
}

#[tokio::test]
async fn a_resume_lands_where_the_meeting_put_the_person() {
    let hub = start_server().await;
    let mut host = hub.join("m", "host", Role::Host).await;
    let mut cat = hub.join("m", "cat", Role::Participant).await;
    let token = hub.token("m", "dan", "Dan", Role::Participant);
    let mut dan = connect(&hub.url).await;
    dan.hello(&token).await;
    let welcome = dan.recv_type("welcome").await;
    let dan_id = welcome["you"]["id"].as_u64().expect("id");
    let resume_token = welcome["resume_token"].as_str().expect("token").to_owned();

    dan.drop_connection();
    host.recv_until(|f| f["type"] == "peer_reconnecting").await;
    // While Dan is away the host puts Cat and Dan together in a breakout.
    host.send(json!({"id": 1, "type": "split", "strategy": "manual",
        "rooms": [{"name": "Pair", "members": [cat.id, dan_id]}]}))
        .await;
    host.recv_until(|f| f["type"] == "ack").await;
    let moved = cat.recv_type("room_changed").await;
    let room = moved["room"].clone();
    let reconnecting = moved["peers"]
        .as_array()
        .expect("peers")
        .iter()
        .find(|p| p["id"] == dan_id)
        .expect("Dan's seat moved with the room")["reconnecting"]
        .clone();
    assert_eq!(
        reconnecting, true,
        "rosters show a held seat as reconnecting"
    );
    say(&mut cat, "pair chat").await;

    let mut back = connect(&hub.url).await;
    back.hello_resume(&token, &resume_token, "main", 0).await;
    let resumed = back.recv_type("welcome").await;
    assert_eq!(resumed["resumed"], true);
    assert_eq!(resumed["room"], room, "in the breakout, not the main room");
    assert_eq!(
        chat_texts(&resumed),
        vec!["pair chat"],
        "the new room's history"
    );
    let back_again = cat.recv_type("peer_reconnected").await;
    assert_eq!(back_again["id"], dan_id);
}

#[tokio::test]
async fn a_half_open_client_is_marked_reconnecting_then_removed() {
    let hub = start_server_with(|c| {
        c.ping_interval_ms = 100;
        c.idle_timeout_ms = 400;
        c.resume_grace_secs = 1;
    })
    .await;
    let mut silent = hub.join("m", "silent", Role::Participant).await;
    let mut watcher = hub.join("m", "watcher", Role::Participant).await;
    // The watcher reads (and so answers pings); the silent client reads nothing from now on.
    let held = watcher
        .recv_until(|f| f["type"] == "peer_reconnecting")
        .await;
    assert_eq!(held["id"], silent.id);
    let gone = watcher.recv_until(|f| f["type"] == "peer_left").await;
    assert_eq!(gone["id"], silent.id);
    assert_eq!(gone["reason"], "timeout");
    let closed = silent.expect_close().await;
    assert_eq!(closed.code, Some(4103));
}

#[tokio::test]
async fn a_resume_needs_the_same_person_and_replaces_a_socket_not_yet_seen_dead() {
    let hub = start_server().await;
    let mut host = hub.join("m", "host", Role::Host).await;
    let mut eve = hub.join("m", "eve", Role::Participant).await;
    let resume_token = eve.welcome["resume_token"]
        .as_str()
        .expect("token")
        .to_owned();

    // Someone else's token with Eve's resume token: refused, Eve undisturbed.
    let mallory = hub.token("m", "mallory", "M", Role::Participant);
    let mut thief = connect(&hub.url).await;
    thief.hello_resume(&mallory, &resume_token, "main", 0).await;
    assert_eq!(thief.expect_close().await.code, Some(4106));

    // Eve's phone switched networks; the hub has not noticed the old socket is dead yet.
    let token = hub.token("m", "eve", "Eve", Role::Participant);
    let mut back = connect(&hub.url).await;
    back.hello_resume(&token, &resume_token, "main", 0).await;
    let resumed = back.recv_type("welcome").await;
    assert_eq!(resumed["you"]["id"], eve.id);
    assert_eq!(
        eve.expect_close().await.code,
        Some(4007),
        "the old socket is replaced"
    );
    let again = host.recv_until(|f| f["type"] == "peer_reconnected").await;
    assert_eq!(again["id"], eve.id);
    // The replaced socket's end does not take the seat from the new one.
    let said = say(&mut host, "still here?").await;
    let got = back.recv_type("chat").await;
    assert_eq!(got["id"], said["id"]);
}

#[tokio::test]
async fn a_clean_leave_is_not_held() {
    let hub = start_server().await;
    let mut host = hub.join("m", "host", Role::Host).await;
    let guest = hub.join("m", "guest", Role::Participant).await;
    let id = guest.id;
    guest.close().await;
    let gone = host.recv_until(|f| f["type"] == "peer_left").await;
    assert_eq!(gone["id"], id);
    assert_eq!(gone["reason"], "left");
}

#[tokio::test]
async fn a_meeting_whose_last_seat_times_out_is_forgotten() {
    let hub = start_server_with(|c| c.resume_grace_secs = 1).await;
    let alone = hub.join("m", "alone", Role::Participant).await;
    assert_eq!(hub.server.meeting_count(), 1);
    alone.drop_connection();
    // Held for the grace, then the actor stops (no timer left, nobody in it).
    let give_up = tokio::time::Instant::now() + DEADLINE;
    while hub.server.meeting_count() != 0 {
        assert!(
            tokio::time::Instant::now() < give_up,
            "the meeting outlived its last held seat"
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn ping_is_answered_and_a_reconnecting_close_holds_the_seat() {
    let hub = start_server().await;
    let mut host = hub.join("m", "host", Role::Host).await;
    let token = hub.token("m", "fay", "Fay", Role::Participant);
    let mut fay = connect(&hub.url).await;
    fay.hello(&token).await;
    let welcome = fay.recv_type("welcome").await;
    let fay_id = welcome["you"]["id"].clone();
    let resume_token = welcome["resume_token"].as_str().expect("token").to_owned();
    fay.send(json!({"type": "ping"})).await;
    assert_eq!(fay.recv_type("pong").await, json!({"type": "pong"}));

    // The page decided its connection looked dead: it closes with 4100 and resumes.
    fay.ws
        .close(Some(tokio_tungstenite::tungstenite::protocol::CloseFrame {
            code: 4100.into(),
            reason: "reconnecting".into(),
        }))
        .await
        .expect("close");
    let held = host.recv_until(|f| f["type"] == "peer_reconnecting").await;
    assert_eq!(held["id"], fay_id);
    host.send(json!({"type": "broadcast", "text": "five minutes left", "id": 3}))
        .await;
    host.recv_until(|f| f["ref"] == 3).await;

    let mut back = connect(&hub.url).await;
    back.hello_resume(&token, &resume_token, "main", 0).await;
    let resumed = back.recv_type("welcome").await;
    assert_eq!(resumed["you"]["id"], fay_id);
    assert_eq!(resumed["replayed"], 1, "one notice follows");
    // The notice sent while the seat was held comes right after the welcome.
    let notice = back.recv().await;
    assert_eq!(notice["type"], "broadcast");
    assert_eq!(notice["text"], "five minutes left");
}
