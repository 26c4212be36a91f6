//! Consent before the group (PROTOCOL.md "Consent before the group"): a meeting may carry the
//! group's agreement (confidentiality and conduct rules). A participant, mentor or observer who
//! has not accepted its current version is held apart — no roster, chat, signaling or media —
//! with `agreement_required` instead of `welcome`, until `accept_agreement`; hosts and cohosts are
//! not asked. Acceptances are kept by person (`sub`) and version for the meeting's life, audited
//! with a hash of the text (never the text).

use super::{AuditSubs, Effect, Identity, Meeting, Millis, Outcome, Sends};
use crate::limits;
use crate::protocol::{AuditTerms, CloseCode, ErrorCode, PeerId, ServerMessage};
use sha2::{Digest, Sha256};

/// The agreement in force: its text and version (a hash of the text, so the same text is the
/// same version on every node and after a restart).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Agreement {
    pub text: String,
    pub version: String,
}

impl Agreement {
    /// `None` for empty text (no agreement).
    pub(super) fn new(text: &str) -> Option<Agreement> {
        if text.trim().is_empty() {
            return None;
        }
        let digest = Sha256::digest(text.as_bytes());
        Some(Agreement {
            text: text.to_owned(),
            version: crate::auth::hex(&digest[..8]),
        })
    }
}

impl Meeting {
    /// Whether `identity` must accept the agreement before entering.
    pub(super) fn needs_agreement(&self, identity: &Identity) -> bool {
        match &self.agreement {
            None => false,
            Some(a) => {
                !identity.role.is_moderator() && self.agreed.get(&identity.sub) != Some(&a.version)
            }
        }
    }

    /// Holds `peer` apart with the agreement to read (an older connection of the same person
    /// waiting here is replaced).
    pub(super) fn ask_agreement(
        &mut self,
        peer: PeerId,
        identity: Identity,
        effects: &mut Vec<Effect>,
    ) {
        for old in self.agreeing.add(peer, identity) {
            effects.push(Effect::Close {
                peer: old,
                code: CloseCode::Replaced,
            });
        }
        if let Some(required) = self.agreement_required() {
            effects.send_one(peer, required);
        }
        self.announce_agreements(effects);
    }

    fn agreement_required(&self) -> Option<ServerMessage> {
        self.agreement
            .as_ref()
            .map(|a| ServerMessage::AgreementRequired {
                text: a.text.clone(),
                version: a.version.clone(),
            })
    }

    /// `accept_agreement`: someone held apart accepts the current version and enters (or
    /// waits, as the waiting room says); a member accepts a changed text.
    pub(super) fn accept_agreement(
        &mut self,
        from: PeerId,
        version: String,
        now: Millis,
        effects: &mut Vec<Effect>,
    ) -> Outcome {
        let Some(current) = self.agreement.as_ref().map(|a| a.version.clone()) else {
            return Err((ErrorCode::Conflict, "this meeting has no agreement"));
        };
        if version != current {
            // It changed while they read: the new text, to read again.
            if let Some(required) = self.agreement_required() {
                effects.send_one(from, required);
            }
            return Err((ErrorCode::Conflict, "the agreement changed: read it again"));
        }
        let Some(sub) = self.sub_of(from) else {
            return Ok(());
        };
        self.agreed.insert(sub.clone(), current.clone());
        // The audit trail: who accepted which version, and when (the line's time). Never the
        // text: the version is a hash of it.
        let terms = AuditTerms {
            subject: None,
            detail: Some(format!("version {current}")),
            other: None,
        };
        let subs = AuditSubs {
            by: Some(sub),
            subject: None,
            other: None,
        };
        self.audit(from, "accept_agreement", terms, subs, now, effects);
        if let Some(identity) = self.agreeing.remove(from) {
            self.enter(from, identity, effects);
        }
        self.announce_agreements(effects);
        Ok(())
    }

    /// `set_agreement`: a new text (empty removes it). Everyone who has not accepted this version
    /// is asked (members too: they stay seated, and the hosts see who has accepted).
    pub(super) fn set_agreement(&mut self, text: String, effects: &mut Vec<Effect>) -> Outcome {
        if text.len() > limits::MAX_AGREEMENT_BYTES {
            return Err((ErrorCode::TooLarge, "an agreement is at most 8 KiB"));
        }
        self.agreement = Agreement::new(&text);
        let asked: Vec<PeerId> = self
            .members
            .iter()
            .filter(|(_, m)| self.needs_agreement(&m.identity))
            .map(|(p, _)| *p)
            .chain(self.agreeing.ids())
            .collect();
        match self.agreement_required() {
            Some(required) => effects.send(asked, required),
            None => {
                // No agreement any more: those held apart come in.
                for peer in self.agreeing.ids() {
                    if let Some(identity) = self.agreeing.remove(peer) {
                        self.enter(peer, identity, effects);
                    }
                }
            }
        }
        self.announce_agreements(effects);
        Ok(())
    }

    /// To hosts and cohosts: the version in force and who (members and people held apart) has
    /// accepted it.
    pub(super) fn agreements_message(&self) -> ServerMessage {
        let version = self.agreement.as_ref().map(|a| a.version.clone());
        let accepted = match &version {
            None => Vec::new(),
            Some(v) => self
                .members
                .iter()
                .filter(|(_, m)| !m.identity.role.is_moderator())
                .filter(|(_, m)| self.agreed.get(&m.identity.sub) == Some(v))
                .map(|(p, _)| *p)
                .collect(),
        };
        let waiting = self.agreeing.ids();
        ServerMessage::Agreements {
            version,
            accepted,
            reading: waiting,
        }
    }

    pub(super) fn announce_agreements(&self, effects: &mut Vec<Effect>) {
        if self.agreement.is_some() || !self.agreed.is_empty() {
            effects.send(self.moderators(), self.agreements_message());
        }
    }

    /// Everyone held apart reading the agreement, in id order.
    pub fn agreeing_ids(&self) -> Vec<PeerId> {
        self.agreeing.ids()
    }

    /// The version of the agreement in force.
    pub fn agreement_version(&self) -> Option<String> {
        self.agreement.as_ref().map(|a| a.version.clone())
    }

    /// Whether `peer` is held apart, reading the agreement.
    pub fn is_agreeing(&self, peer: PeerId) -> bool {
        self.agreeing.contains(peer)
    }
}
