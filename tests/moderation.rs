//! Moderation over real sockets: remove and ban, end the meeting, mute requests, raised hands,
//! role changes, lock — each refused to participants and each audited to the other hosts.

mod common;

use common::*;
use huddle::protocol::{CloseCode, Role};
use serde_json::json;

#[tokio::test]
async fn remove_with_ban_keeps_the_person_out() {
    let hub = start_server().await;
    let mut host = hub.join("m", "host", Role::Host).await;
    let mut cohost = hub.join("m", "co", Role::Cohost).await;
    let mut troll = hub.join("m", "troll", Role::Participant).await;
    let mut calm = hub.join("m", "calm", Role::Participant).await;
    host.wait_joined(calm.id).await;

    // A participant cannot remove anyone.
    let refused = troll
        .request(json!({"type": "remove", "peer": calm.id}))
        .await;
    assert_eq!(refused["code"], "forbidden");
    // A cohost cannot remove the host.
    assert_eq!(
        cohost
            .request(json!({"type": "remove", "peer": host.id}))
            .await["code"],
        "forbidden"
    );

    let troll_id = troll.id;
    assert_eq!(
        host.request(json!({"type": "remove", "peer": troll_id, "ban": true}))
            .await["type"],
        "ack"
    );
    assert_eq!(troll.expect_close().await.code, Some(4008));
    let left = calm.recv_type("peer_left").await;
    assert_eq!(
        left,
        json!({"type": "peer_left", "id": troll_id, "reason": "removed"})
    );
    // The other host sees the audit event.
    let audit = cohost.recv_type("audit").await;
    assert_eq!(audit["action"], "remove");
    assert_eq!(audit["by"], host.id);
    assert_eq!(audit["subject"], troll_id);

    // A freshly minted token for the same person is refused.
    let mut again = connect(&hub.url).await;
    again
        .hello(&hub.token("m", "troll", "New Name", Role::Participant))
        .await;
    let closed = again.expect_close().await;
    assert_eq!(closed.code, Some(4008));
    assert_eq!(closed.frames[0]["code"], "forbidden");
}

#[tokio::test]
async fn mute_requests_media_state_hands_and_roles() {
    let hub = start_server().await;
    let mut host = hub.join("m", "host", Role::Host).await;
    let mut alex = hub.join("m", "alex", Role::Participant).await;
    let mut sam = hub.join("m", "sam", Role::Participant).await;
    host.wait_joined(sam.id).await;
    alex.recv_type("peer_joined").await;

    assert_eq!(
        host.request(json!({"type": "request_mute", "peer": alex.id, "audio": true}))
            .await["type"],
        "ack"
    );
    let asked = alex.recv_type("mute_requested").await;
    assert_eq!(
        asked,
        json!({"type": "mute_requested", "by": host.id, "audio": true, "video": false})
    );
    alex.send(json!({"type": "media_state", "audio": false, "video": true}))
        .await;
    let shown = sam.recv_type("peer_media").await;
    assert_eq!(
        shown,
        json!({"type": "peer_media", "id": alex.id, "audio": false, "video": true})
    );
    // Someone who arrives later sees who is muted in the roster.
    let lee = hub.join("m", "lee", Role::Participant).await;
    let alex_seen = lee.welcome["peers"]
        .as_array()
        .expect("peers")
        .iter()
        .find(|p| p["id"] == alex.id)
        .expect("alex in the roster")
        .clone();
    assert_eq!(alex_seen["audio"], false);
    assert_eq!(alex_seen["video"], true);
    assert_eq!(
        sam.request(json!({"type": "request_mute", "peer": alex.id, "audio": true}))
            .await["code"],
        "forbidden"
    );

    // Hands: the host sees the queue in order.
    sam.send(json!({"type": "raise_hand", "raised": true}))
        .await;
    assert_eq!(host.recv_type("hands").await["queue"], json!([sam.id]));
    alex.send(json!({"type": "raise_hand", "raised": true}))
        .await;
    assert_eq!(
        host.recv_type("hands").await["queue"],
        json!([sam.id, alex.id])
    );
    sam.send(json!({"type": "raise_hand", "raised": false}))
        .await;
    assert_eq!(host.recv_type("hands").await["queue"], json!([alex.id]));

    // Promote Alex to cohost, then hand the host role to Sam.
    assert_eq!(
        alex.request(json!({"type": "set_role", "peer": sam.id, "role": "cohost"}))
            .await["code"],
        "forbidden"
    );
    assert_eq!(
        host.request(json!({"type": "set_role", "peer": alex.id, "role": "cohost"}))
            .await["type"],
        "ack"
    );
    // (Earlier `peer_updated` frames show raised hands.)
    let updated = sam
        .recv_until(|f| f["type"] == "peer_updated" && f["peer"]["role"] == "cohost")
        .await;
    assert_eq!(updated["peer"]["id"], alex.id);
    assert_eq!(updated["peer"]["hand"], true, "Alex's hand is still up");
    // Alex can now run breakouts.
    assert_eq!(
        alex.request(json!({"type": "broadcast", "text": "hello from the cohost"}))
            .await["type"],
        "ack"
    );
    assert_eq!(
        host.request(json!({"type": "transfer_host", "peer": sam.id}))
            .await["type"],
        "ack"
    );
    let a = alex
        .recv_until(|f| f["type"] == "peer_updated" && f["peer"]["id"] == sam.id)
        .await;
    assert_eq!(a["peer"]["role"], "host");
    let b = alex
        .recv_until(|f| f["type"] == "peer_updated" && f["peer"]["id"] == host.id)
        .await;
    assert_eq!(b["peer"]["role"], "cohost");
    // The former host is a cohost now: it cannot change roles any more.
    assert_eq!(
        host.request(json!({"type": "set_role", "peer": alex.id, "role": "participant"}))
            .await["code"],
        "forbidden"
    );
}

