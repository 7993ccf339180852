//! The side-by-side comparison through a real local sidecar: for each concurrency, three
//! clients send the same requests through an Envoy configured from the rule, to the same
//! upstream. `default` is a reqwest client with the plan's idle pool and HTTP/1.1 but no
//! admission (the usual "95% of maxConnections" advice); `fixed` is the [`AlignedClient`] with
//! its limit pinned at the plan's ceiling; `tuned` is the adaptive [`AlignedClient`].

pub mod keepalive;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use serde::Serialize;

use crate::client::{self, AlignOptions, AlignedClient, is_overload};
use crate::envoy::{RenderOptions, cluster_name, render};
use crate::error::Error;
use crate::istio::resolve::Resolution;
use crate::plan::{ClientPlan, fmt_duration};
use crate::sidecar::{Admin, Envoy, envoy_binary, envoy_version};
use crate::upstream::{Upstream, UpstreamOptions};

mod library;
pub use library::LibraryClient;
#[cfg(feature = "peers")]
mod peers;
#[cfg(feature = "peers")]
pub use peers::Peer;

/// Requests per caller a library's driver sends, uncounted, before its burst on a warm sidecar.
const WARMUP_PER_CALLER: usize = 10;

/// The clients compared.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ClientKind {
    /// reqwest with the plan's pool and HTTP/1.1, no admission.
    Default,
    /// `AlignedClient` with its limit pinned at the plan's ceiling.
    Fixed,
    /// The adaptive `AlignedClient`.
    Tuned,
    /// Another language's library, run by its driver program (`drivers/`): one process, whatever
    /// [`BenchOptions::processes`] says.
    Library(LibraryClient),
    /// A generic adaptive limiter on the `default` client (feature `peers`).
    #[cfg(feature = "peers")]
    Peer(Peer),
}

impl ClientKind {
    /// The three Rust clients, in report order.
    pub const ALL: [ClientKind; 3] = [ClientKind::Default, ClientKind::Fixed, ClientKind::Tuned];

    /// The name in reports: `default`, `fixed`, `tuned`, or a library's (`httpx`,
    /// `httpx-defaults`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            ClientKind::Default => "default",
            ClientKind::Fixed => "fixed",
            ClientKind::Tuned => "tuned",
            ClientKind::Library(library) => library.as_str(),
            #[cfg(feature = "peers")]
            ClientKind::Peer(peer) => peer.as_str(),
        }
    }
}

impl Serialize for ClientKind {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

/// Which sidecar the bench drives.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SidecarChoice {
    /// Start Envoy (this binary) and the upstream; a fresh Envoy for every run unless `warm`.
    Local {
        /// The Envoy binary; `None` looks it up ([`envoy_binary`]).
        binary: Option<PathBuf>,
        /// Reuse one Envoy for all runs.
        warm: bool,
    },
    /// Drive an Envoy that is already running; its counters are read when `admin` is given.
    Running {
        /// Its outbound listener.
        listen: SocketAddr,
        /// Its admin interface.
        admin: Option<SocketAddr>,
    },
}

/// What to run.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct BenchOptions {
    /// Concurrent callers, one set of runs each.
    pub concurrency: Vec<usize>,
    /// Requests per run.
    pub requests: usize,
    /// How long the upstream takes per request; [`run`] refuses one not below `time_limit`.
    pub upstream_latency: Duration,
    /// A run stops after this long even if requests remain; requests unanswered then are errors.
    pub time_limit: Duration,
    /// The clients, in order.
    pub clients: Vec<ClientKind>,
    /// The sidecar.
    pub sidecar: SidecarChoice,
    /// Processes sharing the sidecar: each run builds this many clients of its kind (from the
    /// same plan, so plan with [`PlanOptions::processes`](crate::PlanOptions::processes) for
    /// their share) and spreads the callers over them. Default 1.
    pub processes: usize,
}

