//! Moderation that sticks and notices that cannot flood (issue #11, items 3 and 9): each test
//! fails on the core before its rule.

use super::super::harness::*;
use super::super::*;
use crate::protocol::Refusal;

fn sent(effects: &[Effect], pick: impl Fn(&ServerMessage) -> bool) -> usize {
    effects
        .iter()
        .filter(|e| matches!(e, Effect::Send { message, .. } if pick(message)))
        .count()
}

fn knock(m: &mut Meeting, peer: u64, sub: &str) -> Vec<Effect> {
    let e = m.handle(
        Input::Join {
            peer: PeerId(peer),
            identity: who(sub, Role::Participant),
        },
        2,
    );
    m.check_invariants().unwrap();
    e
}

fn refused(effects: &[Effect], code: ErrorCode) -> bool {
    matches!(
        effects,
        [Effect::Refuse {
            refusal: Refusal { error: Some(c), .. },
            ..
        }] if *c == code
    )
}

#[test]
fn someone_waiting_can_be_banned_and_does_not_come_back() {
    let mut m = meeting();
    join(&mut m, 1, Role::Host);
    request(&mut m, 1, ClientMessage::SetLobby { enabled: true });
    knock(&mut m, 2, "pest");
    assert!(m.is_waiting(PeerId(2)));
    let ban = ClientMessage::Remove {
        peer: PeerId(2),
        ban: true,
    };
    let e = request(&mut m, 1, ban);
    assert_eq!(error_code(&e), None, "{e:?}");
    assert!(e.contains(&Effect::Close {
        peer: PeerId(2),
        code: CloseCode::Removed
    }));
    assert!(!m.is_waiting(PeerId(2)));
    assert!(refused(&knock(&mut m, 3, "pest"), ErrorCode::Forbidden));
}

#[test]
fn the_waiting_room_is_bounded_and_a_partial_admit_updates_the_lobby() {
    // The harness meeting holds 4.
    let mut m = meeting();
    join(&mut m, 1, Role::Host);
    join(&mut m, 2, Role::Participant);
    join(&mut m, 3, Role::Participant);
    request(&mut m, 1, ClientMessage::SetLobby { enabled: true });
    for (peer, sub) in [(10, "a"), (11, "b"), (12, "c"), (13, "d")] {
        knock(&mut m, peer, sub);
    }
    assert!(refused(&knock(&mut m, 14, "e"), ErrorCode::MeetingFull));
    // The same person knocking again takes their own place back.
    knock(&mut m, 15, "a");
    assert!(m.is_waiting(PeerId(15)) && !m.is_waiting(PeerId(10)));
    // Room for one: one gets in, and the hosts' list shows the three still waiting.
    let e = request(&mut m, 1, ClientMessage::Admit { peer: None });
    assert_eq!(error_code(&e), Some(ErrorCode::MeetingFull));
    assert_eq!(m.member_count(), 4);
    let lobby = e.iter().rev().find_map(|e| match e {
        Effect::Send {
            message: ServerMessage::Lobby { waiting, .. },
            ..
        } => Some(waiting.len()),
        _ => None,
    });
    assert_eq!(lobby, Some(3));
}

#[test]
fn a_host_ends_or_joins_another_moderators_private_conversation() {
    let mut m = meeting();
    join(&mut m, 1, Role::Host);
    join(&mut m, 2, Role::Cohost);
    join(&mut m, 3, Role::Participant);
    request(&mut m, 2, ClientMessage::PullAside { peer: PeerId(3) });
    let aside = m.room_of(PeerId(3)).cloned().unwrap();
    assert!(!aside.is_main());
    // The host joins by pulling the same person aside.
    let e = request(&mut m, 1, ClientMessage::PullAside { peer: PeerId(3) });
    assert_eq!(error_code(&e), None, "{e:?}");
    assert_eq!(m.room_members(&aside).len(), 3);
    // And ends it, by naming someone in it.
    let end = ClientMessage::EndAside {
        peer: Some(PeerId(3)),
    };
    assert_eq!(error_code(&request(&mut m, 1, end)), None);
    for p in [1, 2, 3] {
        assert_eq!(m.room_of(PeerId(p)), Some(&RoomId::main()));
    }
}

