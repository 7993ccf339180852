//! Faults under load with the real Envoy: the sidecar killed and restarted mid-run, an upstream
//! that stops answering, and ten times the sidecar's capacity offered. The aligned client must
//! return typed errors, recover by itself, never overflow, never hang, and give back every slot.
//! Then the CLI: Ctrl-C or a kill of `bench` leaves no Envoy behind, and a `--sidecar` that never
//! answers is cut off at the time limit.

mod common;

use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::{envoy_alone, envoy_children, eventually, runtime, upstream};
use sidecar_tuner::envoy::{RenderOptions, render};
use sidecar_tuner::istio::load::{LoadOptions, load_str};
use sidecar_tuner::istio::resolve::{Destination, resolve};
use sidecar_tuner::sidecar::Envoy;
use sidecar_tuner::upstream::Upstream;
use sidecar_tuner::{AlignedClient, Error, Tuner};

/// maxConnections 5 + pending 5: the client's ceiling is 9.
const RULE: &str = "apiVersion: networking.istio.io/v1\nkind: DestinationRule\nmetadata: {name: backend}\nspec:\n  host: backend\n  trafficPolicy:\n    connectionPool: {tcp: {maxConnections: 5}, http: {http1MaxPendingRequests: 5}}\n";

const CLUSTER: &str = "outbound|80||backend.default.svc.cluster.local";

/// Starts an Envoy for [`RULE`] in front of `upstream`, its listener on `listen` (port 0: any).
async fn envoy(binary: &Path, upstream: &Upstream, listen: std::net::SocketAddr) -> Envoy {
    let loaded = load_str(RULE, &"rule.yaml".into(), &LoadOptions::default());
    let resolution = resolve(&loaded.rules, &Destination::new("backend")).unwrap();
    let mut options = RenderOptions::new(upstream.addr());
    options.listen = listen;
    Envoy::start(binary, &render(&resolution, &options))
        .await
        .unwrap()
}

fn tuner() -> Tuner {
    Tuner::from_yaml_str(RULE).unwrap().host("backend")
}

#[derive(Default)]
struct Outcomes {
    ok: AtomicUsize,
    overflow: AtomicUsize,
    request_errors: AtomicUsize,
    timeouts: AtomicUsize,
    saturated: AtomicUsize,
    /// Anything else, described: none is expected.
    other: Mutex<Vec<String>>,
}

impl Outcomes {
    async fn record(&self, result: Result<sidecar_tuner::client::Response, Error>) {
        let counter = match result {
            Ok(response) if response.status().is_success() => match response.bytes().await {
                Ok(_) => &self.ok,
                Err(e) if e.is_timeout() => &self.timeouts,
                Err(_) => &self.request_errors,
            },
            Ok(response) if response.headers().contains_key("x-envoy-overloaded") => &self.overflow,
            Err(e) if e.is_saturated() => &self.saturated,
            Err(e) if e.is_timeout() => &self.timeouts,
            Err(e) if e.is_request() => &self.request_errors,
            Ok(response) => {
                let status = response.status();
                let body = response.text().await.unwrap_or_default();
                return self.unexpected(format!("{status}: {body}"));
            }
            Err(e) => return self.unexpected(e.to_string()),
        };
        counter.fetch_add(1, Ordering::Relaxed);
    }

    fn unexpected(&self, outcome: String) {
        self.other.lock().unwrap().push(outcome);
    }

    fn others(&self) -> Vec<String> {
        self.other.lock().unwrap().clone()
    }

    fn get(counter: &AtomicUsize) -> usize {
        counter.load(Ordering::Relaxed)
    }
}

/// `callers` tasks sending GETs to `url` until `stop` is set; a failed request pauses its
/// caller briefly, as a real client's error path would.
fn load(
    client: &AlignedClient,
    url: &str,
    callers: usize,
    stop: &Arc<AtomicBool>,
    outcomes: &Arc<Outcomes>,
) -> Vec<tokio::task::JoinHandle<()>> {
    (0..callers)
        .map(|_| {
            let (client, url, stop, outcomes) = (
                client.clone(),
                url.to_owned(),
                Arc::clone(stop),
                Arc::clone(outcomes),
            );
            tokio::spawn(async move {
                while !stop.load(Ordering::Relaxed) {
                    let before = Outcomes::get(&outcomes.ok);
                    outcomes.record(client.get(&url).send().await).await;
                    if Outcomes::get(&outcomes.ok) == before {
                        tokio::time::sleep(Duration::from_millis(5)).await;
                    }
                }
            })
        })
        .collect()
}

async fn finish(callers: Vec<tokio::task::JoinHandle<()>>) {
    for caller in callers {
        tokio::time::timeout(Duration::from_secs(30), caller)
            .await
            .expect("no request hangs")
            .unwrap();
    }
}