impl Default for BenchOptions {
    fn default() -> Self {
        Self {
            concurrency: vec![1, 2, 3, 8, 32],
            requests: 2000,
            upstream_latency: Duration::from_millis(5),
            time_limit: Duration::from_secs(60),
            clients: ClientKind::ALL.to_vec(),
            sidecar: SidecarChoice::Local {
                binary: None,
                warm: false,
            },
            processes: 1,
        }
    }
}

impl BenchOptions {
    /// Concurrent callers, one set of runs each.
    pub fn concurrency(mut self, callers: impl Into<Vec<usize>>) -> Self {
        self.concurrency = callers.into();
        self
    }

    /// Requests per run.
    pub fn requests(mut self, requests: usize) -> Self {
        self.requests = requests;
        self
    }

    /// How long the upstream takes per request.
    pub fn upstream_latency(mut self, latency: Duration) -> Self {
        self.upstream_latency = latency;
        self
    }

    /// A run stops after this long even if requests remain.
    pub fn time_limit(mut self, limit: Duration) -> Self {
        self.time_limit = limit;
        self
    }

    /// The clients, in order.
    pub fn clients(mut self, clients: impl Into<Vec<ClientKind>>) -> Self {
        self.clients = clients.into();
        self
    }

    /// The sidecar.
    pub fn sidecar(mut self, sidecar: SidecarChoice) -> Self {
        self.sidecar = sidecar;
        self
    }

    /// Processes sharing the sidecar, each with a client of its own (at least 1).
    pub fn processes(mut self, processes: usize) -> Self {
        self.processes = processes.max(1);
        self
    }
}

/// One client at one concurrency.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct RunResult {
    /// The client.
    pub client: ClientKind,
    /// Concurrent callers.
    pub concurrency: usize,
    /// Requests sent (fewer than asked when the time limit ended the run).
    pub requests: usize,
    /// 2xx answers.
    pub ok: usize,
    /// `503` with `x-envoy-overloaded` that reached the caller.
    pub overflow_503: usize,
    /// Other failures: other statuses, transport errors, saturated (`ErrorKind::Saturated`).
    pub errors: usize,
    /// Envoy's `upstream_rq_pending_overflow` during the run; `None` without its admin.
    pub envoy_pending_overflow: Option<u64>,
    /// Envoy's `upstream_rq_active_overflow` (the `http2MaxRequests` breaker).
    pub envoy_active_overflow: Option<u64>,
    /// 2xx per second of wall time.
    pub goodput_rps: f64,
    /// Median 2xx latency from the caller's send, admission wait included (a caller's first
    /// request from the run's start).
    pub p50_ms: f64,
    /// 99th percentile of the same.
    pub p99_ms: f64,
    /// The slowest 2xx.
    pub max_ms: f64,
    /// Connections the client opened to the sidecar.
    pub connections_opened: Option<u64>,
    /// The aligned clients' limit at the end of the run, summed over the processes (`None`
    /// for `default`).
    pub final_limit: Option<usize>,
}

/// Every run, with what it ran against.
#[derive(Clone, Debug, Serialize)]
pub struct BenchReport {
    /// The runs, by concurrency then client.
    pub runs: Vec<RunResult>,
    /// Envoy's version (`running` for a sidecar the bench did not start).
    pub envoy_version: String,
    /// The rule, `namespace/name (file:line)`.
    pub rule: String,
    /// Processes sharing the sidecar, each with its own client.
    pub processes: usize,
}

impl BenchReport {
    /// The run of `client` at `concurrency`.
    pub fn run(&self, client: ClientKind, concurrency: usize) -> Option<&RunResult> {
        self.runs
            .iter()
            .find(|r| r.client == client && r.concurrency == concurrency)
    }
}

/// A client under test.
enum Driver {
    Plain(reqwest::Client),
    Aligned(AlignedClient),
    #[cfg(feature = "peers")]
    Peer(peers::PeerClient),
}

enum Outcome {
    Ok,
    Overflow,
    Error,
}

