//! Breakout rooms over real WebSockets: every host action, the timer and countdown, ask for help,
//! and refusals for people who may not run the room.

mod common;

use common::*;
use huddle::protocol::Role;
use serde_json::{json, Value};

/// A host and `n` participants in meeting `m`, everyone's join announcements consumed.
async fn group(hub: &TestServer, n: usize) -> (Client, Vec<Client>) {
    let mut host = hub.join("m", "host", Role::Host).await;
    let mut people: Vec<Client> = Vec::new();
    for i in 0..n {
        let c = hub.join("m", &format!("p{i}"), Role::Participant).await;
        host.wait_joined(c.id).await;
        for p in people.iter_mut() {
            p.wait_joined(c.id).await;
        }
        people.push(c);
    }
    (host, people)
}

/// The last frame of `kind` among `frames`.
fn last(frames: &[Value], kind: &str) -> Value {
    frames
        .iter()
        .rev()
        .find(|f| f["type"] == kind)
        .cloned()
        .unwrap_or_else(|| panic!("no {kind} in {frames:?}"))
}

/// Sends a frame with an `id` and returns the error code it got.
async fn refused(c: &mut Client, mut frame: Value) -> String {
    frame["id"] = json!(778);
    c.send(frame).await;
    let answer = c.recv_until(|f| f["ref"] == 778).await;
    assert_eq!(answer["type"], "error", "expected a refusal: {answer}");
    answer["code"].as_str().unwrap().to_owned()
}

fn ids(peers: &Value) -> Vec<u64> {
    let mut v: Vec<u64> = peers
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["id"].as_u64().unwrap())
        .collect();
    v.sort();
    v
}

#[tokio::test]
async fn split_even_gives_everyone_one_room_and_the_host_stays() {
    let hub = start_server().await;
    let (mut host, mut people) = group(&hub, 4).await;
    let split = host.act(json!({"type": "split", "strategy": "even", "count": 2,
        "rooms": [{"name": "Circle A", "topic": "A small win this week"}, {"topic": "Something you look forward to"}]}))
    .await;

    let mut rooms: Vec<(String, u64)> = Vec::new();
    for p in people.iter_mut() {
        let changed = p.recv().await;
        assert_eq!(
            changed["type"], "room_changed",
            "first event after a split is room_changed"
        );
        let room = changed["room"].as_str().unwrap().to_owned();
        assert_ne!(room, "main");
        assert!(changed["topic"].is_string());
        let members = ids(&changed["peers"]);
        assert_eq!(members.len(), 2, "rooms of two, you included");
        assert!(members.contains(&p.id));
        let partner = members.into_iter().find(|&m| m != p.id).unwrap();
        rooms.push((room, partner));
        let list = p.recv_type("rooms").await;
        assert_eq!(list["rooms"].as_array().unwrap().len(), 3);
    }
    // Partners agree with each other.
    for (i, (room, partner)) in rooms.iter().enumerate() {
        let j = people.iter().position(|p| p.id == *partner).unwrap();
        assert_eq!(&rooms[j].0, room);
        assert_eq!(rooms[j].1, people[i].id);
    }
    let names: Vec<String> = {
        let list = last(&split, "rooms");
        assert_eq!(list["rooms"][0]["id"], "main");
        assert_eq!(list["rooms"][0]["members"], json!([host.id]));
        list["rooms"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["name"].as_str().unwrap().to_owned())
            .collect()
    };
    assert_eq!(names, ["Main room", "Circle A", "Room 2"]);

    // Chat stays in its breakout, with its own sequence.
    let partner_id = rooms[0].1;
    people[0]
        .send(json!({"type": "chat", "text": "breakout hello"}))
        .await;
    let j = people.iter().position(|p| p.id == partner_id).unwrap();
    let got = people[j].recv_type("chat").await;
    assert_eq!(got["room"], rooms[0].0);
    assert_eq!(got["seq"], 1);
    host.send(json!({"type": "chat", "text": "main marker"}))
        .await;
    let own = host.recv_type("chat").await;
    assert_eq!(own["text"], "main marker", "the host saw no breakout chat");

    // Merge: everyone back, main history continues.
    host.act(json!({"type": "merge"})).await;
    for p in people.iter_mut() {
        let back = p.recv_type("room_changed").await;
        assert_eq!(back["room"], "main");
        assert_eq!(
            back["peers"].as_array().unwrap().len(),
            5,
            "host and four participants"
        );
        assert_eq!(
            back["chat"].as_array().unwrap().last().unwrap()["text"],
            "main marker"
        );
    }
    people[1]
        .send(json!({"type": "chat", "text": "after merge"}))
        .await;
    let got = host.recv_type("chat").await;
    assert_eq!(got["room"], "main");
    assert_eq!(
        got["seq"],
        own["seq"].as_u64().unwrap() + 1,
        "main history continues"
    );
}

