//! Property tests of the meeting core: random sequences of joins, leaves, splits (every strategy),
//! moves, swaps, visits, merges, timer ticks, chat and signals, takeovers, removals and bans, the
//! lobby, pull-asides, dropped connections and resumes, with the invariants checked after every
//! step. Each seat's chat view is modelled as a client would build it, so a resume is checked to
//! miss nothing and show nothing twice.

mod checks;
mod model;
mod ops;

use self::model::Model;
use self::ops::op;
use super::core::{Meeting, MeetingConfig};
use proptest::test_runner::{Config, TestRunner};
use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};

/// Room changes seen, so the test proves it exercised moves and not only refusals.
pub(super) static MOVES: AtomicUsize = AtomicUsize::new(0);
/// Successful resumes, so the test proves it exercised them.
pub(super) static RESUMES: AtomicUsize = AtomicUsize::new(0);

#[test]
fn random_operation_sequences_keep_the_invariants() {
    static STEPS: AtomicUsize = AtomicUsize::new(0);
    static CASES: AtomicUsize = AtomicUsize::new(0);
    let cases = std::env::var("HUDDLE_PROPTEST_CASES")
        .ok()
        .and_then(|c| c.parse().ok())
        .unwrap_or(256);
    let mut runner = TestRunner::new(Config {
        cases,
        failure_persistence: None,
        ..Config::default()
    });
    runner
        .run(&proptest::collection::vec(op(), 20..100), |ops| {
            let mut model = Model {
                meeting: Meeting::new(
                    "m",
                    MeetingConfig {
                        breakout_warning_ms: 10_000,
                        // Every other case as the hub runs by default: participants wait for
                        // the first host or cohost.
                        wait_for_host: CASES.fetch_add(1, Ordering::Relaxed) % 2 == 1,
                        ..MeetingConfig::default()
                    },
                    42,
                ),
                seats: HashMap::new(),
                gone: Vec::new(),
                now: 1_000_000,
                next_peer: 0,
                last_seq: HashMap::new(),
                banned: Vec::new(),
            };
            for op in &ops {
                model.step(op)?;
                STEPS.fetch_add(1, Ordering::Relaxed);
            }
            Ok(())
        })
        .unwrap();
    let steps = STEPS.load(Ordering::Relaxed);
    assert!(steps >= 10_000 || cases < 256, "only {steps} steps ran");
    let moves = MOVES.load(Ordering::Relaxed);
    let resumes = RESUMES.load(Ordering::Relaxed);
    eprintln!("meeting core property test: {cases} cases, {steps} steps, {moves} room changes, {resumes} resumes");
    assert!(
        resumes >= steps / 200 || cases < 256,
        "too few resumes ({resumes}) for {steps} steps"
    );
    assert!(
        moves >= steps / 40,
        "too few room changes ({moves}) for {steps} steps"
    );
}
