//! How many changed tiles a page refreshes in one animation frame.
//!
//! A flood must never freeze the page, so tiles are refreshed a batch per
//! frame, the longest-waiting first. A fixed batch is either too small for
//! a steady stream (1 000 plugs reporting ten times a second change 10 000
//! tiles a second; 60 a frame shows each plug's reading 3.6 times a second)
//! or too large when every change rebuilds more of a tile, or on a slow
//! machine, where it takes the time the page needs to read its input.
//! [`FramePacer`] gives the refresh a time budget per frame instead
//! ([`RENDER_BUDGET_MS`]): it learns what one tile costs from what each
//! batch took, and sizes the next batch to fit.

/// Time per animation frame for refreshing tiles, ms. A 60 Hz frame is
/// 16.7 ms; the page's input (the WebSocket) gets 8 ms slices of its own.
pub const RENDER_BUDGET_MS: f64 = 6.0;

/// Sizes the batch of tiles refreshed per animation frame.
#[derive(Debug, Clone, PartialEq)]
pub struct FramePacer {
    /// Learned cost of refreshing one tile, ms (smoothed).
    per_tile_ms: Option<f64>,
}

impl FramePacer {
    /// The smallest batch: what a frame refreshes however slow the page.
    pub const MIN: usize = 30;
    /// The batch before anything was learned.
    pub const FIRST: usize = 60;
    /// The largest batch.
    pub const MAX: usize = 2_000;

    /// A pacer that has learned nothing yet.
    pub fn new() -> Self {
        Self { per_tile_ms: None }
    }

    /// How many tiles the next frame refreshes.
    pub fn batch(&self) -> usize {
        match self.per_tile_ms {
            None => Self::FIRST,
            Some(ms) if ms <= 0.0 => Self::MAX,
            Some(ms) => ((RENDER_BUDGET_MS / ms) as usize).clamp(Self::MIN, Self::MAX),
        }
    }

    /// A batch of `tiles` took `cost_ms` to refresh (the page's measure,
    /// which timer jitter can make 0). Small batches say little about the
    /// cost per tile and are skipped.
    pub fn record(&mut self, tiles: usize, cost_ms: f64) {
        if tiles < 10 || !cost_ms.is_finite() || cost_ms < 0.0 {
            return;
        }
        let sample = cost_ms / tiles as f64;
        // A quick retreat (a costly batch counts at once), a slower advance.
        self.per_tile_ms = Some(match self.per_tile_ms {
            None => sample,
            Some(old) if sample > old => sample,
            Some(old) => old * 0.7 + sample * 0.3,
        });
    }
}

impl Default for FramePacer {
    fn default() -> Self {
        Self::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Frames of a page whose tiles cost `per_tile` ms each, timer ticks
    /// of `tick` ms: the batches it gets.
    fn run(per_tile: f64, tick: f64, frames: usize) -> Vec<usize> {
        let mut pacer = FramePacer::new();
        (0..frames)
            .map(|_| {
                let n = pacer.batch();
                let cost = (n as f64 * per_tile / tick).floor() * tick;
                pacer.record(n, cost);
                n
            })
            .collect()
    }

    #[test]
    fn the_batch_fills_the_budget_whatever_a_tile_costs() {
        for per_tile in [0.01, 0.05, 0.1, 0.5] {
            let batches = run(per_tile, 0.1, 50);
            let last = *batches.last().unwrap();
            let cost = last as f64 * per_tile;
            assert!(
                cost <= RENDER_BUDGET_MS * 1.05 || last == FramePacer::MIN,
                "{per_tile} ms a tile: {batches:?}"
            );
            assert!(
                cost >= RENDER_BUDGET_MS * 0.7 || last == FramePacer::MAX,
                "{per_tile} ms a tile: {batches:?}"
            );
        }
    }

    #[test]
    fn bounds_hold_for_free_and_for_costly_tiles() {
        // A coarse clock says a cheap batch took nothing.
        assert_eq!(*run(0.001, 1.0, 20).last().unwrap(), FramePacer::MAX);
        assert_eq!(*run(5.0, 0.1, 20).last().unwrap(), FramePacer::MIN);
        assert_eq!(FramePacer::new().batch(), FramePacer::FIRST);
    }

    #[test]
    fn a_costly_batch_shrinks_the_next_at_once() {
        let mut pacer = FramePacer::new();
        for _ in 0..20 {
            pacer.record(600, 6.0);
        }
        assert_eq!(pacer.batch(), 600);
        // Every tile suddenly rebuilt: ten times the cost.
        pacer.record(600, 60.0);
        assert_eq!(pacer.batch(), 60);
        // Tiny or nonsense measures change nothing.
        pacer.record(3, 100.0);
        pacer.record(100, f64::NAN);
        assert_eq!(pacer.batch(), 60);
    }
}
