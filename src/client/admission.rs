//! Admission shared by [`AlignedClient`](super::AlignedClient) and
//! [`AlignLayer`](super::AlignLayer): the adaptive limit, the slots it admits, and
//! the retry of overloaded idempotent requests.

use std::future::Future;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use http::{HeaderMap, Method, StatusCode};
use tokio::sync::oneshot;

use super::limit::AdaptiveLimit;
use crate::error::Error;
use crate::plan::{ClientPlan, OVERLOAD_BACKOFF, OVERLOAD_RETRIES};

/// The header Envoy adds to a `503` it sends because a circuit breaker overflowed.
pub const OVERLOADED_HEADER: &str = "x-envoy-overloaded";

/// How admission behaves, beyond the numbers of the plan.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct AlignOptions {
    /// How long a request may wait for a slot before it fails with [`ErrorKind::Saturated`](crate::ErrorKind::Saturated).
    /// Default is 30 seconds.
    pub queue_timeout: Duration,
    /// How many times an idempotent request answered by an overloaded sidecar is sent again.
    /// Default is 2; never applies to POST or PATCH.
    pub overload_retries: u32,
    /// Pin the limit at the plan's ceiling instead of adapting it. Default is `false`.
    pub fixed_limit: bool,
}

impl Default for AlignOptions {
    fn default() -> Self {
        Self {
            queue_timeout: Duration::from_secs(30),
            overload_retries: OVERLOAD_RETRIES,
            fixed_limit: false,
        }
    }
}

impl AlignOptions {
    /// How long a request may wait for a slot.
    pub fn queue_timeout(mut self, timeout: Duration) -> Self {
        self.queue_timeout = timeout;
        self
    }

    /// How many times an idempotent request answered by an overloaded sidecar is sent again.
    pub fn overload_retries(mut self, retries: u32) -> Self {
        self.overload_retries = retries;
        self
    }

    /// Pin the limit at the plan's ceiling instead of adapting it.
    pub fn fixed_limit(mut self, fixed: bool) -> Self {
        self.fixed_limit = fixed;
        self
    }
}

/// Whether a response is the sidecar's overflow answer: `503` with `x-envoy-overloaded`.
pub fn is_overload(status: StatusCode, headers: &HeaderMap) -> bool {
    status == StatusCode::SERVICE_UNAVAILABLE && headers.contains_key(OVERLOADED_HEADER)
}

/// Whether a request may be sent again without changing the outcome (RFC 9110, 9.2.2).
pub fn is_idempotent(method: &Method) -> bool {
    matches!(
        *method,
        Method::GET | Method::HEAD | Method::OPTIONS | Method::TRACE | Method::PUT | Method::DELETE
    )
}

/// The pause before overload retry `attempt` (0-based): 25 ms doubled per attempt (at most
/// 1 s), with ±50% jitter so that clients overloaded together do not return together.
pub(crate) fn backoff(attempt: u32) -> Duration {
    let base = OVERLOAD_BACKOFF
        .saturating_mul(1 << attempt.min(6))
        .min(Duration::from_secs(1));
    base.mul_f64(0.5 + fastrand::f64())
}

/// A response that can tell whether it is the sidecar's overflow answer.
pub(crate) trait OverloadSignal {
    fn is_overload(&self) -> bool;
}

impl OverloadSignal for reqwest::Response {
    fn is_overload(&self) -> bool {
        is_overload(self.status(), self.headers())
    }
}

impl<B> OverloadSignal for http::Response<B> {
    fn is_overload(&self) -> bool {
        is_overload(self.status(), self.headers())
    }
}

/// The counters and options of an admission, as methods of a type with an `admission` field:
/// one definition for [`AlignedClient`](super::AlignedClient) and
/// [`AlignLayer`](super::AlignLayer).
macro_rules! counters {
    () => {
        /// The current limit on requests in flight; `None` when the plan is unbounded.
        pub fn limit(&self) -> Option<usize> {
            self.admission.limit()
        }

        /// Requests holding a slot now: sent, or with a response body not yet read or dropped.
        pub fn in_flight(&self) -> usize {
            self.admission.in_flight()
        }

        /// Requests waiting for a slot now.
        pub fn queued(&self) -> usize {
            self.admission.queued()
        }

        /// Overload answers (`503` + `x-envoy-overloaded`) received so far, retried or not.
        pub fn overloaded_responses(&self) -> u64 {
            self.admission.overloaded_responses()
        }

        /// The admission options.
        pub fn options(&self) -> &$crate::client::AlignOptions {
            self.admission.options()
        }
    };
}
pub(crate) use counters;

