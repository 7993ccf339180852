//! MeshConfig, client labels and Services: what changes what the sidecar enforces besides the
//! rule, translated from Istio's cluster builder and its tests (istio/istio 86c9f01fd735).

use std::path::{Path, PathBuf};
use std::process::Output;
use std::sync::Arc;
use std::time::Duration;

use assert_cmd::Command;
use serde_json::Value;
use sidecar_tuner::envoy::{RenderOptions, render};
use sidecar_tuner::istio::MeshConfig;
use sidecar_tuner::istio::load::{LoadOptions, Loaded, load_mesh_file, load_str};
use sidecar_tuner::istio::resolve::{Destination, MeshIndex, Resolution};
use sidecar_tuner::plan::{Plan, PlanOptions, derive};

const EXPORT: &str = "fixtures/mesh/bookinfo-export.yaml";

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// A MeshConfig file in a temporary folder, with its findings.
fn mesh_file(name: &str, yaml: &str) -> (PathBuf, Loaded) {
    let dir = std::env::temp_dir().join(format!("st-mesh-config-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(name);
    std::fs::write(&path, yaml).unwrap();
    let loaded = load_mesh_file(&path, &LoadOptions::default()).unwrap();
    (path, loaded)
}

fn mesh(yaml: &str) -> MeshConfig {
    let (_, loaded) = mesh_file("mesh.yaml", yaml);
    assert!(loaded.findings.is_empty(), "{:?}", loaded.findings);
    loaded.mesh.unwrap()
}

fn rules(yaml: &str) -> Loaded {
    let loaded = load_str(yaml, &Arc::from("rules.yaml"), &LoadOptions::default());
    assert!(loaded.ensure_valid().is_ok(), "{:?}", loaded.findings);
    loaded
}

fn rule(host: &str, policy: &str) -> String {
    format!(
        "apiVersion: networking.istio.io/v1\nkind: DestinationRule\nmetadata: {{name: r, namespace: default}}\nspec:\n  host: \"{host}\"\n{policy}"
    )
}

fn resolved<'a>(index: &MeshIndex<'a>, host: &str) -> Resolution<'a> {
    index.resolve(&Destination::new(host)).unwrap()
}

fn plan(resolution: &Resolution<'_>) -> Plan {
    derive(&resolution.policy, &PlanOptions::default()).unwrap()
}

fn cluster(resolution: &Resolution<'_>) -> Value {
    let options = RenderOptions::new("127.0.0.1:1".parse().unwrap());
    render(resolution, &options)["static_resources"]["clusters"][0].clone()
}

/// cluster_test.go `TestDefaultTrafficPolicy`: MeshConfig's `defaultTrafficPolicy` is the
/// baseline of every cluster; a rule's `connectionPool` replaces the baseline's whole, an
/// `outlierDetection` it lacks is inherited.
#[test]
fn the_default_traffic_policy_fills_what_the_rule_leaves_unset() {
    let mesh = mesh(
        "defaultTrafficPolicy:\n  connectionPool: {tcp: {maxConnections: 33}}\n  outlierDetection: {consecutive5xxErrors: 7}\n",
    );
    // The cases of Istio's table: the rule's policy, the max_connections and 5xx the cluster gets.
    let cases = [
        ("baseline applied with no destination rule", "", 33),
        (
            "destination rule overrides connectionPool, inherits outlier",
            "  trafficPolicy:\n    connectionPool: {tcp: {maxConnections: 99}}\n",
            99,
        ),
    ];
    for (name, policy, want_max_connections) in cases {
        let loaded = rules(&rule("*.example.org", policy));
        let index = MeshIndex::new(&loaded.rules, &mesh, "default");
        let r = resolved(&index, "a.example.org");
        assert_eq!(
            plan(&r).sidecar.max_connections,
            want_max_connections,
            "{name}"
        );
        let c = cluster(&r);
        let thresholds = &c["circuit_breakers"]["thresholds"][0];
        assert_eq!(
            thresholds["max_connections"], want_max_connections,
            "{name}"
        );
        assert_eq!(c["outlier_detection"]["consecutive_5xx"], 7, "{name}");
    }
    let loaded = rules(&rule("*.example.org", ""));
    let index = MeshIndex::new(&loaded.rules, &mesh, "default");
    // No rule at all for the host: the baseline still applies (the plan is not an error).
    let none = index
        .resolve(&Destination::new("other.example.com"))
        .unwrap();
    assert!(none.found.is_none());
    assert_eq!(plan(&none).sidecar.max_connections, 33);
}

/// cluster_builder.go: `applyDestinationRule` seeds the baseline after the port-level policy and
/// before `buildSubsetCluster` merges the subset (`MergeSubsetTrafficPolicy`), so a subset's
/// port-level entry without a `connectionPool` leaves the cluster with none (all four groups
/// replaced), while a subset's plain policy keeps the seeded pool.
#[test]
fn the_baseline_is_seeded_before_the_subset_merge() {
    let mesh = mesh("defaultTrafficPolicy:\n  connectionPool: {tcp: {maxConnections: 33}}\n");
    let loaded = rules(&rule(
        "svc",
        "  subsets:\n  - name: plain\n    trafficPolicy: {loadBalancer: {simple: RANDOM}}\n  - name: ported\n    trafficPolicy:\n      portLevelSettings:\n      - port: {number: 8080}\n        loadBalancer: {simple: RANDOM}\n",
    ));
    let index = MeshIndex::new(&loaded.rules, &mesh, "default");
    let at = |subset: &str| Destination::new("svc").port(8080).subset(subset);
    let plain = index.resolve(&at("plain")).unwrap();
    assert_eq!(plan(&plain).sidecar.max_connections, 33);
    let ported = index.resolve(&at("ported")).unwrap();
    assert_eq!(plan(&ported).sidecar.max_connections, u32::MAX);
}

/// cluster_traffic_policy.go `applyDefaultConnectionPool` and cluster.go `applyTCPKeepalive`:
/// MeshConfig's `connectTimeout` replaces the 10s default and the rule's replaces it; the
/// rule's `tcpKeepalive` overrides MeshConfig's field by field.
#[test]
fn connect_timeout_and_keepalive_start_from_the_mesh() {
    let mesh = mesh("connectTimeout: 3s\ntcpKeepalive: {time: 600s, interval: 75s, probes: 3}\n");
    let loaded = rules(&rule(
        "svc",
        "  trafficPolicy:\n    connectionPool: {tcp: {tcpKeepalive: {time: 300s}}}\n",
    ));
    let index = MeshIndex::new(&loaded.rules, &mesh, "default");
    let r = resolved(&index, "svc");
    let c = cluster(&r);
    assert_eq!(c["connect_timeout"], "3s");
    assert_eq!(
        c["upstream_connection_options"]["tcp_keepalive"],
        serde_json::json!({"keepalive_time": 300, "keepalive_interval": 75, "keepalive_probes": 3})
    );
    let p = plan(&r);
    assert_eq!(p.client.connect_timeout, Duration::from_secs(3));
    assert_eq!(p.client.tcp_keepalive, Some(Duration::from_secs(300)));
    assert_eq!(
        p.client.tcp_keepalive_interval,
        Some(Duration::from_secs(75))
    );
    assert_eq!(p.client.tcp_keepalive_retries, Some(3));
    let own = rules(&rule(
        "svc",
        "  trafficPolicy:\n    connectionPool: {tcp: {connectTimeout: 1s}}\n",
    ));
    let index = MeshIndex::new(&own.rules, &mesh, "default");
    assert_eq!(cluster(&resolved(&index, "svc"))["connect_timeout"], "1s");
    // Without MeshConfig: Istio's 10s and no keep-alive.
    let plain = MeshConfig::default();
    let index = MeshIndex::new(&loaded.rules, &plain, "default");
    let c = cluster(&resolved(&index, "svc"));
    assert_eq!(c["connect_timeout"], "10s");
    assert_eq!(
        c["upstream_connection_options"]["tcp_keepalive"],
        serde_json::json!({"keepalive_time": 300})
    );
}

