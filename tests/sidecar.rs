//! The local sidecar with the real Envoy: every fixture's rendering passes `envoy --mode
//! validate`; Envoy starts, reports ready and leaves no process behind; and, end to end, the
//! tuned client's callers never see an overflow and Envoy counts none in the cases of the spec
//! (but a rare refusal, retried, on the cold sidecar at 200 callers), every request answered.
//! Without Envoy these tests say so and pass, except under `CI=true`.

mod common;

use std::collections::HashSet;
use std::net::SocketAddr;
use std::path::Path;
use std::time::{Duration, Instant};

use assert_cmd::Command;
use common::{
    destinations_of_every_fixture, envoy_alone, envoy_children, runtime, statuses_of_callers,
    upstream,
};
use serde_json::Value;
use sidecar_tuner::Tuner;
use sidecar_tuner::bench::{self, BenchOptions, BenchReport, ClientKind, RunResult, SidecarChoice};
use sidecar_tuner::envoy::{RenderOptions, render};
use sidecar_tuner::istio::MeshConfig;
use sidecar_tuner::istio::load::{LoadOptions, load_file, load_str};
use sidecar_tuner::istio::resolve::{Destination, MeshIndex, resolve};
use sidecar_tuner::plan::{PlanOptions, derive};
use sidecar_tuner::sidecar::Envoy;

