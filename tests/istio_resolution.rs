//! Which DestinationRules apply to a client, translated from Istio's own tests (istio/istio
//! 86c9f01fd735). Each case names the Istio test it comes from; the expected rules and numbers
//! are Istio's expectations, or computed by hand from the Istio function the case cites.

use std::sync::Arc;

use sidecar_tuner::istio::MeshConfig;
use sidecar_tuner::istio::load::{LoadOptions, Loaded, load_mesh_file, load_str};
use sidecar_tuner::istio::resolve::{Destination, LookupStep, MeshIndex, Resolution};
use sidecar_tuner::plan::{PlanOptions, derive};

fn load(yaml: &str) -> Loaded {
    let loaded = load_str(yaml, &Arc::from("mesh.yaml"), &LoadOptions::default());
    assert!(loaded.ensure_valid().is_ok(), "{:#?}", loaded.findings);
    loaded
}

/// A DestinationRule document: `meta` and `spec` are YAML flow mappings' contents.
fn dr(meta: &str, spec: &str) -> String {
    format!(
        "apiVersion: networking.istio.io/v1\nkind: DestinationRule\nmetadata: {{{meta}}}\nspec: {{{spec}}}\n---\n"
    )
}

fn subsets(names: &[&str]) -> String {
    let list: Vec<String> = names.iter().map(|n| format!("{{name: {n}}}")).collect();
    format!("subsets: [{}]", list.join(", "))
}

struct Client<'a> {
    namespace: &'a str,
    service_namespace: &'a str,
    host: &'a str,
    labels: &'a [(&'a str, &'a str)],
}

impl Client<'_> {
    fn destination(&self) -> Destination {
        Destination::new(self.host)
            .namespace(self.namespace)
            .service_namespace(self.service_namespace)
            .labels(self.labels.iter().copied())
    }
}

fn resolve<'a>(index: &MeshIndex<'a>, client: &Client<'_>) -> Resolution<'a> {
    index.resolve(&client.destination()).expect("resolves")
}

/// The merged rules (`from`), as `namespace/name`.
fn from(resolution: &Resolution<'_>) -> Vec<String> {
    resolution.rules().iter().map(|r| r.id()).collect()
}

/// The subset names of the rules that apply, in merged order.
fn subset_names(resolution: &Resolution<'_>) -> Vec<String> {
    resolution.found.as_ref().map_or_else(Vec::new, |f| {
        f.rule
            .subset_names()
            .into_iter()
            .map(str::to_owned)
            .collect()
    })
}

fn max_connections(resolution: &Resolution<'_>) -> Option<i64> {
    let pool = resolution.policy.connection_pool.as_ref()?.value;
    Some(pool.tcp.as_ref()?.max_connections.as_ref()?.value)
}

