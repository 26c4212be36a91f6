//! Consent before the group: held apart until the agreement is accepted, hosts never asked, a
//! changed text asks again, acceptances audited without the text.

use super::super::harness::*;
use super::super::*;

const RULES: &str = "What is said here stays here. Use first names only.";

fn with_agreement() -> Meeting {
    Meeting::new(
        "m",
        MeetingConfig {
            max_members: 8,
            agreement: Some(RULES.into()),
            ..MeetingConfig::default()
        },
        7,
    )
}

fn required(effects: &[Effect], peer: u64) -> Option<String> {
    sent_to(effects, peer).into_iter().find_map(|m| match m {
        ServerMessage::AgreementRequired { version, text } => {
            assert_eq!(text, RULES);
            Some(version)
        }
        _ => None,
    })
}

#[test]
fn nobody_sees_anything_before_accepting_and_hosts_are_not_asked() {
    let mut m = with_agreement();
    let e = join(&mut m, 1, Role::Host);
    assert!(welcome_of(&e, 1).is_some(), "hosts are not asked");
    let e = join(&mut m, 2, Role::Participant);
    let version = required(&e, 2).expect("agreement_required instead of welcome");
    assert!(welcome_of(&e, 2).is_none());
    assert!(m.is_agreeing(PeerId(2)) && !m.contains(PeerId(2)));
    // Chat in the room does not reach them; their own frames are refused.
    let e = request(
        &mut m,
        1,
        ClientMessage::Chat {
            text: "welcome".into(),
            to: None,
            channel: None,
        },
    );
    assert!(sent_to(&e, 2).is_empty());
    let e = request(
        &mut m,
        2,
        ClientMessage::Chat {
            text: "hi".into(),
            to: None,
            channel: None,
        },
    );
    assert_eq!(error_code(&e), Some(ErrorCode::Forbidden));
    // The host sees who is reading.
    // Accepting a stale version re-sends the text.
    let e = request(
        &mut m,
        2,
        ClientMessage::AcceptAgreement {
            version: "old".into(),
        },
    );
    assert_eq!(error_code(&e), Some(ErrorCode::Conflict));
    assert!(required(&e, 2).is_some());
    let e = request(&mut m, 2, ClientMessage::AcceptAgreement { version });
    assert!(welcome_of(&e, 2).is_some(), "welcome once accepted");
    assert!(m.contains(PeerId(2)));
    // Audited with the version, never the text.
    let audit = e
        .iter()
        .find_map(|e| match e {
            Effect::Audit { action, detail, .. } if *action == "accept_agreement" => {
                Some(detail.clone().unwrap_or_default())
            }
            _ => None,
        })
        .expect("audited");
    assert!(!audit.contains("stays here"));
    // The same person coming back later is not asked again.
    m.handle(
        Input::Leave {
            peer: PeerId(2),
            reason: PeerLeftReason::Left,
        },
        10,
    );
    let e = join(&mut m, 3, Role::Participant);
    assert!(required(&e, 3).is_some(), "another person is asked");
    let e = m.handle(
        Input::Join {
            peer: PeerId(12),
            identity: who("s2", Role::Participant),
        },
        11,
    );
    assert!(
        welcome_of(&e, 12).is_some(),
        "s2 accepted this version already"
    );
}

#[test]
fn a_changed_text_asks_everyone_again_and_an_empty_one_lets_them_in() {
    let mut m = with_agreement();
    join(&mut m, 1, Role::Host);
    let e = join(&mut m, 2, Role::Participant);
    let v1 = required(&e, 2).unwrap();
    request(
        &mut m,
        2,
        ClientMessage::AcceptAgreement {
            version: v1.clone(),
        },
    );
    join(&mut m, 3, Role::Mentor);
    assert!(m.is_agreeing(PeerId(3)));
    // Participants cannot change it; hosts can.
    let e = request(
        &mut m,
        2,
        ClientMessage::SetAgreement { text: "new".into() },
    );
    assert_eq!(error_code(&e), Some(ErrorCode::Forbidden));
    let e = request(
        &mut m,
        1,
        ClientMessage::SetAgreement {
            text: "New rules.".into(),
        },
    );
    let asked = |p: u64| {
        sent_to(&e, p)
            .iter()
            .any(|m| matches!(m, ServerMessage::AgreementRequired { .. }))
    };
    assert!(asked(2) && asked(3) && !asked(1));
    assert!(
        m.contains(PeerId(2)),
        "members stay seated while asked again"
    );
    // Over 8 KiB is refused.
    let e = request(
        &mut m,
        1,
        ClientMessage::SetAgreement {
            text: "x".repeat(8 * 1024 + 1),
        },
    );
    assert_eq!(error_code(&e), Some(ErrorCode::TooLarge));
    // Removed: whoever was reading comes in.
    let e = request(
        &mut m,
        1,
        ClientMessage::SetAgreement {
            text: String::new(),
        },
    );
    assert!(welcome_of(&e, 3).is_some());
    assert!(!m.is_agreeing(PeerId(3)));
}