#[test]
fn every_fixture_renders_a_bootstrap_envoy_accepts() {
    let Some((binary, _serial)) = envoy_alone("every_fixture_renders_a_bootstrap_envoy_accepts")
    else {
        return;
    };
    let dir = std::env::temp_dir().join(format!("sidecar-tuner-validate-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let options = RenderOptions::new("127.0.0.1:9".parse().unwrap());
    let mut seen = HashSet::new();
    let destinations = destinations_of_every_fixture();
    for (path, destination) in &destinations {
        let loaded = load_file(path, &LoadOptions::default()).unwrap();
        let Ok(resolution) = resolve(&loaded.rules, destination) else {
            continue;
        };
        let bootstrap = render(&resolution, &options).to_string();
        if !seen.insert(bootstrap.clone()) {
            continue;
        }
        let file = dir.join(format!("{}.json", seen.len()));
        std::fs::write(&file, &bootstrap).unwrap();
        let out = std::process::Command::new(&binary)
            .args(["--mode", "validate", "--log-level", "error", "-c"])
            .arg(&file)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{} {destination}: {}\n{bootstrap}",
            path.display(),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    std::fs::remove_dir_all(&dir).unwrap();
    assert!(seen.len() >= 20, "{} distinct renderings", seen.len());
}

fn bootstrap_for(rule: &str, destination: &Destination, upstream: SocketAddr) -> Value {
    let loaded = load_file(Path::new(rule), &LoadOptions::default()).unwrap();
    let resolution = resolve(&loaded.rules, destination).unwrap();
    render(&resolution, &RenderOptions::new(upstream))
}

#[test]
fn envoy_starts_ready_counts_and_leaves_nothing_behind() {
    let Some((binary, _serial)) =
        envoy_alone("envoy_starts_ready_counts_and_leaves_nothing_behind")
    else {
        return;
    };
    runtime().block_on(async {
        let upstream = upstream(Duration::ZERO).await;
        let bootstrap = bootstrap_for(
            "fixtures/circuit-breaker.yaml",
            &Destination::new("httpbin"),
            upstream.addr(),
        );
        let envoy = Envoy::start(&binary, &bootstrap).await.unwrap();
        let pid = envoy.pid();
        assert!(Path::new(&format!("/proc/{pid}")).exists());
        let response = reqwest::get(envoy.url()).await.unwrap();
        assert_eq!(response.status(), 200);
        assert_eq!(response.text().await.unwrap(), "ok");
        let cluster = "outbound|80||httpbin.default.svc.cluster.local";
        let stats = envoy.admin().stats(cluster).await.unwrap();
        assert_eq!((stats.upstream_rq_total, stats.upstream_cx_total), (1, 1));
        assert_eq!(stats.downstream_cx_total, 1);
        drop(envoy);
        assert!(
            !Path::new(&format!("/proc/{pid}")).exists(),
            "stopped on drop"
        );
    });
    assert!(envoy_children().is_empty());
}

#[test]
fn an_envoy_that_cannot_start_says_why_and_is_gone() {
    let Some((binary, _serial)) = envoy_alone("an_envoy_that_cannot_start_says_why_and_is_gone")
    else {
        return;
    };
    runtime().block_on(async {
        let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let mut bootstrap = bootstrap_for(
            "fixtures/circuit-breaker.yaml",
            &Destination::new("httpbin"),
            "127.0.0.1:9".parse().unwrap(),
        );
        let port = taken.local_addr().unwrap().port();
        bootstrap["static_resources"]["listeners"][0]["address"]["socket_address"]["port_value"] =
            port.into();
        let start = Instant::now();
        let err = Envoy::start(&binary, &bootstrap).await.unwrap_err();
        assert!(start.elapsed() < Duration::from_secs(20));
        let message = err.to_string();
        assert!(message.contains("its log ends with"), "{message}");
        assert!(
            message.to_lowercase().contains("address already in use"),
            "{message}"
        );

        bootstrap["static_resources"]["clusters"][0]["lb_policy"] = "NO_SUCH_POLICY".into();
        let err = Envoy::start(&binary, &bootstrap).await.unwrap_err();
        assert!(err.to_string().contains("NO_SUCH_POLICY"), "{err}");

        // A binary that is not Envoy exits without a word: the error says where to look.
        let err = Envoy::start(std::path::Path::new("/bin/false"), &bootstrap)
            .await
            .unwrap_err();
        assert!(
            err.to_string()
                .contains("wrote nothing to its log: is the binary Envoy?"),
            "{err}"
        );
    });
    assert!(envoy_children().is_empty());
}

/// The best goodput of each client over the repeats, and every run for the checks that must
/// hold in each.
struct Comparison {
    runs: Vec<RunResult>,
}

impl Comparison {
    fn best(&self, client: ClientKind, concurrency: usize) -> &RunResult {
        self.runs
            .iter()
            .filter(|r| r.client == client && r.concurrency == concurrency)
            .max_by(|a, b| a.goodput_rps.total_cmp(&b.goodput_rps))
            .unwrap()
    }

    fn all(&self, client: ClientKind, concurrency: usize) -> impl Iterator<Item = &RunResult> {
        self.runs
            .iter()
            .filter(move |r| r.client == client && r.concurrency == concurrency)
    }
}

/// One comparison of the three clients: a rule, the destination, the callers and the load.
struct Case {
    rule: &'static str,
    destination: Destination,
    concurrency: &'static [usize],
    requests: usize,
    latency: Duration,
    /// Runs of every client, each through a fresh Envoy.
    repeats: usize,
    /// Clients of each kind sharing the sidecar, each planned for its share.
    processes: u32,
    /// Refusals Envoy may count for the tuned client in one run at these callers, each retried
    /// by the client (its callers must still see none); none anywhere else.
    refusals_allowed: Option<(usize, u64)>,
}

impl Case {
    fn new(
        rule: &'static str,
        destination: Destination,
        concurrency: &'static [usize],
        requests: usize,
        latency: Duration,
    ) -> Self {
        Self {
            rule,
            destination,
            concurrency,
            requests,
            latency,
            repeats: 1,
            processes: 1,
            refusals_allowed: None,
        }
    }

    fn repeats(self, repeats: usize) -> Self {
        Self { repeats, ..self }
    }

    fn processes(self, processes: u32) -> Self {
        Self { processes, ..self }
    }

    fn refusals_allowed(self, concurrency: usize, refusals: u64) -> Self {
        Self {
            refusals_allowed: Some((concurrency, refusals)),
            ..self
        }
    }

    fn refusals_allowed_at(&self, concurrency: usize) -> u64 {
        match self.refusals_allowed {
            Some((at, refusals)) if at == concurrency => refusals,
            _ => 0,
        }
    }
}

/// Runs the three clients of `case` through a fresh Envoy per run and checks what must hold for
/// the tuned client in every run, whatever the machine's load: no overflow seen by its callers,
/// none counted by Envoy (but the case's allowance), every request answered 2xx. How much the
/// other clients overflow and how the goodputs compare are races and timings: `cargo bench
/// --bench sidecar` and `bench` report them, the tests do not assert them.
fn compare(case: Case) -> Option<Comparison> {
    let rule = case.rule;
    let (binary, _serial) = envoy_alone(rule)?;
    let loaded = load_file(Path::new(rule), &LoadOptions::default()).unwrap();
    let resolution = resolve(&loaded.rules, &case.destination).unwrap();
    let plan = derive(
        &resolution.policy,
        &PlanOptions::default().processes(case.processes),
    )
    .unwrap();
    let options = BenchOptions::default()
        .processes(case.processes as usize)
        .concurrency(case.concurrency)
        .requests(case.requests)
        .upstream_latency(case.latency)
        .time_limit(Duration::from_secs(60))
        .clients(ClientKind::ALL)
        .sidecar(SidecarChoice::Local {
            binary: Some(binary),
            warm: false,
        });
    let mut runs = Vec::new();
    let rt = runtime();
    for _ in 0..case.repeats {
        let report: BenchReport = rt
            .block_on(bench::run(&resolution, &plan.client, &options, |_, _| {}))
            .unwrap();
        runs.extend(report.runs);
    }
    drop(rt);
    assert!(envoy_children().is_empty(), "no Envoy outlives the bench");
    let comparison = Comparison { runs };
    for &c in case.concurrency {
        for tuned in comparison.all(ClientKind::Tuned, c) {
            assert_eq!(tuned.overflow_503, 0, "{rule} at {c}: {tuned:?}");
            let refused = tuned
                .envoy_pending_overflow
                .zip(tuned.envoy_active_overflow);
            assert!(
                refused.is_some_and(|(pending, active)| {
                    pending + active <= case.refusals_allowed_at(c)
                }),
                "{rule} at {c}: {tuned:?}"
            );
            assert_eq!(
                (tuned.ok, tuned.errors),
                (case.requests, 0),
                "{rule} at {c}: {tuned:?}"
            );
        }
    }
    Some(comparison)
}

#[test]
fn istio_circuit_breaking_task_rule() {
    let Some(c) = compare(Case::new(
        "fixtures/circuit-breaker.yaml",
        Destination::new("httpbin"),
        &[3],
        300,
        Duration::from_millis(5),
    )) else {
        return;
    };
    let default = c.best(ClientKind::Default, 3);
    assert_eq!(
        default.envoy_pending_overflow,
        Some(default.overflow_503 as u64),
        "Envoy counts what the client sees"
    );
}

#[test]
fn twenty_connections_five_pending_at_64_callers() {
    let Some(c) = compare(Case::new(
        "fixtures/bench/pool-20-5.yaml",
        Destination::new("backend"),
        &[64],
        5000,
        Duration::from_millis(5),
    )) else {
        return;
    };
    let default = c.best(ClientKind::Default, 64);
    assert_eq!(
        default.envoy_pending_overflow.unwrap() + default.envoy_active_overflow.unwrap(),
        default.overflow_503 as u64,
        "Envoy counts what the client sees"
    );
}

/// Two processes behind one sidecar (issue 15): two tuned clients, each planned with
/// `processes(2)` (ceiling floor(0.95 x 25 / 2) = 11, start floor(0.95 x 5 / 2) = 2), share
/// the 20-connection / 5-pending sidecar with 64 callers spread over them: never an overflow,
/// seen or counted. (Two clients planned alone, 23 each, overflow it together; that race is
/// in `cargo bench --bench sidecar`'s report.)
#[test]
fn two_processes_planned_for_their_share_never_overflow_together() {
    let Some(c) = compare(
        Case::new(
            "fixtures/bench/pool-20-5.yaml",
            Destination::new("backend"),
            &[64],
            5000,
            Duration::from_millis(5),
        )
        .processes(2),
    ) else {
        return;
    };
    let tuned = c.best(ClientKind::Tuned, 64);
    assert!(
        tuned.final_limit.is_some_and(|l| l <= 2 * 11),
        "two limits of at most 11 each: {tuned:?}"
    );
}

#[test]
fn http2_max_requests_binds_http1_too() {
    let Some(c) = compare(Case::new(
        "fixtures/bench/max-requests-2.yaml",
        Destination::new("backend"),
        &[5],
        300,
        Duration::from_millis(5),
    )) else {
        return;
    };
    // Whatever overflows here overflows max_requests (R = 2), never the pending queue: Envoy
    // applies http2MaxRequests to HTTP/1.1 too.
    let default = c.best(ClientKind::Default, 5);
    assert_eq!(default.envoy_pending_overflow, Some(0), "{default:?}");
    assert_eq!(
        default.envoy_active_overflow,
        Some(default.overflow_503 as u64),
        "{default:?}"
    );
}

/// At 200 callers Envoy may count up to 2 refusals a run: on 2026-12-02 it counted one in 4
/// of 380 runs of the tuned client there, and two in one of 300 more (README, "What the model
/// assumes"), a race, not a promise of the rule. The fixed bound, with no warm-up, is refused
/// 34 to 177 times a run on this case, so a rule that lost its warm-up still fails this.
#[test]
fn cold_start_below_max_connections() {
    compare(
        Case::new(
            "fixtures/bench/cold-100-10.yaml",
            Destination::new("backend"),
            &[64, 200],
            20_000,
            Duration::from_millis(1),
        )
        .repeats(2)
        .refusals_allowed(200, 2),
    );
}

#[test]
fn subset_and_port_level_policies() {
    let reviews = Destination::new("reviews").namespace("bookinfo");
    // Subset v2: maxConnections 40, pending 4, http2MaxRequests 30: ceiling 28.
    compare(
        Case::new(
            "fixtures/reviews.yaml",
            reviews.clone().subset("v2"),
            &[64],
            6000,
            Duration::from_millis(5),
        )
        .repeats(2),
    );
    // Port 9443: maxConnections 20, pending 5, the top level's other limits dropped.
    compare(
        Case::new(
            "fixtures/reviews.yaml",
            reviews.port(9443),
            &[64],
            6000,
            Duration::from_millis(5),
        )
        .repeats(2),
    );
}

fn cli(args: &[&str]) -> std::process::Output {
    Command::cargo_bin("sidecar-tuner")
        .unwrap()
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .args(args)
        .timeout(Duration::from_secs(120))
        .output()
        .unwrap()
}

/// `bench` on Istio's circuit-breaking task rule.
const TASK_RULE_BENCH: [&str; 5] = [
    "bench",
    "--dr",
    "fixtures/circuit-breaker.yaml",
    "--host",
    "httpbin",
];

#[test]
fn the_bench_command_prints_json_runs() {
    let Some((_, _serial)) = envoy_alone("the_bench_command_prints_json_runs") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let chart = dir.path().join("bench.svg");
    let out = cli(&[
        &TASK_RULE_BENCH[..],
        &[
            "--concurrency",
            "1,3",
            "--requests",
            "100",
            "--format",
            "json",
            "--svg",
            chart.to_str().unwrap(),
        ],
    ]
    .concat());
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(
        doc["envoy_version"].as_str().unwrap().starts_with("1."),
        "{doc}"
    );
    assert!(doc["rule"].as_str().unwrap().contains("default/httpbin"));
    let runs = doc["runs"].as_array().unwrap();
    assert_eq!(runs.len(), 6);
    for run in runs {
        for key in [
            "client",
            "concurrency",
            "requests",
            "ok",
            "overflow_503",
            "envoy_pending_overflow",
            "envoy_active_overflow",
            "goodput_rps",
            "p50_ms",
            "p99_ms",
            "max_ms",
            "connections_opened",
        ] {
            assert!(run.get(key).is_some(), "{key} in {run}");
        }
    }
    assert_eq!(runs[0]["client"], "default");
    assert_eq!(runs[0]["concurrency"], 1);
    // `--svg`: the same runs as a chart, a legend entry per client, the latency at 3 callers.
    let svg = std::fs::read_to_string(&chart).unwrap();
    assert!(svg.starts_with("<svg") && svg.trim_end().ends_with("</svg>"));
    for text in [
        "\ndefault\n",
        "\nfixed\n",
        "\ntuned\n",
        "at 3 callers",
        "default/httpbin",
    ] {
        assert!(svg.contains(text), "{text} in the chart");
    }
    assert_eq!(
        runs[0]["ok"], 100,
        "one caller never overflows: {}",
        runs[0]
    );
}

/// A chart that cannot be written fails before any run, not after minutes of them.
#[test]
fn an_svg_path_that_cannot_be_created_fails_at_once() {
    let start = Instant::now();
    let out = cli(&[
        &TASK_RULE_BENCH[..],
        &["--svg", "/nonexistent-dir/bench.svg"],
    ]
    .concat());
    assert!(start.elapsed() < Duration::from_secs(10));
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("cannot create the chart `/nonexistent-dir/bench.svg`"),
        "{stderr}"
    );
}

#[test]
fn a_sidecar_address_that_does_not_answer_is_a_clear_error() {
    let closed = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap()
    };
    let start = Instant::now();
    let closed = closed.to_string();
    let out = cli(&[
        &TASK_RULE_BENCH[..],
        &["--sidecar", &closed, "--requests", "10"],
    ]
    .concat());
    assert!(start.elapsed() < Duration::from_secs(10));
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(&format!("cannot connect to the sidecar at {closed}")),
        "{stderr}"
    );
}

