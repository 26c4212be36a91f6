//! Resume after a drop (PROTOCOL.md "Resume after a drop"): taking a held seat back with
//! `hello.resume`, the chat missed meanwhile, and the notices kept for a held seat and replayed;
//! the resume tokens themselves, self-verifying in cluster mode.

use super::events::EventKind;
use super::membership::refusals;
use super::{Effect, Identity, Meeting, Member, Millis, Sends};
use crate::protocol::{ChatMessage, PeerId, ResumeRequest, RoomId, ServerMessage};
use rand::Rng;

impl Meeting {
    /// `hello.resume`: the connection asking as `by` takes back the held seat named by the
    /// token, if it is the same person and the grace period has not ended (an ended grace has
    /// already removed the seat, so its token names nothing).
    pub(super) fn resume(
        &mut self,
        by: PeerId,
        identity: Identity,
        resume: ResumeRequest,
        now: Millis,
        effects: &mut Vec<Effect>,
    ) {
        if self.banned.contains(&identity.sub) {
            effects.push(Effect::Refuse {
                peer: by,
                refusal: refusals::BANNED,
            });
            return;
        }
        if self.ended_at.is_some() {
            // Not `resume_expired`: a client would join afresh at once, and a cohost doing so
            // would reopen the meeting by accident.
            effects.push(Effect::Refuse {
                peer: by,
                refusal: refusals::ENDED,
            });
            return;
        }
        let seat = self
            .members
            .iter()
            .find(|(p, m)| {
                m.resume_token == resume.token
                    && m.identity.sub == identity.sub
                    // A grace that ended but has not been ticked yet is over all the same.
                    && self.held.until(**p).is_none_or(|t| t > now)
            })
            .map(|(p, _)| *p);
        let recovered = seat.is_none();
        let seat = seat.or_else(|| self.recover_seat(&resume.token, &identity, now));
        let Some(seat) = seat else {
            effects.push(Effect::Refuse {
                peer: by,
                refusal: refusals::RESUME_EXPIRED,
            });
            return;
        };
        let Some(renamed) = self.reseat(seat, by, identity, effects) else {
            return;
        };
        self.person_event(seat, EventKind::Resumed);
        let Some(member) = self.members.get_mut(&seat) else {
            return;
        };
        let missed: Vec<ServerMessage> = member
            .missed
            .take()
            .into_iter()
            .filter_map(|notice| match notice {
                // A closing warning only while that timer still runs, with the time left now.
                ServerMessage::BreakoutClosing { closes_at, .. } => (self.clock.closes_at
                    == Some(closes_at)
                    && closes_at > now)
                    .then(|| ServerMessage::BreakoutClosing {
                        closes_at,
                        seconds: (closes_at - now).div_ceil(1000),
                    }),
                other => Some(other),
            })
            .collect();
        let room_id = member.room.clone();
        // Private messages to or from this person that it may not have seen; group messages
        // come from the room's history below.
        let private: Vec<ChatMessage> = member
            .recent_private
            .iter()
            .filter(|m| m.id > resume.last_private)
            .cloned()
            .collect();
        let Some(room) = self.rooms.get(&room_id) else {
            return;
        };
        let same_room = resume.room.as_ref() == Some(&room_id);
        // Same room: exactly what was missed. Another room (moved or merged meanwhile): that
        // room's history, as `room_changed` would have brought it.
        // Chat that is not kept: only what this connection itself missed in its own room.
        let mut chat: Vec<ChatMessage> = if same_room {
            room.history
                .iter()
                .filter(|m| m.id > resume.last_chat)
                .cloned()
                .collect()
        } else {
            self.shown_history(room).cloned().collect()
        };
        chat.extend(private);
        // In the order they were sent: group ids and private ids are separate series, so by
        // hub time (a stable sort keeps each series' own order within a millisecond).
        chat.sort_by_key(|m| m.ts);
        let others = self.roommates(seat);
        let Some(mut welcome) = self.welcome_for(seat) else {
            return;
        };
        if let ServerMessage::Welcome {
            chat: missed_chat,
            replayed,
            resumed,
            ..
        } = &mut welcome
        {
            *missed_chat = chat;
            *replayed = u32::try_from(missed.len()).unwrap_or(u32::MAX);
            *resumed = true;
        }
        effects.send_one(seat, welcome);
        self.moderator_state(seat, effects);
        for message in missed {
            effects.send_one(seat, message);
        }
        if recovered {
            // Nobody here knew of this seat (the record lacked it): a newcomer to everyone.
            self.announce_newcomer(seat, others, effects);
        } else {
            effects.send(others, ServerMessage::PeerReconnected { id: seat });
        }
        self.schedule_greet(seat, effects);
        if renamed {
            self.announce_peer(seat, effects);
        }
    }

