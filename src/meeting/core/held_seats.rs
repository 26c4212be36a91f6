//! Seats held for a resume after their connection dropped, and until when. One owner for the
//! seat's deadline and its index by deadline, which were kept in step by hand at four sites: the
//! next deadline is the index's first entry, so nobody held costs nothing per message.

use super::Millis;
use crate::protocol::PeerId;
use std::collections::{BTreeMap, BTreeSet};

#[derive(Debug, Default)]
pub(super) struct HeldSeats {
    until: BTreeMap<PeerId, Millis>,
    by_deadline: BTreeSet<(Millis, PeerId)>,
}

impl HeldSeats {
    /// Holds `peer`'s seat until `until`. A seat already held keeps its first deadline (a second
    /// drop report must not extend the grace). Returns whether it was newly held.
    pub(super) fn hold(&mut self, peer: PeerId, until: Millis) -> bool {
        if self.until.contains_key(&peer) {
            return false;
        }
        self.until.insert(peer, until);
        self.by_deadline.insert((until, peer));
        true
    }

    /// Gives up the hold on `peer`'s seat (a resume, a takeover, a leave). Returns its deadline.
    pub(super) fn release(&mut self, peer: PeerId) -> Option<Millis> {
        let until = self.until.remove(&peer)?;
        self.by_deadline.remove(&(until, peer));
        Some(until)
    }

    pub(super) fn until(&self, peer: PeerId) -> Option<Millis> {
        self.until.get(&peer).copied()
    }

    pub(super) fn is_held(&self, peer: PeerId) -> bool {
        self.until.contains_key(&peer)
    }

    pub(super) fn is_empty(&self) -> bool {
        self.until.is_empty()
    }

    /// The earliest deadline of any held seat.
    pub(super) fn next_deadline(&self) -> Option<Millis> {
        self.by_deadline.first().map(|(until, _)| *until)
    }

    /// The held seat whose grace ended first, if one has by `now`.
    pub(super) fn first_due(&self, now: Millis) -> Option<PeerId> {
        self.by_deadline
            .first()
            .filter(|(until, _)| *until <= now)
            .map(|(_, peer)| *peer)
    }

    /// Every held seat.
    pub(super) fn peers(&self) -> impl Iterator<Item = PeerId> + '_ {
        self.until.keys().copied()
    }

    pub(super) fn clear(&mut self) {
        self.until.clear();
        self.by_deadline.clear();
    }

    /// Whether the index agrees with the deadlines (for invariant checks).
    pub(super) fn is_consistent(&self) -> bool {
        self.by_deadline.len() == self.until.len()
            && self
                .by_deadline
                .iter()
                .all(|(t, p)| self.until.get(p) == Some(t))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_earliest_deadline_comes_first_and_a_second_hold_does_not_extend_it() {
        let mut held = HeldSeats::default();
        assert!(held.hold(PeerId(1), 300));
        assert!(held.hold(PeerId(2), 100));
        assert!(!held.hold(PeerId(2), 900));
        assert_eq!(held.next_deadline(), Some(100));
        assert_eq!(held.first_due(99), None);
        assert_eq!(held.first_due(100), Some(PeerId(2)));
        assert!(held.is_consistent());
    }

    #[test]
    fn release_clears_both_the_seat_and_its_index_entry() {
        let mut held = HeldSeats::default();
        held.hold(PeerId(1), 50);
        held.hold(PeerId(2), 60);
        assert_eq!(held.release(PeerId(1)), Some(50));
        assert_eq!(held.release(PeerId(1)), None);
        assert!(!held.is_held(PeerId(1)));
        assert_eq!(held.next_deadline(), Some(60));
        assert_eq!(held.until(PeerId(2)), Some(60));
        held.clear();
        assert!(held.is_empty() && held.next_deadline().is_none());
        assert!(held.is_consistent());
    }
}
