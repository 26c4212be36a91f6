//! "Media through the hub" (PROTOCOL.md): the SFU's side of the meeting core. Who may send and
//! receive media where is meeting state like any other, so the core states it: after every
//! change of rooms, members, roles or hard mutes it emits the meeting's routes
//! ([`Effect::Media`] with [`MediaEffect::Routes`]) *first* in the batch, before the
//! `room_changed` / `peer_left` it goes with. The media engine applies routes before it reads
//! another datagram, so once a client can read `room_changed`, nothing a former roommate sends
//! reaches it. The `sfu_*` requests are checked here (mode, role) and handed to the engine.

use super::relay::sdp_sends_media;
use super::{Effect, Meeting, Outcome};
use crate::protocol::{ErrorCode, MediaMode, PeerId, RequestId, RoomId, VideoQuality};

/// What the media engine is asked to do for a meeting.
#[derive(Debug, Clone, PartialEq)]
pub enum MediaEffect {
    /// Everyone in the meeting and where their media may go, in peer id order. Replaces the
    /// previous routes: people not listed have their connection to the hub closed.
    Routes(Vec<MediaRoute>),
    /// A member's `sfu_*` request, checked; the engine answers it (`ack` or `error` with `ref`).
    Request {
        peer: PeerId,
        id: Option<RequestId>,
        request: MediaRequest,
    },
}

/// One member's media route.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MediaRoute {
    pub peer: PeerId,
    /// Media flows only between people in the same room.
    pub room: RoomId,
    /// False for observers: the engine drops anything they send.
    pub publish: bool,
    /// A host's or cohost's hard mute (`block_media`): the engine forwards none of it.
    pub audio_blocked: bool,
    pub video_blocked: bool,
    /// Their shared screen is forwarded to their room (as a second video feed).
    pub screen: bool,
}

/// The `sfu_*` requests, as the engine gets them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MediaRequest {
    Publish { sdp: Option<String> },
    Answer { rev: u64, sdp: String },
    Subscribe { peer: PeerId, video: VideoQuality },
}

impl Meeting {
    /// Whether this meeting's media goes through the hub.
    pub fn is_sfu(&self) -> bool {
        self.config.media_mode == MediaMode::Sfu
    }

    /// The routes as they are now.
    pub(super) fn media_routes(&self) -> Vec<MediaRoute> {
        self.members
            .iter()
            .map(|(peer, m)| {
                let (audio_blocked, video_blocked) = self.blocked_of(&m.identity.sub);
                MediaRoute {
                    peer: *peer,
                    room: m.room.clone(),
                    publish: m.identity.role.may_speak(),
                    audio_blocked,
                    video_blocked,
                    screen: m.screen && self.may_share_screen(*peer),
                }
            })
            .collect()
    }

    /// After a step: if the routes changed, put them first in the batch. Run after every input
    /// but the relay messages, which change no routes (and are the hot path).
    pub(super) fn reroute(&mut self, effects: &mut Vec<Effect>) {
        if !self.is_sfu() {
            return;
        }
        let routes = self.media_routes();
        if routes != self.routes {
            self.routes = routes.clone();
            effects.insert(0, Effect::Media(MediaEffect::Routes(routes)));
        }
    }

    /// The hard mute of person `sub`: (audio, video).
    pub(super) fn blocked_of(&self, sub: &str) -> (bool, bool) {
        self.media_blocks.get(sub).copied().unwrap_or_default()
    }

    /// `sfu_publish`, `sfu_answer`, `sfu_subscribe`: checked here, carried out by the engine.
    pub(super) fn media_request(
        &mut self,
        from: PeerId,
        id: Option<RequestId>,
        request: MediaRequest,
        effects: &mut Vec<Effect>,
    ) -> Outcome {
        if !self.is_sfu() {
            return Err((
                ErrorCode::Conflict,
                "this meeting's media is peer to peer: use signal",
            ));
        }
        match &request {
            MediaRequest::Publish { sdp: Some(sdp) }
                if !self.role_of(from).may_speak() && sdp_sends_media(sdp) =>
            {
                return Err((ErrorCode::Forbidden, "observers cannot publish media"));
            }
            MediaRequest::Subscribe { peer, .. } => self.same_room(from, *peer)?,
            _ => {}
        }
        effects.push(Effect::Media(MediaEffect::Request {
            peer: from,
            id,
            request,
        }));
        Ok(())
    }

    /// `block_media`: a host's or cohost's hard mute, kept by person (`sub`) so leaving and
    /// coming back does not lift it. Everyone sees it on the person (`peer_updated`).
    pub(super) fn block_media(
        &mut self,
        peer: PeerId,
        audio: Option<bool>,
        video: Option<bool>,
        effects: &mut Vec<Effect>,
    ) -> Outcome {
        if !self.is_sfu() {
            return Err((
                ErrorCode::Conflict,
                "only a meeting whose media goes through the hub can block media",
            ));
        }
        if audio.is_none() && video.is_none() {
            return Err((ErrorCode::BadRequest, "say audio and/or video"));
        }
        let Some(member) = self.members.get(&peer) else {
            return Err((ErrorCode::NotFound, "no such peer in this meeting"));
        };
        if member.identity.role.is_moderator() {
            return Err((ErrorCode::Forbidden, "hosts and cohosts cannot be blocked"));
        }
        let sub = member.identity.sub.clone();
        let (a, v) = self.blocked_of(&sub);
        let now = (audio.unwrap_or(a), video.unwrap_or(v));
        if now == (false, false) {
            self.media_blocks.remove(&sub);
        } else {
            self.media_blocks.insert(sub, now);
        }
        if now != (a, v) {
            self.announce_peer(peer, effects);
        }
        Ok(())
    }
}
