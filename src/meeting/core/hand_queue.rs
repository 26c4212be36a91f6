//! Raised hands, first raised first: one owner for the queue's rule (a person is in it at most
//! once), which three sites kept by hand.

use crate::protocol::PeerId;

#[derive(Debug, Default)]
pub(super) struct HandQueue(Vec<PeerId>);

impl HandQueue {
    /// Raises (`true`) or lowers `peer`'s hand. Returns whether anything changed.
    pub(super) fn set(&mut self, peer: PeerId, raised: bool) -> bool {
        if raised == self.contains(peer) {
            return false;
        }
        if raised {
            self.0.push(peer);
        } else {
            self.0.retain(|p| *p != peer);
        }
        true
    }

    pub(super) fn contains(&self, peer: PeerId) -> bool {
        self.0.contains(&peer)
    }

    /// The queue, first raised first.
    pub(super) fn queue(&self) -> Vec<PeerId> {
        self.0.clone()
    }

    pub(super) fn iter(&self) -> impl Iterator<Item = &PeerId> {
        self.0.iter()
    }

    pub(super) fn clear(&mut self) {
        self.0.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_hand_is_queued_once_in_the_order_raised() {
        let mut hands = HandQueue::default();
        assert!(hands.set(PeerId(2), true));
        assert!(hands.set(PeerId(1), true));
        assert!(!hands.set(PeerId(2), true));
        assert_eq!(hands.queue(), [PeerId(2), PeerId(1)]);
        assert!(hands.set(PeerId(2), false));
        assert!(!hands.set(PeerId(2), false));
        assert_eq!(hands.queue(), [PeerId(1)]);
        hands.clear();
        assert!(!hands.contains(PeerId(1)));
    }
}