impl Driver {
    fn new(kind: ClientKind, plan: &ClientPlan) -> Result<Self, Error> {
        let http = client::reqwest_builder(plan)
            .no_proxy()
            .build()
            .map_err(|e| Error::request("(client builder)", e))?;
        Ok(match kind {
            // A library's client runs in its own driver program and is not built here.
            ClientKind::Default | ClientKind::Library(_) => Driver::Plain(http),
            ClientKind::Fixed | ClientKind::Tuned => {
                let options = AlignOptions {
                    fixed_limit: kind == ClientKind::Fixed,
                    ..AlignOptions::default()
                };
                Driver::Aligned(AlignedClient::new(http, plan, options))
            }
            #[cfg(feature = "peers")]
            ClientKind::Peer(peer) => Driver::Peer(peers::PeerClient::new(peer, http)),
        })
    }

    async fn get(&self, url: &str) -> Outcome {
        let classify = |status: http::StatusCode, headers: &http::HeaderMap| {
            if status.is_success() {
                Outcome::Ok
            } else if is_overload(status, headers) {
                Outcome::Overflow
            } else {
                Outcome::Error
            }
        };
        // The body is read to its end: the connection (and the aligned client's slot) is busy
        // until then.
        let read =
            |outcome: Outcome, body_read: bool| if body_read { outcome } else { Outcome::Error };
        match self {
            Driver::Plain(http) => match http.get(url).send().await {
                Ok(r) => {
                    let outcome = classify(r.status(), r.headers());
                    read(outcome, r.bytes().await.is_ok())
                }
                Err(_) => Outcome::Error,
            },
            Driver::Aligned(aligned) => match aligned.get(url).send().await {
                Ok(r) => {
                    let outcome = classify(r.status(), r.headers());
                    read(outcome, r.bytes().await.is_ok())
                }
                Err(_) => Outcome::Error,
            },
            #[cfg(feature = "peers")]
            Driver::Peer(peer) => {
                let Ok(url) = reqwest::Url::parse(url) else {
                    return Outcome::Error;
                };
                match peer
                    .send(reqwest::Request::new(http::Method::GET, url))
                    .await
                {
                    Ok(r) => {
                        let outcome = classify(r.status(), r.headers());
                        read(outcome, r.bytes().await.is_ok())
                    }
                    Err(_) => Outcome::Error,
                }
            }
        }
    }
}

/// Per caller: counts and the latency of each 2xx, merged at the end of a run.
#[derive(Default)]
struct Tally {
    ok: usize,
    overflow: usize,
    errors: usize,
    /// Microseconds (at least 1, at most `u32::MAX`: 71 minutes), one per 2xx: 4 bytes a
    /// request, where a histogram per caller (1 us to 1 hour, 3 digits) took 188 KB however few
    /// it held, 1.9 GB for 10,000 callers.
    latency_us: Vec<u32>,
}

impl Tally {
    fn with_capacity(latencies: usize) -> Self {
        Self {
            latency_us: Vec::with_capacity(latencies),
            ..Self::default()
        }
    }

    /// A 2xx answered after `micros` microseconds, kept within 1 us and `u32::MAX`.
    fn ok_after(&mut self, micros: u128) {
        self.ok += 1;
        self.latency_us
            .push(u32::try_from(micros).unwrap_or(u32::MAX).max(1));
    }

    fn merge(&mut self, other: Tally) {
        self.ok += other.ok;
        self.overflow += other.overflow;
        self.errors += other.errors;
        self.latency_us.extend(other.latency_us);
    }

    /// The latencies at quantiles `qs` in ms, by nearest rank (the smallest latency that at
    /// least `q` of them do not exceed), as HDR histograms report them; 0 without any. Sorts the
    /// latencies once for all of them.
    fn quantiles_ms<const N: usize>(&mut self, qs: [f64; N]) -> [f64; N] {
        let n = self.latency_us.len();
        if n == 0 {
            return [0.0; N];
        }
        self.latency_us.sort_unstable();
        // The rank is at least 1 and at most n; q = 0.5 of 1..=100 is the 50th, 50.
        qs.map(|q| {
            let rank = ((q * n as f64).ceil() as usize).clamp(1, n);
            f64::from(self.latency_us[rank - 1]) / 1000.0
        })
    }
}