/// cluster_builder_test.go `TestApplyTCPKeepalive` "mesh tcp alive": MeshConfig's
/// `tcpKeepalive: {time: 10s}` and a pool without one give `keepalive_time: 10`.
#[test]
fn mesh_tcp_alive() {
    let mesh = mesh("tcpKeepalive: {time: 10s}\n");
    let loaded = rules(&rule(
        "svc",
        "  trafficPolicy:\n    connectionPool: {tcp: {maxConnections: 5}}\n",
    ));
    let index = MeshIndex::new(&loaded.rules, &mesh, "default");
    let r = resolved(&index, "svc");
    assert_eq!(
        cluster(&r)["upstream_connection_options"],
        serde_json::json!({"tcp_keepalive": {"keepalive_time": 10}})
    );
    assert_eq!(plan(&r).client.tcp_keepalive, Some(Duration::from_secs(10)));
}

/// cluster_traffic_policy.go `shouldH2Upgrade`: MeshConfig's `UPGRADE` upgrades a cluster
/// unless the rule says `DO_NOT_UPGRADE` or `useClientProtocol`.
#[test]
fn the_mesh_upgrade_policy_yields_to_the_rule() {
    let mesh = mesh("h2UpgradePolicy: UPGRADE\n");
    let upgraded = |policy: &str| {
        let loaded = rules(&rule("svc", policy));
        let index = MeshIndex::new(&loaded.rules, &mesh, "default");
        let r = resolved(&index, "svc");
        (r.policy.h2_upgrade(), plan(&r).sidecar.h2_upgrade)
    };
    assert_eq!(upgraded(""), (true, true));
    assert_eq!(
        upgraded(
            "  trafficPolicy:\n    connectionPool: {http: {h2UpgradePolicy: DO_NOT_UPGRADE}}\n"
        ),
        (false, false)
    );
    assert_eq!(
        upgraded("  trafficPolicy:\n    connectionPool: {http: {useClientProtocol: true}}\n"),
        (false, false)
    );
}

/// What the sidecar speaks to the upstream depends on the port's protocol, which a Service port
/// declares by its name or `appProtocol` (pkg/config/kube `ConvertProtocol`), and is decided
/// in the order Istio builds the cluster: `buildCluster`'s `setUpstreamProtocol` first (HTTP/2
/// for an HTTP2 or gRPC port, the client's protocol for a sniffed one), then `applyH2Upgrade`,
/// whose `setH2Options` leaves options already set, then `applyConnectionPool`'s
/// `useClientProtocol`. cluster_builder_test.go `TestShouldH2Upgrade`'s seven cases (port,
/// MeshConfig, the rule's pool) with the cluster Istio then builds: its case "mesh default - dr
/// upgrade non http port", where `shouldH2Upgrade` says true for a sniffed port, builds a cluster
/// that speaks the client's protocol, since `setUpstreamProtocol` set that first.
#[test]
fn the_ports_protocol_decides_the_upstream_as_istio_builds_the_cluster() {
    let service = "---\napiVersion: v1\nkind: Service\nmetadata: {name: svc, namespace: default}\nspec:\n  ports:\n  - {name: http-web, port: 80}\n  - {name: web, port: 81}\n  - {name: grpc, port: 82}\n  - {name: tcp-db, port: 83}\n  - {port: 84, appProtocol: kubernetes.io/h2c}\n  - {name: dns, port: 85, protocol: UDP}\n";
    let pool = |h2: &str| format!("  trafficPolicy:\n    connectionPool: {{http: {{{h2}}}}}\n");
    // The cluster's upstream protocol options, as rendered: `h2`, `client` or `h1`.
    let upstream = |mesh_yaml: &str, port: u32, policy: &str| {
        let mesh = if mesh_yaml.is_empty() {
            MeshConfig::default()
        } else {
            mesh(mesh_yaml)
        };
        let loaded = rules(&format!("{}{service}", rule("svc", policy)));
        let index = MeshIndex::new(&loaded.rules, &mesh, "default");
        let destination = loaded.complete(&Destination::new("svc").port(port), &mesh);
        let r = index.resolve(&destination).unwrap();
        let options = &cluster(&r)["typed_extension_protocol_options"]["envoy.extensions.upstreams.http.v3.HttpProtocolOptions"];
        let rendered = if options["use_downstream_protocol_config"].is_object() {
            "client"
        } else if options["explicit_http_config"]["http2_protocol_options"].is_object() {
            "h2"
        } else {
            "h1"
        };
        assert_eq!(r.policy.h2_upgrade(), rendered == "h2", "{port} {policy}");
        assert_eq!(plan(&r).sidecar.h2_upgrade, rendered == "h2");
        rendered
    };
    let upgrade = "h2UpgradePolicy: UPGRADE\n";
    let (default, up, no) = (
        pool("h2UpgradePolicy: DEFAULT"),
        pool("h2UpgradePolicy: UPGRADE"),
        pool("h2UpgradePolicy: DO_NOT_UPGRADE"),
    );
    let client_protocol = pool("useClientProtocol: true");
    // TestShouldH2Upgrade, in its order: (case, MeshConfig, port, pool, cluster).
    let cases = [
        ("mesh upgrade - dr default", upgrade, 80, &default, "h2"),
        (
            "mesh default - dr upgrade non http port",
            "",
            81,
            &up,
            "client",
        ),
        (
            "mesh no_upgrade - dr default",
            "h2UpgradePolicy: DO_NOT_UPGRADE\n",
            80,
            &default,
            "h1",
        ),
        (
            "mesh no_upgrade - dr upgrade",
            "h2UpgradePolicy: DO_NOT_UPGRADE\n",
            80,
            &up,
            "h2",
        ),
        ("mesh upgrade - dr no_upgrade", upgrade, 80, &no, "h1"),
        (
            "mesh upgrade - dr useClientProtocol",
            upgrade,
            80,
            &client_protocol,
            "client",
        ),
        ("non-http", upgrade, 81, &default, "client"),
    ];
    for (case, mesh_yaml, port, policy, want) in cases {
        assert_eq!(upstream(mesh_yaml, port, policy), want, "{case}");
    }
    // setUpstreamProtocol: a gRPC port, or one whose appProtocol is `kubernetes.io/h2c`, is
    // HTTP/2 whatever the policies say, but `useClientProtocol` (applied last) takes the
    // client's protocol.
    assert_eq!(upstream("", 82, ""), "h2");
    assert_eq!(upstream("", 84, ""), "h2");
    assert_eq!(upstream(upgrade, 82, &no), "h2");
    assert_eq!(upstream("", 82, &client_protocol), "client");
    // A TCP port: MeshConfig's UPGRADE does not apply (`shouldH2Upgrade`: not an HTTP port).
    assert_eq!(upstream(upgrade, 83, ""), "h1");
    // A UDP port neither (the sidecar does not proxy it, as TCP or otherwise); the plan says why.
    assert_eq!(upstream(upgrade, 85, ""), "h1");
    let mesh_upgrade = mesh(upgrade);
    let loaded = rules(&format!("{}{service}", rule("svc", "")));
    let index = MeshIndex::new(&loaded.rules, &mesh_upgrade, "default");
    let udp = loaded.complete(&Destination::new("svc").port(85), &mesh_upgrade);
    let planned = plan(&index.resolve(&udp).unwrap());
    let why = planned
        .derivations
        .iter()
        .find(|d| d.setting == "max_in_flight");
    let why = &why.unwrap().explanation;
    assert!(
        why.contains("toward an HTTP/1.1 upstream (MeshConfig's h2UpgradePolicy is UPGRADE, but the port's protocol is UDP, which is not HTTP)"),
        "{why}"
    );
    // A port the input does not define is taken to be HTTP, as before protocols were read.
    assert_eq!(upstream(upgrade, 8080, ""), "h2");
    assert_eq!(upstream("", 8080, ""), "h1");
}

