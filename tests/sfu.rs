//! SFU media through the hub, with real WebRTC clients (the `webrtc` crate, 0.17.2) publishing
//! tagged synthetic audio and video: delivery in a room, privacy across room changes, keyframes
//! for new roommates, removal, observers and hard mutes. One peer connection per person for the
//! whole meeting. Times are printed, never asserted tighter than a generous deadline (the
//! benchmark, `huddle-loadtest sfu`, measures them).

mod common;
#[path = "common/sfu.rs"]
mod sfu;

use common::*;
use futures_util::future::join_all;
use huddle::protocol::{MediaMode, Role};
use serde_json::{json, Value};
use sfu::{act, others, window, Received, SfuEvent, SfuNode};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::Ordering;
use std::time::Duration;

async fn sfu_hub() -> TestServer {
    start_server_with(|c| c.media_mode = MediaMode::Sfu).await
}

/// A host and `n` participants in meeting `g`, all publishing, everyone seeing everyone.
async fn group(hub: &TestServer, n: usize) -> Vec<SfuNode> {
    let mut clients = vec![hub.join("g", "host", Role::Host).await];
    for i in 0..n {
        clients.push(hub.join("g", &format!("p{i}"), Role::Participant).await);
    }
    let ids: Vec<u64> = clients.iter().map(|c| c.id).collect();
    let mut nodes = Vec::new();
    for c in clients {
        nodes.push(SfuNode::start(c.id, c.ws, true).await);
    }
    join_all(nodes.iter_mut().map(|node| {
        let from: Vec<u64> = ids.iter().copied().filter(|i| *i != node.id).collect();
        async move { node.until_seen(&from, DEADLINE).await }
    }))
    .await;
    nodes
}

/// Waits on `node` for a hub frame of type `kind`; returns it and when the node got it.
async fn learned(node: &mut SfuNode, kind: &str) -> (Value, u64) {
    let mut media = Vec::new();
    let v = node.hub_frame(&mut media, |v| v["type"] == kind).await;
    let at = v["_at"].as_u64().expect("stamped");
    (v, at)
}

/// No packet from a non-roommate after the change; a keyframe from each roommate who was not
/// one before (`before`); returns those keyframes' delays.
fn assert_private(who: u64, w: &sfu::Window, before: &[u64]) -> Vec<Duration> {
    assert!(
        w.violations.is_empty(),
        "node {who} got {} packets from non-roommates after it knew, e.g. {:?}",
        w.violations.len(),
        w.violations.first()
    );
    let mut delays = Vec::new();
    for (peer, took) in &w.keyframes {
        if before.contains(peer) {
            continue;
        }
        match took {
            Some(d) => delays.push(*d),
            None => panic!("node {who}: no keyframe from new roommate {peer}"),
        }
    }
    delays
}

/// Who each node's roommates were in the last window.
type Rooms = BTreeMap<u64, Vec<u64>>;

