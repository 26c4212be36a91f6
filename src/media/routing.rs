//! Which roommate each of a subscriber's receive slots carries: the pure rule, tested alone.
//! A roommate who stays keeps their slot (no flicker, no renegotiation); newcomers take the
//! lowest free slot; slots grow (in pairs, up to the cap) only when a room outgrows them.

/// The new assignment of slots (index = slot pair) for a subscriber whose roommates who may
/// send are `roommates` (in the order they should get slots), given the `current` one. The
/// result is never shorter than `current` (slots are never removed) and never longer than `cap`
/// unless `current` already is.
pub fn assign<T: Copy + PartialEq>(
    current: &[Option<T>],
    roommates: &[T],
    cap: usize,
) -> Vec<Option<T>> {
    let mut slots: Vec<Option<T>> = current
        .iter()
        .map(|s| s.filter(|p| roommates.contains(p)))
        .collect();
    let waiting: Vec<T> = roommates
        .iter()
        .filter(|p| !slots.contains(&Some(**p)))
        .copied()
        .collect();
    let mut waiting = waiting.into_iter();
    for slot in slots.iter_mut() {
        if slot.is_none() {
            match waiting.next() {
                Some(p) => *slot = Some(p),
                None => break,
            }
        }
    }
    let rest: Vec<T> = waiting.collect();
    if !rest.is_empty() && slots.len() < cap {
        // Grow by at least two pairs: each renegotiation then covers the next arrival too.
        let want = (slots.len() + rest.len()).max(slots.len() + 2).min(cap);
        let mut rest = rest.into_iter();
        while slots.len() < want {
            slots.push(rest.next());
        }
    }
    slots
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::PeerId;
    use proptest::prelude::*;

    fn ids(v: &[u64]) -> Vec<PeerId> {
        v.iter().map(|i| PeerId(*i)).collect()
    }

    #[test]
    fn stayers_keep_their_slot_and_newcomers_fill_gaps() {
        let now = assign(&[], &ids(&[1, 2]), 16);
        assert_eq!(now, vec![Some(PeerId(1)), Some(PeerId(2))]);
        let next = assign(&now, &ids(&[2, 3]), 16);
        assert_eq!(next, vec![Some(PeerId(3)), Some(PeerId(2))]);
        let alone = assign(&next, &[], 16);
        assert_eq!(alone, vec![None, None]);
    }

    proptest! {
        #[test]
        fn assignments_are_sound(
            current in proptest::collection::vec(proptest::option::of(0u64..12), 0..10),
            room in proptest::collection::btree_set(0u64..12, 0..12),
            cap in 1usize..10,
        ) {
            // A current assignment never names anyone twice.
            let mut seen = std::collections::HashSet::new();
            let current: Vec<Option<PeerId>> = current
                .into_iter()
                .map(|s| s.filter(|p| seen.insert(*p)).map(PeerId))
                .collect();
            let room: Vec<PeerId> = room.into_iter().map(PeerId).collect();
            let next = assign(&current, &room, cap);
            prop_assert!(next.len() >= current.len());
            prop_assert!(next.len() <= cap.max(current.len()));
            let carried: Vec<PeerId> = next.iter().flatten().copied().collect();
            // Only roommates, none twice.
            prop_assert!(carried.iter().all(|p| room.contains(p)));
            let unique: std::collections::HashSet<_> = carried.iter().collect();
            prop_assert_eq!(unique.len(), carried.len());
            // Everyone gets a slot while there are slots.
            prop_assert_eq!(carried.len(), room.len().min(next.len()));
            // Stayers keep their slot.
            for (k, s) in current.iter().enumerate() {
                if let Some(p) = s {
                    if room.contains(p) {
                        prop_assert_eq!(next[k], Some(*p));
                    }
                }
            }
            // The same input again changes nothing.
            prop_assert_eq!(assign(&next, &room, cap), next.clone());
        }
    }
}
