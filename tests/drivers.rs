//! Issue 16: the clients of other languages through the real local Envoy. Each library's driver
//! (`drivers/`) builds the real client, from the settings `plan --emit LIB-yaml` writes or from
//! the library's defaults, and sends a bounded burst. With the emitted settings no caller sees an
//! overflow and Envoy counts none (on a warm sidecar, for the libraries that keep every
//! connection they open: see below); how much the defaults overflow is a race, reported by the
//! bench (and printed here), not asserted. Without a runtime these tests say SKIPPED and pass,
//! except under `CI=true`, where `scripts/setup.sh` must have installed every one.

mod common;

use std::path::Path;
use std::time::Duration;

use common::{envoy_alone, runtime};
use sidecar_tuner::bench::{
    self, BenchOptions, BenchReport, ClientKind, LibraryClient, SidecarChoice,
};
use sidecar_tuner::istio::load::{LoadOptions, load_file};
use sidecar_tuner::istio::resolve::{Destination, resolve};
use sidecar_tuner::plan::{PlanOptions, derive};

/// Every library client, with the emitted settings and with the defaults; `None` after a skip
/// notice when a runtime is missing (a failure under `CI=true`).
fn library_clients_or_skip(test: &str) -> Option<Vec<LibraryClient>> {
    let clients: Vec<LibraryClient> = LibraryClient::all().collect();
    for client in &clients {
        if let Err(e) = client.runtime() {
            assert!(
                std::env::var("CI").as_deref() != Ok("true"),
                "CI=true and {e}"
            );
            eprintln!("SKIPPED {test}: {e}");
            return None;
        }
    }
    Some(clients)
}

/// Runs `clients` through the destination's sidecar: a fresh Envoy per run, or per call when
/// `warm` (each library's driver then warms it with its own client first).
fn bench(
    rule: &str,
    destination: &Destination,
    clients: Vec<ClientKind>,
    concurrency: usize,
    requests: usize,
    warm: bool,
) -> Option<BenchReport> {
    let (binary, _serial) = envoy_alone(rule)?;
    let loaded = load_file(Path::new(rule), &LoadOptions::default()).unwrap();
    let resolution = resolve(&loaded.rules, destination).unwrap();
    let plan = derive(&resolution.policy, &PlanOptions::default()).unwrap();
    let options = BenchOptions::default()
        .concurrency(vec![concurrency])
        .requests(requests)
        .upstream_latency(Duration::from_millis(5))
        .time_limit(Duration::from_secs(60))
        .clients(clients)
        .sidecar(SidecarChoice::Local {
            binary: Some(binary),
            warm,
        });
    let report = runtime()
        .block_on(bench::run(&resolution, &plan.client, &options, |_, _| {}))
        .unwrap();
    let mut table = Vec::new();
    sidecar_tuner::report::bench_text(&mut table, &report).unwrap();
    eprintln!("{}", String::from_utf8_lossy(&table));
    Some(report)
}

/// What must hold for a client with the emitted settings: every request answered 2xx, none
/// refused by the sidecar, and Envoy's counters agree.
fn assert_no_overflow(report: &BenchReport, requests: usize) {
    for run in &report.runs {
        let ClientKind::Library(client) = run.client else {
            continue;
        };
        if !client.emitted() {
            continue;
        }
        let name = run.client.as_str();
        assert_eq!(run.overflow_503, 0, "{name}: {run:?}");
        assert_eq!(run.envoy_pending_overflow, Some(0), "{name}: {run:?}");
        assert_eq!(run.envoy_active_overflow, Some(0), "{name}: {run:?}");
        assert_eq!((run.ok, run.errors), (requests, 0), "{name}: {run:?}");
    }
}

#[test]
fn circuit_breaking_task_rule_with_every_library() {
    let test = "circuit_breaking_task_rule_with_every_library";
    let Some(clients) = library_clients_or_skip(test) else {
        return;
    };
    let clients = clients.into_iter().map(ClientKind::Library).collect();
    let Some(report) = bench(
        "fixtures/circuit-breaker.yaml",
        &Destination::new("httpbin"),
        clients,
        3,
        300,
        false,
    ) else {
        return;
    };
    assert_eq!(report.runs.len(), 14);
    assert_no_overflow(&report, 300);
    // With the defaults, every overflow a caller sees was refused and counted by Envoy (it may
    // count more: HttpClient 5 retries a 503 once by default).
    for run in &report.runs {
        let counted = run.envoy_pending_overflow.unwrap() + run.envoy_active_overflow.unwrap();
        assert!(counted >= run.overflow_503 as u64, "{run:?}");
    }
}

#[test]
fn twenty_connections_five_pending_at_64_callers_on_a_warm_sidecar() {
    let test = "twenty_connections_five_pending_at_64_callers_on_a_warm_sidecar";
    let Some(clients) = library_clients_or_skip(test) else {
        return;
    };
    for client in clients.into_iter().filter(|c| c.emitted()) {
        let Some(report) = bench(
            "fixtures/bench/pool-20-5.yaml",
            &Destination::new("backend"),
            vec![ClientKind::Library(client)],
            64,
            2000,
            true,
        ) else {
            return;
        };
        // OkHttp, httpx and Node's http keep fewer idle connections (19, the plan's idle pool)
        // than they send requests at once (23): after the warm-up they close 4 and open 4 new
        // ones for the burst, which the kernel hands to either of Envoy's 2 workers. Envoy's
        // pools are per worker and its breakers shared: with all 20 upstream connections open,
        // a worker that got more downstream connections than it holds upstream ones queues
        // the rest as pending while the other's sit idle, for as long as the burst lasts. Seen
        // with OkHttp in 2 of about 25 CI-style runs (723 and 332 of 2000 overflowed, Envoy
        // agreeing, 4 connections opened); a race, so their warm runs are reported, not asserted.
        // The others keep every connection they open (aiohttp, undici, HttpClient 5: 23;
        // urllib3: 19, its bound).
        use sidecar_tuner::settings::Vocabulary::{Httpx, NodeHttp, OkHttp};
        if matches!(client.library(), OkHttp | Httpx | NodeHttp) {
            continue;
        }
        assert_no_overflow(&report, 2000);
    }
}