/// push_context_test.go `TestSetDestinationRuleWithExportTo`: which namespace's rule a proxy
/// gets, by `exportTo`, for every case of its table. Two inputs differ from Istio's, because
/// Istio's test bypasses validation and the webhook would reject them: rule3's
/// `exportTo: [test1, test2, "*"]` is written `["*"]` (the same set for lookup: `*` admits
/// every namespace) and rule2's `newNS` is `newns` (a namespace name is lowercase).
#[test]
fn export_to_decides_which_namespace_rule_applies() {
    let host = "httpbin.org";
    let yaml = [
        dr(
            "name: rule1, namespace: test1",
            &format!(
                "host: {host}, exportTo: [\".\", ns1], {}",
                subsets(&["subset1", "subset2"])
            ),
        ),
        dr(
            "name: rule2, namespace: test2",
            &format!(
                "host: {host}, exportTo: [test2, ns1, test1, newns], {}",
                subsets(&["subset3", "subset4"])
            ),
        ),
        dr(
            "name: rule3, namespace: test3",
            &format!(
                "host: {host}, exportTo: [\"*\"], {}",
                subsets(&["subset5", "subset6"])
            ),
        ),
        dr(
            "name: rule4-local, namespace: test4",
            &format!(
                "host: {host}, exportTo: [test4], {}",
                subsets(&["subset15", "subset16"])
            ),
        ),
        dr(
            "name: rule4, namespace: istio-system",
            &format!("host: {host}, {}", subsets(&["subset7", "subset8"])),
        ),
        dr(
            "name: rule1, namespace: istio-system",
            &format!(
                "host: {host}, exportTo: [\".\"], {}",
                subsets(&["subset9", "subset10"])
            ),
        ),
        dr(
            "name: rule2, namespace: istio-system",
            &format!(
                "host: \"*.org\", exportTo: [\".\"], {}",
                subsets(&["subset11", "subset12"])
            ),
        ),
        dr(
            "name: rule3, namespace: istio-system",
            &format!(
                "host: \"*.app.org\", exportTo: [\".\"], {}",
                subsets(&["subset13", "subset14"])
            ),
        ),
        dr(
            "name: rule5, namespace: test5",
            &format!(
                "host: api.test.com, exportTo: [istio-system], {}",
                subsets(&["subset5-0", "subset5-1"])
            ),
        ),
        dr(
            "name: rule6, namespace: test6",
            &format!(
                "host: api.test.com, exportTo: [istio-system], {}",
                subsets(&["subset6-0", "subset6-1"])
            ),
        ),
    ]
    .concat();
    let loaded = load(&yaml);
    let mesh = MeshConfig::default();
    let index = MeshIndex::new(&loaded.rules, &mesh, "default");
    let cases: &[(&str, &str, &str, &[&str])] = &[
        ("test1", "test1", host, &["subset1", "subset2"]),
        ("test1", "test2", host, &["subset1", "subset2"]),
        ("test2", "test1", host, &["subset3", "subset4"]),
        ("newns", "test2", host, &["subset3", "subset4"]),
        ("test3", "test1", host, &["subset5", "subset6"]),
        ("test5", "test4", host, &["subset7", "subset8"]),
        ("ns1", "test1", host, &["subset1", "subset2"]),
        ("ns1", "random", host, &["subset7", "subset8"]),
        ("random", "random", host, &["subset7", "subset8"]),
        ("test3", "random", host, &["subset5", "subset6"]),
        ("istio-system", "random", host, &["subset9", "subset10"]),
        (
            "istio-system",
            "istio-system",
            host,
            &["subset9", "subset10"],
        ),
        (
            "istio-system",
            "istio-system",
            "foo.app.org",
            &["subset13", "subset14"],
        ),
        // "dr in the svc ns takes effect on proxy in root ns"
        (
            "istio-system",
            "test5",
            "api.test.com",
            &["subset5-0", "subset5-1"],
        ),
        (
            "istio-system",
            "test6",
            "api.test.com",
            &["subset6-0", "subset6-1"],
        ),
        // "both svc and dr namespace is not equal to proxy ns, the dr will not take effect"
        ("istio-system", "test7", "api.test.com", &[]),
    ];
    for &(namespace, service_namespace, host, want) in cases {
        let client = Client {
            namespace,
            service_namespace,
            host,
            labels: &[],
        };
        let got = resolve(&index, &client);
        assert_eq!(
            subset_names(&got),
            want,
            "proxy in {namespace}, service in {service_namespace}, host {host}"
        );
    }
    // The steps behind three of them (push_context.go `destinationRule`, steps 1, 3 and 4).
    let step = |ns, svc| {
        resolve(
            &index,
            &Client {
                namespace: ns,
                service_namespace: svc,
                host,
                labels: &[],
            },
        )
        .found
        .map(|f| f.step)
    };
    assert_eq!(
        step("test1", "test2"),
        Some(LookupStep::ClientNamespace("test1".into()))
    );
    assert_eq!(
        step("test2", "test1"),
        Some(LookupStep::ClientNamespace("test2".into()))
    );
    assert_eq!(
        step("newns", "test2"),
        Some(LookupStep::ServiceNamespace("test2".into()))
    );
    assert_eq!(
        step("random", "random"),
        Some(LookupStep::RootNamespace("istio-system".into()))
    );
    assert_eq!(
        step("istio-system", "random"),
        Some(LookupStep::RootNamespacePrivate("istio-system".into()))
    );
}

