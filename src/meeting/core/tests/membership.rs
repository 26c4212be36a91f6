//! Joining, one seat per person, leaving, and the role gate.

use super::super::harness::*;
use super::super::*;
use serde_json::json;

#[test]
fn join_welcomes_and_announces() {
    let mut m = meeting();
    let e = join(&mut m, 1, Role::Host);
    assert_eq!(
        e.len(),
        7,
        "welcome, everyone, the lobby and hands (for a host), the roster, then the events"
    );
    assert!(
        matches!(&e[4], Effect::Send { to, message: ServerMessage::Rooms { .. } } if to == &vec![PeerId(1)])
    );
    assert!(matches!(
        &e[5],
        Effect::Event(MeetingEvent {
            kind: EventKind::MeetingStarted,
            ..
        })
    ));
    assert!(
        matches!(&e[6], Effect::Event(MeetingEvent { kind: EventKind::Joined, person: Some(p), .. }) if p.peer == PeerId(1) && p.role == Role::Host)
    );
    let e = join(&mut m, 2, Role::Participant);
    match &e[0] {
        Effect::Send {
            to,
            message: ServerMessage::Welcome { peers, room, .. },
        } => {
            assert_eq!(to, &vec![PeerId(2)]);
            assert_eq!(room, &RoomId::main());
            assert_eq!(peers.len(), 1);
            assert_eq!(peers[0].id, PeerId(1));
        }
        other => panic!("expected welcome, got {other:?}"),
    }
    assert!(
        matches!(&e[1], Effect::Send { to, message: ServerMessage::PeerJoined { .. } } if to == &vec![PeerId(1)])
    );
}

#[test]
fn full_meeting_refuses_and_duplicate_ids_are_refused() {
    let mut m = meeting();
    for i in 1..=4 {
        join(&mut m, i, Role::Participant);
    }
    let e = join(&mut m, 5, Role::Participant);
    assert!(matches!(
        e[0],
        Effect::Refuse {
            refusal: Refusal {
                error: Some(ErrorCode::MeetingFull),
                ..
            },
            ..
        }
    ));
    assert_eq!(m.member_count(), 4);
    m.handle(
        Input::Leave {
            peer: PeerId(4),
            reason: PeerLeftReason::Left,
        },
        2,
    );
    // Peer id 1 again, for someone else: refused. (The same person would take over.)
    let e = m.handle(
        Input::Join {
            peer: PeerId(1),
            identity: who("someone-else", Role::Participant),
        },
        3,
    );
    assert!(matches!(
        e[0],
        Effect::Refuse {
            refusal: Refusal {
                error: Some(ErrorCode::Internal),
                ..
            },
            ..
        }
    ));
}

#[test]
fn leave_tells_the_room_and_late_frames_are_ignored() {
    let mut m = meeting();
    join(&mut m, 1, Role::Host);
    join(&mut m, 2, Role::Participant);
    let e = m.handle(
        Input::Leave {
            peer: PeerId(2),
            reason: PeerLeftReason::Disconnected,
        },
        3,
    );
    assert_eq!(
        e[..1],
        vec![Effect::Send {
            to: vec![PeerId(1)],
            message: ServerMessage::PeerLeft {
                id: PeerId(2),
                reason: PeerLeftReason::Disconnected
            }
        }]
    );
    assert!(
        matches!(&e[1], Effect::Send { to, message: ServerMessage::Rooms { .. } } if to == &vec![PeerId(1)])
    );
    let e = request(
        &mut m,
        2,
        ClientMessage::Chat {
            text: "late".into(),
            to: None,
            channel: None,
        },
    );
    assert!(e.is_empty());
    m.handle(
        Input::Leave {
            peer: PeerId(1),
            reason: PeerLeftReason::Left,
        },
        4,
    );
    assert!(m.can_stop());
}

#[test]
fn a_clean_leave_and_a_waiting_drop_hold_nothing() {
    let mut m = meeting();
    join(&mut m, 1, Role::Host);
    join(&mut m, 2, Role::Participant);
    m.handle(
        Input::Leave {
            peer: PeerId(2),
            reason: PeerLeftReason::Left,
        },
        10,
    );
    assert!(!m.contains(PeerId(2)));
    request(&mut m, 1, ClientMessage::SetLobby { enabled: true });
    join(&mut m, 3, Role::Participant);
    assert!(m.is_waiting(PeerId(3)));
    m.handle(Input::Dropped { peer: PeerId(3) }, 20);
    assert!(!m.is_waiting(PeerId(3)));
    m.check_invariants().unwrap();
}

#[test]
fn roles_are_enforced_on_every_message() {
    let mut m = meeting();
    join(&mut m, 1, Role::Host);
    join(&mut m, 2, Role::Observer);
    let chat = ClientMessage::Chat {
        text: "hi".into(),
        to: None,
        channel: None,
    };
    assert_eq!(
        error_code(&request(&mut m, 2, chat)),
        Some(ErrorCode::Forbidden)
    );
    let offer = ClientMessage::Signal {
        to: PeerId(1),
        data: json!({"type": "offer", "sdp": ""}).into(),
    };
    assert_eq!(
        error_code(&request(&mut m, 2, offer)),
        Some(ErrorCode::Forbidden)
    );
    let answer = ClientMessage::Signal {
        to: PeerId(1),
        data: json!({"type": "answer", "sdp": ""}).into(),
    };
    assert_eq!(error_code(&request(&mut m, 2, answer)), None);
    let data = ClientMessage::Data {
        payload: json!(1).into(),
        to: None,
    };
    assert_eq!(
        error_code(&request(&mut m, 2, data)),
        Some(ErrorCode::Forbidden)
    );
}