#[tokio::test]
async fn lock_keeps_newcomers_out_but_not_hosts_and_end_meeting_closes_everyone() {
    let hub = start_server().await;
    let mut host = hub.join("m", "host", Role::Host).await;
    let mut p = hub.join("m", "p", Role::Participant).await;
    assert_eq!(
        p.request(json!({"type": "lock", "locked": true})).await["code"],
        "forbidden"
    );
    assert_eq!(
        host.request(json!({"type": "lock", "locked": true})).await["type"],
        "ack"
    );
    assert_eq!(
        p.recv_type("locked").await,
        json!({"type": "locked", "locked": true, "by": host.id})
    );

    let mut late = connect(&hub.url).await;
    late.hello(&hub.token("m", "late", "Late", Role::Participant))
        .await;
    let closed = late.expect_close().await;
    assert_eq!(closed.code, Some(4010));
    assert_eq!(closed.frames[0]["code"], "meeting_locked");
    let mut cohost = hub.join("m", "co", Role::Cohost).await;
    assert_eq!(
        cohost.welcome["type"], "welcome",
        "hosts and cohosts still get in"
    );

    assert_eq!(
        p.request(json!({"type": "end_meeting"})).await["code"],
        "forbidden"
    );
    host.send(json!({"type": "chat", "text": "see you next week"}))
        .await;
    host.send(json!({"type": "end_meeting"})).await;
    for c in [&mut host, &mut p, &mut cohost] {
        assert_eq!(c.expect_close().await.code, Some(4009));
    }
    // Nobody slips back into an unsupervised group: participants are refused…
    let mut back = connect(&hub.url).await;
    back.hello(&hub.token("m", "p", "P", Role::Participant))
        .await;
    let closed = back.expect_close().await;
    assert_eq!(closed.code, Some(4009));
    assert_eq!(closed.frames[0]["code"], "meeting_ended");
    // …until a host starts the next session: unlocked, with nothing of the last one.
    let next = hub.join("m", "host", Role::Host).await;
    assert_eq!(next.welcome["chat"], json!([]));
    let fresh = hub.join("m", "late", Role::Participant).await;
    assert_eq!(fresh.welcome["type"], "welcome");
}