/// push_context_test.go `TestSetDestinationRuleMerging`: rules for one host in one namespace
/// with equal `exportTo` merge (subsets appended); a rule with another `exportTo` stays apart.
#[test]
fn rules_with_equal_export_to_merge_and_others_stay_apart() {
    let host = "httpbin.org";
    let yaml = [
        dr(
            "name: rule1, namespace: test",
            &format!("host: {host}, {}", subsets(&["subset1", "subset2"])),
        ),
        dr(
            "name: rule2, namespace: test",
            &format!("host: {host}, {}", subsets(&["subset3", "subset4"])),
        ),
        dr(
            "name: rule3, namespace: test",
            &format!(
                "host: {host}, exportTo: [istio-system], {}",
                subsets(&["subset5", "subset6"])
            ),
        ),
    ]
    .concat();
    let loaded = load(&yaml);
    let mesh = MeshConfig::default();
    let index = MeshIndex::new(&loaded.rules, &mesh, "default");
    let at = |namespace| Client {
        namespace,
        service_namespace: "test",
        host,
        labels: &[],
    };
    // The namespace-local index of `test` holds one entry, rule1 + rule2, with four subsets.
    let local = resolve(&index, &at("test"));
    assert_eq!(from(&local), ["test/rule1", "test/rule2"]);
    assert_eq!(
        subset_names(&local),
        ["subset1", "subset2", "subset3", "subset4"]
    );
    // The exported index holds two: [rule1 + rule2] and [rule3] (exported to istio-system).
    // Another namespace sees only the first; istio-system sees both, and the sidecar uses the
    // last entry without a selector (sidecar.go `SidecarScope.DestinationRule`): rule3.
    assert_eq!(
        from(&resolve(&index, &at("web"))),
        ["test/rule1", "test/rule2"]
    );
    let root = resolve(&index, &at("istio-system"));
    assert_eq!(from(&root), ["test/rule3"]);
    assert_eq!(subset_names(&root), ["subset5", "subset6"]);
    let other = root
        .passed_over
        .iter()
        .find(|p| p.rule.id() == "test/rule1")
        .expect("rule1 is passed over for istio-system");
    assert!(other.reason.contains("separate entry"), "{}", other.reason);
    // A subset of rule3 is unknown to the clients of `test`.
    let mut missing = at("test").destination();
    missing.subset = Some("subset5".into());
    let err = index.resolve(&missing).unwrap_err();
    assert!(err.to_string().contains("subset5"), "{err}");
}

