//! Privacy of the log: chat text, SDP and display names never appear at INFO or above, and tokens
//! never appear at any level. The hub runs in this process with a capturing subscriber at TRACE.

mod common;

use common::*;
use huddle::protocol::Role;
use huddle::pseudonym::Pseudonyms;
use serde_json::json;
use std::io::Write;
use std::sync::{Arc, Mutex};

/// The hub's pseudonym key in this test, so the test can compute the pseudonyms it expects.
const AUDIT_KEY: &str = "log-test-audit-key-0123";

#[derive(Clone, Default)]
struct Capture(Arc<Mutex<Vec<u8>>>);

impl Write for Capture {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_chat_sdp_names_or_tokens_in_the_log() {
    let capture = Capture::default();
    let writer = capture.clone();
    tracing_subscriber::fmt()
        .with_writer(move || writer.clone())
        .with_ansi(false)
        .with_max_level(tracing::Level::TRACE)
        .init();

    let hub = start_server_with(|c| {
        c.audit_key = Some(AUDIT_KEY.into());
        c.resume_grace_secs = 1;
    })
    .await;
    let host_token = hub.token("m1", "host-sub", "Zanzibar Quokka", Role::Host);
    let mut host = connect(&hub.url).await;
    host.hello(&host_token).await;
    host.id = host.recv_type("welcome").await["you"]["id"]
        .as_u64()
        .unwrap();
    let guest_token = hub.token(
        "m1",
        "guest-sub",
        "Philomena Thistlewood",
        Role::Participant,
    );
    let mut guest = connect(&hub.url).await;
    guest.hello(&guest_token).await;
    let welcome = guest.recv_type("welcome").await;
    guest.id = welcome["you"]["id"].as_u64().unwrap();
    let first_resume_token = welcome["resume_token"].as_str().unwrap().to_owned();

    host.send(json!({"type": "chat", "text": "I feel anxious about tuesday"}))
        .await;
    guest.recv_type("chat").await;
    host.send(json!({"type": "chat", "text": "private words about my diagnosis", "to": guest.id}))
        .await;
    guest.recv_type("chat").await;
    let sdp = "v=0\r\no=- 4611731400430051336 2 IN IP4 127.0.0.1\r\ns=-\r\na=fingerprint:sha-256 AB:CD:EF\r\n";
    host.send(json!({"type": "signal", "to": guest.id, "data": {"description": {"type": "offer", "sdp": sdp}}})).await;
    guest.recv_type("signal").await;
    // A dropped connection and a resume: resume tokens are secrets too.
    guest.drop_connection();
    host.recv_type("peer_reconnecting").await;
    let mut guest = connect(&hub.url).await;
    guest
        .hello_resume(&guest_token, &first_resume_token, "main", 0)
        .await;
    let resumed = guest.recv_type("welcome").await;
    guest.id = resumed["you"]["id"].as_u64().unwrap();
    let second_resume_token = resumed["resume_token"].as_str().unwrap().to_owned();
    host.recv_type("peer_reconnected").await;
    // A refused token is logged at debug at most, and never the token itself.
    let bad = format!("{}x", hub.token("m1", "mallory", "Mallory", Role::Host));
    let mut refused = connect(&hub.url).await;
    refused.hello(&bad).await;
    refused.expect_close().await;
    // Moderator actions are audited.
    host.send(json!({"type": "request_mute", "peer": guest.id, "audio": true, "id": 70}))
        .await;
    host.recv_until(|f| f["ref"] == 70).await;
    host.send(json!({"type": "lock", "locked": true, "id": 71}))
        .await;
    host.recv_until(|f| f["ref"] == 71).await;
    host.send(json!({"type": "split", "strategy": "even", "count": 1, "id": 72}))
        .await;
    host.recv_until(|f| f["ref"] == 72).await;
    guest.close().await;
    // The guest was alone in the breakout: the room list shows it empty once the guest is gone.
    host.recv_until(|f| f["type"] == "rooms" && f["rooms"][1]["members"] == json!([]))
        .await;

