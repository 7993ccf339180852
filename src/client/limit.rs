//! The adaptive concurrency limit: pure arithmetic, no clock and no I/O.

/// An additive-increase, multiplicative-decrease limit on requests in flight, kept under a
/// ceiling (the plan's `max_in_flight`).
///
/// It grows by one per round trip while saturated (`1/limit` for each request that completes
/// while every slot is taken, as TCP's congestion avoidance does), falls by a quarter on each
/// overload, never below 1, never rises above the ceiling, and goes back to where it started
/// when the sidecar cannot be reached (a sidecar that comes back is cold).
///
/// ```
/// use sidecar_tuner::client::AdaptiveLimit;
///
/// let mut limit = AdaptiveLimit::new(4, 10);
/// for _ in 0..4 {
///     limit.on_saturated_rtt(); // four completions at limit 4: one round trip
/// }
/// assert_eq!(limit.current(), 5);
/// limit.on_overload();
/// assert_eq!(limit.current(), 3); // floor(0.75 x 5)
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AdaptiveLimit {
    limit: usize,
    initial: usize,
    /// Saturated completions since the limit last moved; `limit` of them make a round trip.
    /// Counting them in integers keeps the growth exact (no float drift).
    completions: usize,
    ceiling: usize,
    fixed: bool,
}

impl AdaptiveLimit {
    /// A limit starting at `initial`, clamped to `1..=ceiling` (a ceiling of 0 is taken as 1).
    pub fn new(initial: usize, ceiling: usize) -> Self {
        let ceiling = ceiling.max(1);
        let initial = initial.clamp(1, ceiling);
        Self {
            limit: initial,
            initial,
            completions: 0,
            ceiling,
            fixed: false,
        }
    }

    /// A limit pinned at `ceiling`: neither completions nor overloads move it.
    pub fn fixed(ceiling: usize) -> Self {
        Self {
            fixed: true,
            ..Self::new(ceiling, ceiling)
        }
    }

    /// The number of requests admitted at once now.
    pub fn current(&self) -> usize {
        self.limit
    }

    /// The ceiling the limit never exceeds.
    pub fn ceiling(&self) -> usize {
        self.ceiling
    }

    /// A request completed while every slot was taken: add `1/limit`, up to the ceiling.
    pub fn on_saturated_rtt(&mut self) {
        if self.fixed || self.limit == self.ceiling {
            return;
        }
        self.completions += 1;
        if self.completions >= self.limit {
            self.limit += 1;
            self.completions = 0;
        }
    }

    /// The sidecar answered `503` with `x-envoy-overloaded`: cut the limit by a quarter, never
    /// below 1.
    pub fn on_overload(&mut self) {
        if !self.fixed {
            // floor(3x/4) without overflow.
            self.limit = (self.limit - self.limit.div_ceil(4)).max(1);
            self.completions = 0;
        }
    }

    /// The sidecar refused or dropped a connection: it may be restarting, and when it is back
    /// its pools are cold, so every request waiting for an upstream connection counts as
    /// pending. Go back to the initial limit if above it (TCP restarts from its initial window
    /// after a loss timeout).
    pub fn on_unreachable(&mut self) {
        if !self.fixed {
            self.limit = self.limit.min(self.initial);
            self.completions = 0;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn round_trips(limit: &mut AdaptiveLimit, n: usize) {
        for _ in 0..n {
            for _ in 0..limit.current() {
                limit.on_saturated_rtt();
            }
        }
    }

    #[test]
    fn starts_at_the_initial_value_within_bounds() {
        assert_eq!(AdaptiveLimit::new(10, 104).current(), 10);
        assert_eq!(AdaptiveLimit::new(0, 104).current(), 1);
        assert_eq!(AdaptiveLimit::new(500, 104).current(), 104);
        assert_eq!(AdaptiveLimit::new(3, 0).current(), 1);
    }

    #[test]
    fn grows_by_one_per_saturated_round_trip() {
        let mut limit = AdaptiveLimit::new(10, 104);
        for _ in 0..9 {
            limit.on_saturated_rtt();
        }
        assert_eq!(
            limit.current(),
            10,
            "nine of ten completions are not yet a round trip"
        );
        limit.on_saturated_rtt();
        assert_eq!(limit.current(), 11);
        round_trips(&mut limit, 5);
        assert_eq!(limit.current(), 16);
    }

    #[test]
    fn an_unreachable_sidecar_restarts_the_limit_from_its_initial_value() {
        let mut limit = AdaptiveLimit::new(4, 9);
        round_trips(&mut limit, 3);
        assert_eq!(limit.current(), 7);
        limit.on_unreachable();
        assert_eq!(limit.current(), 4);
        limit.on_overload();
        limit.on_unreachable();
        assert_eq!(limit.current(), 3, "never raised by it");
        let mut fixed = AdaptiveLimit::fixed(9);
        fixed.on_unreachable();
        assert_eq!(fixed.current(), 9);
    }

    #[test]
    fn never_exceeds_the_ceiling() {
        let mut limit = AdaptiveLimit::new(1, 9);
        round_trips(&mut limit, 100);
        assert_eq!(limit.current(), 9);
    }

    #[test]
    fn overload_cuts_a_quarter_and_never_below_one() {
        let mut limit = AdaptiveLimit::new(100, 104);
        limit.on_overload();
        assert_eq!(limit.current(), 75);
        limit.on_overload();
        assert_eq!(limit.current(), 56);
        for _ in 0..50 {
            limit.on_overload();
        }
        assert_eq!(limit.current(), 1);
        limit.on_saturated_rtt();
        assert_eq!(
            limit.current(),
            2,
            "from 1, one completion is a whole round trip"
        );
    }

    #[test]
    fn a_fixed_limit_stays_at_the_ceiling() {
        let mut limit = AdaptiveLimit::fixed(9);
        limit.on_overload();
        round_trips(&mut limit, 3);
        assert_eq!(limit.current(), 9);
        assert_eq!(limit.ceiling(), 9);
    }
}
