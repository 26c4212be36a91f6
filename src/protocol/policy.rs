//! Per-message policy, stated once next to the message types: what each client message is called
//! (`kind`), who may send it ([`Access`]), which rate bucket it draws from ([`RateClass`]), and
//! what an audit line says about it ([`AuditTerms`]). The meeting core, the connection's rate
//! limits, logs and metrics all read this table instead of keeping their own matches.

use super::client::ClientMessage;
use super::server::ServerMessage;
use super::types::PeerId;

/// Who may send a message. Finer rules that depend on the meeting's state (only *the* host
/// changes roles, only observers may not chat) are the core's; this is the coarse gate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Any member (the core refines some, e.g. observers may not chat).
    Anyone,
    /// Hosts and cohosts only; audited when carried out.
    Moderator,
}

/// The token bucket a message draws from on its connection (see `limits::rates`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RateClass {
    /// Not limited by a bucket (`hello`, which is only accepted once).
    Free,
    /// Text people read: chat, broadcasts, help requests.
    Chat,
    /// WebRTC signaling, bursty by nature (trickle ICE).
    Signal,
    /// Application data.
    Data,
    /// Everything else: host actions, room choices, hands, media state, ping, refresh.
    Control,
}

/// The policy of one client message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Policy {
    /// The `type` tag, for logs, audit and metrics (never the content).
    pub kind: &'static str,
    pub access: Access,
    pub rate: RateClass,
}

/// Whom a moderator action concerns and a word on how, for the audit trail (never text).
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct AuditTerms {
    pub subject: Option<PeerId>,
    pub detail: Option<String>,
    pub other: Option<PeerId>,
}

impl ClientMessage {
    /// This message's policy: one exhaustive match, so a new message cannot be added without
    /// deciding its name, who may send it and what it costs.
    pub fn policy(&self) -> Policy {
        use Access::{Anyone, Moderator};
        use ClientMessage as M;
        use RateClass::{Chat, Control, Data, Free, Signal};
        let (kind, access, rate) = match self {
            M::Hello { .. } => ("hello", Anyone, Free),
            M::Signal { .. } => ("signal", Anyone, Signal),
            M::SfuPublish { .. } => ("sfu_publish", Anyone, Signal),
            M::SfuAnswer { .. } => ("sfu_answer", Anyone, Signal),
            M::SfuSubscribe { .. } => ("sfu_subscribe", Anyone, Control),
            M::BlockMedia { .. } => ("block_media", Moderator, Control),
            M::Chat { .. } => ("chat", Anyone, Chat),
            M::React { .. } => ("react", Anyone, Chat),
            M::SetReactions { .. } => ("set_reactions", Moderator, Control),
            M::AcceptAgreement { .. } => ("accept_agreement", Anyone, Control),
            M::SetAgreement { .. } => ("set_agreement", Moderator, Control),
            M::SetChatHistory { .. } => ("set_chat_history", Moderator, Control),
            M::Data { .. } => ("data", Anyone, Data),
            M::Split { .. } => ("split", Moderator, Control),
            M::Move { .. } => ("move", Moderator, Control),
            M::Swap { .. } => ("swap", Moderator, Control),
            M::Visit { .. } => ("visit", Moderator, Control),
            M::ChooseRoom { .. } => ("choose_room", Anyone, Control),
            M::Broadcast { .. } => ("broadcast", Moderator, Chat),
            M::Merge { .. } => ("merge", Moderator, Control),
            M::ExtendTimer { .. } => ("extend_timer", Moderator, Control),
            M::ExtendSession { .. } => ("extend_session", Moderator, Control),
            M::Reopen { .. } => ("reopen", Moderator, Control),
            M::AskHelp {} => ("ask_help", Anyone, Chat),
            M::Refresh { .. } => ("refresh", Anyone, Control),
            M::Ping {} => ("ping", Anyone, Control),
            M::Remove { .. } => ("remove", Moderator, Control),
            M::EndMeeting {} => ("end_meeting", Moderator, Control),
            M::RequestMute { .. } => ("request_mute", Moderator, Control),
            M::MediaState { .. } => ("media_state", Anyone, Control),
            M::AllowScreenShare { .. } => ("allow_screen_share", Moderator, Control),
            // Lowering someone else's hand is a moderator action; the core tells the two apart
            // (it needs the sender's id), see [`ClientMessage::access_from`].
            M::RaiseHand { .. } => ("raise_hand", Anyone, Control),
            M::SetRole { .. } => ("set_role", Moderator, Control),
            M::TransferHost { .. } => ("transfer_host", Moderator, Control),
            M::Lock { .. } => ("lock", Moderator, Control),
            M::SetLobby { .. } => ("set_lobby", Moderator, Control),
            M::PullAside { .. } => ("pull_aside", Moderator, Control),
            M::EndAside { .. } => ("end_aside", Moderator, Control),
            M::Admit { .. } => ("admit", Moderator, Control),
            M::Deny { .. } => ("deny", Moderator, Control),
        };
        Policy { kind, access, rate }
    }

