//! The server side on the command line (issue 15, part 2): `plan --inbound`,
//! `render-envoy --inbound`, the fleet check (ST214), bad input. The fixture
//! `fixtures/inbound/reviews-fleet.yaml` has the rule `prod/reviews` (maxConnections 100,
//! http1MaxPendingRequests 10), a Sidecar selecting `app: reviews` whose ingress listener for
//! 9080 sets maxConnections 40, http1MaxPendingRequests 5, idleTimeout 4s, and Deployments
//! `reviews` (2 replicas) and `frontend` (3 replicas).

mod common;

use std::process::Output;

use common::sidecar_tuner as run;
use serde_json::Value;

const FIXTURE: &str = "fixtures/inbound/reviews-fleet.yaml";

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// `sidecar.go` `InboundConnectionPoolForPort`: the Sidecar's ingress pool for 9080 replaces
/// the rule's; the JSON has the same `sidecar` fields as an outbound plan.
#[test]
fn plan_inbound_takes_the_sidecar_ingress_pool() {
    let out = run(&[
        "plan",
        FIXTURE,
        "--host",
        "reviews",
        "-n",
        "prod",
        "--labels",
        "app=reviews",
        "--port",
        "9080",
        "--inbound",
        "--format",
        "json",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(doc["direction"], "inbound");
    assert_eq!(doc["sidecar"]["max_connections"], 40);
    assert_eq!(doc["sidecar"]["max_pending_requests"], 5);
    assert_eq!(doc["sidecar"]["max_requests"], u32::MAX);
    assert_eq!(doc["sidecar"]["idle_timeout_ms"], 4000);
    assert_eq!(doc["sidecar_resource"]["name"], "reviews");
    assert_eq!(doc["sidecar_resource"]["line"], 11);
    assert_eq!(
        doc["connection_pool_from"],
        "Sidecar ingress[port 9080].connectionPool"
    );
    // Without the labels the Sidecar does not select the workload: the rule's pool applies.
    let out = run(&[
        "plan",
        FIXTURE,
        "--host",
        "reviews",
        "-n",
        "prod",
        "--port",
        "9080",
        "--inbound",
        "--format",
        "json",
    ]);
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(doc["sidecar"]["max_connections"], 100);
    assert_eq!(doc["sidecar"]["idle_timeout_ms"], 3_600_000);
    assert_eq!(doc["sidecar_resource"], Value::Null);
    let text = run(&[
        "plan",
        FIXTURE,
        "--host",
        "reviews",
        "-n",
        "prod",
        "--labels",
        "app=reviews",
        "--port",
        "9080",
        "--inbound",
    ]);
    let text = String::from_utf8_lossy(&text.stdout);
    assert!(
        text.contains("Sidecar      prod/reviews (fixtures/inbound/reviews-fleet.yaml:11:1): its workloadSelector selects the workload"),
        "{text}"
    );
}

/// ST214, numbers by hand: 3 frontend pods each send min(maxConnections 100, http2MaxRequests
/// unlimited) = 100, 300 in all; 2 reviews pods each admit min(40 + 5, unlimited) = 45 on
/// their inbound cluster (the Sidecar selects `app: reviews`, the Deployment's pod label), 90
/// in all.
#[test]
fn fleet_check_from_deployments_and_flags() {
    let out = run(&[
        "plan",
        FIXTURE,
        "--host",
        "reviews",
        "-n",
        "prod",
        "--labels",
        "app=frontend",
        "--port",
        "9080",
    ]);
    assert_eq!(out.status.code(), Some(0));
    let err = stderr(&out);
    assert!(
        err.contains("warning[ST214]: 3 client pods send 300 requests at once (100 each), more than 2 server pods admit (90: 45 each)"),
        "{err}"
    );
    assert!(err.contains("reviews-fleet.yaml:20:7"), "{err}");
    assert!(
        err.contains("reviews-fleet.yaml:35:13: client pods counted here"),
        "{err}"
    );
    assert!(
        err.contains("at least 150 per pod") && err.contains("at least 7 server pods"),
        "{err}"
    );
    // Flags win over the Deployments: 1 client pod sends 100, 3 server pods admit 135.
    let out = run(&[
        "plan",
        FIXTURE,
        "--host",
        "reviews",
        "-n",
        "prod",
        "--labels",
        "app=frontend",
        "--port",
        "9080",
        "--client-replicas",
        "1",
        "--server-replicas",
        "3",
    ]);
    assert!(!stderr(&out).contains("ST214"), "{}", stderr(&out));
    // Without counts, no check.
    let out = run(&[
        "plan", FIXTURE, "--host", "reviews", "-n", "prod", "--port", "9080",
    ]);
    assert!(!stderr(&out).contains("ST214"), "{}", stderr(&out));
    // The server side: the callers in its namespace resolve the same rule.
    let out = run(&[
        "plan",
        FIXTURE,
        "--host",
        "reviews",
        "-n",
        "prod",
        "--labels",
        "app=reviews",
        "--port",
        "9080",
        "--inbound",
        "--client-replicas",
        "5",
    ]);
    assert!(
        stderr(&out).contains("5 client pods send 500 requests at once (100 each), more than 2 server pods admit (90: 45 each)"),
        "{}",
        stderr(&out)
    );
}

/// Issue 15, bad input: zero or negative replicas, a subset on the inbound side, a host that
/// is no Kubernetes service with replica counts: usage errors, exit 2.
#[test]
fn bad_fleet_and_inbound_arguments_are_usage_errors() {
    let base = ["plan", FIXTURE, "--host", "reviews", "-n", "prod"];
    for extra in [
        &["--server-replicas", "0"][..],
        &["--client-replicas", "0"],
        &["--server-replicas", "-1"],
        &["--server-replicas", "two"],
        &["--inbound", "--subset", "v1"],
        &["--target-port", "8080"],
    ] {
        let args: Vec<&str> = base.iter().chain(extra).copied().collect();
        let out = run(&args);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", stderr(&out));
        assert!(stderr(&out).contains("error"), "{args:?}: {}", stderr(&out));
    }
    for bad in [
        &["--server-keepalive", "0s"][..],
        &["--server-keepalive", "-5s"],
        &["--idle-gap", "1s"],
    ] {
        let args: Vec<&str> = ["bench", "--dr", FIXTURE, "--host", "reviews"]
            .iter()
            .chain(bad)
            .copied()
            .collect();
        let out = run(&args);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", stderr(&out));
    }
    let out = run(&[
        "plan",
        FIXTURE,
        "--host",
        "api.example.com",
        "-n",
        "prod",
        "--server-replicas",
        "2",
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("need a Kubernetes service host"),
        "{}",
        stderr(&out)
    );
}

/// A Sidecar with a misspelt key: a finding with file, line, column and a suggestion, and
/// `plan` refuses the input.
#[test]
fn a_bad_sidecar_is_reported_with_its_position() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("sidecar.yaml");
    std::fs::write(
        &file,
        "apiVersion: networking.istio.io/v1\nkind: Sidecar\nmetadata: {name: s, namespace: prod}\nspec:\n  inboundConnectionPool:\n    tcp: {maxConnection: 5}\n",
    )
    .unwrap();
    let path = file.to_str().unwrap();
    let out = run(&["check", path, "--host", "reviews", "-n", "prod"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("unknown field `maxConnection`") && text.contains(":6:11"),
        "{text}"
    );
    assert!(text.contains("did you mean `maxConnections`?"), "{text}");
    let out = run(&["plan", path, "--host", "reviews", "-n", "prod", "--inbound"]);
    assert_eq!(out.status.code(), Some(2));
}

/// `render-envoy --inbound`: the `inbound|9080||` cluster with the Sidecar's pool, listening on
/// 15006 as Istio's inbound listener does, which the real Envoy accepts (`envoy --mode validate`).
#[test]
fn render_envoy_inbound_is_valid_for_envoy() {
    let out = run(&[
        "render-envoy",
        FIXTURE,
        "--host",
        "reviews",
        "-n",
        "prod",
        "--labels",
        "app=reviews",
        "--port",
        "9080",
        "--inbound",
        "--upstream",
        "127.0.0.1:9080",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let boot: Value = serde_json::from_slice(&out.stdout).unwrap();
    // Without `--listen`, Istio's inbound port (15006) rather than the outbound one (15001).
    let address = &boot["static_resources"]["listeners"][0]["address"]["socket_address"];
    assert_eq!(address["port_value"], 15006, "{address}");
    let cluster = &boot["static_resources"]["clusters"][0];
    assert_eq!(cluster["name"], "inbound|9080||");
    assert_eq!(
        cluster["circuit_breakers"]["thresholds"][0]["max_connections"],
        40
    );
    assert_eq!(
        boot["static_resources"]["listeners"][0]["name"],
        "virtualInbound"
    );
    let Some(envoy) = common::envoy_or_skip("render_envoy_inbound_is_valid_for_envoy") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("inbound.json");
    std::fs::write(&file, &out.stdout).unwrap();
    let check = std::process::Command::new(envoy)
        .args(["--mode", "validate", "--log-level", "error", "-c"])
        .arg(&file)
        .output()
        .unwrap();
    assert!(
        check.status.success(),
        "{}",
        String::from_utf8_lossy(&check.stderr)
    );
}

/// `check --server` reads the inbound policy (issue 15, parts 2 and 3): the Sidecar's ingress
/// pool for 9080 keeps idle connections 4s, below Node's 5s keep-alive, so the server does not
/// close first (no ST401); the rule alone leaves Envoy's 1h, and it does.
#[test]
fn check_server_uses_the_inbound_policy() {
    let dir = tempfile::tempdir().unwrap();
    let server = dir.path().join("server.yaml");
    std::fs::write(&server, "library: node\nkeepAliveTimeout: 5000\n").unwrap();
    let server = server.to_str().unwrap();
    let base = [
        "check", FIXTURE, "--host", "reviews", "-n", "prod", "--port", "9080", "--server", server,
        "--format", "json",
    ];
    let codes = |extra: &[&str]| {
        let args: Vec<&str> = base.iter().chain(extra).copied().collect();
        let out = run(&args);
        let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
        doc["findings"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| f["code"].as_str().unwrap().to_owned())
            .collect::<Vec<_>>()
    };
    assert!(!codes(&["--labels", "app=reviews"]).contains(&"ST401".to_owned()));
    assert!(codes(&[]).contains(&"ST401".to_owned()));
}