/// The error of one attempt, as the client that sent it reports it. Converted where the attempt
/// is judged (`Permit::answer`) rather than by a `map_err` around each attempt's future,
/// which moved every response through one more layer (99 instructions per request).
pub(crate) trait AttemptError {
    fn into_error(self) -> Error;
}

impl AttemptError for Error {
    fn into_error(self) -> Error {
        self
    }
}

/// How a client sends one attempt of a request and copies a request for a retry: what admission
/// needs of reqwest ([`AlignedClient`](super::AlignedClient)) and of a tower service
/// ([`AlignLayer`](super::AlignLayer)).
pub(crate) trait Transport<Req> {
    /// The answer to one attempt.
    type Response: OverloadSignal;
    /// The failure of one attempt.
    type Error: AttemptError;

    /// Sends one attempt. The future borrows nothing from the transport: a first attempt is
    /// sent before the transport moves into the future that awaits it.
    fn send(
        &mut self,
        request: Req,
    ) -> impl Future<Output = Result<Self::Response, Self::Error>> + use<Self, Req>;

    /// A copy of `request`, made before it is sent, for the retry after it; `None`: it cannot
    /// be copied, so it is not retried.
    fn copy(&self, request: &Req) -> Option<Req>;
}

/// How a request is sent again after an overload answer.
pub(crate) struct Resend<T> {
    /// Retries after the first attempt, at most ([`Admission::retries`]).
    pub(crate) retries: u32,
    /// Sends each attempt.
    pub(crate) transport: T,
}

impl<T> Resend<T> {
    /// The copy of `request` that attempt `attempt` (0: the first) keeps for the retry after
    /// it: made only while a retry may follow.
    fn copy_after<Req>(&self, attempt: u32, request: &Req) -> Option<Req>
    where
        T: Transport<Req>,
    {
        if attempt < self.retries {
            self.transport.copy(request)
        } else {
            None
        }
    }
}

/// The admission state of one client or layer; clones share it.
#[derive(Clone, Debug)]
pub(crate) struct Admission {
    shared: Arc<Shared>,
}

#[derive(Debug)]
struct Shared {
    /// `None` when the plan is unbounded: requests are counted but never wait.
    gate: Option<Gate>,
    /// Slots held. Under a gate, taken only by compare-and-swap below `Gate::limit_now`.
    in_flight: AtomicUsize,
    queued: AtomicUsize,
    overloaded: AtomicU64,
    options: AlignOptions,
}

/// The limit, and the queue of requests waiting for a slot.
///
/// A request is admitted while `in_flight < limit_now`, so a cut needs no slot revoked: the
/// requests above the new limit finish, and none is admitted until `in_flight` is below it.
/// The common path (admit, release, nobody waiting) touches only atomics. Waiters queue in
/// order and a freed slot is handed to the first of them, so none starves behind newcomers.
#[derive(Debug)]
struct Gate {
    limit: Mutex<AdaptiveLimit>,
    /// The limit's ceiling: below it, a request that takes the last free slot is timed.
    ceiling: usize,
    /// A copy of `limit.current()`, written under the lock.
    limit_now: AtomicUsize,
    /// A copy of `limit.probing()`, written under the lock before `limit_now`, so that an
    /// admission that sees a raised limit also sees that it may be a probe.
    probing: AtomicBool,
    /// Requests waiting, first first; a send hands its request a slot already counted.
    waiters: Mutex<std::collections::VecDeque<oneshot::Sender<()>>>,
}

