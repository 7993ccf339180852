//! An HTTP/2 upstream behind the real Envoy: what the sidecar admits when MeshConfig's
//! `h2UpgradePolicy: UPGRADE` (or the rule's) upgrades the cluster, and the plan that follows.
//!
//! Measured beforehand with Envoy 1.40 (2 workers), an h2c upstream answering after 100 ms and
//! bursts of 16 HTTP/1.1 callers (figures in the README): with `maxConnections: 1` and
//! `http1MaxPendingRequests: 1`, a warm sidecar answered all 16 over 2 upstream connections
//! (one per worker), 16 streams at once, where an HTTP/1.1 upstream admits 2; with
//! `http2MaxRequests: 4`, 4 of 16 (12 counted in `upstream_rq_active_overflow`); with
//! `maxConcurrentStreams: 2`, 5 of 16 (2 connections x 2 streams + 1 pending); cold, the first
//! burst overflowed the pending queue (6 of 16) while the connections were being made.

mod common;

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use common::{envoy_alone, envoy_children, runtime, statuses_of_callers};
use sidecar_tuner::Tuner;
use sidecar_tuner::envoy::{RenderOptions, render};
use sidecar_tuner::istio::MeshConfig;
use sidecar_tuner::istio::load::{LoadOptions, load_mesh_file, load_str};
use sidecar_tuner::istio::resolve::{Destination, MeshIndex};
use sidecar_tuner::sidecar::Envoy;
use sidecar_tuner::upstream::{Upstream, UpstreamOptions};

const RULE: &str = "apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: svc, namespace: default}
spec:
  host: svc
  trafficPolicy:
    connectionPool:
      tcp: {maxConnections: 1}
      http: {http1MaxPendingRequests: 1, http2MaxRequests: 8}
";

/// The Service behind `svc`, whose port 80 a gRPC port by its name.
const GRPC_SERVICE: &str = "---
apiVersion: v1
kind: Service
metadata: {name: svc, namespace: default}
spec:
  ports: [{name: grpc-api, port: 80}]
";

/// The bootstrap Istio would give the sidecar for `svc:80` from `input` under `mesh`, with the
/// tuner of the same input.
fn bootstrap_and_tuner(
    input: &str,
    mesh_file: Option<&Path>,
    upstream: SocketAddr,
) -> (serde_json::Value, Tuner) {
    let loaded = load_str(input, &Arc::from("rule.yaml"), &LoadOptions::default());
    let mesh = mesh_file.map_or_else(MeshConfig::default, |file| {
        load_mesh_file(file, &LoadOptions::default())
            .unwrap()
            .mesh
            .unwrap()
    });
    let index = MeshIndex::new(&loaded.rules, &mesh, "default");
    let destination = loaded.complete(&Destination::new("svc").port(80), &mesh);
    let resolution = index.resolve(&destination).unwrap();
    let bootstrap = render(&resolution, &RenderOptions::new(upstream));
    let mut tuner = Tuner::from_yaml_str(input).unwrap().host("svc").port(80);
    if let Some(file) = mesh_file {
        tuner = tuner.mesh_config(file);
    }
    (bootstrap, tuner.queue_timeout(Duration::from_secs(20)))
}

/// 16 callers send 15 requests each through the real Envoy of `bootstrap` to an h2c upstream
/// answering after 50 ms, with the client `tuner` builds: every one answered 200, nothing
/// overflowed, and the upstream saw more requests at once than maxConnections + pending.
fn sixteen_callers_are_admitted(binary: &Path, input: &str, mesh_file: Option<&Path>) {
    runtime().block_on(async {
        let options = UpstreamOptions::default()
            .latency(Duration::from_millis(50))
            .http2(true);
        let upstream = Upstream::start(options).await.unwrap();
        let (bootstrap, tuner) = bootstrap_and_tuner(input, mesh_file, upstream.addr());
        let plan = tuner.plan().unwrap();
        assert_eq!(plan.max_in_flight, Some(7), "HTTP/2: R");
        assert_eq!(plan.pool_max_idle_per_host, Some(7));
        let options = &bootstrap["static_resources"]["clusters"][0]["typed_extension_protocol_options"]
            ["envoy.extensions.upstreams.http.v3.HttpProtocolOptions"];
        assert!(
            options["explicit_http_config"]["http2_protocol_options"].is_object(),
            "{options}"
        );
        let envoy = Envoy::start(binary, &bootstrap).await.unwrap();
        let client = tuner.build().unwrap().client;
        let url = envoy.url();
        let statuses = statuses_of_callers(&client, &url, 16, 15).await;
        assert_eq!(statuses.len(), 240);
        assert!(statuses.iter().all(|s| *s == 200), "{statuses:?}");
        assert_eq!(client.overloaded_responses(), 0);
        let stats = envoy
            .admin()
            .stats("outbound|80||svc.default.svc.cluster.local")
            .await
            .unwrap();
        assert_eq!(stats.upstream_rq_pending_overflow, 0, "{stats:?}");
        assert_eq!(stats.upstream_rq_active_overflow, 0, "{stats:?}");
        // More requests at once than maxConnections + pending: the upgraded cluster multiplexes.
        let most = upstream.stats().max_concurrent;
        assert!(most >= 3, "{most}");
    });
}

/// MeshConfig `h2UpgradePolicy: UPGRADE` upgrades the cluster (cluster_traffic_policy.go
/// `shouldH2Upgrade`): the plan's ceiling is then `http2MaxRequests` (floor(0.95 x 8) = 7), not
/// maxConnections + pending (floor(0.95 x 2) = 1), and the tuned client, started cold at
/// floor(0.95 x 1) = 1, never overflows the sidecar while 16 callers share it.
#[test]
fn an_upgraded_cluster_admits_by_streams_and_the_plan_follows() {
    let Some((binary, _serial)) =
        envoy_alone("an_upgraded_cluster_admits_by_streams_and_the_plan_follows")
    else {
        return;
    };
    let dir = std::env::temp_dir().join(format!("sidecar-h2-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let mesh = dir.join("mesh.yaml");
    std::fs::write(&mesh, "h2UpgradePolicy: UPGRADE\n").unwrap();
    let tuner = Tuner::from_yaml_str(RULE).unwrap().host("svc");
    assert_eq!(
        tuner.plan().unwrap().max_in_flight,
        Some(1),
        "HTTP/1.1: N + P"
    );
    sixteen_callers_are_admitted(&binary, RULE, Some(&mesh));
    std::fs::remove_dir_all(dir).ok();
    assert!(envoy_children().is_empty());
}

/// A Service port named `grpc-api` is gRPC (pkg/config/kube `ConvertProtocol`), and Istio's
/// cluster for it speaks HTTP/2 whatever MeshConfig says (cluster_builder.go
/// `setUpstreamProtocol`): the same plan, the same admission, through the real Envoy.
#[test]
fn a_grpc_port_is_http2_upstream_and_the_plan_follows() {
    let Some((binary, _serial)) = envoy_alone("a_grpc_port_is_http2_upstream_and_the_plan_follows")
    else {
        return;
    };
    sixteen_callers_are_admitted(&binary, &format!("{RULE}{GRPC_SERVICE}"), None);
    assert!(envoy_children().is_empty());
}
