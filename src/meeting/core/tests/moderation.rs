//! Moderation: ending, audit, moderator state, hands, pull-aside, host handover.

use super::super::harness::*;
use super::super::*;
use crate::protocol::{Refusal, SplitStrategy};

#[test]
fn an_ended_meeting_stays_closed_to_participants_until_a_host_starts_it_again() {
    let mut m = meeting();
    join(&mut m, 1, Role::Host);
    join(&mut m, 2, Role::Participant);
    request(
        &mut m,
        1,
        ClientMessage::Chat {
            text: "private to this session".into(),
            to: None,
            channel: None,
        },
    );
    request(&mut m, 1, ClientMessage::EndMeeting {});
    assert!(m.is_ended() && !m.can_stop() && m.member_count() == 0);
    let e = join(&mut m, 3, Role::Participant);
    assert!(matches!(
        e.as_slice(),
        [Effect::Refuse {
            refusal: Refusal {
                error: Some(ErrorCode::MeetingEnded),
                ..
            },
            ..
        }]
    ));
    let e = join(&mut m, 4, Role::Cohost);
    assert!(!m.is_ended());
    match welcome_of(&e, 4) {
        Some(ServerMessage::Welcome { chat, .. }) => {
            assert!(chat.is_empty(), "nothing of the last session")
        }
        other => panic!("{other:?}"),
    }
    join(&mut m, 3, Role::Participant);
    assert!(m.contains(PeerId(3)));
    // Forgotten after a while: the actor may stop.
    m.handle(
        Input::Leave {
            peer: PeerId(3),
            reason: PeerLeftReason::Left,
        },
        10,
    );
    request(&mut m, 4, ClientMessage::EndMeeting {});
    let forget = m
        .next_deadline()
        .expect("a deadline to forget the ended meeting");
    m.handle(Input::Tick, forget);
    assert!(m.can_stop());
}

#[test]
fn every_moderator_action_is_audited() {
    let mut m = Meeting::new("m", MeetingConfig::default(), 3);
    for (id, role) in [
        (1, Role::Host),
        (2, Role::Participant),
        (3, Role::Participant),
        (4, Role::Participant),
    ] {
        join(&mut m, id, role);
    }
    let mut audited = BTreeSet::new();
    let mut act = |m: &mut Meeting, by: u64, message: ClientMessage| {
        let kind = message.kind();
        let e = request(m, by, message);
        assert_eq!(error_code(&e), None, "{kind} refused: {e:?}");
        assert!(
            e.iter().any(|e| matches!(
                e,
                Effect::Audit { by: b, action, .. } if *b == PeerId(by) && *action == kind
            )),
            "{kind} not audited"
        );
        audited.insert(kind);
    };
    act(
        &mut m,
        1,
        ClientMessage::RequestMute {
            peer: PeerId(2),
            audio: true,
            video: false,
        },
    );
    act(&mut m, 1, ClientMessage::Lock { locked: true });
    act(&mut m, 1, ClientMessage::Lock { locked: false });
    act(&mut m, 1, ClientMessage::SetLobby { enabled: true });
    join(&mut m, 5, Role::Participant);
    act(
        &mut m,
        1,
        ClientMessage::Admit {
            peer: Some(PeerId(5)),
        },
    );
    join(&mut m, 6, Role::Participant);
    act(&mut m, 1, ClientMessage::Deny { peer: None });
    act(&mut m, 1, ClientMessage::SetLobby { enabled: false });
    act(
        &mut m,
        1,
        ClientMessage::SetRole {
            peer: PeerId(2),
            role: Role::Cohost,
        },
    );
    // Three people into two rooms: one of them alone, as asked.
    act(&mut m, 1, split_even_with(2, Some(600), true));
    let breakouts: Vec<RoomId> = m.room_ids().into_iter().filter(|r| !r.is_main()).collect();
    let (a, b) = (
        m.room_members(&breakouts[0])[0],
        m.room_members(&breakouts[1])[0],
    );
    act(&mut m, 1, ClientMessage::Swap { a, b });
    act(
        &mut m,
        1,
        ClientMessage::Move {
            peer: a,
            room: breakouts[0].clone(),
        },
    );
    act(
        &mut m,
        1,
        ClientMessage::Visit {
            room: breakouts[1].clone(),
        },
    );
    act(
        &mut m,
        1,
        ClientMessage::Broadcast {
            text: "two minutes".into(),
            room: None,
        },
    );
    act(&mut m, 1, ClientMessage::ExtendTimer { secs: 60 });
    act(
        &mut m,
        1,
        ClientMessage::Merge {
            countdown_secs: None,
            rooms: Vec::new(),
        },
    );
    act(
        &mut m,
        1,
        ClientMessage::Reopen {
            duration_secs: None,
        },
    );
    act(
        &mut m,
        1,
        ClientMessage::Merge {
            countdown_secs: None,
            rooms: Vec::new(),
        },
    );
    act(&mut m, 1, ClientMessage::PullAside { peer: PeerId(3) });
    act(&mut m, 1, ClientMessage::EndAside { peer: None });
    act(
        &mut m,
        1,
        ClientMessage::Remove {
            peer: PeerId(4),
            ban: true,
        },
    );
    act(&mut m, 1, ClientMessage::TransferHost { peer: PeerId(2) });
    act(&mut m, 2, ClientMessage::EndMeeting {});
    let all = [
        "split",
        "move",
        "swap",
        "visit",
        "broadcast",
        "merge",
        "extend_timer",
        "reopen",
        "remove",
        "end_meeting",
        "request_mute",
        "set_role",
        "transfer_host",
        "lock",
        "set_lobby",
        "pull_aside",
        "end_aside",
        "admit",
        "deny",
    ];
    assert_eq!(audited, all.into_iter().collect::<BTreeSet<_>>());
}