/// The most latencies a run makes room for before its clock starts: 40 MB.
const PREALLOCATED_LATENCIES: usize = 10_000_000;

/// Sends `requests` GETs from `concurrency` callers, caller `i` through `drivers[i % len]`,
/// stopping at `time_limit`: a request still unanswered then is cut off and counts as an error.
async fn drive(
    drivers: Arc<[Driver]>,
    url: &str,
    concurrency: usize,
    requests: usize,
    time_limit: Duration,
) -> (Tally, usize, Duration) {
    // The callers' tallies are made before the clock starts, and merged after it stops: when
    // they were histograms, 200 of them took about 10 ms to allocate and 5 ms to merge
    // (2026-12-02), work of the bench's own that counted in the clients' time and slowed their
    // first requests. Each caller's room is its share of the requests, and all of them together
    // at most `PREALLOCATED_LATENCIES` (the CLI's largest run, 10,000,000 requests), beyond
    // which a caller's room grows as it records.
    let callers = concurrency.max(1);
    let share = requests.min(PREALLOCATED_LATENCIES) / callers + 1;
    let tallies: Vec<Tally> = (0..callers).map(|_| Tally::with_capacity(share)).collect();
    let start = Instant::now();
    let deadline = tokio::time::Instant::from_std(start + time_limit);
    let sent = Arc::new(AtomicUsize::new(0));
    let callers: Vec<_> = tallies
        .into_iter()
        .enumerate()
        .map(|(caller, mut tally)| {
            let (drivers, sent, url) = (Arc::clone(&drivers), Arc::clone(&sent), url.to_owned());
            tokio::spawn(async move {
                let driver = &drivers[caller % drivers.len()];
                // Every caller is ready to send at the start: its first request is timed from
                // then, however late the runtime first polls it (a client whose first requests
                // keep the runtime busy opening connections delays the callers polled after
                // them, and that wait is the client's), each later one from the end of the one
                // before.
                let mut ready = start;
                while start.elapsed() < time_limit
                    && sent.fetch_add(1, Ordering::Relaxed) < requests
                {
                    let outcome = tokio::time::timeout_at(deadline, driver.get(&url)).await;
                    let now = Instant::now();
                    match outcome.unwrap_or(Outcome::Error) {
                        Outcome::Ok => tally.ok_after((now - ready).as_micros()),
                        Outcome::Overflow => tally.overflow += 1,
                        Outcome::Error => tally.errors += 1,
                    }
                    ready = now;
                }
                tally
            })
        })
        .collect();
    let mut done = Vec::with_capacity(callers.len());
    for caller in callers {
        done.extend(caller.await);
    }
    let elapsed = start.elapsed();
    let mut total = Tally::with_capacity(done.iter().map(|t| t.latency_us.len()).sum());
    for tally in done {
        total.merge(tally);
    }
    let sent = sent.load(Ordering::Relaxed).min(requests);
    (total, sent, elapsed)
}

/// The sidecar of one run: one the bench started, or one already running.
struct Target {
    url: String,
    admin: Option<Admin>,
    _envoy: Option<Arc<Envoy>>,
}