    /// The `type` tag, for logs and metrics (never the content).
    pub fn kind(&self) -> &'static str {
        self.policy().kind
    }

    /// Who may send this message when `from` sends it: as [`Policy::access`], except that
    /// lowering someone else's hand is a moderator action.
    pub fn access_from(&self, from: PeerId) -> Access {
        match self {
            ClientMessage::RaiseHand { peer: Some(p), .. } if *p != from => Access::Moderator,
            _ => self.policy().access,
        }
    }

    /// What the audit line of this (moderator) message says besides its kind.
    pub fn audit_terms(&self) -> AuditTerms {
        use ClientMessage as M;
        let on_off = |on: bool| Some(if on { "on" } else { "off" }.to_owned());
        let (subject, detail) = match self {
            M::Move { peer, .. }
            | M::RequestMute { peer, .. }
            | M::TransferHost { peer }
            | M::PullAside { peer } => (Some(*peer), None),
            M::EndAside { peer } => (*peer, None),
            M::Admit { peer } | M::Deny { peer } => {
                (*peer, peer.is_none().then(|| "all".to_owned()))
            }
            M::Remove { peer, ban } => (Some(*peer), ban.then(|| "ban".to_owned())),
            M::BlockMedia { peer, audio, video } => {
                let word = |what: &str, on: &Option<bool>| {
                    on.map(|b| format!("{what}_{}", if b { "blocked" } else { "allowed" }))
                };
                let words: Vec<String> = [word("audio", audio), word("video", video)]
                    .into_iter()
                    .flatten()
                    .collect();
                (Some(*peer), Some(words.join(",")))
            }
            M::SetRole { peer, role } => (Some(*peer), Some(role.as_str().to_owned())),
            M::RaiseHand { peer, .. } => (*peer, Some("lowered".to_owned())),
            M::Swap { a, b } => {
                return AuditTerms {
                    subject: Some(*a),
                    detail: None,
                    other: Some(*b),
                }
            }
            M::Lock { locked } => (None, on_off(*locked)),
            M::SetLobby { enabled } => (None, on_off(*enabled)),
            M::AllowScreenShare { allowed } => (None, on_off(*allowed)),
            M::SetReactions { enabled } => (None, on_off(*enabled)),
            M::SetChatHistory { mode } => (
                None,
                Some(if mode.is_keep() { "keep" } else { "none" }.to_owned()),
            ),
            M::Split { strategy, .. } => (None, Some(format!("{strategy:?}").to_lowercase())),
            _ => (None, None),
        };
        AuditTerms {
            subject,
            detail,
            other: None,
        }
    }
}

impl ServerMessage {
    /// Whether this is a notice kept for a held seat and replayed after the resume
    /// ([`super::REPLAYED_NOTICES`], which the SDK's copy is generated from).
    pub fn is_replayed_notice(&self) -> bool {
        matches!(
            self,
            ServerMessage::Broadcast { .. }
                | ServerMessage::HelpRequested { .. }
                | ServerMessage::MuteRequested { .. }
                | ServerMessage::Audit { .. }
                | ServerMessage::BreakoutClosing { .. }
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lowering_someone_elses_hand_is_a_moderator_action() {
        let me = PeerId(1);
        let own = ClientMessage::RaiseHand {
            raised: false,
            peer: Some(me),
        };
        let other = ClientMessage::RaiseHand {
            raised: false,
            peer: Some(PeerId(2)),
        };
        assert_eq!(own.access_from(me), Access::Anyone);
        assert_eq!(other.access_from(me), Access::Moderator);
        assert_eq!(other.audit_terms().detail.as_deref(), Some("lowered"));
    }

    #[test]
    fn the_replayed_notice_list_names_exactly_the_replayed_notices() {
        use super::super::{RoomId, REPLAYED_NOTICES};
        let p = PeerId(1);
        let notices = [
            ServerMessage::Broadcast {
                from: p,
                text: "t".into(),
                ts: 1,
                room: None,
            },
            ServerMessage::HelpRequested {
                from: p,
                room: RoomId::main(),
                ts: 1,
            },
            ServerMessage::MuteRequested {
                by: p,
                audio: true,
                video: false,
            },
            ServerMessage::Audit {
                by: p,
                action: "lock".into(),
                subject: None,
                detail: None,
                other: None,
                ts: 1,
            },
            ServerMessage::BreakoutClosing {
                closes_at: 1,
                seconds: 1,
            },
        ];
        let kind = |m: &ServerMessage| serde_json::to_value(m).unwrap()["type"].clone();
        let names: Vec<_> = notices.iter().map(kind).collect();
        assert_eq!(names, REPLAYED_NOTICES.map(serde_json::Value::from));
        assert!(notices.iter().all(ServerMessage::is_replayed_notice));
        assert!(!ServerMessage::Pong {}.is_replayed_notice());
    }
}