/// cluster_builder_test.go `TestApplyDestinationRule`, its cases on the HTTP2 port without any
/// upgrade asked for: "destination rule with maxConcurrentStreams" and "destination rule with
/// http2 keepalive" set `http2_protocol_options` on the cluster, because the port made it
/// HTTP/2 (`setUpstreamProtocol`); on its HTTP port, "destination rule with http2UpgradePolicy
/// and maxConcurrentStreams" does with the rule's `UPGRADE`. A ServiceEntry port's `protocol`
/// counts as a Service port's name (serviceentry `convertPort`).
#[test]
fn an_http2_port_gets_the_pools_http2_options() {
    let policy = "  trafficPolicy:\n    connectionPool:\n      http:\n        maxConcurrentStreams: 10\n        http2KeepAlive: {interval: 15s, timeout: 5s}\n";
    let service = "---\napiVersion: v1\nkind: Service\nmetadata: {name: foo, namespace: default}\nspec:\n  ports: [{name: default, port: 8080, appProtocol: http2}, {name: http, port: 9090}]\n";
    let entry = "---\napiVersion: networking.istio.io/v1\nkind: ServiceEntry\nmetadata: {name: api, namespace: default}\nspec:\n  hosts: [api.example.com]\n  ports: [{number: 443, name: grpc-api, protocol: GRPC}, {number: 80, name: web, protocol: HTTP}]\n";
    let plain = MeshConfig::default();
    let h2_options = |host: &str, port: u32| {
        let loaded = rules(&format!("{}{service}{entry}", rule(host, policy)));
        let index = MeshIndex::new(&loaded.rules, &plain, "default");
        let destination = loaded.complete(&Destination::new(host).port(port), &plain);
        let r = index.resolve(&destination).unwrap();
        cluster(&r)["typed_extension_protocol_options"]
            ["envoy.extensions.upstreams.http.v3.HttpProtocolOptions"]["explicit_http_config"]
            ["http2_protocol_options"]
            .clone()
    };
    let want = serde_json::json!({
        "max_concurrent_streams": 10,
        "connection_keepalive": {"interval": "15s", "timeout": "5s"}
    });
    assert_eq!(h2_options("foo", 8080), want);
    assert_eq!(
        h2_options("foo", 9090),
        Value::Null,
        "an HTTP port, no upgrade"
    );
    assert_eq!(h2_options("api.example.com", 443), want);
    assert_eq!(h2_options("api.example.com", 80), Value::Null);
}

/// A port proxied as TCP gets its `tcp_proxy`'s idle timeout from the rule's top-level pool
/// (networkfilter.go `buildOutboundNetworkFiltersWithSingleDestination` reads
/// `destinationRule.GetTrafficPolicy().GetConnectionPool().GetTcp().GetIdleTimeout()`), while
/// its cluster, and so its connection limit, takes the port-level pool (`applyDestinationRule`)
/// and a subset's: on the TCP port 80 the ceiling is floor(0.95 x 4) = 3 and the idle timeout
/// 0.9 x 30s = 27s, also for subset v1; on the HTTP port 81, with the same port-level pool, the
/// idle timeout is the port-level 5s (4.5s).
#[test]
fn a_tcp_ports_idle_timeout_is_the_top_level_pools() {
    let policy = "  trafficPolicy:\n    connectionPool:\n      tcp: {maxConnections: 100, idleTimeout: 30s}\n    portLevelSettings:\n    - port: {number: 80}\n      connectionPool: {tcp: {maxConnections: 4, idleTimeout: 5s}}\n    - port: {number: 81}\n      connectionPool: {tcp: {maxConnections: 4, idleTimeout: 5s}}\n  subsets:\n  - name: v1\n    labels: {version: v1}\n    trafficPolicy:\n      connectionPool: {tcp: {maxConnections: 6, idleTimeout: 2s}}\n";
    let service = "---\napiVersion: v1\nkind: Service\nmetadata: {name: svc, namespace: default}\nspec:\n  ports: [{name: tcp-api, port: 80}, {name: http-api, port: 81}]\n";
    let loaded = rules(&format!("{}{service}", rule("svc", policy)));
    let plain = MeshConfig::default();
    let index = MeshIndex::new(&loaded.rules, &plain, "default");
    let planned = |destination: Destination| {
        let destination = loaded.complete(&destination, &plain);
        let r = index.resolve(&destination).unwrap();
        let filter = cluster_listener_filter(&r);
        let p = plan(&r);
        (p.client.max_in_flight, p.client.pool_idle_timeout, filter)
    };
    let (ceiling, idle, filter) = planned(Destination::new("svc").port(80));
    assert_eq!((ceiling, idle), (Some(3), Duration::from_secs(27)));
    assert_eq!(filter["name"], "envoy.filters.network.tcp_proxy");
    assert_eq!(filter["typed_config"]["idle_timeout"], "30s");
    let (ceiling, idle, _) = planned(Destination::new("svc").port(80).subset("v1"));
    assert_eq!((ceiling, idle), (Some(5), Duration::from_secs(27)));
    let (ceiling, idle, filter) = planned(Destination::new("svc").port(81));
    assert_eq!(idle, Duration::from_millis(4500));
    assert_eq!(ceiling, None, "HTTP: min(4 + unlimited, unlimited)");
    assert_eq!(
        filter["name"],
        "envoy.filters.network.http_connection_manager"
    );
}

/// The first filter of the rendered outbound listener.
fn cluster_listener_filter(resolution: &Resolution<'_>) -> Value {
    let options = RenderOptions::new("127.0.0.1:1".parse().unwrap());
    render(resolution, &options)["static_resources"]["listeners"][0]["filter_chains"][0]["filters"]
        [0]
    .clone()
}

/// validation.go `validateConnectionPool` skips `tcp.idleTimeout: 0s`, which Envoy reads as no
/// idle timeout: the client keeps its 90s, it does not turn pooling off.
#[test]
fn a_zero_tcp_idle_timeout_means_none() {
    let loaded = rules(&rule(
        "svc",
        "  trafficPolicy:\n    connectionPool: {tcp: {idleTimeout: 0s}}\n",
    ));
    let plain = MeshConfig::default();
    let index = MeshIndex::new(&loaded.rules, &plain, "default");
    let p = plan(&resolved(&index, "svc"));
    assert_eq!(p.sidecar.idle_timeout, Duration::ZERO);
    assert_eq!(p.client.pool_idle_timeout, Duration::from_secs(90));
    // With a connection duration, that is the bound: 0.9 x 60s.
    let loaded = rules(&rule(
        "svc",
        "  trafficPolicy:\n    connectionPool: {tcp: {idleTimeout: 0s, maxConnectionDuration: 60s}}\n",
    ));
    let index = MeshIndex::new(&loaded.rules, &plain, "default");
    let p = plan(&resolved(&index, "svc"));
    assert_eq!(p.client.pool_idle_timeout, Duration::from_secs(54));
}

