//! Relay (PROTOCOL.md "Relay: signal, chat, data"): what members send each other through the
//! hub, and to whom it may go.

use super::{Effect, Meeting, Millis, Outcome, Rejection, Sends};
use crate::limits;
use crate::protocol::{
    ChatChannel, ChatHistory, ChatMessage, ErrorCode, OpaqueJson, PeerId, Reaction, Role, RoomId,
    ServerMessage,
};

impl Meeting {
    /// The room of `from` if `to` is in it too (and is not `from`).
    pub(super) fn same_room(&self, from: PeerId, to: PeerId) -> Result<(), Rejection> {
        if from == to {
            return Err((ErrorCode::BadRequest, "cannot address yourself"));
        }
        match (self.members.get(&from), self.members.get(&to)) {
            (Some(a), Some(b)) if a.room == b.room => Ok(()),
            _ => Err((ErrorCode::NotFound, "no such peer in your room")),
        }
    }

    pub(super) fn signal(
        &mut self,
        from: PeerId,
        to: PeerId,
        data: OpaqueJson,
        effects: &mut Vec<Effect>,
    ) -> Result<(), Rejection> {
        if self.is_sfu() {
            // Peer-to-peer media would hand people each other's addresses, which is what
            // going through the hub is for.
            return Err((
                ErrorCode::Conflict,
                "this meeting's media goes through the hub: use sfu_publish",
            ));
        }
        if !self.role_of(from).may_speak() {
            // Parsed once, and only for observers: everyone else's signal is relayed unread.
            if let Ok(value) = serde_json::from_str::<serde_json::Value>(data.get()) {
                if offer_in(&value) {
                    return Err((ErrorCode::Forbidden, "observers cannot offer media"));
                }
                if sends_media_in(&value) {
                    return Err((ErrorCode::Forbidden, "observers only receive media"));
                }
            }
        }
        self.same_room(from, to)?;
        effects.send_one(to, ServerMessage::Signal { from, data });
        Ok(())
    }

    /// `chat {channel: "staff"}`: the hosts' and cohosts' back channel. It reaches every host and
    /// cohost wherever they are (main room, breakouts, asides) and nobody else; it is numbered
    /// apart from the rooms' messages and kept in no history, so no participant's history,
    /// replay or count ever shows it.
    pub(super) fn staff_chat(
        &mut self,
        from: PeerId,
        text: String,
        to: Option<PeerId>,
        now: Millis,
        effects: &mut Vec<Effect>,
    ) -> Result<(), Rejection> {
        if !self.role_of(from).is_moderator() {
            return Err((
                ErrorCode::Forbidden,
                "the staff channel is for hosts and cohosts",
            ));
        }
        if to.is_some() {
            return Err((
                ErrorCode::BadRequest,
                "the staff channel goes to every host and cohost: no to",
            ));
        }
        check_chat_text(&text)?;
        self.staff_id += 1;
        let message = ChatMessage {
            id: self.staff_id,
            seq: 0,
            room: self.room_of(from).cloned().unwrap_or_else(RoomId::main),
            from,
            to: None,
            channel: Some(ChatChannel::Staff),
            text,
            ts: now,
        };
        effects.send(self.moderators(), ServerMessage::Chat(message));
        Ok(())
    }

    /// `set_chat_history`: keep the meeting's chat for late joiners, or not. Turned off, what
    /// is kept goes at once but for what a resume may still need.
    pub(super) fn set_chat_history(
        &mut self,
        mode: ChatHistory,
        now: Millis,
        effects: &mut Vec<Effect>,
    ) -> Result<(), Rejection> {
        if mode.is_keep() && !self.chat_history.is_keep() {
            // What was said while chat was not kept stays unseen by anyone who comes later.
            // (Group messages by id: exact. Private ones, numbered per person, by time.)
            self.chat_kept_since = (self.chat_id, now + 1);
        }
        self.chat_history = mode;
        self.forget_chat(now);
        effects.send(self.member_ids(), ServerMessage::ChatHistory { mode });
        Ok(())
    }

