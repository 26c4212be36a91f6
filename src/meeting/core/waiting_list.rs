//! The waiting room's list: people connected but not admitted, at most one connection per person
//! (`sub`). One owner for the "same person waiting on an older connection is replaced" rule.

use super::Identity;
use crate::protocol::PeerId;
use std::collections::BTreeMap;

#[derive(Debug, Default)]
pub(super) struct WaitingList(BTreeMap<PeerId, Identity>);

impl WaitingList {
    /// Puts `peer` on the list. Returns the older connections of the same person, now taken off
    /// (the caller closes them as replaced).
    pub(super) fn add(&mut self, peer: PeerId, identity: Identity) -> Vec<PeerId> {
        let older: Vec<PeerId> = self
            .0
            .iter()
            .filter(|(_, w)| w.sub == identity.sub)
            .map(|(p, _)| *p)
            .collect();
        for old in &older {
            self.0.remove(old);
        }
        self.0.insert(peer, identity);
        older
    }

    pub(super) fn remove(&mut self, peer: PeerId) -> Option<Identity> {
        self.0.remove(&peer)
    }

    pub(super) fn identity(&self, peer: PeerId) -> Option<&Identity> {
        self.0.get(&peer)
    }

    pub(super) fn contains(&self, peer: PeerId) -> bool {
        self.0.contains_key(&peer)
    }

    pub(super) fn len(&self) -> usize {
        self.0.len()
    }

    pub(super) fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Everyone waiting, in id order.
    pub(super) fn ids(&self) -> Vec<PeerId> {
        self.0.keys().copied().collect()
    }

    pub(super) fn iter(&self) -> impl Iterator<Item = (&PeerId, &Identity)> {
        self.0.iter()
    }

    pub(super) fn clear(&mut self) {
        self.0.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::Role;

    fn who(sub: &str) -> Identity {
        Identity {
            sub: sub.into(),
            name: sub.into(),
            role: Role::Participant,
        }
    }

    #[test]
    fn the_same_person_waits_once_on_the_newest_connection() {
        let mut list = WaitingList::default();
        assert!(list.add(PeerId(1), who("a")).is_empty());
        assert!(list.add(PeerId(2), who("b")).is_empty());
        assert_eq!(list.add(PeerId(3), who("a")), [PeerId(1)]);
        assert_eq!(list.ids(), [PeerId(2), PeerId(3)]);
        assert_eq!(list.remove(PeerId(2)).map(|i| i.sub), Some("b".into()));
        assert!(!list.contains(PeerId(2)));
    }
}
