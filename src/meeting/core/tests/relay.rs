//! Relay: chat order, history bounds and privacy; offers recognised.

use super::super::harness::*;
use super::super::*;
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