#[test]
fn moderators_get_the_lobby_and_hands_with_every_welcome_and_promotion() {
    let mut m = meeting();
    let e = join(&mut m, 1, Role::Host);
    let to_host = sent_to(&e, 1);
    assert!(matches!(to_host[0], ServerMessage::Welcome { .. }));
    assert!(to_host
        .iter()
        .any(|msg| matches!(msg, ServerMessage::Lobby { .. })));
    assert!(to_host
        .iter()
        .any(|msg| matches!(msg, ServerMessage::Hands { .. })));
    assert!(to_host
        .iter()
        .any(|msg| matches!(msg, ServerMessage::People { peers } if peers.len() == 1)));
    let e = join(&mut m, 2, Role::Participant);
    assert!(!sent_to(&e, 2).iter().any(|msg| matches!(
        msg,
        ServerMessage::Lobby { .. } | ServerMessage::Hands { .. }
    )));
    request(
        &mut m,
        2,
        ClientMessage::RaiseHand {
            raised: true,
            peer: None,
        },
    );
    let e = request(
        &mut m,
        1,
        ClientMessage::SetRole {
            peer: PeerId(2),
            role: Role::Cohost,
        },
    );
    assert!(sent_to(&e, 2)
        .iter()
        .any(|msg| matches!(msg, ServerMessage::Hands { queue } if queue == &vec![PeerId(2)])));
}

#[test]
fn a_host_lowers_a_hand_and_the_person_hears_of_it() {
    let mut m = meeting();
    join(&mut m, 1, Role::Host);
    join(&mut m, 2, Role::Participant);
    join(&mut m, 3, Role::Participant);
    let e = request(
        &mut m,
        2,
        ClientMessage::RaiseHand {
            raised: true,
            peer: None,
        },
    );
    assert!(sent_to(&e, 3).iter().any(|msg| matches!(
        msg,
        ServerMessage::PeerUpdated { peer } if peer.id == PeerId(2) && peer.hand
    )));
    let e = request(
        &mut m,
        3,
        ClientMessage::RaiseHand {
            raised: false,
            peer: Some(PeerId(2)),
        },
    );
    assert_eq!(error_code(&e), Some(ErrorCode::Forbidden));
    let lower = ClientMessage::RaiseHand {
        raised: false,
        peer: Some(PeerId(2)),
    };
    let e = request(&mut m, 1, lower.clone());
    assert!(sent_to(&e, 2).iter().any(|msg| matches!(
        msg,
        ServerMessage::PeerUpdated { peer } if peer.id == PeerId(2) && !peer.hand
    )));
    assert!(e.iter().any(|e| matches!(
        e,
        Effect::Audit { action: "raise_hand", subject: Some(PeerId(2)), detail: Some(d), .. } if d == "lowered"
    )));
    assert!(sent_to(&e, 1)
        .iter()
        .any(|msg| matches!(msg, ServerMessage::Hands { queue } if queue.is_empty())));
    // Lowering a hand that is down is a conflict, not a second audit entry.
    let e = request(&mut m, 1, lower);
    assert_eq!(error_code(&e), Some(ErrorCode::Conflict));
}