impl Admission {
    /// Admission for a plan: the adaptive limit under `max_in_flight`, or none when unbounded.
    pub(crate) fn new(plan: &ClientPlan, options: AlignOptions) -> Self {
        let gate = plan.max_in_flight.map(|ceiling| {
            let limit = if options.fixed_limit {
                AdaptiveLimit::fixed(ceiling)
            } else {
                let limit = AdaptiveLimit::new(plan.initial_in_flight.unwrap_or(ceiling), ceiling);
                match plan.slow_start_step {
                    Some(step) => limit.with_slow_start_step(step),
                    None => limit,
                }
            };
            Gate {
                ceiling: limit.ceiling(),
                limit_now: AtomicUsize::new(limit.current()),
                probing: AtomicBool::new(limit.probing()),
                limit: Mutex::new(limit),
                waiters: Mutex::default(),
            }
        });
        Self {
            shared: Arc::new(Shared {
                gate,
                in_flight: AtomicUsize::new(0),
                queued: AtomicUsize::new(0),
                overloaded: AtomicU64::new(0),
                options,
            }),
        }
    }

    pub(crate) fn options(&self) -> &AlignOptions {
        &self.shared.options
    }

    /// The current limit; `None` when the plan is unbounded.
    pub(crate) fn limit(&self) -> Option<usize> {
        let gate = self.shared.gate.as_ref()?;
        Some(gate.limit_now.load(Ordering::Relaxed))
    }

    pub(crate) fn in_flight(&self) -> usize {
        self.shared.in_flight.load(Ordering::Relaxed)
    }

    pub(crate) fn queued(&self) -> usize {
        self.shared.queued.load(Ordering::Relaxed)
    }

    pub(crate) fn overloaded_responses(&self) -> u64 {
        self.shared.overloaded.load(Ordering::Relaxed)
    }

    /// Waits for a slot, at most `queue_timeout`.
    ///
    /// # Errors
    /// [`ErrorKind::Saturated`](crate::ErrorKind::Saturated) when no slot frees up in time.
    pub(crate) async fn acquire(&self) -> Result<Permit, Error> {
        if let Err(gate) = self.admit_now() {
            // Boxed: waiting is the rare path, and its timer would make every request's future
            // larger (a future is copied whenever an outer one moves it).
            Box::pin(self.wait(gate)).await?;
        }
        Ok(Permit::new(Arc::clone(&self.shared)))
    }

    /// A slot now, if nobody waits and one is free (or the plan is unbounded); else the
    /// admission back. The permit takes over this handle on the shared state, so a request
    /// sent at once counts one reference to it, not two.
    pub(crate) fn try_acquire(self) -> Result<Permit, Self> {
        match self.admit_now() {
            Ok(()) => Ok(Permit::new(self.shared)),
            Err(_) => Err(self),
        }
    }

    /// Takes a slot if nobody waits and one is free, or counts the request when the plan is
    /// unbounded: the common path, two atomic operations. Otherwise the gate to wait at.
    fn admit_now(&self) -> Result<(), &Gate> {
        let shared = &self.shared;
        match &shared.gate {
            None => {
                shared.in_flight.fetch_add(1, Ordering::Relaxed);
                Ok(())
            }
            Some(gate) if shared.queued.load(Ordering::SeqCst) == 0 && shared.try_admit(gate) => {
                Ok(())
            }
            Some(gate) => Err(gate),
        }
    }

    async fn wait(&self, gate: &Gate) -> Result<(), Error> {
        let shared = &*self.shared;
        let mut handed = {
            let mut waiters = lock(&gate.waiters);
            shared.queued.fetch_add(1, Ordering::SeqCst);
            // Counted under the lock: a release that misses this count finds the slot free
            // below; one that sees it hands a slot over once the lock is free.
            if waiters.is_empty() && shared.try_admit(gate) {
                shared.queued.fetch_sub(1, Ordering::SeqCst);
                return Ok(());
            }
            let (slot, rx) = oneshot::channel();
            waiters.push_back(slot);
            Handover {
                rx,
                shared,
                gate,
                taken: false,
            }
        };
        // Counts down however the wait ends: slot, timeout, or the caller dropping the future.
        let _queued = DecrementOnDrop(&shared.queued);
        let start = Instant::now();
        match tokio::time::timeout(shared.options.queue_timeout, &mut handed.rx).await {
            Ok(Ok(())) => {
                handed.taken = true;
                Ok(())
            }
            Ok(Err(_)) | Err(_) => Err(Error::saturated(
                gate.limit_now.load(Ordering::Relaxed),
                start.elapsed(),
            )),
        }
    }