#[test]
fn a_demoted_cohost_is_not_left_alone_in_private_with_a_participant() {
    let mut m = meeting();
    join(&mut m, 1, Role::Host);
    join(&mut m, 2, Role::Cohost);
    join(&mut m, 3, Role::Participant);
    request(&mut m, 2, ClientMessage::PullAside { peer: PeerId(3) });
    assert!(!m.room_of(PeerId(3)).unwrap().is_main());
    let demote = ClientMessage::SetRole {
        peer: PeerId(2),
        role: Role::Participant,
    };
    assert_eq!(error_code(&request(&mut m, 1, demote)), None);
    assert_eq!(m.room_of(PeerId(3)), Some(&RoomId::main()));
    assert_eq!(m.room_of(PeerId(2)), Some(&RoomId::main()));
}

#[test]
fn help_requests_from_one_room_are_not_repeated_within_half_a_minute() {
    let mut m = meeting();
    join(&mut m, 1, Role::Host);
    join(&mut m, 2, Role::Participant);
    join(&mut m, 3, Role::Participant);
    let split = split_even(1, None);
    request(&mut m, 1, split);
    let help = |m: &mut Meeting, from: u64, now: Millis| {
        m.handle(
            Input::Request {
                from: PeerId(from),
                id: Some(9),
                message: ClientMessage::AskHelp {},
            },
            now,
        )
    };
    let is_help = |msg: &ServerMessage| matches!(msg, ServerMessage::HelpRequested { .. });
    assert_eq!(sent(&help(&mut m, 2, 1_000), is_help), 1);
    let again = help(&mut m, 3, 2_000);
    assert_eq!(sent(&again, is_help), 0, "the hosts know already");
    assert_eq!(error_code(&again), None, "and the asker is not refused");
    assert_eq!(sent(&help(&mut m, 2, 31_000), is_help), 1);
}

#[test]
fn a_hand_cannot_be_raised_again_within_a_second() {
    let mut m = meeting();
    join(&mut m, 1, Role::Host);
    join(&mut m, 2, Role::Participant);
    let hand = |m: &mut Meeting, raised: bool, now: Millis| {
        let e = m.handle(
            Input::Request {
                from: PeerId(2),
                id: Some(9),
                message: ClientMessage::RaiseHand { raised, peer: None },
            },
            now,
        );
        error_code(&e)
    };
    assert_eq!(hand(&mut m, true, 10_000), None);
    assert_eq!(
        hand(&mut m, false, 10_100),
        None,
        "lowering is always allowed"
    );
    assert_eq!(hand(&mut m, true, 10_200), Some(ErrorCode::RateLimited));
    assert!(!m.hand_raised(PeerId(2)));
    assert_eq!(hand(&mut m, true, 11_000), None);
    assert!(m.hand_raised(PeerId(2)));
}

fn waiting_for_host() -> Meeting {
    Meeting::new(
        "m",
        MeetingConfig {
            max_members: 10,
            wait_for_host: true,
            ..MeetingConfig::default()
        },
        7,
    )
}

#[test]
fn participants_who_arrive_before_the_therapist_wait_and_come_in_with_them() {
    let mut m = waiting_for_host();
    let e = knock(&mut m, 2, "early");
    assert!(m.is_waiting(PeerId(2)), "nobody meets unsupervised");
    assert!(e.iter().any(|e| matches!(
        e,
        Effect::Send {
            message: ServerMessage::Waiting { for_host: true, .. },
            ..
        }
    )));
    knock(&mut m, 3, "early-too");
    // A cohost counts as the therapist's side too.
    let e = join(&mut m, 1, Role::Cohost);
    assert!(m.contains(PeerId(2)) && m.contains(PeerId(3)));
    assert!(welcome_of(&e, 2).is_some() && welcome_of(&e, 3).is_some());
    // Once someone runs the room, newcomers walk in.
    knock(&mut m, 4, "late");
    assert!(m.contains(PeerId(4)));
}

