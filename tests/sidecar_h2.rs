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

use std::convert::Infallible;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use bytes::Bytes;
use common::{envoy_alone, envoy_children, runtime};
use http_body_util::Full;
use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo};
use sidecar_tuner::Tuner;
use sidecar_tuner::envoy::{RenderOptions, render};
use sidecar_tuner::istio::load::{LoadOptions, load_mesh_file, load_str};
use sidecar_tuner::istio::resolve::{Destination, MeshIndex};
use sidecar_tuner::sidecar::Envoy;
use std::net::SocketAddr;
use std::path::Path;

/// An upstream that speaks only HTTP/2 with prior knowledge (h2c), answers after `latency`,
/// and records the most requests it ever answered at once.
async fn h2c_upstream(latency: Duration) -> (std::net::SocketAddr, Arc<AtomicUsize>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let most = Arc::new(AtomicUsize::new(0));
    let now = Arc::new(AtomicUsize::new(0));
    let seen = Arc::clone(&most);
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let (most, now) = (Arc::clone(&seen), Arc::clone(&now));
            tokio::spawn(async move {
                let service = service_fn(move |_request| {
                    let (most, now) = (Arc::clone(&most), Arc::clone(&now));
                    async move {
                        most.fetch_max(now.fetch_add(1, Ordering::SeqCst) + 1, Ordering::SeqCst);
                        tokio::time::sleep(latency).await;
                        now.fetch_sub(1, Ordering::SeqCst);
                        Ok::<_, Infallible>(hyper::Response::new(Full::new(Bytes::from_static(
                            b"ok",
                        ))))
                    }
                });
                let _ = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new())
                    .http2_only()
                    .serve_connection(TokioIo::new(stream), service)
                    .await;
            });
        }
    });
    (addr, most)
}

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

/// The bootstrap Istio would give the sidecar for `svc` under the mesh of `mesh_file`.
fn bootstrap(mesh_file: &Path, upstream: SocketAddr) -> serde_json::Value {
    let loaded = load_str(RULE, &Arc::from("rule.yaml"), &LoadOptions::default());
    let mesh = load_mesh_file(mesh_file, &LoadOptions::default())
        .unwrap()
        .mesh
        .unwrap();
    let index = MeshIndex::new(&loaded.rules, &mesh, "default");
    let resolution = index.resolve(&Destination::new("svc")).unwrap();
    render(&resolution, &RenderOptions::new(upstream))
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
    let tuner = tuner
        .mesh_config(&mesh)
        .queue_timeout(Duration::from_secs(20));
    let plan = tuner.plan().unwrap();
    assert_eq!(plan.max_in_flight, Some(7), "HTTP/2: R");
    assert_eq!(plan.pool_max_idle_per_host, Some(7));
    runtime().block_on(async {
        let (upstream, most) = h2c_upstream(Duration::from_millis(50)).await;
        let bootstrap = bootstrap(&mesh, upstream);
        let options = &bootstrap["static_resources"]["clusters"][0]["typed_extension_protocol_options"]
            ["envoy.extensions.upstreams.http.v3.HttpProtocolOptions"];
        assert!(
            options["explicit_http_config"]["http2_protocol_options"].is_object(),
            "{options}"
        );
        let envoy = Envoy::start(&binary, &bootstrap).await.unwrap();
        let client = tuner.build().unwrap().client;
        let url = envoy.url();
        let mut callers = tokio::task::JoinSet::new();
        for _ in 0..16 {
            let (client, url) = (client.clone(), url.clone());
            callers.spawn(async move {
                let mut statuses = Vec::new();
                for _ in 0..15 {
                    let response = client.get(&url).send().await.unwrap();
                    statuses.push(response.status().as_u16());
                    response.bytes().await.unwrap();
                }
                statuses
            });
        }
        let mut statuses = Vec::new();
        while let Some(done) = callers.join_next().await {
            statuses.extend(done.unwrap());
        }
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
        assert!(most.load(Ordering::SeqCst) >= 3, "{}", most.load(Ordering::SeqCst));
    });
    std::fs::remove_dir_all(dir).ok();
    assert!(envoy_children().is_empty());
}