    /// Sends `request` through `resend.transport`, holding a slot; an overload answer is
    /// retried after a backoff, at most `resend.retries` times ([`Admission::retries`]), each
    /// time with a fresh slot. `first` is a slot already acquired for the first attempt (tower's
    /// `poll_ready`). Returns the final response with the slot it holds.
    pub(crate) fn send<Req, T: Transport<Req>>(
        self,
        first: Option<Permit>,
        request: Req,
        mut resend: Resend<T>,
    ) -> impl Future<Output = Result<(T::Response, Permit), Error>> {
        let copy = resend.copy_after(0, &request);
        // A block, not an `async fn`: it keeps the request where it was captured, where an
        // `async fn` would also keep a copy of each argument.
        async move {
            let permit = match first {
                Some(permit) => permit,
                None => self.acquire().await?,
            };
            let sent = resend.transport.send(request);
            Self::finish(
                sent,
                permit,
                move |_| copy,
                resend,
                |response, permit| (response, permit),
            )
            .await
        }
    }

    /// How many overload retries a request with `method` may have: `overload_retries` if the
    /// method is idempotent, else none.
    pub(crate) fn retries(&self, method: &Method) -> u32 {
        if is_idempotent(method) {
            self.shared.options.overload_retries
        } else {
            0
        }
    }

    /// Finishes a request whose first attempt, `sent`, holds `permit`: an overload answer is
    /// retried with the request `next` makes for it (`None`: not retried), as `resend` says;
    /// `done` makes the output of the final response and its slot.
    ///
    /// The retries are a boxed future of their own: every request's future then holds one
    /// attempt's state, not the retry loop's (a future is copied whenever an outer one moves it).
    // Not an `async fn`: it would keep a second copy of each argument (when measured, its
    // future 216 bytes for the AlignedClient instead of 136).
    #[allow(clippy::manual_async_fn)]
    pub(crate) fn finish<Req, T: Transport<Req>, Out>(
        sent: impl Future<Output = Result<T::Response, T::Error>>,
        mut permit: Permit,
        next: impl FnOnce(&T::Response) -> Option<Req>,
        resend: Resend<T>,
        done: impl FnOnce(T::Response, Permit) -> Out,
    ) -> impl Future<Output = Result<Out, Error>> {
        // The answer is dropped before the retries are awaited, in a scope that ends there, so
        // that the future keeps no room for it while they run (88 bytes for the AlignedClient);
        // a `match` on `next(&response)` would keep its temporary, a whole request (264 bytes),
        // for the whole match.
        async move {
            let retrying = {
                let response = permit.answer(sent.await)?;
                if permit.completed || resend.retries == 0 {
                    return Ok(done(response, permit));
                }
                let Some(request) = next(&response) else {
                    return Ok(done(response, permit));
                };
                let admission = permit.admission();
                drop((response, permit));
                Box::pin(admission.retry(request, resend))
            };
            let (response, permit) = retrying.await?;
            Ok(done(response, permit))
        }
    }

