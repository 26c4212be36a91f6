//! Scheduled sessions: the door before the start, the closing notice, the end, moving the end.

use super::super::harness::*;
use super::super::*;

const START: Millis = 10_000_000;
const END: Millis = 13_600_000;

/// A meeting scheduled from `START` to `END`, participants let in 10 minutes early, the notice
/// 5 minutes before the end.
fn scheduled() -> Meeting {
    Meeting::new(
        "m",
        MeetingConfig {
            max_members: 8,
            session_ending_warning_ms: 300_000,
            ..MeetingConfig::default()
        },
        7,
    )
    .with_schedule(Schedule {
        starts_at: Some(START),
        ends_at: Some(END),
        early_join_ms: 600_000,
    })
}

fn join_at(m: &mut Meeting, id: u64, role: Role, now: Millis) -> Vec<Effect> {
    let e = m.handle(
        Input::Join {
            peer: PeerId(id),
            identity: who(&format!("s{id}"), role),
        },
        now,
    );
    m.check_invariants().unwrap();
    e
}

fn refusal(effects: &[Effect]) -> Option<Refusal> {
    effects.iter().find_map(|e| match e {
        Effect::Refuse { refusal, .. } => Some(*refusal),
        _ => None,
    })
}

fn endings(effects: &[Effect], peer: u64) -> Vec<(u64, u64)> {
    sent_to(effects, peer)
        .into_iter()
        .filter_map(|m| match m {
            ServerMessage::SessionEnding { at, seconds } => Some((at, seconds)),
            _ => None,
        })
        .collect()
}

#[test]
fn participants_wait_for_the_early_join_window_and_hosts_may_come_early() {
    let mut m = scheduled();
    let early = START - 600_000 - 1;
    let e = join_at(&mut m, 2, Role::Participant, early);
    let r = refusal(&e).expect("refused before the window");
    assert_eq!(r.error, Some(ErrorCode::NotStarted));
    assert_eq!(r.close, CloseCode::NotStarted);
    assert_eq!(
        join_at(&mut m, 3, Role::Mentor, early).len(),
        1,
        "mentors too"
    );
    let e = join_at(&mut m, 1, Role::Host, early - 3_600_000);
    assert!(m.contains(PeerId(1)), "{e:?}");
    match welcome_of(&e, 1) {
        Some(ServerMessage::Welcome { ends_at, .. }) => assert_eq!(ends_at, Some(END)),
        other => panic!("{other:?}"),
    }
    join_at(&mut m, 2, Role::Participant, START - 600_000);
    assert!(m.contains(PeerId(2)), "in once the window opens");
}

#[test]
fn everyone_is_warned_then_the_meeting_ends_at_the_scheduled_time() {
    let mut m = scheduled();
    join_at(&mut m, 1, Role::Host, START);
    join_at(&mut m, 2, Role::Participant, START);
    let warn = m.next_deadline().expect("a deadline for the notice");
    assert_eq!(warn, END - 300_000);
    assert!(endings(&m.handle(Input::Tick, warn - 1), 2).is_empty());
    let e = m.handle(Input::Tick, warn);
    assert_eq!(endings(&e, 1), vec![(END, 300)]);
    assert_eq!(endings(&e, 2), vec![(END, 300)]);
    // A late arrival hears of it at once, with the time left now.
    let e = join_at(&mut m, 3, Role::Participant, END - 60_000);
    assert_eq!(endings(&e, 3), vec![(END, 60)]);
    assert_eq!(m.next_deadline(), Some(END));
    let e = m.handle(Input::Tick, END);
    for peer in [1, 2, 3] {
        assert!(
            e.iter().any(|x| matches!(x, Effect::Close { peer: p, code: CloseCode::MeetingEnded } if *p == PeerId(peer))),
            "{peer} closed as ended: {e:?}"
        );
    }
    assert_eq!(m.member_count(), 0);
    // Participants stay out after the end; a host may still come in, and is not put out.
    let e = join_at(&mut m, 2, Role::Participant, END + 5_000_000);
    assert_eq!(
        refusal(&e).map(|r| r.error),
        Some(Some(ErrorCode::MeetingEnded))
    );
    join_at(&mut m, 1, Role::Host, END + 5_000_000);
    m.handle(Input::Tick, END + 5_000_001);
    assert!(m.contains(PeerId(1)));
}

