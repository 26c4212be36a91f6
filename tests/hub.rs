//! Roster, signaling, chat and bad-input behaviour of the hub over real WebSockets.

mod common;

use common::*;
use huddle::protocol::Role;
use serde_json::json;
use tokio_tungstenite::tungstenite::Message;

#[tokio::test]
async fn join_and_leave_update_the_roster() {
    let hub = start_server().await;
    let mut host = hub.join("m1", "host", Role::Host).await;
    assert_eq!(host.welcome["protocol"], 1);
    assert_eq!(host.welcome["meeting"], "m1");
    assert_eq!(host.welcome["room"], "main");
    assert_eq!(host.welcome["you"]["role"], "host");
    assert_eq!(host.welcome["you"]["name"], "Name of host");
    assert_eq!(host.welcome["peers"], json!([]));
    assert!(host.welcome["ice_servers"].is_array());

    let alice = hub.join("m1", "alice", Role::Participant).await;
    let peers = alice.welcome["peers"].as_array().unwrap();
    assert_eq!(peers.len(), 1);
    assert_eq!(peers[0]["id"], host.id);
    assert_eq!(peers[0]["role"], "host");

    let joined = host.recv_type("peer_joined").await;
    assert_eq!(joined["peer"]["id"], alice.id);
    assert_eq!(role_of(&joined["peer"]), "participant");
    // The partner's user id (`sub`) never reaches other clients: a peer is id, name (and role,
    // left out when it is the default, participant).
    let keys: Vec<&String> = joined["peer"].as_object().unwrap().keys().collect();
    assert_eq!(keys, vec!["id", "name"]);

    let alice_id = alice.id;
    alice.close().await;
    let left = host.recv_type("peer_left").await;
    assert_eq!(left["id"], alice_id);
    assert_eq!(left["reason"], "left");
}

#[tokio::test]
async fn meetings_are_separate() {
    let hub = start_server().await;
    let a = hub.join("alpha", "a", Role::Participant).await;
    let b = hub.join("beta", "b", Role::Participant).await;
    assert_eq!(a.welcome["peers"], json!([]));
    assert_eq!(b.welcome["peers"], json!([]));
    assert_eq!(hub.server.meeting_count(), 2);
}

#[tokio::test]
async fn signal_is_relayed_within_the_room_only() {
    let hub = start_server().await;
    let mut a = hub.join("m1", "a", Role::Participant).await;
    let mut b = hub.join("m1", "b", Role::Participant).await;
    let mut other = hub.join("m2", "x", Role::Participant).await;
    a.recv_type("peer_joined").await;

    let offer = json!({"description": {"type": "offer", "sdp": "v=0\r\n..."}});
    a.send(json!({"type": "signal", "to": b.id, "data": offer, "id": 1}))
        .await;
    let relayed = b.recv_type("signal").await;
    assert_eq!(
        relayed,
        json!({"type": "signal", "from": a.id, "data": offer})
    );
    assert_eq!(a.recv().await, json!({"type": "ack", "ref": 1}));

    // A peer of another meeting is not reachable, and the refusal does not say it exists.
    a.send(json!({"type": "signal", "to": other.id, "data": {"candidate": "c"}, "id": 2}))
        .await;
    let refused = a.recv().await;
    assert_eq!(refused["type"], "error");
    assert_eq!(refused["code"], "not_found");
    assert_eq!(refused["ref"], 2);
    // Neither is an id nobody has.
    a.send(json!({"type": "signal", "to": 999_999, "data": {}, "id": 3}))
        .await;
    assert_eq!(a.recv().await["code"], "not_found");

    // The other meeting saw nothing: its next frame is its own ack.
    other
        .send(json!({"type": "chat", "text": "marker", "id": 9}))
        .await;
    let next = other.recv().await;
    assert_eq!(next["type"], "chat");
    assert_eq!(next["text"], "marker");
}