/// Istio issue 58322, in destination_rule.go `mergeDestinationRule`: a selector rule and a rule
/// without selector with equal `exportTo` sets end up in one entry, the selector rule's (it
/// sorts first); the entry has a selector, so clients it does not select get no rule.
#[test]
fn equal_export_to_merges_a_selector_rule_with_a_plain_one() {
    let loaded = rules(
        "apiVersion: networking.istio.io/v1\nkind: DestinationRule\nmetadata: {name: plain, namespace: web}\nspec:\n  host: svc\n  exportTo: [\".\"]\n  trafficPolicy: {connectionPool: {tcp: {maxConnections: 10}}}\n---\napiVersion: networking.istio.io/v1\nkind: DestinationRule\nmetadata: {name: selected, namespace: web}\nspec:\n  host: svc\n  exportTo: [\".\"]\n  workloadSelector: {matchLabels: {app: a}}\n  subsets: [{name: v1}]\n",
    );
    let plain = MeshConfig::default();
    let index = MeshIndex::new(&loaded.rules, &plain, "web");
    let client = |labels: &[(&str, &str)]| {
        Destination::new("svc")
            .namespace("web")
            .labels(labels.iter().copied())
    };
    let selected = index.resolve(&client(&[("app", "a")])).unwrap();
    let ids: Vec<String> = selected.rules().iter().map(|r| r.id()).collect();
    assert_eq!(ids, ["web/selected", "web/plain"]);
    assert_eq!(
        plan(&selected).sidecar.max_connections,
        10,
        "plain's policy, merged in"
    );
    let other = index.resolve(&client(&[("app", "b")])).unwrap();
    assert!(other.found.is_none());
    assert_eq!(plan(&other).sidecar.max_connections, u32::MAX);
}

#[test]
fn mesh_config_input_errors_name_the_field() {
    let (_, loaded) = mesh_file(
        "typos.yaml",
        "rootNamspace: mesh\naccessLogFile: /dev/stdout\nconnectTimeout: 3\nh2UpgradePolicy: ALWAYS\ndefaultTrafficPolicy:\n  conectionPool: {tcp: {maxConnections: 1}}\n  outlierDetection: {consecutive5xxErrors: -1}\n",
    );
    let found: Vec<(String, String, Option<String>)> = loaded
        .findings
        .iter()
        .map(|f| {
            (
                f.code.as_str().to_owned(),
                f.location.pos.to_string(),
                f.help.clone(),
            )
        })
        .collect();
    let codes: Vec<&str> = found.iter().map(|f| f.0.as_str()).collect();
    assert_eq!(
        codes,
        ["ST101", "ST102", "ST105", "ST101", "ST103"],
        "{found:?}"
    );
    assert_eq!(found[0].1, "1:1");
    assert_eq!(found[0].2.as_deref(), Some("did you mean `rootNamespace`?"));
    assert_eq!(
        found[3].2.as_deref(),
        Some("did you mean `connectionPool`?")
    );
    let (_, not_mesh) = mesh_file(
        "other.yaml",
        "apiVersion: v1\nkind: Secret\nmetadata: {name: x}\n",
    );
    let codes: Vec<&str> = not_mesh.findings.iter().map(|f| f.code.as_str()).collect();
    assert_eq!(codes, ["ST111", "ST106"]);
}

// ---- the command line ---------------------------------------------------------------------

fn run(args: &[&str]) -> Output {
    Command::cargo_bin("sidecar-tuner")
        .unwrap()
        .current_dir(root())
        .args(args)
        .timeout(Duration::from_secs(60))
        .output()
        .unwrap()
}

fn json(out: &Output) -> Value {
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

/// The `istio` ConfigMap in the input is the mesh's MeshConfig: its connect timeout, keep-alive
/// and default pool reach the plan.
#[test]
fn the_config_map_in_the_input_shapes_the_plan() {
    let out = run(&[
        "plan", EXPORT, "--host", "reviews", "-n", "bookinfo", "--port", "9443", "--format", "json",
    ]);
    let plan = json(&out);
    assert_eq!(plan["sidecar"]["connect_timeout_ms"], 3000);
    assert_eq!(plan["sidecar"]["max_connections"], 20, "port 9443's pool");
    // The port-level pool has no keep-alive: MeshConfig's 600s applies.
    assert_eq!(plan["client"]["tcp_keepalive_ms"], 600_000);
    assert_eq!(plan["found_in"], "the client's namespace `bookinfo`");
    let from: Vec<&str> = plan["from"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["name"].as_str().unwrap())
        .collect();
    assert_eq!(from, ["reviews", "reviews-canary"]);
    // ratings is private to bookinfo: a client elsewhere gets the mesh's default pool of 33.
    let web = json(&run(&[
        "plan",
        EXPORT,
        "--host",
        "ratings.bookinfo.svc.cluster.local",
        "-n",
        "web",
        "--format",
        "json",
    ]));
    assert_eq!(web["rule"], Value::Null);
    assert_eq!(web["sidecar"]["max_connections"], 33);
    assert_eq!(
        web["passed_over"][0]["reason"],
        "it is not exported to `web`"
    );
}

/// `--mesh` replaces the ConfigMap of the input; `--labels` picks the selector rule.
#[test]
fn mesh_and_labels_flags() {
    let (path, _) = mesh_file("flag.yaml", "connectTimeout: 7s\n");
    let path = path.to_str().unwrap();
    let plan = json(&run(&[
        "plan", EXPORT, "--host", "reviews", "-n", "bookinfo", "--port", "9080", "--mesh", path,
        "--format", "json",
    ]));
    assert_eq!(plan["sidecar"]["connect_timeout_ms"], 7000);
    let batch = json(&run(&[
        "plan",
        EXPORT,
        "--host",
        "reviews.bookinfo.svc.cluster.local",
        "-n",
        "jobs",
        "--labels",
        "app=batch,tier=back",
        "--format",
        "json",
    ]));
    assert_eq!(batch["sidecar"]["max_connections"], 5);
    assert_eq!(batch["destination"]["labels"]["tier"], "back");
    let others = run(&[
        "plan",
        EXPORT,
        "--host",
        "reviews.bookinfo.svc.cluster.local",
        "-n",
        "jobs",
        "--format",
        "json",
    ]);
    let stderr = String::from_utf8_lossy(&others.stderr);
    assert!(stderr.contains("warning[ST213]"), "{stderr}");
    assert_eq!(
        json(&others)["sidecar"]["max_connections"],
        33,
        "the mesh default"
    );
    let bad = run(&["plan", EXPORT, "--host", "reviews", "--labels", "app"]);
    assert_eq!(bad.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("is not KEY=VALUE"));
    let missing = run(&[
        "plan",
        EXPORT,
        "--host",
        "reviews",
        "--mesh",
        "no/such/mesh.yaml",
    ]);
    assert_eq!(missing.status.code(), Some(2));
}

/// A Kubernetes Service in the input gives the ports: `check --host` resolves each, and
/// reports the merge (ST206) once.
#[test]
fn check_resolves_each_service_port() {
    let out = run(&[
        "check", EXPORT, "--host", "reviews", "-n", "bookinfo", "--format", "json",
    ]);
    let report = json(&out);
    let messages: Vec<&str> = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["code"] == "ST208")
        .map(|f| f["message"].as_str().unwrap())
        .collect();
    assert_eq!(messages.len(), 2, "{messages:?}");
    assert!(messages[0].starts_with(
        "reviews.bookinfo.svc.cluster.local:9080 resolves to DestinationRule bookinfo/reviews"
    ));
    assert!(messages[1].starts_with("reviews.bookinfo.svc.cluster.local:9443 resolves to"));
    let merges = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["code"] == "ST206")
        .count();
    assert_eq!(merges, 1);
    // Without the Service, no port: ST212 names the port with its own policy.
    let plain = run(&[
        "check",
        "fixtures/reviews.yaml",
        "--host",
        "reviews",
        "-n",
        "bookinfo",
        "--format",
        "json",
    ]);
    let codes: Vec<String> = serde_json::from_slice::<Value>(&plain.stdout).unwrap()["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["code"].as_str().unwrap().to_owned())
        .collect();
    assert!(codes.contains(&"ST212".to_owned()), "{codes:?}");
}

