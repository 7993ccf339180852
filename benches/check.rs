//! `cargo bench --bench check`: the whole `check` (load, validate, lint) of a generated mesh
//! export, side by side with PyYAML's C loader merely loading the same file, and the growth
//! from 10,000 to 40,000 rules.
//!
//! PyYAML comes from the project's venv (`scripts/setup.sh`), else from `python3`.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

use sidecar_tuner::check::lint_rules;
use sidecar_tuner::istio::MeshConfig;
use sidecar_tuner::istio::load::{LoadOptions, load_str};
use sidecar_tuner::istio::resolve::MeshIndex;

/// A mesh export of `rules` DestinationRules, as `kubectl get -o yaml` prints them, one per
/// document: connection pools, outlier detection, port-level settings and subsets.
fn mesh_export(rules: usize) -> String {
    let mut out = String::with_capacity(rules * 950);
    for i in 0..rules {
        let ns = format!("team-{}", i % 50);
        write!(
            out,
            "---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata:
  name: svc-{i}
  namespace: {ns}
spec:
  host: svc-{i}.{ns}.svc.cluster.local
  trafficPolicy:
    connectionPool:
      tcp:
        maxConnections: {n}
        connectTimeout: {c}s
      http:
        http1MaxPendingRequests: {p}
        http2MaxRequests: {r}
        idleTimeout: {idle}s
    outlierDetection:
      consecutive5xxErrors: 5
      interval: 10s
      baseEjectionTime: 30s
      maxEjectionPercent: 50
    portLevelSettings:
    - port:
        number: 8080
      connectionPool:
        tcp:
          maxConnections: {pn}
        http:
          http1MaxPendingRequests: 20
      outlierDetection:
        consecutive5xxErrors: 7
  subsets:
  - name: v1
    labels:
      version: v1
  - name: v2
    labels:
      version: v2
    trafficPolicy:
      connectionPool:
        tcp:
          maxConnections: {sn}
        http:
          http1MaxPendingRequests: 5
",
            n = 100 + i % 400,
            c = 1 + i % 5,
            p = 10 + i % 90,
            r = 500 + i % 1000,
            idle = 30 + i % 60,
            pn = 50 + i % 100,
            sn = 20 + i % 30,
        )
        .unwrap();
    }
    out
}

/// The best of `runs` timings of `f`.
fn best_of<T>(runs: usize, mut f: impl FnMut() -> T) -> Duration {
    (0..runs)
        .map(|_| {
            let started = Instant::now();
            std::hint::black_box(f());
            started.elapsed()
        })
        .min()
        .unwrap()
}

fn check(text: &str) -> usize {
    let loaded = load_str(text, &Arc::from("mesh.yaml"), &LoadOptions::default());
    assert!(loaded.findings.is_empty(), "{:?}", &loaded.findings[..1]);
    let mesh = MeshConfig::default();
    let index = MeshIndex::new(&loaded.rules, &mesh, "default");
    loaded.rules.len() + lint_rules(&index).len()
}

fn python() -> PathBuf {
    let venv = Path::new(env!("CARGO_MANIFEST_DIR")).join(".venv/bin/python");
    if venv.exists() {
        venv
    } else {
        PathBuf::from("python3")
    }
}

/// PyYAML's C loader loading `path`, best of `runs`, timed inside Python (no start-up).
fn pyyaml_load(path: &Path, runs: usize) -> Option<Duration> {
    let script = "import sys, time, yaml
best = None
for _ in range(int(sys.argv[2])):
    with open(sys.argv[1], 'rb') as f:
        data = f.read()
    t = time.perf_counter()
    docs = list(yaml.load_all(data, Loader=yaml.CSafeLoader))
    e = time.perf_counter() - t
    best = e if best is None else min(best, e)
print(best)";
    let out = Command::new(python())
        .args(["-c", script, path.to_str()?, &runs.to_string()])
        .output()
        .ok()?;
    if !out.status.success() {
        eprintln!(
            "PyYAML comparison skipped: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        );
        return None;
    }
    String::from_utf8_lossy(&out.stdout)
        .trim()
        .parse::<f64>()
        .ok()
        .map(Duration::from_secs_f64)
}

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/bench-data");
    std::fs::create_dir_all(&dir).unwrap();
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    println!("check benchmark ({cores} cores), best of 3");
    let mut per_rule = Vec::new();
    for rules in [10_000, 20_000, 40_000] {
        let text = mesh_export(rules);
        let path = dir.join(format!("mesh-{rules}.yaml"));
        std::fs::write(&path, &text).unwrap();
        let ours = best_of(3, || check(&text));
        let mb = text.len() as f64 / 1e6;
        let ns_per_rule = ours.as_nanos() as f64 / rules as f64;
        per_rule.push(ns_per_rule);
        print!(
            "{rules:>6} rules  {mb:>5.1} MB  check {:>7.3} s  ({:>5.1} us/rule)",
            ours.as_secs_f64(),
            ns_per_rule / 1e3
        );
        if rules == 10_000 {
            match pyyaml_load(&path, 3) {
                Some(py) => print!(
                    "  PyYAML CSafeLoader load {:.3} s  -> check is {:.1}x faster",
                    py.as_secs_f64(),
                    py.as_secs_f64() / ours.as_secs_f64()
                ),
                None => print!("  (PyYAML not available: run scripts/setup.sh)"),
            }
        }
        println!();
    }
    println!(
        "growth: time per rule at 40,000 rules is {:.2}x that at 10,000 (1.00 is linear)",
        per_rule[2] / per_rule[0]
    );
}
