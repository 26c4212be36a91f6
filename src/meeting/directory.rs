//! The directory of running meetings: meeting id → the handle of its actor, started on first
//! join. Only a directory: all meeting state lives in the actors, and an actor that empties
//! removes itself.

use super::actor::{self, Command, ConnHandle, MeetingHandle};
use super::core::{Identity, Meeting, MeetingConfig};
use crate::protocol::{CloseCode, ErrorCode, PeerId, Refusal, ResumeRequest};
use crate::pseudonym::Pseudonyms;
use dashmap::DashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use tokio::sync::oneshot;

/// Meeting id → running actor. Only a directory: all meeting state lives in the actors.
#[derive(Debug)]
pub struct Directory {
    meetings: DashMap<String, MeetingHandle>,
    generations: AtomicU64,
    config: MeetingConfig,
    /// Pseudonyms of people for the actors' log lines.
    pseudonyms: Arc<Pseudonyms>,
}

impl Directory {
    pub fn new(config: MeetingConfig, pseudonyms: Arc<Pseudonyms>) -> Arc<Self> {
        Arc::new(Directory {
            meetings: DashMap::new(),
            generations: AtomicU64::new(0),
            config,
            pseudonyms,
        })
    }

    /// Number of meetings with a running actor.
    pub fn len(&self) -> usize {
        self.meetings.len()
    }

    pub fn is_empty(&self) -> bool {
        self.meetings.is_empty()
    }

    /// Puts `peer` into `meeting`, starting the meeting's actor if needed. On success the
    /// `welcome` is already in `conn`'s queue, and the returned id is the connection's peer id:
    /// `peer`, or the seat it took over (the same person already connected, or a resume).
    pub async fn join(
        self: &Arc<Self>,
        meeting: &str,
        peer: PeerId,
        identity: Identity,
        resume: Option<ResumeRequest>,
        conn: ConnHandle,
    ) -> Result<(MeetingHandle, PeerId), Refusal> {
        // An actor that just emptied removes itself and drops its inbox; a join that raced with
        // that sees a closed channel or a dropped reply and tries again with a fresh actor.
        for _ in 0..8 {
            let handle = self.handle_for(meeting);
            let (reply, answer) = oneshot::channel();
            let command = Command::Join {
                peer,
                identity: identity.clone(),
                resume: resume.clone(),
                conn: conn.clone(),
                reply,
            };
            if handle.tx.send(command).await.is_err() {
                continue;
            }
            match answer.await {
                Ok(Ok(seat)) => return Ok((handle, seat)),
                Ok(Err(refused)) => return Err(refused),
                Err(_) => continue,
            }
        }
        Err(Refusal::new(
            ErrorCode::Internal,
            "meeting is restarting, retry",
            CloseCode::Internal,
        ))
    }

    fn handle_for(self: &Arc<Self>, meeting: &str) -> MeetingHandle {
        if let Some(handle) = self.meetings.get(meeting) {
            if !handle.tx.is_closed() {
                return handle.clone();
            }
        }
        let mut entry = self
            .meetings
            .entry(meeting.to_owned())
            .or_insert_with(|| self.spawn(meeting));
        if entry.tx.is_closed() {
            *entry = self.spawn(meeting);
        }
        entry.clone()
    }

    fn spawn(self: &Arc<Self>, meeting: &str) -> MeetingHandle {
        let generation = self.generations.fetch_add(1, Ordering::Relaxed);
        let core = Meeting::new(meeting, self.config.clone(), rand::random())
            .with_token_seed(rand::random());
        tracing::debug!(meeting, generation, "meeting actor started");
        actor::spawn(
            core,
            Arc::clone(self),
            Arc::clone(&self.pseudonyms),
            generation,
        )
    }

    /// Called by an actor that stops: removes it, unless a later actor already took its place.
    pub(super) fn forget(&self, meeting: &str, generation: u64) {
        self.meetings
            .remove_if(meeting, |_, h| h.generation == generation);
    }
}
