//! Resume after a drop: held seats, replayed chat and notices.

use super::super::harness::*;
use super::super::*;

#[test]
fn a_dropped_seat_is_held_then_resumed_with_exactly_the_missed_chat() {
    let (mut m, token) = host_and(Role::Participant);
    let say = |m: &mut Meeting, from: u64, text: &str| {
        request(
            m,
            from,
            ClientMessage::Chat {
                text: text.into(),
                to: None,
                channel: None,
            },
        )
    };
    say(&mut m, 1, "before"); // id 1: seen
    say(&mut m, 1, "in flight"); // id 2: lost with the socket
    let e = m.handle(Input::Dropped { peer: PeerId(2) }, 10);
    assert!(m.is_away(PeerId(2)));
    assert!(sent_to(&e, 1)
        .iter()
        .any(|msg| matches!(msg, ServerMessage::PeerReconnecting { id } if *id == PeerId(2))));
    assert_eq!(m.next_deadline(), Some(10 + 30_000));
    say(&mut m, 1, "while away"); // id 3
    request(
        &mut m,
        1,
        ClientMessage::Chat {
            text: "private".into(),
            to: Some(PeerId(2)),
            channel: None,
        },
    ); // private id 1 (of peer 2's own series)
       // A resume for someone else's seat, or with a wrong token, is refused.
    let e = resume(&mut m, 9, "s1", &token, Some(RoomId::main()), 1, 20);
    assert!(refused_as_expired(&e), "{e:?}");
    let e = resume(&mut m, 9, "s2", &token, Some(RoomId::main()), 1, 20);
    m.check_invariants().unwrap();
    assert!(matches!(
        e.first(),
        Some(Effect::TakeOver {
            seat: PeerId(2),
            by: PeerId(9)
        })
    ));
    let welcome = welcome_of(&e, 2).expect("resumed welcome");
    // Group 2 and 3, then private 1, in the order they were sent.
    assert_eq!(chat_ids(&welcome), vec![2, 3, 1]);
    match &welcome {
        ServerMessage::Welcome {
            resumed,
            you,
            resume_token,
            ..
        } => {
            assert!(resumed);
            assert_eq!(you.id, PeerId(2));
            assert_ne!(resume_token, &token, "a new token with every welcome");
        }
        _ => unreachable!(),
    }
    assert!(!m.is_away(PeerId(2)));
    assert!(sent_to(&e, 1)
        .iter()
        .any(|msg| matches!(msg, ServerMessage::PeerReconnected { id } if *id == PeerId(2))));
    // The old token is spent.
    let e = resume(&mut m, 10, "s2", &token, None, 0, 21);
    assert!(refused_as_expired(&e), "{e:?}");
}

#[test]
fn a_held_seat_times_out_and_then_resume_is_refused() {
    let (mut m, token) = host_and(Role::Participant);
    m.handle(Input::Dropped { peer: PeerId(2) }, 100);
    // Not yet.
    let e = m.handle(Input::Tick, 100 + 29_999);
    assert!(m.contains(PeerId(2)) && e.is_empty());
    let e = m.handle(Input::Tick, 100 + 30_000);
    m.check_invariants().unwrap();
    assert!(!m.contains(PeerId(2)));
    assert!(sent_to(&e, 1).iter().any(|msg| matches!(
        msg,
        ServerMessage::PeerLeft {
            id: PeerId(2),
            reason: PeerLeftReason::Timeout
        }
    )));
    let e = resume(
        &mut m,
        3,
        "s2",
        &token,
        Some(RoomId::main()),
        0,
        100 + 31_000,
    );
    assert!(refused_as_expired(&e), "{e:?}");
}