#[test]
fn envoy_killed_and_restarted_mid_run() {
    let Some((binary, _serial)) = envoy_alone("envoy_killed_and_restarted_mid_run") else {
        return;
    };
    runtime().block_on(async {
        let upstream = upstream(Duration::from_millis(2)).await;
        let first = envoy(&binary, &upstream, "127.0.0.1:0".parse().unwrap()).await;
        let listen = first.listen_addr();
        let client = tuner()
            .queue_timeout(Duration::from_millis(500))
            .timeout(Duration::from_secs(2))
            .build()
            .unwrap()
            .client;
        let (stop, outcomes) = (
            Arc::new(AtomicBool::new(false)),
            Arc::new(Outcomes::default()),
        );
        let callers = load(&client, &format!("http://{listen}"), 16, &stop, &outcomes);

        // Each phase lasts until it has shown what it must (bounded by a deadline), not a
        // fixed time that a busy machine could make too short.
        let deadline = Duration::from_secs(30);
        eventually(deadline, || Outcomes::get(&outcomes.ok) > 100).await;
        let ok_before = Outcomes::get(&outcomes.ok);
        drop(first); // killed
        eventually(deadline, || Outcomes::get(&outcomes.request_errors) > 0).await;
        let errors_while_down = Outcomes::get(&outcomes.request_errors);
        let ok_while_down = Outcomes::get(&outcomes.ok) - ok_before;
        let second = envoy(&binary, &upstream, listen).await;
        let ok_at_restart = Outcomes::get(&outcomes.ok);
        eventually(deadline, || {
            Outcomes::get(&outcomes.ok) - ok_at_restart > 100
        })
        .await;
        stop.store(true, Ordering::Relaxed);
        finish(callers).await;

        let recovered = Outcomes::get(&outcomes.ok) - ok_at_restart;
        eprintln!(
            "ok before the kill {ok_before}, request errors while down {errors_while_down}, \
             ok after the restart {recovered}"
        );
        assert!(ok_before > 100, "{ok_before} before the kill");
        assert!(
            errors_while_down > 0,
            "typed request errors while Envoy is down"
        );
        assert!(ok_while_down < 20, "{ok_while_down} answered by no sidecar");
        assert!(
            recovered > 100,
            "{recovered} after the restart: recovered by itself"
        );
        assert_eq!(Outcomes::get(&outcomes.overflow), 0);
        assert_eq!(outcomes.others(), Vec::<String>::new());
        assert_eq!(
            (client.in_flight(), client.queued()),
            (0, 0),
            "every slot came back"
        );
        let stats = second.admin().stats(CLUSTER).await.unwrap();
        assert_eq!(stats.upstream_rq_pending_overflow, 0);
    });
    assert!(envoy_children().is_empty(), "no Envoy outlives the test");
}

#[test]
fn an_upstream_that_stops_answering() {
    let Some((binary, _serial)) = envoy_alone("an_upstream_that_stops_answering") else {
        return;
    };
    runtime().block_on(async {
        let silent = upstream(Duration::from_secs(3600)).await;
        let sidecar = envoy(&binary, &silent, "127.0.0.1:0".parse().unwrap()).await;
        let timeout = Duration::from_millis(300);
        let client = tuner().timeout(timeout).build().unwrap().client;
        let outcomes = Arc::new(Outcomes::default());
        let started = Instant::now();
        let requests: Vec<_> = (0..20)
            .map(|_| {
                let (client, url, outcomes) =
                    (client.clone(), sidecar.url(), Arc::clone(&outcomes));
                tokio::spawn(async move {
                    let began = Instant::now();
                    outcomes.record(client.get(&url).send().await).await;
                    began.elapsed()
                })
            })
            .collect();
        let mut longest = Duration::ZERO;
        for request in requests {
            longest = longest.max(request.await.unwrap());
        }
        assert_eq!(
            Outcomes::get(&outcomes.timeouts),
            20,
            "every request ends at its timeout"
        );
        // 4 slots at first (the pending queue with headroom): 5 rounds of 300 ms at most.
        assert!(longest < timeout * 8, "{longest:?}");
        assert!(started.elapsed() < Duration::from_secs(10));
        assert_eq!(
            (client.in_flight(), client.queued()),
            (0, 0),
            "every slot came back"
        );
    });
    assert!(envoy_children().is_empty(), "no Envoy outlives the test");
}