    /// Keeps the notices addressed to held seats, to replay after a resume. Chat is not kept
    /// here (it replays from history); rosters, rooms, the lock, the lobby and hands come back
    /// as state with the resumed `welcome`.
    pub(super) fn hold_notices(&mut self, effects: &[Effect]) {
        for effect in effects {
            let Effect::Send { to, message } = effect else {
                continue;
            };
            if !message.is_replayed_notice() {
                continue;
            }
            for peer in to.iter().filter(|p| self.held.is_held(**p)) {
                if let Some(member) = self.members.get_mut(peer) {
                    member.missed.push(message.clone());
                }
            }
        }
    }
}

/// How long a self-verifying resume token can re-create a seat that a meeting's record lost.
const TOKEN_LIFETIME_MS: Millis = 24 * 3600 * 1000;

/// Cluster mode's key for resume tokens: derived from `cluster_secret`, so every node checks a
/// token any node minted. A token is `{peer}.{expiry}.{mint}.{nonce}.{HMAC-SHA256 of the meeting,
/// the person's sub and those four}` (`mint` counts the meeting's tokens): it names its seat itself, so the next owner can give the seat
/// back with the same peer id even when the dead owner's last record write did not land.
#[derive(Clone)]
pub struct ResumeKey(std::sync::Arc<str>);

impl std::fmt::Debug for ResumeKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ResumeKey(..)")
    }
}

impl ResumeKey {
    /// The resume-token key of the cluster whose secret is `secret`. A key of its own (not the
    /// secret itself), so a token's MAC can never pass for anything else the secret signs.
    pub fn derive(secret: &[u8]) -> ResumeKey {
        ResumeKey(crate::auth::hmac_hex(secret, b"huddle resume tokens v1").into())
    }

    fn tag(&self, meeting: &str, sub: &str, body: &str) -> String {
        let text = format!("{meeting}\n{sub}\n{body}");
        crate::auth::hmac_hex(self.0.as_bytes(), text.as_bytes())
    }
}

impl Meeting {
    /// A new resume token for `peer`, the seat of `sub`: 128 random bits; in cluster mode also
    /// self-verifying (see [`ResumeKey`]).
    pub(super) fn new_resume_token(&mut self, peer: PeerId, sub: &str) -> String {
        let nonce = format!("{:032x}", self.tokens.random::<u128>());
        let Some(key) = &self.config.resume_key else {
            return nonce;
        };
        self.mints += 1;
        let body = format!(
            "{}.{}.{}.{nonce}",
            peer.0,
            self.now + TOKEN_LIFETIME_MS,
            self.mints
        );
        let tag = key.tag(&self.id, sub, &body);
        format!("{body}.{tag}")
    }

    /// Cluster mode: a seat this meeting's record did not have (its previous owner died before
    /// the record write with it landed), given back from a self-verifying token the previous
    /// owner minted for this person, with the same peer id, in the main room, held as any
    /// restored seat. Only tokens minted after the newest one the record knew of and before the
    /// restore count: a seat that was vacated (a leave, a removal) before the last write that
    /// landed stays gone, and so does one this owner knew. Not past the meeting's cap.
    fn recover_seat(&mut self, token: &str, identity: &Identity, now: Millis) -> Option<PeerId> {
        let key = self.config.resume_key.as_ref()?;
        let (record_mints, restored_at) = self.recoverable?;
        let (body, tag) = token.rsplit_once('.')?;
        let mut parts = body.splitn(4, '.');
        let peer = PeerId(parts.next()?.parse().ok()?);
        let expires: Millis = parts.next()?.parse().ok()?;
        let mint: u64 = parts.next()?.parse().ok()?;
        let expected = key.tag(&self.id, &identity.sub, body);
        if !crate::auth::same_secret(expected.as_bytes(), tag.as_bytes())
            || expires <= now
            || expires.saturating_sub(TOKEN_LIFETIME_MS) >= restored_at
            || mint <= record_mints
            || peer.0 == 0
            || self.members.contains_key(&peer)
            || self.members.len() >= self.config.max_members
        {
            return None;
        }
        let role = self
            .assigned_roles
            .get(&identity.sub)
            .copied()
            .unwrap_or(identity.role);
        let identity = Identity {
            role,
            ..identity.clone()
        };
        let mut member = Member::new(identity, RoomId::main(), token.to_owned(), now);
        // At the latest, they had the seat when the token was minted.
        member.joined_at = expires.saturating_sub(TOKEN_LIFETIME_MS);
        self.rooms.get_mut(&RoomId::main())?.members.insert(peer);
        self.members.insert(peer, member);
        let grace = self.config.resume_grace_ms;
        self.held.hold(peer, now.saturating_add(grace));
        Some(peer)
    }
}
