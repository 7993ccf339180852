//! The bodies of the fuzz targets, shared with the regression tests in the main test suite
//! (`tests/fuzz_regressions.rs`): anything a user can pass goes in, and besides "no panic" the
//! invariants that must hold are asserted.

#![allow(dead_code)] // each fuzz target uses one of them

use std::sync::{Arc, OnceLock};

use sidecar_tuner::check::{client_findings, lint_rules, resolution_findings};
use sidecar_tuner::diag::Code;
use sidecar_tuner::envoy::{RenderOptions, render};
use sidecar_tuner::istio::duration;
use sidecar_tuner::istio::load::{LoadOptions, load_bytes, load_str};
use sidecar_tuner::istio::model::DestinationRule;
use sidecar_tuner::istio::resolve::{Destination, MeshIndex, resolve};
use sidecar_tuner::plan::{Plan, PlanOptions, derive};
use sidecar_tuner::report::{Emit, emit, findings_sarif, findings_text};
use sidecar_tuner::settings::client_file_from_bytes;

fn options() -> LoadOptions {
    LoadOptions::default().max_input_bytes(1 << 20)
}

fn destination_of(rule: &DestinationRule) -> Destination {
    let namespace = rule
        .namespace
        .as_ref()
        .map_or("default", |n| n.value.as_str());
    Destination::new(rule.host.value.replace('*', "any")).namespace(namespace)
}

/// Loader and validation, then for every rule: resolve, plan, render, lint, and the plan's
/// client settings read back without a mismatch; every report format renders.
pub fn load(data: &[u8]) {
    let loaded = load_bytes(data, &Arc::from("fuzz.yaml"), &options());
    let mut findings = loaded.findings.clone();
    if loaded.ensure_valid().is_ok() {
        let mesh = loaded.mesh.clone().unwrap_or_default();
        let index = MeshIndex::new(&loaded.rules, &mesh, "default");
        findings.extend(lint_rules(&index));
        for rule in &loaded.rules {
            let Ok(resolution) = index.resolve(&destination_of(rule)) else {
                continue;
            };
            findings.extend(resolution_findings(&resolution));
            let plan =
                derive(&resolution.policy, &PlanOptions::default()).expect("default headroom");
            check_plan(&plan);
            let any = "127.0.0.1:0".parse().expect("an address");
            let bootstrap = render(&resolution, &RenderOptions::new(any));
            assert!(bootstrap["static_resources"]["clusters"][0]["circuit_breakers"].is_object());
            for kind in [Emit::ClientYaml, Emit::GoYaml] {
                let mut yaml = Vec::new();
                emit(&mut yaml, kind, &resolution, &plan).expect("writes to memory");
                let file = client_file_from_bytes(&yaml, &Arc::from("emitted.yaml"), &options());
                assert!(file.findings.is_empty(), "{:?}", file.findings);
                let settings = file.settings.expect("emitted settings load");
                let mismatches = client_findings(&settings, &resolution, &plan);
                assert!(mismatches.is_empty(), "{mismatches:?}");
            }
        }
    }
    let mut out = Vec::new();
    findings_text(&mut out, &findings, &loaded.sources, true).expect("writes to memory");
    findings_sarif(&mut out, &findings, &loaded.sources).expect("writes to memory");
}

fn check_plan(plan: &Plan) {
    let c = &plan.client;
    match c.pool_max_idle_per_host {
        Some(idle) => assert!(idle >= 1),
        None => assert_eq!(
            plan.sidecar.max_connections,
            u32::MAX,
            "unbounded only when N is"
        ),
    }
    if let Some(ceiling) = c.max_in_flight {
        assert!(ceiling >= 1);
        assert!(
            c.initial_in_flight
                .is_some_and(|i| (1..=ceiling).contains(&i))
        );
    }
    // Below the sidecar's idle limit; `tcp.idleTimeout: 0s` is none, and the client keeps 90s.
    assert!(
        plan.sidecar
            .idle_limit()
            .is_none_or(|limit| c.pool_idle_timeout < limit)
    );
}

/// Go durations: a duration that parses prints as one that parses back to the same value.
pub fn duration(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(parsed) = duration::parse(text) {
        let shown = parsed.to_string();
        let again = duration::parse(&shown).expect("a printed duration parses");
        assert_eq!(
            again.as_nanos(),
            parsed.as_nanos(),
            "{text:?} printed as {shown:?}"
        );
    }
}

/// Client settings files, checked against the plan of a fixed rule.
pub fn client_settings(data: &[u8]) {
    static RULES: OnceLock<Vec<DestinationRule>> = OnceLock::new();
    let rules = RULES.get_or_init(|| {
        let yaml = "apiVersion: networking.istio.io/v1\nkind: DestinationRule\nmetadata: {name: r}\nspec:\n  host: svc\n  trafficPolicy:\n    connectionPool:\n      tcp: {maxConnections: 100, connectTimeout: 2s, tcpKeepalive: {time: 300s}}\n      http: {http1MaxPendingRequests: 10, idleTimeout: 30s}\n";
        load_str(yaml, &Arc::from("rule.yaml"), &LoadOptions::default()).rules
    });
    let resolution = resolve(rules, &Destination::new("svc")).expect("the fixed rule resolves");
    let plan = derive(&resolution.policy, &PlanOptions::default()).expect("default headroom");
    let file = client_file_from_bytes(data, &Arc::from("client.yaml"), &options());
    if let Some(settings) = &file.settings {
        for finding in client_findings(settings, &resolution, &plan) {
            assert!(finding.code.as_str().starts_with("ST3"));
            assert!(finding.help.is_some(), "{finding:?}");
        }
    }
    assert!(file.settings.is_some() || file.findings.iter().any(|f| f.code == Code::YamlSyntax));
    let mut out = Vec::new();
    findings_text(&mut out, &file.findings, &file.sources, false).expect("writes to memory");
}