/// Runs the comparison for the destination of `resolution` with the clients built from
/// `plan`; `progress` is called after each run with (runs done, runs in all).
///
/// # Errors
/// An upstream latency not below the time limit (no request could be answered), Envoy missing
/// or failing to start, the upstream failing to bind, or a `--sidecar` that does not accept
/// connections.
pub async fn run(
    resolution: &Resolution<'_>,
    plan: &ClientPlan,
    options: &BenchOptions,
    mut progress: impl FnMut(usize, usize),
) -> Result<BenchReport, Error> {
    if options.upstream_latency >= options.time_limit {
        // No request could be answered within a run.
        return Err(Error::invalid_setting(
            "upstream latency",
            fmt_duration(options.upstream_latency),
            format!(
                "below the time limit of a run, {}",
                fmt_duration(options.time_limit)
            ),
        ));
    }
    let cluster = cluster_name(resolution);
    let rule_name = resolution.describe();
    let total = options.concurrency.len() * options.clients.len();
    let mut runs = Vec::with_capacity(total);

    let (binary, warm, upstream) = match &options.sidecar {
        SidecarChoice::Local { binary, warm } => {
            let binary = match binary {
                Some(path) => path.clone(),
                None => envoy_binary()?,
            };
            let upstream = Upstream::start(UpstreamOptions {
                latency: options.upstream_latency,
                http2: resolution.policy.h2_upgrade(),
                ..UpstreamOptions::default()
            })
            .await
            .map_err(|e| Error::sidecar(format!("cannot start the upstream: {e}")))?;
            (Some(binary), *warm, Some(upstream))
        }
        SidecarChoice::Running { listen, .. } => {
            probe(*listen).await?;
            (None, false, None)
        }
    };
    let envoy_version = match &binary {
        Some(binary) => envoy_version(binary)?,
        None => "running".to_owned(),
    };
    let start_envoy = || async {
        let (binary, upstream) = (binary.as_ref(), upstream.as_ref());
        let (Some(binary), Some(upstream)) = (binary, upstream) else {
            unreachable!("a local sidecar has a binary and an upstream");
        };
        let bootstrap = render(resolution, &RenderOptions::new(upstream.addr()));
        Envoy::start(binary, &bootstrap).await.map(Arc::new)
    };
    let shared = if warm {
        Some(start_envoy().await?)
    } else {
        None
    };

    for &concurrency in &options.concurrency {
        for &kind in &options.clients {
            let target = match (&options.sidecar, &shared) {
                (SidecarChoice::Running { listen, admin }, _) => Target {
                    url: format!("http://{listen}"),
                    admin: admin.map(Admin::new),
                    _envoy: None,
                },
                (_, Some(envoy)) => target_of(Arc::clone(envoy)),
                (_, None) => target_of(start_envoy().await?),
            };
            let mut before = match &target.admin {
                Some(admin) => Some(admin.stats(&cluster).await?),
                None => None,
            };
            let (mut run, final_limit) = match kind {
                ClientKind::Library(library) => {
                    let (url, plan) = (target.url.clone(), plan.clone());
                    let burst = library::Burst {
                        concurrency,
                        requests: options.requests,
                        // On a warm sidecar the driver's client warms it first, as a long-lived
                        // client would have: its connections, and the upstream ones behind them.
                        warmup: if warm {
                            WARMUP_PER_CALLER * concurrency
                        } else {
                            0
                        },
                        time_limit: options.time_limit,
                    };
                    let (admin, cluster) = (target.admin.clone(), cluster.clone());
                    let handle = tokio::runtime::Handle::current();
                    let (report, warm) = tokio::task::spawn_blocking(move || {
                        // Envoy's counters once the driver's warm-up is over.
                        let mut warm = None;
                        let warmed = || {
                            if let Some(admin) = &admin {
                                warm = Some(handle.block_on(admin.stats(&cluster))?);
                            }
                            Ok(())
                        };
                        let report = library::run_driver(library, &plan, &url, &burst, warmed);
                        report.map(|r| (r, warm))
                    })
                    .await
                    .map_err(|e| Error::sidecar(format!("the driver task failed: {e}")))??;
                    before = warm.or(before);
                    (driven(kind, concurrency, report), None)
                }
                _ => {
                    let drivers: Arc<[Driver]> = (0..options.processes.max(1))
                        .map(|_| Driver::new(kind, plan))
                        .collect::<Result<_, _>>()?;
                    let (tally, sent, elapsed) = drive(
                        Arc::clone(&drivers),
                        &target.url,
                        concurrency,
                        options.requests,
                        options.time_limit,
                    )
                    .await;
                    let final_limit = drivers
                        .iter()
                        .map(|driver| match driver {
                            Driver::Aligned(aligned) => aligned.limit(),
                            _ => None,
                        })
                        .sum();
                    let run = result(kind, concurrency, sent, tally, elapsed);
                    (run, final_limit)
                }
            };
            if let (Some(admin), Some(before)) = (&target.admin, before) {
                let delta = admin.stats(&cluster).await?.since(&before);
                run.envoy_pending_overflow = Some(delta.upstream_rq_pending_overflow);
                run.envoy_active_overflow = Some(delta.upstream_rq_active_overflow);
                run.connections_opened = Some(delta.downstream_cx_total);
            }
            run.final_limit = final_limit;
            runs.push(run);
            progress(runs.len(), total);
        }
    }
    Ok(BenchReport {
        runs,
        envoy_version,
        rule: rule_name,
        processes: options.processes.max(1),
    })
}

