//! Rewriting sequence numbers and timestamps so one receive slot stays one continuous RTP stream
//! while the person or simulcast layer it carries changes (LiveKit and Galène do the same).
//! A subscriber's jitter buffer and NACKs then never see a jump backwards.

/// Offsets from the source stream now forwarded to the slot's stream. All arithmetic wraps.
#[derive(Debug, Clone)]
pub struct Munger {
    seq_offset: u16,
    ts_offset: u32,
    last_seq: u16,
    last_ts: u32,
    /// When the last packet went out, for the timestamp gap at the next switch.
    last_at_ms: Option<u64>,
    started: bool,
}

impl Munger {
    /// `seq` and `ts` start where the slot's stream starts (random, as RFC 3550 asks).
    pub fn new(seq: u16, ts: u32) -> Self {
        Munger {
            seq_offset: 0,
            ts_offset: 0,
            last_seq: seq,
            last_ts: ts,
            last_at_ms: None,
            started: false,
        }
    }

    /// The next packet `(seq, ts)` starts a new source on this slot at `now_ms`: continue the
    /// slot's sequence right after the last packet, and its clock by the time that passed
    /// (`clock_hz`: 90,000 for video, 48,000 for Opus).
    pub fn rebase(&mut self, seq: u16, ts: u32, now_ms: u64, clock_hz: u32) {
        let elapsed_ms = self
            .last_at_ms
            .map(|t| now_ms.saturating_sub(t))
            .unwrap_or(20);
        let ticks = (elapsed_ms.saturating_mul(u64::from(clock_hz)) / 1000).max(1);
        let next_seq = if self.started {
            self.last_seq.wrapping_add(1)
        } else {
            self.last_seq
        };
        let next_ts = self.last_ts.wrapping_add(ticks as u32);
        self.seq_offset = next_seq.wrapping_sub(seq);
        self.ts_offset = next_ts.wrapping_sub(ts);
    }

    /// The slot's `(seq, ts)` for a packet of the current source.
    pub fn map(&mut self, seq: u16, ts: u32, now_ms: u64) -> (u16, u32) {
        let out = (
            seq.wrapping_add(self.seq_offset),
            ts.wrapping_add(self.ts_offset),
        );
        // Only packets newer than the last sent move the base (a retransmission or reordering
        // keeps its own number).
        if !self.started || is_newer(out.0, self.last_seq) {
            self.last_seq = out.0;
            self.last_ts = out.1;
            self.last_at_ms = Some(now_ms);
            self.started = true;
        }
        out
    }
}

/// RFC 1982 serial-number comparison for 16-bit sequence numbers.
fn is_newer(a: u16, b: u16) -> bool {
    a != b && a.wrapping_sub(b) < 0x8000
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        /// Across any number of switches between sources with arbitrary numbering, the slot's
        /// sequence numbers are contiguous and its timestamps never go back.
        #[test]
        fn switches_keep_the_stream_continuous(
            start in any::<(u16, u32)>(),
            sources in proptest::collection::vec((any::<u16>(), any::<u32>(), 1usize..20), 1..12),
        ) {
            let mut m = Munger::new(start.0, start.1);
            let mut now = 1_000u64;
            let mut last: Option<(u16, u32)> = None;
            for (seq0, ts0, n) in sources {
                m.rebase(seq0, ts0, now, 90_000);
                for i in 0..n {
                    now += 20;
                    let out = m.map(seq0.wrapping_add(i as u16), ts0.wrapping_add(1800 * i as u32), now);
                    if let Some((s, t)) = last {
                        prop_assert_eq!(out.0, s.wrapping_add(1));
                        prop_assert!(out.1.wrapping_sub(t) < 0x8000_0000 && out.1 != t);
                    }
                    last = Some(out);
                }
            }
        }
    }

    #[test]
    fn a_retransmission_keeps_its_number_and_does_not_move_the_base() {
        let mut m = Munger::new(100, 0);
        m.rebase(5000, 7, 0, 48_000);
        assert_eq!(m.map(5000, 7, 0).0, 100);
        assert_eq!(m.map(5001, 967, 20).0, 101);
        assert_eq!(m.map(5000, 7, 30).0, 100);
        assert_eq!(m.map(5002, 1927, 40).0, 102);
    }
}
