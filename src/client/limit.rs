//! The adaptive concurrency limit: pure arithmetic, no clock and no I/O.

/// The limit on requests in flight, kept under a ceiling (the plan's `max_in_flight`).
///
/// It starts at `initial` (the plan's `floor(h·P)`, P being the sidecar's pending queue) and,
/// while every slot is busy, grows once per round trip: by its slow-start step until the first
/// overload (the plan's `ceil(P/2)`, half the queue rounded up; half of `initial`, rounded up,
/// without one), by one after it. It falls by a quarter on each
/// overload, never below 1, never rises above the ceiling, and goes back to where it started,
/// in slow start, when the sidecar cannot be reached (a sidecar that comes back is cold).
///
/// # Why the growth cannot overflow the sidecar's pending queue
///
/// The model (Envoy's HTTP/1.1 pool): a request that finds an open upstream connection free is
/// sent at once; one that does not waits as *pending* while a connection opens (or, at
/// `maxConnections` N, until one frees), and the sidecar refuses a request when P are pending.
/// Upstream connections stay open after their request (for the pool's idle timeout).
///
/// The requests admitted into the slots an increase adds are its *probes* ([`on_admit`] says
/// which). The limit grows only after a round trip at the current limit (`limit` completions
/// while every slot was busy, [`on_saturated_rtt`]) **and** once every probe of the last
/// increase has been answered ([`on_probe_done`]), however long its upstream connect took. So
/// when the limit rises from L to L + s, the sidecar has just served L requests at once and
/// holds connections for them: at most the s probes can find none and wait. The start is the
/// first increase, from 0, with s = `initial` = `floor(h·P)` <= P; later steps are at most
/// `ceil(P/2)`, and above N the ceiling `floor(h·(N + P))` leaves at most P waiting for a
/// connection to free.
///
/// Why half, when the model allows the whole queue per step: what the model leaves out takes
/// the other half. (Half of P, not of the start: the headroom h sized the start and the
/// ceiling, the client's share; the step is the model's margin, and taking h off it as well
/// made the step 2 instead of 3 for P = 5.) Envoy's pools are per
/// worker thread while its breakers are shared, so a request on a downstream connection whose
/// worker has no free upstream connection waits even when the other worker has one; and a
/// pool such as hyper's opens a connection to the sidecar whenever none is idle at the instant
/// of a send, so a client holds a few connections beyond its limit, each a request that may
/// land on such a worker. Measured against a real Envoy
/// (100 connections, 10 pending, 200 callers, 1 ms upstream, README), steps of the whole
/// `floor(h·P)` made Envoy count an overflow in 3 of 18 runs; half of it rounded down (4) in
/// none of 45; rounded up (5) in none of 175 at 64 and 200 callers, 25 of them beside two busy
/// loops, nor in 86 on a subset with 40 connections and 4 pending (a step of 2 where rounding
/// down gave 1). Half of P = 5 rather than of the start 4 (3 instead of 2; 20 connections,
/// 5 ms upstream, a fresh Envoy per run, 2026-12-01): none in 115 runs, 65 at 64 callers and
/// 50 at 200, nor in 20 of two processes planned for their share (`ceil(5/4)` = 2 each).
///
/// ```
/// use sidecar_tuner::client::AdaptiveLimit;
///
/// let mut limit = AdaptiveLimit::new(4, 10);
/// let probes: Vec<bool> = (0..4).map(|_| limit.on_admit()).collect();
/// assert_eq!(probes, [true; 4]); // a cold sidecar: every first request may wait
/// for _ in 0..4 {
///     limit.on_saturated_rtt(); // four completions at limit 4: one round trip
///     limit.on_probe_done();
/// }
/// assert_eq!(limit.current(), 6); // slow start: grows by half the initial 4
/// limit.on_overload();
/// assert_eq!(limit.current(), 4); // floor(0.75 x 6), and growth by one from now on
/// ```
///
/// [`on_admit`]: AdaptiveLimit::on_admit
/// [`on_saturated_rtt`]: AdaptiveLimit::on_saturated_rtt
/// [`on_probe_done`]: AdaptiveLimit::on_probe_done
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AdaptiveLimit {
    limit: usize,
    /// The start, where a refused or reset connection takes the limit back.
    initial: usize,
    /// The growth per round trip in slow start.
    step: usize,
    ceiling: usize,
    fixed: bool,
    /// No overload since the start or the last restart: grow by `step`, else by one.
    slow_start: bool,
    /// Saturated completions since the limit last moved; `limit` of them make a round trip.
    /// Counting them in integers keeps the growth exact (no float drift).
    completions: usize,
    /// Admissions still to be marked as probes of the last increase.
    probes_to_admit: usize,
    /// Probes admitted and not yet done; the limit does not grow until there are none.
    probes_out: usize,
}

impl AdaptiveLimit {
    /// A limit starting at `initial`, clamped to `1..=ceiling` (a ceiling of 0 is taken as 1).
    pub fn new(initial: usize, ceiling: usize) -> Self {
        let ceiling = ceiling.max(1);
        let initial = initial.clamp(1, ceiling);
        Self {
            limit: initial,
            initial,
            step: initial.div_ceil(2),
            ceiling,
            fixed: false,
            slow_start: true,
            completions: 0,
            probes_to_admit: initial,
            probes_out: 0,
        }
    }