#[test]
fn the_first_arrival_inside_the_notice_window_is_told_at_once() {
    let mut m = scheduled();
    let e = join_at(&mut m, 1, Role::Host, END - 120_000);
    assert_eq!(endings(&e, 1), vec![(END, 120)]);
    let e = join_at(&mut m, 2, Role::Participant, END - 60_000);
    assert_eq!(endings(&e, 2), vec![(END, 60)]);
    assert!(endings(&e, 1).is_empty(), "the host is not told twice");
}

#[test]
fn a_host_extends_the_session_and_everyone_hears_the_new_end() {
    let mut m = scheduled();
    join_at(&mut m, 1, Role::Host, START);
    join_at(&mut m, 2, Role::Participant, START);
    m.handle(Input::Tick, END - 300_000);
    let e = m.handle(
        Input::Request {
            from: PeerId(2),
            id: Some(1),
            message: ClientMessage::ExtendSession { secs: 600 },
        },
        END - 200_000,
    );
    assert_eq!(error_code(&e), Some(ErrorCode::Forbidden));
    let e = m.handle(
        Input::Request {
            from: PeerId(1),
            id: Some(1),
            message: ClientMessage::ExtendSession { secs: 600 },
        },
        END - 200_000,
    );
    let new_end = END + 600_000;
    for peer in [1, 2] {
        assert!(
            sent_to(&e, peer).contains(&ServerMessage::SessionRescheduled {
                ends_at: Some(new_end)
            }),
            "{e:?}"
        );
    }
    assert_eq!(m.schedule().ends_at, Some(new_end));
    // The old end passes quietly; the notice and the end follow the new time.
    assert_eq!(m.next_deadline(), Some(new_end - 300_000));
    let e = m.handle(Input::Tick, END);
    assert!(m.contains(PeerId(2)), "{e:?}");
    let e = m.handle(Input::Tick, new_end - 300_000);
    assert_eq!(endings(&e, 2), vec![(new_end, 300)]);
    m.handle(Input::Tick, new_end);
    assert_eq!(m.member_count(), 0);
}

#[test]
fn extending_needs_a_scheduled_end_and_a_sane_amount() {
    let mut m = meeting();
    join(&mut m, 1, Role::Host);
    let e = request(&mut m, 1, ClientMessage::ExtendSession { secs: 60 });
    assert_eq!(error_code(&e), Some(ErrorCode::Conflict));
    let mut m = scheduled();
    join_at(&mut m, 1, Role::Host, START);
    for secs in [0, limits::MAX_SESSION_EXTENSION_SECS + 1] {
        let e = m.handle(
            Input::Request {
                from: PeerId(1),
                id: Some(1),
                message: ClientMessage::ExtendSession { secs },
            },
            START,
        );
        assert_eq!(error_code(&e), Some(ErrorCode::BadRequest));
    }
}

#[test]
fn the_api_moving_the_end_into_the_past_ends_the_meeting_now() {
    let mut m = scheduled();
    join_at(&mut m, 1, Role::Host, START);
    join_at(&mut m, 2, Role::Participant, START);
    let e = m.handle(
        Input::Api {
            action: ApiAction::Settings {
                schedule: Schedule {
                    starts_at: Some(START),
                    ends_at: Some(START + 1_000),
                    early_join_ms: 0,
                },
                max_members: 8,
            },
        },
        START + 2_000,
    );
    assert!(e.contains(&Effect::ApiReply(Ok(ApiAnswer::Done))), "{e:?}");
    assert_eq!(m.member_count(), 0);
}

#[test]
fn a_meeting_without_a_schedule_has_no_schedule_deadline() {
    let mut m = meeting();
    join(&mut m, 1, Role::Host);
    join(&mut m, 2, Role::Participant);
    assert_eq!(m.next_deadline(), None);
}
