//! One test harness for the meeting core's unit tests and its property test (as quinn-proto's
//! `tests/util.rs`): identities, a small meeting, driving inputs, and reading effects.

use super::{Effect, Identity, Input, Meeting, MeetingConfig, Millis};
use crate::protocol::{
    ClientMessage, ErrorCode, PeerId, Refusal, ResumeRequest, Role, RoomId, ServerMessage,
};

pub(crate) fn who(sub: &str, role: Role) -> Identity {
    named(sub, &format!("Name {sub}"), role)
}

pub(crate) fn meeting() -> Meeting {
    Meeting::new(
        "m",
        MeetingConfig {
            max_members: 4,
            ..MeetingConfig::default()
        },
        7,
    )
}

pub(crate) fn join(m: &mut Meeting, id: u64, role: Role) -> Vec<Effect> {
    let e = m.handle(
        Input::Join {
            peer: PeerId(id),
            identity: who(&format!("s{id}"), role),
        },
        1,
    );
    m.check_invariants().unwrap();
    e
}

pub(crate) fn request(m: &mut Meeting, from: u64, message: ClientMessage) -> Vec<Effect> {
    let e = m.handle(
        Input::Request {
            from: PeerId(from),
            id: Some(1),
            message,
        },
        5,
    );
    m.check_invariants().unwrap();
    e
}

pub(crate) fn error_code(effects: &[Effect]) -> Option<ErrorCode> {
    effects.iter().find_map(|e| match e {
        Effect::Send {
            message: ServerMessage::Error { code, .. },
            ..
        } => Some(*code),
        _ => None,
    })
}

pub(crate) fn welcome_of(effects: &[Effect], to: u64) -> Option<ServerMessage> {
    effects.iter().find_map(|e| match e {
        Effect::Send { to: t, message } if t == &vec![PeerId(to)] => match message {
            ServerMessage::Welcome { .. } => Some(message.clone()),
            _ => None,
        },
        _ => None,
    })
}

pub(crate) fn resume_token(effects: &[Effect], peer: u64) -> String {
    match welcome_of(effects, peer) {
        Some(ServerMessage::Welcome { resume_token, .. }) => resume_token,
        other => panic!("no welcome for {peer}: {other:?}"),
    }
}

pub(crate) fn chat_ids(message: &ServerMessage) -> Vec<u64> {
    match message {
        ServerMessage::Welcome { chat, .. } => chat.iter().map(|c| c.id).collect(),
        _ => Vec::new(),
    }
}

pub(crate) fn sent_to(effects: &[Effect], peer: u64) -> Vec<ServerMessage> {
    effects
        .iter()
        .filter_map(|e| match e {
            Effect::Send { to, message } if to.contains(&PeerId(peer)) => Some(message.clone()),
            _ => None,
        })
        .collect()
}

pub(crate) fn refused_as_expired(effects: &[Effect]) -> bool {
    matches!(
        effects,
        [Effect::Refuse {
            refusal: Refusal {
                error: Some(ErrorCode::ResumeExpired),
                ..
            },
            ..
        }]
    )
}

pub(crate) fn resume(
    m: &mut Meeting,
    peer: u64,
    sub: &str,
    token: &str,
    room: Option<RoomId>,
    last_chat: u64,
    now: Millis,
) -> Vec<Effect> {
    resume_with(m, peer, sub, token, room, (last_chat, 0), now)
}

/// A resume naming the last group and the last private chat id seen.
pub(crate) fn resume_with(
    m: &mut Meeting,
    peer: u64,
    sub: &str,
    token: &str,
    room: Option<RoomId>,
    (last_chat, last_private): (u64, u64),
    now: Millis,
) -> Vec<Effect> {
    let e = m.handle(
        Input::Resume {
            peer: PeerId(peer),
            identity: who(sub, Role::Participant),
            resume: ResumeRequest {
                token: token.to_owned(),
                room,
                last_chat,
                last_private,
            },
        },
        now,
    );
    m.check_invariants().unwrap();
    e
}

/// An identity with its own display name (a fresher token may rename a seat).
pub(crate) fn named(sub: impl Into<String>, name: &str, role: Role) -> Identity {
    Identity {
        sub: sub.into(),
        name: name.into(),
        role,
    }
}

/// A meeting with a host (peer 1) and peer 2 in `role`; returns it and peer 2's resume token.
pub(crate) fn host_and(role: Role) -> (Meeting, String) {
    let mut m = meeting();
    join(&mut m, 1, Role::Host);
    let e = join(&mut m, 2, role);
    let token = resume_token(&e, 2);
    (m, token)
}

/// `split` into `count` rooms with the `even` strategy (and a timer, if given).
pub(crate) fn split_even(count: u32, duration_secs: Option<u64>) -> ClientMessage {
    split_even_with(count, duration_secs, false)
}

/// As [`split_even`], letting rooms of one be made (`allow_solo`).
pub(crate) fn split_even_with(
    count: u32,
    duration_secs: Option<u64>,
    allow_solo: bool,
) -> ClientMessage {
    ClientMessage::Split {
        strategy: crate::protocol::SplitStrategy::Even,
        count: Some(count),
        rooms: Vec::new(),
        topic: None,
        duration_secs,
        spread_mentors: None,
        allow_solo: Some(allow_solo),
    }
}