#[test]
fn a_resume_after_a_move_lands_in_the_new_room_with_its_history() {
    let (mut m, token) = host_and(Role::Participant);
    join(&mut m, 3, Role::Participant);
    request(
        &mut m,
        1,
        ClientMessage::Chat {
            text: "main".into(),
            to: None,
            channel: None,
        },
    );
    m.handle(Input::Dropped { peer: PeerId(2) }, 10);
    request(&mut m, 1, split_even(1, None));
    let room = m.room_of(PeerId(2)).cloned().expect("member");
    assert!(!room.is_main(), "a held seat is moved like any other");
    request(
        &mut m,
        3,
        ClientMessage::Chat {
            text: "breakout".into(),
            to: None,
            channel: None,
        },
    );
    let e = resume(&mut m, 9, "s2", &token, Some(RoomId::main()), 1, 20);
    match welcome_of(&e, 2) {
        Some(ServerMessage::Welcome {
            room: r,
            chat,
            resumed,
            ..
        }) => {
            assert!(resumed);
            assert_eq!(r, room);
            assert_eq!(
                chat.iter().map(|c| c.text.as_str()).collect::<Vec<_>>(),
                vec!["breakout"],
                "the new room's history, to replace the old room's"
            );
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_replayed_closing_warning_is_current_or_dropped() {
    let mut m = Meeting::new(
        "m",
        MeetingConfig {
            breakout_warning_ms: 10_000,
            ..MeetingConfig::default()
        },
        5,
    );
    join(&mut m, 1, Role::Host);
    let e = join(&mut m, 2, Role::Participant);
    let token = resume_token(&e, 2);
    join(&mut m, 3, Role::Participant);
    request(&mut m, 1, split_even(1, Some(60)));
    // The request helper runs at t = 5: the rooms close at 60,005; the warning is due at 50,005.
    m.handle(Input::Dropped { peer: PeerId(2) }, 40_000);
    m.handle(Input::Tick, 50_005);
    let e = resume(&mut m, 9, "s2", &token, None, 0, 55_005);
    let closing: Vec<u64> = sent_to(&e, 2)
        .iter()
        .filter_map(|msg| match msg {
            ServerMessage::BreakoutClosing { seconds, .. } => Some(*seconds),
            _ => None,
        })
        .collect();
    assert_eq!(closing, vec![5], "recounted from the resume time");
}

#[test]
fn notices_sent_to_a_held_seat_are_replayed_after_the_resume() {
    let (mut m, token) = host_and(Role::Participant);
    m.handle(Input::Dropped { peer: PeerId(2) }, 10);
    request(
        &mut m,
        1,
        ClientMessage::Broadcast {
            text: "back in five".into(),
            room: None,
        },
    );
    request(
        &mut m,
        1,
        ClientMessage::RequestMute {
            peer: PeerId(2),
            audio: true,
            video: false,
        },
    );
    let e = resume(&mut m, 9, "s2", &token, Some(RoomId::main()), 0, 20);
    let to_seat = sent_to(&e, 2);
    assert!(matches!(
        to_seat[0],
        ServerMessage::Welcome { replayed: 2, .. }
    ));
    let kinds: Vec<&str> = to_seat[1..]
        .iter()
        .map(|msg| match msg {
            ServerMessage::Broadcast { .. } => "broadcast",
            ServerMessage::MuteRequested { .. } => "mute_requested",
            _ => "other",
        })
        .collect();
    assert_eq!(kinds, vec!["broadcast", "mute_requested"]);
}

/// SFU meetings name the media engine in every welcome, resumed ones too (a client whose
/// meeting moved to another hub node sees another name and connects anew); mesh ones never do.
#[test]
fn welcomes_name_the_sfu_engine_in_sfu_meetings_only() {
    for (mode, expected) in [
        (MediaMode::Sfu, Some("engine-1".to_owned())),
        (MediaMode::Mesh, None),
    ] {
        let mut m = Meeting::new(
            "m",
            MeetingConfig {
                max_members: 4,
                media_mode: mode,
                sfu_instance: Some("engine-1".into()),
                ..MeetingConfig::default()
            },
            7,
        );
        join(&mut m, 1, Role::Host);
        let effects = join(&mut m, 2, Role::Participant);
        let token = resume_token(&effects, 2);
        match welcome_of(&effects, 2) {
            Some(ServerMessage::Welcome { sfu_instance, .. }) => assert_eq!(sfu_instance, expected),
            other => panic!("no welcome: {other:?}"),
        }
        m.handle(Input::Dropped { peer: PeerId(2) }, 10);
        let effects = resume(&mut m, 9, "s2", &token, None, 0, 20);
        match welcome_of(&effects, 2) {
            Some(ServerMessage::Welcome {
                sfu_instance,
                resumed,
                ..
            }) => {
                assert!(resumed);
                assert_eq!(sfu_instance, expected);
            }
            other => panic!("no resumed welcome: {other:?}"),
        }
    }
}
