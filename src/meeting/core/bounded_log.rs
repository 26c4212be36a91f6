//! A log bounded by count and by bytes, oldest dropped first. One owner for a rule that was kept
//! by hand in two places: a room's chat history and a member's recent private messages (both
//! replayed after a resume), and the notices kept for a held seat (bounded by count only).

use crate::protocol::{ChatMessage, ServerMessage};
use std::collections::VecDeque;

/// What an entry costs against the byte bound.
pub(super) trait Weighed {
    fn weight(&self) -> usize;
}

impl Weighed for ChatMessage {
    /// The text is what a sender controls and what can be large.
    fn weight(&self) -> usize {
        self.text.len()
    }
}

impl Weighed for ServerMessage {
    /// Notices are bounded by count: each is small and their senders are moderators.
    fn weight(&self) -> usize {
        0
    }
}

#[derive(Debug, Clone)]
pub(super) struct BoundedLog<T> {
    items: VecDeque<T>,
    bytes: usize,
    max_len: usize,
    max_bytes: usize,
}

impl<T: Weighed> BoundedLog<T> {
    pub(super) fn new(max_len: usize, max_bytes: usize) -> Self {
        BoundedLog {
            items: VecDeque::new(),
            bytes: 0,
            max_len,
            max_bytes,
        }
    }

    /// Appends `item`, then drops the oldest entries until both bounds hold again (the new
    /// entry too, if it alone is over the byte bound).
    pub(super) fn push(&mut self, item: T) {
        self.bytes += item.weight();
        self.items.push_back(item);
        while self.items.len() > self.max_len || self.bytes > self.max_bytes {
            match self.items.pop_front() {
                Some(old) => self.bytes -= old.weight(),
                None => break,
            }
        }
    }

    /// Oldest first.
    pub(super) fn iter(&self) -> impl Iterator<Item = &T> {
        self.items.iter()
    }

    pub(super) fn clear(&mut self) {
        self.items.clear();
        self.bytes = 0;
    }

    /// Drops entries from the oldest while `old` says so (entries are in the order they came).
    pub(super) fn forget_while(&mut self, old: impl Fn(&T) -> bool) {
        while self.items.front().is_some_and(&old) {
            if let Some(gone) = self.items.pop_front() {
                self.bytes -= gone.weight();
            }
        }
    }

    /// The oldest entry.
    pub(super) fn first(&self) -> Option<&T> {
        self.items.front()
    }

    /// Empties the log, handing back its entries oldest first.
    pub(super) fn take(&mut self) -> Vec<T> {
        self.bytes = 0;
        self.items.drain(..).collect()
    }

    /// Whether both bounds hold and the byte count matches the entries (for invariant checks).
    pub(super) fn is_consistent(&self) -> bool {
        self.items.len() <= self.max_len
            && self.bytes <= self.max_bytes
            && self.bytes == self.items.iter().map(Weighed::weight).sum::<usize>()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Sized(usize);
    impl Weighed for Sized {
        fn weight(&self) -> usize {
            self.0
        }
    }

    fn weights(log: &BoundedLog<Sized>) -> Vec<usize> {
        log.iter().map(|s| s.0).collect()
    }

    #[test]
    fn the_oldest_go_first_when_the_count_is_reached() {
        let mut log = BoundedLog::new(3, usize::MAX);
        for n in 1..=5 {
            log.push(Sized(n));
        }
        assert_eq!(weights(&log), [3, 4, 5]);
        assert!(log.is_consistent());
    }

    #[test]
    fn the_oldest_go_first_when_the_bytes_are_reached() {
        let mut log = BoundedLog::new(100, 10);
        log.push(Sized(4));
        log.push(Sized(4));
        log.push(Sized(4));
        assert_eq!(weights(&log), [4, 4]);
        // One entry over the whole budget does not stay either.
        log.push(Sized(11));
        assert!(weights(&log).is_empty());
        assert!(log.is_consistent());
    }

    #[test]
    fn take_empties_and_keeps_the_order() {
        let mut log = BoundedLog::new(10, 100);
        log.push(Sized(1));
        log.push(Sized(2));
        assert_eq!(log.take().iter().map(|s| s.0).collect::<Vec<_>>(), [1, 2]);
        assert!(log.iter().next().is_none());
        assert!(log.is_consistent());
        log.push(Sized(3));
        log.clear();
        assert!(log.is_consistent());
    }
}
