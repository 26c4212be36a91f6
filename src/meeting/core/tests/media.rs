//! "Media through the hub": routes first in every batch that changes rooms, the `sfu_*`
//! requests' checks, hard mutes.

use super::super::harness::*;
use super::super::{Effect, Input, MediaEffect, MediaRequest, Meeting, MeetingConfig};
use crate::protocol::{
    BreakoutRoomSpec, ClientMessage, ErrorCode, MediaMode, PeerId, Role, ServerMessage,
    SplitStrategy,
};

fn sfu_meeting() -> Meeting {
    Meeting::new(
        "m",
        MeetingConfig {
            max_members: 10,
            media_mode: MediaMode::Sfu,
            ..MeetingConfig::default()
        },
        7,
    )
}

fn routes_of(effects: &[Effect]) -> Option<Vec<(u64, String)>> {
    effects.iter().find_map(|e| match e {
        Effect::Media(MediaEffect::Routes(r)) => {
            Some(r.iter().map(|r| (r.peer.0, r.room.0.clone())).collect())
        }
        _ => None,
    })
}

const OFFER_SENDING: &str = "v=0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=sendonly\r\n";
const OFFER_RECEIVING: &str = "v=0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=recvonly\r\n";

#[test]
fn routes_come_first_in_the_batch_that_moves_people() {
    let mut m = sfu_meeting();
    let first = join(&mut m, 1, Role::Host);
    assert!(matches!(first[0], Effect::Media(MediaEffect::Routes(_))));
    join(&mut m, 2, Role::Participant);
    join(&mut m, 3, Role::Participant);
    let split = request(
        &mut m,
        1,
        ClientMessage::Split {
            strategy: SplitStrategy::Manual,
            count: None,
            rooms: vec![BreakoutRoomSpec {
                members: vec![PeerId(2)],
                ..BreakoutRoomSpec::default()
            }],
            topic: None,
            duration_secs: None,
            spread_mentors: None,
            allow_solo: None,
        },
    );
    // The engine hears of the new rooms before anyone does.
    assert!(matches!(split[0], Effect::Media(MediaEffect::Routes(_))));
    let routes = routes_of(&split).unwrap();
    assert_eq!(routes[0], (1, "main".into()));
    assert_ne!(routes[1].1, "main", "2 is in the breakout");
    assert_eq!(routes[2], (3, "main".into()));
    // Relayed chat changes no route: no routes effect on the hot path.
    let chat = request(
        &mut m,
        3,
        ClientMessage::Chat {
            text: "hi".into(),
            to: None,
            channel: None,
        },
    );
    assert!(routes_of(&chat).is_none());
    // A departure is routed too.
    let left = m.handle(
        Input::Leave {
            peer: PeerId(3),
            reason: crate::protocol::PeerLeftReason::Left,
        },
        9,
    );
    assert_eq!(routes_of(&left).unwrap().len(), 2);
    m.check_invariants().unwrap();
}