fn remember(rooms: &mut Rooms, who: u64, w: &sfu::Window) {
    rooms.insert(who, w.keyframes.iter().map(|(p, _)| *p).collect());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_people_hear_and_see_each_other_through_the_hub() {
    let hub = sfu_hub().await;
    let a = hub.join("g", "a", Role::Host).await;
    assert_eq!(a.welcome["media"], "sfu");
    let b = hub.join("g", "b", Role::Participant).await;
    let (a_id, b_id) = (a.id, b.id);
    let mut a = SfuNode::start(a.id, a.ws, true).await;
    let mut b = SfuNode::start(b.id, b.ws, true).await;
    let took_a = a.until_seen(&[b_id], DEADLINE).await;
    let took_b = b.until_seen(&[a_id], DEADLINE).await;
    eprintln!("first keyframe: a saw b after {took_a:?}, b saw a after {took_b:?}");
    // Mesh signaling is refused in an SFU meeting: it would hand out addresses.
    a.hub(json!({"type": "signal", "id": 9, "to": b_id, "data": {"type": "offer"}}));
    let mut media = Vec::new();
    let refused = a.hub_frame(&mut media, |v| v["type"] == "error").await;
    assert_eq!(refused["code"], "conflict");
    // And nothing else changed: b's media still arrives.
    let mut frames = Vec::new();
    media.extend(a.collect(Duration::from_millis(500), &mut frames).await);
    assert!(media.iter().any(|r| r.from == b_id));
}

/// Six people in one room for 20 s: every stream arrives (≥ 99.9 % of packets), the loudest
/// is named the active speaker, and nobody made a second peer connection.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn six_in_a_room_receive_everyone_for_twenty_seconds() {
    let hub = sfu_hub().await;
    let mut nodes = group(&hub, 5).await;
    let loudest = nodes.iter().map(|n| n.id).min().unwrap();
    let windows = join_all(nodes.iter_mut().map(|node| async move {
        let mut frames = Vec::new();
        let media = node.collect(Duration::from_secs(20), &mut frames).await;
        (node.id, media, frames)
    }))
    .await;
    let mut worst = 1.0f64;
    for (me, media, frames) in &windows {
        let mut streams: BTreeMap<(u64, bool), BTreeSet<u32>> = BTreeMap::new();
        for r in media {
            streams.entry((r.from, r.video)).or_default().insert(r.seq);
        }
        assert_eq!(
            streams.len(),
            10,
            "node {me}: audio and video of five others"
        );
        for ((from, video), seqs) in &streams {
            let (lo, hi) = (*seqs.first().unwrap(), *seqs.last().unwrap());
            let ratio = seqs.len() as f64 / f64::from(hi - lo + 1);
            worst = worst.min(ratio);
            assert!(
                ratio >= 0.999,
                "node {me} from {from} video={video}: {} of {} packets",
                seqs.len(),
                hi - lo + 1
            );
        }
        let named = frames
            .iter()
            .filter(|f| f["type"] == "active_speaker")
            .filter_map(|f| f["peers"][0].as_u64())
            .collect::<Vec<_>>();
        if *me != loudest {
            assert!(
                named.contains(&loudest),
                "node {me} never heard {loudest} named the active speaker: {named:?}"
            );
        }
    }
    for node in &nodes {
        assert_eq!(node.connections_made.load(Ordering::Relaxed), 1);
    }
    eprintln!("worst delivery over 20 s: {:.5}", worst);
}

/// Split, move, pull aside, end aside, merge: after each change, nothing from a non-roommate
/// sent after a client learned of the change reaches it, each new roommate's keyframe arrives,
/// and still one peer connection each.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn room_changes_are_private_in_media() {
    let hub = sfu_hub().await;
    let mut nodes = group(&hub, 4).await;
    let ids: Vec<u64> = nodes.iter().map(|n| n.id).collect();
    let span = Duration::from_millis(1500);
    let mut keyframe_ms = Vec::new();
    let mut rooms: Rooms = ids
        .iter()
        .map(|me| (*me, ids.iter().copied().filter(|p| p != me).collect()))
        .collect();

    // Split: two rooms of two; the host stays in the main room, alone.
    let (p0, p1, p2, p3) = (ids[1], ids[2], ids[3], ids[4]);
    nodes[0].hub(json!({"type": "split", "strategy": "manual", "rooms": [
        {"members": [p0, p1]}, {"members": [p2, p3]}]}));
    let results = join_all(nodes.iter_mut().enumerate().map(|(i, node)| async move {
        let (roommates, t, list) = if i == 0 {
            let (v, t) = learned(node, "rooms").await;
            (Vec::new(), t, Some(v))
        } else {
            let (v, t) = learned(node, "room_changed").await;
            (others(&v["peers"], node.id), t, None)
        };
        (node.id, window(node, t, &roommates, span).await, list)
    }))
    .await;
    let second_breakout = results[0].2.as_ref().expect("the host's room list")["rooms"][2]["id"]
        .as_str()
        .expect("two breakouts")
        .to_owned();
    for (who, w, _) in &results {
        keyframe_ms.extend(assert_private(*who, w, &rooms[who]));
    }
    for (who, w, _) in &results {
        remember(&mut rooms, *who, w);
    }

    // Move p0 into the other breakout: p0, p2 and p3 together; p1 alone.
    nodes[0].hub(json!({"type": "move", "peer": p0, "room": second_breakout}));
    let results = join_all(nodes.iter_mut().map(|node| async move {
        let me = node.id;
        let (roommates, t): (Vec<u64>, u64) = if me == p0 {
            let (v, t) = learned(node, "room_changed").await;
            (others(&v["peers"], me), t)
        } else if me == p1 {
            let (_, t) = learned(node, "peer_left").await;
            (Vec::new(), t)
        } else if me == p2 || me == p3 {
            let (_, t) = learned(node, "peer_joined").await;
            (vec![p0, if me == p2 { p3 } else { p2 }], t)
        } else {
            (Vec::new(), sfu::epoch_ns())
        };
        (me, window(node, t, &roommates, span).await)
    }))
    .await;
    for (who, w) in &results {
        keyframe_ms.extend(assert_private(*who, w, &rooms[who]));
        remember(&mut rooms, *who, w);
    }

    // Merge: everyone together again, everyone's keyframe to everyone.
    nodes[0].hub(json!({"type": "merge"}));
    let results = join_all(nodes.iter_mut().enumerate().map(|(i, node)| {
        let everyone: Vec<u64> = ids.iter().copied().filter(|p| *p != ids[i]).collect();
        async move {
            let t = if i == 0 {
                // The host never left the main room: people joining it say so.
                let (_, t) = learned(node, "peer_joined").await;
                t
            } else {
                learned(node, "room_changed").await.1
            };
            (node.id, window(node, t, &everyone, span).await)
        }
    }))
    .await;
    for (who, w) in &results {
        keyframe_ms.extend(assert_private(*who, w, &rooms[who]));
        remember(&mut rooms, *who, w);
    }

    // Pull aside: the host and p1 alone together; the others do not get either of them.
    let host = ids[0];
    nodes[0].hub(json!({"type": "pull_aside", "peer": p1}));
    let results = join_all(nodes.iter_mut().map(|node| async move {
        let me = node.id;
        let (roommates, t) = if me == host || me == p1 {
            let (v, t) = learned(node, "room_changed").await;
            (others(&v["peers"], me), t)
        } else {
            // Both leave the main room; the second departure is the one that counts.
            let mut media = Vec::new();
            let _ = node
                .hub_frame(&mut media, |v| v["type"] == "peer_left")
                .await;
            let (_, t) = learned(node, "peer_left").await;
            (
                vec![p0, p2, p3].into_iter().filter(|p| *p != me).collect(),
                t,
            )
        };
        (me, window(node, t, &roommates, span).await)
    }))
    .await;
    for (who, w) in &results {
        keyframe_ms.extend(assert_private(*who, w, &rooms[who]));
        remember(&mut rooms, *who, w);
    }
    for node in &nodes {
        assert_eq!(node.connections_made.load(Ordering::Relaxed), 1);
    }
    keyframe_ms.sort();
    eprintln!(
        "keyframe after a change, ms: {:?}",
        keyframe_ms
            .iter()
            .map(|d| d.as_millis())
            .collect::<Vec<_>>()
    );
}