/// push_context_test.go `TestSetDestinationRuleWithWorkloadSelector`: selector rules sort first,
/// merge with rules of the same selector, and a rule without selector whose `exportTo` is a
/// superset is merged into each selector entry and also kept on its own. Istio's selector rules
/// there say `exportTo: [test2, "."]`, which the webhook rejects (a selector rule cannot be
/// exported); Istio's index replaces it with `.` anyway, so they are written `["."]` here.
/// Names are lowercased (`nsRule1` is `nsrule1`): Kubernetes names are DNS-1123.
#[test]
fn selector_rules_merge_by_selector_and_choose_by_labels() {
    let host = "httpbin.org";
    let yaml = [
        dr(
            "name: nsrule1, namespace: test, creationTimestamp: \"2024-01-01T00:00:10Z\"",
            &format!("host: {host}, exportTo: [\".\"], workloadSelector: {{matchLabels: {{app: app1}}}}, trafficPolicy: {{connectionPool: {{tcp: {{connectTimeout: 1s, maxConnections: 111}}}}}}"),
        ),
        dr(
            "name: nsrule2, namespace: test, creationTimestamp: \"2024-01-01T00:00:11Z\"",
            &format!("host: {host}, exportTo: [\".\"], workloadSelector: {{matchLabels: {{app: app2}}}}, trafficPolicy: {{connectionPool: {{http: {{maxRetries: 33}}, tcp: {{connectTimeout: 33s}}}}, outlierDetection: {{consecutive5xxErrors: 3}}}}"),
        ),
        dr(
            "name: nsrule3, namespace: test, creationTimestamp: \"2024-01-01T00:00:11Z\"",
            &format!("host: {host}, exportTo: [\".\"], workloadSelector: {{matchLabels: {{app: app2}}}}, trafficPolicy: {{connectionPool: {{http: {{maxRetries: 33}}, tcp: {{connectTimeout: 33s}}}}, outlierDetection: {{consecutive5xxErrors: 3}}}}"),
        ),
        dr(
            "name: nsrule4, namespace: test, creationTimestamp: \"2024-01-01T00:00:09Z\"",
            &format!("host: {host}, exportTo: [\".\", test2], trafficPolicy: {{connectionPool: {{http: {{maxRetries: 33}}, tcp: {{connectTimeout: 33s}}}}, outlierDetection: {{consecutive5xxErrors: 3}}}}"),
        ),
    ]
    .concat();
    let loaded = load(&yaml);
    let mesh = MeshConfig::default();
    let index = MeshIndex::new(&loaded.rules, &mesh, "default");
    let with = |namespace, labels| Client {
        namespace,
        service_namespace: "test",
        host,
        labels,
    };
    // "return list of DRs for specific host": entries nsrule1 (+ nsrule4), nsrule2 (+ nsrule3
    // + nsrule4), nsrule4; the labels pick one.
    let app1 = resolve(&index, &with("test", &[("app", "app1")]));
    assert_eq!(from(&app1), ["test/nsrule1", "test/nsrule4"]);
    assert_eq!(
        max_connections(&app1),
        Some(111),
        "nsrule1's policy: the first in the entry"
    );
    let app2 = resolve(&index, &with("test", &[("app", "app2"), ("tier", "x")]));
    assert_eq!(
        from(&app2),
        ["test/nsrule2", "test/nsrule3", "test/nsrule4"]
    );
    let plan = derive(&app2.policy, &PlanOptions::default()).unwrap();
    assert_eq!(plan.sidecar.max_retries, 33);
    assert_eq!(plan.sidecar.connect_timeout.as_secs(), 33);
    let unselected = resolve(&index, &with("test", &[("app", "app5")]));
    assert_eq!(from(&unselected), ["test/nsrule4"], "the catch-all entry");
    // "workload specific DR should not be exported": from test2 only nsrule4 is seen, found in
    // the service's namespace, whatever the labels.
    let test2 = resolve(&index, &with("test2", &[("app", "app1")]));
    assert_eq!(from(&test2), ["test/nsrule4"]);
    assert_eq!(
        test2.found.unwrap().step,
        LookupStep::ServiceNamespace("test".into())
    );
}