fn target_of(envoy: Arc<Envoy>) -> Target {
    Target {
        url: envoy.url(),
        admin: Some(envoy.admin().clone()),
        _envoy: Some(envoy),
    }
}

/// Fails fast when nothing accepts connections at `listen`.
async fn probe(listen: SocketAddr) -> Result<(), Error> {
    let connect = tokio::net::TcpStream::connect(listen);
    match tokio::time::timeout(Duration::from_secs(3), connect).await {
        Ok(Ok(_)) => Ok(()),
        Ok(Err(e)) => Err(Error::sidecar(format!(
            "cannot connect to the sidecar at {listen}: {e}"
        ))),
        Err(_) => Err(Error::sidecar(format!(
            "cannot connect to the sidecar at {listen}: no answer within 3s"
        ))),
    }
}

fn result(
    client: ClientKind,
    concurrency: usize,
    requests: usize,
    mut tally: Tally,
    elapsed: Duration,
) -> RunResult {
    let [p50_ms, p99_ms, max_ms] = tally.quantiles_ms([0.5, 0.99, 1.0]);
    RunResult {
        client,
        concurrency,
        requests,
        ok: tally.ok,
        overflow_503: tally.overflow,
        errors: tally.errors,
        envoy_pending_overflow: None,
        envoy_active_overflow: None,
        goodput_rps: tally.ok as f64 / elapsed.as_secs_f64().max(1e-9),
        p50_ms,
        p99_ms,
        max_ms,
        connections_opened: None,
        final_limit: None,
    }
}