#[tokio::test]
async fn the_waiting_room_holds_people_until_a_host_lets_them_in() {
    let hub = start_server().await;
    let mut host = hub.join("m", "host", Role::Host).await;
    let mut member = hub.join("m", "member", Role::Participant).await;
    host.wait_joined(member.id).await;
    assert_eq!(
        member
            .request(json!({"type": "set_lobby", "enabled": true}))
            .await["code"],
        "forbidden"
    );
    assert_eq!(
        host.request(json!({"type": "set_lobby", "enabled": true}))
            .await["type"],
        "ack"
    );

    // Two people arrive: they wait, see no one, and cannot chat.
    let mut a = connect(&hub.url).await;
    a.hello(&hub.token("m", "a", "Ann", Role::Participant))
        .await;
    let waiting = a.recv().await;
    assert_eq!(waiting["type"], "waiting");
    let a_id = waiting["you"]["id"].as_u64().unwrap();
    let lobby = host
        .recv_until(|f| {
            f["type"] == "lobby" && f["waiting"].as_array().is_some_and(|w| !w.is_empty())
        })
        .await;
    assert_eq!(lobby["waiting"][0]["id"], a_id);
    assert_eq!(lobby["waiting"][0]["name"], "Ann");
    a.send(json!({"type": "chat", "text": "hello?", "id": 1}))
        .await;
    assert_eq!(a.recv().await["code"], "forbidden");
    let mut b = connect(&hub.url).await;
    b.hello(&hub.token("m", "b", "Ben", Role::Participant))
        .await;
    let b_id = b.recv_type("waiting").await["you"]["id"].as_u64().unwrap();
    // A cohost skips the waiting room.
    let cohost = hub.join("m", "co", Role::Cohost).await;
    assert_eq!(cohost.welcome["type"], "welcome");

    // Admit Ann: she gets her welcome; the room sees her join. Deny Ben: he is closed with 4011.
    assert_eq!(
        host.request(json!({"type": "admit", "peer": a_id})).await["type"],
        "ack"
    );
    let welcome = a.recv_type("welcome").await;
    assert_eq!(welcome["you"]["id"], a_id);
    assert_eq!(
        member
            .recv_until(|f| f["type"] == "peer_joined" && f["peer"]["id"] == a_id)
            .await["peer"]["name"],
        "Ann"
    );
    assert_eq!(
        host.request(json!({"type": "deny", "peer": b_id})).await["type"],
        "ack"
    );
    assert_eq!(b.expect_close().await.code, Some(4011));
    assert_eq!(
        host.request(json!({"type": "admit", "peer": b_id})).await["code"],
        "not_found"
    );

    // Turning the waiting room off lets everyone waiting in.
    let mut c = connect(&hub.url).await;
    c.hello(&hub.token("m", "c", "Cat", Role::Participant))
        .await;
    c.recv_type("waiting").await;
    assert_eq!(
        host.request(json!({"type": "set_lobby", "enabled": false}))
            .await["type"],
        "ack"
    );
    assert_eq!(c.recv_type("welcome").await["type"], "welcome");
}

#[tokio::test]
async fn pull_aside_is_private_and_one_action_brings_both_back() {
    let hub = start_server().await;
    let mut host = hub.join("m", "host", Role::Host).await;
    let mut alex = hub.join("m", "alex", Role::Participant).await;
    let mut sam = hub.join("m", "sam", Role::Participant).await;
    host.wait_joined(sam.id).await;
    alex.recv_type("peer_joined").await;

    assert_eq!(
        alex.request(json!({"type": "pull_aside", "peer": sam.id}))
            .await["code"],
        "forbidden"
    );
    assert_eq!(
        host.request(json!({"type": "pull_aside", "peer": alex.id}))
            .await["type"],
        "ack"
    );
    let aside = alex.recv_type("room_changed").await;
    assert_eq!(aside["name"], "Private conversation");
    let room = aside["room"].as_str().unwrap().to_owned();
    // The group sees only that both stepped out; the room is in nobody's list.
    let left = sam.recv_type("peer_left").await;
    assert_eq!(left["reason"], "stepped_out");
    assert_eq!(sam.recv_type("peer_left").await["reason"], "stepped_out");
    let list = sam.recv_type("rooms").await;
    assert!(
        !list.to_string().contains(&room),
        "the private room is not listed: {list}"
    );
    // Nobody can be moved in, and the two cannot be moved out by others.
    let mut cohost = hub.join("m", "co", Role::Cohost).await;
    assert_eq!(
        cohost.request(json!({"type": "visit", "room": room})).await["code"],
        "not_found"
    );
    assert_eq!(
        cohost
            .request(json!({"type": "move", "peer": alex.id, "room": "main"}))
            .await["code"],
        "conflict"
    );
    // Alex's chat there reaches the host only.
    alex.send(json!({"type": "chat", "text": "just us"})).await;
    assert_eq!(host.recv_type("chat").await["room"], room.as_str());

    assert_eq!(
        host.request(json!({"type": "end_aside"})).await["type"],
        "ack"
    );
    assert_eq!(alex.recv_type("room_changed").await["room"], "main");
    let back = sam.wait_joined(alex.id).await;
    assert_eq!(back["peer"]["name"], "Name of alex");
    sam.send(json!({"type": "chat", "text": "welcome back"}))
        .await;
    assert_eq!(alex.recv_type("chat").await["text"], "welcome back");
}