/// sidecar_test.go `TestCreateSidecarScope` cases "sidecar-scope-with-matching-workloadselector-dr",
/// "sidecar-scope-with-non-matching-workloadselector-dr" and
/// "sidecar-scope-same-workloadselector-labels-drs-should-be-merged": with selector rules
/// drrule1 (app1, a policy), drrule2 (app2), drrule3 (app1, subsets only) and a rule without
/// selector, a proxy labelled app2 gets drrule2 (names lowercased, as Kubernetes wants them), app5 the rule without selector, and app1
/// drrule1 merged with drrule3 (drrule1's policy, drrule3's subsets).
#[test]
fn the_sidecar_scope_picks_the_selected_rule() {
    let host = "httpbin.org";
    let pool =
        "trafficPolicy: {connectionPool: {http: {maxRetries: 33}, tcp: {connectTimeout: 33s}}}";
    let yaml = [
        dr("name: drrule1, namespace: mynamespace", &format!("host: {host}, workloadSelector: {{matchLabels: {{app: app1}}}}, {pool}")),
        dr("name: drrule2, namespace: mynamespace", &format!("host: {host}, workloadSelector: {{matchLabels: {{app: app2}}}}, trafficPolicy: {{connectionPool: {{http: {{maxRetries: 33}}, tcp: {{connectTimeout: 33s}}}}, outlierDetection: {{consecutive5xxErrors: 3}}}}")),
        dr("name: drrule3, namespace: mynamespace", &format!("host: {host}, workloadSelector: {{matchLabels: {{app: app1}}}}, {}", subsets(&["subset1", "subset2"]))),
        // Istio names this one drrule3 too; two objects cannot share a name, so it is renamed.
        dr("name: drrule4, namespace: mynamespace", &format!("host: {host}, {pool}")),
    ]
    .concat();
    let loaded = load(&yaml);
    let mesh = MeshConfig::default();
    let index = MeshIndex::new(&loaded.rules, &mesh, "default");
    let proxy = |app: &'static str| {
        let labels: &'static [(&str, &str)] = match app {
            "app1" => &[("app", "app1")],
            "app2" => &[("app", "app2")],
            _ => &[("app", "app5")],
        };
        Client {
            namespace: "mynamespace",
            service_namespace: "mynamespace",
            host,
            labels,
        }
    };
    let app2 = resolve(&index, &proxy("app2"));
    assert_eq!(from(&app2), ["mynamespace/drrule2"]);
    assert!(app2.policy.outlier_detection.is_some());
    assert_eq!(
        from(&resolve(&index, &proxy("app5"))),
        ["mynamespace/drrule4"]
    );
    let app1 = resolve(&index, &proxy("app1"));
    assert_eq!(from(&app1), ["mynamespace/drrule1", "mynamespace/drrule3"]);
    assert_eq!(subset_names(&app1), ["subset1", "subset2"]);
    assert_eq!(
        app1.rule().unwrap().id(),
        "mynamespace/drrule1",
        "drrule1's policy"
    );
}

/// push_context.go `destinationRule` step 1 and sidecar.go `SidecarScope.DestinationRule`: a
/// selector rule of the client's namespace that matches the host stops the lookup there; a
/// client it does not select gets no rule at all, not the service namespace's (Istio issue
/// 57719). `check` warns (ST213).
#[test]
fn a_selector_rule_in_the_client_namespace_hides_the_service_rule() {
    let yaml = [
        dr("name: reviews, namespace: prod", "host: reviews, trafficPolicy: {connectionPool: {tcp: {maxConnections: 100}, http: {http1MaxPendingRequests: 10}}}"),
        dr("name: batch, namespace: web", "host: reviews.prod.svc.cluster.local, workloadSelector: {matchLabels: {app: batch}}, trafficPolicy: {connectionPool: {tcp: {maxConnections: 10}}}"),
    ]
    .concat();
    let loaded = load(&yaml);
    let mesh = MeshConfig::default();
    let index = MeshIndex::new(&loaded.rules, &mesh, "default");
    let from_web = |labels| Client {
        namespace: "web",
        service_namespace: "prod",
        host: "reviews.prod.svc.cluster.local",
        labels,
    };
    let batch = resolve(&index, &from_web(&[("app", "batch")]));
    assert_eq!(from(&batch), ["web/batch"]);
    let frontend = resolve(&index, &from_web(&[("app", "frontend")]));
    assert!(frontend.found.is_none());
    assert_eq!(frontend.hidden_by_selector.unwrap().id(), "web/batch");
    assert_eq!(
        max_connections(&frontend),
        None,
        "Istio's defaults: unlimited"
    );
    let plan = derive(&frontend.policy, &PlanOptions::default()).unwrap();
    assert_eq!(plan.client.max_in_flight, None);
    let codes: Vec<&str> = sidecar_tuner::check::resolution_findings(&frontend)
        .iter()
        .map(|f| f.code.as_str())
        .collect();
    assert_eq!(codes, ["ST209", "ST213"]);
    // A client of another namespace is not affected: the service namespace's rule applies.
    let api = Client {
        namespace: "api",
        ..from_web(&[])
    };
    assert_eq!(from(&resolve(&index, &api)), ["prod/reviews"]);
}

