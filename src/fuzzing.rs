//! Entry points for fuzzing (cargo-fuzz targets in `fuzz/`, and the corpus replay test that runs
//! in the normal test command): untrusted bytes through the frame decoder, the hello/auth path
//! and the meeting core. Nothing here may panic, whatever the input.

use crate::auth::{TokenAlgorithm, Verifier, VerifyKey};
use crate::limits;
use crate::meeting::{Identity, Input, Meeting, MeetingConfig};
use crate::protocol::{ClientFrame, ClientMessage, PeerId, Role};
use crate::server::hello;

/// A fixed test key: fuzzing checks that any token is refused or accepted without panicking.
const FUZZ_SECRET: &[u8] = b"fuzzing-secret-fuzzing-secret-0123456789";

/// Runs one input: first as the first frame of a socket (the pre-login path: size, decoding,
/// `hello`, the token), then decoded as a client frame: a `hello`'s `resume`, if any, is tried on a
/// held seat; a `refresh` goes through the session's token check; any other message is handled by
/// a meeting with a host, a participant and an observer, from each of them.
pub fn client_frame(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let verifier = Verifier::new(
        TokenAlgorithm::Hs256,
        VerifyKey::Secret(FUZZ_SECRET),
        "huddle",
        "huddle",
        5,
    )
    .ok()
    .map(|v| v.with_max_lifetime(limits::MAX_TOKEN_LIFETIME_SECS));
    if let Some(verifier) = &verifier {
        let _ = hello::admit(text, verifier);
    }
    let Ok(frame) = ClientFrame::decode(text) else {
        return;
    };
    match frame.message {
        ClientMessage::Hello { resume, .. } => {
            if let Some(resume) = resume {
                let mut m = small_meeting();
                m.handle(Input::Dropped { peer: PeerId(2) }, 2);
                for sub in ["s0", "s1"] {
                    m.handle(
                        Input::Resume {
                            peer: PeerId(9),
                            identity: Identity {
                                sub: sub.into(),
                                name: "again".into(),
                                role: Role::Participant,
                            },
                            resume: resume.clone(),
                        },
                        3,
                    );
                }
                if let Err(broken) = m.check_invariants() {
                    panic!("invariant broken by fuzz input: {broken}");
                }
            }
        }
        ClientMessage::Refresh { token } => {
            if let Some(verifier) = &verifier {
                let _ = hello::check_refresh(verifier, &token, "fuzz", "s1");
            }
        }
        message => {
            let mut m = small_meeting();
            for from in 1..=3 {
                m.handle(
                    Input::Request {
                        from: PeerId(from),
                        id: frame.id,
                        message: message.clone(),
                    },
                    2,
                );
                m.handle(Input::Tick, 10_000_000);
            }
            if let Err(broken) = m.check_invariants() {
                panic!("invariant broken by fuzz input: {broken}");
            }
        }
    }
}

/// A meeting with a host (peer 1), a participant (2) and an observer (3).
fn small_meeting() -> Meeting {
    let mut m = Meeting::new("fuzz", MeetingConfig::default(), 1);
    for (i, role) in [Role::Host, Role::Participant, Role::Observer]
        .into_iter()
        .enumerate()
    {
        let identity = Identity {
            sub: format!("s{i}"),
            name: format!("n{i}"),
            role,
        };
        m.handle(
            Input::Join {
                peer: PeerId(i as u64 + 1),
                identity,
            },
            1,
        );
    }
    m
}