/// A removed person's media stops at once; everyone else keeps theirs.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_removed_persons_media_stops() {
    let hub = sfu_hub().await;
    let mut nodes = group(&hub, 2).await;
    let (host, gone) = (nodes[0].id, nodes[2].id);
    act(&mut nodes[0], json!({"type": "remove", "peer": gone})).await;
    let (_, t) = learned(&mut nodes[1], "peer_left").await;
    let w = window(&mut nodes[1], t, &[host], Duration::from_millis(1500)).await;
    assert!(w.violations.is_empty(), "{:?}", w.violations.first());
    assert!(w.packets > 50, "the host's media still flows");
}

/// An observer cannot publish (an offer that sends is refused by role); an offer that only
/// receives is answered, and it sees and hears the others.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_observer_receives_but_cannot_publish() {
    let hub = sfu_hub().await;
    let host = hub.join("g", "host", Role::Host).await;
    let host_id = host.id;
    let mut host = SfuNode::start(host.id, host.ws, true).await;
    let observer = hub.join("g", "obs", Role::Observer).await;
    let obs_id = observer.id;
    // With an offer: refused.
    let refused = SfuNode::start(observer.id, observer.ws, true).await;
    let mut refused = refused;
    let mut media = Vec::new();
    let error = refused
        .hub_frame(&mut media, |v| v["type"] == "error")
        .await;
    assert_eq!(error["code"], "forbidden");
    drop(refused);
    // Without: it sees and hears the host, and the host gets nothing from it.
    let observer = hub.join("g", "obs", Role::Observer).await;
    let mut observer = SfuNode::start(observer.id, observer.ws, false).await;
    observer.until_seen(&[host_id], DEADLINE).await;
    let mut frames = Vec::new();
    let got = host.collect(Duration::from_millis(500), &mut frames).await;
    assert!(got.iter().all(|r: &Received| r.from != obs_id));
}