#[tokio::test]
async fn a_demoted_cohost_does_not_win_the_role_back_by_connecting_again() {
    let hub = start_server().await;
    let mut host = hub.join("m", "host", Role::Host).await;
    // The partner minted a cohost token; the host demotes this person during the session.
    let co = hub.join("m", "co", Role::Cohost).await;
    assert_eq!(
        host.request(json!({"type": "set_role", "peer": co.id, "role": "participant"}))
            .await["type"],
        "ack"
    );
    // The same cohost token from a second tab takes over the seat, but not the old role.
    let again = hub.join("m", "co", Role::Cohost).await;
    assert_eq!(again.id, co.id);
    assert_eq!(role_of(&again.welcome["you"]), "participant");
}

#[tokio::test]
async fn someone_who_gives_up_waiting_leaves_the_lobby_list() {
    let hub = start_server().await;
    let mut host = hub.join("m", "host", Role::Host).await;
    assert_eq!(
        host.request(json!({"type": "set_lobby", "enabled": true}))
            .await["type"],
        "ack"
    );
    let token = hub.token("m", "kim", "Kim", Role::Participant);
    let mut kim = connect(&hub.url).await;
    kim.hello(&token).await;
    kim.recv_type("waiting").await;
    let lobby = host
        .recv_until(|f| {
            f["type"] == "lobby" && f["waiting"].as_array().is_some_and(|w| w.len() == 1)
        })
        .await;
    assert_eq!(lobby["waiting"][0]["name"], "Kim");
    // Kim's network drops while waiting: the waiting room holds no seats.
    kim.drop_connection();
    host.recv_until(|f| f["type"] == "lobby" && f["waiting"] == json!([]))
        .await;
}

#[tokio::test]
async fn a_host_lowers_a_hand_and_everyone_sees_hands_on_the_roster() {
    let hub = start_server().await;
    let mut host = hub.join("m", "host", Role::Host).await;
    let mut ola = hub.join("m", "ola", Role::Participant).await;
    let ola_id = ola.id;
    ola.send(json!({"type": "raise_hand", "raised": true}))
        .await;
    let mine = ola
        .recv_until(|f| f["type"] == "peer_updated" && f["peer"]["id"] == ola_id)
        .await;
    assert_eq!(mine["peer"]["hand"], true, "the person sees their own hand");
    host.recv_until(|f| f["type"] == "hands" && f["queue"] == json!([ola_id]))
        .await;
    // A late joiner sees the raised hand in the roster.
    let pat = hub.join("m", "pat", Role::Participant).await;
    let ola_seen = pat.welcome["peers"]
        .as_array()
        .expect("peers")
        .iter()
        .find(|p| p["id"] == ola.id)
        .expect("ola")
        .clone();
    assert_eq!(ola_seen["hand"], true);
    // Only hosts and cohosts lower someone else's hand.
    let mut pat = pat;
    assert_eq!(
        pat.request(json!({"type": "raise_hand", "raised": false, "peer": ola.id}))
            .await["code"],
        "forbidden"
    );
    host.send(json!({"type": "raise_hand", "raised": false, "peer": ola.id, "id": 901}))
        .await;
    let audit = host.recv_until(|f| f["type"] == "audit").await;
    assert_eq!(audit["action"], "raise_hand");
    assert_eq!(audit["subject"], ola.id);
    assert_eq!(audit["detail"], "lowered");
    assert_eq!(host.recv_until(|f| f["ref"] == 901).await["type"], "ack");
    let lowered = ola
        .recv_until(|f| f["type"] == "peer_updated" && f["peer"]["id"] == ola_id)
        .await;
    assert_eq!(lowered["peer"].get("hand"), None, "lowered");
    // A cohost promoted now gets the queue at once.
    assert_eq!(
        host.request(json!({"type": "set_role", "peer": pat.id, "role": "cohost"}))
            .await["type"],
        "ack"
    );
    assert_eq!(pat.recv_type("hands").await["queue"], json!([]));
}