    /// Overload retries 1 to `resend.retries` of `request`, each after its backoff.
    async fn retry<Req, T: Transport<Req>>(
        self,
        mut request: Req,
        mut resend: Resend<T>,
    ) -> Result<(T::Response, Permit), Error> {
        let mut attempt = 1;
        loop {
            tokio::time::sleep(backoff(attempt - 1)).await;
            let copy = resend.copy_after(attempt, &request);
            let mut permit = self.acquire().await?;
            let response = permit.answer(resend.transport.send(request).await)?;
            match copy {
                Some(next) if !permit.completed => request = next,
                _ => return Ok((response, permit)),
            }
            attempt += 1;
        }
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    // Every critical section leaves its data consistent, so a panic elsewhere cannot poison it.
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Shared {
    /// Records an overload answer and cuts the limit.
    fn on_overload(&self) {
        self.overloaded.fetch_add(1, Ordering::Relaxed);
        if let Some(gate) = &self.gate {
            gate.update(AdaptiveLimit::on_overload);
        }
    }

    /// The sidecar could not be reached: restart the limit from its initial value.
    fn on_unreachable(&self) {
        if let Some(gate) = &self.gate {
            gate.update(AdaptiveLimit::on_unreachable);
        }
    }

    /// Frees a slot: a request that completed while every slot was busy (with its round trip
    /// when it was timed from its admission), and the end of a probe, count toward growth;
    /// free slots go to the waiters, first first.
    fn free_slot(
        &self,
        gate: &Gate,
        completed: bool,
        probe: bool,
        admitted: Option<tokio::time::Instant>,
    ) {
        let held = self.in_flight.fetch_sub(1, Ordering::SeqCst);
        let saturated = completed && held >= gate.limit_now.load(Ordering::SeqCst);
        if saturated || probe {
            let round_trip = admitted.filter(|_| saturated).map(|at| at.elapsed());
            gate.update(|limit| {
                if let Some(round_trip) = round_trip {
                    limit.on_round_trip(round_trip);
                }
                if saturated {
                    limit.on_saturated_rtt();
                }
                if probe {
                    limit.on_probe_done();
                }
            });
        }
        if self.queued.load(Ordering::SeqCst) > 0 {
            let mut waiters = lock(&gate.waiters);
            while let Some(first) = waiters.front() {
                if first.is_closed() {
                    waiters.pop_front();
                } else if self.try_admit(gate) {
                    let first = waiters.pop_front().expect("checked above");
                    if first.send(()).is_err() {
                        self.in_flight.fetch_sub(1, Ordering::SeqCst);
                    }
                } else {
                    break;
                }
            }
        }
    }

    /// Takes a slot if one is free under the limit.
    fn try_admit(&self, gate: &Gate) -> bool {
        let mut held = self.in_flight.load(Ordering::SeqCst);
        loop {
            if held >= gate.limit_now.load(Ordering::SeqCst) {
                return false;
            }
            match self.in_flight.compare_exchange_weak(
                held,
                held + 1,
                Ordering::SeqCst,
                Ordering::SeqCst,
            ) {
                Ok(_) => return true,
                Err(now) => held = now,
            }
        }
    }
}

impl Gate {
    /// Applies `change` to the limit under the lock.
    fn update(&self, change: impl FnOnce(&mut AdaptiveLimit)) {
        let mut limit = lock(&self.limit);
        change(&mut limit);
        self.probing.store(limit.probing(), Ordering::SeqCst);
        self.limit_now.store(limit.current(), Ordering::SeqCst);
    }

    /// Whether the slot just taken was the last free one under a limit below the ceiling: such
    /// a request is timed, since its round trip tells whether the sidecar keeps up
    /// ([`AdaptiveLimit::keeping_up`]); a limit that cannot grow, or has room, times nothing.
    fn filled_below_ceiling(&self, shared: &Shared) -> bool {
        let limit = self.limit_now.load(Ordering::Relaxed);
        limit < self.ceiling && shared.in_flight.load(Ordering::Relaxed) >= limit
    }

    /// Marks a request just admitted as a probe if the last increase still has slots unmarked;
    /// takes the lock only then (after an increase, as many times as it added slots).
    fn take_probe(&self) -> bool {
        if !self.probing.load(Ordering::SeqCst) {
            return false;
        }
        let mut limit = lock(&self.limit);
        let probe = limit.on_admit();
        self.probing.store(limit.probing(), Ordering::SeqCst);
        probe
    }
}

/// The receiving end of a slot a release hands over. A slot handed over but never taken (the
/// wait timed out, or the caller dropped the waiting future, just as a release sent it) is freed
/// again when this is dropped, so no slot is lost to a cancelled wait.
struct Handover<'a> {
    rx: oneshot::Receiver<()>,
    shared: &'a Shared,
    gate: &'a Gate,
    taken: bool,
}

impl Drop for Handover<'_> {
    fn drop(&mut self) {
        if !self.taken {
            self.rx.close();
            if self.rx.try_recv().is_ok() {
                self.shared.free_slot(self.gate, false, false, None);
            }
        }
    }
}

