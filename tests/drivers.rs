//! Issue 16: the clients of other languages through the real local Envoy. Each library's driver
//! (`drivers/`) builds the real client, from the settings `plan --emit LIB-yaml` writes or from
//! the library's defaults, and sends a bounded burst. With the emitted settings no caller sees an
//! overflow and Envoy counts none; how much the defaults overflow is a race, reported by the
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
        assert_no_overflow(&report, 2000);
    }
}