/// push_context.go `destinationRule` step 1 with `MostSpecificHostMatch`: a catch-all rule in
/// the client's namespace beats an exact rule in the service's namespace, and a rule in a third
/// namespace is never used.
#[test]
fn the_client_namespace_is_searched_first_wildcards_included() {
    let yaml = [
        dr("name: exact, namespace: prod", "host: reviews, trafficPolicy: {connectionPool: {tcp: {maxConnections: 100}}}"),
        dr("name: catch-all, namespace: web", "host: \"*.svc.cluster.local\", trafficPolicy: {connectionPool: {tcp: {maxConnections: 7}}}"),
        dr("name: elsewhere, namespace: other", "host: reviews.prod.svc.cluster.local, trafficPolicy: {connectionPool: {tcp: {maxConnections: 1}}}"),
    ]
    .concat();
    let loaded = load(&yaml);
    let mesh = MeshConfig::default();
    let index = MeshIndex::new(&loaded.rules, &mesh, "default");
    let client =
        |namespace| Destination::new("reviews.prod.svc.cluster.local").namespace(namespace);
    let web = index.resolve(&client("web")).unwrap();
    assert_eq!(from(&web), ["web/catch-all"]);
    assert_eq!(max_connections(&web), Some(7));
    let reasons: Vec<(String, &str)> = web
        .passed_over
        .iter()
        .map(|p| (p.rule.id(), p.reason.as_str()))
        .collect();
    assert_eq!(reasons[0].0, "prod/exact");
    assert!(
        reasons[0]
            .1
            .contains("the client's namespace `web` matched first"),
        "{reasons:?}"
    );
    assert!(
        reasons[1].1.contains("never used by a client in `web`"),
        "{reasons:?}"
    );
    let api = index.resolve(&client("api")).unwrap();
    assert_eq!(
        from(&api),
        ["prod/exact"],
        "the service namespace `prod`, taken from the host"
    );
    assert_eq!(max_connections(&api), Some(100));
}

/// push_context.go `getExportedDestinationRuleFromNamespace`: the most specific host in the
/// service's namespace is found first and only then filtered by `exportTo`; when it is not
/// exported to the client, the lookup goes on to the root namespace, not to a less specific
/// rule of the service's namespace.
#[test]
fn an_unexported_most_specific_rule_sends_the_lookup_to_the_root_namespace() {
    let yaml = [
        dr("name: private, namespace: prod", "host: reviews, exportTo: [prod, team], trafficPolicy: {connectionPool: {tcp: {maxConnections: 5}}}"),
        dr("name: wide, namespace: prod", "host: \"*.prod.svc.cluster.local\", trafficPolicy: {connectionPool: {tcp: {maxConnections: 50}}}"),
        dr("name: mesh-wide, namespace: istio-system", "host: \"*.svc.cluster.local\", trafficPolicy: {connectionPool: {tcp: {maxConnections: 500}}}"),
    ]
    .concat();
    let loaded = load(&yaml);
    let mesh = MeshConfig::default();
    let index = MeshIndex::new(&loaded.rules, &mesh, "default");
    let client =
        |namespace: &str| Destination::new("reviews.prod.svc.cluster.local").namespace(namespace);
    assert_eq!(
        max_connections(&index.resolve(&client("team")).unwrap()),
        Some(5)
    );
    let web = index.resolve(&client("web")).unwrap();
    assert_eq!(from(&web), ["istio-system/mesh-wide"]);
    assert_eq!(max_connections(&web), Some(500));
}

