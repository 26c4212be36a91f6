//! Relay: chat order, history bounds and privacy; offers recognised.

use super::super::harness::*;
use super::super::*;
use crate::protocol::{ChatChannel, Reaction};
use serde_json::json;

#[test]
fn chat_sequence_history_and_privacy() {
    let mut m = meeting();
    join(&mut m, 1, Role::Host);
    join(&mut m, 2, Role::Participant);
    join(&mut m, 3, Role::Participant);
    let mut seqs = vec![];
    for i in 0..3 {
        let e = request(
            &mut m,
            2,
            ClientMessage::Chat {
                text: format!("t{i}"),
                to: None,
                channel: None,
            },
        );
        match &e[0] {
            Effect::Send {
                to,
                message: ServerMessage::Chat(c),
            } => {
                assert_eq!(to, &vec![PeerId(1), PeerId(2), PeerId(3)]);
                assert_eq!(c.from, PeerId(2));
                assert_eq!(c.ts, 5);
                seqs.push(c.seq);
            }
            other => panic!("{other:?}"),
        }
    }
    assert!(seqs.windows(2).all(|w| w[0] < w[1]));
    let e = request(
        &mut m,
        2,
        ClientMessage::Chat {
            text: "psst".into(),
            to: Some(PeerId(3)),
            channel: None,
        },
    );
    // One copy each, numbered in each person's own private series.
    assert!(
        matches!(&e[0], Effect::Send { to, message: ServerMessage::Chat(c) } if to == &vec![PeerId(2)] && c.id == 1)
    );
    assert!(
        matches!(&e[1], Effect::Send { to, message: ServerMessage::Chat(c) } if to == &vec![PeerId(3)] && c.id == 1)
    );
    let e = join(&mut m, 4, Role::Participant);
    let Effect::Send {
        message: ServerMessage::Welcome { chat, .. },
        ..
    } = &e[0]
    else {
        panic!()
    };
    assert_eq!(
        chat.iter().map(|c| c.text.as_str()).collect::<Vec<_>>(),
        ["t0", "t1", "t2"]
    );
}

#[test]
fn history_is_bounded_by_count_and_bytes() {
    let mut m = Meeting::new("m", MeetingConfig::default(), 7);
    join(&mut m, 1, Role::Participant);
    for i in 0..(limits::CHAT_HISTORY_LEN + 50) {
        m.handle(
            Input::Request {
                from: PeerId(1),
                id: None,
                message: ClientMessage::Chat {
                    text: format!("{i}"),
                    to: None,
                    channel: None,
                },
            },
            1,
        );
    }
    m.check_invariants().unwrap();
    let big = "b".repeat(limits::MAX_CHAT_TEXT_BYTES);
    for _ in 0..40 {
        m.handle(
            Input::Request {
                from: PeerId(1),
                id: None,
                message: ClientMessage::Chat {
                    text: big.clone(),
                    to: None,
                    channel: None,
                },
            },
            1,
        );
    }
    m.check_invariants().unwrap();
}

#[test]
fn offers_are_recognised_in_both_shapes() {
    assert!(is_offer(&json!({"type": "offer"}).into()));
    assert!(is_offer(&json!({"description": {"type": "offer"}}).into()));
    assert!(!is_offer(
        &json!({"description": {"type": "answer"}}).into()
    ));
    assert!(!is_offer(
        &json!({"candidate": {"candidate": "offer"}}).into()
    ));
    assert!(!is_offer(&json!("offer").into()));
}