#[test]
fn render_envoy_prints_the_bootstrap() {
    let out = cli(&[
        "render-envoy",
        "fixtures/reviews.yaml",
        "--host",
        "reviews",
        "-n",
        "bookinfo",
        "--port",
        "9443",
        "--upstream",
        "127.0.0.1:9080",
    ]);
    assert_eq!(out.status.code(), Some(0));
    let boot: Value = serde_json::from_slice(&out.stdout).unwrap();
    let cluster = &boot["static_resources"]["clusters"][0];
    assert_eq!(
        cluster["name"],
        "outbound|9443||reviews.bookinfo.svc.cluster.local"
    );
    assert_eq!(
        cluster["circuit_breakers"]["thresholds"][0]["max_connections"],
        20
    );
    assert_eq!(
        boot["admin"]["address"]["socket_address"]["port_value"],
        15000
    );
}

/// Issue 18, part 6: tower-acc's Vegas and AIMD limiters (feature `peers`) run through the real
/// Envoy beside the aligned clients, each request answered once. They do not retry, so every
/// overload 503 a caller saw is one Envoy refused and counted, and the other way round; how
/// many they overflow is a race, in the bench report (README), not asserted here.
#[cfg(feature = "peers")]
#[test]
fn generic_limiters_send_each_request_once_through_the_sidecar() {
    use sidecar_tuner::bench::Peer;
    let rule = "fixtures/bench/pool-20-5.yaml";
    let Some((binary, _serial)) = envoy_alone(rule) else {
        return;
    };
    let loaded = load_file(Path::new(rule), &LoadOptions::default()).unwrap();
    let resolution = resolve(&loaded.rules, &Destination::new("backend")).unwrap();
    let plan = derive(&resolution.policy, &PlanOptions::default()).unwrap();
    let options = BenchOptions::default()
        .concurrency(vec![64])
        .requests(1000)
        .upstream_latency(Duration::from_millis(5))
        .time_limit(Duration::from_secs(60))
        .clients(Peer::ALL.map(ClientKind::Peer))
        .sidecar(SidecarChoice::Local {
            binary: Some(binary),
            warm: false,
        });
    let report = runtime()
        .block_on(bench::run(&resolution, &plan.client, &options, |_, _| {}))
        .unwrap();
    let names: Vec<&str> = report.runs.iter().map(|r| r.client.as_str()).collect();
    assert_eq!(names, ["acc-vegas", "acc-aimd"]);
    for run in &report.runs {
        assert_eq!(run.ok + run.overflow_503, 1000, "{run:?}");
        assert_eq!(run.errors, 0, "{run:?}");
        let counted = run.envoy_pending_overflow.unwrap() + run.envoy_active_overflow.unwrap();
        assert_eq!(counted, run.overflow_503 as u64, "{run:?}");
    }
}