/// MeshConfig `rootNamespace` and `defaultDestinationRuleExportTo` (push_context.go
/// `setDestinationRules`, `initDefaultExportMaps`): the root namespace is the one MeshConfig
/// names, and with `defaultDestinationRuleExportTo: ["."]` a rule without `exportTo` is private.
#[test]
fn mesh_config_moves_the_root_namespace_and_the_default_export() {
    let yaml = [
        dr("name: mesh-wide, namespace: mesh-root", "host: \"*.svc.cluster.local\", trafficPolicy: {connectionPool: {tcp: {maxConnections: 500}}}"),
        dr("name: reviews, namespace: prod", "host: reviews, trafficPolicy: {connectionPool: {tcp: {maxConnections: 100}}}"),
    ]
    .concat();
    let loaded = load(&yaml);
    let mesh_yaml = "rootNamespace: mesh-root\ndefaultDestinationRuleExportTo: [\".\"]\naccessLogFile: /dev/stdout\n";
    let dir = std::env::temp_dir().join(format!("st-mesh-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("mesh.yaml");
    std::fs::write(&path, mesh_yaml).unwrap();
    let mesh = load_mesh_file(&path, &LoadOptions::default()).unwrap();
    assert!(mesh.findings.is_empty(), "{:?}", mesh.findings);
    let mesh = mesh.mesh.unwrap();
    assert_eq!(mesh.root_namespace(), "mesh-root");
    let index = MeshIndex::new(&loaded.rules, &mesh, "default");
    let web = index
        .resolve(&Destination::new("reviews.prod.svc.cluster.local").namespace("web"))
        .unwrap();
    // prod/reviews is private to prod by the mesh default; mesh-root/mesh-wide is private too,
    // and private root rules serve only clients of the root namespace.
    assert!(web.found.is_none(), "{:?}", from(&web));
    let prod = index
        .resolve(&Destination::new("reviews").namespace("prod"))
        .unwrap();
    assert_eq!(from(&prod), ["prod/reviews"]);
    std::fs::remove_dir_all(dir).ok();
}

/// destination_rule.go `mergeDestinationRule`, the superset branch without selectors, computed
/// by hand from the code: a newer rule whose `exportTo` is a superset of an older one's is merged
/// into the older entry (the both-without-selector branch then clears `appendSeparately`), so
/// in the namespace's own index it adds only its subsets; in the exported index, where the older
/// private rule is absent, it stands alone with its own policy.
#[test]
fn a_newer_superset_export_merges_into_the_older_rule() {
    let yaml = [
        dr(
            "name: a, namespace: prod, creationTimestamp: \"2024-01-01T00:00:00Z\"",
            "host: reviews, exportTo: [\".\"], trafficPolicy: {connectionPool: {tcp: {maxConnections: 10}}}, subsets: [{name: v1}]",
        ),
        dr(
            "name: b, namespace: prod, creationTimestamp: \"2024-01-02T00:00:00Z\"",
            "host: reviews, exportTo: [\".\", web], trafficPolicy: {connectionPool: {tcp: {maxConnections: 20}}}, subsets: [{name: v2}]",
        ),
    ]
    .concat();
    let loaded = load(&yaml);
    let mesh = MeshConfig::default();
    let index = MeshIndex::new(&loaded.rules, &mesh, "default");
    let from_ns = |namespace: &str| {
        index
            .resolve(&Destination::new("reviews.prod.svc.cluster.local").namespace(namespace))
            .unwrap()
    };
    let prod = from_ns("prod");
    assert_eq!(from(&prod), ["prod/a", "prod/b"]);
    assert_eq!(max_connections(&prod), Some(10), "the older rule's policy");
    assert_eq!(subset_names(&prod), ["v1", "v2"]);
    let web = from_ns("web");
    assert_eq!(from(&web), ["prod/b"]);
    assert_eq!(max_connections(&web), Some(20));
    assert_eq!(subset_names(&web), ["v2"]);
    assert!(from_ns("api").found.is_none(), "exported to web only");
}
