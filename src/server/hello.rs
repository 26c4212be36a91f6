//! The decisions of a connection before and around login, without sockets: is this first frame a
//! `hello` the hub accepts (and if not, with which error and close), and is a `refresh` token good
//! for this session. The connection task feeds them frames; the fuzzer feeds them anything.

use crate::auth::Verifier;
use crate::limits;
use crate::meeting::Identity;
use crate::protocol::{
    ClientFrame, ClientMessage, CloseCode, ErrorCode, Refusal, ResumeRequest, PROTOCOL_VERSION,
};

/// A `hello` whose token passed verification.
#[derive(Debug)]
pub struct Hello {
    pub meeting: String,
    pub identity: Identity,
    /// The token's `exp`, seconds since the epoch.
    pub expires_at: u64,
    /// `hello.resume`, if the client asks for its held seat back.
    pub resume: Option<ResumeRequest>,
    /// The meeting kind the token asks for (for whoever starts the meeting).
    pub kind: crate::protocol::MeetingKind,
}

/// Judges the first text frame of a socket.
pub fn admit(text: &str, verifier: &Verifier) -> Result<Hello, Refusal> {
    if text.len() > limits::MAX_HELLO_BYTES {
        return Err(Refusal::new(
            ErrorCode::TooLarge,
            "hello too large",
            CloseCode::MessageTooBig,
        ));
    }
    let frame = ClientFrame::decode(text).map_err(|_| {
        Refusal::new(
            ErrorCode::BadRequest,
            "first frame must be a valid hello",
            CloseCode::ProtocolViolation,
        )
    })?;
    let ClientMessage::Hello {
        protocol,
        token,
        meeting,
        resume,
    } = frame.message
    else {
        return Err(Refusal::new(
            ErrorCode::BadRequest,
            "first frame must be hello",
            CloseCode::ProtocolViolation,
        ));
    };
    if protocol != PROTOCOL_VERSION {
        return Err(Refusal::new(
            ErrorCode::UnsupportedProtocol,
            "this hub speaks protocol 1",
            CloseCode::UnsupportedProtocol,
        ));
    }
    match verifier.verify(&token, meeting.as_deref()) {
        Ok(admission) => Ok(Hello {
            meeting: admission.meeting,
            identity: admission.identity,
            expires_at: admission.expires_at,
            resume,
            kind: admission.kind,
        }),
        Err(why) if why.is_expired() => {
            // Signed with our key but expired: saying so reveals nothing about the key, and lets
            // the client tell its person "your link has expired" instead of "refused".
            tracing::debug!("token refused: expired");
            Err(Refusal::new(
                ErrorCode::Unauthorized,
                "token expired",
                CloseCode::TokenExpired,
            ))
        }
        Err(why) => {
            // The reason stays in the debug log; the client learns only "unauthorized".
            tracing::debug!(reason = %why, "token refused");
            Err(Refusal::new(
                ErrorCode::Unauthorized,
                "token refused",
                CloseCode::Unauthorized,
            ))
        }
    }
}

/// Checks a `refresh` token for the session of `sub` in `meeting`: valid, same meeting, same
/// person. Returns its `exp`. The role in it changes nothing: the seat keeps the role the meeting
/// gave it.
pub fn check_refresh(
    verifier: &Verifier,
    token: &str,
    meeting: &str,
    sub: &str,
) -> Result<u64, &'static str> {
    match verifier.verify(token, Some(meeting)) {
        Ok(admission) if admission.identity.sub == sub => Ok(admission.expires_at),
        Ok(_) => Err("refresh token is for someone else"),
        Err(why) => {
            tracing::debug!(reason = %why, "refresh token refused");
            Err("refresh token refused")
        }
    }
}
