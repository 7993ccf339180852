//! The inbound policy of a server workload (issue 15, part 2), translated from Istio's own
//! tests and code (istio/istio 86c9f01fd735). Each case names the Istio test or function it
//! comes from; the expected numbers are Istio's expectations or computed by hand from the
//! function cited.

use std::sync::Arc;

use sidecar_tuner::istio::inbound::{SidecarStep, resolve_inbound, select_sidecar};
use sidecar_tuner::istio::load::{LoadOptions, Loaded, load_str};
use sidecar_tuner::istio::resolve::{Destination, MeshIndex, PolicySource, UNLIMITED};
use sidecar_tuner::istio::{MeshConfig, Sidecar};

fn load(yaml: &str) -> Loaded {
    let loaded = load_str(yaml, &Arc::from("in.yaml"), &LoadOptions::default());
    assert!(loaded.ensure_valid().is_ok(), "{:#?}", loaded.findings);
    loaded
}

fn dr(meta: &str, spec: &str) -> String {
    format!(
        "apiVersion: networking.istio.io/v1\nkind: DestinationRule\nmetadata: {{{meta}}}\nspec: {{{spec}}}\n---\n"
    )
}

fn sidecar(meta: &str, spec: &str) -> String {
    format!(
        "apiVersion: networking.istio.io/v1\nkind: Sidecar\nmetadata: {{{meta}}}\nspec: {{{spec}}}\n---\n"
    )
}

/// `maxConnections` of the inbound cluster, and where its pool came from.
fn inbound_max_connections(
    loaded: &Loaded,
    workload: &Destination,
    workload_port: Option<u32>,
) -> (u32, Option<PolicySource>) {
    let mesh = loaded.mesh.clone().unwrap_or_default();
    let index = MeshIndex::new(&loaded.rules, &mesh, &workload.namespace);
    let inbound = resolve_inbound(&index, &loaded.sidecars, workload, workload_port).unwrap();
    let policy = &inbound.resolution.policy;
    (
        policy.thresholds().max_connections,
        policy.connection_pool.as_ref().map(|p| p.source.clone()),
    )
}

/// `cluster_test.go` `TestBuildInboundClustersPortLevelCircuitBreakerThresholds`: service
/// port 80, endpoint port 10001; the port-level entry for 80 gives 100, an entry for 8080 leaves
/// the top level's 1000, no rule leaves the defaults (4294967295).
#[test]
fn port_level_policy_of_the_service_port_applies_inbound() {
    let workload = Destination::new("backend").namespace("default").port(80);
    let matched = load(&dr(
        "name: acme, namespace: default",
        "host: backend.default.svc.cluster.local, trafficPolicy: {connectionPool: {tcp: {maxConnections: 1000}}, portLevelSettings: [{port: {number: 80}, connectionPool: {tcp: {maxConnections: 100}}}]}",
    ));
    assert_eq!(
        inbound_max_connections(&matched, &workload, Some(10001)),
        (100, Some(PolicySource::PortLevel(80)))
    );
    let not_matched = load(&dr(
        "name: acme, namespace: default",
        "host: backend.default.svc.cluster.local, trafficPolicy: {connectionPool: {tcp: {maxConnections: 1000}}, portLevelSettings: [{port: {number: 8080}, connectionPool: {tcp: {maxConnections: 100}}}]}",
    ));
    assert_eq!(
        inbound_max_connections(&not_matched, &workload, Some(10001)),
        (1000, Some(PolicySource::TopLevel))
    );
    let none = load(&dr(
        "name: other, namespace: default",
        "host: ratings, trafficPolicy: {connectionPool: {tcp: {maxConnections: 5}}}",
    ));
    assert_eq!(
        inbound_max_connections(&none, &workload, Some(10001)),
        (UNLIMITED, None)
    );
}

