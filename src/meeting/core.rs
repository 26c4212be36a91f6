//! The sans-IO meeting core: all state of one meeting (main room, later its breakouts, members,
//! chat histories) and every rule about who may do what to whom. `handle(input, now)` is the only
//! way in and returns the effects to carry out; no sockets, clocks or tasks in here, so tests drive
//! it directly and deterministically.

use crate::limits;
use crate::protocol::{
    ChatMessage, ClientMessage, ErrorCode, IceServer, Peer, PeerId, PeerLeftReason, RequestId,
    Role, RoomId, ServerMessage, PROTOCOL_VERSION,
};
use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};

/// Milliseconds since the Unix epoch. Time is always passed in, never read here.
pub type Millis = u64;

/// Who a connection is, as proven by its token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    /// The partner's opaque user id (`sub`). Never sent to other clients.
    pub sub: String,
    pub name: String,
    pub role: Role,
}

/// What happens to a meeting.
#[derive(Debug, Clone, PartialEq)]
pub enum Input {
    /// An authenticated connection asks to enter, under a peer id the caller chose (unique).
    Join { peer: PeerId, identity: Identity },
    /// A member's connection is gone.
    Leave {
        peer: PeerId,
        reason: PeerLeftReason,
    },
    /// A decoded frame from a member. `id` is the frame's request id.
    Request {
        from: PeerId,
        id: Option<RequestId>,
        message: ClientMessage,
    },
}

/// What the caller must carry out, in order.
#[derive(Debug, Clone, PartialEq)]
pub enum Effect {
    /// Deliver `message` to every peer in `to` (serialize once, enqueue for each).
    Send {
        to: Vec<PeerId>,
        message: ServerMessage,
    },
    /// The join of `peer` was refused: tell that connection and close it.
    Refuse {
        peer: PeerId,
        code: ErrorCode,
        message: String,
    },
}

/// Settings a meeting is created with.
#[derive(Debug, Clone)]
pub struct MeetingConfig {
    pub max_members: usize,
    pub ice_servers: Vec<IceServer>,
}

impl Default for MeetingConfig {
    fn default() -> Self {
        MeetingConfig {
            max_members: limits::MAX_MEETING_MEMBERS,
            ice_servers: Vec::new(),
        }
    }
}

#[derive(Debug)]
struct Member {
    identity: Identity,
    room: RoomId,
}

#[derive(Debug, Default)]
struct Room {
    /// Ordered so that rosters and fan-out are in a stable order.
    members: BTreeSet<PeerId>,
    /// Last `seq` given to a chat message of this room.
    seq: u64,
    /// Recent group messages, oldest first, bounded by count and bytes.
    history: VecDeque<ChatMessage>,
    history_bytes: usize,
}

impl Room {
    fn push_history(&mut self, message: ChatMessage) {
        self.history_bytes += message.text.len();
        self.history.push_back(message);
        while self.history.len() > limits::CHAT_HISTORY_LEN
            || self.history_bytes > limits::CHAT_HISTORY_BYTES
        {
            match self.history.pop_front() {
                Some(old) => self.history_bytes -= old.text.len(),
                None => break,
            }
        }
    }
}

/// One meeting: its rooms and members. Owned by exactly one actor task.
#[derive(Debug)]
pub struct Meeting {
    id: String,
    config: MeetingConfig,
    members: HashMap<PeerId, Member>,
    rooms: BTreeMap<RoomId, Room>,
    /// Last chat message id given out (unique within the meeting).
    chat_id: u64,
}