    /// Chat that is not kept: forgets the messages (group and private) older than the resume
    /// grace, after which no dropped connection can come back for them.
    pub(super) fn forget_chat(&mut self, now: Millis) {
        if self.chat_history.is_keep() {
            return;
        }
        let before = now.saturating_sub(self.config.resume_grace_ms);
        let old = |m: &ChatMessage| m.ts <= before;
        for room in self.rooms.values_mut() {
            room.history.forget_while(old);
        }
        for member in self.members.values_mut() {
            member.recent_private.forget_while(old);
        }
    }

    /// When the oldest message still held for a resume is due to be forgotten (chat not kept).
    pub(super) fn chat_forget_deadline(&self) -> Option<Millis> {
        if self.chat_history.is_keep() {
            return None;
        }
        let rooms = self.rooms.values().filter_map(|r| r.history.first());
        let private = self
            .members
            .values()
            .filter_map(|m| m.recent_private.first());
        rooms
            .chain(private)
            .map(|m| m.ts.saturating_add(self.config.resume_grace_ms) + 1)
            .min()
    }

    /// `react`: a reaction to the sender's room, the sender included; never kept.
    pub(super) fn react(
        &mut self,
        from: PeerId,
        reaction: Reaction,
        effects: &mut Vec<Effect>,
    ) -> Result<(), Rejection> {
        if !self.role_of(from).may_speak() {
            return Err((ErrorCode::Forbidden, "observers cannot react"));
        }
        if self.reactions_off {
            return Err((ErrorCode::Conflict, "a host turned reactions off"));
        }
        let room = self
            .room_of(from)
            .map(|r| self.room_members(r))
            .unwrap_or_default();
        effects.send(room, ServerMessage::Reaction { from, reaction });
        Ok(())
    }

    /// `set_reactions`: reactions on or off for everyone.
    pub(super) fn set_reactions(
        &mut self,
        enabled: bool,
        effects: &mut Vec<Effect>,
    ) -> Result<(), Rejection> {
        self.reactions_off = !enabled;
        effects.send(
            self.member_ids(),
            ServerMessage::ReactionsEnabled { enabled },
        );
        Ok(())
    }

    pub(super) fn chat(
        &mut self,
        from: PeerId,
        text: String,
        to: Option<PeerId>,
        now: Millis,
        effects: &mut Vec<Effect>,
    ) -> Result<(), Rejection> {
        let role = self.role_of(from);
        if !role.may_speak() {
            return Err((ErrorCode::Forbidden, "observers cannot chat"));
        }
        check_chat_text(&text)?;
        if let Some(to) = to {
            if role.is_moderator() || role == Role::Mentor {
                // Hosts, cohosts and mentors may reach anyone in the meeting, in any room.
                if to == from {
                    return Err((ErrorCode::BadRequest, "cannot address yourself"));
                }
                if !self.members.contains_key(&to) {
                    return Err((ErrorCode::NotFound, "no such peer in this meeting"));
                }
            } else {
                self.same_room(from, to)?;
            }
        }
        let room_id = self
            .members
            .get(&from)
            .map(|m| m.room.clone())
            .unwrap_or_else(RoomId::main);
        let Some(room) = self.rooms.get_mut(&room_id) else {
            return Err((ErrorCode::Internal, "room missing"));
        };
        // Only group messages count in the room's `seq`: were private ones counted, everyone in
        // the room could see from the gaps that private messages were exchanged.
        let seq = if to.is_none() {
            room.seq += 1;
            room.seq
        } else {
            0
        };
        let mut message = ChatMessage {
            id: 0,
            seq,
            room: room_id,
            from,
            to,
            channel: None,
            text,
            ts: now,
        };
        match to {
            Some(to) => {
                // Each of the two numbers it in their own private series, so no id says anything
                // about other people's private messages.
                for peer in [from, to] {
                    if let Some(member) = self.members.get_mut(&peer) {
                        member.private_seq += 1;
                        message.id = member.private_seq;
                        // Each copy names its reader's own room: the sender's could be a private
                        // conversation the reader must not learn of.
                        message.room = member.room.clone();
                        member.recent_private.push(message.clone());
                        effects.send_one(peer, ServerMessage::Chat(message.clone()));
                    }
                }
            }
            None => {
                self.chat_id += 1;
                message.id = self.chat_id;
                room.history.push(message.clone());
                let everyone = room.members.iter().copied().collect();
                effects.send(everyone, ServerMessage::Chat(message));
            }
        }
        self.forget_chat(now);
        Ok(())
    }