/// `cluster_test.go` `TestApplyDestinationRule`'s inbound cases ("sidecar overrides destination
/// rule for inbound listeners", "sidecar per-port rules override top-level rules") and
/// `sidecar_test.go` `TestInboundConnectionPoolForPort`: the ingress listener's pool for the
/// port, else `inboundConnectionPool`, replaces the rule's.
#[test]
fn sidecar_pools_replace_the_rule_per_port_then_top_level() {
    // The rule gives 1 connection; the Sidecar `spec` beside it.
    let with_sidecar = |spec: &str| {
        load(&format!(
            "{}{}",
            dr(
                "name: acme, namespace: default",
                "host: backend, trafficPolicy: {connectionPool: {tcp: {maxConnections: 1}}}"
            ),
            sidecar("name: s, namespace: default", spec)
        ))
    };
    let loaded = with_sidecar(
        "inboundConnectionPool: {tcp: {maxConnections: 7}}, ingress: [{port: {number: 10001, protocol: HTTP, name: http}, connectionPool: {tcp: {maxConnections: 4}}}, {port: {number: 443, protocol: HTTPS, name: https}}]",
    );
    let workload = |port| Destination::new("backend").namespace("default").port(port);
    assert_eq!(
        inbound_max_connections(&loaded, &workload(10001), None),
        (4, Some(PolicySource::SidecarIngress(10001)))
    );
    // An ingress listener without a pool falls back to inboundConnectionPool (the "top level
    // settings" case: any port asked about gets it).
    for port in [443, 22] {
        assert_eq!(
            inbound_max_connections(&loaded, &workload(port), None),
            (7, Some(PolicySource::SidecarInbound))
        );
    }
    // The Sidecar's ingress is matched on the workload (cluster) port, not the service port.
    assert_eq!(
        inbound_max_connections(&loaded, &workload(80), Some(10001)),
        (4, Some(PolicySource::SidecarIngress(10001)))
    );
    // `cluster_test.go` `TestConnectionPoolSettings`, "sidecar per-port rules with destination
    // rule default": without `inboundConnectionPool`, a port whose listener has no pool keeps
    // the rule's.
    let without_top_level = with_sidecar(
        "ingress: [{port: {number: 10001, protocol: HTTP, name: http}, connectionPool: {tcp: {maxConnections: 4}}}, {port: {number: 10002, protocol: HTTP, name: other}}]",
    );
    assert_eq!(
        inbound_max_connections(&without_top_level, &workload(10001), None),
        (4, Some(PolicySource::SidecarIngress(10001)))
    );
    assert_eq!(
        inbound_max_connections(&without_top_level, &workload(10002), None),
        (1, Some(PolicySource::TopLevel))
    );
}

/// `sidecar.go` `SidecarScope.DestinationRule`: "WorkloadSelector configuration is honored only
/// for outbound configuration"; the inbound cluster takes the last entry without a selector,
/// even when the selector rule selects the server's own labels.
#[test]
fn workload_selector_rules_do_not_apply_inbound() {
    let loaded = load(&format!(
        "{}{}",
        dr(
            "name: plain, namespace: prod",
            "host: reviews, trafficPolicy: {connectionPool: {tcp: {maxConnections: 50}}}"
        ),
        dr(
            "name: selected, namespace: prod",
            "host: reviews, workloadSelector: {matchLabels: {app: reviews}}, trafficPolicy: {connectionPool: {tcp: {maxConnections: 3}}}"
        ),
    ));
    let server = Destination::new("reviews")
        .namespace("prod")
        .labels([("app", "reviews")])
        .port(9080);
    let mesh = MeshConfig::default();
    let index = MeshIndex::new(&loaded.rules, &mesh, "prod");
    let inbound = resolve_inbound(&index, &loaded.sidecars, &server, None).unwrap();
    assert_eq!(inbound.resolution.policy.thresholds().max_connections, 50);
    assert_eq!(inbound.resolution.rule().unwrap().name.value, "plain");
    assert!(
        inbound.resolution.passed_over[0]
            .reason
            .contains("outbound traffic only")
    );
    // The same labels as a client: the selector rule wins outbound.
    let outbound = index.resolve(&server).unwrap();
    assert_eq!(outbound.policy.thresholds().max_connections, 3);
    // Only a selector rule: inbound takes the defaults, not an error.
    let only_selector = load(&dr(
        "name: selected, namespace: prod",
        "host: reviews, workloadSelector: {matchLabels: {app: reviews}}, trafficPolicy: {connectionPool: {tcp: {maxConnections: 3}}}",
    ));
    assert_eq!(
        inbound_max_connections(&only_selector, &server, None),
        (UNLIMITED, None)
    );
}