#[test]
fn each_mode_refuses_the_other_modes_signaling() {
    let mut m = sfu_meeting();
    join(&mut m, 1, Role::Host);
    join(&mut m, 2, Role::Participant);
    let signal = ClientMessage::Signal {
        to: PeerId(2),
        data: serde_json::from_str(r#"{"type":"offer"}"#).unwrap(),
    };
    assert_eq!(
        error_code(&request(&mut m, 1, signal)),
        Some(ErrorCode::Conflict)
    );

    let mut mesh = meeting();
    join(&mut mesh, 1, Role::Host);
    let publish = ClientMessage::SfuPublish { sdp: None };
    assert_eq!(
        error_code(&request(&mut mesh, 1, publish)),
        Some(ErrorCode::Conflict)
    );
    let block = ClientMessage::BlockMedia {
        peer: PeerId(1),
        audio: Some(true),
        video: None,
    };
    assert_eq!(
        error_code(&request(&mut mesh, 1, block)),
        Some(ErrorCode::Conflict)
    );
}

#[test]
fn an_observer_may_only_receive_and_the_engine_answers_publishes() {
    let mut m = sfu_meeting();
    join(&mut m, 1, Role::Host);
    join(&mut m, 2, Role::Observer);
    let sending = ClientMessage::SfuPublish {
        sdp: Some(OFFER_SENDING.into()),
    };
    assert_eq!(
        error_code(&request(&mut m, 2, sending)),
        Some(ErrorCode::Forbidden)
    );
    let receiving = request(
        &mut m,
        2,
        ClientMessage::SfuPublish {
            sdp: Some(OFFER_RECEIVING.into()),
        },
    );
    assert!(receiving.iter().any(|e| matches!(
        e,
        Effect::Media(MediaEffect::Request {
            request: MediaRequest::Publish { sdp: Some(_) },
            id: Some(1),
            ..
        })
    )));
    // The engine acks once it has answered; the core does not ack ahead of it.
    assert!(sent_to(&receiving, 2)
        .iter()
        .all(|m| !matches!(m, ServerMessage::Ack { .. })));
    // A participant may send; the route says the observer may not.
    let routes = match &join(&mut m, 3, Role::Participant)[0] {
        Effect::Media(MediaEffect::Routes(r)) => r.clone(),
        other => panic!("routes first, not {other:?}"),
    };
    assert!(!routes.iter().find(|r| r.peer == PeerId(2)).unwrap().publish);
    assert!(routes.iter().find(|r| r.peer == PeerId(3)).unwrap().publish);
}

#[test]
fn a_hard_mute_is_a_moderators_kept_by_person_and_shown_to_everyone() {
    let mut m = sfu_meeting();
    join(&mut m, 1, Role::Host);
    join(&mut m, 2, Role::Participant);
    join(&mut m, 3, Role::Participant);
    let block = |peer: u64, audio: Option<bool>| ClientMessage::BlockMedia {
        peer: PeerId(peer),
        audio,
        video: None,
    };
    assert_eq!(
        error_code(&request(&mut m, 3, block(2, Some(true)))),
        Some(ErrorCode::Forbidden)
    );
    assert_eq!(
        error_code(&request(&mut m, 1, block(1, Some(true)))),
        Some(ErrorCode::Forbidden)
    );
    assert_eq!(
        error_code(&request(&mut m, 1, block(2, None))),
        Some(ErrorCode::BadRequest)
    );
    let blocked = request(&mut m, 1, block(2, Some(true)));
    let routes = routes_of(&blocked).expect("the engine is told first");
    assert_eq!(routes.len(), 3);
    let updated = sent_to(&blocked, 3);
    assert!(updated.iter().any(|msg| matches!(
        msg,
        ServerMessage::PeerUpdated { peer } if peer.id == PeerId(2) && peer.audio_blocked && !peer.video_blocked
    )));
    // Leaving and coming back does not lift it.
    m.handle(
        Input::Leave {
            peer: PeerId(2),
            reason: crate::protocol::PeerLeftReason::Left,
        },
        6,
    );
    let back = m.handle(
        Input::Join {
            peer: PeerId(4),
            identity: who("s2", Role::Participant),
        },
        7,
    );
    match &back[0] {
        Effect::Media(MediaEffect::Routes(r)) => {
            assert!(
                r.iter()
                    .find(|r| r.peer == PeerId(4))
                    .unwrap()
                    .audio_blocked
            )
        }
        other => panic!("routes first, not {other:?}"),
    }
    // Lifting it.
    let lifted = request(&mut m, 1, block(4, Some(false)));
    assert!(error_code(&lifted).is_none());
    m.check_invariants().unwrap();
}

fn screens_in(effects: &[Effect]) -> Option<Vec<u64>> {
    effects.iter().find_map(|e| match e {
        Effect::Media(MediaEffect::Routes(r)) => {
            Some(r.iter().filter(|r| r.screen).map(|r| r.peer.0).collect())
        }
        _ => None,
    })
}

fn share(m: &mut Meeting, who: u64, on: bool) -> Vec<Effect> {
    request(
        m,
        who,
        ClientMessage::MediaState {
            audio: true,
            video: true,
            screen: Some(on),
        },
    )
}

#[test]
fn screens_are_forwarded_for_hosts_always_and_for_participants_only_while_allowed() {
    let mut m = sfu_meeting();
    join(&mut m, 1, Role::Host);
    join(&mut m, 2, Role::Participant);
    join(&mut m, 3, Role::Observer);
    // The host shares: the routes change first, the room hears of it.
    let e = share(&mut m, 1, true);
    assert!(matches!(e[0], Effect::Media(MediaEffect::Routes(_))));
    assert_eq!(screens_in(&e), Some(vec![1]));
    assert!(sent_to(&e, 2).contains(&ServerMessage::PeerMedia {
        id: PeerId(1),
        audio: true,
        video: true,
        screen: true,
    }));
    // A participant is refused until a host allows it; an observer always.
    assert_eq!(
        error_code(&share(&mut m, 2, true)),
        Some(ErrorCode::Forbidden)
    );
    assert_eq!(
        error_code(&share(&mut m, 3, true)),
        Some(ErrorCode::Forbidden)
    );
    let e = request(&mut m, 1, ClientMessage::AllowScreenShare { allowed: true });
    assert!(sent_to(&e, 2).contains(&ServerMessage::ScreenShareAllowed { allowed: true }));
    let e = share(&mut m, 2, true);
    assert_eq!(screens_in(&e), Some(vec![1, 2]));
    assert_eq!(
        error_code(&share(&mut m, 3, true)),
        Some(ErrorCode::Forbidden)
    );
    // media_state without `screen` leaves it as it is: no route change.
    let e = request(
        &mut m,
        2,
        ClientMessage::MediaState {
            audio: false,
            video: true,
            screen: None,
        },
    );
    assert_eq!(screens_in(&e), None);
    // Forbidden again: the participant's screen stops at once, and they are told.
    let e = request(
        &mut m,
        1,
        ClientMessage::AllowScreenShare { allowed: false },
    );
    assert_eq!(screens_in(&e), Some(vec![1]));
    assert!(sent_to(&e, 2).contains(&ServerMessage::PeerMedia {
        id: PeerId(2),
        audio: false,
        video: true,
        screen: false,
    }));
    // Only moderators decide it.
    let e = request(&mut m, 2, ClientMessage::AllowScreenShare { allowed: true });
    assert_eq!(error_code(&e), Some(ErrorCode::Forbidden));
    // Later arrivals see who shares in their welcome's roster.
    let e = join(&mut m, 4, Role::Participant);
    match welcome_of(&e, 4) {
        Some(ServerMessage::Welcome { peers, .. }) => {
            assert!(peers.iter().any(|p| p.id == PeerId(1) && p.screen));
            assert!(peers.iter().any(|p| p.id == PeerId(2) && !p.screen));
        }
        other => panic!("{other:?}"),
    }
}