/// A host's hard mute stops the hub forwarding that microphone; allowing it again restores it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hard_mute_stops_forwarding_and_lifting_it_restores_it() {
    let hub = sfu_hub().await;
    let mut nodes = group(&hub, 2).await;
    let target = nodes[2].id;
    act(
        &mut nodes[0],
        json!({"type": "block_media", "peer": target, "audio": true}),
    )
    .await;
    let (v, t) = learned(&mut nodes[1], "peer_updated").await;
    assert_eq!(v["peer"]["audio_blocked"], true);
    let mut frames = Vec::new();
    let media = nodes[1]
        .collect(Duration::from_millis(1500), &mut frames)
        .await;
    let leaked: Vec<_> = media
        .iter()
        .filter(|r| r.from == target && !r.video && r.sent_ns > t)
        .collect();
    assert!(
        leaked.is_empty(),
        "{} audio packets after the block",
        leaked.len()
    );
    assert!(
        media.iter().any(|r| r.from == target && r.video),
        "the camera was not blocked"
    );
    // The blocked person cannot lift it; a host can.
    nodes[2].hub(json!({"type": "block_media", "id": 5, "peer": target, "audio": false}));
    let mut media = Vec::new();
    let refused = nodes[2]
        .hub_frame(&mut media, |v| v["type"] == "error")
        .await;
    assert_eq!(refused["code"], "forbidden");
    act(
        &mut nodes[0],
        json!({"type": "block_media", "peer": target, "audio": false}),
    )
    .await;
    let start = std::time::Instant::now();
    let give_up = tokio::time::Instant::now() + DEADLINE;
    loop {
        match nodes[1].next(give_up).await {
            Some(SfuEvent::Media(r)) if r.from == target && !r.video => break,
            Some(_) => {}
            None => panic!("audio did not come back"),
        }
    }
    eprintln!(
        "audio back {:?} after the unblock was acked",
        start.elapsed()
    );
}

/// Someone who was alone for a while (publishing to nobody) is seen and heard at once by the
/// next person to arrive.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_late_joiner_sees_someone_who_was_alone() {
    let hub = sfu_hub().await;
    let host = hub.join("g", "host", Role::Host).await;
    let host_id = host.id;
    let mut host = SfuNode::start(host.id, host.ws, true).await;
    let mut frames = Vec::new();
    let _ = host.collect(Duration::from_millis(2500), &mut frames).await;
    let late = hub.join("g", "late", Role::Participant).await;
    let late_id = late.id;
    let mut late = SfuNode::start(late.id, late.ws, true).await;
    let took = late.until_seen(&[host_id], DEADLINE).await;
    host.until_seen(&[late_id], DEADLINE).await;
    eprintln!("late joiner saw the host's keyframe after {took:?}");
}

/// Media keeps flowing past ICE's consent and failure timeouts (a session lasts 90 minutes).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn media_keeps_flowing_past_ice_timeouts() {
    let hub = sfu_hub().await;
    let a = hub.join("g", "a", Role::Host).await;
    let b = hub.join("g", "b", Role::Participant).await;
    let (a_id, b_id) = (a.id, b.id);
    let mut a = SfuNode::start(a.id, a.ws, true).await;
    let mut b = SfuNode::start(b.id, b.ws, true).await;
    a.until_seen(&[b_id], DEADLINE).await;
    b.until_seen(&[a_id], DEADLINE).await;
    let (mut frames_a, mut frames_b) = (Vec::new(), Vec::new());
    for second in 0..35 {
        let (got_a, got_b) = tokio::join!(
            a.collect(Duration::from_secs(1), &mut frames_a),
            b.collect(Duration::from_secs(1), &mut frames_b)
        );
        assert!(
            got_a.iter().any(|r| r.from == b_id) && got_b.iter().any(|r| r.from == a_id),
            "media stopped after {second} s: a got {}, b got {}",
            got_a.len(),
            got_b.len()
        );
    }
}

/// A subscriber that lost a frame asks for a keyframe (PLI on its slot): the hub passes it to
/// the publisher of whatever that slot carries.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_subscribers_keyframe_request_reaches_the_publisher() {
    let hub = sfu_hub().await;
    let mut nodes = group(&hub, 1).await;
    let publisher = nodes[0].id;
    // Settled: nobody waits for a keyframe, so the hub sends no PLI of its own accord.
    let mut frames = Vec::new();
    let _ = nodes[1]
        .collect(Duration::from_millis(800), &mut frames)
        .await;
    let before = nodes[0].plis_received.load(Ordering::Relaxed);
    let give_up = tokio::time::Instant::now() + DEADLINE;
    while nodes[0].plis_received.load(Ordering::Relaxed) == before {
        // Resent until it arrives: the first may meet the hub's per-stream throttle.
        nodes[1].pli(publisher);
        assert!(
            tokio::time::Instant::now() < give_up,
            "the publisher never got the subscriber's keyframe request"
        );
        let _ = nodes[1]
            .collect(Duration::from_millis(300), &mut frames)
            .await;
    }
}

