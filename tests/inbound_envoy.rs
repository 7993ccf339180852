//! The server side with the real Envoy (issue 15, parts 2 and 4): the inbound bootstrap passes
//! `envoy --mode validate`, and a server that closes idle connections sooner than the inbound
//! sidecar makes callers get `503 UC`, while a rule `idleTimeout` below the server's keep-alive
//! makes none. The server is deterministic (it closes an idle connection exactly when the next
//! request arrives), so the counts are exact; races with real servers belong to the bench.
//! Skipped without Envoy, except under `CI=true`.

mod common;

use std::sync::Arc;
use std::time::Duration;

use serde_json::Value;
use sidecar_tuner::envoy::{RenderOptions, add_access_log, render_inbound};
use sidecar_tuner::istio::MeshConfig;
use sidecar_tuner::istio::inbound::resolve_inbound;
use sidecar_tuner::istio::load::{LoadOptions, load_str};
use sidecar_tuner::istio::resolve::{Destination, MeshIndex};
use sidecar_tuner::sidecar::Envoy;
use sidecar_tuner::upstream::{Upstream, UpstreamOptions};

/// The server's keep-alive, and the idle gap between two requests (twice as long, so that the
/// deterministic server always finds the connection idle past its keep-alive).
const KEEP_ALIVE: Duration = Duration::from_millis(300);
const GAP: Duration = Duration::from_millis(600);
/// Requests after the first, each after an idle gap.
const ROUNDS: usize = 6;

fn bootstrap(rule_spec: &str, upstream: std::net::SocketAddr) -> Value {
    let yaml = format!(
        "apiVersion: networking.istio.io/v1\nkind: DestinationRule\nmetadata: {{name: api, namespace: shop}}\nspec: {{host: api, {rule_spec}}}\n"
    );
    let loaded = load_str(&yaml, &Arc::from("dr.yaml"), &LoadOptions::default());
    assert!(loaded.ensure_valid().is_ok(), "{:#?}", loaded.findings);
    let mesh = MeshConfig::default();
    let index = MeshIndex::new(&loaded.rules, &mesh, "shop");
    let workload = Destination::new("api").namespace("shop").port(8080);
    let inbound = resolve_inbound(&index, &loaded.sidecars, &workload, None).unwrap();
    render_inbound(&inbound, &RenderOptions::new(upstream))
}