/// A Service port named `tcp-api` is TCP (pkg/config/kube `ConvertProtocol`): Istio's listener
/// for it is a `tcp_proxy` (networkfilter.go `buildOutboundNetworkFiltersWithSingleDestination`),
/// where each client connection, idle or not, holds one upstream connection. Measured with
/// Envoy 1.40 before the plan was derived: with `maxConnections: 2`, a third connection was
/// reset at once (`upstream_cx_overflow`), whatever the pending queue, also while the first
/// two sat idle; opened together on a cold sidecar, connections wait as pending while their
/// upstream connections open. So the ceiling is floor(0.95 x 4) = 3 connections (not
/// floor(0.95 x min(4 + 2, 6)) = 5), the start floor(0.95 x 2) = 1, and the tuned client sends
/// 16 callers' requests through the real Envoy with nothing reset or refused.
#[test]
fn a_tcp_port_is_admitted_by_connections_and_the_plan_follows() {
    let Some((binary, _serial)) =
        envoy_alone("a_tcp_port_is_admitted_by_connections_and_the_plan_follows")
    else {
        return;
    };
    let input = "apiVersion: networking.istio.io/v1\nkind: DestinationRule\nmetadata: {name: svc, namespace: default}\nspec:\n  host: svc\n  trafficPolicy:\n    connectionPool:\n      tcp: {maxConnections: 4, idleTimeout: 30s}\n      http: {http1MaxPendingRequests: 2, http2MaxRequests: 6, idleTimeout: 5s}\n---\napiVersion: v1\nkind: Service\nmetadata: {name: svc, namespace: default}\nspec:\n  ports: [{name: tcp-api, port: 80}]\n";
    let tuner = Tuner::from_yaml_str(input)
        .unwrap()
        .host("svc")
        .port(80)
        .queue_timeout(Duration::from_secs(20));
    let plan = tuner.plan().unwrap();
    assert_eq!(plan.max_in_flight, Some(3));
    assert_eq!(plan.pool_max_idle_per_host, Some(3));
    assert_eq!(plan.initial_in_flight, Some(1));
    // The tcp_proxy's idle timeout is `tcp.idleTimeout` (0.9 x 30s); `http.idleTimeout` (5s)
    // does not apply.
    assert_eq!(plan.pool_idle_timeout, Duration::from_secs(27));
    runtime().block_on(async {
        let upstream = upstream(Duration::from_millis(5)).await;
        let loaded = load_str(input, &"svc.yaml".into(), &LoadOptions::default());
        let mesh = MeshConfig::default();
        let destination = loaded.complete(&Destination::new("svc").port(80), &mesh);
        let index = MeshIndex::new(&loaded.rules, &mesh, "default");
        let resolution = index.resolve(&destination).unwrap();
        let bootstrap = render(&resolution, &RenderOptions::new(upstream.addr()));
        let filter =
            &bootstrap["static_resources"]["listeners"][0]["filter_chains"][0]["filters"][0];
        assert_eq!(
            filter["name"], "envoy.filters.network.tcp_proxy",
            "{filter}"
        );
        assert_eq!(filter["typed_config"]["idle_timeout"], "30s");
        let envoy = Envoy::start(&binary, &bootstrap).await.unwrap();
        let client = tuner.build().unwrap().client;
        let url = envoy.url();
        let statuses = statuses_of_callers(&client, &url, 16, 10).await;
        assert_eq!(statuses.len(), 160);
        assert!(statuses.iter().all(|s| *s == 200), "{statuses:?}");
        let stats = envoy
            .admin()
            .stats("outbound|80||svc.default.svc.cluster.local")
            .await
            .unwrap();
        assert_eq!(stats.upstream_cx_overflow, 0, "{stats:?}");
        assert_eq!(stats.upstream_rq_pending_overflow, 0, "{stats:?}");
        assert!(stats.upstream_cx_total >= 1, "{stats:?}");
    });
    assert!(envoy_children().is_empty());
}