/// `cluster_builder.go` `buildInboundCluster` then `applyTrafficPolicy`: MeshConfig's default
/// pool fills a rule without one (`applyDefaultTrafficPolicy`, called before the Sidecar
/// override), the Sidecar's pool replaces it; outlier detection and the HTTP/2 upgrade are
/// never applied to an inbound cluster.
#[test]
fn mesh_default_then_sidecar_and_only_the_pool_applies() {
    let rule = dr(
        "name: acme, namespace: default",
        "host: backend, trafficPolicy: {outlierDetection: {consecutive5xxErrors: 3}, connectionPool: {http: {h2UpgradePolicy: UPGRADE}}}",
    );
    let loaded = load(&rule);
    let mesh = MeshConfig::default();
    let index = MeshIndex::new(&loaded.rules, &mesh, "default");
    let workload = Destination::new("backend").namespace("default").port(80);
    let inbound = resolve_inbound(&index, &loaded.sidecars, &workload, None).unwrap();
    assert!(inbound.resolution.policy.outlier_detection.is_none());
    assert!(!inbound.resolution.policy.h2_upgrade());
    assert!(index.resolve(&workload).unwrap().policy.h2_upgrade());

    let mesh_yaml = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: istio, namespace: istio-system}\ndata:\n  mesh: |\n    defaultTrafficPolicy:\n      connectionPool: {tcp: {maxConnections: 30}}\n---\n";
    let without_pool = load(&format!(
        "{mesh_yaml}{}",
        dr(
            "name: acme, namespace: default",
            "host: backend, trafficPolicy: {outlierDetection: {consecutive5xxErrors: 3}}"
        )
    ));
    assert_eq!(
        inbound_max_connections(&without_pool, &workload, None),
        (30, Some(PolicySource::MeshDefault))
    );
    let with_sidecar = load(&format!(
        "{mesh_yaml}{}",
        sidecar(
            "name: s, namespace: default",
            "inboundConnectionPool: {tcp: {maxConnections: 9}}"
        )
    ));
    assert_eq!(
        inbound_max_connections(&with_sidecar, &workload, None),
        (9, Some(PolicySource::SidecarInbound))
    );
}

fn sidecars(yaml: &str) -> Vec<Sidecar> {
    load(yaml).sidecars
}

fn chosen(
    all: &[Sidecar],
    namespace: &str,
    labels: &[(&str, &str)],
) -> Option<(String, SidecarStep)> {
    let labels = labels
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    select_sidecar(all, namespace, &labels, "istio-system", "default")
        .map(|(s, step)| (s.id(), step))
}

/// `push_context_test.go` `TestSidecarScope`: a selector Sidecar `default/foo` (app: foo) and
/// the root namespace's `istio-system/global`.
#[test]
fn which_sidecar_applies_as_in_istio_test_sidecar_scope() {
    let egress = "egress: [{hosts: [default/*]}]";
    let all = sidecars(&format!(
        "{}{}",
        sidecar(
            "name: foo, namespace: default",
            &format!("workloadSelector: {{labels: {{app: foo}}}}, {egress}")
        ),
        sidecar("name: global, namespace: istio-system", egress)
    ));
    // "match local sidecar"
    assert_eq!(
        chosen(&all, "default", &[("app", "foo")]),
        Some(("default/foo".into(), SidecarStep::Selector))
    );
    // "no match local sidecar": the root namespace's
    assert_eq!(
        chosen(&all, "default", &[("app", "bar")]),
        Some(("istio-system/global".into(), SidecarStep::RootNamespace))
    );
    // "no sidecar"
    assert_eq!(
        chosen(&all, "nosidecar", &[("app", "bar")]),
        Some(("istio-system/global".into(), SidecarStep::RootNamespace))
    );
}