struct DecrementOnDrop<'a>(&'a AtomicUsize);

impl Drop for DecrementOnDrop<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

/// A slot for one request, held from send until the response body is read to its end, fails,
/// or is dropped (an HTTP/1.1 connection is busy until then). Dropping it frees the slot.
#[derive(Debug)]
pub(crate) struct Permit {
    shared: Arc<Shared>,
    /// The slot was freed ([`Permit::release`]).
    released: bool,
    /// The request got an answer other than an overload: its release counts toward growth.
    completed: bool,
    /// The request took a slot of the limit's last increase ([`AdaptiveLimit::on_admit`]).
    probe: bool,
    /// When the request took the last free slot below the ceiling: its round trip is timed
    /// (on tokio's clock, which tests can pause).
    admitted: Option<tokio::time::Instant>,
}

impl Permit {
    /// The permit of a slot just taken through `shared`.
    fn new(shared: Arc<Shared>) -> Self {
        let gate = shared.gate.as_ref();
        Self {
            probe: gate.is_some_and(Gate::take_probe),
            admitted: gate
                .is_some_and(|gate| gate.filled_below_ceiling(&shared))
                .then(tokio::time::Instant::now),
            shared,
            released: false,
            completed: false,
        }
    }

    /// The admission this slot belongs to, for the retries of its request.
    fn admission(&self) -> Admission {
        Admission {
            shared: Arc::clone(&self.shared),
        }
    }

    /// Judges one attempt's outcome: a refused or reset connection restarts the limit, an
    /// overload answer cuts it, any other answer completes the slot (it then counts toward
    /// growth, and is final).
    // Inlined: called, it moves the response in and out (74 instructions per request). The
    // permit is marked where it is, not moved through with the response (27 more).
    #[inline]
    fn answer<Res: OverloadSignal>(
        &mut self,
        sent: Result<Res, impl AttemptError>,
    ) -> Result<Res, Error> {
        let response = sent.map_err(AttemptError::into_error).inspect_err(|e| {
            if e.is_connect() {
                self.shared.on_unreachable();
            }
        })?;
        if response.is_overload() {
            self.shared.on_overload();
        } else {
            self.completed = true;
        }
        Ok(response)
    }

    /// Frees the slot now; later calls and the drop do nothing.
    pub(crate) fn release(&mut self) {
        if std::mem::replace(&mut self.released, true) {
            return;
        }
        let shared = &self.shared;
        match &shared.gate {
            Some(gate) => shared.free_slot(gate, self.completed, self.probe, self.admitted),
            None => {
                shared.in_flight.fetch_sub(1, Ordering::SeqCst);
            }
        }
    }
}