#[tokio::test]
async fn move_swap_and_visit() {
    let hub = start_server().await;
    let (mut host, mut people) = group(&hub, 4).await;
    let seen = host
        .act(json!({"type": "split", "strategy": "manual", "rooms": [
        {"members": [people[0].id, people[1].id]}, {"members": [people[2].id, people[3].id]}]}))
        .await;
    let list = last(&seen, "rooms");
    let b1 = list["rooms"][1]["id"].as_str().unwrap().to_owned();
    let b2 = list["rooms"][2]["id"].as_str().unwrap().to_owned();
    for p in people.iter_mut() {
        p.recv_type("rooms").await;
    }

    // Move p0 to b2: p0 gets room_changed first; b1 sees peer_left(moved); b2 sees peer_joined.
    host.act(json!({"type": "move", "peer": people[0].id, "room": b2}))
        .await;
    let changed = people[0].recv().await;
    assert_eq!(changed["type"], "room_changed");
    assert_eq!(changed["room"], b2.as_str());
    assert_eq!(ids(&changed["peers"]), {
        let mut v = vec![people[0].id, people[2].id, people[3].id];
        v.sort();
        v
    });
    let left = people[1].recv_type("peer_left").await;
    assert_eq!(
        left,
        json!({"type": "peer_left", "id": people[0].id, "reason": "moved"})
    );
    for k in [2, 3] {
        let joined = people[k].recv_type("peer_joined").await;
        assert_eq!(joined["peer"]["id"], people[0].id);
    }
    // A signal to someone who just moved away is refused, not dropped or leaked.
    let moved = people[0].id;
    let code = refused(
        &mut people[1],
        json!({"type": "signal", "to": moved, "data": {"candidate": "x"}}),
    )
    .await;
    assert_eq!(code, "not_found");

    // Swap p1 (b1) and p2 (b2).
    host.act(json!({"type": "swap", "a": people[1].id, "b": people[2].id}))
        .await;
    assert_eq!(
        people[1].recv_type("room_changed").await["room"],
        b2.as_str()
    );
    assert_eq!(
        people[2].recv_type("room_changed").await["room"],
        b1.as_str()
    );

    // Visit b1 and come back.
    let there = last(
        &host.act(json!({"type": "visit", "room": b1})).await,
        "room_changed",
    );
    assert_eq!(there["room"], b1.as_str());
    assert_eq!(ids(&there["peers"]), {
        let mut v = vec![host.id, people[2].id];
        v.sort();
        v
    });
    assert_eq!(
        people[2].recv_type("peer_joined").await["peer"]["id"],
        host.id
    );
    let back = host.act(json!({"type": "visit", "room": "main"})).await;
    assert_eq!(last(&back, "room_changed")["room"], "main");
    assert_eq!(people[2].recv_type("peer_left").await["reason"], "moved");

    // Unknown room and unknown peer.
    assert_eq!(
        refused(
            &mut host,
            json!({"type": "move", "peer": people[0].id, "room": "b99"})
        )
        .await,
        "not_found"
    );
    assert_eq!(
        refused(
            &mut host,
            json!({"type": "move", "peer": 424242, "room": "main"})
        )
        .await,
        "not_found"
    );
    // A second split while rooms are open is a conflict.
    assert_eq!(
        refused(
            &mut host,
            json!({"type": "split", "strategy": "even", "count": 2})
        )
        .await,
        "conflict"
    );
}

#[tokio::test]
async fn broadcast_and_ask_for_help() {
    let hub = start_server().await;
    let (mut host, mut people) = group(&hub, 2).await;
    host.act(json!({"type": "split", "strategy": "pairs"}))
        .await;
    for p in people.iter_mut() {
        p.recv_type("room_changed").await;
    }
    host.act(json!({"type": "broadcast", "text": "Two minutes left, wrap up"}))
        .await;
    for p in people.iter_mut() {
        let b = p.recv_type("broadcast").await;
        assert_eq!(b["text"], "Two minutes left, wrap up");
        assert_eq!(b["from"], host.id);
    }
    people[0].act(json!({"type": "ask_help"})).await;
    let help = host.recv_type("help_requested").await;
    assert_eq!(help["from"], people[0].id);
    assert!(help["room"].as_str().unwrap().starts_with('b'));
    // The partner does not get the help request: its next frame is the marker.
    people[0]
        .send(json!({"type": "chat", "text": "marker"}))
        .await;
    assert_eq!(
        people[1].recv_until(|f| f["type"] != "rooms").await["text"],
        "marker"
    );
}