/// `push_context.go` `initSidecarScopes` and `doGetSidecarScope`: selector Sidecars before
/// those without, each group oldest first; the namespace's own Sidecar without a selector
/// before the root namespace's; a root Sidecar with a selector is never the mesh default.
#[test]
fn sidecar_order_selector_first_then_oldest() {
    let all = sidecars(&format!(
        "{}{}{}{}{}",
        sidecar(
            "name: a-new, namespace: prod, creationTimestamp: '2025-02-01T00:00:00Z'",
            "workloadSelector: {labels: {app: web}}, inboundConnectionPool: {tcp: {maxConnections: 1}}"
        ),
        sidecar(
            "name: z-old, namespace: prod, creationTimestamp: '2025-01-01T00:00:00Z'",
            "workloadSelector: {labels: {tier: front}}, inboundConnectionPool: {tcp: {maxConnections: 2}}"
        ),
        sidecar(
            "name: b-ns, namespace: prod, creationTimestamp: '2024-01-01T00:00:00Z'",
            "inboundConnectionPool: {tcp: {maxConnections: 3}}"
        ),
        sidecar(
            "name: a-ns-newer, namespace: prod, creationTimestamp: '2024-06-01T00:00:00Z'",
            "inboundConnectionPool: {tcp: {maxConnections: 4}}"
        ),
        sidecar(
            "name: root-selected, namespace: istio-system",
            "workloadSelector: {labels: {app: web}}, inboundConnectionPool: {tcp: {maxConnections: 5}}"
        ),
    ));
    // Both selectors match; the older one wins although its name sorts last.
    assert_eq!(
        chosen(&all, "prod", &[("app", "web"), ("tier", "front")]),
        Some(("prod/z-old".into(), SidecarStep::Selector))
    );
    assert_eq!(
        chosen(&all, "prod", &[("app", "api")]),
        Some(("prod/b-ns".into(), SidecarStep::Namespace))
    );
    assert_eq!(chosen(&all, "other", &[("app", "web")]), None);
}

/// `validation.go` `ValidateSidecar` and the published Sidecar schema: unknown keys with a
/// suggestion, wrong types, the webhook's checks; a Sidecar is no longer "skipped".
#[test]
fn sidecar_input_is_validated() {
    let bad = sidecar(
        "name: s, namespace: default",
        "inboundConectionPool: {tcp: {maxConnections: 7}}, ingress: [{port: {number: 80}, connectionPool: {tcp: {maxConnections: -1}}}, {port: {number: 80}, connectionPool: {}}], workloadSelector: {labels: {}}",
    );
    let loaded = load_str(&bad, &Arc::from("s.yaml"), &LoadOptions::default());
    let messages: Vec<String> = loaded
        .findings
        .iter()
        .map(|f| {
            format!(
                "{} {}:{} {} | {}",
                f.code,
                f.location.pos.line,
                f.location.pos.column,
                f.message,
                f.help.as_deref().unwrap_or("")
            )
        })
        .collect();
    let text = messages.join("\n");
    assert!(
        text.contains("ST101 4:8 unknown field `inboundConectionPool`")
            && text.contains("did you mean `inboundConnectionPool`?"),
        "{text}"
    );
    assert!(
        text.contains("max connections must be non-negative"),
        "{text}"
    );
    assert!(
        text.contains("ports on IP bound listeners must be unique"),
        "{text}"
    );
    assert!(
        text.contains("connection pool must have at least one field"),
        "{text}"
    );
    assert!(
        text.contains("workload selector specified without labels"),
        "{text}"
    );
    assert!(!text.contains("not a DestinationRule"), "{text}");

    let empty = sidecar("name: s, namespace: default", "");
    let loaded = load_str(&empty, &Arc::from("s.yaml"), &LoadOptions::default());
    assert!(
        loaded
            .findings
            .iter()
            .any(|f| f.message == "sidecar: empty configuration provided"),
        "{:#?}",
        loaded.findings
    );
    let typed = sidecar(
        "name: s, namespace: default",
        "inboundConnectionPool: {tcp: {maxConnections: many}}",
    );
    let loaded = load_str(&typed, &Arc::from("s.yaml"), &LoadOptions::default());
    assert!(
        loaded.findings.iter().any(|f| f.message
            == "`spec.inboundConnectionPool.tcp.maxConnections` must be an integer, found the string \"many\""),
        "{:#?}",
        loaded.findings
    );
    for version in ["v1", "v1beta1", "v1alpha3"] {
        let yaml = format!(
            "apiVersion: networking.istio.io/{version}\nkind: Sidecar\nmetadata: {{name: s}}\nspec: {{inboundConnectionPool: {{tcp: {{maxConnections: 7}}}}}}\n"
        );
        let loaded = load(&yaml);
        assert_eq!(loaded.sidecars.len(), 1, "{version}");
    }
}