#[test]
fn ten_times_the_capacity_never_overflows_and_never_hangs() {
    let Some((binary, _serial)) =
        envoy_alone("ten_times_the_capacity_never_overflows_and_never_hangs")
    else {
        return;
    };
    runtime().block_on(async {
        let upstream = upstream(Duration::from_millis(5)).await;
        let sidecar = envoy(&binary, &upstream, "127.0.0.1:0".parse().unwrap()).await;
        let queue_timeout = Duration::from_millis(30);
        let client = tuner().queue_timeout(queue_timeout).build().unwrap().client;
        assert_eq!(client.options().queue_timeout, queue_timeout);
        // The sidecar admits 10 (5 connections + 5 pending): offer 100 callers until 500
        // requests were answered and some were refused by admission (30 s at most).
        let (stop, outcomes) = (
            Arc::new(AtomicBool::new(false)),
            Arc::new(Outcomes::default()),
        );
        let callers = load(&client, &sidecar.url(), 100, &stop, &outcomes);
        eventually(Duration::from_secs(30), || {
            Outcomes::get(&outcomes.ok) > 500 && Outcomes::get(&outcomes.saturated) > 0
        })
        .await;
        stop.store(true, Ordering::Relaxed);
        finish(callers).await;

        let stats = sidecar.admin().stats(CLUSTER).await.unwrap();
        eprintln!(
            "100 callers: ok {}, saturated {}, Envoy pending overflow {}",
            Outcomes::get(&outcomes.ok),
            Outcomes::get(&outcomes.saturated),
            stats.upstream_rq_pending_overflow
        );
        assert_eq!(
            Outcomes::get(&outcomes.overflow),
            0,
            "no overflow reached the caller"
        );
        assert_eq!(
            stats.upstream_rq_pending_overflow, 0,
            "Envoy counted no overflow"
        );
        assert_eq!(stats.upstream_rq_active_overflow, 0);
        assert!(
            Outcomes::get(&outcomes.ok) > 500,
            "{}",
            Outcomes::get(&outcomes.ok)
        );
        assert!(
            Outcomes::get(&outcomes.saturated) > 0,
            "the excess was refused by admission"
        );
        let failed = Outcomes::get(&outcomes.request_errors) + Outcomes::get(&outcomes.timeouts);
        assert_eq!(failed, 0, "every request succeeded or was Saturated");
        assert_eq!(outcomes.others(), Vec::<String>::new());
        assert_eq!((client.in_flight(), client.queued()), (0, 0));
    });
    assert!(envoy_children().is_empty(), "no Envoy outlives the test");
}

/// Envoy processes started by the CLI with process id `pid` (their files live under
/// `sidecar-tuner-PID-*` in the temp folder), wherever they were reparented.
fn envoys_of(pid: u32) -> Vec<u32> {
    let marker = format!("sidecar-tuner-{pid}-");
    std::fs::read_dir("/proc")
        .unwrap()
        .filter_map(|e| {
            let proc_pid: u32 = e.ok()?.file_name().to_str()?.parse().ok()?;
            let cmdline = std::fs::read(format!("/proc/{proc_pid}/cmdline")).ok()?;
            String::from_utf8_lossy(&cmdline)
                .contains(&marker)
                .then_some(proc_pid)
        })
        .collect()
}

fn long_bench() -> std::process::Child {
    std::process::Command::new(env!("CARGO_BIN_EXE_sidecar-tuner"))
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .args([
            "bench",
            "--dr",
            "fixtures/circuit-breaker.yaml",
            "--host",
            "httpbin",
            "--concurrency",
            "1",
            "--requests",
            "1000000",
            "--time-limit",
            "60s",
            "--clients",
            "tuned",
        ])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap()
}

fn wait_for_envoy(pid: u32) -> Vec<u32> {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let envoys = envoys_of(pid);
        if !envoys.is_empty() || Instant::now() > deadline {
            return envoys;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn gone(pids: &[u32]) -> bool {
    let deadline = Instant::now() + Duration::from_secs(10);
    while Instant::now() < deadline {
        if pids
            .iter()
            .all(|p| !Path::new(&format!("/proc/{p}")).exists())
        {
            return true;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    false
}

#[test]
fn ctrl_c_or_kill_of_the_bench_leaves_no_envoy() {
    let Some((_, _serial)) = envoy_alone("ctrl_c_or_kill_of_the_bench_leaves_no_envoy") else {
        return;
    };
    for signal in [libc::SIGINT, libc::SIGKILL] {
        let mut bench = long_bench();
        let envoys = wait_for_envoy(bench.id());
        assert!(!envoys.is_empty(), "the bench started an Envoy");
        // SAFETY: signalling a child process of this test.
        assert_eq!(unsafe { libc::kill(bench.id() as i32, signal) }, 0);
        let status = bench.wait().unwrap();
        if signal == libc::SIGINT {
            assert_eq!(status.code(), Some(130), "Ctrl-C exits 130");
        }
        assert!(
            gone(&envoys),
            "signal {signal}: Envoy {envoys:?} outlived the bench"
        );
    }
}

#[test]
fn a_sidecar_that_never_answers_is_cut_off_at_the_time_limit() {
    // Connections complete in the backlog, but nothing is ever read or answered.
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = silent.local_addr().unwrap().to_string();
    let started = Instant::now();
    let out = assert_cmd::Command::cargo_bin("sidecar-tuner")
        .unwrap()
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .timeout(Duration::from_secs(30))
        .args([
            "bench",
            "--dr",
            "fixtures/circuit-breaker.yaml",
            "--host",
            "httpbin",
            "--sidecar",
            &addr,
            "--concurrency",
            "2",
            "--requests",
            "50",
            "--time-limit",
            "1s",
            "--format",
            "json",
        ])
        .output()
        .unwrap();
    let took = started.elapsed();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let runs = report["runs"].as_array().unwrap();
    assert_eq!(runs.len(), 3);
    for run in runs {
        assert_eq!(run["ok"], 0, "{run}");
        assert!(run["errors"].as_u64().unwrap() >= 1, "{run}");
        assert_eq!(run["errors"], run["requests"], "{run}");
    }
    assert!(
        took < Duration::from_secs(8),
        "three runs of 1 s took {took:?}"
    );
}