    every_moderator_action(&hub).await;

    // A held seat given up after the grace, and someone only waiting in the lobby.
    let mut host2 = hub.join("m3", "host3", Role::Host).await;
    let dropper = hub.join("m3", "dropper-sub", Role::Participant).await;
    let dropper_id = dropper.id;
    dropper.drop_connection();
    host2
        .recv_until(|f| {
            f["type"] == "peer_left" && f["id"] == dropper_id && f["reason"] == "timeout"
        })
        .await;
    host2
        .request(json!({"type": "set_lobby", "enabled": true}))
        .await;
    let mut waiter = connect(&hub.url).await;
    waiter
        .hello(&hub.token("m3", "waiter-sub", "Wanda", Role::Participant))
        .await;
    waiter.recv_type("waiting").await;
    host2
        .recv_until(|f| {
            f["type"] == "lobby" && f["waiting"].as_array().is_some_and(|w| !w.is_empty())
        })
        .await;

    let log = String::from_utf8(capture.0.lock().unwrap().clone()).unwrap();
    assert!(log.contains("joined"), "the capture works: {log}");
    assert!(log.contains("resumed"), "the resume is logged (ids only)");
    // Join and audit lines name people by keyed pseudonym only.
    let pseudonyms = Pseudonyms::new(AUDIT_KEY.as_bytes());
    let host = pseudonyms.of("host-sub");
    assert!(
        log.lines()
            .any(|l| l.contains("joined") && l.contains(&format!("who=\"{host}\""))),
        "the host's join carries its pseudonym"
    );
    assert!(
        log.lines().any(|l| l.contains(" INFO audit:")
            && l.contains("action=\"lock\"")
            && l.contains(&format!("by_who=\"{host}\""))),
        "the lock's audit line says who (as a pseudonym)"
    );
    let guest_pseudonym = pseudonyms.of("guest-sub");
    assert!(
        log.lines().any(|l| l.contains("action=\"request_mute\"")
            && l.contains(&format!("subject_who=\"{guest_pseudonym}\""))),
        "the audit line says whom (as a pseudonym)"
    );
    assert!(
        log.lines().any(|l| l.contains("held seat given up")),
        "a held seat given up after the grace is logged"
    );
    assert!(
        log.lines().any(|l| l.contains("waiting in the lobby")),
        "someone waiting is logged as waiting"
    );
    assert!(
        !log.lines()
            .any(|l| l.contains("joined") && l.contains("members=0")),
        "nobody only waiting is logged as joined"
    );
    for secret in [&first_resume_token, &second_resume_token] {
        assert!(!log.contains(secret.as_str()), "a resume token in the log");
    }
    for token in [&host_token, &guest_token, &bad] {
        // Any recognisable piece of a token (its signature) is absent at every level.
        let signature = token.rsplit('.').next().unwrap();
        assert!(!log.contains(signature), "token signature in the log");
        assert!(!log.contains(token.as_str()), "token in the log");
    }
    let audit: Vec<&str> = log.lines().filter(|l| l.contains(" INFO audit:")).collect();
    for action in MODERATOR_ACTIONS {
        assert!(
            audit
                .iter()
                .any(|l| l.contains(&format!("action=\"{action}\""))),
            "audit event for {action}: {audit:?}"
        );
    }
    let info_and_above: String = log
        .lines()
        .filter(|l| {
            [" INFO ", " WARN ", " ERROR "]
                .iter()
                .any(|lvl| l.contains(lvl))
        })
        .collect::<Vec<_>>()
        .join("\n");
    assert!(!info_and_above.is_empty());
    for secret in [
        "host-sub",
        "guest-sub",
        "waiter-sub",
        "I feel anxious",
        "my diagnosis",
        "4611731400430051336",
        "fingerprint",
        "Zanzibar",
        "Quokka",
        "Philomena",
        "Thistlewood",
        "host-sub",
        "guest-sub",
        "Waiting Person",
        "two minutes left",
    ] {
        assert!(
            !info_and_above.contains(secret),
            "{secret:?} logged at INFO+:\n{info_and_above}"
        );
    }
}

/// Every moderator action of the protocol; each must leave an audit line.
const MODERATOR_ACTIONS: [&str; 20] = [
    "request_mute",
    "lock",
    "set_lobby",
    "admit",
    "deny",
    "set_role",
    "split",
    "swap",
    "move",
    "visit",
    "broadcast",
    "extend_timer",
    "merge",
    "reopen",
    "pull_aside",
    "end_aside",
    "raise_hand",
    "remove",
    "transfer_host",
    "end_meeting",
];

/// A host runs every moderator action once, over the wire, in a meeting of its own.
async fn every_moderator_action(hub: &TestServer) {
    let mut host = hub.join("m2", "h", Role::Host).await;
    let mut p1 = hub.join("m2", "p1", Role::Participant).await;
    let mut p2 = hub.join("m2", "p2", Role::Participant).await;
    let p3 = hub.join("m2", "p3", Role::Participant).await;
    let (id1, id2, id3) = (p1.id, p2.id, p3.id);
    host.act(json!({"type": "request_mute", "peer": id1, "audio": true}))
        .await;
    host.act(json!({"type": "lock", "locked": true})).await;
    host.act(json!({"type": "lock", "locked": false})).await;
    host.act(json!({"type": "set_lobby", "enabled": true}))
        .await;
    for sub in ["w1", "w2"] {
        let mut w = connect(&hub.url).await;
        w.hello(&hub.token("m2", sub, "Waiting Person", Role::Participant))
            .await;
        w.recv_type("waiting").await;
        let first = sub == "w1";
        let waiting = host
            .recv_until(|f| {
                f["type"] == "lobby" && f["waiting"].as_array().is_some_and(|l| !l.is_empty())
            })
            .await;
        if first {
            let peer = waiting["waiting"][0]["id"].clone();
            host.act(json!({"type": "admit", "peer": peer})).await;
        } else {
            host.act(json!({"type": "deny"})).await;
        }
    }
    host.act(json!({"type": "set_lobby", "enabled": false}))
        .await;
    host.act(json!({"type": "set_role", "peer": id1, "role": "cohost"}))
        .await;
    let seen = host
        .act(
            json!({"type": "split", "strategy": "manual", "duration_secs": 600,
            "rooms": [{"name": "A", "members": [id1, id2]}, {"name": "B", "members": [id3]}]}),
        )
        .await;
    let rooms = seen
        .into_iter()
        .find(|f| f["type"] == "rooms")
        .expect("the room list before the ack");
    let (room_a, room_b) = (
        rooms["rooms"][1]["id"].clone(),
        rooms["rooms"][2]["id"].clone(),
    );
    host.act(json!({"type": "swap", "a": id2, "b": id3})).await;
    host.act(json!({"type": "move", "peer": id2, "room": room_a}))
        .await;
    host.act(json!({"type": "visit", "room": room_b})).await;
    host.act(json!({"type": "broadcast", "text": "two minutes left"}))
        .await;
    host.act(json!({"type": "extend_timer", "secs": 60})).await;
    host.act(json!({"type": "merge"})).await;
    host.act(json!({"type": "reopen"})).await;
    host.act(json!({"type": "merge"})).await;
    host.act(json!({"type": "pull_aside", "peer": id3})).await;
    host.act(json!({"type": "end_aside"})).await;
    p2.act(json!({"type": "raise_hand", "raised": true})).await;
    host.act(json!({"type": "raise_hand", "raised": false, "peer": id2}))
        .await;
    host.act(json!({"type": "remove", "peer": id2, "ban": true}))
        .await;
    host.act(json!({"type": "transfer_host", "peer": id1}))
        .await;
    p1.send(json!({"type": "end_meeting"})).await;
    assert_eq!(p1.expect_close().await.code, Some(4009));
}
