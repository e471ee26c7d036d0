//! How many changed tiles a page refreshes in one animation frame.
//!
//! A flood must never freeze the page, so tiles are refreshed a batch per
//! frame, the longest-waiting first. A fixed batch is either too small for
//! a steady stream (1 000 plugs reporting ten times a second change 10 000
//! tiles a second; 60 a frame shows each plug's reading 3.6 times a second)
//! or too large for a slow machine. [`FramePacer`] adapts it from the one
//! signal a page has, the interval between two frames that both refreshed
//! tiles: while frames keep their pace the batch grows by a quarter, and
//! when one runs long it shrinks by a third (additive-increase would take
//! seconds to reach a thousand; a quick retreat keeps a slow frame single).

/// Frames closer together than this kept their pace (a 60 Hz frame is
/// 16.7 ms; one missed vsync makes 33 ms).
pub const FRAME_KEPT_MS: f64 = 21.0;

/// Adapts the number of tiles refreshed per animation frame.
#[derive(Debug, Clone, PartialEq)]
pub struct FramePacer {
    batch: usize,
    /// When the last frame that refreshed tiles began, ms.
    last: Option<f64>,
}

impl FramePacer {
    /// The smallest batch: what a frame refreshes however slow the page.
    pub const MIN: usize = 60;
    /// The largest batch.
    pub const MAX: usize = 2_000;

    /// A pacer starting at [`Self::MIN`].
    pub fn new() -> Self {
        Self {
            batch: Self::MIN,
            last: None,
        }
    }

    /// The batch for a frame beginning at `now_ms` that has tiles waiting.
    /// `continued`: the previous frame refreshed tiles too and left some
    /// waiting, so the interval between the two measures this work.
    pub fn next(&mut self, now_ms: f64, continued: bool) -> usize {
        if let (true, Some(last)) = (continued, self.last) {
            let interval = now_ms - last;
            if interval <= FRAME_KEPT_MS {
                self.batch = (self.batch + self.batch / 4 + 1).min(Self::MAX);
            } else {
                self.batch = (self.batch * 2 / 3).max(Self::MIN);
            }
        }
        self.last = Some(now_ms);
        self.batch
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

    #[test]
    fn starts_small_and_grows_while_frames_keep_their_pace() {
        let mut pacer = FramePacer::new();
        assert_eq!(pacer.next(0.0, false), FramePacer::MIN);
        let mut sizes = Vec::new();
        for frame in 1..=30 {
            sizes.push(pacer.next(frame as f64 * 16.7, true));
        }
        assert!(sizes.windows(2).all(|w| w[1] >= w[0]), "{sizes:?}");
        assert_eq!(sizes.last(), Some(&FramePacer::MAX), "{sizes:?}");
    }

    #[test]
    fn a_long_frame_shrinks_the_batch_but_not_below_the_minimum() {
        let mut pacer = FramePacer::new();
        let mut t = 0.0;
        pacer.next(t, false);
        for _ in 0..10 {
            t += 16.7;
            pacer.next(t, true);
        }
        let grown = pacer.next(t + 16.7, true);
        t += 16.7;
        let shrunk = pacer.next(t + 40.0, true);
        assert_eq!(shrunk, grown * 2 / 3);
        t += 40.0;
        for _ in 0..20 {
            t += 50.0;
            assert!(pacer.next(t, true) >= FramePacer::MIN);
        }
        assert_eq!(pacer.next(t + 50.0, true), FramePacer::MIN);
    }

    #[test]
    fn a_frame_after_a_pause_keeps_the_batch() {
        let mut pacer = FramePacer::new();
        pacer.next(0.0, false);
        let grown = pacer.next(16.7, true);
        assert!(grown > FramePacer::MIN);
        // Seconds without changes, then a frame with some: the gap says
        // nothing about the cost of a batch.
        assert_eq!(pacer.next(5_000.0, false), grown);
        assert_eq!(pacer.next(5_016.7, true), grown + grown / 4 + 1);
    }
}