    pub(super) fn app_data(
        &mut self,
        from: PeerId,
        payload: OpaqueJson,
        to: Option<PeerId>,
        effects: &mut Vec<Effect>,
    ) -> Result<(), Rejection> {
        if !self.role_of(from).may_speak() {
            return Err((ErrorCode::Forbidden, "observers cannot send app data"));
        }
        let recipients = match to {
            Some(to) => {
                self.same_room(from, to)?;
                vec![to]
            }
            None => {
                let room = self.room_of(from).cloned().unwrap_or_else(RoomId::main);
                self.room_members(&room)
                    .into_iter()
                    .filter(|&p| p != from)
                    .collect()
            }
        };
        effects.send(recipients, ServerMessage::Data { from, payload, to });
        Ok(())
    }
}

/// Whether a signal's opaque `data` is an SDP offer, in either shape clients use:
/// `{"type":"offer",...}` or `{"description":{"type":"offer",...}}`.
pub fn is_offer(data: &OpaqueJson) -> bool {
    serde_json::from_str::<serde_json::Value>(data.get()).is_ok_and(|v| offer_in(&v))
}

fn offer_in(data: &serde_json::Value) -> bool {
    let kind = |v: &serde_json::Value| v.get("type").and_then(|t| t.as_str()) == Some("offer");
    kind(data) || data.get("description").is_some_and(kind)
}

/// Whether a signal's SDP (in either shape) has an audio or video section that may send: one
/// that says `a=sendrecv` or `a=sendonly`, or no direction at all (sendrecv by default, RFC 8866
/// §6.7). An observer's answer must say `recvonly` or `inactive` for each, which a browser
/// without tracks of its own does anyway. Only observers' signals are looked at.
fn sends_media_in(data: &serde_json::Value) -> bool {
    let sdp = |v: &serde_json::Value| v.get("sdp").and_then(|s| s.as_str()).map(str::to_owned);
    sdp(data)
        .or_else(|| data.get("description").and_then(sdp))
        .is_some_and(|sdp| sdp_sends_media(&sdp))
}

/// Whether SDP text has an audio or video section that may send (see [`sends_media_in`]); also
/// the check on an observer's `sfu_publish` offer.
pub(super) fn sdp_sends_media(sdp: &str) -> bool {
    // Session-level direction applies to sections that say none.
    let mut session_receives = false;
    let mut in_media = false;
    let mut section_is_media = false;
    let mut section_receives: Option<bool> = None;
    let mut sends = false;
    let mut close = |is_media: bool, receives: Option<bool>, session: bool| {
        if is_media && !receives.unwrap_or(session) {
            sends = true;
        }
    };
    for line in sdp.lines().map(str::trim) {
        if let Some(media) = line.strip_prefix("m=") {
            if in_media {
                close(section_is_media, section_receives, session_receives);
            }
            in_media = true;
            section_is_media = media.starts_with("audio") || media.starts_with("video");
            section_receives = None;
            continue;
        }
        let direction = match line {
            "a=recvonly" | "a=inactive" => Some(true),
            "a=sendrecv" | "a=sendonly" => Some(false),
            _ => None,
        };
        if let Some(receives) = direction {
            if in_media {
                section_receives = Some(receives);
            } else {
                session_receives = receives;
            }
        }
    }
    if in_media {
        close(section_is_media, section_receives, session_receives);
    }
    sends
}

pub(super) fn check_chat_text(text: &str) -> Outcome {
    if text.trim().is_empty() {
        return Err((ErrorCode::BadRequest, "empty message"));
    }
    if text.len() > limits::MAX_CHAT_TEXT_BYTES {
        return Err((ErrorCode::TooLarge, "message too long"));
    }
    Ok(())
}