#[tokio::test]
async fn group_chat_history_and_sequence() {
    let hub = start_server().await;
    let mut a = hub.join("m1", "a", Role::Host).await;
    let mut b = hub.join("m1", "b", Role::Participant).await;
    a.recv_type("peer_joined").await;

    let mut last_seq = 0;
    for i in 0..5 {
        // `from` in the frame is ignored: the hub sets it.
        a.send(json!({"type": "chat", "text": format!("hello {i}"), "from": b.id, "id": 100 + i}))
            .await;
        let got = b.recv_type("chat").await;
        assert_eq!(got["from"], a.id);
        assert_eq!(got["room"], "main");
        assert_eq!(got["text"], format!("hello {i}"));
        assert!(got.get("to").is_none());
        let seq = got["seq"].as_u64().unwrap();
        assert!(seq > last_seq, "seq strictly increasing");
        last_seq = seq;
        assert!(got["ts"].as_u64().unwrap() > 1_700_000_000_000);
        // The sender gets its own message back (with id/seq/ts) and an ack.
        assert_eq!(a.recv_type("chat").await, got);
        assert_eq!(a.recv().await, json!({"type": "ack", "ref": 100 + i}));
    }
    b.send(json!({"type": "chat", "text": "from b"})).await;
    let last = a.recv_type("chat").await;
    assert_eq!(last["from"], b.id);
    assert!(last["seq"].as_u64().unwrap() > last_seq);

    // A late joiner gets the room's history, oldest first.
    let late = hub.join("m1", "late", Role::Participant).await;
    let history = late.welcome["chat"].as_array().unwrap();
    assert_eq!(history.len(), 6);
    assert_eq!(history[0]["text"], "hello 0");
    assert_eq!(history[5]["text"], "from b");
    let seqs: Vec<u64> = history.iter().map(|m| m["seq"].as_u64().unwrap()).collect();
    assert!(seqs.windows(2).all(|w| w[0] < w[1]));
}

#[tokio::test]
async fn private_chat_reaches_only_its_recipient() {
    let hub = start_server().await;
    let mut host = hub.join("m1", "host", Role::Host).await;
    let mut a = hub.join("m1", "a", Role::Participant).await;
    let mut b = hub.join("m1", "b", Role::Participant).await;
    host.wait_joined(b.id).await;
    a.recv_type("peer_joined").await;

    a.send(json!({"type": "chat", "text": "just for you", "to": b.id, "id": 7}))
        .await;
    let got = b.recv_type("chat").await;
    assert_eq!(got["to"], b.id);
    assert_eq!(got["from"], a.id);
    assert_eq!(got["text"], "just for you");
    let echo = a.recv_type("chat").await;
    assert_eq!(echo, got);
    assert_eq!(a.recv().await, json!({"type": "ack", "ref": 7}));

    // The host did not get it: its next chat is the group marker.
    b.send(json!({"type": "chat", "text": "group marker"}))
        .await;
    let next = host.recv_type("chat").await;
    assert_eq!(next["text"], "group marker");
    // Private messages are not in the history a late joiner sees.
    let late = hub.join("m1", "late", Role::Participant).await;
    let texts: Vec<&str> = late.welcome["chat"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["text"].as_str().unwrap())
        .collect();
    assert_eq!(texts, vec!["group marker"]);

    // Private to someone in another meeting: not found.
    let stranger = hub.join("m2", "s", Role::Participant).await;
    a.send(json!({"type": "chat", "text": "psst", "to": stranger.id, "id": 8}))
        .await;
    let refused = a.recv_until(|f| f["type"] == "error").await;
    assert_eq!(refused["code"], "not_found");
    assert_eq!(refused["ref"], 8);
}

#[tokio::test]
async fn observers_cannot_chat_or_offer_media() {
    let hub = start_server().await;
    let mut host = hub.join("m1", "host", Role::Host).await;
    let mut obs = hub.join("m1", "obs", Role::Observer).await;
    host.recv_type("peer_joined").await;

    obs.send(json!({"type": "chat", "text": "hi", "id": 1}))
        .await;
    assert_eq!(
        obs.recv().await,
        json!({"type": "error", "code": "forbidden", "message": "observers cannot chat", "ref": 1})
    );
    obs.send(json!({"type": "chat", "text": "hi", "to": host.id, "id": 2}))
        .await;
    assert_eq!(obs.recv().await["code"], "forbidden");
    obs.send(
        json!({"type": "signal", "to": host.id, "data": {"type": "offer", "sdp": "x"}, "id": 3}),
    )
    .await;
    assert_eq!(obs.recv().await["code"], "forbidden");
    obs.send(json!({"type": "signal", "to": host.id, "data": {"description": {"type": "offer", "sdp": "x"}}, "id": 4})).await;
    assert_eq!(obs.recv().await["code"], "forbidden");
    obs.send(json!({"type": "data", "payload": {"x": 1}, "id": 5}))
        .await;
    assert_eq!(obs.recv().await["code"], "forbidden");
    // Answers and candidates are fine: an observer receives media.
    obs.send(json!({"type": "signal", "to": host.id, "data": {"description": {"type": "answer", "sdp": "x"}}, "id": 6})).await;
    assert_eq!(obs.recv().await, json!({"type": "ack", "ref": 6}));
    let got = host.recv_type("signal").await;
    assert_eq!(got["data"]["description"]["type"], "answer");
}