/// Waits until `node` receives a keyframe of `from`'s shared screen; returns how long it took.
async fn until_screen(node: &mut SfuNode, from: u64) -> Duration {
    let start = tokio::time::Instant::now();
    let give_up = start + Duration::from_secs(30);
    loop {
        match node.next(give_up).await {
            Some(SfuEvent::Media(r)) if r.from == from && r.screen && r.keyframe => {
                return start.elapsed()
            }
            Some(_) => {}
            None => panic!("node {}: no screen from {from}", node.id),
        }
    }
}

/// Screen sharing goes through the one connection (its second sending video section): hosts may
/// always share, participants only while a host allows it; roommates get it on a slot marked
/// `screen`, and when sharing is forbidden again or the viewer leaves the room, it stops.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_shared_screen_reaches_the_room_and_only_while_allowed() {
    let hub = sfu_hub().await;
    let host = hub.join("g", "host", Role::Host).await;
    let alex = hub.join("g", "alex", Role::Participant).await;
    let sam = hub.join("g", "sam", Role::Participant).await;
    assert!(
        alex.welcome.get("screen_share_allowed").is_none(),
        "off by default"
    );
    let (host_id, alex_id, sam_id) = (host.id, alex.id, sam.id);
    let mut host = SfuNode::start_sharing(host.id, host.ws).await;
    let mut alex = SfuNode::start_sharing(alex.id, alex.ws).await;
    let mut sam = SfuNode::start(sam.id, sam.ws, true).await;
    sam.until_seen(&[host_id, alex_id], Duration::from_secs(30))
        .await;

    // The host shares: Sam's slot table names it, and its frames arrive.
    act(
        &mut host,
        json!({"type": "media_state", "audio": true, "video": true, "screen": true}),
    )
    .await;
    let mut media = Vec::new();
    let tracks = sam
        .hub_frame(&mut media, |v| {
            v["type"] == "sfu_tracks"
                && v["slots"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .any(|s| s["screen"] == true)
        })
        .await;
    let slot = tracks["slots"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["screen"] == true)
        .unwrap();
    assert_eq!(slot["peer"], host_id);
    assert_eq!(slot["kind"], "video");
    println!(
        "the host's screen reached Sam after {:?}",
        until_screen(&mut sam, host_id).await
    );

    // A participant may not share until a host allows it.
    alex.hub(json!({"type": "media_state", "id": 9, "audio": true, "video": true, "screen": true}));
    let refused = alex
        .hub_frame(&mut media, |v| v["type"] == "error" && v["ref"] == 9)
        .await;
    assert_eq!(refused["code"], "forbidden");
    act(
        &mut host,
        json!({"type": "allow_screen_share", "allowed": true}),
    )
    .await;
    alex.hub_frame(&mut media, |v| {
        v["type"] == "screen_share_allowed" && v["allowed"] == true
    })
    .await;
    act(
        &mut alex,
        json!({"type": "media_state", "audio": true, "video": true, "screen": true}),
    )
    .await;
    println!(
        "Alex's screen reached Sam after {:?}",
        until_screen(&mut sam, alex_id).await
    );

    // Forbidden again: Alex's screen stops at once (everyone is told), the host's goes on.
    act(
        &mut host,
        json!({"type": "allow_screen_share", "allowed": false}),
    )
    .await;
    let stopped = sam
        .hub_frame(&mut media, |v| {
            v["type"] == "peer_media" && v["id"] == alex_id
        })
        .await;
    assert!(stopped.get("screen").is_none(), "{stopped}");
    let after = sfu::epoch_ns();
    let mut hub_frames = Vec::new();
    let seen = sam
        .collect(Duration::from_millis(1500), &mut hub_frames)
        .await;
    // A packet already in flight when the change was made may still land; nothing sent after.
    assert!(
        !seen
            .iter()
            .any(|r| r.from == alex_id && r.screen && r.sent_ns > after),
        "Alex's screen still forwarded"
    );
    assert!(
        seen.iter().any(|r| r.from == host_id && r.screen),
        "the host's screen goes on"
    );

    // Sam leaves the host's room: the host's screen no longer reaches him.
    act(
        &mut host,
        json!({"type": "split", "strategy": "manual", "rooms": [{"members": [sam_id]}]}),
    )
    .await;
    sam.hub_frame(&mut media, |v| v["type"] == "room_changed")
        .await;
    let after = sfu::epoch_ns();
    let seen = sam
        .collect(Duration::from_millis(1500), &mut hub_frames)
        .await;
    assert!(
        !seen.iter().any(|r| r.screen && r.sent_ns > after),
        "a screen from another room reached Sam"
    );
}