/// Hostile MeshConfig input ends with a clear finding, quickly: an alias bomb inside the
/// ConfigMap's `data.mesh` stops at the parser's budget (with its snippet), binary data given
/// to `--mesh` is refused.
#[test]
fn hostile_mesh_config_input() {
    let mut bomb = String::from(
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: istio, namespace: istio-system}\ndata:\n  mesh: |-\n    a: &a [x,x,x,x,x,x,x,x,x]\n",
    );
    for (name, prev) in [
        ("b", "a"),
        ("c", "b"),
        ("d", "c"),
        ("e", "d"),
        ("f", "e"),
        ("g", "f"),
    ] {
        let refs = vec![format!("*{prev}"); 9].join(",");
        bomb.push_str(&format!("    {name}: &{name} [{refs}]\n"));
    }
    let (path, loaded) = mesh_file("bomb.yaml", &bomb);
    assert_eq!(loaded.findings.len(), 1, "{:?}", loaded.findings);
    assert_eq!(loaded.findings[0].code.as_str(), "ST100");
    assert!(
        loaded.findings[0]
            .location
            .file
            .ends_with("bomb.yaml#data.mesh")
    );
    let started = std::time::Instant::now();
    let out = run(&["check", path.to_str().unwrap()]);
    assert!(started.elapsed() < Duration::from_secs(10));
    assert_eq!(out.status.code(), Some(2));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("safety budget") && text.contains("|"),
        "{text}"
    );
    let binary = run(&[
        "plan",
        EXPORT,
        "--host",
        "reviews",
        "-n",
        "bookinfo",
        "--mesh",
        "fixtures/bad/binary.yaml",
    ]);
    assert_eq!(binary.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&binary.stderr).contains("NUL"));
}

/// `Tuner::mesh_config`: the MeshConfig file shapes the plan, and the report keeps its text
/// for the lines its derivations point at.
#[test]
fn the_tuner_reads_a_mesh_config_file() {
    let (path, _) = mesh_file("tuner.yaml", "connectTimeout: 4s\n");
    let tuned = sidecar_tuner::Tuner::from_path(root().join("fixtures/circuit-breaker.yaml"))
        .unwrap()
        .host("httpbin")
        .mesh_config(&path)
        .build()
        .unwrap();
    assert_eq!(tuned.plan.connect_timeout, Duration::from_secs(4));
    let from = tuned
        .report
        .derivations
        .iter()
        .find(|d| d.setting == "connect_timeout")
        .and_then(|d| d.sources.first().cloned())
        .expect("the connect timeout names its line");
    assert_eq!(from.to_string(), format!("{}:1:17", path.display()));
    assert_eq!(tuned.report.sources.line(&from), Some("connectTimeout: 4s"));
    let missing = sidecar_tuner::Tuner::from_path(root().join("fixtures/circuit-breaker.yaml"))
        .unwrap()
        .host("httpbin")
        .mesh_config("no/such/mesh.yaml")
        .plan();
    assert!(missing.is_err());
}

// ---- the client's Sidecar: which hosts its sidecar has a cluster for ------------------------

const EGRESS: &str = "fixtures/mesh/sidecar-egress.yaml";
const BOOKINFO_REVIEWS: &str = "reviews.bookinfo.svc.cluster.local";

/// The ST215 findings of `check EGRESS --host reviews.bookinfo...` with `args`.
fn not_imported(args: &[&str]) -> Vec<Value> {
    unreachable_host(BOOKINFO_REVIEWS, args)
}

/// The ST215 findings of `check EGRESS --host HOST` with `args`.
fn unreachable_host(host: &str, args: &[&str]) -> Vec<Value> {
    unreachable_in(EGRESS, host, args)
}

/// The ST215 findings of `check FILE --host HOST` with `args`.
/// `plan FILE --host HOST ARGS --format json`, parsed.
fn plan_json(file: &str, host: &str, args: &[&str]) -> Value {
    let mut all = vec!["plan", file, "--host", host, "--format", "json"];
    all.extend_from_slice(args);
    json(&run(&all))
}

/// The message of the one finding in `findings`.
fn only_message(findings: &[Value]) -> &str {
    assert_eq!(findings.len(), 1, "{findings:?}");
    findings[0]["message"].as_str().unwrap()
}