#[test]
fn with_the_waiting_room_on_the_host_still_admits_them() {
    let mut m = waiting_for_host();
    knock(&mut m, 2, "early");
    join(&mut m, 1, Role::Host);
    request(&mut m, 1, ClientMessage::SetLobby { enabled: true });
    knock(&mut m, 3, "later");
    assert!(m.contains(PeerId(2)), "let in when the host arrived");
    assert!(m.is_waiting(PeerId(3)), "the waiting room decides now");
    // Before any host: with the waiting room on, arriving hosts do not empty it.
    let mut m = Meeting::new(
        "m",
        MeetingConfig {
            max_members: 10,
            wait_for_host: true,
            waiting_room: true,
            ..MeetingConfig::default()
        },
        7,
    );
    knock(&mut m, 2, "early");
    join(&mut m, 1, Role::Host);
    assert!(m.is_waiting(PeerId(2)));
}

#[test]
fn chat_ids_say_nothing_about_other_peoples_private_messages() {
    let mut m = meeting();
    for (p, role) in [
        (1, Role::Host),
        (2, Role::Participant),
        (3, Role::Participant),
    ] {
        join(&mut m, p, role);
    }
    join(&mut m, 4, Role::Participant);
    let say = |m: &mut Meeting, from: u64, to: Option<u64>| {
        let chat = ClientMessage::Chat {
            text: "t".into(),
            to: to.map(PeerId),
            channel: None,
        };
        let e = request(m, from, chat);
        e.iter()
            .filter_map(|e| match e {
                Effect::Send {
                    to,
                    message: ServerMessage::Chat(c),
                } => Some((to.clone(), c.id)),
                _ => None,
            })
            .collect::<Vec<_>>()
    };
    let group_before = say(&mut m, 1, None)[0].1;
    assert_eq!(say(&mut m, 2, Some(3)).len(), 2);
    assert_eq!(say(&mut m, 3, Some(2)).len(), 2);
    // Everyone else sees the group count go on without a gap...
    let group_after = say(&mut m, 1, None)[0].1;
    assert_eq!(group_after, group_before + 1);
    // ...and 4's private series starts at 1 whatever 2 and 3 said to each other.
    let first = say(&mut m, 1, Some(4));
    assert_eq!(first, vec![(vec![PeerId(1)], 1), (vec![PeerId(4)], 1)]);
}

#[test]
fn with_breakouts_open_a_join_storm_sends_participants_one_room_list() {
    let mut m = meeting_of(20);
    join(&mut m, 1, Role::Host);
    join(&mut m, 2, Role::Participant);
    join(&mut m, 3, Role::Participant);
    let split = split_even(2, None);
    let is_rooms = |msg: &ServerMessage| matches!(msg, ServerMessage::Rooms { .. });
    let rooms_to =
        |e: &[Effect], peer: u64| sent_to(e, peer).iter().filter(|msg| is_rooms(msg)).count();
    // The split itself: room_changed to everyone at once, the overview to participants after.
    let e = request(&mut m, 1, split);
    assert_eq!(rooms_to(&e, 1), 1);
    assert_eq!(rooms_to(&e, 2), 0);
    assert!(sent_to(&e, 2)
        .iter()
        .any(|msg| matches!(msg, ServerMessage::RoomChanged { .. })));
    let e = m.handle(Input::Tick, 5 + limits::ROOMS_DEBOUNCE_MS);
    assert_eq!(rooms_to(&e, 2), 1);
    let mut storm = Vec::new();
    for (i, p) in (10..15).enumerate() {
        storm.extend(m.handle(
            Input::Join {
                peer: PeerId(p),
                identity: who(&format!("s{p}"), Role::Participant),
            },
            1_000 + i as u64,
        ));
    }
    assert_eq!(rooms_to(&storm, 1), 5, "the host follows every change");
    assert_eq!(rooms_to(&storm, 2), 0, "participants wait for the list");
    assert_eq!(m.next_deadline(), Some(1_000 + limits::ROOMS_DEBOUNCE_MS));
    let e = m.handle(Input::Tick, 1_000 + limits::ROOMS_DEBOUNCE_MS);
    assert_eq!(rooms_to(&e, 2), 1, "one list for the whole storm");
    assert_eq!(rooms_to(&e, 1), 0, "the host has it already");
    let members = e.iter().find_map(|e| match e {
        Effect::Send {
            message: ServerMessage::Rooms { rooms, .. },
            ..
        } => Some(rooms.iter().map(|r| r.members.len()).sum::<usize>()),
        _ => None,
    });
    assert_eq!(members, Some(8), "and it is the list as it is now");
    assert_eq!(m.next_deadline(), None);
}

