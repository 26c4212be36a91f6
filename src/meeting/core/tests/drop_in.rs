//! Drop-in rooms run by mentors: no host needed, never ended for everyone, and a mentor's
//! moderation is a peer leader's and no more.

use super::super::harness::*;
use super::super::*;
use crate::protocol::{BreakoutRoomSpec, MeetingKind, SplitStrategy};

fn drop_in() -> Meeting {
    Meeting::new(
        "d",
        MeetingConfig {
            max_members: 10,
            wait_for_host: true,
            kind: MeetingKind::DropIn,
            ..MeetingConfig::default()
        },
        7,
    )
}

#[test]
fn a_drop_in_needs_no_host_and_never_ends_for_everyone() {
    let mut m = drop_in();
    let e = join(&mut m, 1, Role::Mentor);
    match welcome_of(&e, 1) {
        Some(ServerMessage::Welcome { kind, .. }) => assert_eq!(kind, MeetingKind::DropIn),
        other => panic!("{other:?}"),
    }
    join(&mut m, 2, Role::Participant);
    assert!(m.contains(PeerId(2)), "no waiting for a host");
    join(&mut m, 3, Role::Host);
    let e = request(&mut m, 3, ClientMessage::EndMeeting {});
    assert_eq!(error_code(&e), Some(ErrorCode::Conflict));
    assert_eq!(m.member_count(), 3);
    // A clinician's session still waits for its host.
    let mut session = Meeting::new(
        "s",
        MeetingConfig {
            wait_for_host: true,
            ..MeetingConfig::default()
        },
        7,
    );
    join(&mut session, 1, Role::Mentor);
    assert!(session.is_waiting(PeerId(1)));
}

#[test]
fn a_mentor_admits_asks_to_mute_lowers_hands_and_removes_without_a_ban_and_nothing_more() {
    let mut m = drop_in();
    join(&mut m, 1, Role::Mentor);
    join(&mut m, 2, Role::Participant);
    join(&mut m, 3, Role::Cohost);
    join(&mut m, 4, Role::Participant);
    request(
        &mut m,
        2,
        ClientMessage::RaiseHand {
            raised: true,
            peer: None,
        },
    );
    let allowed = [
        ClientMessage::RequestMute {
            peer: PeerId(2),
            audio: true,
            video: false,
        },
        ClientMessage::RaiseHand {
            raised: false,
            peer: Some(PeerId(2)),
        },
    ];
    for message in allowed {
        let kind = message.kind();
        let e = request(&mut m, 1, message);
        assert_eq!(error_code(&e), None, "{kind}");
        assert!(
            e.iter()
                .any(|e| matches!(e, Effect::Audit { action, .. } if *action == kind)),
            "{kind} audited"
        );
    }
    let host_only = [
        ClientMessage::Remove {
            peer: PeerId(2),
            ban: true,
        },
        ClientMessage::EndMeeting {},
        ClientMessage::Split {
            strategy: SplitStrategy::Manual,
            count: None,
            rooms: vec![BreakoutRoomSpec {
                members: vec![PeerId(2)],
                ..Default::default()
            }],
            topic: None,
            duration_secs: None,
            spread_mentors: None,
            allow_solo: None,
        },
        ClientMessage::SetRole {
            peer: PeerId(2),
            role: Role::Mentor,
        },
        ClientMessage::TransferHost { peer: PeerId(2) },
        ClientMessage::Lock { locked: true },
        ClientMessage::SetLobby { enabled: true },
        ClientMessage::Broadcast {
            text: "hi".into(),
            room: None,
        },
        ClientMessage::PullAside { peer: PeerId(2) },
        ClientMessage::AllowScreenShare { allowed: true },
        ClientMessage::SetReactions { enabled: false },
        ClientMessage::Chat {
            text: "staff".into(),
            to: None,
            channel: Some(crate::protocol::ChatChannel::Staff),
        },
    ];
    for message in host_only {
        let kind = message.kind();
        let e = request(&mut m, 1, message);
        assert_eq!(
            error_code(&e),
            Some(ErrorCode::Forbidden),
            "a mentor did {kind}"
        );
    }
    // Not a cohost, even without a ban.
    let e = request(
        &mut m,
        1,
        ClientMessage::Remove {
            peer: PeerId(3),
            ban: false,
        },
    );
    assert_eq!(error_code(&e), Some(ErrorCode::Forbidden));
    // A participant, without a ban: gone, and may come back.
    let e = request(
        &mut m,
        1,
        ClientMessage::Remove {
            peer: PeerId(4),
            ban: false,
        },
    );
    assert_eq!(error_code(&e), None);
    assert!(!m.contains(PeerId(4)));
    join(&mut m, 4, Role::Participant);
    assert!(m.contains(PeerId(4)) || m.is_waiting(PeerId(4)));
}