#[tokio::test]
async fn hosts_can_name_everyone_in_every_room() {
    let hub = start_server().await;
    let mut host = hub.join("m", "host", Role::Host).await;
    let a = hub.join("m", "a", Role::Participant).await;
    let b = hub.join("m", "b", Role::Participant).await;
    let seen = host.wait_joined(b.id).await;
    assert_eq!(seen["peer"]["name"], "Name of b");
    // Breakouts open; the host visits one. Someone new arrives in the main room.
    host.send(json!({"type": "split", "strategy": "even", "count": 2, "allow_solo": true}))
        .await;
    let rooms = host
        .recv_until(|f| f["type"] == "rooms" && f["rooms"].as_array().is_some_and(|r| r.len() == 3))
        .await;
    let breakout = rooms["rooms"][1]["id"].clone();
    assert_eq!(
        host.request(json!({"type": "visit", "room": breakout}))
            .await["type"],
        "ack"
    );
    let late = hub.join("m", "late", Role::Participant).await;
    let named = host
        .recv_until(|f| f["type"] == "peer_updated" && f["peer"]["id"] == late.id)
        .await;
    assert_eq!(named["peer"]["name"], "Name of late");
    // A cohost who arrives now gets everyone, in every room, with names.
    let co = hub.join("m", "co", Role::Cohost).await;
    let mut co = co;
    let people = co.recv_type("people").await;
    let mut ids: Vec<u64> = people["peers"]
        .as_array()
        .expect("peers")
        .iter()
        .map(|p| p["id"].as_u64().expect("id"))
        .collect();
    ids.sort_unstable();
    let mut want = vec![host.id, a.id, b.id, late.id, co.id];
    want.sort_unstable();
    assert_eq!(ids, want);
}

#[tokio::test]
async fn participants_wait_for_the_therapist_and_walk_in_when_one_arrives() {
    let hub = start_server_with(|c| c.wait_for_host = true).await;
    let mut early = connect(&hub.url).await;
    early
        .hello(&hub.token("m", "early", "Early", Role::Participant))
        .await;
    let waiting = early.recv_type("waiting").await;
    assert_eq!(waiting["for_host"], true);
    let host = hub.join("m", "host", Role::Host).await;
    let welcome = early.recv_type("welcome").await;
    assert!(welcome["peers"]
        .as_array()
        .unwrap()
        .iter()
        .any(|p| p["id"] == host.id));
}