fn meeting_of(max_members: usize) -> Meeting {
    Meeting::new(
        "m",
        MeetingConfig {
            max_members,
            ..MeetingConfig::default()
        },
        7,
    )
}

#[test]
fn an_observers_answer_may_only_receive() {
    let mut m = meeting();
    join(&mut m, 1, Role::Host);
    join(&mut m, 3, Role::Observer);
    let answer = |direction: &str| {
        let sdp = format!("v=0\r\nm=video 9 UDP/TLS/RTP/SAVPF 96\r\na={direction}\r\n");
        ClientMessage::Signal {
            to: PeerId(1),
            data: serde_json::json!({"description": {"type": "answer", "sdp": sdp}}).into(),
        }
    };
    for sending in ["sendrecv", "sendonly"] {
        let e = request(&mut m, 3, answer(sending));
        assert_eq!(error_code(&e), Some(ErrorCode::Forbidden), "{sending}");
    }
    for receiving in ["recvonly", "inactive"] {
        assert_eq!(
            error_code(&request(&mut m, 3, answer(receiving))),
            None,
            "{receiving}"
        );
    }
    // No direction at all is sendrecv (RFC 8866); a data channel section needs none.
    let bare = ClientMessage::Signal {
        to: PeerId(1),
        data: serde_json::json!({"type": "answer",
            "sdp": "v=0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=mid:0\r\n"})
        .into(),
    };
    assert_eq!(
        error_code(&request(&mut m, 3, bare)),
        Some(ErrorCode::Forbidden)
    );
    let data_only = ClientMessage::Signal {
        to: PeerId(1),
        data: serde_json::json!({"type": "answer",
            "sdp": "v=0\r\nm=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\nm=video 9 UDP/TLS/RTP/SAVPF 96\r\na=recvonly\r\n"})
        .into(),
    };
    assert_eq!(error_code(&request(&mut m, 3, data_only)), None);
    // Anyone else's answer is relayed untouched, whatever it says.
    join(&mut m, 2, Role::Participant);
    let sdp = "v=0\r\na=sendrecv\r\n";
    let e = request(
        &mut m,
        2,
        ClientMessage::Signal {
            to: PeerId(1),
            data: serde_json::json!({"type": "answer", "sdp": sdp}).into(),
        },
    );
    assert_eq!(error_code(&e), None);
}

#[test]
fn a_moderator_who_joined_a_private_conversation_leaves_it_without_ending_it() {
    let mut m = meeting();
    join(&mut m, 1, Role::Host);
    join(&mut m, 2, Role::Cohost);
    join(&mut m, 3, Role::Participant);
    request(&mut m, 1, ClientMessage::PullAside { peer: PeerId(3) });
    request(&mut m, 2, ClientMessage::PullAside { peer: PeerId(3) });
    let aside = m.room_of(PeerId(3)).cloned().unwrap();
    assert_eq!(m.room_members(&aside).len(), 3);
    let e = m.handle(
        Input::Leave {
            peer: PeerId(2),
            reason: PeerLeftReason::Left,
        },
        9,
    );
    m.check_invariants().unwrap();
    assert_eq!(
        m.room_of(PeerId(3)),
        Some(&aside),
        "the host's conversation goes on"
    );
    assert!(sent_to(&e, 1)
        .iter()
        .any(|msg| matches!(msg, ServerMessage::PeerLeft { id: PeerId(2), .. })));
    // When the host leaves too, the participant is not left alone in private.
    m.handle(
        Input::Leave {
            peer: PeerId(1),
            reason: PeerLeftReason::Left,
        },
        10,
    );
    m.check_invariants().unwrap();
    assert_eq!(m.room_of(PeerId(3)), Some(&RoomId::main()));
}
