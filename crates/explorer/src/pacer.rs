//! How often the page may refresh the explorer's views: at most ten times
//! a second, and less when a refresh costs more, so that refreshing takes
//! at most a tenth of the page's time however busy the broker is.

/// Learns what a refresh costs and spaces refreshes by it.
///
/// The interval is the last costs' (smoothed) average divided by
/// [`Self::SHARE`], within [`Self::MIN_INTERVAL_MS`] and
/// [`Self::MAX_INTERVAL_MS`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RefreshPacer {
    /// Smoothed cost of a refresh, in ms.
    cost_ms: f64,
    /// When the last refresh ran, in the caller's ms; `None` before the
    /// first.
    last_ms: Option<f64>,
}

impl Default for RefreshPacer {
    fn default() -> Self {
        Self::new()
    }
}

impl RefreshPacer {
    /// The least time between two refreshes, in ms: faster than anyone
    /// reads.
    pub const MIN_INTERVAL_MS: f64 = 100.0;
    /// The most time between two refreshes, in ms: the views never look
    /// dead.
    pub const MAX_INTERVAL_MS: f64 = 1_000.0;
    /// The share of the page's time refreshes may take.
    pub const SHARE: f64 = 0.1;

    /// A pacer that has measured nothing yet.
    pub const fn new() -> Self {
        Self {
            cost_ms: 0.0,
            last_ms: None,
        }
    }

    /// The time to wait between two refreshes now.
    pub fn interval_ms(&self) -> f64 {
        (self.cost_ms / Self::SHARE).clamp(Self::MIN_INTERVAL_MS, Self::MAX_INTERVAL_MS)
    }

    /// Whether a refresh may run at `now_ms`.
    pub fn is_due(&self, now_ms: f64) -> bool {
        self.wait_ms(now_ms) <= 0.0
    }

    /// How long from `now_ms` until a refresh may run (0 when it may now).
    pub fn wait_ms(&self, now_ms: f64) -> f64 {
        self.last_ms
            .map_or(0.0, |last| (last + self.interval_ms() - now_ms).max(0.0))
    }

    /// A refresh ran at `now_ms`.
    pub fn started(&mut self, now_ms: f64) {
        self.last_ms = Some(now_ms);
    }

    /// The refresh that started last took `cost_ms`. One slow refresh
    /// counts, but does not alone set the pace: the average moves a quarter
    /// of the way to it. Nonsense (negative, not a number) is ignored.
    pub fn record(&mut self, cost_ms: f64) {
        if cost_ms.is_finite() && cost_ms >= 0.0 {
            self.cost_ms += (cost_ms - self.cost_ms) / 4.0;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_refresh_is_due_at_once_and_the_next_after_the_least_interval() {
        let mut pacer = RefreshPacer::new();
        assert!(pacer.is_due(0.0));
        pacer.started(1_000.0);
        pacer.record(2.0);
        assert!(!pacer.is_due(1_099.0));
        assert_eq!(pacer.wait_ms(1_040.0), 60.0);
        assert!(pacer.is_due(1_100.0));
        assert_eq!(pacer.wait_ms(1_300.0), 0.0);
    }

    #[test]
    fn costly_refreshes_are_spaced_to_a_tenth_of_the_time() {
        let mut pacer = RefreshPacer::new();
        for _ in 0..50 {
            pacer.record(30.0);
        }
        assert!(
            (pacer.interval_ms() - 300.0).abs() < 1.0,
            "{}",
            pacer.interval_ms()
        );
        for _ in 0..50 {
            pacer.record(500.0);
        }
        assert_eq!(pacer.interval_ms(), RefreshPacer::MAX_INTERVAL_MS);
        // Cheap again: back to the least interval.
        for _ in 0..50 {
            pacer.record(1.0);
        }
        assert_eq!(pacer.interval_ms(), RefreshPacer::MIN_INTERVAL_MS);
    }

    #[test]
    fn one_slow_refresh_does_not_set_the_pace_alone() {
        let mut pacer = RefreshPacer::new();
        pacer.record(5.0);
        pacer.record(80.0);
        assert!(pacer.interval_ms() < 300.0, "{}", pacer.interval_ms());
    }

    #[test]
    fn nonsense_costs_are_ignored() {
        let mut pacer = RefreshPacer::new();
        pacer.record(f64::NAN);
        pacer.record(-3.0);
        pacer.record(f64::INFINITY);
        assert_eq!(pacer.interval_ms(), RefreshPacer::MIN_INTERVAL_MS);
    }
}