/// The run of a library's driver, from what it printed.
fn driven(client: ClientKind, concurrency: usize, report: library::DriverReport) -> RunResult {
    let mut tally = Tally {
        overflow: report.overflow,
        errors: report.errors,
        ..Tally::with_capacity(report.ok_us.len())
    };
    for micros in report.ok_us {
        tally.ok_after(micros.into());
    }
    let requests = tally.ok + tally.overflow + tally.errors;
    // A time no `Duration` holds reads as none when not above 0 (or not a number), else as
    // the longest.
    let elapsed = match report.elapsed_s {
        secs if secs > 0.0 => Duration::try_from_secs_f64(secs).unwrap_or(Duration::MAX),
        _ => Duration::ZERO,
    };
    result(client, concurrency, requests, tally, elapsed)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Quantiles by nearest rank, as an HDR histogram reports them (`value_at_quantile`: the
    /// smallest value that at least that share of the values do not exceed): of 1 to 100 ms
    /// recorded by two callers in any order, p50 is the 50th value, 50 ms, p99 the 99th, and the
    /// maximum 100 ms; the counts add up; no latency at all reads 0.
    #[test]
    fn latencies_merge_and_read_by_nearest_rank() {
        let mut total = Tally::with_capacity(100);
        let evens_down: Vec<u32> = (1..=100).rev().step_by(2).collect();
        let odds_up: Vec<u32> = (1..=99).step_by(2).collect();
        for part in [evens_down, odds_up] {
            let mut caller = Tally::with_capacity(50);
            caller.latency_us.extend(part.iter().map(|ms| ms * 1000));
            caller.ok = caller.latency_us.len();
            caller.overflow = 1;
            total.merge(caller);
        }
        assert_eq!((total.ok, total.overflow, total.errors), (100, 2, 0));
        assert_eq!(
            total.quantiles_ms([0.5, 0.99, 1.0, 0.0]),
            [50.0, 99.0, 100.0, 1.0],
            "p50, p99, max, and a rank of at least the first"
        );
        assert_eq!(Tally::default().quantiles_ms([0.5, 0.99]), [0.0, 0.0]);
    }

    /// A local upstream that answers at once, its URL, and the default client to send to it
    /// without a sidecar.
    async fn straight_to_an_upstream() -> (Upstream, String, Driver) {
        let upstream = Upstream::start(UpstreamOptions::default()).await.unwrap();
        let url = format!("http://{}", upstream.addr());
        let driver = Driver::new(ClientKind::Default, &ClientPlan::bounded(4, 2)).unwrap();
        (upstream, url, driver)
    }

    /// A driver's latencies are read as the bench's own: p50 by nearest rank (the 3rd of 5, not
    /// the 4th the drivers' own `floor(q n)` index took), a latency of 0 as 1 us and one beyond
    /// `u32` at its largest (71 minutes); the counts and the goodput from its time, a time that
    /// is not a number read as none.
    #[test]
    fn a_drivers_latencies_are_read_as_the_benchs_own() {
        let report = library::DriverReport {
            ok_us: vec![3_000, 1_000, u64::MAX, 0, 2_000],
            overflow: 2,
            errors: 1,
            elapsed_s: 0.5,
        };
        let run = driven(ClientKind::Default, 3, report);
        assert_eq!(
            (run.requests, run.ok, run.overflow_503, run.errors),
            (8, 5, 2, 1)
        );
        assert_eq!(run.goodput_rps, 10.0);
        assert_eq!(
            [run.p50_ms, run.max_ms],
            [2.0, f64::from(u32::MAX) / 1000.0]
        );
        let nonsense = library::DriverReport {
            ok_us: vec![1_000],
            overflow: 0,
            errors: 0,
            elapsed_s: f64::NAN,
        };
        // No time to divide by, and no panic: the goodput of a run over in no time.
        let rate = driven(ClientKind::Default, 1, nonsense).goodput_rps;
        assert!(rate.is_finite() && rate > 1e8, "{rate}");
    }

    /// A run of more requests than memory holds (`BenchOptions::requests` takes any usize)
    /// makes room for what the CLI's largest run needs, not for all of them, and stops at its
    /// time limit: before, `usize::MAX / 2` requests made each caller reserve 2^63 latencies
    /// ("capacity overflow").
    #[tokio::test]
    async fn more_requests_than_memory_holds_run_to_the_time_limit() {
        let (_upstream, url, driver) = straight_to_an_upstream().await;
        let limit = Duration::from_millis(200);
        let (tally, sent, elapsed) =
            drive(Arc::from([driver]), &url, 1, usize::MAX / 2, limit).await;
        assert!(
            tally.ok > 0 && sent >= tally.ok,
            "{sent} sent, {} answered",
            tally.ok
        );
        assert!(elapsed >= limit, "{elapsed:?}");
    }

    /// A caller's first request is timed from the run's start: here a task spawned before the
    /// callers blocks this one-thread runtime for 30 ms after the start, so the runtime polls
    /// every caller that much late (as a client opening its first connections keeps the
    /// callers polled after them waiting), and each first latency includes it. Timed from the
    /// caller's first poll instead, they took about a millisecond.
    #[tokio::test(flavor = "current_thread")]
    async fn every_callers_first_request_is_timed_from_the_start() {
        let (_upstream, url, driver) = straight_to_an_upstream().await;
        tokio::spawn(async { std::thread::sleep(Duration::from_millis(30)) });
        let (mut tally, sent, _) =
            drive(Arc::from([driver]), &url, 2, 2, Duration::from_secs(10)).await;
        assert_eq!((sent, tally.ok), (2, 2));
        let [fastest] = tally.quantiles_ms([0.0]);
        assert!(
            fastest >= 30.0,
            "the fastest first request took {fastest} ms"
        );
    }
}