#[test]
fn leaving_during_a_pull_aside_is_told_to_the_room_left_behind() {
    let mut m = meeting();
    join(&mut m, 1, Role::Host);
    join(&mut m, 2, Role::Participant);
    join(&mut m, 3, Role::Participant);
    request(&mut m, 1, ClientMessage::PullAside { peer: PeerId(2) });
    let e = m.handle(
        Input::Leave {
            peer: PeerId(2),
            reason: PeerLeftReason::Left,
        },
        10,
    );
    m.check_invariants().unwrap();
    assert!(sent_to(&e, 3).iter().any(|msg| matches!(
        msg,
        ServerMessage::PeerLeft {
            id: PeerId(2),
            reason: PeerLeftReason::Left
        }
    )));
    assert_eq!(
        m.room_of(PeerId(1)),
        Some(&RoomId::main()),
        "the host is back"
    );
}

#[test]
fn an_ended_meeting_is_not_reopened_by_a_resume_or_a_banned_cohost() {
    let (mut m, token) = host_and(Role::Cohost);
    join(&mut m, 3, Role::Cohost);
    request(
        &mut m,
        1,
        ClientMessage::Remove {
            peer: PeerId(3),
            ban: true,
        },
    );
    m.handle(Input::Dropped { peer: PeerId(2) }, 10);
    request(&mut m, 1, ClientMessage::EndMeeting {});
    // The held seat's owner comes back: told the meeting ended, not "join afresh".
    let e = m.handle(
        Input::Resume {
            peer: PeerId(9),
            identity: who("s2", Role::Cohost),
            resume: ResumeRequest {
                token,
                room: Some(RoomId::main()),
                last_chat: 0,
                last_private: 0,
            },
        },
        20,
    );
    assert!(matches!(
        e.as_slice(),
        [Effect::Refuse {
            refusal: Refusal {
                error: Some(ErrorCode::MeetingEnded),
                ..
            },
            ..
        }]
    ));
    // The banned cohost is refused and the meeting stays ended.
    let e = join(&mut m, 3, Role::Cohost);
    assert_eq!(error_code(&e), None);
    assert!(matches!(
        e.as_slice(),
        [Effect::Refuse {
            refusal: Refusal {
                error: Some(ErrorCode::Forbidden),
                ..
            },
            ..
        }]
    ));
    assert!(m.is_ended() && !m.can_stop());
}

#[test]
fn the_host_role_is_not_handed_to_a_held_seat() {
    let mut m = meeting();
    join(&mut m, 1, Role::Host);
    join(&mut m, 2, Role::Participant);
    m.handle(Input::Dropped { peer: PeerId(2) }, 10);
    let e = request(&mut m, 1, ClientMessage::TransferHost { peer: PeerId(2) });
    assert_eq!(error_code(&e), Some(ErrorCode::Conflict));
    let e = request(&mut m, 1, ClientMessage::PullAside { peer: PeerId(2) });
    assert_eq!(error_code(&e), Some(ErrorCode::Conflict));
    assert_eq!(m.role(PeerId(1)), Some(Role::Host));
}

/// Leaves cleanly and comes back as a new connection `peer` of the same person `sub`, holding
/// a token for `role`; returns the effects of the join.
fn rejoin(m: &mut Meeting, left: u64, peer: u64, sub: &str, role: Role) -> Vec<Effect> {
    m.handle(
        Input::Leave {
            peer: PeerId(left),
            reason: PeerLeftReason::Left,
        },
        10,
    );
    let e = m.handle(
        Input::Join {
            peer: PeerId(peer),
            identity: who(sub, role),
        },
        11,
    );
    m.check_invariants().unwrap();
    e
}

#[test]
fn a_demotion_holds_when_the_person_comes_back_with_the_old_token() {
    let (mut m, _) = host_and(Role::Cohost);
    join(&mut m, 3, Role::Participant);
    let demote = ClientMessage::SetRole {
        peer: PeerId(2),
        role: Role::Participant,
    };
    assert_eq!(error_code(&request(&mut m, 1, demote)), None);
    assert_eq!(
        error_code(&request(&mut m, 1, ClientMessage::Lock { locked: true })),
        None
    );
    // The cohost token no longer gets past the lock...
    let e = rejoin(&mut m, 2, 4, "s2", Role::Cohost);
    assert!(
        matches!(
            e.as_slice(),
            [Effect::Refuse {
                refusal: Refusal {
                    error: Some(ErrorCode::MeetingLocked),
                    ..
                },
                ..
            }]
        ),
        "{e:?}"
    );
    // ...nor past the waiting room, and once in, it does not moderate.
    request(&mut m, 1, ClientMessage::Lock { locked: false });
    request(&mut m, 1, ClientMessage::SetLobby { enabled: true });
    rejoin(&mut m, 4, 5, "s2", Role::Cohost);
    assert!(m.is_waiting(PeerId(5)));
    request(
        &mut m,
        1,
        ClientMessage::Admit {
            peer: Some(PeerId(5)),
        },
    );
    assert_eq!(m.role(PeerId(5)), Some(Role::Participant));
    let e = request(&mut m, 5, ClientMessage::Lock { locked: true });
    assert_eq!(error_code(&e), Some(ErrorCode::Forbidden));
}

