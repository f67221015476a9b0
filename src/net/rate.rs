//! Download speed over the last few seconds, for "8.4 MB/s · 10 s left". Pure.

use std::collections::VecDeque;

/// Bytes per second over a sliding window of `(time, cumulative bytes)` samples.
#[derive(Debug, Clone)]
pub struct RateMeter {
    window_ms: f64,
    samples: VecDeque<(f64, u64)>,
}

/// Speeds measured over less than this are too noisy to show.
const MIN_SPAN_MS: f64 = 400.0;

impl RateMeter {
    pub fn new(window_ms: f64) -> Self {
        Self { window_ms, samples: VecDeque::new() }
    }

    /// Records that `bytes` have arrived in total by `t_ms`.
    pub fn record(&mut self, t_ms: f64, bytes: u64) {
        if let Some(&(t, _)) = self.samples.back() {
            if t_ms < t {
                self.samples.clear(); // the clock went back: start over
            }
        }
        self.samples.push_back((t_ms, bytes));
        // Keep one sample at or before the window's start, so the span covers the window.
        while self.samples.len() > 2 && self.samples.get(1).is_some_and(|&(t, _)| t_ms - t >= self.window_ms) {
            self.samples.pop_front();
        }
    }

    /// Forgets the samples (after a pause, e.g. a retry's back-off, the old speed says nothing).
    pub fn reset(&mut self) {
        self.samples.clear();
    }

    /// Bytes per second, once the samples span long enough to mean something.
    pub fn rate(&self) -> Option<f64> {
        let (&(t0, b0), &(t1, b1)) = (self.samples.front()?, self.samples.back()?);
        let span = t1 - t0;
        (span >= MIN_SPAN_MS).then(|| b1.saturating_sub(b0) as f64 * 1000.0 / span)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rate_follows_the_recent_window() {
        let mut m = RateMeter::new(3000.0);
        assert_eq!(m.rate(), None);
        m.record(0.0, 0);
        m.record(200.0, 400_000);
        assert_eq!(m.rate(), None, "too short to tell");
        for k in 2..=20u64 {
            m.record(k as f64 * 200.0, k * 400_000); // 2 MB/s
        }
        assert!((m.rate().unwrap() - 2e6).abs() < 1.0);
        // The speed drops to 1 MB/s; after a window only the new speed counts.
        let (t0, b0) = (4000.0, 20 * 400_000u64);
        for k in 1..=20u64 {
            m.record(t0 + k as f64 * 200.0, b0 + k * 200_000);
        }
        assert!((m.rate().unwrap() - 1e6).abs() < 1.0, "{:?}", m.rate());
        m.reset();
        assert_eq!(m.rate(), None);
        m.record(10.0, 5);
        m.record(5.0, 6);
        assert_eq!(m.rate(), None, "a clock going back starts over");
    }
}