#[test]
fn the_staff_channel_reaches_hosts_and_cohosts_wherever_they_are_and_nobody_else() {
    let mut m = Meeting::new(
        "m",
        MeetingConfig {
            max_members: 8,
            ..MeetingConfig::default()
        },
        7,
    );
    join(&mut m, 1, Role::Host);
    join(&mut m, 2, Role::Cohost);
    join(&mut m, 3, Role::Participant);
    join(&mut m, 4, Role::Mentor);
    // The cohost visits a breakout (with the participant), the host stays in the main room.
    request(
        &mut m,
        1,
        ClientMessage::Split {
            strategy: crate::protocol::SplitStrategy::Manual,
            count: None,
            rooms: vec![crate::protocol::BreakoutRoomSpec {
                members: vec![PeerId(3)],
                ..Default::default()
            }],
            topic: None,
            duration_secs: None,
            spread_mentors: None,
            allow_solo: None,
        },
    );
    let breakout = m.room_of(PeerId(3)).unwrap().clone();
    request(&mut m, 2, ClientMessage::Visit { room: breakout });
    assert_ne!(m.room_of(PeerId(2)), m.room_of(PeerId(1)));
    let staff = |text: &str| ClientMessage::Chat {
        text: text.into(),
        to: None,
        channel: Some(ChatChannel::Staff),
    };
    let e = request(&mut m, 1, staff("I'll check in with Sam after this"));
    assert_eq!(error_code(&e), None);
    for (peer, gets) in [(1, true), (2, true), (3, false), (4, false)] {
        let got = sent_to(&e, peer).iter().any(|f| {
            matches!(f, ServerMessage::Chat(c) if c.channel == Some(ChatChannel::Staff) && c.seq == 0)
        });
        assert_eq!(got, gets, "peer {peer}");
    }
    // Participants and mentors can neither send on it nor address one person with it.
    for who in [3, 4] {
        assert_eq!(
            error_code(&request(&mut m, who, staff("hi"))),
            Some(ErrorCode::Forbidden)
        );
    }
    let addressed = ClientMessage::Chat {
        text: "x".into(),
        to: Some(PeerId(2)),
        channel: Some(ChatChannel::Staff),
    };
    assert_eq!(
        error_code(&request(&mut m, 1, addressed)),
        Some(ErrorCode::BadRequest)
    );
    // It leaves no trace in the room: the next group message is the room's first.
    let e = request(
        &mut m,
        3,
        ClientMessage::Chat {
            text: "hello".into(),
            to: None,
            channel: None,
        },
    );
    let group = sent_to(&e, 3)
        .into_iter()
        .find_map(|f| match f {
            ServerMessage::Chat(c) => Some(c),
            _ => None,
        })
        .unwrap();
    assert_eq!((group.id, group.seq), (1, 1));
    // A late arrival's history holds no staff message (the host's room had none to show).
    let e = join(&mut m, 5, Role::Participant);
    match welcome_of(&e, 5) {
        Some(ServerMessage::Welcome { chat, .. }) => assert!(chat.is_empty(), "{chat:?}"),
        other => panic!("{other:?}"),
    }
}

#[test]
fn reactions_go_to_the_room_and_a_host_can_turn_them_off() {
    let mut m = meeting();
    join(&mut m, 1, Role::Host);
    join(&mut m, 2, Role::Participant);
    join(&mut m, 3, Role::Observer);
    let react = ClientMessage::React {
        reaction: Reaction::MeToo,
    };
    let e = request(&mut m, 2, react.clone());
    let expected = ServerMessage::Reaction {
        from: PeerId(2),
        reaction: Reaction::MeToo,
    };
    for peer in [1, 2, 3] {
        assert!(sent_to(&e, peer).contains(&expected), "peer {peer}");
    }
    assert_eq!(
        error_code(&request(&mut m, 3, react.clone())),
        Some(ErrorCode::Forbidden)
    );
    let e = request(&mut m, 2, ClientMessage::SetReactions { enabled: false });
    assert_eq!(error_code(&e), Some(ErrorCode::Forbidden));
    let e = request(&mut m, 1, ClientMessage::SetReactions { enabled: false });
    assert!(sent_to(&e, 2).contains(&ServerMessage::ReactionsEnabled { enabled: false }));
    assert_eq!(
        error_code(&request(&mut m, 2, react.clone())),
        Some(ErrorCode::Conflict)
    );
    let e = join(&mut m, 4, Role::Participant);
    match welcome_of(&e, 4) {
        Some(ServerMessage::Welcome { reactions_off, .. }) => assert!(reactions_off),
        other => panic!("{other:?}"),
    }
    request(&mut m, 1, ClientMessage::SetReactions { enabled: true });
    assert_eq!(error_code(&request(&mut m, 2, react)), None);
}

