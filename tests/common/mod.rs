//! Helpers shared by the integration tests.

#![allow(dead_code)] // each test crate uses its own part

use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use sidecar_tuner::istio::load::{LoadOptions, load_file};
use sidecar_tuner::istio::resolve::Destination;
use sidecar_tuner::upstream::{Upstream, UpstreamOptions};

/// Rule fixtures that load without errors, with every destination they define: each rule's
/// host (a wildcard made concrete) from its namespace, each subset, each port-level port.
pub fn destinations_of_every_fixture() -> Vec<(PathBuf, Destination)> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures");
    let mut files = Vec::new();
    for dir in [root.clone(), root.join("istio-corpus"), root.join("codes")] {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.extension().is_some_and(|e| e == "yaml") {
                files.push(path);
            }
        }
    }
    files.sort();
    let mut out = Vec::new();
    for path in files {
        let loaded = load_file(&path, &LoadOptions::default()).unwrap();
        if loaded.ensure_valid().is_err() {
            continue;
        }
        for rule in &loaded.rules {
            let namespace = rule
                .namespace
                .as_ref()
                .map_or("default", |n| n.value.as_str());
            let base = Destination::new(rule.host.value.replace('*', "any")).namespace(namespace);
            out.push((path.clone(), base.clone()));
            for subset in &rule.subsets {
                out.push((path.clone(), base.clone().subset(&subset.name.value)));
            }
            let ports = rule
                .traffic_policy
                .iter()
                .flat_map(|p| &p.port_level_settings);
            for port in ports.filter_map(|p| p.port.as_ref()) {
                out.push((path.clone(), base.clone().port(port.value)));
            }
        }
    }
    out
}

/// A DestinationRule `name` in `namespace` with `spec` (YAML at the level of `spec`'s fields).
pub fn rule_yaml(name: &str, namespace: &str, spec: &str) -> String {
    let spec: String = spec.lines().map(|l| format!("  {l}\n")).collect();
    format!(
        "apiVersion: networking.istio.io/v1\nkind: DestinationRule\nmetadata:\n  name: {name}\n  namespace: {namespace}\nspec:\n{spec}"
    )
}

/// The Envoy binary; without one, a skip notice (a failure under `CI=true`).
pub fn envoy_or_skip(test: &str) -> Option<PathBuf> {
    match sidecar_tuner::sidecar::envoy_binary() {
        Ok(path) => Some(path),
        Err(e) if std::env::var("CI").as_deref() == Ok("true") => {
            panic!("CI=true and {e}: `scripts/setup.sh` installs it")
        }
        Err(e) => {
            eprintln!("SKIPPED {test}: {e}; run `scripts/setup.sh` or set ENVOY_BIN");
            None
        }
    }
}

/// Envoy processes whose parent is this test process.
pub fn envoy_children() -> Vec<u32> {
    let me = std::process::id().to_string();
    std::fs::read_dir("/proc")
        .unwrap()
        .filter_map(|e| {
            let pid: u32 = e.ok()?.file_name().to_str()?.parse().ok()?;
            let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
            // pid (comm) state ppid ...
            let (comm, rest) = stat.split_once(") ")?;
            let ppid = rest.split_whitespace().nth(1)?;
            (comm.ends_with("(envoy") && ppid == me).then_some(pid)
        })
        .collect()
}

/// Load tests run one at a time: two at once on 2 cores would measure each other.
static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

/// This test binary's lock for tests that load the machine or count Envoy processes.
pub fn serial() -> MutexGuard<'static, ()> {
    ONE_AT_A_TIME.lock().unwrap_or_else(PoisonError::into_inner)
}

/// The Envoy binary and [`serial`]'s lock, or `None` after a skip notice (see
/// [`envoy_or_skip`]).
pub fn envoy_alone(test: &str) -> Option<(PathBuf, MutexGuard<'static, ()>)> {
    let binary = envoy_or_skip(test)?;
    Some((binary, serial()))
}

/// A runtime with the 2 worker threads of this machine (and of Istio's sidecar).
pub fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

/// A local upstream that answers after `latency`.
pub async fn upstream(latency: Duration) -> Upstream {
    Upstream::start(UpstreamOptions::default().latency(latency))
        .await
        .unwrap()
}

/// Polls `condition` every 10 ms until it holds or `deadline` passes; whether it held. Tests
/// wait on what they need to see instead of sleeping a fixed time, which a busy 2-core
/// machine can make too short.
pub async fn eventually(deadline: Duration, mut condition: impl FnMut() -> bool) -> bool {
    let until = tokio::time::Instant::now() + deadline;
    loop {
        if condition() {
            return true;
        }
        if tokio::time::Instant::now() >= until {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// Runs the `sidecar-tuner` binary in the crate's folder with `args`, for at most a minute.
pub fn sidecar_tuner(args: &[&str]) -> std::process::Output {
    assert_cmd::Command::cargo_bin("sidecar-tuner")
        .unwrap()
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .args(args)
        .timeout(Duration::from_secs(60))
        .output()
        .unwrap()
}

/// The bundled example's reviews service on port 9080, as `check` and `plan` arguments.
pub const REVIEWS: [&str; 6] = [
    "fixtures/reviews.yaml",
    "--host",
    "reviews",
    "-n",
    "bookinfo",
    "--port=9080",
];

/// The statuses `callers` tasks get, each sending `each` GETs to `url` in turn with a clone of
/// `client` and reading every body.
pub async fn statuses_of_callers(
    client: &sidecar_tuner::AlignedClient,
    url: &str,
    callers: usize,
    each: usize,
) -> Vec<u16> {
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..callers {
        let (client, url) = (client.clone(), url.to_owned());
        tasks.spawn(async move {
            let mut statuses = Vec::with_capacity(each);
            for _ in 0..each {
                let response = client.get(&url).send().await.unwrap();
                statuses.push(response.status().as_u16());
                response.bytes().await.unwrap();
            }
            statuses
        });
    }
    let mut statuses = Vec::with_capacity(callers * each);
    while let Some(done) = tasks.join_next().await {
        statuses.extend(done.unwrap());
    }
    statuses
}
