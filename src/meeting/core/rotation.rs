//! Rotating pairs (`split {strategy: "rotate"}`): the round-robin schedule (the circle method)
//! that pairs a group so that, round after round, nobody meets the same person twice until
//! every pairing has happened. The one owner of that rule; `breakouts.rs` asks it for a round.

/// The schedule so far: who is in it, in a fixed order, and the last round given out.
#[derive(Debug, Default, Clone)]
pub(super) struct Rotation {
    /// People (`sub`) in schedule order.
    order: Vec<String>,
    /// Rounds given out in the current cycle (0: none yet).
    round: usize,
}

/// One round: the pairs, and who rests (an odd count: one person sits the round out in the
/// main room, so that no pairing repeats early, as a trio would make it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Round {
    pub pairs: Vec<(String, String)>,
    pub resting: Option<String>,
    /// 1, 2, 3… within the current cycle of the same group.
    pub number: usize,
}

impl Rotation {
    /// The next round for `people` (at least two). The same group continues its cycle and starts
    /// a new one when every pairing has happened; a changed group (someone came or went) starts
    /// a schedule of its own, keeping the order of those who stayed.
    pub(super) fn next(&mut self, people: &[String]) -> Round {
        let same =
            people.len() == self.order.len() && people.iter().all(|p| self.order.contains(p));
        if !same {
            let mut order: Vec<String> = self
                .order
                .iter()
                .filter(|p| people.contains(p))
                .cloned()
                .collect();
            let newcomers: Vec<String> = people
                .iter()
                .filter(|p| !order.contains(p))
                .cloned()
                .collect();
            order.extend(newcomers);
            self.order = order;
            self.round = 0;
        }
        let slots = self.order.len() + self.order.len() % 2;
        if self.round >= slots - 1 {
            // Every pairing has happened: the next cycle begins.
            self.round = 0;
        }
        let positions = circle(slots, self.round);
        self.round += 1;
        let name = |i: usize| self.order.get(i).cloned();
        let mut pairs = Vec::new();
        let mut resting = None;
        for (a, b) in positions {
            match (name(a), name(b)) {
                (Some(a), Some(b)) => pairs.push((a, b)),
                (Some(one), None) | (None, Some(one)) => resting = Some(one),
                (None, None) => {}
            }
        }
        Round {
            pairs,
            resting,
            number: self.round,
        }
    }
}

/// Round `round` (0-based, below `n − 1`) of the circle method for `n` (even) positions: the
/// first stays put, the others turn one place a round, and position `i` meets `n − 1 − i`.
fn circle(n: usize, round: usize) -> Vec<(usize, usize)> {
    let others = n - 1;
    let at = |i: usize| -> usize {
        if i == 0 {
            0
        } else {
            1 + (i - 1 + round) % others
        }
    };
    (0..n / 2).map(|i| (at(i), at(n - 1 - i))).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::collections::BTreeSet;

    fn group(n: usize) -> Vec<String> {
        (0..n).map(|i| format!("s{i}")).collect()
    }

    fn key(a: &str, b: &str) -> (String, String) {
        if a < b {
            (a.to_owned(), b.to_owned())
        } else {
            (b.to_owned(), a.to_owned())
        }
    }

    proptest! {
        /// A constant group of n meets every pairing exactly once over one cycle (n − 1 rounds,
        /// n for an odd n), nobody twice in a round, and an odd n rests each person once.
        #[test]
        fn a_cycle_pairs_everyone_with_everyone_once(n in 2usize..16) {
            let people = group(n);
            let mut rotation = Rotation::default();
            let rounds = n + n % 2 - 1;
            let mut seen = BTreeSet::new();
            let mut rested = BTreeSet::new();
            for r in 0..rounds {
                let round = rotation.next(&people);
                prop_assert_eq!(round.number, r + 1);
                let mut busy = BTreeSet::new();
                for (a, b) in &round.pairs {
                    prop_assert!(busy.insert(a.clone()) && busy.insert(b.clone()), "twice in a round");
                    prop_assert!(seen.insert(key(a, b)), "{} and {} paired again early", a, b);
                }
                prop_assert_eq!(round.resting.is_some(), n % 2 == 1);
                if let Some(p) = round.resting {
                    prop_assert!(rested.insert(p), "rested twice in a cycle");
                }
            }
            prop_assert_eq!(seen.len(), n * (n - 1) / 2, "every pairing happened");
            // Then a new cycle starts at round 1.
            prop_assert_eq!(rotation.next(&people).number, 1);
        }
    }

    #[test]
    fn a_changed_group_starts_its_own_schedule_keeping_the_order_of_those_who_stayed() {
        let mut rotation = Rotation::default();
        rotation.next(&group(4));
        rotation.next(&group(4));
        let mut changed = group(3);
        changed.push("late".into());
        let round = rotation.next(&changed);
        assert_eq!(round.number, 1);
        assert_eq!(rotation.order, ["s0", "s1", "s2", "late"]);
    }
}