/// `envoy --mode validate` accepts the inbound bootstrap (with the access log the tests add),
/// and it carries Istio's inbound route (`route.go` `BuildDefaultHTTPInboundRoute`: no timeout;
/// `retry.go` `defaultInboundRetryOn` `reset-before-request`, 2 retries) and the pool's idle
/// timeout and breakers (`cluster_traffic_policy.go` `applyConnectionPool`).
#[test]
fn inbound_bootstrap_is_valid_for_envoy() {
    let Some(envoy) = common::envoy_or_skip("inbound_bootstrap_is_valid_for_envoy") else {
        return;
    };
    let mut boot = bootstrap(
        "trafficPolicy: {connectionPool: {tcp: {maxConnections: 7}, http: {idleTimeout: 250ms, http1MaxPendingRequests: 3}}}",
        "127.0.0.1:8080".parse().unwrap(),
    );
    let dir = tempfile::tempdir().unwrap();
    add_access_log(&mut boot, &dir.path().join("access.log"));
    let cluster = &boot["static_resources"]["clusters"][0];
    assert_eq!(cluster["name"], "inbound|8080||");
    let thresholds = &cluster["circuit_breakers"]["thresholds"][0];
    assert_eq!(thresholds["max_connections"], 7);
    assert_eq!(thresholds["max_pending_requests"], 3);
    assert_eq!(thresholds["max_requests"], u32::MAX);
    assert_eq!(
        cluster["typed_extension_protocol_options"]["envoy.extensions.upstreams.http.v3.HttpProtocolOptions"]
            ["common_http_protocol_options"]["idle_timeout"],
        "0.25s"
    );
    let route = boot
        .pointer("/static_resources/listeners/0/filter_chains/0/filters/0/typed_config/route_config/virtual_hosts/0/routes/0/route")
        .unwrap();
    assert_eq!(route["timeout"], "0s");
    assert_eq!(route["retry_policy"]["retry_on"], "reset-before-request");
    assert_eq!(route["retry_policy"]["num_retries"], 2);
    let file = dir.path().join("inbound.json");
    std::fs::write(&file, boot.to_string()).unwrap();
    let out = std::process::Command::new(envoy)
        .args(["--mode", "validate", "--log-level", "error", "-c"])
        .arg(&file)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "envoy --mode validate: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// What one run saw: the status of each request, Envoy's counters, the access log's lines.
struct Run {
    statuses: Vec<u16>,
    destroyed_with_active_rq: u64,
    idle_timeouts: u64,
    closed_by_server: u64,
    access_log: Vec<String>,
}

/// `ROUNDS` requests through a fresh inbound Envoy to a fresh deterministic server, each after
/// an idle gap.
async fn run(envoy_bin: &std::path::Path, rule_spec: &str) -> Run {
    let server = Upstream::start(UpstreamOptions::default().keep_alive(KEEP_ALIVE))
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("access.log");
    let mut boot = bootstrap(rule_spec, server.addr());
    add_access_log(&mut boot, &log);
    let envoy = Envoy::start(envoy_bin, &boot).await.unwrap();
    let client = reqwest::Client::builder().http1_only().build().unwrap();
    let mut statuses = Vec::new();
    for round in 0..=ROUNDS {
        if round > 0 {
            tokio::time::sleep(GAP).await;
        }
        let response = client.get(envoy.url()).send().await.unwrap();
        statuses.push(response.status().as_u16());
        let _ = response.bytes().await;
    }
    let cluster = "inbound|8080||";
    let stats = envoy.admin().stats(cluster).await.unwrap();
    // Envoy writes its access log asynchronously: wait for one line per request.
    let lines = || {
        std::fs::read_to_string(&log)
            .unwrap_or_default()
            .lines()
            .map(str::to_owned)
            .collect::<Vec<_>>()
    };
    assert!(
        common::eventually(Duration::from_secs(10), || lines().len() == ROUNDS + 1).await,
        "access log: {:?}",
        lines()
    );
    Run {
        statuses,
        destroyed_with_active_rq: stats.upstream_cx_destroy_remote_with_active_rq,
        idle_timeouts: stats.upstream_cx_idle_timeout,
        closed_by_server: server.stats().closed_at_request,
        access_log: lines(),
    }
}

/// Issue 15, part 4: with Envoy's default idle timeout (1h, no rule `idleTimeout`), every
/// request after an idle gap longer than the server's keep-alive lands on a connection the
/// server closes: 503 with response flag UC, counted in
/// `upstream_cx_destroy_remote_with_active_rq`; Istio's inbound retry policy
/// (`reset-before-request`) does not retry a request already sent. With a rule `idleTimeout`
/// below the server's keep-alive the sidecar closes first, and none fail.
#[test]
fn server_keep_alive_below_sidecar_idle_timeout_gives_503_uc() {
    let Some((envoy_bin, _serial)) =
        common::envoy_alone("server_keep_alive_below_sidecar_idle_timeout_gives_503_uc")
    else {
        return;
    };
    common::runtime().block_on(async {
        let default = run(
            &envoy_bin,
            "trafficPolicy: {connectionPool: {tcp: {maxConnections: 100}}}",
        )
        .await;
        eprintln!(
            "default (idle timeout 1h): statuses {:?}, upstream_cx_destroy_remote_with_active_rq {}, closed by the server {}, access log {:?}",
            default.statuses,
            default.destroyed_with_active_rq,
            default.closed_by_server,
            default.access_log
        );
        // Computed by hand: a request after the gap finds the connection the previous request
        // used, idle past the keep-alive, and fails; that connection is gone, so the next one
        // opens a new connection and succeeds: 200, 503, 200, 503, ...
        let expected: Vec<u16> = (0..=ROUNDS)
            .map(|i| if i % 2 == 1 { 503 } else { 200 })
            .collect();
        let failures = (ROUNDS / 2) as u64;
        assert_eq!(default.statuses, expected);
        assert_eq!(default.destroyed_with_active_rq, failures);
        assert_eq!(default.closed_by_server, failures);
        let lines: Vec<&str> = default.access_log.iter().map(String::as_str).collect();
        let expected_lines: Vec<&str> = expected
            .iter()
            .map(|s| if *s == 503 { "503 UC" } else { "200 -" })
            .collect();
        assert_eq!(lines, expected_lines);

        // 100ms, a third of the server's 300ms keep-alive.
        let fixed = run(
            &envoy_bin,
            "trafficPolicy: {connectionPool: {tcp: {maxConnections: 100}, http: {idleTimeout: 100ms}}}",
        )
        .await;
        eprintln!(
            "idleTimeout 100ms: statuses {:?}, upstream_cx_destroy_remote_with_active_rq {}, upstream_cx_idle_timeout {}, access log {:?}",
            fixed.statuses, fixed.destroyed_with_active_rq, fixed.idle_timeouts, fixed.access_log
        );
        assert_eq!(fixed.statuses, vec![200; ROUNDS + 1]);
        assert_eq!(fixed.destroyed_with_active_rq, 0);
        assert_eq!(fixed.closed_by_server, 0);
        assert_eq!(fixed.idle_timeouts, ROUNDS as u64);
        assert!(fixed.access_log.iter().all(|l| l.as_str() == "200 -"));
    });
}
