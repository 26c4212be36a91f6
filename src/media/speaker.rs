//! Who is speaking, from the audio level each publisher's browser puts in its packets (RFC 6464:
//! 0 is the loudest, 127 silence, in -dBov). Smoothed per person, decided per room a few times a
//! second, so tiles do not flicker on every syllable.

/// Levels at or under this (-dBov) count as speech (LiveKit's default threshold is 35; phones
/// with automatic gain sit around 20–40 when someone talks).
pub const ACTIVE_LEVEL: u8 = 40;
/// How many speakers `active_speaker` names at most.
pub const MAX_SPEAKERS: usize = 3;

/// One publisher's smoothed loudness (`127 - level`, so higher is louder).
#[derive(Debug, Clone, Default)]
pub struct Loudness {
    smoothed: f32,
    last_ms: u64,
}

impl Loudness {
    /// One audio packet's level byte (the RFC 6464 extension's payload) at `now_ms`.
    pub fn observe(&mut self, level_byte: u8, now_ms: u64) {
        let loud = f32::from(127 - (level_byte & 0x7f));
        // About 100 ms of memory at Opus' 50 packets a second.
        self.smoothed = self.smoothed * 0.8 + loud * 0.2;
        self.last_ms = now_ms;
    }

    /// The loudness now, or `None` when silent or not heard from lately.
    pub fn speaking(&self, now_ms: u64) -> Option<f32> {
        let fresh = now_ms.saturating_sub(self.last_ms) < 500;
        (fresh && self.smoothed >= f32::from(127 - ACTIVE_LEVEL)).then_some(self.smoothed)
    }
}

/// The speakers of one room, loudest first, from `(person, loudness)` candidates.
pub fn rank<P: Copy>(mut speaking: Vec<(P, f32)>) -> Vec<P> {
    speaking.sort_by(|a, b| b.1.total_cmp(&a.1));
    speaking.truncate(MAX_SPEAKERS);
    speaking.into_iter().map(|(p, _)| p).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn talking_counts_silence_and_staleness_do_not() {
        let mut l = Loudness::default();
        for i in 0..20 {
            l.observe(0x80 | 20, i * 20);
        }
        assert!(l.speaking(400).is_some());
        assert!(l.speaking(2_000).is_none(), "not heard from for 1.6 s");
        for i in 0..20 {
            l.observe(110, 2_000 + i * 20);
        }
        assert!(
            l.speaking(2_400).is_none(),
            "background noise is not speech"
        );
    }

    #[test]
    fn loudest_first_at_most_three() {
        assert_eq!(
            rank(vec![(1, 90.0), (2, 100.0), (3, 95.0), (4, 91.0)]),
            vec![2, 3, 4]
        );
    }
}