#[test]
fn a_mentor_admits_from_the_waiting_room_in_a_drop_in_only() {
    let mut m = Meeting::new(
        "d",
        MeetingConfig {
            max_members: 10,
            waiting_room: true,
            kind: MeetingKind::DropIn,
            ..MeetingConfig::default()
        },
        7,
    );
    join(&mut m, 1, Role::Mentor);
    assert!(
        m.is_waiting(PeerId(1)),
        "a mentor waits like anyone but hosts"
    );
    join(&mut m, 2, Role::Host);
    request(
        &mut m,
        2,
        ClientMessage::Admit {
            peer: Some(PeerId(1)),
        },
    );
    join(&mut m, 3, Role::Participant);
    assert!(m.is_waiting(PeerId(3)));
    let e = request(
        &mut m,
        1,
        ClientMessage::Admit {
            peer: Some(PeerId(3)),
        },
    );
    assert_eq!(error_code(&e), None);
    assert!(m.contains(PeerId(3)));
    // In a clinician's session a mentor does not admit.
    let mut s = Meeting::new(
        "s",
        MeetingConfig {
            max_members: 10,
            waiting_room: true,
            ..MeetingConfig::default()
        },
        7,
    );
    join(&mut s, 1, Role::Host);
    join(&mut s, 2, Role::Mentor);
    request(&mut s, 1, ClientMessage::Admit { peer: None });
    join(&mut s, 3, Role::Participant);
    let e = request(
        &mut s,
        2,
        ClientMessage::Admit {
            peer: Some(PeerId(3)),
        },
    );
    assert_eq!(error_code(&e), Some(ErrorCode::Forbidden));
}

#[test]
fn a_mentor_calls_the_on_call_staff_and_messages_anyone_privately() {
    let mut m = drop_in();
    join(&mut m, 1, Role::Mentor);
    join(&mut m, 2, Role::Participant);
    let e = request(&mut m, 1, ClientMessage::AskHelp {});
    assert_eq!(
        error_code(&e),
        None,
        "no host present: the partner is called"
    );
    assert!(e.iter().any(|e| matches!(
        e,
        Effect::Event(MeetingEvent {
            kind: EventKind::HelpRequested,
            ..
        })
    )));
    // Participants still ask for help only from breakouts.
    let e = request(&mut m, 2, ClientMessage::AskHelp {});
    assert_eq!(error_code(&e), Some(ErrorCode::Conflict));
    // Private messages across rooms: a mentor may, as a host may.
    join(&mut m, 3, Role::Host);
    request(
        &mut m,
        3,
        ClientMessage::Split {
            strategy: SplitStrategy::Manual,
            count: None,
            rooms: vec![BreakoutRoomSpec {
                members: vec![PeerId(2)],
                ..Default::default()
            }],
            topic: None,
            duration_secs: None,
            spread_mentors: None,
            allow_solo: None,
        },
    );
    assert_ne!(m.room_of(PeerId(1)), m.room_of(PeerId(2)));
    let e = request(
        &mut m,
        1,
        ClientMessage::Chat {
            text: "how are you doing?".into(),
            to: Some(PeerId(2)),
            channel: None,
        },
    );
    assert_eq!(error_code(&e), None);
}
