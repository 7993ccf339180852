//! The three-client comparison through a real local Envoy over a grid of rules and
//! concurrencies: `cargo bench --bench sidecar` (Envoy from `scripts/setup.sh` or ENVOY_BIN).
//! With `--features peers`, tower-acc's Vegas and AIMD limiters run beside them.
//! Prints one table per rule; `-- --quick` runs a smaller grid, and other arguments pick the
//! cases whose rule, host or `processes=N` contain them all (`-- processes=2`).

use std::path::Path;
use std::time::Duration;

use sidecar_tuner::bench::{self, BenchOptions, ClientKind};
use sidecar_tuner::istio::load::{LoadOptions, load_file};
use sidecar_tuner::istio::resolve::{Destination, resolve};
use sidecar_tuner::plan::{PlanOptions, derive};
use sidecar_tuner::report::bench_text;

struct Case {
    rule: &'static str,
    destination: Destination,
    concurrency: &'static [usize],
    requests: usize,
    latency_ms: u64,
    /// Clients of each kind sharing the sidecar, as processes of one pod would.
    processes: usize,
    /// The processes each client is planned for: 1 is "alone", as if it had the sidecar to
    /// itself.
    planned_for: u32,
}

fn main() {
    let quick = std::env::args().any(|a| a == "--quick");
    let filters: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with("--"))
        .collect();
    let reviews = Destination::new("reviews").namespace("bookinfo");
    let cases = [
        Case {
            rule: "fixtures/circuit-breaker.yaml",
            destination: Destination::new("httpbin"),
            concurrency: &[1, 3, 8],
            requests: 300,
            latency_ms: 5,
            processes: 1,
            planned_for: 1,
        },
        Case {
            rule: "fixtures/bench/pool-20-5.yaml",
            destination: Destination::new("backend"),
            concurrency: &[8, 64],
            requests: 5000,
            latency_ms: 5,
            processes: 1,
            planned_for: 1,
        },
        Case {
            rule: "fixtures/bench/max-requests-2.yaml",
            destination: Destination::new("backend"),
            concurrency: &[5],
            requests: 300,
            latency_ms: 5,
            processes: 1,
            planned_for: 1,
        },
        Case {
            rule: "fixtures/bench/cold-100-10.yaml",
            destination: Destination::new("backend"),
            concurrency: &[64, 200],
            requests: 20_000,
            latency_ms: 1,
            processes: 1,
            planned_for: 1,
        },
        Case {
            rule: "fixtures/reviews.yaml",
            destination: reviews.clone().subset("v2"),
            concurrency: &[64],
            requests: 6000,
            latency_ms: 5,
            processes: 1,
            planned_for: 1,
        },
        Case {
            rule: "fixtures/reviews.yaml",
            destination: reviews.port(9443),
            concurrency: &[64],
            requests: 6000,
            latency_ms: 5,
            processes: 1,
            planned_for: 1,
        },
        // Two processes behind one sidecar: planned alone, then each for its share.
        Case {
            rule: "fixtures/bench/pool-20-5.yaml",
            destination: Destination::new("backend"),
            concurrency: &[64],
            requests: 5000,
            latency_ms: 5,
            processes: 2,
            planned_for: 1,
        },
        Case {
            rule: "fixtures/bench/pool-20-5.yaml",
            destination: Destination::new("backend"),
            concurrency: &[64],
            requests: 5000,
            latency_ms: 5,
            processes: 2,
            planned_for: 2,
        },
    ];
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a runtime");
    let mut out = std::io::stdout().lock();
    for case in &cases {
        let name = format!(
            "{} {} processes={}",
            case.rule, case.destination, case.processes
        );
        if !filters.iter().all(|f| name.contains(f.as_str())) {
            continue;
        }
        let loaded = load_file(Path::new(case.rule), &LoadOptions::default()).expect("a fixture");
        let resolution = resolve(&loaded.rules, &case.destination).expect("a destination");
        let plan = derive(
            &resolution.policy,
            &PlanOptions::default().processes(case.planned_for),
        )
        .expect("a plan");
        let clients = ClientKind::ALL.into_iter();
        // `--features peers`: tower-acc's generic limiters beside them.
        #[cfg(feature = "peers")]
        let clients = clients.chain(sidecar_tuner::bench::Peer::ALL.map(ClientKind::Peer));
        let options = BenchOptions::default()
            .clients(clients.collect::<Vec<_>>())
            .processes(case.processes)
            .concurrency(case.concurrency)
            .requests(if quick {
                case.requests / 10
            } else {
                case.requests
            })
            .upstream_latency(Duration::from_millis(case.latency_ms));
        let report = runtime
            .block_on(bench::run(&resolution, &plan.client, &options, |_, _| {}))
            .expect("Envoy runs: see scripts/setup.sh");
        println!(
            "\n{} ({}), {} requests per run, upstream {} ms, ceiling {}{}",
            resolution.destination,
            case.rule,
            options.requests,
            case.latency_ms,
            plan.client
                .max_in_flight
                .map_or_else(|| "unlimited".to_owned(), |c| c.to_string()),
            match (case.processes, case.planned_for) {
                (1, _) => String::new(),
                (k, 1) => format!(" per process, {k} processes each planned alone"),
                (k, _) => format!(" per process, {k} processes each planned for its share"),
            }
        );
        bench_text(&mut out, &report).expect("stdout");
    }
}