#[tokio::test]
async fn app_data_goes_to_the_room_or_one_peer() {
    let hub = start_server().await;
    let mut a = hub.join("m1", "a", Role::Participant).await;
    let mut b = hub.join("m1", "b", Role::Participant).await;
    let mut c = hub.join("m1", "c", Role::Participant).await;
    a.wait_joined(c.id).await;
    b.wait_joined(c.id).await;

    a.send(json!({"type": "data", "payload": {"card": 3}}))
        .await;
    assert_eq!(
        b.recv().await,
        json!({"type": "data", "from": a.id, "payload": {"card": 3}})
    );
    assert_eq!(
        c.recv().await,
        json!({"type": "data", "from": a.id, "payload": {"card": 3}})
    );
    a.send(json!({"type": "data", "payload": "only c", "to": c.id}))
        .await;
    assert_eq!(
        c.recv().await,
        json!({"type": "data", "from": a.id, "payload": "only c", "to": c.id})
    );
    a.send(json!({"type": "data", "payload": "x".repeat(20_000), "id": 1}))
        .await;
    assert_eq!(a.recv().await["code"], "too_large");
    // b saw neither the private nor the oversized one.
    c.send(json!({"type": "data", "payload": "marker"})).await;
    assert_eq!(b.recv().await["payload"], "marker");
}

#[tokio::test]
async fn bad_frames_get_errors_and_disturb_no_one() {
    let hub = start_server().await;
    let mut a = hub.join("m1", "a", Role::Participant).await;
    let mut bystander = hub.join("m1", "b", Role::Participant).await;
    a.recv_type("peer_joined").await;

    a.send_raw(Message::text("{not json")).await;
    let e = a.recv().await;
    assert_eq!(e["type"], "error");
    assert_eq!(e["code"], "bad_request");

    a.send(json!({"type": "dance", "id": 41})).await;
    let e = a.recv().await;
    assert_eq!(e["code"], "bad_request");
    assert_eq!(
        e["ref"], 41,
        "ref recovered even when the message does not decode"
    );

    a.send(json!({"type": "chat", "id": 42})).await;
    assert_eq!(a.recv().await["code"], "bad_request");
    a.send(json!({"type": "chat", "text": "   ", "id": 43}))
        .await;
    assert_eq!(a.recv().await["code"], "bad_request");
    a.send(json!({"type": "chat", "text": "y".repeat(9_000), "id": 44}))
        .await;
    assert_eq!(a.recv().await["code"], "too_large");
    a.send(json!({"type": "hello", "protocol": 1, "token": "again", "id": 45}))
        .await;
    assert_eq!(a.recv().await["code"], "bad_request");
    a.send(json!({"type": "signal", "to": a.id, "data": {}, "id": 46}))
        .await;
    assert_eq!(a.recv().await["code"], "bad_request");
    a.send_raw(Message::binary(vec![1u8, 2, 3])).await;
    assert_eq!(a.recv().await["code"], "bad_request");

    // Still in the meeting: a valid chat goes through to the bystander, which saw nothing else.
    a.send(json!({"type": "chat", "text": "still here"})).await;
    let next = bystander.recv().await;
    assert_eq!(next["type"], "chat");
    assert_eq!(next["text"], "still here");
}

#[tokio::test]
async fn oversized_frame_gets_too_large_and_the_session_goes_on() {
    let hub = start_server().await;
    let mut a = hub.join("m1", "a", Role::Participant).await;
    let mut bystander = hub.join("m1", "b", Role::Participant).await;
    a.recv_type("peer_joined").await;

    let big = json!({"type": "signal", "to": bystander.id, "id": 5, "data": {"sdp": "z".repeat(70 * 1024)}});
    a.send(big).await;
    let e = a.recv().await;
    assert_eq!(e["code"], "too_large");
    assert_eq!(e["ref"], 5);
    a.send(json!({"type": "chat", "text": "after"})).await;
    let next = bystander.recv().await;
    assert_eq!(
        next["text"], "after",
        "the bystander saw nothing before this"
    );
}

#[tokio::test]
async fn huge_frame_closes_only_that_connection() {
    let hub = start_server().await;
    let mut a = hub.join("m1", "a", Role::Participant).await;
    let mut bystander = hub.join("m1", "b", Role::Participant).await;
    a.recv_type("peer_joined").await;

    let a_id = a.id;
    let huge = json!({"type": "chat", "text": "z".repeat(300 * 1024)}).to_string();
    // The hub may close before the whole frame is written; either way the socket ends.
    let _ = futures_util::SinkExt::send(&mut a.ws, Message::text(huge)).await;
    let closed = a.expect_close().await;
    assert!(
        matches!(closed.code, Some(1009) | None),
        "closed with {:?}",
        closed.code
    );

    let left = bystander.recv().await;
    assert_eq!(
        left,
        json!({"type": "peer_left", "id": a_id, "reason": "disconnected"})
    );
    let mut c = hub.join("m1", "c", Role::Participant).await;
    c.send(json!({"type": "chat", "text": "after"})).await;
    assert_eq!(bystander.recv_type("chat").await["text"], "after");
}