#[tokio::test]
async fn bans_roles_and_the_lock_outlive_a_moment_when_the_meeting_is_empty() {
    let hub = start_server().await;
    let mut host = hub.join("m", "host", Role::Host).await;
    let pest = hub.join("m", "pest", Role::Participant).await;
    let co = hub.join("m", "co", Role::Cohost).await;
    host.wait_joined(co.id).await;
    let ban = json!({"type": "remove", "peer": pest.id, "ban": true});
    assert_eq!(host.request(ban).await["type"], "ack");
    let demote = json!({"type": "set_role", "peer": co.id, "role": "participant"});
    assert_eq!(host.request(demote).await["type"], "ack");
    assert_eq!(
        host.request(json!({"type": "lock", "locked": true})).await["type"],
        "ack"
    );
    // Everyone leaves (the host reloads the page): the meeting's actor stops.
    drop(pest);
    co.close().await;
    host.close().await;
    until_no_meeting_runs(&hub).await;

    // The lock holds: a participant is turned away.
    let mut guest = connect(&hub.url).await;
    guest
        .hello(&hub.token("m", "guest", "G", Role::Participant))
        .await;
    assert_eq!(guest.expect_close().await.code, Some(4010));
    // The host comes back and unlocks; the ban and the demotion hold.
    let mut host = hub.join("m", "host", Role::Host).await;
    assert_eq!(
        host.request(json!({"type": "lock", "locked": false})).await["type"],
        "ack"
    );
    let mut pest = connect(&hub.url).await;
    pest.hello(&hub.token("m", "pest", "P", Role::Participant))
        .await;
    let closed = pest.expect_close().await;
    assert_eq!(closed.code, Some(4008), "still banned");
    let co = hub.join("m", "co", Role::Cohost).await;
    assert_eq!(role_of(&co.welcome["you"]), "participant", "still demoted");
}

#[tokio::test]
async fn the_staff_channel_and_reactions_over_real_sockets() {
    let hub = start_server().await;
    let mut host = hub.join("staff", "host", Role::Host).await;
    let mut cohost = hub.join("staff", "co", Role::Cohost).await;
    let mut alex = hub.join("staff", "alex", Role::Participant).await;
    host.wait_joined(alex.id).await;
    // Staff chat: the cohost gets it; Alex does not (his next chat frame is the room's message).
    let before = host
        .act(json!({"type": "chat", "text": "I'll check in with Alex after this", "channel": "staff"}))
        .await;
    let echo = match before.iter().find(|f| f["type"] == "chat") {
        Some(f) => f.clone(),
        None => host.recv_type("chat").await,
    };
    assert_eq!(echo["channel"], "staff");
    let got = cohost.recv_type("chat").await;
    assert_eq!(got["channel"], "staff");
    assert_eq!(got["seq"], 0);
    let refused = alex
        .request(json!({"type": "chat", "text": "let me in", "channel": "staff"}))
        .await;
    assert_eq!(refused["code"], "forbidden");
    host.act(json!({"type": "chat", "text": "Welcome back, everyone."}))
        .await;
    let first = alex.recv_type("chat").await;
    assert!(first.get("channel").is_none(), "{first}");
    assert_eq!(first["text"], "Welcome back, everyone.");
    assert_eq!(
        first["seq"], 1,
        "the staff message left no trace in the room's count"
    );

    // A reaction reaches the room, the sender included; off, it is refused.
    alex.act(json!({"type": "react", "reaction": "me_too"}))
        .await;
    let seen = host.recv_type("reaction").await;
    assert_eq!(
        (seen["from"].as_u64(), seen["reaction"].as_str()),
        (Some(alex.id), Some("me_too"))
    );
    let unknown = alex
        .request(json!({"type": "react", "reaction": "confetti"}))
        .await;
    assert_eq!(unknown["code"], "bad_request");
    host.act(json!({"type": "set_reactions", "enabled": false}))
        .await;
    assert_eq!(alex.recv_type("reactions_enabled").await["enabled"], false);
    let off = alex
        .request(json!({"type": "react", "reaction": "heart"}))
        .await;
    assert_eq!(off["code"], "conflict");
}

#[tokio::test]
async fn chat_that_is_not_kept_is_not_shown_to_late_joiners() {
    let hub = start_server_with(|c| c.chat_history = huddle::protocol::ChatHistory::NotKept).await;
    let mut host = hub.join("nk", "host", Role::Host).await;
    assert_eq!(host.welcome["chat_history"], "none");
    host.act(json!({"type": "chat", "text": "said once"})).await;
    let late = hub.join("nk", "late", Role::Participant).await;
    assert_eq!(late.welcome["chat"], json!([]), "no history");
    assert_eq!(late.welcome["chat_history"], "none");
    // A host keeps it from now on; everyone is told.
    host.act(json!({"type": "set_chat_history", "mode": "keep"}))
        .await;
    let mut late = late;
    assert_eq!(late.recv_type("chat_history").await["mode"], "keep");
    host.act(json!({"type": "chat", "text": "kept"})).await;
    let later = hub.join("nk", "later", Role::Participant).await;
    let texts: Vec<&str> = later.welcome["chat"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["text"].as_str().unwrap())
        .collect();
    assert_eq!(texts, ["kept"]);
}