fn unreachable_in(file: &str, host: &str, args: &[&str]) -> Vec<Value> {
    let mut all = vec!["check", file, "--host", host, "--format", "json"];
    all.extend_from_slice(args);
    json(&run(&all))["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["code"] == "ST215")
        .cloned()
        .collect()
}

/// `sidecar.go`: the Sidecar of the client (`doGetSidecarScope`: a selector one of its
/// namespace, else its namespace's, else the root namespace's, converted for the client's
/// namespace so that `.` is the client's) imports a host through its egress listeners
/// (`selectServices`; a listener with a port on that port only, `needsPortMatch`); a host it
/// does not import gets no cluster, so the rule of `bookinfo` does not apply.
#[test]
fn a_sidecar_scopes_the_hosts_its_clients_reach() {
    // `web`'s default Sidecar imports `./*` and `istio-system/*`: not bookinfo.
    let web = not_imported(&["-n", "web"]);
    assert_eq!(web.len(), 1, "{web:?}");
    let message = web[0]["message"].as_str().unwrap();
    assert!(
        message.starts_with(
            "the Sidecar web/default of this client does not import `reviews.bookinfo.svc.cluster.local`, so its sidecar has no cluster for it: its requests leave through PassthroughCluster"
        ),
        "{message}"
    );
    assert!(
        message.ends_with(
            "and nothing limits them (MeshConfig sets no defaultTrafficPolicy connectionPool)"
        ),
        "{message}"
    );
    assert_eq!(
        (&web[0]["line"], &web[0]["column"]),
        (&Value::from(23), &Value::from(5))
    );
    assert_eq!(
        web[0]["help"],
        "add `bookinfo/reviews.bookinfo.svc.cluster.local` (or `bookinfo/*`) to an egress listener's `hosts` (or route to it from a VirtualService that a listener imports)"
    );
    // The frontend's Sidecar imports bookinfo on port 9080 only.
    assert!(not_imported(&["-n", "web", "--labels", "app=frontend", "--port", "9080"]).is_empty());
    let other_port = not_imported(&["-n", "web", "--labels", "app=frontend", "--port", "9443"]);
    assert_eq!(other_port.len(), 1);
    assert!(other_port[0]["message"].as_str().unwrap().contains("web/frontend of this client does not import `reviews.bookinfo.svc.cluster.local` on port 9443"));
    // REGISTRY_ONLY: BlackHoleCluster.
    let legacy = not_imported(&["-n", "web", "--labels", "app=legacy"]);
    assert!(legacy[0]["message"].as_str().unwrap().ends_with(
        "the sidecar answers its requests 502 (BlackHoleCluster: outboundTrafficPolicy REGISTRY_ONLY)"
    ));
    let related = legacy[0]["related"].as_array().unwrap();
    assert_eq!(
        (&related[1]["line"], &related[1]["column"]),
        (&Value::from(48), &Value::from(33))
    );
    // ALLOW_ANY with an egress proxy (`httproute.go`): the proxy's cluster, not PassthroughCluster.
    let proxied = not_imported(&["-n", "web", "--labels", "app=proxied"]);
    assert!(proxied[0]["message"].as_str().unwrap().ends_with(
        "its requests go to the Sidecar's egressProxy `istio-egressgateway.istio-system.svc.cluster.local` (outboundTrafficPolicy ALLOW_ANY), whose own cluster and rule apply"
    ));
    // `web`'s VirtualService for details, which `./*` imports, imports details on port 9080
    // (`collectImportedServices`, `serviceMatchingVirtualServicePorts`).
    let details = "details.bookinfo.svc.cluster.local";
    assert!(unreachable_host(details, &["-n", "web"]).is_empty());
    assert!(unreachable_host(details, &["-n", "web", "--labels", "app=legacy"]).is_empty());
    // On a port its Service does not have, no sidecar has a cluster for it, whatever imports
    // it (`buildOutboundClusters`; the import on the routes' ports only is
    // `istio::scope::tests::virtual_service_routes_import_their_destinations`).
    let other_port = unreachable_host(details, &["-n", "web", "--port", "9443"]);
    assert!(
        other_port[0]["message"]
            .as_str()
            .unwrap()
            .starts_with("the Service bookinfo/details has no port 9443 (its ports: 9080)"),
        "{other_port:?}"
    );
    // No Sidecar in `jobs`: the root namespace's, which imports reviews by its full name; in
    // `bookinfo` its `./*` is bookinfo's own services.
    assert!(not_imported(&["-n", "jobs"]).is_empty());
    assert!(not_imported(&["-n", "bookinfo"]).is_empty());
}

/// Without a mode in the Sidecar, MeshConfig's `outboundTrafficPolicy` decides
/// (`initSidecarScopeInternalIndexes`), and the passthrough cluster takes MeshConfig's default
/// pool (`cluster_builder.go` `buildDefaultPassthroughCluster`); `plan` says so on standard
/// error.
#[test]
fn the_mesh_decides_where_requests_for_a_host_not_imported_go() {
    let (registry_only, _) = mesh_file(
        "registry-only.yaml",
        "outboundTrafficPolicy: {mode: REGISTRY_ONLY}\n",
    );
    let path = registry_only.to_str().unwrap();
    let web = not_imported(&["-n", "web", "--mesh", path]);
    assert!(
        web[0]["message"]
            .as_str()
            .unwrap()
            .ends_with("502 (BlackHoleCluster: outboundTrafficPolicy REGISTRY_ONLY)")
    );
    let related = web[0]["related"].as_array().unwrap();
    assert_eq!(related[1]["file"], path);
    // A policy without `mode` replaces the default mesh's ALLOW_ANY with the zero value,
    // REGISTRY_ONLY (`mesh.go` `ApplyMeshConfig` overrides fields whole; golang/protobuf's
    // jsonpb sets a fresh message); `null` keeps the default.
    let (empty, _) = mesh_file("empty-policy.yaml", "outboundTrafficPolicy: {}\n");
    let web = not_imported(&["-n", "web", "--mesh", empty.to_str().unwrap()]);
    assert!(
        web[0]["message"]
            .as_str()
            .unwrap()
            .ends_with("502 (BlackHoleCluster: outboundTrafficPolicy REGISTRY_ONLY)")
    );
    let (null, _) = mesh_file("null-policy.yaml", "outboundTrafficPolicy: null\n");
    let web = not_imported(&["-n", "web", "--mesh", null.to_str().unwrap()]);
    assert!(
        web[0]["message"]
            .as_str()
            .unwrap()
            .contains("PassthroughCluster")
    );
    let (pooled, _) = mesh_file(
        "pooled.yaml",
        "outboundTrafficPolicy: {mode: ALLOW_ANY}\ndefaultTrafficPolicy:\n  connectionPool: {tcp: {maxConnections: 50}}\n",
    );
    let web = not_imported(&["-n", "web", "--mesh", pooled.to_str().unwrap()]);
    assert!(web[0]["message"].as_str().unwrap().ends_with(
        "where no DestinationRule applies, only MeshConfig's defaultTrafficPolicy connectionPool, shared by all the traffic it carries"
    ));
    let out = run(&["plan", EGRESS, "--host", BOOKINFO_REVIEWS, "-n", "web"]);
    assert!(out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("warning[ST215]: the Sidecar web/default of this client does not import"),
        "{stderr}"
    );
    let (_, typo) = mesh_file(
        "mode.yaml",
        "outboundTrafficPolicy: {mode: DENY, mdoe: REGISTRY_ONLY}\n",
    );
    let codes: Vec<&str> = typo.findings.iter().map(|f| f.code.as_str()).collect();
    assert_eq!(codes, ["ST101", "ST105"]);
    let (_, scalar) = mesh_file("scalar.yaml", "outboundTrafficPolicy: REGISTRY_ONLY\n");
    let codes: Vec<&str> = scalar.findings.iter().map(|f| f.code.as_str()).collect();
    assert_eq!(codes, ["ST102"]);
}

/// A Sidecar's `outboundTrafficPolicy` without `mode` is REGISTRY_ONLY: the zero value of
/// `networking.OutboundTrafficPolicy.Mode`, which `initSidecarScopeInternalIndexes` takes over
/// MeshConfig's ALLOW_ANY as soon as the Sidecar has a policy at all.
#[test]
fn a_sidecar_policy_without_mode_is_registry_only() {
    use sidecar_tuner::check::scope_findings;
    let sidecar = |policy: &str| {
        rules(&format!(
            "apiVersion: networking.istio.io/v1\nkind: Sidecar\nmetadata: {{name: default, namespace: web}}\nspec:\n{policy}  egress:\n  - hosts: [\"./*\"]\n"
        ))
    };
    let allow_any = mesh("outboundTrafficPolicy: {mode: ALLOW_ANY}\n");
    let client = Destination::new(BOOKINFO_REVIEWS).namespace("web");
    for (policy, blackhole) in [
        ("", false),
        ("  outboundTrafficPolicy: {}\n", true),
        ("  outboundTrafficPolicy: {mode: REGISTRY_ONLY}\n", true),
        ("  outboundTrafficPolicy: {mode: ALLOW_ANY}\n", false),
    ] {
        let loaded = sidecar(policy);
        let index = MeshIndex::new(&loaded.rules, &allow_any, "web");
        let found = scope_findings(&index, &loaded, &client);
        assert_eq!(
            found[0].message.contains("502 (BlackHoleCluster"),
            blackhole,
            "{policy}: {}",
            found[0].message
        );
    }
}

/// push_context.go `IsServiceVisible`: a Service's `networking.istio.io/exportTo` annotation,
/// else MeshConfig's `defaultServiceExportTo`, decides which namespaces see it; a client of
/// another namespace gets no cluster for it, whatever its Sidecar imports.
#[test]
fn a_service_not_exported_to_the_client_has_no_cluster() {
    let check = unreachable_host;
    let ratings = "ratings.bookinfo.svc.cluster.local";
    let frontend = ["-n", "web", "--labels", "app=frontend"];
    let found = check(ratings, &frontend);
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(
        found[0]["message"],
        "the Service bookinfo/ratings is not exported to `web` (its exportTo is `bookinfo`), so the client's sidecar has no cluster for `ratings.bookinfo.svc.cluster.local`: its requests leave through PassthroughCluster (outboundTrafficPolicy ALLOW_ANY), where no DestinationRule applies and nothing limits them (MeshConfig sets no defaultTrafficPolicy connectionPool)"
    );
    assert_eq!(
        (&found[0]["line"], &found[0]["column"]),
        (&Value::from(70), &Value::from(35))
    );
    assert!(check(ratings, &["-n", "bookinfo"]).is_empty());
    let details = "details.bookinfo.svc.cluster.local";
    assert!(check(details, &frontend).is_empty());
    let (private, _) = mesh_file("private-services.yaml", "defaultServiceExportTo: [\".\"]\n");
    let mut args = frontend.to_vec();
    args.extend(["--mesh", private.to_str().unwrap()]);
    let found = check(details, &args);
    assert!(
        found[0]["message"].as_str().unwrap().starts_with(
            "the Service bookinfo/details is not exported to `web` (MeshConfig's defaultServiceExportTo is `.`)"
        ),
        "{found:?}"
    );
    // An empty list is Istio's default `*`: golang/protobuf's jsonpb sets a repeated field from
    // a fresh list (`m.NewField(fd)`, then `m.Set`), which for `[]` leaves the Go slice nil,
    // and `initDefaultExportMaps` takes a nil `DefaultServiceExportTo` as `*`.
    let (empty, _) = mesh_file("empty-export.yaml", "defaultServiceExportTo: []\n");
    let mut args = frontend.to_vec();
    args.extend(["--mesh", empty.to_str().unwrap()]);
    assert!(check(details, &args).is_empty());
}

/// push_context.go `destinationRule`: a host's rule is looked up in the namespace of the
/// service behind it too, for a ServiceEntry host the entry's (`Loaded::complete`); a
/// ServiceEntry exported to its own namespace only leaves other clients without a cluster.
#[test]
fn service_entry_hosts_find_their_rule_in_the_entrys_namespace() {
    const ENTRIES: &str = "fixtures/mesh/service-entries.yaml";
    let plan_api = |extra: &[&str]| {
        let mut args = vec!["plan", ENTRIES, "--host", "api.example.com", "-n", "web"];
        args.extend_from_slice(extra);
        run(&args)
    };
    let plan = json(&plan_api(&["--format", "json"]));
    assert_eq!(plan["sidecar"]["max_connections"], 7);
    assert_eq!(plan["rule"]["namespace"], "egress");
    // `--service-namespace` says otherwise: no rule applies from `web`.
    let elsewhere = plan_api(&["--service-namespace", "other"]);
    assert!(
        String::from_utf8_lossy(&elsewhere.stderr)
            .contains("no DestinationRule applies to `api.example.com`")
    );
    let hidden = unreachable_in(ENTRIES, "internal.example.com", &["-n", "web"]);
    assert_eq!(
        hidden[0]["message"].as_str().unwrap().split(':').next(),
        Some(
            "the ServiceEntry egress/internal is not exported to `web` (its exportTo is `.`), so the client's sidecar has no cluster for `internal.example.com`"
        )
    );
    assert_eq!(
        hidden[0]["help"],
        "add `web` (or `*`) to the ServiceEntry's `exportTo`"
    );
    assert!(unreachable_in(ENTRIES, "internal.example.com", &["-n", "egress"]).is_empty());
}

/// A host that no ServiceEntry names but a wildcard one covers goes to the wildcard's cluster
/// (`outbound|443||*.example.org`), whose rules Istio looks up for `*.example.org`
/// (`MostSpecificHostMatch` with a wildcard needle): a rule for the name itself applies to no
/// cluster (Istio issue 19459, istio/istio#21857). A Sidecar must import the wildcard's host,
/// not the name (`hostClassification.Matches`: an exact entry does not cover a wildcard host).
#[test]
fn a_wildcard_service_entry_takes_its_hosts_rules() {
    const ENTRIES: &str = "fixtures/mesh/wildcard-service-entry.yaml";
    // The library resolves as the command line does.
    let tuner = sidecar_tuner::Tuner::from_path(ENTRIES)
        .unwrap()
        .namespace("web")
        .port(443);
    let idle = |host: &str| {
        tuner
            .clone()
            .host(host)
            .plan()
            .unwrap()
            .pool_max_idle_per_host
    };
    assert_eq!(
        idle("api.example.org"),
        Some(38),
        "floor(0.95 x 40), the wildcard's rule"
    );
    assert_eq!(idle("pay.example.org"), Some(8), "floor(0.95 x 9)");
    let plan_of = |host: &str| plan_json(ENTRIES, host, &["-n", "web", "--port", "443"]);
    let api = plan_of("api.example.org");
    assert_eq!(
        api["sidecar"]["max_connections"], 40,
        "the wildcard's rule, not api's 5"
    );
    assert_eq!(api["rule"]["name"], "example-org");
    assert_eq!(api["destination"]["service_host"], "*.example.org");
    assert_eq!(api["destination"]["service_namespace"], "egress");
    let pay = plan_of("pay.example.org");
    assert_eq!(
        pay["sidecar"]["max_connections"], 9,
        "its own ServiceEntry, its own rule"
    );
    // Without the ServiceEntries in the input, `--service-host` says which serves the host.
    let rules_file =
        std::env::temp_dir().join(format!("st-wildcard-rules-{}.yaml", std::process::id()));
    std::fs::write(
        &rules_file,
        "apiVersion: networking.istio.io/v1\nkind: DestinationRule\nmetadata: {name: domain, namespace: egress}\nspec: {host: '*.example.org', trafficPolicy: {connectionPool: {tcp: {maxConnections: 40}}}}\n---\napiVersion: networking.istio.io/v1\nkind: DestinationRule\nmetadata: {name: api, namespace: egress}\nspec: {host: api.example.org, trafficPolicy: {connectionPool: {tcp: {maxConnections: 5}}}}\n",
    )
    .unwrap();
    let rules = rules_file.to_str().unwrap();
    let stated = |extra: &[&str]| {
        let mut args = vec!["--service-namespace", "egress"];
        args.extend_from_slice(extra);
        plan_json(rules, "api.example.org", &args)["sidecar"]["max_connections"].clone()
    };
    assert_eq!(stated(&[]), 5);
    assert_eq!(stated(&["--service-host", "*.example.org"]), 40);
    let wrong = run(&[
        "plan",
        rules,
        "--host",
        "api.example.org",
        "--service-host",
        "*.example.com",
    ]);
    assert_eq!(wrong.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&wrong.stderr).contains("a wildcard that covers it"),
        "{}",
        String::from_utf8_lossy(&wrong.stderr)
    );
    std::fs::remove_file(&rules_file).unwrap();

    let findings = json(&run(&[
        "check",
        ENTRIES,
        "--host",
        "api.example.org",
        "-n",
        "web",
        "--format",
        "json",
    ]))["findings"]
        .as_array()
        .unwrap()
        .clone();
    // Without `--port`, `check` resolves each port of the service behind the host, here the
    // wildcard entry's 443.
    let resolved = findings.iter().find(|f| f["code"] == "ST208").unwrap();
    assert!(
        resolved["message"]
            .as_str()
            .unwrap()
            .starts_with("api.example.org:443 (ServiceEntry host *.example.org) resolves to DestinationRule egress/example-org"),
        "{resolved}"
    );
    let labels = resolved["related"].to_string();
    assert!(
        labels.contains("egress/api passed over: the requests for `api.example.org` go to the cluster of the ServiceEntry host `*.example.org`"),
        "{labels}"
    );

    let cluster = run(&[
        "render-envoy",
        ENTRIES,
        "--host",
        "api.example.org",
        "-n",
        "web",
        "--port",
        "443",
        "--upstream",
        "127.0.0.1:8443",
    ]);
    assert!(
        String::from_utf8_lossy(&cluster.stdout).contains("outbound|443||*.example.org"),
        "{}",
        String::from_utf8_lossy(&cluster.stdout)
    );

    // `jobs` imports `egress/api.example.org`: a name, which does not cover the wildcard host.
    let jobs = unreachable_in(ENTRIES, "api.example.org", &["-n", "jobs", "--port", "443"]);
    assert!(
        only_message(&jobs).starts_with(
            "the Sidecar jobs/default of this client does not import `*.example.org` (the ServiceEntry host that serves `api.example.org`) on port 443"
        ),
        "{jobs:?}"
    );
    assert!(
        unreachable_in(ENTRIES, "pay.example.org", &["-n", "jobs", "--port", "443"]).is_empty()
    );
}