#[tokio::test]
async fn frames_before_hello_are_refused() {
    let hub = start_server().await;
    let mut c = connect(&hub.url).await;
    c.send(json!({"type": "chat", "text": "hi"})).await;
    let closed = c.expect_close().await;
    assert_eq!(closed.code, Some(4003));
    assert_eq!(closed.frames[0]["code"], "bad_request");

    let mut c = connect(&hub.url).await;
    c.send_raw(Message::text("garbage")).await;
    assert_eq!(c.expect_close().await.code, Some(4003));

    let mut c = connect(&hub.url).await;
    let token = hub.token("m1", "a", "A", Role::Participant);
    c.send(json!({"type": "hello", "protocol": 2, "token": token}))
        .await;
    let closed = c.expect_close().await;
    assert_eq!(closed.code, Some(4002));
    assert_eq!(closed.frames[0]["code"], "unsupported_protocol");
    assert_eq!(
        hub.server.meeting_count(),
        0,
        "nothing entered the registry"
    );
}

#[tokio::test]
async fn silent_socket_is_closed_after_the_hello_timeout() {
    let hub = start_server_with(|c| c.hello_timeout_ms = 200).await;
    let mut c = connect(&hub.url).await;
    assert_eq!(c.expect_close().await.code, Some(4101));
}

#[tokio::test]
async fn chat_is_rate_limited_per_connection() {
    let hub = start_server_with(|c| {
        c.chat_rate = 1;
        c.chat_burst = 3;
    })
    .await;
    let mut a = hub.join("m1", "a", Role::Participant).await;
    for i in 0..6 {
        a.send(json!({"type": "chat", "text": format!("m{i}"), "id": i}))
            .await;
    }
    let mut acks = 0;
    let mut limited = 0;
    while acks + limited < 6 {
        let f = a.recv().await;
        match f["type"].as_str() {
            Some("ack") => acks += 1,
            Some("error") => {
                assert_eq!(f["code"], "rate_limited");
                limited += 1
            }
            _ => {}
        }
    }
    assert!(acks >= 3 && limited >= 1, "acks {acks}, limited {limited}");
    // Signaling has its own bucket and is not affected.
    let b = hub.join("m1", "b", Role::Participant).await;
    a.send(json!({"type": "signal", "to": b.id, "data": {"candidate": "x"}, "id": 99}))
        .await;
    a.recv_until(|f| f["type"] == "ack" && f["ref"] == 99).await;
}

#[tokio::test]
async fn slow_consumer_is_disconnected_others_unaffected() {
    let hub = start_server_with(|c| {
        c.outbound_queue_len = 8;
        c.chat_rate = 10_000;
        c.chat_burst = 10_000;
    })
    .await;
    let mut talker = hub.join("m1", "talker", Role::Participant).await;
    let mut reader = hub.join("m1", "reader", Role::Participant).await;
    let mut sleeper = hub.join("m1", "sleeper", Role::Participant).await;
    talker.wait_joined(sleeper.id).await;
    reader.wait_joined(sleeper.id).await;
    let sleeper_id = sleeper.id;

    // The sleeper never reads. Large messages fill its socket buffers, then its queue.
    let text = "w".repeat(8_000);
    let total = 1_000;
    let mut left_seen = false;
    let mut got = 0;
    for i in 0..total {
        talker
            .send(json!({"type": "chat", "text": format!("{i}:{text}")}))
            .await;
        talker.recv_type("chat").await;
        // The reader keeps up and sees every message in order.
        loop {
            let f = reader.recv().await;
            if f["type"] == "chat" {
                assert!(f["text"].as_str().unwrap().starts_with(&format!("{i}:")));
                got += 1;
                break;
            }
            // 4102 is reconnectable: the hub holds the seat for a resume.
            if f["type"] == "peer_reconnecting" && f["id"] == sleeper_id {
                left_seen = true;
            }
        }
    }
    assert_eq!(got, total);
    if !left_seen {
        reader
            .recv_until(|f| f["type"] == "peer_reconnecting" && f["id"] == sleeper_id)
            .await;
    }
    let closed = sleeper.expect_close().await;
    assert_eq!(closed.code, Some(4102), "slow consumer close code");
}

#[tokio::test]
async fn the_ice_transport_policy_reaches_every_client() {
    let hub = start_server().await;
    let a = hub.join("m", "a", Role::Participant).await;
    assert!(
        a.welcome.get("ice_transport_policy").is_none(),
        "all is the default"
    );
    let hub = start_server_with(|c| {
        c.ice_transport_policy = huddle::protocol::IceTransportPolicy::Relay;
    })
    .await;
    let a = hub.join("m", "a", Role::Participant).await;
    assert_eq!(a.welcome["ice_transport_policy"], "relay");
}
