//! The operations the property test draws, and how they are drawn.

use crate::protocol::{Role, SplitStrategy};
use proptest::prelude::*;

#[derive(Debug, Clone)]
pub(super) enum Op {
    Join(u8),
    /// The same person as member i connects again (takeover).
    Rejoin(usize),
    /// A host removes member `who`, banning them when `ban`.
    Remove {
        by: usize,
        who: usize,
        ban: bool,
    },
    /// Someone banned earlier tries to come back with a fresh connection.
    ReturnBanned(usize),
    Lobby {
        by: usize,
        enabled: bool,
    },
    PullAside {
        by: usize,
        who: usize,
    },
    EndAside(usize),
    Admit {
        by: usize,
        who: Option<usize>,
    },
    Deny {
        by: usize,
        who: Option<usize>,
    },
    Leave(usize),
    Split {
        strategy: u8,
        count: u8,
        duration: Option<u8>,
        spread: bool,
        by: usize,
    },
    Move {
        by: usize,
        who: usize,
        room: usize,
    },
    Swap {
        by: usize,
        a: usize,
        b: usize,
    },
    Visit {
        by: usize,
        room: usize,
    },
    Choose {
        who: usize,
        room: usize,
    },
    MergeAll {
        by: usize,
        countdown: Option<u8>,
    },
    MergeSome {
        by: usize,
        rooms: Vec<usize>,
    },
    Extend {
        by: usize,
        secs: u8,
    },
    Reopen {
        by: usize,
    },
    Tick(u16),
    Chat {
        who: usize,
        to: Option<usize>,
    },
    Signal {
        who: usize,
        to: usize,
    },
    AskHelp(usize),
    /// A host (mostly) sets the group's agreement, or removes it.
    Agreement {
        by: usize,
        on: bool,
    },
    /// Someone held apart accepts the agreement in force.
    Accept(usize),
    Broadcast(usize),
    /// Member i's connection drops; the last `lost` frames sent to it never arrived.
    Drop {
        who: usize,
        lost: u8,
    },
    /// A dropped member i comes back with `hello.resume`.
    Resume(usize),
    /// Someone tries to resume with a token that was already used or whose seat is gone.
    ResumeStale(usize),
    /// A host or cohost ends the meeting.
    End(usize),
    /// Someone raises or lowers their hand, or (with `by`) a host lowers theirs.
    Hand {
        who: usize,
        raised: bool,
        by: Option<usize>,
    },
}

pub(super) fn op() -> impl Strategy<Value = Op> {
    let i = || any::<usize>();
    prop_oneof![
        4 => (0u8..5).prop_map(Op::Join),
        1 => any::<usize>().prop_map(Op::Rejoin),
        1 => (any::<usize>(), any::<usize>(), any::<bool>()).prop_map(|(by, who, ban)| Op::Remove { by, who, ban }),
        1 => any::<usize>().prop_map(Op::ReturnBanned),
        1 => (any::<usize>(), any::<bool>()).prop_map(|(by, enabled)| Op::Lobby { by, enabled }),
        1 => (any::<usize>(), any::<usize>()).prop_map(|(by, who)| Op::PullAside { by, who }),
        1 => any::<usize>().prop_map(Op::EndAside),
        1 => (any::<usize>(), proptest::option::of(any::<usize>())).prop_map(|(by, who)| Op::Admit { by, who }),
        1 => (any::<usize>(), proptest::option::of(any::<usize>())).prop_map(|(by, who)| Op::Deny { by, who }),
        1 => i().prop_map(Op::Leave),
        2 => (0u8..6, 0u8..6, proptest::option::of(1u8..120), any::<bool>(), i())
            .prop_map(|(strategy, count, duration, spread, by)| Op::Split { strategy, count, duration, spread, by }),
        2 => (i(), i(), i()).prop_map(|(by, who, room)| Op::Move { by, who, room }),
        1 => (i(), i(), i()).prop_map(|(by, a, b)| Op::Swap { by, a, b }),
        1 => (i(), i()).prop_map(|(by, room)| Op::Visit { by, room }),
        1 => (i(), i()).prop_map(|(who, room)| Op::Choose { who, room }),
        1 => (i(), proptest::option::of(0u8..30)).prop_map(|(by, countdown)| Op::MergeAll { by, countdown }),
        1 => (i(), proptest::collection::vec(i(), 0..4)).prop_map(|(by, rooms)| Op::MergeSome { by, rooms }),
        1 => (i(), 0u8..90).prop_map(|(by, secs)| Op::Extend { by, secs }),
        1 => i().prop_map(|by| Op::Reopen { by }),
        2 => (0u16..40_000).prop_map(Op::Tick),
        3 => (i(), proptest::option::of(i())).prop_map(|(who, to)| Op::Chat { who, to }),
        2 => (i(), i()).prop_map(|(who, to)| Op::Signal { who, to }),
        1 => i().prop_map(Op::AskHelp),
        1 => (i(), any::<bool>()).prop_map(|(by, on)| Op::Agreement { by, on }),
        1 => i().prop_map(Op::Accept),
        1 => i().prop_map(Op::Broadcast),
        2 => (i(), 0u8..4).prop_map(|(who, lost)| Op::Drop { who, lost }),
        2 => i().prop_map(Op::Resume),
        1 => i().prop_map(Op::ResumeStale),
        1 => i().prop_map(Op::End),
        2 => (i(), any::<bool>(), proptest::option::of(i())).prop_map(|(who, raised, by)| Op::Hand { who, raised, by }),
    ]
}

pub(super) const ROLES: [Role; 5] = [
    Role::Host,
    Role::Cohost,
    Role::Mentor,
    Role::Participant,
    Role::Participant,
];
pub(super) const STRATEGIES: [SplitStrategy; 6] = [
    SplitStrategy::Even,
    SplitStrategy::Random,
    SplitStrategy::Pairs,
    SplitStrategy::Manual,
    SplitStrategy::Choose,
    SplitStrategy::Rotate,
];