    /// The limit with a growth per round trip in slow start of `step` (at least 1) instead of
    /// half the start: the plan's [`slow_start_step`](crate::ClientPlan::slow_start_step),
    /// half the sidecar's pending queue.
    ///
    /// ```
    /// use sidecar_tuner::client::AdaptiveLimit;
    ///
    /// let limit = AdaptiveLimit::new(4, 23).with_slow_start_step(3);
    /// assert_eq!(limit.current(), 4); // the start is unchanged; the steps are 3
    /// ```
    #[must_use]
    pub fn with_slow_start_step(mut self, step: usize) -> Self {
        self.step = step.max(1);
        self
    }

    /// A limit pinned at `ceiling`: nothing moves it, and no request is a probe.
    pub fn fixed(ceiling: usize) -> Self {
        Self {
            fixed: true,
            probes_to_admit: 0,
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

    /// Whether admissions are being marked as probes now (after an increase, until as many
    /// requests as it added slots are admitted).
    pub fn probing(&self) -> bool {
        self.probes_to_admit > 0
    }

    /// A request was admitted: `true` when it is a probe of the last increase, whose end the
    /// next increase waits for ([`on_probe_done`](Self::on_probe_done)).
    pub fn on_admit(&mut self) -> bool {
        if self.probes_to_admit == 0 {
            return false;
        }
        self.probes_to_admit -= 1;
        self.probes_out += 1;
        true
    }

    /// A probe ended, answered or not (a dropped request is no longer waiting in the sidecar).
    pub fn on_probe_done(&mut self) {
        self.probes_out = self.probes_out.saturating_sub(1);
        self.grow_after_round_trip();
    }

    /// A request completed while every slot was taken: a `limit`-th of a round trip.
    pub fn on_saturated_rtt(&mut self) {
        if self.fixed || self.limit == self.ceiling {
            return;
        }
        self.completions += 1;
        self.grow_after_round_trip();
    }

    fn grow_after_round_trip(&mut self) {
        let probes_answered = self.probes_to_admit == 0 && self.probes_out == 0;
        if self.fixed || self.completions < self.limit || !probes_answered {
            return;
        }
        let step = if self.slow_start { self.step } else { 1 };
        let before = self.limit;
        self.limit = (before + step).min(self.ceiling);
        self.completions = 0;
        self.probes_to_admit = self.limit - before;
    }

    /// The sidecar answered `503` with `x-envoy-overloaded`: cut the limit by a quarter, never
    /// below 1, and grow by one per round trip from now on.
    pub fn on_overload(&mut self) {
        if !self.fixed {
            // floor(3x/4) without overflow.
            self.limit = (self.limit - self.limit.div_ceil(4)).max(1);
            self.completions = 0;
            self.probes_to_admit = 0;
            self.slow_start = false;
        }
    }

    /// The sidecar refused or dropped a connection: it may be restarting, and when it is back
    /// its pools are cold, so every request waiting for an upstream connection counts as
    /// pending. Go back to the initial limit if above it, every request a probe, in slow start
    /// (TCP restarts from its initial window after a loss timeout).
    pub fn on_unreachable(&mut self) {
        if !self.fixed {
            self.limit = self.limit.min(self.initial);
            self.completions = 0;
            self.probes_to_admit = self.limit;
            self.slow_start = true;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// One round trip at the current limit: every slot admitted, then each completes while
    /// the others are busy.
    fn round_trip(limit: &mut AdaptiveLimit) {
        let probes: Vec<bool> = (0..limit.current()).map(|_| limit.on_admit()).collect();
        for probe in probes {
            limit.on_saturated_rtt();
            if probe {
                limit.on_probe_done();
            }
        }
    }

    fn round_trips(limit: &mut AdaptiveLimit, n: usize) -> Vec<usize> {
        (0..n)
            .map(|_| {
                round_trip(limit);
                limit.current()
            })
            .collect()
    }

    #[test]
    fn starts_at_the_initial_value_within_bounds() {
        assert_eq!(AdaptiveLimit::new(10, 104).current(), 10);
        assert_eq!(AdaptiveLimit::new(0, 104).current(), 1);
        assert_eq!(AdaptiveLimit::new(500, 104).current(), 104);
        assert_eq!(AdaptiveLimit::new(3, 0).current(), 1);
    }

    /// Without the plan's step. `maxConnections: 20`, `http1MaxPendingRequests: 5`: start
    /// floor(0.95 x 5) = 4, ceiling floor(0.95 x 25) = 23; 100 / 10: start floor(0.95 x 10) = 9,
    /// ceiling floor(0.95 x 110) = 104.
    #[test]
    fn slow_start_grows_by_half_the_initial_value_per_round_trip_up_to_the_ceiling() {
        let mut limit = AdaptiveLimit::new(4, 23);
        assert_eq!(
            round_trips(&mut limit, 11),
            [6, 8, 10, 12, 14, 16, 18, 20, 22, 23, 23]
        );
        // 9 + 5k (half of 9, rounded up): the ceiling 104 after 19 round trips.
        let mut limit = AdaptiveLimit::new(9, 104);
        let expected: Vec<usize> = (1..=19).map(|k| 9 + 5 * k).chain([104, 104]).collect();
        assert_eq!(round_trips(&mut limit, 21), expected);
        let mut limit = AdaptiveLimit::new(3, 28);
        assert_eq!(
            round_trips(&mut limit, 3),
            [5, 7, 9],
            "half of 3, rounded up, is 2"
        );
        let mut limit = AdaptiveLimit::new(1, 3);
        assert_eq!(
            round_trips(&mut limit, 3),
            [2, 3, 3],
            "a start of 1 grows by 1"
        );
    }

    /// The plan's step, half the pending queue rounded up: 20 / 5 grows from 4 by ceil(5 / 2)
    /// = 3, the ceiling 23 in 7 round trips (10 by half the start); after an overload by one,
    /// and a restart goes back to the start and the same step; a step of 0 is taken as 1.
    #[test]
    fn slow_start_grows_by_the_plans_step_when_it_has_one() {
        let mut limit = AdaptiveLimit::new(4, 23).with_slow_start_step(3);
        assert_eq!(round_trips(&mut limit, 8), [7, 10, 13, 16, 19, 22, 23, 23]);
        limit.on_overload();
        assert_eq!(limit.current(), 17, "floor(0.75 x 23)");
        assert_eq!(round_trips(&mut limit, 2), [18, 19]);
        limit.on_unreachable();
        assert_eq!(round_trips(&mut limit, 2), [7, 10]);
        let mut limit = AdaptiveLimit::new(2, 10).with_slow_start_step(0);
        assert_eq!(round_trips(&mut limit, 2), [3, 4]);
    }

    #[test]
    fn the_first_requests_of_a_cold_start_and_of_each_increase_are_probes() {
        let mut limit = AdaptiveLimit::new(4, 23);
        let first: Vec<bool> = (0..6).map(|_| limit.on_admit()).collect();
        assert_eq!(first, [true, true, true, true, false, false]);
        for _ in 0..6 {
            limit.on_saturated_rtt();
        }
        assert_eq!(limit.current(), 4, "four probes still out");
        for _ in 0..4 {
            limit.on_probe_done();
        }
        assert_eq!(limit.current(), 6);
        let next: Vec<bool> = (0..3).map(|_| limit.on_admit()).collect();
        assert_eq!(next, [true, true, false], "the 2 new slots");
    }

    /// A probe stuck behind a slow upstream connect holds growth back however many other
    /// requests complete meanwhile.
    #[test]
    fn growth_waits_for_every_probe_of_the_last_increase() {
        let mut limit = AdaptiveLimit::new(4, 23);
        assert!((0..4).all(|_| limit.on_admit()));
        for _ in 0..3 {
            limit.on_saturated_rtt();
            limit.on_probe_done();
        }
        for _ in 0..100 {
            assert!(!limit.on_admit());
            limit.on_saturated_rtt();
        }
        assert_eq!(limit.current(), 4);
        assert!(!limit.probing());
        limit.on_probe_done();
        assert_eq!(limit.current(), 6, "the last probe answered: one step");
        assert!(limit.probing());
    }

    #[test]
    fn after_an_overload_growth_is_one_per_round_trip() {
        let mut limit = AdaptiveLimit::new(4, 23);
        assert_eq!(round_trips(&mut limit, 2), [6, 8]);
        limit.on_overload();
        assert_eq!(limit.current(), 6);
        assert!(
            !limit.probing(),
            "an overload cancels the probes still to admit"
        );
        assert_eq!(round_trips(&mut limit, 3), [7, 8, 9]);
    }

    #[test]
    fn an_unreachable_sidecar_restarts_the_limit_in_slow_start() {
        let mut limit = AdaptiveLimit::new(4, 23);
        assert_eq!(round_trips(&mut limit, 2), [6, 8]);
        limit.on_overload();
        limit.on_unreachable();
        assert_eq!(limit.current(), 4);
        assert!(
            limit.probing(),
            "a cold sidecar: every request a probe again"
        );
        assert_eq!(round_trips(&mut limit, 2), [6, 8]);
        limit.on_overload(); // 6
        limit.on_overload(); // 4
        limit.on_overload(); // 3
        limit.on_unreachable();
        assert_eq!(limit.current(), 3, "never raised by it");
        let mut fixed = AdaptiveLimit::fixed(9);
        fixed.on_unreachable();
        assert_eq!(fixed.current(), 9);
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
    fn a_fixed_limit_stays_at_the_ceiling_and_has_no_probes() {
        let mut limit = AdaptiveLimit::fixed(9);
        assert!(!limit.on_admit());
        limit.on_overload();
        round_trips(&mut limit, 3);
        assert_eq!(limit.current(), 9);
        assert_eq!(limit.ceiling(), 9);
    }
}