#[tokio::test]
async fn timer_warns_then_closes_on_its_own_even_without_the_host() {
    let hub = start_server().await;
    let (mut host, mut people) = group(&hub, 2).await;
    // 1 s breakouts: inside the 60 s warning lead, so the notice comes at once.
    host.act(json!({"type": "split", "strategy": "even", "count": 1, "duration_secs": 1}))
        .await;
    host.close().await;
    for p in people.iter_mut() {
        p.recv_type("room_changed").await;
        let closing = p.recv_type("breakout_closing").await;
        assert!(closing["seconds"].as_u64().unwrap() <= 1);
        assert!(closing["closes_at"].as_u64().unwrap() > 0);
    }
    for p in people.iter_mut() {
        let back = p.recv_type("room_changed").await;
        assert_eq!(back["room"], "main", "closed by the hub's own clock");
    }
}

#[tokio::test]
async fn merge_with_countdown_extend_and_reopen() {
    let hub = start_server().await;
    let (mut host, mut people) = group(&hub, 4).await;
    let seen = host
        .act(json!({"type": "split", "strategy": "random", "count": 2, "duration_secs": 600}))
        .await;
    let mut before = Vec::new();
    for p in people.iter_mut() {
        before.push(
            p.recv_type("room_changed").await["room"]
                .as_str()
                .unwrap()
                .to_owned(),
        );
    }
    let list = last(&seen, "rooms");
    let closes_at = list["closes_at"].as_u64().unwrap();
    let seen = host.act(json!({"type": "extend_timer", "secs": 120})).await;
    let list = last(&seen, "rooms");
    assert_eq!(list["closes_at"].as_u64().unwrap(), closes_at + 120_000);

    host.act(json!({"type": "merge", "countdown_secs": 1}))
        .await;
    for p in people.iter_mut() {
        let notice = p.recv_type("breakout_closing").await;
        assert_eq!(notice["seconds"], 1);
    }
    for p in people.iter_mut() {
        assert_eq!(p.recv_type("room_changed").await["room"], "main");
    }
    // Re-open: the same people together again (in fresh room ids).
    host.act(json!({"type": "reopen"})).await;
    let mut after = Vec::new();
    for p in people.iter_mut() {
        let changed = p.recv_type("room_changed").await;
        after.push((
            changed["room"].as_str().unwrap().to_owned(),
            ids(&changed["peers"]),
        ));
    }
    for i in 0..4 {
        for j in 0..4 {
            assert_eq!(
                before[i] == before[j],
                after[i].0 == after[j].0,
                "same grouping after reopen"
            );
        }
    }
    assert_eq!(
        refused(&mut host, json!({"type": "reopen"})).await,
        "conflict"
    );
}

#[tokio::test]
async fn merge_selected_rooms_into_one() {
    let hub = start_server().await;
    let (mut host, mut people) = group(&hub, 6).await;
    let seen = host
        .act(json!({"type": "split", "strategy": "even", "count": 3}))
        .await;
    let list = last(&seen, "rooms");
    let rooms: Vec<String> = list["rooms"].as_array().unwrap()[1..]
        .iter()
        .map(|r| r["id"].as_str().unwrap().to_owned())
        .collect();
    for p in people.iter_mut() {
        p.recv_type("room_changed").await;
    }
    let seen = host
        .act(json!({"type": "merge", "rooms": [rooms[0], rooms[1]]}))
        .await;
    let list = last(&seen, "rooms");
    let remaining: Vec<&str> = list["rooms"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_str().unwrap())
        .collect();
    assert_eq!(remaining, ["main", rooms[0].as_str(), rooms[2].as_str()]);
    assert_eq!(list["rooms"][1]["members"].as_array().unwrap().len(), 4);
    assert_eq!(list["rooms"][2]["members"].as_array().unwrap().len(), 2);
}

