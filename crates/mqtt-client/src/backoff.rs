//! Reconnect delays: exponential, capped, jittered from a seeded generator.

use crate::options::Backoff;

/// The reconnect schedule of one client.
#[derive(Debug, Clone)]
pub(crate) struct Schedule {
    config: Backoff,
    /// Consecutive attempts that did not lead to a stable connection.
    failures: u32,
    /// xorshift64* state: deterministic for a given seed.
    rng: u64,
}

impl Schedule {
    pub(crate) fn new(config: Backoff, seed: u64) -> Self {
        Self {
            config,
            failures: 0,
            // xorshift must not start at zero.
            rng: seed | 1,
        }
    }

    /// The delay before the next attempt, counting this failure.
    pub(crate) fn next_delay(&mut self) -> u64 {
        let exp = self.failures.min(30);
        self.failures = self.failures.saturating_add(1);
        let ceiling = self
            .config
            .initial_ms
            .saturating_mul(1u64 << exp)
            .min(self.config.max_ms)
            .max(1);
        // "Equal jitter": between half the ceiling and the ceiling, so a
        // crowd of clients spreads out but nobody retries at once.
        let half = ceiling / 2;
        half + self.random() % (ceiling - half + 1)
    }

    /// The connection stayed up long enough: start from the first delay.
    pub(crate) fn reset(&mut self) {
        self.failures = 0;
    }

    pub(crate) fn stable_ms(&self) -> u64 {
        self.config.stable_ms
    }

    fn random(&mut self) -> u64 {
        self.rng ^= self.rng >> 12;
        self.rng ^= self.rng << 25;
        self.rng ^= self.rng >> 27;
        self.rng.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grows_exponentially_within_jitter_and_caps() {
        let mut s = Schedule::new(
            Backoff {
                initial_ms: 100,
                max_ms: 1_000,
                stable_ms: 0,
            },
            42,
        );
        for ceiling in [100, 200, 400, 800, 1_000, 1_000, 1_000] {
            let d = s.next_delay();
            assert!(
                (ceiling / 2..=ceiling).contains(&d),
                "{d} not in [{}, {ceiling}]",
                ceiling / 2
            );
        }
        s.reset();
        assert!(s.next_delay() <= 100);
    }

    #[test]
    fn same_seed_same_delays() {
        let delays = |seed| {
            let mut s = Schedule::new(Backoff::default(), seed);
            (0..8)
                .map(|_| s.next_delay())
                .collect::<alloc::vec::Vec<_>>()
        };
        assert_eq!(delays(7), delays(7));
        assert_ne!(delays(7), delays(8));
    }
}
