//! The keep-alive bench (issue 15, part 4) runs end to end against the real servers: the
//! deterministic upstream, Node's `http` module and uvicorn, each behind a fresh inbound Envoy,
//! with the rule's idle timeout and with the recommended one. Its counts are races with real
//! servers, so they belong to the bench report (the README has them); this test checks that
//! every run happens and adds up, and prints the table. The deterministic UC counts are
//! asserted in `tests/inbound_envoy.rs`. Skipped without Envoy, Node or uvicorn, except under
//! `CI=true`, where a missing runtime is a failure.

mod common;

use std::sync::Arc;
use std::time::Duration;

use sidecar_tuner::bench::keepalive::{
    KeepAliveOptions, ServerKind, recommended_idle_timeout, run,
};
use sidecar_tuner::istio::MeshConfig;
use sidecar_tuner::istio::inbound::resolve_inbound;
use sidecar_tuner::istio::load::{LoadOptions, load_str};
use sidecar_tuner::istio::resolve::{Destination, MeshIndex};

fn runtime_or_skip(program: &str, args: &[&str]) -> bool {
    let found = std::process::Command::new(program)
        .args(args)
        .output()
        .is_ok_and(|o| o.status.success());
    if !found {
        if std::env::var("CI").as_deref() == Ok("true") {
            panic!(
                "CI=true and `{program}` does not run: Debian's nodejs and `scripts/setup.sh` (uvicorn) install them"
            );
        }
        eprintln!("SKIPPED keepalive_bench: `{program}` does not run");
    }
    found
}

#[test]
fn keepalive_bench_runs_every_server_with_both_settings() {
    assert_eq!(
        recommended_idle_timeout(Duration::from_millis(200)),
        Duration::from_millis(180)
    );
    let Some((_, _serial)) = common::envoy_alone("keepalive_bench") else {
        return;
    };
    let python = format!("{}/.venv/bin/python", env!("CARGO_MANIFEST_DIR"));
    if !runtime_or_skip("node", &["--version"])
        || !runtime_or_skip(&python, &["-c", "import uvicorn"])
    {
        return;
    }
    let yaml = "apiVersion: networking.istio.io/v1\nkind: DestinationRule\nmetadata: {name: api, namespace: shop}\nspec: {host: api, trafficPolicy: {connectionPool: {tcp: {maxConnections: 100}}}}\n";
    let loaded = load_str(yaml, &Arc::from("dr.yaml"), &LoadOptions::default());
    let mesh = MeshConfig::default();
    let index = MeshIndex::new(&loaded.rules, &mesh, "shop");
    let workload = Destination::new("api").namespace("shop").port(8080);
    let inbound = resolve_inbound(&index, &loaded.sidecars, &workload, None).unwrap();
    let options = KeepAliveOptions::default()
        .server_keep_alive(Duration::from_millis(150))
        .requests(6)
        .concurrency(2);
    let report = common::runtime().block_on(run(&inbound, &options)).unwrap();
    let mut table = Vec::new();
    sidecar_tuner::report::keepalive_text(&mut table, &report).unwrap();
    eprintln!("{}", String::from_utf8_lossy(&table));
    let servers: Vec<ServerKind> = report.runs.iter().map(|r| r.server).collect();
    assert_eq!(
        servers,
        [
            ServerKind::Deterministic,
            ServerKind::Deterministic,
            ServerKind::Node,
            ServerKind::Node,
            ServerKind::Uvicorn,
            ServerKind::Uvicorn
        ]
    );
    for run in &report.runs {
        assert_eq!(run.requests, 6, "{run:?}");
        assert_eq!(
            run.ok + run.status_503 + run.errors,
            run.requests,
            "{run:?}"
        );
        let expected_idle = (run.settings == "recommended").then_some(135);
        assert_eq!(run.idle_timeout_ms, expected_idle, "{run:?}");
    }
    let versions: Vec<&str> = report
        .server_versions
        .iter()
        .map(|(_, v, _)| v.as_str())
        .collect();
    assert!(
        versions[1].starts_with("node v") && versions[2].starts_with("uvicorn "),
        "{versions:?}"
    );
}