/// A refusal of one request: the code and a human-readable reason.
type Refusal = (ErrorCode, &'static str);

impl Meeting {
    pub fn new(id: impl Into<String>, config: MeetingConfig) -> Self {
        let mut rooms = BTreeMap::new();
        rooms.insert(RoomId::main(), Room::default());
        Meeting {
            id: id.into(),
            config,
            members: HashMap::new(),
            rooms,
            chat_id: 0,
        }
    }

    pub fn id(&self) -> &str {
        &self.id
    }

    pub fn is_empty(&self) -> bool {
        self.members.is_empty()
    }

    pub fn len(&self) -> usize {
        self.members.len()
    }

    pub fn contains(&self, peer: PeerId) -> bool {
        self.members.contains_key(&peer)
    }

    /// The room `peer` is in, if it is a member.
    pub fn room_of(&self, peer: PeerId) -> Option<&RoomId> {
        self.members.get(&peer).map(|m| &m.room)
    }

    /// Members of `room` in stable order (empty if there is no such room).
    pub fn room_members(&self, room: &RoomId) -> Vec<PeerId> {
        self.rooms
            .get(room)
            .map(|r| r.members.iter().copied().collect())
            .unwrap_or_default()
    }

    /// The single entry point: apply `input` at time `now` and return what to do.
    pub fn handle(&mut self, input: Input, now: Millis) -> Vec<Effect> {
        let mut effects = Vec::new();
        match input {
            Input::Join { peer, identity } => self.join(peer, identity, &mut effects),
            Input::Leave { peer, reason } => self.leave(peer, reason, &mut effects),
            Input::Request { from, id, message } => {
                if !self.members.contains_key(&from) {
                    // A late frame from a connection that already left: nothing to answer.
                    return effects;
                }
                let outcome = match message {
                    ClientMessage::Hello { .. } => Err((
                        ErrorCode::BadRequest,
                        "hello is only accepted as the first frame",
                    )),
                    ClientMessage::Signal { to, data } => self.signal(from, to, data, &mut effects),
                    ClientMessage::Chat { text, to } => {
                        self.chat(from, text, to, now, &mut effects)
                    }
                    ClientMessage::Data { payload, to } => {
                        self.app_data(from, payload, to, &mut effects)
                    }
                };
                match (outcome, id) {
                    (Ok(()), Some(reference)) => effects.push(Effect::Send {
                        to: vec![from],
                        message: ServerMessage::Ack { reference },
                    }),
                    (Ok(()), None) => {}
                    (Err((code, why)), reference) => effects.push(Effect::Send {
                        to: vec![from],
                        message: ServerMessage::error(code, why, reference),
                    }),
                }
            }
        }
        effects
    }

    fn peer_of(&self, id: PeerId) -> Option<Peer> {
        self.members.get(&id).map(|m| Peer {
            id,
            name: m.identity.name.clone(),
            role: m.identity.role,
        })
    }

    fn join(&mut self, peer: PeerId, identity: Identity, effects: &mut Vec<Effect>) {
        if self.members.contains_key(&peer) {
            effects.push(Effect::Refuse {
                peer,
                code: ErrorCode::Internal,
                message: "peer id already in use".into(),
            });
            return;
        }
        if self.members.len() >= self.config.max_members {
            effects.push(Effect::Refuse {
                peer,
                code: ErrorCode::MeetingFull,
                message: "the meeting is full".into(),
            });
            return;
        }
        let room_id = RoomId::main();
        self.members.insert(
            peer,
            Member {
                identity,
                room: room_id.clone(),
            },
        );
        let room = self.rooms.entry(room_id.clone()).or_default();
        let others: Vec<PeerId> = room.members.iter().copied().collect();
        room.members.insert(peer);
        let history = room.history.iter().cloned().collect();

        let you = self.peer_of(peer).expect("just inserted");
        let peers = others.iter().filter_map(|&p| self.peer_of(p)).collect();
        effects.push(Effect::Send {
            to: vec![peer],
            message: ServerMessage::Welcome {
                protocol: PROTOCOL_VERSION,
                you: you.clone(),
                meeting: self.id.clone(),
                room: room_id,
                peers,
                chat: history,
                ice_servers: self.config.ice_servers.clone(),
            },
        });
        if !others.is_empty() {
            effects.push(Effect::Send {
                to: others,
                message: ServerMessage::PeerJoined { peer: you },
            });
        }
    }

    fn leave(&mut self, peer: PeerId, reason: PeerLeftReason, effects: &mut Vec<Effect>) {
        let Some(member) = self.members.remove(&peer) else {
            return;
        };
        if let Some(room) = self.rooms.get_mut(&member.room) {
            room.members.remove(&peer);
            let others: Vec<PeerId> = room.members.iter().copied().collect();
            if !others.is_empty() {
                effects.push(Effect::Send {
                    to: others,
                    message: ServerMessage::PeerLeft { id: peer, reason },
                });
            }
        }
    }

    /// The room of `from` if `to` is in it too (and is not `from`).
    fn same_room(&self, from: PeerId, to: PeerId) -> Result<(), Refusal> {
        if from == to {
            return Err((ErrorCode::BadRequest, "cannot address yourself"));
        }
        match (self.members.get(&from), self.members.get(&to)) {
            (Some(a), Some(b)) if a.room == b.room => Ok(()),
            _ => Err((ErrorCode::NotFound, "no such peer in your room")),
        }
    }

    fn role_of(&self, peer: PeerId) -> Role {
        self.members
            .get(&peer)
            .map(|m| m.identity.role)
            .unwrap_or(Role::Observer)
    }

    fn signal(
        &mut self,
        from: PeerId,
        to: PeerId,
        data: serde_json::Value,
        effects: &mut Vec<Effect>,
    ) -> Result<(), Refusal> {
        if !self.role_of(from).may_speak() && is_offer(&data) {
            return Err((ErrorCode::Forbidden, "observers cannot offer media"));
        }
        self.same_room(from, to)?;
        effects.push(Effect::Send {
            to: vec![to],
            message: ServerMessage::Signal { from, data },
        });
        Ok(())
    }

    fn chat(
        &mut self,
        from: PeerId,
        text: String,
        to: Option<PeerId>,
        now: Millis,
        effects: &mut Vec<Effect>,
    ) -> Result<(), Refusal> {
        let role = self.role_of(from);
        if !role.may_speak() {
            return Err((ErrorCode::Forbidden, "observers cannot chat"));
        }
        if text.trim().is_empty() {
            return Err((ErrorCode::BadRequest, "empty chat message"));
        }
        if text.len() > limits::MAX_CHAT_TEXT_BYTES {
            return Err((ErrorCode::TooLarge, "chat message too long"));
        }
        if let Some(to) = to {
            if role.is_moderator() {
                // Hosts and cohosts may reach anyone in the meeting, in any room.
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
        let room = self.rooms.entry(room_id.clone()).or_default();
        room.seq += 1;
        self.chat_id += 1;
        let message = ChatMessage {
            id: self.chat_id,
            seq: room.seq,
            room: room_id,
            from,
            to,
            text,
            ts: now,
        };
        let recipients = match to {
            Some(to) => vec![from, to],
            None => {
                room.push_history(message.clone());
                room.members.iter().copied().collect()
            }
        };
        effects.push(Effect::Send {
            to: recipients,
            message: ServerMessage::Chat(message),
        });
        Ok(())
    }

    fn app_data(
        &mut self,
        from: PeerId,
        payload: serde_json::Value,
        to: Option<PeerId>,
        effects: &mut Vec<Effect>,
    ) -> Result<(), Refusal> {
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
        if !recipients.is_empty() {
            effects.push(Effect::Send {
                to: recipients,
                message: ServerMessage::Data { from, payload, to },
            });
        }
        Ok(())
    }

    /// Checks that the indexes agree: every member is in exactly the room its record names, and
    /// every room lists only members. Used by tests after every step.
    pub fn check_invariants(&self) -> Result<(), String> {
        let mut seen = 0;
        for (room_id, room) in &self.rooms {
            for peer in &room.members {
                match self.members.get(peer) {
                    Some(m) if &m.room == room_id => seen += 1,
                    Some(m) => {
                        return Err(format!(
                            "{peer} listed in {room_id} but recorded in {}",
                            m.room
                        ))
                    }
                    None => return Err(format!("{peer} listed in {room_id} but not a member")),
                }
            }
            if room.history.len() > limits::CHAT_HISTORY_LEN
                || room.history_bytes > limits::CHAT_HISTORY_BYTES
            {
                return Err(format!("history of {room_id} over its bounds"));
            }
        }
        if seen != self.members.len() {
            return Err(format!(
                "{} members but {seen} room places",
                self.members.len()
            ));
        }
        if !self.rooms.contains_key(&RoomId::main()) {
            return Err("main room missing".into());
        }
        Ok(())
    }
}

/// Whether a signal's opaque `data` is an SDP offer, in either shape clients use:
/// `{"type":"offer",...}` or `{"description":{"type":"offer",...}}`.
pub fn is_offer(data: &serde_json::Value) -> bool {
    let kind = |v: &serde_json::Value| v.get("type").and_then(|t| t.as_str()) == Some("offer");
    kind(data) || data.get("description").is_some_and(kind)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn who(sub: &str, role: Role) -> Identity {
        Identity {
            sub: sub.into(),
            name: format!("Name {sub}"),
            role,
        }
    }

    fn meeting() -> Meeting {
        Meeting::new(
            "m",
            MeetingConfig {
                max_members: 4,
                ice_servers: vec![],
            },
        )
    }

    fn join(m: &mut Meeting, id: u64, role: Role) -> Vec<Effect> {
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

    fn request(m: &mut Meeting, from: u64, message: ClientMessage) -> Vec<Effect> {
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

    fn error_code(effects: &[Effect]) -> Option<ErrorCode> {
        effects.iter().find_map(|e| match e {
            Effect::Send {
                message: ServerMessage::Error { code, .. },
                ..
            } => Some(*code),
            _ => None,
        })
    }

    #[test]
    fn join_welcomes_and_announces() {
        let mut m = meeting();
        let e = join(&mut m, 1, Role::Host);
        assert_eq!(e.len(), 1, "no one to announce to");
        let e = join(&mut m, 2, Role::Participant);
        match &e[0] {
            Effect::Send {
                to,
                message: ServerMessage::Welcome { peers, room, .. },
            } => {
                assert_eq!(to, &vec![PeerId(2)]);
                assert_eq!(room, &RoomId::main());
                assert_eq!(peers.len(), 1);
                assert_eq!(peers[0].id, PeerId(1));
            }
            other => panic!("expected welcome, got {other:?}"),
        }
        assert!(
            matches!(&e[1], Effect::Send { to, message: ServerMessage::PeerJoined { .. } } if to == &vec![PeerId(1)])
        );
    }

    #[test]
    fn full_meeting_refuses_and_duplicate_ids_are_refused() {
        let mut m = meeting();
        for i in 1..=4 {
            join(&mut m, i, Role::Participant);
        }
        let e = join(&mut m, 5, Role::Participant);
        assert!(matches!(
            e[0],
            Effect::Refuse {
                code: ErrorCode::MeetingFull,
                ..
            }
        ));
        assert_eq!(m.len(), 4);
        m.handle(
            Input::Leave {
                peer: PeerId(4),
                reason: PeerLeftReason::Left,
            },
            2,
        );
        let e = join(&mut m, 1, Role::Participant);
        assert!(matches!(
            e[0],
            Effect::Refuse {
                code: ErrorCode::Internal,
                ..
            }
        ));
    }

    #[test]
    fn leave_tells_the_room_and_late_frames_are_ignored() {
        let mut m = meeting();
        join(&mut m, 1, Role::Host);
        join(&mut m, 2, Role::Participant);
        let e = m.handle(
            Input::Leave {
                peer: PeerId(2),
                reason: PeerLeftReason::Disconnected,
            },
            3,
        );
        assert_eq!(
            e,
            vec![Effect::Send {
                to: vec![PeerId(1)],
                message: ServerMessage::PeerLeft {
                    id: PeerId(2),
                    reason: PeerLeftReason::Disconnected
                }
            }]
        );
        let e = request(
            &mut m,
            2,
            ClientMessage::Chat {
                text: "late".into(),
                to: None,
            },
        );
        assert!(e.is_empty());
        m.handle(
            Input::Leave {
                peer: PeerId(1),
                reason: PeerLeftReason::Left,
            },
            4,
        );
        assert!(m.is_empty());
    }

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
        assert!(matches!(&e[0], Effect::Send { to, .. } if to == &vec![PeerId(2), PeerId(3)]));
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
    fn roles_are_enforced_on_every_message() {
        let mut m = meeting();
        join(&mut m, 1, Role::Host);
        join(&mut m, 2, Role::Observer);
        let chat = ClientMessage::Chat {
            text: "hi".into(),
            to: None,
        };
        assert_eq!(
            error_code(&request(&mut m, 2, chat)),
            Some(ErrorCode::Forbidden)
        );
        let offer = ClientMessage::Signal {
            to: PeerId(1),
            data: json!({"type": "offer", "sdp": ""}),
        };
        assert_eq!(
            error_code(&request(&mut m, 2, offer)),
            Some(ErrorCode::Forbidden)
        );
        let answer = ClientMessage::Signal {
            to: PeerId(1),
            data: json!({"type": "answer", "sdp": ""}),
        };
        assert_eq!(error_code(&request(&mut m, 2, answer)), None);
        let data = ClientMessage::Data {
            payload: json!(1),
            to: None,
        };
        assert_eq!(
            error_code(&request(&mut m, 2, data)),
            Some(ErrorCode::Forbidden)
        );
    }

    #[test]
    fn history_is_bounded_by_count_and_bytes() {
        let mut m = Meeting::new("m", MeetingConfig::default());
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
        assert!(is_offer(&json!({"type": "offer"})));
        assert!(is_offer(&json!({"description": {"type": "offer"}})));
        assert!(!is_offer(&json!({"description": {"type": "answer"}})));
        assert!(!is_offer(&json!({"candidate": {"candidate": "offer"}})));
        assert!(!is_offer(&json!("offer")));
    }
}