#[test]
fn chat_that_is_not_kept_reaches_only_who_was_there_and_lasts_only_for_a_resume() {
    let mut m = Meeting::new(
        "m",
        MeetingConfig {
            max_members: 8,
            resume_grace_ms: 30_000,
            chat_history: crate::protocol::ChatHistory::NotKept,
            ..MeetingConfig::default()
        },
        7,
    );
    join(&mut m, 1, Role::Host);
    join(&mut m, 2, Role::Participant);
    let say = |m: &mut Meeting, from: u64, to: Option<u64>, at: Millis| {
        m.handle(
            Input::Request {
                from: PeerId(from),
                id: None,
                message: ClientMessage::Chat {
                    text: "said once".into(),
                    to: to.map(PeerId),
                    channel: None,
                },
            },
            at,
        )
    };
    let e = say(&mut m, 2, None, 1_000);
    assert!(sent_to(&e, 1)
        .iter()
        .any(|f| matches!(f, ServerMessage::Chat(_))));
    say(&mut m, 1, Some(2), 1_000);
    // A late arrival gets no history, and is told the chat is not kept.
    let e = join(&mut m, 3, Role::Participant);
    match welcome_of(&e, 3) {
        Some(ServerMessage::Welcome {
            chat, chat_history, ..
        }) => {
            assert!(chat.is_empty(), "{chat:?}");
            assert_eq!(chat_history, crate::protocol::ChatHistory::NotKept);
        }
        other => panic!("{other:?}"),
    }
    // Held only for the resume grace: then forgotten on the tick that is due.
    assert_eq!(m.next_deadline(), Some(1_000 + 30_000 + 1));
    m.handle(Input::Tick, 31_001);
    assert_eq!(m.next_deadline(), None, "nothing left to forget");
    // A host turns keeping back on: later arrivals see what is said from then on.
    let e = request(
        &mut m,
        1,
        ClientMessage::SetChatHistory {
            mode: crate::protocol::ChatHistory::Keep,
        },
    );
    assert!(sent_to(&e, 2).contains(&ServerMessage::ChatHistory {
        mode: crate::protocol::ChatHistory::Keep
    }));
    say(&mut m, 2, None, 40_000);
    let e = join(&mut m, 4, Role::Participant);
    match welcome_of(&e, 4) {
        Some(ServerMessage::Welcome { chat, .. }) => assert_eq!(chat.len(), 1),
        other => panic!("{other:?}"),
    }
    // Participants cannot change it.
    let e = request(
        &mut m,
        2,
        ClientMessage::SetChatHistory {
            mode: crate::protocol::ChatHistory::NotKept,
        },
    );
    assert_eq!(error_code(&e), Some(ErrorCode::Forbidden));
}

#[test]
fn a_resume_still_replays_what_its_connection_missed_when_chat_is_not_kept() {
    let mut m = Meeting::new(
        "m",
        MeetingConfig {
            max_members: 8,
            resume_grace_ms: 30_000,
            chat_history: crate::protocol::ChatHistory::NotKept,
            ..MeetingConfig::default()
        },
        7,
    );
    join(&mut m, 1, Role::Host);
    let e = join(&mut m, 2, Role::Participant);
    let token = resume_token(&e, 2);
    m.handle(Input::Dropped { peer: PeerId(2) }, 2_000);
    m.handle(
        Input::Request {
            from: PeerId(1),
            id: None,
            message: ClientMessage::Chat {
                text: "while you were away".into(),
                to: None,
                channel: None,
            },
        },
        3_000,
    );
    let e = resume(&mut m, 22, "s2", &token, Some(RoomId::main()), 0, 5_000);
    match welcome_of(&e, 2) {
        Some(ServerMessage::Welcome { chat, .. }) => {
            assert_eq!(chat.len(), 1, "the message it missed, within the grace");
        }
        other => panic!("{other:?}"),
    }
}
