//! The adaptive concurrency limit: pure arithmetic, no clock and no I/O.

/// An additive-increase, multiplicative-decrease limit on requests in flight, kept under a
/// ceiling (the plan's `max_in_flight`).
///
/// It starts at its initial value, the plan's `floor(h·P)`: on a cold sidecar every request
/// waits for a new upstream connection and counts as pending, and P pending requests are what
/// the sidecar admits. It grows while saturated by `min(initial, limit)` per round trip (a
/// round trip is `limit` requests completed while every slot was taken), falls by a quarter on
/// each overload, never below 1, never rises above the ceiling, and goes back to where it
/// started when the sidecar cannot be reached (a sidecar that comes back is cold).
///
/// Why the growth cannot overflow the pending queue: a round trip in which `limit` requests were
/// in flight together and answered leaves the sidecar with at least that many upstream
/// connections (toward HTTP/1.1 each request in flight holds one, and Envoy opens a connection
/// for each pending request while under `maxConnections`). The next round reuses them without
/// queueing; only the requests beyond them wait for new connections, and there are at most
/// `initial <= floor(h·P) < P + 1` of those. Above `maxConnections` the ceiling
/// `floor(h·min(N + P, R))` keeps the queue within P. After an overload the growth is at most
/// the limit itself per round trip (doubling, as TCP's slow start), since what the sidecar
/// still holds for this client is only known up to the limit.
///
/// ```
/// use sidecar_tuner::client::AdaptiveLimit;
///
/// let mut limit = AdaptiveLimit::new(4, 20);
/// for _ in 0..4 {
///     limit.on_saturated_rtt(); // four completions at limit 4: one round trip
/// }
/// assert_eq!(limit.current(), 8); // 4 + min(4, 4)
/// limit.on_overload();
/// assert_eq!(limit.current(), 6); // floor(0.75 x 8)
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

    /// A request completed while every slot was taken; the `limit`-th such completion makes a
    /// round trip, which adds `min(initial, limit)`, up to the ceiling.
    pub fn on_saturated_rtt(&mut self) {
        if self.fixed || self.limit == self.ceiling {
            return;
        }
        self.completions += 1;
        if self.completions >= self.limit {
            let step = self.initial.min(self.limit);
            self.limit = (self.limit + step).min(self.ceiling);
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

    /// The reviews rule (N 100, P 10, R 1000, h 0.95): start floor(0.95 x 10) = 9, ceiling
    /// floor(0.95 x 110) = 104; each round trip adds 9: 18, 27, ..., 99, then the ceiling.
    #[test]
    fn grows_by_its_initial_value_per_saturated_round_trip() {
        let mut limit = AdaptiveLimit::new(9, 104);
        for _ in 0..8 {
            limit.on_saturated_rtt();
        }
        assert_eq!(
            limit.current(),
            9,
            "eight of nine completions are not yet a round trip"
        );
        limit.on_saturated_rtt();
        assert_eq!(limit.current(), 18);
        round_trips(&mut limit, 9);
        assert_eq!(limit.current(), 99);
        round_trips(&mut limit, 1);
        assert_eq!(limit.current(), 104, "clamped to the ceiling");
    }

    /// The 20 / 5 rule: start floor(0.95 x 5) = 4, ceiling floor(0.95 x 25) = 23, reached in 5
    /// round trips (4, 8, 12, 16, 20, 23) where growth by one took 19.
    #[test]
    fn reaches_the_ceiling_in_a_few_round_trips() {
        let mut limit = AdaptiveLimit::new(4, 23);
        let mut seen = vec![limit.current()];
        while limit.current() < 23 {
            round_trips(&mut limit, 1);
            seen.push(limit.current());
        }
        assert_eq!(seen, [4, 8, 12, 16, 20, 23]);
    }

    #[test]
    fn an_unreachable_sidecar_restarts_the_limit_from_its_initial_value() {
        let mut limit = AdaptiveLimit::new(4, 9);
        round_trips(&mut limit, 1);
        assert_eq!(limit.current(), 8);
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
            "from 1, one completion is a whole round trip, and it doubles at most"
        );
        round_trips(&mut limit, 3);
        assert_eq!(
            limit.current(),
            16,
            "2, 4, 8, 16: at most doubling after an overload"
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
