//! Two real WebRTC peers (`webrtc` crate) negotiate through the hub — offer, answer and trickle
//! ICE relayed as `signal` — connect on loopback and exchange data-channel messages.

mod common;
#[path = "common/rtc.rs"]
mod rtc;

use common::*;
use huddle::protocol::Role;
use rtc::{RtcEvent, RtcNode};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_webrtc_peers_connect_through_the_hub() {
    let hub = start_server().await;
    let a = hub.join("therapy", "a", Role::Host).await;
    let b = hub.join("therapy", "b", Role::Participant).await;
    let (a_id, b_id) = (a.id, b.id);
    let mut a = RtcNode::start(a);
    let mut b = RtcNode::start(b);

    a.until_open_with(&[b_id]).await;
    b.until_open_with(&[a_id]).await;

    a.send(b_id, "hello from a");
    let got = b.until(|e| matches!(e, RtcEvent::Message(..))).await;
    assert_eq!(got, RtcEvent::Message(a_id, "hello from a".into()));
    b.send(a_id, "hello from b");
    let got = a.until(|e| matches!(e, RtcEvent::Message(..))).await;
    assert_eq!(got, RtcEvent::Message(b_id, "hello from b".into()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_peer_whose_network_drops_resumes_and_reconnects_media() {
    let hub = start_server().await;
    let a = hub.join("therapy", "a", Role::Host).await;
    let b_token = hub.token("therapy", "b", "B", Role::Participant);
    let mut b = connect(&hub.url).await;
    b.hello(&b_token).await;
    b.welcome = b.recv_type("welcome").await;
    b.id = b.welcome["you"]["id"].as_u64().expect("id");
    let resume_token = b.welcome["resume_token"]
        .as_str()
        .expect("resume token")
        .to_owned();
    let (a_id, b_id) = (a.id, b.id);
    let mut a = RtcNode::start(a);
    let mut b = RtcNode::start(b);
    a.until_open_with(&[b_id]).await;
    b.until_open_with(&[a_id]).await;

    b.drop_network();
    a.until(|e| matches!(e, RtcEvent::Hub(f) if f["type"] == "peer_reconnecting"))
        .await;
    a.until_open_with(&[]).await;

    // B comes back on a new socket and takes its seat back: same id, and A connects to it again.
    let mut back = connect(&hub.url).await;
    back.hello_resume(&b_token, &resume_token, "main", 0).await;
    back.welcome = back.recv_type("welcome").await;
    back.id = back.welcome["you"]["id"].as_u64().expect("id");
    assert_eq!(back.id, b_id, "same peer id after the resume");
    assert_eq!(back.welcome["resumed"], true);
    let mut b = RtcNode::start(back);
    a.until_open_with(&[b_id]).await;
    b.until_open_with(&[a_id]).await;
    a.send(b_id, "glad you're back");
    let got = b.until(|e| matches!(e, RtcEvent::Message(..))).await;
    assert_eq!(got, RtcEvent::Message(a_id, "glad you're back".into()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn four_peers_follow_a_split_into_pairs_and_the_merge() {
    let hub = start_server().await;
    let mut nodes = Vec::new();
    for (sub, role) in [
        ("host", Role::Host),
        ("a", Role::Participant),
        ("b", Role::Participant),
        ("c", Role::Participant),
    ] {
        let client = hub.join("group", sub, role).await;
        nodes.push(RtcNode::start(client));
    }
    let ids: Vec<u64> = nodes.iter().map(|n| n.id).collect();
    // Full mesh: six data channels.
    for node in nodes.iter_mut() {
        let others: Vec<u64> = ids.iter().copied().filter(|&p| p != node.id).collect();
        node.until_open_with(&others).await;
    }

    // Two pairs: the host with a, b with c.
    let split = serde_json::json!({"type": "split", "strategy": "manual", "id": 1, "rooms": [
        {"name": "Pair 1", "members": [ids[0], ids[1]]}, {"name": "Pair 2", "members": [ids[2], ids[3]]}]});
    nodes[0].hub(split);
    let partner = |i: usize| ids[i ^ 1];
    for (i, node) in nodes.iter_mut().enumerate() {
        node.until(|e| matches!(e, RtcEvent::Hub(f) if f["type"] == "room_changed"))
            .await;
        node.until_open_with(&[partner(i)]).await;
    }
    // Data still flows inside each pair.
    nodes[2].send(ids[3], "pair two");
    let got = nodes[3].until(|e| matches!(e, RtcEvent::Message(..))).await;
    assert_eq!(got, RtcEvent::Message(ids[2], "pair two".into()));

    // Merge: all six connections come back.
    nodes[0].hub(serde_json::json!({"type": "merge", "id": 2}));
    for node in nodes.iter_mut() {
        node.until(
            |e| matches!(e, RtcEvent::Hub(f) if f["type"] == "room_changed" && f["room"] == "main"),
        )
        .await;
        let others: Vec<u64> = ids.iter().copied().filter(|&p| p != node.id).collect();
        node.until_open_with(&others).await;
    }
}