impl Drop for Permit {
    fn drop(&mut self) {
        self.release();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn a_saturated_round_trip_with_its_probes_done_adds_the_initial_value() {
        let options = AlignOptions::default().queue_timeout(Duration::from_millis(20));
        let admission = Admission::new(&ClientPlan::bounded(10, 2), options);
        let mut a = admission.acquire().await.unwrap();
        let b = admission.acquire().await.unwrap();
        assert!(a.probe && b.probe, "a cold start: the first 2 are probes");
        assert!(
            a.admitted.is_none() && b.admitted.is_some(),
            "b took the last slot"
        );
        assert_eq!(admission.in_flight(), 2);
        a.completed = true;
        drop(a); // 1 of 2: half a round trip
        assert_eq!(admission.limit(), Some(2));
        let mut c = admission.acquire().await.unwrap();
        assert!(!c.probe);
        c.completed = true;
        tokio::time::advance(Duration::from_millis(5)).await;
        drop(c); // 2 of 2, every slot busy each time: one round trip, but b is still out
        assert_eq!(admission.limit(), Some(2));
        drop(b); // never answered (error, cancellation): its probe is done all the same
        assert_eq!(
            admission.limit(),
            Some(4),
            "slow start: 2 + 2, c's round trip the fastest and the mean"
        );
        assert_eq!(admission.in_flight(), 0);
        let held: Vec<_> = futures_acquire(&admission, 5).await;
        assert_eq!(held.len(), 4, "the new slots are real, and no more");
        let probes = held.iter().filter(|p| p.probe).count();
        assert_eq!(probes, 2, "the new slots' requests are the probes");
    }

    /// Two round trips timed in one round: 5 ms and 5 ms keep up, and the plan's step of 4 is
    /// taken whole (2 + 4); 1 ms and 9 ms average 5 ms, above 1.5 times the fastest, and the
    /// step is halved (2 + 2).
    #[tokio::test(start_paused = true)]
    async fn a_round_with_slow_round_trips_grows_by_half_the_step() {
        for (waits, grown) in [([5, 5], 6), ([1, 9], 4)] {
            let plan = ClientPlan {
                slow_start_step: Some(4),
                ..ClientPlan::bounded(23, 2)
            };
            let admission = Admission::new(&plan, AlignOptions::default());
            let mut first = admission.acquire().await.unwrap();
            let probe = admission.acquire().await.unwrap();
            first.completed = true;
            drop(first);
            for wait in waits {
                let mut timed = admission.acquire().await.unwrap();
                assert!(timed.admitted.is_some(), "it took the last slot");
                timed.completed = true;
                tokio::time::advance(Duration::from_millis(wait)).await;
                drop(timed);
            }
            assert_eq!(admission.limit(), Some(2), "the probe is still out");
            drop(probe);
            assert_eq!(admission.limit(), Some(grown), "{waits:?}");
        }
    }

    /// The plan's slow-start step reaches the limit: 4 slots, a round trip (one of them timed,
    /// the fastest and the mean), 4 + 3.
    #[tokio::test(start_paused = true)]
    async fn the_plans_slow_start_step_is_the_growth() {
        let plan = ClientPlan {
            slow_start_step: Some(3),
            ..ClientPlan::bounded(23, 4)
        };
        let admission = Admission::new(&plan, AlignOptions::default());
        let mut held = futures_acquire(&admission, 4).await;
        for _ in 0..4 {
            // Each completes while every slot is busy, and its slot is taken again.
            let mut permit = held.remove(0);
            permit.completed = true;
            drop(permit);
            held.push(admission.acquire().await.unwrap());
        }
        assert_eq!(admission.limit(), Some(7));
    }

    #[tokio::test]
    async fn completions_below_the_limit_do_not_grow_it() {
        let admission = Admission::new(&ClientPlan::bounded(10, 4), AlignOptions::default());
        for _ in 0..20 {
            let mut p = admission.acquire().await.unwrap();
            p.completed = true;
        }
        assert_eq!(admission.limit(), Some(4));
    }

    #[tokio::test]
    async fn a_cut_takes_busy_slots_back_as_they_return() {
        let options = AlignOptions {
            queue_timeout: Duration::from_millis(20),
            ..AlignOptions::default()
        };
        let admission = Admission::new(&ClientPlan::bounded(8, 8), options);
        let held = futures_acquire(&admission, 8).await;
        admission.shared.on_overload();
        assert_eq!(admission.limit(), Some(6));
        drop(held);
        let again = futures_acquire(&admission, 8).await;
        assert_eq!(again.len(), 6, "two slots went out of circulation");
        assert_eq!(admission.overloaded_responses(), 1);
        let err = admission.acquire().await.unwrap_err();
        assert!(err.is_saturated(), "{err}");
    }

    #[tokio::test]
    async fn waiters_are_served_first_come_first_served() {
        let admission = Admission::new(&ClientPlan::bounded(1, 1), AlignOptions::default());
        let held = admission.acquire().await.unwrap();
        let order = Arc::new(Mutex::new(Vec::new()));
        let mut waiters = Vec::new();
        for id in 0..3 {
            let (mine, order) = (admission.clone(), Arc::clone(&order));
            waiters.push(tokio::spawn(async move {
                let permit = mine.acquire().await.unwrap();
                order.lock().unwrap().push(id);
                drop(permit);
            }));
            while admission.queued() < id + 1 {
                tokio::task::yield_now().await;
            }
        }
        // A newcomer while others wait queues behind them, not ahead.
        let late = {
            let (mine, order) = (admission.clone(), Arc::clone(&order));
            tokio::spawn(async move {
                let _permit = mine.acquire().await.unwrap();
                order.lock().unwrap().push(3);
            })
        };
        while admission.queued() < 4 {
            tokio::task::yield_now().await;
        }
        drop(held);
        for waiter in waiters {
            waiter.await.unwrap();
        }
        late.await.unwrap();
        assert_eq!(*order.lock().unwrap(), [0, 1, 2, 3]);
        assert_eq!((admission.in_flight(), admission.queued()), (0, 0));
    }

    #[tokio::test]
    async fn a_refused_connection_restarts_the_limit() {
        let admission = Admission::new(&ClientPlan::bounded(10, 2), AlignOptions::default());
        admission.shared.gate.as_ref().unwrap().update(|l| {
            assert!(l.on_admit() && l.on_admit());
            for _ in 0..2 {
                l.on_saturated_rtt();
                l.on_probe_done();
            }
        });
        assert_eq!(admission.limit(), Some(3));
        /// Every connection refused.
        struct Refused;
        impl Transport<()> for Refused {
            type Response = http::Response<()>;
            type Error = Error;
            fn send(
                &mut self,
                (): (),
            ) -> impl Future<Output = Result<Self::Response, Error>> + use<> {
                std::future::ready(Err(Error::request(
                    "http://127.0.0.1:1",
                    std::io::Error::from(std::io::ErrorKind::ConnectionRefused),
                )))
            }
            fn copy(&self, (): &()) -> Option<()> {
                Some(())
            }
        }
        let resend = Resend {
            retries: admission.retries(&Method::GET),
            transport: Refused,
        };
        let err = admission.clone().send(None, (), resend).await.unwrap_err();
        assert!(err.is_connect(), "{err}");
        assert_eq!(admission.limit(), Some(2));
        assert_eq!(admission.in_flight(), 0);
    }

    /// A release hands its slot to the first waiter; the waiter's future is dropped (the caller
    /// gave up) before it is polled again: the slot must come back, not stay counted in flight.
    #[tokio::test]
    async fn a_slot_handed_to_a_cancelled_wait_is_freed() {
        let admission = Admission::new(&ClientPlan::bounded(1, 1), AlignOptions::default());
        let held = admission.acquire().await.unwrap();
        let mut waiting = tokio_test::task::spawn(admission.acquire());
        tokio_test::assert_pending!(waiting.poll());
        assert_eq!(admission.queued(), 1);
        drop(held); // hands the slot over to the waiter
        assert_eq!(
            admission.in_flight(),
            1,
            "the slot now belongs to the waiter"
        );
        drop(waiting); // the caller gives up before taking it
        assert_eq!(admission.in_flight(), 0, "the handed-over slot is freed");
        assert_eq!(admission.queued(), 0);
        let again = admission.acquire().await.unwrap();
        assert_eq!(admission.in_flight(), 1);
        drop(again);
    }

    async fn futures_acquire(admission: &Admission, n: usize) -> Vec<Permit> {
        let mut held = Vec::new();
        for _ in 0..n {
            match admission.acquire().await {
                Ok(p) => held.push(p),
                Err(_) => break,
            }
        }
        held
    }

    #[test]
    fn overload_answers_and_idempotent_methods() {
        let mut headers = HeaderMap::new();
        assert!(!is_overload(StatusCode::SERVICE_UNAVAILABLE, &headers));
        headers.insert(OVERLOADED_HEADER, "true".parse().unwrap());
        assert!(is_overload(StatusCode::SERVICE_UNAVAILABLE, &headers));
        assert!(!is_overload(StatusCode::OK, &headers));
        assert!(is_idempotent(&Method::GET) && is_idempotent(&Method::DELETE));
        assert!(!is_idempotent(&Method::POST) && !is_idempotent(&Method::PATCH));
    }

    #[test]
    fn backoff_doubles_with_jitter_and_is_capped() {
        for attempt in 0..10 {
            let base = 25.0 * f64::from(1u32 << attempt.min(6));
            let ms = backoff(attempt).as_secs_f64() * 1000.0;
            let base = base.min(1000.0);
            assert!(ms >= base * 0.5 && ms <= base * 1.5, "{attempt}: {ms}");
        }
    }
}