#[tokio::test]
async fn pairs_and_choose_strategies() {
    let hub = start_server().await;
    let (mut host, mut people) = group(&hub, 5).await;
    let seen = host
        .act(json!({"type": "split", "strategy": "pairs"}))
        .await;
    let list = last(&seen, "rooms");
    let mut sizes: Vec<usize> = list["rooms"].as_array().unwrap()[1..]
        .iter()
        .map(|r| r["members"].as_array().unwrap().len())
        .collect();
    sizes.sort();
    assert_eq!(sizes, [2, 3], "an odd one out joins a pair");
    host.act(json!({"type": "merge"})).await;

    let seen = host
        .act(json!({"type": "split", "strategy": "choose", "count": 2, "topic": "Pick one"}))
        .await;
    let list = last(&seen, "rooms");
    assert_eq!(list["choosing"], true);
    let b = list["rooms"][2]["id"].as_str().unwrap().to_owned();
    for p in people.iter_mut() {
        p.recv_until(|f| f["type"] == "rooms" && f["choosing"] == true)
            .await;
    }
    let changed = last(
        &people[3]
            .act(json!({"type": "choose_room", "room": b}))
            .await,
        "room_changed",
    );
    assert_eq!(changed["room"], b.as_str());
    assert_eq!(changed["topic"], "Pick one");
}

#[tokio::test]
async fn participants_and_observers_cannot_run_the_room() {
    let hub = start_server().await;
    let (mut host, mut people) = group(&hub, 2).await;
    let mut obs = hub.join("m", "obs", Role::Observer).await;
    let p = &mut people[0];
    for frame in [
        json!({"type": "split", "strategy": "even", "count": 2}),
        json!({"type": "move", "peer": host.id, "room": "main"}),
        json!({"type": "swap", "a": host.id, "b": obs.id}),
        json!({"type": "visit", "room": "main"}),
        json!({"type": "merge"}),
        json!({"type": "broadcast", "text": "hi all"}),
        json!({"type": "extend_timer", "secs": 60}),
        json!({"type": "reopen"}),
    ] {
        assert_eq!(
            refused(p, frame.clone()).await,
            "forbidden",
            "participant: {frame}"
        );
        assert_eq!(
            refused(&mut obs, frame.clone()).await,
            "forbidden",
            "observer: {frame}"
        );
    }
    let seen = host
        .act(json!({"type": "split", "strategy": "choose", "count": 1}))
        .await;
    let list = last(&seen, "rooms");
    let b = list["rooms"][1]["id"].as_str().unwrap().to_owned();
    assert_eq!(
        refused(&mut obs, json!({"type": "choose_room", "room": b})).await,
        "forbidden"
    );
    // Nothing changed: the observer and the host are still in the main room.
    host.send(json!({"type": "chat", "text": "still main"}))
        .await;
    assert_eq!(obs.recv_type("chat").await["room"], "main");
}

/// `rotate` over real sockets: four participants, three rounds, and nobody meets the same person
/// twice; the host sees the round number.
#[tokio::test]
async fn rotating_pairs_meet_everyone_once_over_three_rounds() {
    let hub = start_server().await;
    let mut host = hub.join("rot", "host", Role::Host).await;
    let mut people = Vec::new();
    for name in ["a", "b", "c", "d"] {
        people.push(hub.join("rot", name, Role::Participant).await);
    }
    let last = people.last().unwrap().id;
    host.wait_joined(last).await;
    let mut met = std::collections::BTreeSet::new();
    for round in 1..=3u64 {
        host.send(json!({"type": "split", "strategy": "rotate"}))
            .await;
        let rooms = host
            .recv_until(|f| f["type"] == "rooms" && f["round"] == round)
            .await;
        let pairs: Vec<Vec<u64>> = rooms["rooms"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|r| r["id"] != "main")
            .map(|r| {
                r["members"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|m| m.as_u64().unwrap())
                    .collect()
            })
            .collect();
        assert_eq!(pairs.len(), 2, "round {round}: {rooms}");
        for pair in &pairs {
            assert_eq!(pair.len(), 2);
            assert!(
                met.insert((pair[0].min(pair[1]), pair[0].max(pair[1]))),
                "round {round}: {pair:?} met before"
            );
        }
        host.send(json!({"type": "merge"})).await;
        host.recv_until(|f| f["type"] == "rooms" && f["rooms"].as_array().unwrap().len() == 1)
            .await;
    }
    assert_eq!(met.len(), 6, "every pairing of four happened");
}