#[tokio::test]
async fn a_drop_in_from_the_token_needs_no_host_and_its_mentor_moderates_a_little() {
    let hub = start_server_with(|c| c.wait_for_host = true).await;
    let token = |sub: &str, role: &str| {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs();
        hub.minter
            .sign(&json!({
                "iss": hub.minter.issuer, "aud": hub.minter.audience, "sub": sub,
                "name": format!("Name of {sub}"), "meeting": "alumni", "role": role,
                "kind": "drop_in", "exp": now + 600,
            }))
            .unwrap()
    };
    let mut mentor = connect(&hub.url).await;
    mentor.hello(&token("mentor", "mentor")).await;
    let welcome = mentor.recv_type("welcome").await;
    assert_eq!(welcome["kind"], "drop_in", "no waiting for a host");
    let mut pat = connect(&hub.url).await;
    pat.hello(&token("pat", "participant")).await;
    let pat_id = pat.recv_type("welcome").await["you"]["id"]
        .as_u64()
        .unwrap();
    // The mentor may not end it nor ban; may remove without a ban.
    let refused = mentor.request(json!({"type": "end_meeting"})).await;
    assert_eq!(refused["code"], "forbidden");
    let refused = mentor
        .request(json!({"type": "remove", "peer": pat_id, "ban": true}))
        .await;
    assert_eq!(refused["code"], "forbidden");
    let help = mentor.request(json!({"type": "ask_help"})).await;
    assert_eq!(
        help["type"], "ack",
        "the call goes to the partner's on-call staff"
    );
    mentor
        .act(json!({"type": "remove", "peer": pat_id, "ban": false}))
        .await;
    assert_eq!(
        pat.expect_close().await.code,
        Some(CloseCode::Removed.code())
    );
}

#[tokio::test]
async fn the_group_agreement_comes_before_the_group() {
    let file = std::env::temp_dir().join(format!("huddle-agreement-{}.txt", std::process::id()));
    std::fs::write(&file, "What is said here stays here.").unwrap();
    let path = file.clone();
    let hub = start_server_with(move |c| c.agreement_file = Some(path)).await;
    let mut host = hub.join("ag", "host", Role::Host).await;
    let mut sam = connect(&hub.url).await;
    sam.hello(&hub.token("ag", "sam", "Sam", Role::Participant))
        .await;
    let asked = sam.recv().await;
    assert_eq!(asked["type"], "agreement_required", "{asked}");
    assert_eq!(asked["text"], "What is said here stays here.");
    // The host sees Sam reading it.
    host.recv_until(|f| {
        f["type"] == "agreements" && f["reading"].as_array().is_some_and(|r| r.len() == 1)
    })
    .await;
    // Nothing of the group reaches Sam, and Sam can do nothing but accept.
    host.act(json!({"type": "chat", "text": "before Sam accepted"}))
        .await;
    let refused = sam.request(json!({"type": "chat", "text": "hello?"})).await;
    assert_eq!(refused["code"], "forbidden");
    sam.send(json!({"type": "accept_agreement", "version": asked["version"], "id": 5}))
        .await;
    let welcome = sam.recv().await;
    assert_eq!(welcome["type"], "welcome", "{welcome}");
    assert_eq!(sam.recv_until(|f| f["ref"] == 5).await["type"], "ack");
    let accepted = host
        .recv_until(|f| f["type"] == "agreements" && f["reading"] == json!([]))
        .await;
    assert_eq!(accepted["accepted"].as_array().unwrap().len(), 1);
    // A new text from the host: Sam, seated, is asked again (and stays in the meeting).
    host.act(json!({"type": "set_agreement", "text": "New rules: first names only."}))
        .await;
    let again = sam.recv_type("agreement_required").await;
    assert_eq!(again["text"], "New rules: first names only.");
    assert_ne!(again["version"], asked["version"]);
    let _ = std::fs::remove_file(file);
}