#[test]
fn a_host_who_handed_over_comes_back_as_cohost_so_there_is_one_host() {
    let (mut m, _) = host_and(Role::Participant);
    let handover = ClientMessage::TransferHost { peer: PeerId(2) };
    assert_eq!(error_code(&request(&mut m, 1, handover)), None);
    rejoin(&mut m, 1, 6, "s1", Role::Host);
    assert_eq!(m.role(PeerId(6)), Some(Role::Cohost));
    let hosts = m
        .member_ids()
        .into_iter()
        .filter(|p| m.role(*p) == Some(Role::Host))
        .count();
    assert_eq!(hosts, 1);
    // And the new host stays host when they reconnect with a participant's link.
    rejoin(&mut m, 2, 7, "s2", Role::Participant);
    assert_eq!(m.role(PeerId(7)), Some(Role::Host));
}

#[test]
fn even_and_random_leave_nobody_alone_unless_asked() {
    for strategy in [SplitStrategy::Even, SplitStrategy::Random] {
        for (people, asked, opened) in [(3, 2, 1), (5, 3, 2), (4, 2, 2), (7, 4, 3), (2, 2, 1)] {
            let mut m = Meeting::new(
                "m",
                MeetingConfig {
                    max_members: 20,
                    ..MeetingConfig::default()
                },
                3,
            );
            join(&mut m, 1, Role::Host);
            for id in 0..people {
                join(&mut m, 10 + id, Role::Participant);
            }
            let split = ClientMessage::Split {
                strategy,
                count: Some(asked),
                rooms: Vec::new(),
                topic: None,
                duration_secs: None,
                spread_mentors: None,
                allow_solo: None,
            };
            let e = request(&mut m, 1, split);
            assert_eq!(error_code(&e), None);
            let rooms: Vec<RoomId> = m.room_ids().into_iter().filter(|r| !r.is_main()).collect();
            assert_eq!(
                rooms.len(),
                opened,
                "{strategy:?}: {people} people, {asked} asked"
            );
            for room in &rooms {
                assert!(m.room_members(room).len() >= 2, "someone alone in {room:?}");
            }
        }
    }
    // Asked for: solo reflection.
    let mut m = meeting();
    join(&mut m, 1, Role::Host);
    join(&mut m, 2, Role::Participant);
    join(&mut m, 3, Role::Participant);
    request(&mut m, 1, split_even_with(2, None, true));
    let rooms: Vec<RoomId> = m.room_ids().into_iter().filter(|r| !r.is_main()).collect();
    assert_eq!(rooms.len(), 2);
    assert!(rooms.iter().all(|r| m.room_members(r).len() == 1));
}

#[test]
fn a_broadcast_can_go_to_one_room_and_its_hosts() {
    let mut m = meeting();
    join(&mut m, 1, Role::Host);
    join(&mut m, 2, Role::Participant);
    join(&mut m, 3, Role::Participant);
    join(&mut m, 4, Role::Participant);
    request(
        &mut m,
        1,
        ClientMessage::Split {
            strategy: SplitStrategy::Manual,
            count: None,
            rooms: vec![crate::protocol::BreakoutRoomSpec {
                members: vec![PeerId(2), PeerId(3)],
                ..Default::default()
            }],
            topic: None,
            duration_secs: None,
            spread_mentors: None,
            allow_solo: None,
        },
    );
    let room = m.room_of(PeerId(2)).unwrap().clone();
    let e = request(
        &mut m,
        1,
        ClientMessage::Broadcast {
            text: "five minutes left in here".into(),
            room: Some(room.clone()),
        },
    );
    let got = |p: u64| {
        sent_to(&e, p)
            .iter()
            .any(|m| matches!(m, ServerMessage::Broadcast { room: Some(r), .. } if *r == room))
    };
    assert!(got(1) && got(2) && got(3), "the room and its host");
    assert!(!got(4), "not the main room");
    let e = request(
        &mut m,
        1,
        ClientMessage::Broadcast {
            text: "?".into(),
            room: Some(RoomId("b999".into())),
        },
    );
    assert_eq!(error_code(&e), Some(ErrorCode::NotFound));
}