/// `buildOutboundClusters`: a cluster per port of the service, so a call on a port its
/// Kubernetes Service (or ServiceEntry) does not have, often the container's `targetPort`, has
/// no cluster and no rule; and the sidecar's routes are per port, so a wildcard ServiceEntry
/// serves a host only on its own ports.
#[test]
fn a_port_the_service_lacks_has_no_cluster() {
    let reviews = unreachable_in(
        "fixtures/mesh/bookinfo-export.yaml",
        "reviews.bookinfo.svc.cluster.local",
        &["-n", "web", "--port", "8080"],
    );
    assert!(
        only_message(&reviews).starts_with(
            "the Service bookinfo/reviews has no port 8080 (its ports: 9080, 9443), so the client's sidecar has no cluster for `reviews.bookinfo.svc.cluster.local:8080`: its requests leave through PassthroughCluster"
        ),
        "{reviews:?}"
    );
    assert_eq!(
        (&reviews[0]["line"], &reviews[0]["column"]),
        (&Value::from(33), &Value::from(11)),
        "the Service's first port"
    );
    for port in ["9080", "9443"] {
        let on_port = ["-n", "web", "--port", port];
        let found = unreachable_in(
            "fixtures/mesh/bookinfo-export.yaml",
            "reviews.bookinfo.svc.cluster.local",
            &on_port,
        );
        assert!(found.is_empty(), "{port}: {found:?}");
    }
    const ENTRIES: &str = "fixtures/mesh/wildcard-service-entry.yaml";
    let pay = unreachable_in(ENTRIES, "pay.example.org", &["-n", "web", "--port", "80"]);
    assert!(
        pay[0]["message"].as_str().unwrap().starts_with(
            "the ServiceEntry egress/pay has no port 80 (its ports: 443), so the client's sidecar has no cluster for `pay.example.org:80`"
        ),
        "{pay:?}"
    );
    // The wildcard serves 443 only: on 80 no ServiceEntry of the input serves
    // `api.example.org`, so its namespace is unknown and no rule of `egress` applies.
    let plan_80 = plan_json(ENTRIES, "api.example.org", &["-n", "web", "--port", "80"]);
    assert_eq!(plan_80["rule"], Value::Null, "{plan_80}");
    assert_eq!(plan_80["destination"]["service_host"], Value::Null);
}

/// sidecar_test.go `TestSidecarOutboundTrafficPolicy`: the outbound traffic policy of a
/// client's sidecar is its Sidecar's when that sets one, else MeshConfig's (default or
/// `REGISTRY_ONLY`), for the eight combinations of its table. Seen through ST215 on a Service
/// hidden from the client (not exported to it), whatever its Sidecar imports.
#[test]
fn the_outbound_traffic_policy_is_the_sidecars_else_the_meshs() {
    let dir = std::env::temp_dir().join(format!("st-outbound-policy-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let hidden = "apiVersion: v1\nkind: Service\nmetadata: {name: hidden, namespace: prod, annotations: {networking.istio.io/exportTo: prod}}\nspec: {ports: [{port: 80}]}\n---\napiVersion: networking.istio.io/v1\nkind: DestinationRule\nmetadata: {name: hidden, namespace: prod}\nspec: {host: hidden.prod.svc.cluster.local, trafficPolicy: {connectionPool: {tcp: {maxConnections: 5}}}}\n";
    let sidecar = |spec: &str| {
        format!(
            "---\napiVersion: networking.istio.io/v1\nkind: Sidecar\nmetadata: {{name: foo, namespace: not-default}}\nspec: {spec}\n"
        )
    };
    let sidecars = [
        ("no Sidecar", String::new()),
        // Istio's webhook refuses an empty Sidecar (ST110): one that imports everything.
        (
            "Sidecar without OutboundTrafficPolicy",
            sidecar("{egress: [{hosts: ['*/*']}]}"),
        ),
        (
            "Sidecar with registry only",
            sidecar("{outboundTrafficPolicy: {mode: REGISTRY_ONLY}}"),
        ),
        (
            "Sidecar with allow any",
            sidecar("{outboundTrafficPolicy: {mode: ALLOW_ANY}}"),
        ),
    ];
    let (registry_only, _) = mesh_file(
        "outbound-registry-only.yaml",
        "outboundTrafficPolicy: {mode: REGISTRY_ONLY}\n",
    );
    let meshes = [
        ("default MeshConfig", None),
        ("MeshConfig registry only", Some(&registry_only)),
    ];
    // The table's expected policies, in its order: REGISTRY_ONLY or not.
    let expected = [false, false, true, false, true, true, true, false];
    let mut case = 0;
    for (mesh_name, mesh) in meshes {
        for (sidecar_name, sidecar) in &sidecars {
            let input = dir.join(format!("case-{case}.yaml"));
            std::fs::write(&input, format!("{hidden}{sidecar}")).unwrap();
            let mut args = vec![input.to_str().unwrap(), "-n", "not-default"];
            if let Some(mesh) = mesh {
                args.extend(["--mesh", mesh.to_str().unwrap()]);
            }
            let found = unreachable_in(args[0], "hidden.prod.svc.cluster.local", &args[1..]);
            let message = only_message(&found);
            let registry_only =
                message.ends_with("502 (BlackHoleCluster: outboundTrafficPolicy REGISTRY_ONLY)");
            assert!(
                registry_only || message.contains("PassthroughCluster"),
                "{message}"
            );
            assert_eq!(
                registry_only, expected[case],
                "{mesh_name}, {sidecar_name}: {message}"
            );
            case += 1;
        }
    }
    std::fs::remove_dir_all(&dir).unwrap();
}
